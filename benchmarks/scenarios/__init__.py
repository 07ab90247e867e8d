"""The named benchmark scenarios, each a module named for what it measures, and `run()`,
which starts what they need, runs them in order and returns the report."""

from __future__ import annotations

import importlib
import time
import traceback
from collections.abc import Callable

from ..bench import Bench
from ..options import KNOWN_SCENARIOS, Options
from ..report import Report, Row

RUNS: dict[str, Callable[[Bench], None]] = {
    name: importlib.import_module(f".{name}", __name__).run for name in KNOWN_SCENARIOS
}


def _experiment_tag(options: Options) -> str:
    if not options.launcher_env:
        return ""
    env = " ".join(f"{k}={v}" for k, v in options.launcher_env)
    return f" [EXPERIMENT, env: {env}]"


def _run_one(bench: Bench, name: str) -> None:
    try:
        RUNS[name](bench)
    except Exception as exc:  # noqa: BLE001 - one broken scenario, not the run
        bench.log(f"{name} failed:\n{traceback.format_exc()}")
        bench.report.broken.append(f"{name}: the scenario failed")
        message = f"{type(exc).__name__}: {exc}"[:120]
        bench.report.rows.append(Row(f"{name}: (scenario failed)", message, "", None, "", False))


def run(options: Options) -> Report:
    """Start everything, run the scenarios, clean up; the report holds the table."""
    unknown = set(options.scenarios) - set(RUNS)
    if unknown:
        raise ValueError(f"unknown scenarios {sorted(unknown)}; known: {', '.join(RUNS)}")
    started = time.monotonic()
    tag = _experiment_tag(options)
    with Bench(options) as bench:
        if tag:
            bench.report.notes.append(
                f"Rows marked{tag} measure a changed launcher environment; they are not the "
                "project's figures."
            )
        for name in [n for n in RUNS if n in options.scenarios]:
            _run_one(bench, name)
    for row in bench.report.rows:
        row.scenario += tag
    bench.report.details["total_seconds"] = time.monotonic() - started
    return bench.report
