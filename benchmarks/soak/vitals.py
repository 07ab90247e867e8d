"""Each launcher worker's resident memory and open file descriptors over the soak, from
/proc, and how they grow per 1,000 launches over each worker's life."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from ..measure import rss_mb

WARM_UP = 60.0  # seconds of a worker's life left out of its slope (at most a quarter)


@dataclass
class Sample:
    t: float
    launches: int
    pid: int
    rss_mb: float
    fds: int
    sockets: int = 0  # of the fds: connections come and go with the load


def open_fds(pid: int) -> tuple[int, int] | None:
    """How many descriptors the process has open, and how many of them are sockets."""
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    sockets = 0
    for name in names:
        try:
            sockets += os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:")
        except OSError:
            pass
    return len(names), sockets


class Vitals(threading.Thread):
    """Samples the workers every `interval` s; `workers()` and `launches()` are read
    each time, as the workers change with the faults."""

    def __init__(
        self,
        workers: Callable[[], list[int]],
        launches: Callable[[], int],
        clock: Callable[[], float],
        interval: float,
    ) -> None:
        super().__init__(daemon=True, name="soak-vitals")
        self.workers, self.launches, self.clock = workers, launches, clock
        self.interval = interval
        self.samples: list[Sample] = []
        self.halt = threading.Event()

    def sample(self) -> None:
        t, launches = self.clock(), self.launches()
        for pid in self.workers():
            rss, fds = rss_mb(pid), open_fds(pid)
            if rss is not None and fds is not None:
                self.samples.append(Sample(t, launches, pid, rss, *fds))

    def run(self) -> None:
        while not self.halt.is_set():
            self.sample()
            self.halt.wait(self.interval)

    def stop(self) -> None:
        self.halt.set()
        self.join(10)
        self.sample()

    def near(self, moment: float) -> list[Sample]:
        """The samples taken closest to `moment`, one per worker alive then."""
        if not self.samples:
            return []
        t = min((s.t for s in self.samples), key=lambda x: abs(x - moment))
        return [s for s in self.samples if s.t == t]

    def pids(self) -> list[int]:
        return list(dict.fromkeys(s.pid for s in self.samples))

    def life(self, pid: int) -> list[Sample]:
        return [s for s in self.samples if s.pid == pid]


@dataclass
class Growth:
    pid: int
    first: float
    last: float
    launches: int  # launches of the whole launcher within the fitted part of the life
    samples: int
    # slope per 1,000 launches, its standard error, the scatter (SD) around the fit
    rss: tuple[float, float, float]
    fds: tuple[float, float, float]

    def flat(self, rss_floor: float = 1.0, fds_floor: float = 1.0) -> bool:
        """Within noise, for memory and descriptors each: the slope is under a floor
        (1 MB, 1 descriptor per 1,000 launches), or within twice its standard error, or
        the change it makes over the fitted life is within twice the scatter around it
        (descriptors move in steps as connections open and close, which the standard
        error, made for independent noise, understates)."""
        return _flat(self.rss, rss_floor, self.launches) and _flat(
            self.fds, fds_floor, self.launches
        )


def _flat(fit: tuple[float, float, float], floor: float, launches: int) -> bool:
    b, se, sd = fit
    return abs(b) <= max(floor, 2 * se) or abs(b) * launches / 1000 <= 2 * sd


def slope(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares slope, its standard error and the residuals' standard deviation."""
    n = len(xs)
    if n < 3:
        return math.nan, math.nan, math.nan
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return math.nan, math.nan, math.nan
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    residual = sum((y - my - b * (x - mx)) ** 2 for x, y in zip(xs, ys, strict=True))
    variance = residual / (n - 2)
    return b, math.sqrt(variance / sxx), math.sqrt(variance)


def growth(vitals: Vitals, pid: int) -> Growth | None:
    """The growth over the worker's life after its warm-up, per 1,000 launches."""
    life = vitals.life(pid)
    if not life:
        return None
    skip = min(WARM_UP, (life[-1].t - life[0].t) / 4)
    fitted = [s for s in life if s.t >= life[0].t + skip]
    xs = [s.launches / 1000 for s in fitted]
    rss = slope(xs, [s.rss_mb for s in fitted])
    fds = slope(xs, [float(s.fds) for s in fitted])
    span = fitted[-1].launches - fitted[0].launches if fitted else 0
    return Growth(pid, life[0].t, life[-1].t, span, len(fitted), rss, fds)
