"""The soak's rows of the table, and which of its checks failed."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from ..report import Row
from .checks import FOUND, LOST, REPLACED, UNREADABLE
from .records import (
    ABANDONED,
    DOWN,
    KILLED,
    LAUNCHES,
    NOTEBOOK,
    OK,
    OTHER,
    PROBLEM,
    FaultTimes,
    Record,
    settle,
)
from .vitals import Vitals

OTHER_KINDS = ("preview", "failing login", "health", "metrics", "final")


@dataclass
class Soak:
    """What a soak produced: every request's record, the faults, the workers' samples
    and the checks' counts."""

    minutes: float
    records: list[Record]
    faults: FaultTimes
    vitals: Vitals
    ended: float
    checked: Counter = field(default_factory=Counter)
    abandoned: Counter = field(default_factory=Counter)
    folders: int = 0
    leftovers_before: int = 0
    leftovers_after: int = 0
    load: tuple[str, str] = ("", "")  # /proc/loadavg at the start and the end
    t0: float = 0.0  # time.monotonic() when the load started
    client_failures: list[str] = field(default_factory=list)

    def clock(self) -> float:
        return time.monotonic() - self.t0


def label(record: Record, faults: FaultTimes) -> str:
    """How one answer reads in the table: `notebook`, a problem's code, a status, ..."""
    bucket = settle(record, faults)
    if bucket == PROBLEM:
        return record.code
    if bucket == OK:
        return str(record.status)
    if bucket == OTHER:
        return f"{OTHER} ({record.status or 'no answer'}: {record.code})"
    return bucket


def _text(c: Counter) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.most_common())


def _must(name: str, value: int, text: str, broken: list[str]) -> Row:
    if value:
        broken.append(f"soak: {name}: {value}")
    return Row(f"soak: {name}", text, "must be 0", None, "= 0", value == 0)


def launch_rows(s: Soak, broken: list[str]) -> list[Row]:
    launches = [r for r in s.records if r.kind in LAUNCHES]
    buckets = Counter(settle(r, s.faults) for r in launches)
    kinds = Counter(r.kind for r in launches)
    problems = Counter(r.code for r in launches if settle(r, s.faults) == PROBLEM)
    others = Counter(label(r, s.faults) for r in launches if settle(r, s.faults) == OTHER)
    return [
        Row("soak: launches attempted", f"{len(launches)} ({_text(kinds)})", ""),
        Row("soak: launches answered with a notebook", str(buckets[NOTEBOOK]), ""),
        Row(
            "soak: launches answered with a documented problem",
            f"{buckets[PROBLEM]}" + (f": {_text(problems)}" if problems else ""),
            "codes of problems.CATALOGUE, each with its status",
        ),
        Row(
            "soak: launch event streams the client abandoned after the first event",
            f"{buckets[ABANDONED]} (their notebooks written anyway: {s.abandoned[FOUND]})",
            "by design: the launch goes on without its client",
        ),
        Row(
            "soak: launches not answered (launcher down)",
            str(buckets[DOWN]),
            "no connection while the launcher restarted (behind a load balancer: its "
            "error); kept out of 'otherwise'",
        ),
        Row(
            "soak: launches not answered (worker killed)",
            str(buckets[KILLED]),
            "in flight on the worker killed with SIGKILL; kept out of 'otherwise'",
        ),
        _must(
            "launches answered otherwise",
            buckets[OTHER],
            f"{buckets[OTHER]}" + (f": {_text(others)}" if others else ""),
            broken,
        ),
    ]


def other_rows(s: Soak, broken: list[str]) -> list[Row]:
    rows, bad = [], Counter()
    for kind in OTHER_KINDS:
        mine = [r for r in s.records if r.kind == kind]
        labels = Counter(label(r, s.faults) for r in mine)
        bad.update(k for k in labels.elements() if k.startswith(OTHER))
        what = {"final": "one more launch into each folder"}.get(kind, kind)
        rows.append(Row(f"soak: {what}", f"{len(mine)}: {_text(labels)}", ""))
    total = sum(bad.values())
    text = f"{total}" + (f": {_text(bad)}" if total else "")
    return [*rows, _must("other requests answered otherwise", total, text, broken)]


def check_rows(s: Soak, broken: list[str]) -> list[Row]:
    c = s.checked
    bad = c[LOST] + c[REPLACED] + c[UNREADABLE]
    return [
        _must(
            "notebooks lost or replaced",
            bad,
            f"{bad} of {sum(c.values())} read back (lost {c[LOST]}, replaced {c[REPLACED]}, "
            f"unreadable {c[UNREADABLE]})",
            broken,
        ),
        _must(
            "leftover temporary files (*.launching-*)",
            s.leftovers_after,
            f"{s.leftovers_after} after one more launch into each of the {s.folders} "
            f"folders (before it: {s.leftovers_before})",
            broken,
        ),
    ]
