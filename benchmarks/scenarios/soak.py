"""soak: a steady, modest mix of warm and cold launches (JSON and event streams, some
streams abandoned halfway), previews, failing logins and `/health` and `/metrics`
scrapes from five client threads, for `--soak-minutes` (10 by default), against a hub
of its own with the `ScriptedSpawner` (real single-user servers, cold starts 3 s). In
the middle the hub is restarted, one launcher worker is killed with SIGKILL, and the
launcher is stopped with SIGTERM and started again (`benchmarks/soak/faults.py`).

Every answer is counted: a notebook, a documented problem (per code), not answered while
the launcher was down or on the killed worker, or otherwise (must be 0). At the end every
notebook answered is read back (must be there, with its own marker), leftover temporary
notebooks are counted after one more launch into each folder (must be 0), and the
workers' memory and file descriptors are shown with their growth per 1,000 launches.
A failed "must be 0" makes `benchmarks/run.py` exit 1. Not part of the default run.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..bench import Bench
from ..clients import session
from ..report import Row
from ..soak import calls, checks
from ..soak.checks import FOUND
from ..soak.faults import inflict
from ..soak.figures import fault_row, latency_rows, worker_rows
from ..soak.load import Load
from ..soak.records import ABANDONED, OTHER, PROBLEM, Record, settle
from ..soak.site import SoakSite
from ..soak.table import Soak, check_rows, label, launch_rows, other_rows
from ..soak.vitals import Vitals

COLD_DELAY = 3.0  # the spawner's delay before a cold server starts
LEFTOVER_AGE = 10.0  # LAUNCHER_LEFTOVER_AGE for the soak (default 7200)
AFTER_LAST_FAULT = 5.0  # at least this much of the "after" phase, however short the soak


def soak(site: SoakSite, minutes: float) -> Soak:
    """The load, with the faults in the middle; returns once every client has stopped."""
    length = minutes * 60
    load = Load(site, time.monotonic())
    vitals = Vitals(
        site.workers, lambda: load.launches_done, load.clock, min(5.0, max(0.5, length / 120))
    )
    vitals.sample()
    vitals.start()
    load.start()
    try:
        faults = inflict(site, load.clock, length, load.halt, load.reconnect)
        end = max(length, faults.end + AFTER_LAST_FAULT)
        load.halt.wait(max(0.0, end - load.clock()))
    finally:
        load.stop()
        vitals.stop()
    s = Soak(minutes, load.records, faults, vitals, load.clock(), t0=load.t0)
    s.client_failures = load.failures
    return s


def final_launches(site: SoakSite, s: Soak) -> list[Record]:
    """One more JSON launch into every folder launched into, each by its folder's user."""
    users = {u.name: u for u in site.warm + site.cold}

    def one(folder: tuple[str, str]) -> Record:
        user = users[folder[0]]
        marker = f"final{secrets.token_hex(6)}"
        r = Record("final", s.clock(), user=user.name, marker=marker)
        r.directory, r.filename = folder[1], f"{marker}.ipynb"
        calls.launch_json(session(), site.launcher.url, user.auth, r, s.clock)
        return r

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, checks.folders(s.records)))


def check(site: SoakSite, s: Soak) -> None:
    """Read every notebook back, then count leftovers before and after one more launch
    into each folder; every leftover is older than LAUNCHER_LEFTOVER_AGE by then."""
    waited = time.monotonic()
    site.script(0)
    site.start_servers(site.cold)
    hub = site.hub
    s.checked = checks.notebooks(hub, s.records)
    s.abandoned = checks.abandoned(hub, s.records)
    site.log(f"soak: {sum(s.checked.values())} notebooks read back")
    folders = checks.folders(s.records)
    s.folders = len(folders)
    time.sleep(max(0.0, LEFTOVER_AGE + 2 - (time.monotonic() - waited)))
    s.leftovers_before = checks.leftovers(hub, folders)
    final = final_launches(site, s)
    s.records.extend(final)
    s.checked.update(checks.notebooks(hub, final))
    s.leftovers_after = checks.leftovers(hub, folders)
    site.log(
        f"soak: {len(final)} more launches, leftovers {s.leftovers_before} -> {s.leftovers_after}"
    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def load_row(s: Soak) -> Row:
    text = (
        f"{len(s.records)} requests in {s.ended:.0f} s ({len(s.records) / s.ended:.1f}/s) from "
        f"5 client threads, {s.minutes:g} min asked; -w 2, LAUNCHER_LEFTOVER_AGE="
        f"{LEFTOVER_AGE:g}"
    )
    return Row("soak: load", text, f"load average at the start {s.load[0]}, end {s.load[1]}")


def run(bench: Bench) -> None:
    minutes = bench.o.soak_minutes
    bench.log(f"soak: {minutes:g} minutes")
    started_load = load_average()
    with SoakSite(bench, COLD_DELAY, LEFTOVER_AGE) as site:
        s = soak(site, minutes)
        bench.log(f"soak: {len(s.records)} requests; reading every notebook back")
        s.load = (started_load, load_average())
        check(site, s)
        ports = {"hub": site.hub.port, "launcher": site.launcher.port}
    broken: list[str] = []
    report = bench.report
    report.rows.append(load_row(s))
    report.rows.append(fault_row(s.faults))
    report.rows += launch_rows(s, broken)
    report.rows += other_rows(s, broken)
    report.rows += check_rows(s, broken)
    broken += [f"soak: a client thread failed: {f}" for f in s.client_failures]
    report.rows += latency_rows(s.records, s.faults)
    report.rows += worker_rows(s.vitals, s.ended)
    report.broken += broken
    report.details["soak"] = {**details(s, broken), "ports": ports}


def details(s: Soak, broken: list[str]) -> dict[str, Any]:
    """For `--json` and the smoke test."""
    return {
        "minutes": s.minutes,
        "seconds": s.ended,
        "broken": broken,
        "answers": {
            kind: dict(Counter(label(r, s.faults) for r in s.records if r.kind == kind))
            for kind in dict.fromkeys(r.kind for r in s.records)
        },
        "checked": dict(s.checked),
        "abandoned": dict(s.abandoned),
        "folders": s.folders,
        "leftovers": {"before": s.leftovers_before, "after": s.leftovers_after},
        "faults": dataclasses.asdict(s.faults),
        "workers": {
            str(p): [
                (round(x.t, 1), x.launches, round(x.rss_mb, 1), x.fds, x.sockets)
                for x in s.vitals.life(p)
            ]
            for p in s.vitals.pids()
        },
        "abandoned_not_found": [
            f"{r.kind} at {r.started:.1f} s: {r.user}/{r.directory}/{r.filename}"
            for r in s.records
            if r.result == ABANDONED and r.verdict != FOUND
        ],
        "problems": {
            f"{r.kind} at {r.started:.2f}-{r.ended:.2f} s: {r.code}": r.detail
            for r in s.records
            if (r.detail and settle(r, s.faults) == PROBLEM) or settle(r, s.faults) == OTHER
        },
    }
