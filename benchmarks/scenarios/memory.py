"""memory: the resident memory (VmRSS) of each gunicorn worker of this launcher, sampled
every 50 ms during the cold launches (the heaviest load of the run).

Compared with 120 MB per worker.
"""

from __future__ import annotations

from ..bench import Bench
from ..report import Row
from . import cold_launches

LIMIT_MB = 120.0


def run(bench: Bench) -> None:
    if "cold_launches" not in bench.report.details:
        if "cold_launches" in bench.o.scenarios:
            raise RuntimeError("no memory samples: cold_launches did not finish")
        cold_launches.run(bench)
    modes = bench.report.details["cold_launches"]
    memory = {mode: r["memory"] for mode, r in modes.items()}
    peaks = [v for m in memory.values() for v in m["peak"].values()]
    idles = [v for m in memory.values() for v in m["idle"].values()]
    worst = max(peaks, default=float("nan"))
    per_mode = "; ".join(
        f"{mode}: " + ", ".join(f"{v:.0f}" for v in m["peak"].values()) + " MB"
        for mode, m in memory.items()
    )
    bench.report.details["memory"] = memory
    bench.report.rows.append(
        Row(
            f"memory: RSS per worker, peak during cold_launches (-w {bench.o.workers})",
            f"{per_mode} (idle {min(idles, default=0):.0f}-{max(idles, default=0):.0f} MB)",
            f"limit {LIMIT_MB:.0f} MB per worker",
            worst / LIMIT_MB,
            "<= 1.00",
            worst <= LIMIT_MB,
        )
    )
