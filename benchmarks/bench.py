"""The benchmark harness: starts what the scenarios need, runs them, prints one table.

Everything runs on 127.0.0.1: a real JupyterHub (the tests' `Hub`, with the benchmark
spawner `benchmarks.spawner.StandInSpawner`), the shared stand-in Jupyter server
(`benchmarks.standin_server`), this launcher as in production (the tests'
`LauncherServer`: gunicorn with the uvicorn worker), and the original launcher 0.2.0
from PyPI in its own venv. OS accounts come from the tests' `OSUser` and are removed at
the end, also on failure or Ctrl-C.

Every load loop is bounded in count and in time and stops by itself.

Use `benchmarks/run.py` (see benchmarks/README.md); tests/test_benchmark_smoke.py runs
the same code with tiny counts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import requests
from requests.adapters import HTTPAdapter

from ewatercycle_experiment_launcher import notebooks
from ewatercycle_experiment_launcher.auth import pam_check
from ewatercycle_experiment_launcher.config import Settings
from ewatercycle_experiment_launcher.hub import HubClient
from tests.harness import (
    Hub,
    LauncherServer,
    OSUser,
    free_port,
    start_logged,
    stop_process,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PINS = HERE / "original-0.2.0-pins.txt"
CACHE = HERE / ".cache"
DEFAULT_ORIGINAL_VENV = Path(
    os.environ.get("LAUNCHER_BENCH_ORIGINAL_VENV", str(CACHE / "original-venv"))
)
ORIGINAL_SERVICE = "original-launcher"
# The original 0.2.0 only calls POST .../server and the contents API: the three scopes
# of jupyterhub_config.py.example are enough for it on warm servers. (Its own docs asked
# for `admin: True`; that is the original's requirement, not this project's.)
ORIGINAL_SCOPES = ["start:servers", "read:servers", "access:servers"]
PAM_ALLOWANCE_MS = 5.0
RSS_LIMIT_MB = 120.0
USER_PREFIX = "elb"

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- options and results ----------------------------------------------------------------


@dataclass
class Options:
    """What to run and how much of it. The defaults are the issue's figures."""

    scenarios: tuple[str, ...] = ("1", "2", "3", "4", "5")
    cold_users: int = 100  # goal 3: launches for as many different users, at once
    spawn_delay: float = 3.0  # goal 3: the spawner's start delay
    cold_modes: tuple[str, ...] = ("pending", "blocking")  # hub answers 202 / 201
    hub_floor: bool = True  # goal 3: time the same spawns and writes without launcher
    clients: int = 8  # goal 2: concurrent clients, each its own user, warm servers
    throughput_requests: int = 400  # goal 2: at most this many per measurement ...
    throughput_seconds: float = 8.0  # ... and at most this long
    rounds: int = 2  # goal 2: alternate this project and the original this often
    warm_launches: int = 40  # goal 1: sequential launches (and as many floor samples)
    workers: int = 2  # gunicorn workers of the launcher under test
    other_workers: tuple[int, ...] = (1, 4)  # goal 2 also measured with these
    storm_launches: int = 20  # goal 4: the valid user's launches, idle and in the storm
    storm_attackers: int = 8  # goal 4: failing logins kept in flight
    storm_seconds: float = 60.0  # goal 4: the storm stops by itself after this
    original_storm_launches: int = 5  # goal 4 for the original (each waits ~3-5 s)
    servers: str = "standin"  # warm servers for goals 1, 2, 4: "standin" or "real"
    original: str = "auto"  # "auto" (set up its venv if needed), "present", "off"
    original_venv: Path = DEFAULT_ORIGINAL_VENV
    workdir: Path | None = None
    keep_workdir: bool = False
    hub_log_level: str = "WARN"  # INFO logs every hub request with its duration
    # EXPERIMENTS, marked in the table, never the project's figures:
    launcher_env: tuple[tuple[str, str], ...] = ()  # extra environment of our launchers
    variants: bool = True  # goals 1 and 4 also with LAUNCHER_LOGIN_CACHE_SECONDS=0
    log: Log = _stderr


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

    def table(self) -> str:
        return format_table(self.rows) + ("\n\n" + "\n".join(self.notes) if self.notes else "")


def format_table(rows: list[Row]) -> str:
    header = ("scenario", "this project", "compared with (original or floor)", "ratio", "goal")
    lines = []
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:.2f}"
        if row.met is None:
            goal = row.goal or "(info)"
        else:
            goal = f"{row.goal} {'MET' if row.met else 'NOT MET'}"
        lines.append((row.scenario, row.ours, row.compared, ratio, goal))
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


# -- processes -----------------------------------------------------------------------------


