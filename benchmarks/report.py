"""The benchmark's table: one row per figure, what it is compared with, the ratio and
whether the goal is met; plus the notes printed under it and the details for `--json`."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    scenario: str
    ours: str
    compared: str  # what the figure is compared with: the original, or a floor
    ratio: float | None = None
    goal: str = ""  # e.g. "<= 1.00"
    met: bool | None = None  # None: a figure for information, not a goal


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    broken: list[str] = field(default_factory=list)  # failed checks: the run exits 1

    def table(self) -> str:
        return format_table(self.rows) + ("\n\n" + "\n".join(self.notes) if self.notes else "")


def _goal(row: Row) -> str:
    if row.met is None:
        return row.goal or "(info)"
    return f"{row.goal} {'MET' if row.met else 'NOT MET'}"


def format_table(rows: list[Row]) -> str:
    header = ("scenario", "this project", "compared with (original or floor)", "ratio", "goal")
    lines = [
        (r.scenario, r.ours, r.compared, "" if r.ratio is None else f"{r.ratio:.2f}", _goal(r))
        for r in rows
    ]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]

    def fmt(cells: Iterable[str]) -> str:
        return " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [fmt(header), "-+-".join("-" * w for w in widths)]
    out += [fmt(line) for line in lines]
    return "\n".join(out)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
