"""Everything the soak starts, on 127.0.0.1, and the faults it does to them.

Its own JupyterHub with the `ScriptedSpawner` (real `jupyterhub-singleuser` servers;
cold starts wait a scripted delay first), behind a proxy of its own (`ExternalProxy`)
and with `cleanup_servers = False`, so that a hub restarted as an upgrade restarts it
leaves the proxy and the users' servers running; the launcher as in production (gunicorn,
the uvicorn worker, 2 workers, the production graceful timeout); OS accounts for PAM.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

from ewatercycle_experiment_launcher.localhub import Hub, LauncherServer, OSUser

from ..bench import Bench, start_servers, stop_servers
from ..measure import worker_pids
from .proxy import ExternalProxy

GRACEFUL_TIMEOUT = 360  # as `serve` and the README's gunicorn line: spawn + 2 hub timeouts
BOOTED = "Application startup complete"


class SoakSite:
    def __init__(self, bench: Bench, cold_delay: float, leftover_age: float) -> None:
        self.bench, self.log = bench, bench.log
        self.workdir = bench.workdir / "soak"
        self.workdir.mkdir()
        self.cold_delay, self.leftover_age = cold_delay, leftover_age
        self.stack = contextlib.ExitStack()

    def __enter__(self) -> SoakSite:
        try:
            self._start()
        except BaseException:
            self.stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    def _start(self) -> None:
        self.warm = [self.bench.new_user() for _ in range(2)]
        self.cold = [self.bench.new_user() for _ in range(3)]
        self.target = self.bench.new_user()  # the failing logins' account
        self.hub = Hub(self.workdir / "hub")
        self.hub.workdir.mkdir()
        self.proxy = ExternalProxy(self.workdir, self.hub.port)
        self.hub.extra_config = "\n".join(
            [
                self.hub.scripted_config(),
                self.proxy.hub_config(),
                "c.JupyterHub.cleanup_servers = False",
                f"c.JupyterHub.log_level = {self.bench.o.hub_log_level!r}",
            ]
        )
        self.stack.callback(kill_orphans, self.hub.workdir / "home")
        self.proxy.start()
        self.stack.callback(self.proxy.stop)
        self.script(self.cold_delay)
        self.hub.start()
        self.stack.callback(self.hub.stop)
        self.stack.callback(self._stop_all_servers)
        for user in self.warm + self.cold:
            self.hub.login(user)
        start_servers(self.hub, [u.name for u in self.warm])
        self.launcher = self._new_launcher()
        self.stack.callback(lambda: self.launcher.stop())
        self.log(f"soak: hub {self.hub.url}, launcher {self.launcher.url}")

    def script(self, cold_delay: float) -> None:
        behaviour = {u.name: {"start_delay": 0} for u in self.warm}
        behaviour["*"] = {"start_delay": cold_delay}
        self.hub.script_path.write_text(json.dumps(behaviour))

    def _new_launcher(self) -> LauncherServer:
        settings = {
            "JUPYTERHUB_URL": self.hub.url,
            "JUPYTERHUB_TOKEN": self.hub.token,
            "LAUNCHER_LOCK_DIR": str(self.workdir / "locks"),
            "LAUNCHER_LEFTOVER_AGE": f"{self.leftover_age:g}",
            **dict(self.bench.o.launcher_env),
        }
        server = LauncherServer(
            self.workdir, settings, workers=2, graceful_timeout=GRACEFUL_TIMEOUT
        )
        server.start()
        self._wait_booted(server, server.workers)
        return server

    def _wait_booted(self, server: LauncherServer, count: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while server.log_text().count(BOOTED) < count:
            if time.monotonic() > deadline:
                raise TimeoutError("launcher workers did not start")
            time.sleep(0.1)

    def workers(self) -> list[int]:
        process = self.launcher.process
        return worker_pids(process.pid) if process is not None else []

    def restart_hub(self) -> None:
        """SIGTERM the hub and start it again on the same ports and database."""
        self.hub.restart()

    def kill_worker(self) -> int:
        """SIGKILL one worker; return once gunicorn has a new one booted."""
        booted = self.launcher.log_text().count(BOOTED)
        victim = self.workers()[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while victim in self.workers() or len(self.workers()) < self.launcher.workers:
            if time.monotonic() > deadline:
                raise TimeoutError("gunicorn did not replace the killed worker")
            time.sleep(0.05)
        self._wait_booted(self.launcher, booted + 1)
        return victim

    def stop_launcher(self) -> int | None:
        """SIGTERM, as a supervisor stops it; the launches in flight finish first."""
        process = self.launcher.process
        process.send_signal(signal.SIGTERM)
        code = process.wait(GRACEFUL_TIMEOUT + 30)
        self.launcher.stop()  # nothing left of its process group
        return code

    def start_launcher(self) -> None:
        booted = self.launcher.log_text().count(BOOTED)
        self.launcher.start()  # the same port
        self._wait_booted(self.launcher, booted + self.launcher.workers)

    def start_servers(self, users: list[OSUser]) -> None:
        start_servers(self.hub, [u.name for u in users])

    def make_cold(self, user: OSUser) -> None:
        self.hub.stop_server(user.name)

    def _stop_all_servers(self) -> None:
        try:
            stop_servers(self.hub, [u.name for u in self.warm + self.cold])
        except Exception as exc:  # noqa: BLE001 - kill_orphans ends what is left
            self.log(f"soak: stopping servers through the hub failed: {exc}")

    def warm_server_pids(self) -> set[int]:
        """The processes of the warm users' servers, to tell whether they outlive a hub
        restart."""
        homes = {str(self.hub.home(u.name)) for u in self.warm}
        return {
            pid for pid, cwd in _servers_under(self.hub.workdir / "home").items() if cwd in homes
        }


def kill_orphans(home: Path) -> None:
    """End the users' servers still running from `home` (by their own process ids), in
    case a hub went away without stopping them."""
    for pid in _servers_under(home):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _servers_under(home: Path) -> dict[int, str]:
    """pid -> working folder of the `jupyterhub-singleuser` processes in `home`."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if cwd.startswith(str(home)) and b"jupyterhub-singleuser" in cmdline:
            found[int(entry)] = cwd
    return found
