"""What a benchmark run measures and how much of it; the defaults are the figures the
benchmarks are specified with."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
DEFAULT_ORIGINAL_VENV = Path(
    os.environ.get("LAUNCHER_BENCH_ORIGINAL_VENV", str(CACHE / "original-venv"))
)
# The default run, in the order they run; memory is sampled during the cold launches.
SCENARIOS = ("warm_launch", "throughput", "cold_launches", "memory", "login_storm")
# Run only when named: the soak alone takes `soak_minutes` (10 by default).
EXTRA_SCENARIOS = ("soak",)
KNOWN_SCENARIOS = SCENARIOS + EXTRA_SCENARIOS
USER_PREFIX = "elb"

Log = Callable[[str], None]


def stderr_log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Options:
    """What to run and how much of it."""

    scenarios: tuple[str, ...] = SCENARIOS
    cold_users: int = 100  # cold_launches: launches for as many different users, at once
    spawn_delay: float = 3.0  # cold_launches: the spawner's start delay
    cold_modes: tuple[str, ...] = ("pending", "blocking")  # hub answers 202 / 201
    hub_alone: bool = True  # cold_launches: the same spawns and writes without launcher
    clients: int = 8  # throughput: concurrent clients, each its own user, warm servers
    throughput_requests: int = 400  # throughput: at most this many per measurement ...
    throughput_seconds: float = 8.0  # ... and at most this long
    rounds: int = 2  # throughput: alternate this project and the original this often
    warm_launches: int = 40  # warm_launch: sequential launches (and as many floor samples)
    workers: int = 2  # gunicorn workers of the launcher under test
    other_workers: tuple[int, ...] = (1, 4)  # throughput also measured with these
    storm_launches: int = 20  # login_storm: the valid user's launches, idle and in the storm
    storm_attackers: int = 8  # login_storm: failing logins kept in flight
    storm_seconds: float = 60.0  # login_storm: the storm stops by itself after this
    original_storm_launches: int = 5  # login_storm for the original (each waits ~3-5 s)
    servers: str = "standin"  # warm servers: "standin" or "real" (jupyterhub-singleuser)
    original: str = "auto"  # "auto" (set up its venv if needed), "present", "off"
    original_venv: Path = DEFAULT_ORIGINAL_VENV
    workdir: Path | None = None
    keep_workdir: bool = False
    hub_log_level: str = "WARN"  # INFO logs every hub request with its duration
    soak_minutes: float = 10.0  # soak: how long the load runs, faults in the middle
    # EXPERIMENTS, marked in the table, never the project's figures:
    launcher_env: tuple[tuple[str, str], ...] = ()  # extra environment of our launchers
    variants: bool = True  # warm_launch and login_storm also with the login cache off
    log: Log = stderr_log

    def wants(self, *names: str) -> bool:
        return bool(set(names) & set(self.scenarios))
