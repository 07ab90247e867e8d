"""A JupyterHub on 127.0.0.1, configured from `jupyterhub_config.py.example`, and what a
person or an administrator does with it: log in, start and stop servers, read files."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from .accounts import OSUser
from .checkout import ROOT
from .hubconfig import (
    EXAMPLE_CONFIG,
    HARNESS_SCOPES,
    HARNESS_SERVICE,
    LAUNCHER_SERVICE,
    add_service,
    config_text,
    example_services,
)
from .processes import free_port, start_logged, stop_process, stop_processes_under
from .releases import CURRENT, HubRelease

SCRIPTED_SPAWNER = "ewatercycle_experiment_launcher.localhub.spawners.ScriptedSpawner"

__all__ = ["EXAMPLE_CONFIG", "HARNESS_SERVICE", "LAUNCHER_SERVICE", "SCRIPTED_SPAWNER", "Hub"]


@dataclass
class Hub:
    """A JupyterHub with PAM login and a local-process spawner, on 127.0.0.1; `release`
    is the venv the hub and its users' servers run from."""

    workdir: Path
    extra_config: str = ""
    roles_override: list[dict[str, Any]] | None = None
    # name -> scopes: more launcher-like services, e.g. with a scope left out
    extra_services: dict[str, list[str]] = field(default_factory=dict)
    example: Path = EXAMPLE_CONFIG
    release: HubRelease = CURRENT
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    harness_token: str = field(default_factory=lambda: secrets.token_hex(32))
    port: int = field(default_factory=free_port)
    # where an external launcher is to listen, so the hub knows its OAuth callback
    launcher_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def launcher_url(self) -> str:
        return f"http://127.0.0.1:{self.launcher_port}"

    @property
    def api(self) -> str:
        return f"{self.url}/hub/api"

    def write_config(self) -> Path:
        services, roles = example_services(self.token, self.example, self.url, self.launcher_url)
        if self.roles_override is not None:
            roles = self.roles_override
        self.service_tokens = {name: secrets.token_hex(32) for name in self.extra_services}
        for name, scopes in self.extra_services.items():
            add_service(services, roles, name, self.service_tokens[name], scopes)
        add_service(services, roles, HARNESS_SERVICE, self.harness_token, HARNESS_SCOPES)
        (self.workdir / "home").mkdir(parents=True, exist_ok=True)
        path = self.workdir / "jupyterhub_config.py"
        path.write_text(
            config_text(
                workdir=self.workdir,
                port=self.port,
                services=services,
                roles=roles,
                example=self.example,
                extra=self.extra_config,
                singleuser=self.release.bin / "jupyterhub-singleuser",
            )
        )
        return path

    def start(self, config: Path | None = None) -> Hub:
        """Write the config file and start the hub; `config`: start from that file."""
        config = config or self.write_config()
        env = {
            **os.environ,
            "PATH": f"{self.release.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
        }
        self.process = start_logged(
            [str(self.release.bin / "jupyterhub"), "-f", str(config)],
            cwd=self.workdir,
            env=env,
            logfile=self.workdir / "jupyterhub.log",
            ready_url=f"{self.api}/",
        )
        return self

    def stop(self) -> None:
        """Stop the hub, then whatever of its run outlived it (a user's server or kernel
        whose hub was killed before it could stop them)."""
        self._stop_hub()
        stop_processes_under(self.workdir, grace=5.0)

    def _stop_hub(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=30)
            self.process = None

    def restart(self) -> Hub:
        """SIGTERM the hub and start it again from the same config file, database and
        ports, as an upgrade does; the proxy and the users' servers outlive it when the
        config says so (an external proxy, `cleanup_servers = False`)."""
        self._stop_hub()
        return self.start(self.workdir / "jupyterhub_config.py")

    def log_text(self) -> str:
        path = self.workdir / "jupyterhub.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def login(self, user: OSUser) -> requests.Session:
        """Log in through the hub's form, as a person does once; PAM checks the password."""
        session = requests.Session()
        page = session.get(f"{self.url}/hub/login", timeout=10)
        page.raise_for_status()
        xsrf = session.cookies.get("_xsrf") or re.search(
            r'name="_xsrf" value="([^"]+)"', page.text
        ).group(1)
        response = session.post(
            f"{self.url}/hub/login",
            data={"username": user.name, "password": user.password, "_xsrf": xsrf},
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302:
            raise RuntimeError(f"hub login of {user.name} failed: {response.status_code}")
        return session

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        headers = {"Authorization": f"token {self.harness_token}"}
        return requests.request(method, f"{self.api}{path}", headers=headers, **kwargs)

    def stop_server(self, user: str) -> None:
        response = self.admin("DELETE", f"/users/{quote(user, safe='')}/server")
        if response.status_code not in (202, 204, 400):
            response.raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            model = self.admin("GET", f"/users/{quote(user, safe='')}").json()
            if "" not in (model.get("servers") or {}):
                return
            time.sleep(0.2)
        raise TimeoutError(f"server of {user} did not stop")

    def wait_until_no_spawn_pending(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            users = self.admin("GET", "/users").json()
            if not any(
                server.get("pending") == "spawn"
                for user in users
                for server in (user.get("servers") or {}).values()
            ):
                return
            time.sleep(0.2)
        raise TimeoutError("spawns still pending")

    def contents(self, user: str, path: str, server: str = "", **params: Any) -> requests.Response:
        """Read from the user's server through the proxy, as the hub's administrator."""
        server_part = f"{quote(server, safe='')}/" if server else ""
        quoted = "/".join(quote(s, safe="") for s in path.split("/"))
        return requests.get(
            f"{self.url}/user/{quote(user, safe='')}/{server_part}api/contents/{quoted}",
            headers={"Authorization": f"token {self.harness_token}"},
            params=params,
            timeout=30,
        )

    def home(self, user: str) -> Path:
        return self.workdir / "home" / user

    @property
    def script_path(self) -> Path:
        return self.workdir / "spawner-script.json"

    def script(self, user: str, **behaviour: Any) -> None:
        """Tell a `ScriptedSpawner` hub how to start and stop `user`'s servers."""
        path = self.script_path
        data = json.loads(path.read_text()) if path.exists() else {}
        data[user] = behaviour
        path.write_text(json.dumps(data))

    def scripted_config(self) -> str:
        return (
            f"c.JupyterHub.spawner_class = {SCRIPTED_SPAWNER!r}\n"
            f"c.ScriptedSpawner.script = {str(self.script_path)!r}\n"
            f"c.ScriptedSpawner.home_dir_template = '{self.workdir}/home/{{username}}'\n"
        )
