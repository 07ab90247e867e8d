"""login_storm: one valid user's 20 launches alone, then again while 8 clients (each from
its own loopback address 127.0.0.2-9, wrong passwords for 8 other real accounts) keep a
failing login in flight; with the defaults and with the login cache off.

Compared with the valid user's own idle median (goal at most 1.5x); the original's
storm is shown for information.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from ewatercycle_experiment_launcher.localhub import OSUser

from ..bench import Bench
from ..clients import Outcome, good_seconds, hello_body, launch, outcome_summary, session
from ..report import Row, median, ms, pct

DIRECTORY = "bench4"


class Attackers:
    """Clients that keep failing logins in flight until stopped or `seconds` passed: a
    different loopback address each, as different hosts, and wrong passwords for existing
    accounts, so that PAM fails the slow way (pam_faildelay)."""

    def __init__(self, url: str, targets: list[OSUser], count: int, seconds: float) -> None:
        self.url, self.targets, self.count = url, targets, count
        self.deadline = time.monotonic() + seconds
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self.in_flight = threading.Barrier(count + 1)
        self.threads = [
            threading.Thread(target=self._attack, args=(i,), daemon=True) for i in range(count)
        ]

    def _attack(self, i: int) -> None:
        s = session(source=f"127.0.0.{2 + i}")
        target = self.targets[i % len(self.targets)]
        self.in_flight.wait()
        for _ in range(500):
            if self.stop.is_set() or time.monotonic() > self.deadline:
                return
            wrong = (target.name, "wrong-" + secrets.token_hex(4))
            outcome = launch(s, self.url, hello_body(DIRECTORY), wrong, timeout=30)
            with self.lock:
                self.outcomes.append(outcome)

    def __enter__(self) -> Attackers:
        for t in self.threads:
            t.start()
        self.in_flight.wait()
        time.sleep(0.5)  # the failing logins are in flight
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(35)


def storm(bench: Bench, url: str, n_valid: int) -> dict[str, Any]:
    """The valid user's launches alone, then with the failing logins in flight."""
    o, valid = bench.o, bench.warm_users[0]
    targets = bench.warm_users[1 : 1 + o.storm_attackers] or bench.warm_users
    s = session()
    for _ in range(2):  # warm-up, as any user who launched before
        launch(s, url, hello_body(DIRECTORY), valid.auth)
    idle = [launch(s, url, hello_body(DIRECTORY), valid.auth) for _ in range(n_valid)]
    stormy: list[Outcome] = []
    with Attackers(url, targets, o.storm_attackers, o.storm_seconds) as attackers:
        for _ in range(n_valid):
            if time.monotonic() > attackers.deadline:
                break
            stormy.append(launch(s, url, hello_body(DIRECTORY), valid.auth))
    storm_ok = good_seconds(stormy)
    return {
        "idle_median_s": median(good_seconds(idle)),
        "storm_median_s": median(storm_ok),
        "storm_p95_s": pct(storm_ok, 0.95),
        "valid_failed": outcome_summary([x for x in idle + stormy if not x.ok]),
        "attacks": outcome_summary(attackers.outcomes),
        "n": len(storm_ok),
    }


def _row(bench: Bench, label: str, r: dict[str, Any]) -> Row:
    ratio = r["storm_median_s"] / r["idle_median_s"]
    failed = f", valid user failed: {r['valid_failed']}" if r["valid_failed"] else ""
    return Row(
        f"login_storm: {bench.o.storm_attackers} failing logins in flight, valid user's "
        f"median, -w {bench.o.workers}, {label}",
        f"{ms(r['storm_median_s'])} (p95 {ms(r['storm_p95_s'])}, n={r['n']}{failed})",
        f"its own idle median {ms(r['idle_median_s'])}",
        ratio,
        "<= 1.50",
        ratio <= 1.5 and not r["valid_failed"],
    )


def run(bench: Bench) -> None:
    o = bench.o
    bench.log(f"login_storm: {o.storm_attackers} failing logins in flight")
    results: dict[str, Any] = {}
    variants: list[tuple[str, dict[str, str]]] = [("defaults", {})]
    if o.variants:
        variants.append(("LAUNCHER_LOGIN_CACHE_SECONDS=0", {"LAUNCHER_LOGIN_CACHE_SECONDS": "0"}))
    for label, env in variants:
        r = results[label] = storm(bench, bench.shared(bench.hub, **env).url, o.storm_launches)
        bench.report.rows.append(_row(bench, label, r))
        bench.report.notes.append(f"login_storm ({label}): the failing logins got {r['attacks']}.")
    if bench.original is not None:
        r = results["original"] = storm(bench, bench.original.url, o.original_storm_launches)
        bench.report.rows.append(
            Row(
                "login_storm: the original 0.2.0 (-w 4 sync)",
                f"{ms(r['storm_median_s'])} (n={r['n']})",
                f"its own idle median {ms(r['idle_median_s'])}",
                r["storm_median_s"] / r["idle_median_s"],
            )
        )
        bench.report.notes.append(
            f"login_storm (original): the failing logins got {r['attacks']}."
        )
    bench.report.details["login_storm"] = results
