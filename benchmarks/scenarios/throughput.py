"""throughput: 8 clients, each its own user with a running server, launch back to back
(at most 400 launches or 8 s per measurement, after a warm-up), alternating this
launcher and the original 0.2.0 on the same hub with the same users.

Compared with the original: this project / original, goal at least 2x. Measured with
`-w 2`, and with the other worker counts for information.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from ewatercycle_experiment_launcher.localhub import OSUser

from ..bench import Bench
from ..clients import Outcome, good_seconds, hello_body, launch, outcome_summary, session
from ..report import Row, median, pct

DIRECTORY = "bench2"


class Clients:
    """`len(users)` clients, each its own user, launching back to back until `cap`
    launches were made or `seconds` passed."""

    def __init__(self, url: str, users: list[OSUser], cap: int, seconds: float) -> None:
        self.url, self.users, self.cap, self.seconds = url, users, cap, seconds
        self.lock = threading.Lock()
        self.issued = 0
        self.outcomes: list[Outcome] = []
        self.barrier = threading.Barrier(len(users) + 1)
        self.stop = threading.Event()

    def _take_turn(self) -> bool:
        with self.lock:
            if self.issued >= self.cap:
                return False
            self.issued += 1
            return True

    def _client(self, user: OSUser) -> None:
        s = session()
        self.barrier.wait()
        while not self.stop.is_set() and self._take_turn():
            outcome = launch(s, self.url, hello_body(DIRECTORY), user.auth, timeout=60)
            with self.lock:
                self.outcomes.append(outcome)

    def run(self) -> dict[str, Any]:
        threads = [
            threading.Thread(target=self._client, args=(u,), daemon=True) for u in self.users
        ]
        for t in threads:
            t.start()
        self.barrier.wait()
        started = time.perf_counter()
        timer = threading.Timer(self.seconds, self.stop.set)
        timer.start()
        for t in threads:
            t.join(self.seconds + 90)
        timer.cancel()
        self.stop.set()
        ended = max((x.ended for x in self.outcomes), default=time.perf_counter())
        good = good_seconds(self.outcomes)
        elapsed = ended - started
        return {
            "rps": len(good) / elapsed if elapsed > 0 else 0.0,
            "ok": len(good),
            "failed": outcome_summary([x for x in self.outcomes if not x.ok]),
            "elapsed_s": elapsed,
            "p50_ms": median(good) * 1000,
            "p95_ms": pct(good, 0.95) * 1000,
        }


def measure(bench: Bench, url: str, users: list[OSUser]) -> dict[str, Any]:
    Clients(url, users, len(users) * 3, 5.0).run()  # warm-up
    o = bench.o
    return Clients(url, users, o.throughput_requests, o.throughput_seconds).run()


def _measure_all(bench: Bench, users: list[OSUser]) -> dict[str, list[dict[str, Any]]]:
    o = bench.o
    runs: dict[str, list[dict[str, Any]]] = {}
    ours = bench.shared(bench.hub)
    for _ in range(o.rounds):  # side by side: alternate, same hub, same users
        runs.setdefault(f"w{o.workers}", []).append(measure(bench, ours.url, users))
        if bench.original is not None:
            runs.setdefault("original", []).append(measure(bench, bench.original.url, users))
    for workers in o.other_workers:
        if workers != o.workers:
            with bench.running(bench.launcher(bench.hub, workers=workers)) as other:
                runs.setdefault(f"w{workers}", []).append(measure(bench, other.url, users))
    return runs


def _summary(measurements: list[dict[str, Any]]) -> tuple[float, str]:
    rps = median([r["rps"] for r in measurements])
    last = measurements[-1]
    failed = "; ".join(r["failed"] for r in measurements if r["failed"])
    text = f"{rps:.1f} req/s (p50 {last['p50_ms']:.0f} ms, p95 {last['p95_ms']:.0f} ms)"
    return rps, text + (f" FAILED {failed}" if failed else "")


def run(bench: Bench) -> None:
    o = bench.o
    users = bench.warm_users[: o.clients]
    bench.log(f"throughput: {len(users)} clients on warm servers")
    runs = _measure_all(bench, users)
    bench.report.details["throughput"] = runs
    base = _summary(runs["original"]) if "original" in runs else None
    compared = f"original 0.2.0 (-w 4 sync): {base[1]}" if base else "original: not run"
    for workers in [o.workers, *(w for w in o.other_workers if w != o.workers)]:
        key = f"w{workers}"
        if key not in runs:
            continue
        rps, text = _summary(runs[key])
        ok = not any(r["failed"] for r in runs[key])
        met = (ok and rps >= 2 * base[0]) if (base and workers == o.workers) else None
        bench.report.rows.append(
            Row(
                f"throughput: {len(users)} clients, warm, -w {workers}",
                text,
                compared,
                rps / base[0] if base and base[0] else None,
                ">= 2.00",
                met,
            )
        )
