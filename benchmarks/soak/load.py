"""The soak's client threads: a steady, modest mix of requests until told to stop.

- warm JSON launches (the bulk), into folders of at most 100 notebooks each; every tenth
  asks for `experiment.ipynb`, so that names are taken and numbered variants chosen;
- warm event-stream launches, every third one abandoned after its first event;
- cold launches, one at a time, alternating JSON and event streams (every other stream
  abandoned after its first event): the user's server is stopped again after each,
  once the launch is done, so the next launch for that user starts it again;
- previews (`Accept: application/x-ipynb+json`), `/health` and `/metrics`;
- failing logins (a wrong password for a real account) from another loopback address.
"""

from __future__ import annotations

import itertools
import random
import secrets
import threading
import time
from collections.abc import Callable

import requests

from ewatercycle_experiment_launcher.localhub import OSUser

from ..clients import session
from . import calls
from .records import ABANDONED, LAUNCHES, Record
from .site import SoakSite

# seconds between the starts of one thread's requests
PACE = {"warm json": 0.25, "warm stream": 1.0, "cold": 8.0, "misc": 0.5, "login": 2.0}


class Load:
    def __init__(self, site: SoakSite, t0: float) -> None:
        self.site, self.t0 = site, t0
        self.records: list[Record] = []
        self.launches_done = 0  # the x of the workers' growth per 1,000 launches
        self.failures: list[str] = []  # client threads that ended on an error
        self._lock = threading.Lock()
        self.halt = threading.Event()
        self._markers = itertools.count()
        self.connections = 0  # bumped when a fault ends the launcher's side of them
        self.threads = [
            threading.Thread(target=self._loop, args=(name, job), name=f"soak-{name}")
            for name, job in (
                ("warm json", self._warm_json),
                ("warm stream", self._warm_stream),
                ("cold", self._cold),
                ("misc", self._misc),
                ("login", self._failing_login),
            )
        ]

    def clock(self) -> float:
        return time.monotonic() - self.t0

    def start(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def stop(self) -> None:
        self.halt.set()
        for t in self.threads:
            t.join(calls.TIMEOUT + 30)

    def reconnect(self) -> None:
        """Every client opens new connections from its next request on, as a load
        balancer drops its kept-alive connections to a backend that failed; a request
        already sent on one of those is in flight at the fault and counts so."""
        self.connections += 1

    def _loop(self, name: str, job: Callable[[requests.Session, int], None]) -> None:
        source = "127.0.0.2" if name == "login" else None
        s, generation = session(source=source), self.connections
        for n in itertools.count():
            if generation != self.connections:
                s.close()
                s, generation = session(source=source), self.connections
            began = time.monotonic()
            try:
                job(s, n)
            except Exception as exc:  # noqa: BLE001 - reported as a failed check
                self.failures.append(f"{name}: {type(exc).__name__}: {exc}"[:200])
                self.site.log(f"soak: the {name} client failed: {exc!r}")
                return
            if self.halt.wait(max(0.0, PACE[name] - (time.monotonic() - began))):
                return

    def record(self, kind: str, user: OSUser, directory: str, same_name: bool = False) -> Record:
        marker = f"m{next(self._markers)}x{secrets.token_hex(4)}"
        filename = "experiment.ipynb" if same_name else f"{marker}.ipynb"
        return Record(
            kind,
            self.clock(),
            user=user.name,
            marker=marker,
            directory=directory,
            filename=filename,
        )

    def keep(self, record: Record) -> None:
        with self._lock:
            self.records.append(record)
            if record.kind in LAUNCHES:
                self.launches_done += 1

    @property
    def url(self) -> str:
        return self.site.launcher.url

    def _warm_json(self, s: requests.Session, n: int) -> None:
        user = random.choice(self.site.warm)
        same = n % 10 == 0
        directory = f"soak/same{n // 500}" if same else f"soak/json{n // 100}"
        r = self.record("warm json", user, directory, same_name=same)
        calls.launch_json(s, self.url, user.auth, r, self.clock)
        self.keep(r)

    def _warm_stream(self, s: requests.Session, n: int) -> None:
        user = random.choice(self.site.warm)
        r = self.record("warm stream", user, f"soak/stream{n // 100}")
        calls.launch_stream(s, self.url, user.auth, r, self.clock, abandon=n % 3 == 2)
        self.keep(r)

    def _cold(self, s: requests.Session, n: int) -> None:
        user = self.site.cold[n % len(self.site.cold)]
        kind = "cold stream" if n % 2 else "cold json"
        r = self.record(kind, user, f"soak/cold{n // 100}")
        if kind == "cold json":
            calls.launch_json(s, self.url, user.auth, r, self.clock)
        else:
            calls.launch_stream(s, self.url, user.auth, r, self.clock, abandon=n % 4 == 3)
        self.keep(r)
        if r.result == ABANDONED:
            self._wait_for_file(r)
        self._make_cold(user)

    def _wait_for_file(self, r: Record, timeout: float = 120) -> None:
        """An abandoned launch goes on: let it finish before the server is stopped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.halt.is_set():
            try:
                got = self.site.hub.contents(r.user, f"{r.directory}/{r.filename}", content="0")
                if got.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)

    def _make_cold(self, user: OSUser) -> None:
        """Stop the user's server; while the hub restarts, try again."""
        while not self.halt.is_set():
            try:
                self.site.make_cold(user)
                return
            except (requests.RequestException, TimeoutError, ValueError):
                self.halt.wait(1.0)

    def _misc(self, s: requests.Session, n: int) -> None:
        step = n % 4
        if step in (0, 2):
            user = random.choice(self.site.warm)
            r = self.record("preview", user, "soak/preview")
            calls.preview(s, self.url, user.auth, r, self.clock)
        else:
            r = Record("health" if step == 1 else "metrics", self.clock())
            calls.scrape(s, self.url, r, self.clock)
        self.keep(r)

    def _failing_login(self, s: requests.Session, n: int) -> None:
        target = self.site.target
        r = self.record("failing login", target, "soak/never")
        wrong = (target.name, "wrong-" + secrets.token_hex(4))
        calls.failing_login(s, self.url, wrong, r, self.clock)
        self.keep(r)
