"""A fast run of the benchmark harness (benchmarks/) with tiny counts, so it does not rot.

It runs the same code as `benchmarks/run.py`: the real hub with the benchmark spawner and
the shared stand-in server, the launcher under gunicorn with the uvicorn worker, real OS
users checked by PAM, every scenario. It asserts that the harness produces its figures
and its table, never a performance figure. The original 0.2.0 takes part only when its
venv is already there (benchmarks/.cache/original-venv, set up by benchmarks/run.py).
"""

from __future__ import annotations

import math
import os
import pwd

import pytest

from benchmarks.bench import USER_PREFIX, Options, format_table, run

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: creates OS users and checks them with PAM"
)


def bench_users() -> set[str]:
    return {p.pw_name for p in pwd.getpwall() if p.pw_name.startswith(USER_PREFIX)}


def test_benchmark_harness_runs_every_scenario_and_prints_the_table(tmp_path):
    before = bench_users()
    messages: list[str] = []
    options = Options(
        cold_users=3,
        spawn_delay=0.5,
        clients=2,
        throughput_requests=6,
        throughput_seconds=3.0,
        rounds=1,
        warm_launches=3,
        workers=1,
        other_workers=(),
        storm_launches=2,
        storm_attackers=2,
        storm_seconds=20.0,
        original_storm_launches=1,
        original="present",
        variants=False,
        workdir=tmp_path / "bench",
        log=messages.append,
    )
    report = run(options)
    table = report.table()
    print(table)

    assert not [r for r in report.rows if "scenario failed" in r.scenario], table
    for goal in ("1.", "2.", "3.", "4.", "5."):
        assert any(r.scenario.startswith(goal) for r in report.rows), (goal, table)
    for row in report.rows:
        assert row.ours and row.compared, row
        if row.ratio is not None:
            assert math.isfinite(row.ratio) and row.ratio > 0, row
    # every launch of the cold scenarios reached the stand-in server through the hub
    for mode in ("pending", "blocking"):
        assert report.details["goal3"][mode]["written"] == 3, report.details["goal3"]
    assert report.details["goal5"], "no memory samples"
    assert table.splitlines()[0].startswith("scenario")
    assert "Goal 1 breakdown" in table
    # the accounts made for the run are gone again
    assert bench_users() <= before


def test_table_marks_goals_met_and_not_met():
    from benchmarks.bench import Row

    text = format_table(
        [
            Row("1. a", "10 ms", "floor 20 ms", 0.5, "<= 1.00", True),
            Row("2. b", "1 req/s", "original 2 req/s", 0.5, ">= 2.00", False),
            Row("3. c", "x", "y"),
        ]
    )
    lines = text.splitlines()
    assert lines[2].endswith("<= 1.00 MET")
    assert lines[3].endswith(">= 2.00 NOT MET")
    assert lines[4].endswith("(info)")
