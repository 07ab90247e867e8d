"""The soak's rows of figures: the faults' timings, latency per phase, and the workers'
memory and file descriptors with their growth per 1,000 launches."""

from __future__ import annotations

import math

from ..report import Row, pct
from .records import NOTEBOOK, FaultTimes, Record
from .vitals import Sample, Vitals, growth

PHASES = ("before", "during", "after")
ENOUGH = 500  # launches a worker's growth is fitted over before it is judged
LATENCY = (
    ("warm JSON launches", ("warm json",), 1000, "ms"),
    ("warm event-stream launches, until `launched`", ("warm stream",), 1000, "ms"),
    ("cold launches (spawner 3 s), JSON and streams", ("cold json", "cold stream"), 1, "s"),
    ("previews", ("preview",), 1000, "ms"),
)


def fault_row(f: FaultTimes) -> Row:
    kept, before = f.servers_kept
    text = "; ".join(
        [
            f"hub SIGTERM at {f.hub_stop:.0f} s, answering again {f.hub_up - f.hub_stop:.1f} s "
            f"later, the warm users' servers kept running: {kept} of {before}",
            f"worker {f.killed_pid} SIGKILL at {f.worker_kill:.0f} s, replaced in "
            f"{f.worker_back - f.worker_kill:.1f} s",
            f"launcher SIGTERM at {f.launcher_term:.0f} s, exit status {f.launcher_exit_code} "
            f"after {f.launcher_exit - f.launcher_term:.1f} s, answering again "
            f"{f.launcher_up - f.launcher_exit:.1f} s later",
        ]
    )
    phases = f"phases: before < {f.start:.0f} s <= during < {f.end:.0f} s <= after"
    return Row("soak: faults", text, phases)


def _figure(values: list[float], scale: float, unit: str) -> str:
    if not values:
        return "-"
    digits = 1 if unit == "ms" else 2
    p50, p99 = pct(values, 0.5) * scale, pct(values, 0.99) * scale
    return f"{p50:.{digits}f} / {p99:.{digits}f} {unit} (n={len(values)})"


def latency_rows(records: list[Record], faults: FaultTimes) -> list[Row]:
    rows = []
    for name, kinds, scale, unit in LATENCY:
        good = [r for r in records if r.kind in kinds and r.result == NOTEBOOK]
        by_phase = {p: [r.seconds for r in good if faults.phase(r.started) == p] for p in PHASES}
        text = "; ".join(f"{p} {_figure(v, scale, unit)}" for p, v in by_phase.items())
        rows.append(Row(f"soak: p50 / p99, {name}", text, "by when the request was made"))
    return rows


def _samples_text(samples: list[Sample]) -> str:
    if not samples:
        return "-"
    return "; ".join(
        f"pid {s.pid}: {s.rss_mb:.1f} MB, {s.fds} fds ({s.sockets} sockets)" for s in samples
    )


def _ranges(life: list[Sample]) -> str:
    fds, sockets = [s.fds for s in life], [s.sockets for s in life]
    return f"fds {min(fds)}-{max(fds)}, sockets {min(sockets)}-{max(sockets)} over its life"


def worker_rows(vitals: Vitals, ended: float) -> list[Row]:
    rows = [
        Row(
            f"soak: workers' resident memory and open fds, {name} ({moment:.0f} s)",
            _samples_text(vitals.near(moment)),
            "",
        )
        for name, moment in (("start", 0.0), ("middle", ended / 2), ("end", ended))
    ]
    for pid in vitals.pids():
        g = growth(vitals, pid)
        if g is None or math.isnan(g.rss[0]):
            continue
        judged = g.launches >= ENOUGH
        rows.append(
            Row(
                f"soak: growth per 1,000 launches, worker {pid} ({g.first:.0f}-{g.last:.0f} s, "
                f"fitted over {g.launches} launches, {g.samples} samples)",
                f"RSS {g.rss[0]:+.2f} MB (SE {g.rss[1]:.2f}, SD {g.rss[2]:.2f}), fds "
                f"{g.fds[0]:+.2f} (SE {g.fds[1]:.2f}, SD {g.fds[2]:.2f}); "
                f"{_ranges(vitals.life(pid))}",
                "flat: slope <= 1 MB or 1 fd, or 2 SE; or its change <= 2 SD around it"
                if judged
                else f"fewer than {ENOUGH} launches: too few to tell",
                None,
                "flat" if judged else "",
                g.flat() if judged else None,
            )
        )
    return rows
