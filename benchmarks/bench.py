"""Everything a benchmark run starts, on 127.0.0.1, and its clean-up.

A real JupyterHub (the local hub of `ewatercycle_experiment_launcher.localhub`, with the
benchmark spawner `benchmarks.spawner.StandInSpawner`), the shared stand-in Jupyter
server (`benchmarks.standin_server`), this launcher as in production (gunicorn with the
uvicorn worker) and the original launcher 0.2.0 in its own venv. OS accounts are removed
at the end, also on failure or Ctrl-C. The scenarios (`benchmarks.scenarios`) use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ewatercycle_experiment_launcher.localhub import Hub, LauncherServer, OSUser

from .measure import CpuMeter, worker_pids
from .options import USER_PREFIX, Options
from .original import ORIGINAL_SCOPES, ORIGINAL_SERVICE, OriginalServer, ensure_original_venv
from .report import Report
from .standin import StandInServer

WARM = ("warm_launch", "throughput", "login_storm")  # need the warm users' servers
COLD = ("cold_launches", "memory")  # need the cold users


def benchmark_hub(workdir: Path, standin_url: str, log_level: str, pending: bool) -> Hub:
    """A local hub whose spawner points at the stand-in server; `pending`: it answers a
    start with 202 at once, as any hub does for a spawn slower than 10 s."""
    workdir.mkdir()
    hub = Hub(workdir, extra_services={ORIGINAL_SERVICE: ORIGINAL_SCOPES})
    hub.extra_config = "\n".join(
        [
            "c.JupyterHub.spawner_class = 'benchmarks.spawner.StandInSpawner'",
            f"c.StandInSpawner.script = {str(hub.script_path)!r}",
            f"c.StandInSpawner.standin_url = {standin_url!r}",
            # quieter than the default for 100 spawns; errors still show
            f"c.JupyterHub.log_level = {log_level!r}",
        ]
        + (["c.JupyterHub.tornado_settings = {'slow_spawn_timeout': 0}"] if pending else [])
    )
    hub.script_path.write_text(json.dumps({"*": {"start_delay": 0}}))
    return hub


def start_servers(hub: Hub, names: list[str], timeout: float = 180) -> None:
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


def stop_servers(hub: Hub, names: list[str]) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hub.stop_server, names))


def wait_for_workers(server: LauncherServer, timeout: float = 90) -> None:
    """gunicorn answers once its first worker is up: wait for all of them, so that no
    measurement shares the CPU with a worker still importing the application."""
    deadline = time.monotonic() + timeout
    while server.log_text().count("Application startup complete") < server.workers:
        if time.monotonic() > deadline:
            server.stop()
            raise TimeoutError("launcher workers did not start")
        time.sleep(0.1)


class Bench:
    """Owns every process and account of a run; `with Bench(options) as b:` cleans up."""

    def __init__(self, options: Options) -> None:
        self.o = options
        self.log = options.log
        self.stack = contextlib.ExitStack()
        self.users: list[OSUser] = []
        self._users_lock = threading.Lock()
        self._shared: dict[Any, LauncherServer] = {}
        self.report = Report()
        self.hub: Hub | None = None  # default slow_spawn_timeout: 201 after a spawn
        self.hub_pending: Hub | None = None  # slow_spawn_timeout 0: 202 at once
        self.original: OriginalServer | None = None
        self.original_venv: Path | None = None

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
        if os.geteuid() != 0:
            raise SystemExit(
                "run as root: the benchmark creates OS users and checks them with PAM"
            )
        self._make_workdir()
        self.stack.callback(self._remove_users)
        if not self.o.wants(*WARM, *COLD):
            return  # the soak starts what it needs itself
        self._find_original_venv()
        self.standin = StandInServer(self.workdir).start()
        self.stack.callback(self.standin.stop)
        self._make_users()
        self._start_hubs()
        self._log_in()
        if self.o.wants(*WARM):
            self._start_warm_servers()
        self._start_original()

    def _make_workdir(self) -> None:
        if self.o.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="launcher-bench-"))
            if not self.o.keep_workdir:
                self.stack.callback(shutil.rmtree, self.workdir, True)
        else:
            self.workdir = self.o.workdir
            self.workdir.mkdir(parents=True, exist_ok=True)
        self.log(f"work folder {self.workdir}")

    def _find_original_venv(self) -> None:
        o = self.o
        if not o.wants(*WARM) or o.original == "off":
            return
        if o.original == "auto":
            self.original_venv = ensure_original_venv(o.original_venv, self.log)
        elif (o.original_venv / "bin" / "gunicorn").exists():
            self.original_venv = o.original_venv
        else:
            self.log(f"no original venv at {o.original_venv}: its columns stay empty")

    def _make_users(self) -> None:
        o = self.o
        cold = o.cold_users if o.wants(*COLD) else 0
        warm = max(o.clients, o.storm_attackers + 1 if o.wants("login_storm") else 1)
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            made = list(pool.map(lambda _: self.new_user(), range(warm + cold)))
        self.warm_users, self.cold_users = made[:warm], made[warm:]
        self.log(f"{len(made)} OS users created in {time.monotonic() - started:.1f} s")

    def new_user(self) -> OSUser:
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

    def _start_hubs(self) -> None:
        def make(pending: bool) -> Hub:
            name = "hub-pending" if pending else "hub"
            return benchmark_hub(
                self.workdir / name, self.standin.url, self.o.hub_log_level, pending
            )

        hubs = [make(pending=False)]
        if self.cold_users and "pending" in self.o.cold_modes:
            hubs.append(make(pending=True))
        with ThreadPoolExecutor(len(hubs)) as pool:
            list(pool.map(lambda h: h.start(), hubs))
        for hub in hubs:
            self.stack.callback(hub.stop)
        self.hub = hubs[0]
        self.hub_pending = hubs[1] if len(hubs) > 1 else None
        self.log(f"hub(s) up: {', '.join(h.url for h in hubs)}")

    def _log_in(self) -> None:
        """Every user logs in to the hub(s) once, as a person does before launching."""
        logins = [(self.hub, u) for u in self.warm_users]
        if "blocking" in self.o.cold_modes or self.o.hub_alone:
            logins += [(self.hub, u) for u in self.cold_users]
        if self.hub_pending is not None:
            logins += [(self.hub_pending, u) for u in self.cold_users]
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda hu: hu[0].login(hu[1]), logins))
        self.log(f"{len(logins)} hub logins in {time.monotonic() - started:.1f} s")

    def _start_warm_servers(self) -> None:
        for user in self.warm_users:
            self.hub.script(user.name, start_delay=0, real=self.o.servers == "real")
        started = time.monotonic()
        start_servers(self.hub, [u.name for u in self.warm_users])
        self.log(
            f"{len(self.warm_users)} warm servers ({self.o.servers}) ready in "
            f"{time.monotonic() - started:.1f} s"
        )

    def _start_original(self) -> None:
        if self.original_venv is None:
            return
        token = self.hub.service_tokens[ORIGINAL_SERVICE]
        self.original = OriginalServer(self.original_venv, self.workdir, self.hub.url, token)
        self.original.start()
        self.stack.callback(self.original.stop)
        self.log(f"original 0.2.0 up at {self.original.url} (gunicorn -w 4, sync)")

    def launcher(self, hub: Hub, workers: int | None = None, **env: str) -> LauncherServer:
        """This launcher under gunicorn, against `hub`, with `env` on top of the run's."""
        workdir = self.workdir / f"launcher-{secrets.token_hex(3)}"
        workdir.mkdir()
        settings = {
            "JUPYTERHUB_URL": hub.url,
            "JUPYTERHUB_TOKEN": hub.token,
            "LAUNCHER_LOCK_DIR": str(self.workdir / "locks"),
            **dict(self.o.launcher_env),
            **env,
        }
        server = LauncherServer(workdir, settings, workers=workers or self.o.workers)
        server.start()
        wait_for_workers(server)
        return server

    def shared(self, hub: Hub, workers: int | None = None, **env: str) -> LauncherServer:
        """A launcher kept running for the rest of the run (as in production: long-lived)."""
        key = (id(hub), workers or self.o.workers, tuple(sorted(env.items())))
        if key not in self._shared:
            server = self.launcher(hub, workers, **env)
            self.stack.callback(server.stop)
            self._shared[key] = server
        return self._shared[key]

    @contextlib.contextmanager
    def running(self, server: LauncherServer) -> Iterator[LauncherServer]:
        try:
            yield server
        finally:
            server.stop()

    def cpu_meter(self, hub: Hub, launcher: LauncherServer | None) -> CpuMeter:
        groups: dict[str, Callable[[], list[int]]] = {
            "hub": lambda: [hub.process.pid],
            "proxy+servers": lambda: worker_pids(hub.process.pid),
            "stand-in": lambda: [self.standin.process.pid],
        }
        if launcher is not None:
            master = launcher.process.pid
            groups["launcher"] = lambda: [master, *worker_pids(master)]
        return CpuMeter(groups)
