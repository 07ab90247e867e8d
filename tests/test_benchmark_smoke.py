"""A fast run of the benchmarks (benchmarks/) with tiny counts, so that they do not rot.

It runs the same code as `benchmarks/run.py`: the real hub with the benchmark spawner and
the shared stand-in server, the launcher under gunicorn with the uvicorn worker, real OS
users checked by PAM, every named scenario. It asserts that each scenario produces its
figures and the table, never a performance figure. The original 0.2.0 takes part only
when its venv is already there (benchmarks/.cache/original-venv, set up by
benchmarks/run.py). The soak runs half a minute, its faults compressed into it, and must
pass its own checks. The tests of the table and of how answers are counted need no root.
"""

from __future__ import annotations

import math
import pwd
import socket
from collections import Counter

import pytest

from benchmarks.options import SCENARIOS, USER_PREFIX, Options
from benchmarks.report import Row, format_table
from benchmarks.run import parse
from benchmarks.scenarios import run
from benchmarks.soak.records import (
    DOWN,
    KILLED,
    LAUNCHES,
    NO_ANSWER,
    NOTEBOOK,
    OTHER,
    FaultTimes,
    Record,
    settle,
)
from benchmarks.soak.table import Soak, check_rows, launch_rows
from benchmarks.soak.vitals import Sample, Vitals, growth


def bench_users() -> set[str]:
    return {p.pw_name for p in pwd.getpwall() if p.pw_name.startswith(USER_PREFIX)}


@pytest.mark.needs_root
def test_benchmarks_run_every_scenario_and_print_the_table(tmp_path):
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
    for name in SCENARIOS:
        assert any(r.scenario.startswith(name + ":") for r in report.rows), (name, table)
    for row in report.rows:
        assert row.ours and row.compared, row
        if row.ratio is not None:
            assert math.isfinite(row.ratio) and row.ratio > 0, row
    # every launch of the cold scenarios reached the stand-in server through the hub
    for mode in ("pending", "blocking"):
        assert report.details["cold_launches"][mode]["written"] == 3, report.details
    assert report.details["memory"], "no memory samples"
    # the floor is the three hub calls a warm launch makes, plus PAM
    steps = report.details["warm_launch"]["floor_steps_median_ms"]
    assert [s.split()[0] for s in steps] == ["PUT", "PUT", "PATCH", "PAM"], steps
    assert table.splitlines()[0].startswith("scenario")
    assert "warm_launch breakdown" in table
    assert "the launcher's own share" in table
    # the accounts made for the run are gone again
    assert bench_users() <= before


def test_scenarios_are_chosen_by_name():
    options, _ = parse(["warm_launch", "memory"])
    assert options.scenarios == ("warm_launch", "memory")
    assert parse([])[0].scenarios == SCENARIOS
    with pytest.raises(SystemExit):
        parse(["1"])


def test_the_soak_runs_only_when_named():
    assert "soak" not in parse([])[0].scenarios
    options, _ = parse(["soak", "--soak-minutes", "2.5"])
    assert options.scenarios == ("soak",)
    assert options.soak_minutes == 2.5
    assert parse(["soak"])[0].soak_minutes == 10.0


def test_table_marks_goals_met_and_not_met():
    text = format_table(
        [
            Row("warm_launch: a", "10 ms", "floor 20 ms", 0.5, "<= 1.00", True),
            Row("throughput: b", "1 req/s", "original 2 req/s", 0.5, ">= 2.00", False),
            Row("memory: c", "x", "y"),
        ]
    )
    lines = text.splitlines()
    assert lines[2].endswith("<= 1.00 MET")
    assert lines[3].endswith(">= 2.00 NOT MET")
    assert lines[4].endswith("(info)")


FAULTS = FaultTimes(
    hub_stop=10.0,
    hub_up=14.0,
    worker_kill=50.0,
    worker_back=52.0,
    launcher_term=100.0,
    launcher_exit=102.0,
    launcher_up=105.0,
)


def unanswered(started: float, ended: float) -> Record:
    return Record("warm json", started, ended, result=NO_ANSWER, code="ConnectionError")


def test_unanswered_requests_count_by_when_they_were_made():
    assert settle(unanswered(101.0, 101.01), FAULTS) == DOWN
    assert settle(unanswered(99.95, 100.2), FAULTS) == DOWN  # sent as the SIGTERM came
    # in flight at the SIGTERM: the graceful stop should have let it finish
    assert settle(unanswered(99.0, 100.5), FAULTS) == OTHER
    assert settle(unanswered(49.8, 50.1), FAULTS) == KILLED
    assert settle(unanswered(50.5, 50.6), FAULTS) == OTHER  # after the kill: no excuse
    assert settle(unanswered(20.0, 20.1), FAULTS) == OTHER
    notebook = Record("warm json", 101.0, 101.1, status=200, result=NOTEBOOK)
    assert settle(notebook, FAULTS) == NOTEBOOK
    assert [FAULTS.phase(t) for t in (5.0, 60.0, 106.0)] == ["before", "during", "after"]


