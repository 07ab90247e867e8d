"""What each request of the soak got, and how it counts in the table.

A request without an HTTP answer is judged by when it was made: while the launcher was
restarting (from just before its SIGTERM until it answered again), a client of a real
deployment would have got its load balancer's error, so it counts as "not answered
(launcher down)"; in flight on the worker killed with SIGKILL, "not answered (worker
killed)". Every other request without an answer counts as answered otherwise, and so
does a launch in flight at the SIGTERM that the graceful stop did not let finish.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

NOTEBOOK = "notebook"  # a launch's location, or a preview's notebook with its own marker
OK = "ok"  # /health (200 or 503) and /metrics as documented
PROBLEM = "problem"  # a problem document with a catalogued code and its status
OTHER = "otherwise"
NO_ANSWER = "no answer"  # settled into one of the next two, or OTHER
DOWN = "not answered (launcher down)"
KILLED = "not answered (worker killed)"
ABANDONED = "abandoned"  # an event stream the client closed after its first event

LAUNCHES = ("warm json", "warm stream", "cold json", "cold stream")
KINDS = (*LAUNCHES, "preview", "failing login", "health", "metrics", "final")
# A request sent this long before the launcher's SIGTERM has reached it: in flight.
IN_FLIGHT_MARGIN = 0.1


@dataclass
class Record:
    kind: str
    started: float  # seconds since the soak started
    ended: float = math.nan
    status: int = 0  # 0: no HTTP answer
    result: str = ""
    code: str = ""  # the problem's code, or what went wrong
    user: str = ""
    marker: str = ""
    directory: str = ""
    filename: str = ""
    location: str = ""
    detail: str = ""  # a problem's detail, for reading the run afterwards
    verdict: str = ""  # what reading its notebook back found

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class FaultTimes:
    """When each fault happened, in seconds since the soak started."""

    hub_stop: float = math.inf
    hub_up: float = math.inf
    worker_kill: float = math.inf
    worker_back: float = math.inf
    launcher_term: float = math.inf
    launcher_exit: float = math.inf
    launcher_up: float = math.inf
    launcher_exit_code: int | None = None
    killed_pid: int = 0
    servers_kept: tuple[int, int] = (0, 0)  # warm users' server processes kept / before
    notes: list[str] = field(default_factory=list)

    @property
    def start(self) -> float:
        return min(self.hub_stop, self.worker_kill, self.launcher_term)

    @property
    def end(self) -> float:
        return max(t for t in (self.hub_up, self.worker_back, self.launcher_up, 0.0))

    def phase(self, moment: float) -> str:
        if moment < self.start:
            return "before"
        return "during" if moment < self.end else "after"


def settle(record: Record, faults: FaultTimes) -> str:
    """The bucket a request counts in (see the module's docstring)."""
    if record.result != NO_ANSWER:
        return record.result
    if faults.launcher_term - IN_FLIGHT_MARGIN <= record.started < faults.launcher_up:
        return DOWN
    if record.started <= faults.worker_kill <= record.ended:
        return KILLED
    return OTHER


def tally(records: list[Record], faults: FaultTimes) -> dict[str, Counter]:
    """kind -> bucket -> how many; problems also as `problem:<code>`."""
    counts: dict[str, Counter] = {}
    for record in records:
        bucket = settle(record, faults)
        c = counts.setdefault(record.kind, Counter())
        c[bucket] += 1
        if bucket == PROBLEM:
            c[f"{PROBLEM}:{record.code}"] += 1
        if bucket == OTHER:
            c[f"{OTHER}:{record.status}/{record.code}"] += 1
    return counts
