"""What the benchmark reads from /proc while a scenario runs: the resident memory of a
gunicorn master's workers, and the CPU time of each part of the set-up."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable


def worker_pids(master: int) -> list[int]:
    """A process's direct children, e.g. the gunicorn master's workers."""
    pids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{master}/task"):
            with open(f"/proc/{master}/task/{task}/children") as handle:
                pids += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    return sorted(set(pids))


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by each named group of processes between start() and stop(),
    plus this process's own ("benchmark clients") and the wall time."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.before: dict[str, dict[int, float]] = {}

    def _now(self) -> dict[str, dict[int, float]]:
        return {name: {p: cpu_seconds(p) for p in pids()} for name, pids in self.groups.items()}

    def start(self) -> CpuMeter:
        self.before = self._now()
        self._self = os.times()
        self._wall = time.perf_counter()
        return self

    def stop(self) -> dict[str, float]:
        after = self._now()
        used = {
            name: sum(v - self.before.get(name, {}).get(p, 0.0) for p, v in pids.items())
            for name, pids in after.items()
        }
        mine = os.times()
        used["benchmark clients"] = (mine.user - self._self.user) + (
            mine.system - self._self.system
        )
        used["wall"] = time.perf_counter() - self._wall
        return {k: round(v, 2) for k, v in used.items()}


def cpu_text(cpu: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())


class RssSampler(threading.Thread):
    """Samples the resident memory of a gunicorn master's workers every `interval` s."""

    def __init__(self, master: int, interval: float = 0.05, limit_s: float = 600) -> None:
        super().__init__(daemon=True)
        self.master = master
        self.interval = interval
        self.limit_s = limit_s
        self.peak: dict[int, float] = {}
        self.first: dict[int, float] = {}
        self._halt = threading.Event()

    def sample(self) -> None:
        for pid in worker_pids(self.master):
            value = rss_mb(pid)
            if value is not None:
                self.first.setdefault(pid, value)
                self.peak[pid] = max(value, self.peak.get(pid, 0.0))

    def run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        while not self._halt.is_set() and time.monotonic() < deadline:
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> dict[int, float]:
        self._halt.set()
        self.join(5)
        self.sample()
        return dict(self.peak)