@dataclass
class StandInServer:
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandInServer:
        self.process = start_logged(
            [sys.executable, "-m", "benchmarks.standin_server", "--port", str(self.port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            logfile=self.workdir / "standin.log",
            ready_url=f"{self.url}/api",
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@dataclass
class OriginalServer:
    """The original launcher 0.2.0, from its own venv, run as its pin file says."""

    venv: Path
    workdir: Path
    hub_url: str
    token: str
    workers: int = 4
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OriginalServer:
        cwd = self.workdir / "original"  # outside the repo: import the installed 0.2.0
        cwd.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(
            JUPYTERHUB_TOKEN=self.token,
            JUPYTERHUB_URL=self.hub_url,
            PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        )
        self.logfile = self.workdir / f"original-{self.port}.log"
        self.process = start_logged(
            [
                str(self.venv / "bin" / "gunicorn"),
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "ewatercycle_experiment_launcher.serve:app",
            ],
            cwd=cwd,
            env=env,
            logfile=self.logfile,
            ready_url=f"{self.url}/openapi.json",
        )
        version = requests.get(f"{self.url}/openapi.json", timeout=10).json()["info"]["version"]
        if version != "0.2.0":
            raise RuntimeError(f"expected the original 0.2.0, the server says {version}")
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


def ensure_original_venv(venv: Path, log: Log = _stderr) -> Path:
    """A venv with the original 0.2.0 and the pin set it is known to serve with."""
    pins = PINS.read_bytes()
    marker = venv / ".pins-sha256"
    digest = hashlib.sha256(pins).hexdigest()
    if (venv / "bin" / "gunicorn").exists() and marker.exists():
        if marker.read_text().strip() == digest:
            return venv
    if venv.resolve().is_relative_to(CACHE.resolve()):
        CACHE.mkdir(exist_ok=True)
        (CACHE / ".gitignore").write_text("*\n")  # never committed
    log(f"setting up the original 0.2.0 in {venv} (once; ~30 s)")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(PINS)],
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(f"could not install the original 0.2.0:\n{result.stderr[-3000:]}")
    marker.write_text(digest + "\n")
    return venv


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's worker processes (its direct children)."""
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


def children(pid: int) -> list[int]:
    return worker_pids(pid)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads), in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by each named group of processes between start() and stop()."""

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


# -- requests ------------------------------------------------------------------------------


class SourceAddressAdapter(HTTPAdapter):
    """Connects from another loopback address, so clients look like different hosts."""

    def __init__(self, source: str, **kwargs: Any) -> None:
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def session(source: str | None = None) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    if source:
        adapter = SourceAddressAdapter(source)
        s.mount("http://", adapter)
    return s


_counter = iter(range(10**9))
_counter_lock = threading.Lock()


def unique_filename(prefix: str = "n") -> str:
    with _counter_lock:
        n = next(_counter)
    return f"{prefix}{n}-{secrets.token_hex(3)}.ipynb"


def hello_body(directory: str, filename: str | None = None) -> dict[str, Any]:
    return {"notebook": {"directory": directory, "filename": filename or unique_filename()}}


@dataclass
class Outcome:
    status: int
    started: float
    ended: float
    location: str = ""
    code: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.location)


def launch(
    s: requests.Session,
    url: str,
    body: dict[str, Any],
    auth: tuple[str, str],
    timeout: float = 120,
) -> Outcome:
    started = time.perf_counter()
    try:
        response = s.post(f"{url}/hello", json=body, auth=auth, timeout=timeout)
    except requests.RequestException as exc:
        return Outcome(0, started, time.perf_counter(), code=type(exc).__name__)
    ended = time.perf_counter()
    location = code = ""
    try:
        data = response.json()
        location = data.get("location", "") if response.status_code == 200 else ""
        code = str(data.get("code") or data.get("title") or "")
    except ValueError:
        code = response.text[:80]
    return Outcome(response.status_code, started, ended, location, code)


def outcome_summary(outcomes: list[Outcome]) -> str:
    counts = Counter(f"{o.status}{'/' + o.code if o.code else ''}" for o in outcomes)
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


# -- the bench ------------------------------------------------------------------------------


class Bench:
    """Owns every process and account of a run; `with Bench(options) as b:` cleans up."""

    def __init__(self, options: Options) -> None:
        self.o = options
        self.log = options.log
        self.stack = contextlib.ExitStack()
        self.users: list[OSUser] = []
        self._users_lock = threading.Lock()
        self.report = Report()
        self.hub: Hub | None = None  # default slow_spawn_timeout: 201 after a spawn
        self.hub_pending: Hub | None = None  # slow_spawn_timeout 0: 202 at once
        self.original: OriginalServer | None = None
        self.original_venv: Path | None = None

    # -- set-up and clean-up ----------------------------------------------------------------

    def __enter__(self) -> Bench:
        try:
            self._setup()
        except BaseException:
            self.stack.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.log("cleaning up")
        self.stack.close()

    def _setup(self) -> None:
        o = self.o
        if os.geteuid() != 0:
            raise SystemExit(
                "run as root: the benchmark creates OS users and checks them with PAM"
            )
        if o.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="launcher-bench-"))
            if not o.keep_workdir:
                self.stack.callback(shutil.rmtree, self.workdir, True)
        else:
            self.workdir = o.workdir
            self.workdir.mkdir(parents=True, exist_ok=True)
        self.log(f"work folder {self.workdir}")
        self.stack.callback(self._remove_users)
        needs_original = bool({"1", "2", "4"} & set(o.scenarios)) and o.original != "off"
        if needs_original:
            if o.original == "auto":
                self.original_venv = ensure_original_venv(o.original_venv, self.log)
            elif (o.original_venv / "bin" / "gunicorn").exists():
                self.original_venv = o.original_venv
            else:
                self.log(f"no original venv at {o.original_venv}: its columns stay empty")

        self.standin = StandInServer(self.workdir).start()
        self.stack.callback(self.standin.stop)

        cold = o.cold_users if "3" in o.scenarios or "5" in o.scenarios else 0
        warm = max(o.clients, o.storm_attackers + 1 if "4" in o.scenarios else 1)
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(self._new_user) for _ in range(warm + cold)]
            made = [f.result() for f in futures]
        self.warm_users, self.cold_users = made[:warm], made[warm:]
        self.log(f"{len(made)} OS users created in {time.monotonic() - started:.1f} s")

        hubs = [self._make_hub(pending=False)]
        if cold and "pending" in o.cold_modes:
            hubs.append(self._make_hub(pending=True))
        with ThreadPoolExecutor(len(hubs)) as pool:
            list(pool.map(lambda h: h.start(), hubs))
        for hub in hubs:
            self.stack.callback(hub.stop)
        self.hub = hubs[0]
        self.hub_pending = hubs[1] if len(hubs) > 1 else None
        self.log(f"hub(s) up: {', '.join(h.url for h in hubs)}")

        logins = [(self.hub, u) for u in self.warm_users]
        if "blocking" in o.cold_modes or o.hub_floor:
            logins += [(self.hub, u) for u in self.cold_users]
        if self.hub_pending is not None:
            logins += [(self.hub_pending, u) for u in self.cold_users]
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda hu: hu[0].login(hu[1]), logins))
        self.log(f"{len(logins)} hub logins in {time.monotonic() - started:.1f} s")

        if {"1", "2", "4"} & set(o.scenarios):
            for user in self.warm_users:
                self.hub.script(user.name, start_delay=0, real=o.servers == "real")
            started = time.monotonic()
            self.start_servers(self.hub, [u.name for u in self.warm_users])
            self.log(
                f"{len(self.warm_users)} warm servers ({o.servers}) ready in "
                f"{time.monotonic() - started:.1f} s"
            )
        if needs_original and self.original_venv is not None:
            self.original = OriginalServer(
                self.original_venv,
                self.workdir,
                self.hub.url,
                self.hub.service_tokens[ORIGINAL_SERVICE],
            ).start()
            self.stack.callback(self.original.stop)
            self.log(f"original 0.2.0 up at {self.original.url} (gunicorn -w 4, sync)")

    def _new_user(self) -> OSUser:
        user = OSUser.create(USER_PREFIX)
        with self._users_lock:
            self.users.append(user)
        return user

    def _remove_users(self) -> None:
        with self._users_lock:
            users, self.users = list(self.users), []
        if users:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda u: u.remove(), users))
            self.log(f"{len(users)} OS users removed")

    def _make_hub(self, pending: bool) -> Hub:
        name = "hub-pending" if pending else "hub"
        workdir = self.workdir / name
        workdir.mkdir()
        hub = Hub(workdir, extra_services={ORIGINAL_SERVICE: ORIGINAL_SCOPES})
        hub.extra_config = "\n".join(
            [
                "c.JupyterHub.spawner_class = 'benchmarks.spawner.StandInSpawner'",
                f"c.StandInSpawner.script = {str(hub.script_path)!r}",
                f"c.StandInSpawner.standin_url = {self.standin.url!r}",
                # quieter than the default for 100 spawns; errors still show
                f"c.JupyterHub.log_level = {self.o.hub_log_level!r}",
            ]
            + (["c.JupyterHub.tornado_settings = {'slow_spawn_timeout': 0}"] if pending else [])
        )
        hub.script_path.write_text(json.dumps({"*": {"start_delay": 0}}))
        return hub

    def start_servers(self, hub: Hub, names: list[str], timeout: float = 180) -> None:
        """Start servers through the hub's API as an administrator and wait until ready."""
        for name in names:
            response = hub.admin("POST", f"/users/{quote(name, safe='')}/server")
            if response.status_code not in (201, 202, 400):
                raise RuntimeError(f"could not start {name}'s server: {response.status_code}")
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                model = hub.admin("GET", f"/users/{quote(name, safe='')}").json()
                if (model.get("servers") or {}).get("", {}).get("ready"):
                    pending.discard(name)
            if pending:
                time.sleep(0.25)
        if pending:
            raise TimeoutError(f"servers not ready: {sorted(pending)[:5]}")

    def stop_servers(self, hub: Hub, names: list[str]) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(hub.stop_server, names))

    def launcher(self, hub: Hub, workers: int | None = None, **env: str) -> LauncherServer:
        workdir = self.workdir / f"launcher-{secrets.token_hex(3)}"
        workdir.mkdir()
        env = {**dict(self.o.launcher_env), **env}
        server = LauncherServer(
            workdir,
            {
                "JUPYTERHUB_URL": hub.url,
                "JUPYTERHUB_TOKEN": hub.token,
                "LAUNCHER_LOCK_DIR": str(self.workdir / "locks"),
                **env,
            },
            workers=workers or self.o.workers,
        )
        server.start()
        # gunicorn answers once the first worker is up: wait for all of them, so that no
        # measurement shares the CPU with a worker still importing the application
        deadline = time.monotonic() + 90
        while server.log_text().count("Application startup complete") < server.workers:
            if time.monotonic() > deadline:
                server.stop()
                raise TimeoutError("launcher workers did not start")
            time.sleep(0.1)
        return server

    def shared(self, hub: Hub, workers: int | None = None, **env: str) -> LauncherServer:
        """A launcher kept running for the rest of the run (as in production: long-lived)."""
        key = (id(hub), workers or self.o.workers, tuple(sorted(env.items())))
        if not hasattr(self, "_shared"):
            self._shared: dict[Any, LauncherServer] = {}
        if key not in self._shared:
            server = self.launcher(hub, workers, **env)
            self.stack.callback(server.stop)
            self._shared[key] = server
        return self._shared[key]

    def cpu_meter(self, hub: Hub, launcher: LauncherServer | OriginalServer | None) -> CpuMeter:
        groups: dict[str, Callable[[], list[int]]] = {
            "hub": lambda: [hub.process.pid],
            "proxy+servers": lambda: children(hub.process.pid),
            "stand-in": lambda: [self.standin.process.pid],
        }
        if launcher is not None:
            master = launcher.process.pid
            groups["launcher"] = lambda: [master, *children(master)]
        return CpuMeter(groups)

    @contextlib.contextmanager
    def running(self, server: LauncherServer):
        try:
            yield server
        finally:
            server.stop()

    # -- scenarios --------------------------------------------------------------------------

    def experiment_tag(self) -> str:
        parts = []
        if self.o.launcher_env:
            parts.append("env: " + " ".join(f"{k}={v}" for k, v in self.o.launcher_env))
        return f" [EXPERIMENT, {'; '.join(parts)}]" if parts else ""

    def run(self) -> Report:
        o = self.o
        tag = self.experiment_tag()
        if tag:
            self.report.notes.append(
                f"Rows marked{tag} measure a changed launcher environment; they are not the "
                "project's figures."
            )
        for goal, wanted, scenario in (
            ("1", "1" in o.scenarios, self.goal1_warm_latency),
            ("2", "2" in o.scenarios, self.goal2_throughput),
            ("3", "3" in o.scenarios or "5" in o.scenarios, self.goal3_cold_launches),
            ("4", "4" in o.scenarios, self.goal4_login_storm),
        ):
            if not wanted:
                continue
            try:
                scenario()
            except Exception as exc:  # noqa: BLE001 - one broken scenario, not the run
                self.log(f"goal {goal} failed:\n{traceback.format_exc()}")
                self.report.rows.append(
                    Row(
                        f"{goal}. (scenario failed)",
                        f"{type(exc).__name__}: {exc}"[:120],
                        "",
                        None,
                        "",
                        False,
                    )
                )
        if tag:
            for row in self.report.rows:
                row.scenario += tag
        return self.report

    # goal 1 ---------------------------------------------------------------------------------

    def floor_sample(self, s: requests.Session, user: OSUser, directory: str) -> dict[str, float]:
        """The hub round trips one warm launch needs, timed directly, and one PAM check."""
        hub = self.hub
        name = quote(user.name, safe="")
        base = f"{hub.url}/user/{name}/api/contents"
        notebook = notebooks.build("hello", {"notebook": {"directory": directory}})
        tmp = f"{directory}/x.launching-{secrets.token_hex(8)}.ipynb"
        steps: dict[str, float] = {}

        def timed(step: str, method: str, url: str, expect: tuple[int, ...], **kw: Any) -> None:
            t = time.perf_counter()
            response = s.request(method, url, timeout=30, allow_redirects=False, **kw)
            steps[step] = time.perf_counter() - t
            if response.status_code not in expect:
                raise RuntimeError(f"floor {step}: {response.status_code} {response.text[:200]}")

        timed(
            "POST server (already running: 400)", "POST", f"{hub.api}/users/{name}/server", (400,)
        )
        timed(
            "PUT directory",
            "PUT",
            f"{base}/{quote(directory)}",
            (201,),
            json={"type": "directory"},
        )
        timed(
            "PUT notebook (temporary name)",
            "PUT",
            f"{base}/{quote(tmp)}",
            (201,),
            json={"type": "notebook", "format": "json", "content": notebook},
        )
        timed(
            "PATCH rename onto a free name",
            "PATCH",
            f"{base}/{quote(tmp)}",
            (200,),
            json={"path": f"{directory}/{unique_filename('f')}"},
        )
        t = time.perf_counter()
        if not pam_check(user.name, user.password):
            raise RuntimeError("PAM refused a benchmark user")
        steps["PAM check (success)"] = time.perf_counter() - t
        return steps

    def warm_latency(
        self, url: str, user: OSUser, n: int, directory: str, floor: bool
    ) -> tuple[list[Outcome], dict[str, list[float]]]:
        s_launch = session()
        s_hub = session()
        s_hub.headers["Authorization"] = f"token {self.hub.token}"
        for _ in range(3):  # warm-up: connections, the login cache of the worker(s)
            launch(s_launch, url, hello_body(directory), user.auth)
            if floor:
                self.floor_sample(s_hub, user, directory)
        outcomes: list[Outcome] = []
        steps: dict[str, list[float]] = {}
        deadline = time.monotonic() + max(60.0, n * 2.0)
        for _ in range(n):
            if time.monotonic() > deadline:
                break
            outcomes.append(launch(s_launch, url, hello_body(directory), user.auth))
            if floor:
                for step, seconds in self.floor_sample(s_hub, user, directory).items():
                    steps.setdefault(step, []).append(seconds)
        return outcomes, steps

    def goal1_warm_latency(self) -> None:
        o, user = self.o, self.warm_users[0]
        self.log("goal 1: warm launch latency against the hub round trips + PAM")
        results: dict[str, Any] = {}
        with contextlib.nullcontext(self.shared(self.hub)) as ours:
            offset = _log_size(ours)
            outcomes, steps = self.warm_latency(ours.url, user, o.warm_launches, "bench1", True)
            server_side = _access_durations(ours, offset)
        outcomes_nc: list[Outcome] = []
        steps_nc: dict[str, list[float]] = {}
        server_side_nc: list[float] = []
        if o.variants:
            nocache = self.shared(self.hub, LAUNCHER_LOGIN_CACHE_SECONDS="0")
            offset = _log_size(nocache)
            outcomes_nc, steps_nc = self.warm_latency(
                nocache.url, user, o.warm_launches, "bench1", True
            )
            server_side_nc = _access_durations(nocache, offset)
        for step, values in steps_nc.items():
            steps[step] += values
        medians = {step: median(v) for step, v in steps.items()}
        hub_trips = sum(v for k, v in medians.items() if not k.startswith("PAM"))
        pam = medians["PAM check (success)"]
        floor = hub_trips + pam + PAM_ALLOWANCE_MS / 1000
        compared = f"floor {ms(floor)} = hub round trips {ms(hub_trips)} + PAM {ms(pam)} + 5 ms"
        variants = [("login cache on (default 60 s)", outcomes, server_side)]
        if o.variants:
            variants.append(("LAUNCHER_LOGIN_CACHE_SECONDS=0", outcomes_nc, server_side_nc))
        for label, outs, server in variants:
            good = [x.seconds for x in outs if x.ok]
            m = median(good)
            bad = [x for x in outs if not x.ok]
            self.report.rows.append(
                Row(
                    f"1. warm launch median, -w {o.workers}, {label}",
                    f"{ms(m)} (p95 {ms(pct(good, 0.95))}, n={len(good)}"
                    + (f", {len(bad)} failed" if bad else "")
                    + ")",
                    compared,
                    m / floor,
                    "<= 1.00",
                    bool(good) and not bad and m <= floor,
                )
            )
            results[label] = {
                "median_s": m,
                "server_side_median_ms": median(server),
                "failed": outcome_summary(bad),
            }
        if self.original is not None:
            outs, _ = self.warm_latency(
                self.original.url, user, max(5, o.warm_launches // 2), "bench1", False
            )
            good = [x.seconds for x in outs if x.ok]
            ours_m = results["login cache on (default 60 s)"]["median_s"]
            self.report.rows.append(
                Row(
                    "1. warm launch median vs the original",
                    ms(ours_m),
                    f"original 0.2.0: {ms(median(good))} (n={len(good)})",
                    ours_m / median(good) if good else None,
                )
            )
            results["original_median_s"] = median(good)
        results["floor_steps_median_ms"] = {k: round(v * 1000, 2) for k, v in medians.items()}
        results["floor_ms"] = floor * 1000
        self.report.details["goal1"] = results
        lines = ["Goal 1 breakdown (medians, same run, same user, interleaved with the launches):"]
        for step, value in medians.items():
            lines.append(f"  {step:<40} {ms(value):>10}")
        lines.append(f"  {'sum of hub round trips':<40} {ms(hub_trips):>10}")
        lines.append(f"  {'floor = round trips + PAM + 5 ms':<40} {ms(floor):>10}")
        for label, _, _ in variants:
            r = results[label]
            lines.append(
                f"  launch, {label}: client {ms(r['median_s'])}, "
                f"server access log {r['server_side_median_ms']:.1f} ms, "
                f"over the round trips: {ms(r['median_s'] - hub_trips)}"
            )
        self.report.notes.append("\n".join(lines))

    # goal 2 ---------------------------------------------------------------------------------

    def throughput(
        self, url: str, users: list[OSUser], cap: int, seconds: float, directory: str
    ) -> dict[str, Any]:
        """`len(users)` clients, each its own user, launching back to back; bounded."""
        lock = threading.Lock()
        issued = 0
        outcomes: list[Outcome] = []
        barrier = threading.Barrier(len(users) + 1)
        stop = threading.Event()

        def client(user: OSUser) -> None:
            nonlocal issued
            s = session()
            barrier.wait()
            while not stop.is_set():
                with lock:
                    if issued >= cap:
                        return
                    issued += 1
                outcome = launch(s, url, hello_body(directory), user.auth, timeout=60)
                with lock:
                    outcomes.append(outcome)

        threads = [threading.Thread(target=client, args=(u,), daemon=True) for u in users]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        for t in threads:
            t.join(seconds + 90)
        timer.cancel()
        stop.set()
        ended = max((x.ended for x in outcomes), default=time.perf_counter())
        good = [x.seconds for x in outcomes if x.ok]
        elapsed = ended - started
        return {
            "rps": len(good) / elapsed if elapsed > 0 else 0.0,
            "ok": len(good),
            "failed": outcome_summary([x for x in outcomes if not x.ok]),
            "elapsed_s": elapsed,
            "p50_ms": median(good) * 1000,
            "p95_ms": pct(good, 0.95) * 1000,
        }

    def goal2_throughput(self) -> None:
        o = self.o
        users = self.warm_users[: o.clients]
        self.log(f"goal 2: throughput, {len(users)} clients on warm servers")

        def measure(url: str) -> dict[str, Any]:
            self.throughput(url, users, len(users) * 3, 5.0, "bench2")  # warm-up
            return self.throughput(
                url, users, o.throughput_requests, o.throughput_seconds, "bench2"
            )

        runs: dict[str, list[dict[str, Any]]] = {}
        with contextlib.nullcontext(self.shared(self.hub)) as ours:
            for _ in range(o.rounds):  # side by side: alternate, same hub, same users
                runs.setdefault(f"w{o.workers}", []).append(measure(ours.url))
                if self.original is not None:
                    runs.setdefault("original", []).append(measure(self.original.url))
        for workers in o.other_workers:
            if workers == o.workers:
                continue
            with self.running(self.launcher(self.hub, workers=workers)) as other:
                runs.setdefault(f"w{workers}", []).append(measure(other.url))
        self.report.details["goal2"] = runs

        def summary(key: str) -> tuple[float, str]:
            rps = median([r["rps"] for r in runs[key]])
            last = runs[key][-1]
            failed = "; ".join(r["failed"] for r in runs[key] if r["failed"])
            text = f"{rps:.1f} req/s (p50 {last['p50_ms']:.0f} ms, p95 {last['p95_ms']:.0f} ms)"
            return rps, text + (f" FAILED {failed}" if failed else "")

        base = summary("original") if "original" in runs else None
        for key in [f"w{o.workers}"] + [f"w{w}" for w in o.other_workers if w != o.workers]:
            if key not in runs:
                continue
            rps, text = summary(key)
            main = key == f"w{o.workers}"
            ok = not any(r["failed"] for r in runs[key])
            self.report.rows.append(
                Row(
                    f"2. throughput, {len(users)} clients, warm, -w {key[1:]}",
                    text,
                    f"original 0.2.0 (-w 4 sync): {base[1]}" if base else "original: not run",
                    rps / base[0] if base and base[0] else None,
                    ">= 2.00",
                    (ok and rps >= 2 * base[0]) if (base and main) else None,
                )
            )

    # goal 3 and 5 ---------------------------------------------------------------------------

    def cold_launches(
        self, url: str, users: list[OSUser], directory: str, timeout: float
    ) -> tuple[float, list[Outcome]]:
        """One launch per user, all fired at once; the wall time until the last answer."""
        barrier = threading.Barrier(len(users) + 1)
        outcomes: list[Outcome | None] = [None] * len(users)

        def fire(i: int, user: OSUser) -> None:
            s = session()
            body = hello_body(directory, "experiment.ipynb")
            barrier.wait()
            outcomes[i] = launch(s, url, body, user.auth, timeout=timeout)

        threads = [
            threading.Thread(target=fire, args=(i, u), daemon=True) for i, u in enumerate(users)
        ]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join(timeout + 30)
        done = [x for x in outcomes if x is not None]
        wall = max((x.ended for x in done), default=time.perf_counter()) - started
        return wall, done

    def verify_written(self, hub: Hub, outcomes: list[Outcome]) -> int:
        pattern = re.compile(r"/user/(?P<user>[^/]+)/lab/workspaces/[^/]+/tree/(?P<path>.+)$")

        def check(outcome: Outcome) -> bool:
            match = pattern.search(outcome.location)
            if not match:
                return False
            response = hub.contents(unquote(match["user"]), unquote(match["path"]), content="0")
            return response.status_code == 200 and response.json().get("type") == "notebook"

        with ThreadPoolExecutor(8) as pool:
            return sum(pool.map(check, [x for x in outcomes if x.ok]))

    def hub_alone(self, hub: Hub, users: list[OSUser], directory: str, timeout: float) -> float:
        """The same launches without the launcher's front (HTTP, Connexion, PAM): the
        launcher's own `HubClient`, in this process, one thread per user, all at once."""
        settings = Settings(
            hub_url=hub.url, hub_token=hub.token, hub_api_url=hub.api, spawn_timeout=timeout
        )
        client = HubClient(settings)
        barrier = threading.Barrier(len(users) + 1)
        ended: list[float] = []
        errors: list[str] = []
        notebook = notebooks.build("hello", {"notebook": {"directory": directory}})

        def one(user: OSUser) -> None:
            barrier.wait()
            try:
                if not client.start_server(user.name, ""):
                    client.wait_until_ready(user.name, "")
                client.make_directories(user.name, "", (directory,))
                client.write_notebook(user.name, "", (directory,), "experiment.ipynb", notebook)
                ended.append(time.perf_counter())
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(exc).__name__}: {str(exc)[:80]}")

        threads = [threading.Thread(target=one, args=(u,), daemon=True) for u in users]
        for t in threads:
            t.start()
        barrier.wait()
        started = time.perf_counter()
        for t in threads:
            t.join(timeout + 30)
        if errors:
            self.report.notes.append(f"hub alone: {len(errors)} errors: {Counter(errors)}")
        return max(ended, default=started) - started

    def goal3_cold_launches(self) -> None:
        o = self.o
        users = self.cold_users
        floor = o.spawn_delay + 3.0
        timeout = o.spawn_delay + 120
        memory: dict[str, dict[str, float]] = {}
        details: dict[str, Any] = {}
        modes = [m for m in ("pending", "blocking") if m in o.cold_modes]
        for mode in modes:
            hub = self.hub_pending if mode == "pending" else self.hub
            if hub is None:
                continue
            hub.script_path.write_text(json.dumps({"*": {"start_delay": o.spawn_delay}}))
            answer = (
                "202 at once (slow_spawn_timeout 0)"
                if mode == "pending"
                else ("201 after the spawn (default slow_spawn_timeout 10 s)")
            )
            self.log(f"goal 3: {len(users)} cold launches at once, hub answers {answer}")
            with contextlib.nullcontext(self.shared(hub)) as ours:
                sampler = RssSampler(ours.process.pid)
                sampler.sample()
                idle = dict(sampler.first)
                sampler.start()
                meter = self.cpu_meter(hub, ours).start()
                wall, outcomes = self.cold_launches(ours.url, users, f"bench3{mode}", timeout)
                cpu = meter.stop()
                peak = sampler.stop()
                offset_stats = _standin_stats(self.standin)
            self.report.notes.append(f"Goal 3 ({mode}) CPU seconds: {_cpu_text(cpu)}")
            written = self.verify_written(hub, outcomes)
            good = [x.seconds for x in outcomes if x.ok]
            failed = [x for x in outcomes if not x.ok]
            met = written == len(users) and wall <= floor
            self.report.rows.append(
                Row(
                    f"3. {len(users)} cold launches at once, spawner {o.spawn_delay:g} s, "
                    f"hub answers {'202' if mode == 'pending' else '201'}, -w {o.workers}",
                    f"{wall:.2f} s wall, {written}/{len(users)} written"
                    + (f", failed: {outcome_summary(failed)}" if failed else "")
                    + f" (median launch {median(good):.2f} s)",
                    f"floor {floor:g} s (spawner {o.spawn_delay:g} s + 3 s)",
                    wall / floor,
                    "<= 1.00",
                    met,
                )
            )
            memory[mode] = {
                "idle": {str(k): round(v, 1) for k, v in idle.items()},
                "peak": {str(k): round(v, 1) for k, v in peak.items()},
            }
            details[mode + "_cpu"] = cpu
            details[mode] = {
                "wall_s": wall,
                "written": written,
                "failed": outcome_summary(failed),
                "median_s": median(good),
                "max_s": max(good, default=float("nan")),
                "standin": offset_stats,
            }
            if o.hub_floor:
                self.log("goal 3: the same spawns and writes asked of the hub directly")
                self.stop_servers(hub, [u.name for u in users])
                meter = self.cpu_meter(hub, None).start()
                alone = self.hub_alone(hub, users, "bench3alone", timeout)
                cpu = meter.stop()
                self.report.notes.append(
                    f"Goal 3 ({mode}, hub calls only) CPU seconds: {_cpu_text(cpu)}"
                )
                details[mode + "_hub_alone_cpu"] = cpu
                details[mode + "_hub_alone_s"] = alone
                self.report.rows.append(
                    Row(
                        f"3. same {len(users)} launches, hub answers "
                        f"{'202' if mode == 'pending' else '201'}, hub calls only (the "
                        "launcher's HubClient in-process: no HTTP front, no PAM)",
                        f"{alone:.2f} s wall",
                        f"floor {floor:g} s; this project above: {wall:.2f} s",
                        wall / alone if alone else None,
                        "launcher/hub",
                    )
                )
        self.report.details["goal3"] = details
        self.report.details["goal5"] = memory
        if memory and "5" in o.scenarios:
            peaks = [v for m in memory.values() for v in m["peak"].values()]
            idles = [v for m in memory.values() for v in m["idle"].values()]
            worst = max(peaks, default=float("nan"))
            per_mode = "; ".join(
                f"{mode}: " + ", ".join(f"{v:.0f}" for v in m["peak"].values()) + " MB"
                for mode, m in memory.items()
            )
            self.report.rows.append(
                Row(
                    f"5. RSS per worker, peak during goal 3 (-w {o.workers})",
                    f"{per_mode} (idle {min(idles, default=0):.0f}-"
                    f"{max(idles, default=0):.0f} MB)",
                    f"limit {RSS_LIMIT_MB:.0f} MB per worker",
                    worst / RSS_LIMIT_MB,
                    "<= 1.00",
                    worst <= RSS_LIMIT_MB,
                )
            )

    # goal 4 ---------------------------------------------------------------------------------

    def storm(
        self,
        url: str,
        valid: OSUser,
        targets: list[OSUser],
        n_valid: int,
        attackers: int,
        directory: str,
    ) -> dict[str, Any]:
        """The valid user's launches alone, then with `attackers` failing logins in flight."""
        s = session()
        for _ in range(2):  # warm-up, as any user who launched before
            launch(s, url, hello_body(directory), valid.auth)
        idle = [launch(s, url, hello_body(directory), valid.auth) for _ in range(n_valid)]

        stop = threading.Event()
        lock = threading.Lock()
        attacks: list[Outcome] = []
        deadline = time.monotonic() + self.o.storm_seconds
        in_flight = threading.Barrier(attackers + 1)

        def attacker(i: int) -> None:
            # a different loopback address each, as different hosts; wrong passwords for
            # existing accounts, so PAM fails the slow way (pam_faildelay)
            a = session(source=f"127.0.0.{2 + i}")
            target = targets[i % len(targets)]
            in_flight.wait()
            for _ in range(500):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                wrong = (target.name, "wrong-" + secrets.token_hex(4))
                outcome = launch(a, url, hello_body(directory), wrong, timeout=30)
                with lock:
                    attacks.append(outcome)

        threads = [
            threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(attackers)
        ]
        for t in threads:
            t.start()
        in_flight.wait()
        time.sleep(0.5)  # the failing logins are in flight
        stormy: list[Outcome] = []
        for _ in range(n_valid):
            if time.monotonic() > deadline:
                break
            stormy.append(launch(s, url, hello_body(directory), valid.auth))
        stop.set()
        for t in threads:
            t.join(35)
        idle_ok = [x.seconds for x in idle if x.ok]
        storm_ok = [x.seconds for x in stormy if x.ok]
        return {
            "idle_median_s": median(idle_ok),
            "storm_median_s": median(storm_ok),
            "storm_p95_s": pct(storm_ok, 0.95),
            "valid_failed": outcome_summary([x for x in idle + stormy if not x.ok]),
            "attacks": outcome_summary(attacks),
            "n": len(storm_ok),
        }

    def goal4_login_storm(self) -> None:
        o = self.o
        valid = self.warm_users[0]
        targets = self.warm_users[1 : 1 + o.storm_attackers] or self.warm_users
        self.log(f"goal 4: login storm, {o.storm_attackers} failing logins in flight")
        results: dict[str, Any] = {}
        variants: list[tuple[str, dict[str, str]]] = [("defaults", {})]
        if o.variants:
            variants.append(
                ("LAUNCHER_LOGIN_CACHE_SECONDS=0", {"LAUNCHER_LOGIN_CACHE_SECONDS": "0"})
            )
        for label, env in variants:
            ours = self.shared(self.hub, **env)
            r = self.storm(ours.url, valid, targets, o.storm_launches, o.storm_attackers, "bench4")
            results[label] = r
            ratio = r["storm_median_s"] / r["idle_median_s"]
            self.report.rows.append(
                Row(
                    f"4. login storm ({o.storm_attackers} failing logins in flight), valid "
                    f"user's median, -w {o.workers}, {label}",
                    f"{ms(r['storm_median_s'])} (p95 {ms(r['storm_p95_s'])}, n={r['n']}"
                    + (f", valid user failed: {r['valid_failed']}" if r["valid_failed"] else "")
                    + ")",
                    f"its own idle median {ms(r['idle_median_s'])}",
                    ratio,
                    "<= 1.50",
                    ratio <= 1.5 and not r["valid_failed"],
                )
            )
            self.report.notes.append(f"Goal 4 ({label}): the failing logins got {r['attacks']}.")
        if self.original is not None:
            r = self.storm(
                self.original.url,
                valid,
                targets,
                o.original_storm_launches,
                o.storm_attackers,
                "bench4",
            )
            results["original"] = r
            self.report.rows.append(
                Row(
                    "4. login storm, the original 0.2.0 (-w 4 sync)",
                    f"{ms(r['storm_median_s'])} (n={r['n']})",
                    f"its own idle median {ms(r['idle_median_s'])}",
                    r["storm_median_s"] / r["idle_median_s"],
                )
            )
            self.report.notes.append(f"Goal 4 (original): the failing logins got {r['attacks']}.")
        self.report.details["goal4"] = results


# -- launcher log and stand-in stats ------------------------------------------------------


def _log_size(server: LauncherServer) -> int:
    return server.logfile.stat().st_size if server.logfile.exists() else 0


def _access_durations(server: LauncherServer, offset: int) -> list[float]:
    """duration_ms of the successful POST /hello lines of the access log after `offset`."""
    durations = []
    with open(server.logfile, "rb") as handle:
        handle.seek(offset)
        for raw in handle:
            line = raw.decode("utf-8", "replace")
            start = line.find('{"user"')
            if start < 0:
                continue
            try:
                entry = json.loads(line[start:])
            except ValueError:
                continue
            if entry.get("operation") == "POST /hello" and entry.get("status") == 200:
                durations.append(float(entry["duration_ms"]))
    return durations


def _cpu_text(cpu: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())


def _standin_stats(standin: StandInServer) -> dict[str, Any]:
    try:
        return requests.get(f"{standin.url}/standin/stats", timeout=5).json()
    except (requests.RequestException, ValueError):
        return {}


def run(options: Options) -> Report:
    """Start everything, run the scenarios, clean up; the report holds the table."""
    started = time.monotonic()
    with Bench(options) as bench:
        report = bench.run()
    report.details["total_seconds"] = time.monotonic() - started
    return report