def test_a_must_be_zero_that_fails_is_marked_and_fails_the_run():
    records = [
        Record("warm json", 1.0, 1.1, status=200, result=NOTEBOOK, location="x"),
        unanswered(101.0, 101.1),
        Record("cold json", 2.0, 2.5, status=500, result=OTHER, code="Internal Server Error"),
    ]
    soak = Soak(0.5, records, FAULTS, Vitals(list, int, float, 1.0), 120.0)
    soak.checked = Counter(found=1, lost=1)
    broken: list[str] = []
    rows = {r.scenario: r for r in launch_rows(soak, broken) + check_rows(soak, broken)}
    assert rows["soak: launches attempted"].ours.startswith("3 ")
    assert rows["soak: launches not answered (launcher down)"].ours == "1"
    assert rows["soak: launches answered otherwise"].met is False
    assert "500" in rows["soak: launches answered otherwise"].ours
    assert rows["soak: notebooks lost or replaced"].met is False
    assert rows["soak: leftover temporary files (*.launching-*)"].met is True
    assert broken == [
        "soak: launches answered otherwise: 1",
        "soak: notebooks lost or replaced: 1",
    ]


def test_growth_per_thousand_launches_is_a_fitted_slope():
    vitals = Vitals(list, int, float, 1.0)
    for i in range(100):
        vitals.samples.append(Sample(float(i), 20 * i, 7, 100.0 + 0.006 * i, 30))
        vitals.samples.append(Sample(float(i), 20 * i, 8, 100.0 + (i % 2) * 0.5, 30 + i % 2))
    leaking, steady = growth(vitals, 7), growth(vitals, 8)
    assert leaking.rss[0] == pytest.approx(0.3)  # 6 KB per 20 launches
    assert leaking.fds[0] == pytest.approx(0.0)
    assert steady.rss[0] == pytest.approx(0.0, abs=0.1)
    assert leaking.launches == 1980 - 20 * 25  # the first quarter of its life left out
    assert steady.flat()
    assert not leaking.flat(rss_floor=0.1)  # a smooth rise: no scatter to hide in


def test_descriptors_stepping_with_connections_are_flat_but_a_climb_is_not():
    vitals = Vitals(list, int, float, 1.0)
    for i in range(100):
        vitals.samples.append(Sample(float(i), 20 * i, 7, 100.0, 25 + (i // 20 + i) % 3))
        vitals.samples.append(Sample(float(i), 20 * i, 8, 100.0, 25 + i // 10))
    stepping, climbing = growth(vitals, 7), growth(vitals, 8)
    assert stepping.flat()
    assert climbing.fds[0] == pytest.approx(5.0, rel=0.1)
    assert not climbing.flat()


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.needs_root
def test_soak_with_its_faults_answers_everything_and_loses_nothing(tmp_path):
    before = bench_users()
    messages: list[str] = []
    options = Options(
        scenarios=("soak",), soak_minutes=0.5, workdir=tmp_path / "soak", log=messages.append
    )
    report = run(options)
    table = report.table()
    print(table)

    d = report.details["soak"]
    assert report.broken == [], (report.broken, d["faults"], d["problems"])
    faults = d["faults"]
    assert faults["hub_stop"] < faults["hub_up"] < faults["worker_kill"] < faults["launcher_term"]
    assert faults["servers_kept"] == [2, 2] or faults["servers_kept"] == (2, 2)
    assert faults["killed_pid"] > 0 and faults["launcher_exit_code"] == 0
    answers = d["answers"]
    for kind in LAUNCHES:
        assert kind in answers, (kind, answers)
    assert answers["warm json"].get("notebook", 0) > 0, answers
    assert answers["cold json"].get("notebook", 0) + answers["cold stream"].get("notebook", 0)
    assert answers["warm stream"].get("abandoned", 0) > 0, answers
    assert answers["preview"].get("notebook", 0) > 0, answers
    assert answers["health"].get("200", 0) > 0 and answers["metrics"].get("200", 0) > 0
    assert answers["failing login"].get("unauthorized", 0) > 0, answers
    assert not [k for a in answers.values() for k in a if k.startswith(OTHER)], answers
    notebooks = sum(a.get("notebook", 0) for k, a in answers.items() if k != "preview")
    assert d["checked"] == {"found": notebooks}, d["checked"]
    assert d["leftovers"]["after"] == 0 and d["folders"] > 0
    assert len(d["workers"]) >= 4  # the first two, the replacement, the restarted ones
    assert "soak: notebooks lost or replaced" in table and "= 0 MET" in table
    # everything it started is gone: the accounts, the hub and proxy, the launcher
    assert bench_users() <= before
    assert refused(d["ports"]["hub"]) and refused(d["ports"]["launcher"])
