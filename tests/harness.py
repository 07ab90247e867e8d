"""Real parts for the tests: OS accounts checked by PAM, a JupyterHub with its proxy, and
the launcher served by gunicorn, all on 127.0.0.1.

The hub registers the launcher with exactly the services and roles of
`jupyterhub_config.py.example`; the tests' own service (to read files back and stop
servers) is separate, so the launcher's scopes are the ones under test.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EXAMPLE_CONFIG = ROOT / "jupyterhub_config.py.example"
LAUNCHER_SERVICE = "experiment-launcher"
HARNESS_SERVICE = "test-harness"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 60.0, ok=(200,), process=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was up")
        try:
            if requests.get(url, timeout=2, allow_redirects=False).status_code in ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up in {timeout} s")


def proxy_command() -> str:
    local = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    found = str(local) if local.exists() else shutil.which("configurable-http-proxy")
    if not found:
        raise RuntimeError(
            "configurable-http-proxy is not installed: run `make test` (it runs npm ci)"
        )
    return found


def start_logged(
    command: list[str], *, cwd: Path, env: dict[str, str], logfile: Path, ready_url: str
) -> subprocess.Popen:
    """Start a server in a session of its own, its output in `logfile`; wait until it
    answers at `ready_url`."""
    with open(logfile, "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for(ready_url, timeout=60, process=process)
    return process


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL the whole process group, so nothing outlives a test run."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:
        process.wait(5)


@dataclass
class OSUser:
    """A real account on this host, with a password that PAM checks."""

    name: str
    password: str

    @classmethod
    def create(cls, prefix: str = "elt") -> OSUser:
        name = f"{prefix}{secrets.token_hex(4)}"
        password = "pw-" + secrets.token_urlsafe(12)
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/bin/false", name],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["chpasswd"], input=f"{name}:{password}\n", text=True, check=True, capture_output=True
        )
        return cls(name, password)

    def remove(self) -> None:
        subprocess.run(["userdel", "--force", self.name], capture_output=True)

    @property
    def auth(self) -> tuple[str, str]:
        return (self.name, self.password)


def load_example(example: Path = EXAMPLE_CONFIG) -> Any:
    return PyFileConfigLoader(example.name, path=str(example.parent)).load_config()


def example_services(
    token: str, example: Path = EXAMPLE_CONFIG, hub_url: str = ""
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The services and roles of an example config, with `token` as the launcher's, and
    the addresses in it moved to free ports of this test run."""
    config = load_example(example)
    services = [dict(s) for s in config.JupyterHub.services]
    for service in services:
        if service["name"] == LAUNCHER_SERVICE:
            service["api_token"] = token
            if "url" in service:
                service["url"] = f"http://127.0.0.1:{free_port()}"
            if "JUPYTERHUB_INTERNAL_URL" in service.get("environment", {}):
                service["environment"] = {
                    **service["environment"],
                    "JUPYTERHUB_INTERNAL_URL": hub_url,
                }
    return services, [dict(r) for r in config.JupyterHub.load_roles]


@dataclass
class Hub:
    """A JupyterHub with PAM login and a local-process spawner, on 127.0.0.1."""

    workdir: Path
    extra_config: str = ""
    roles_override: list[dict[str, Any]] | None = None
    # name -> scopes: more launcher-like services, e.g. with a scope left out
    extra_services: dict[str, list[str]] = field(default_factory=dict)
    example: Path = EXAMPLE_CONFIG
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    harness_token: str = field(default_factory=lambda: secrets.token_hex(32))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/hub/api"

    def write_config(self) -> Path:
        services, roles = example_services(self.token, self.example, self.url)
        if self.roles_override is not None:
            roles = self.roles_override
        services.append({"name": HARNESS_SERVICE, "api_token": self.harness_token})
        self.service_tokens = {}
        for name, scopes in self.extra_services.items():
            self.service_tokens[name] = secrets.token_hex(32)
            services.append({"name": name, "api_token": self.service_tokens[name]})
            roles.append({"name": name, "scopes": scopes, "services": [name]})
        roles.append(
            {
                "name": HARNESS_SERVICE,
                "scopes": ["admin:users", "admin:servers", "access:servers", "tokens"],
                "services": [HARNESS_SERVICE],
            }
        )
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        lines = [
            "c.JupyterHub.ip = '127.0.0.1'",
            f"c.JupyterHub.port = {self.port}",
            "c.JupyterHub.hub_ip = '127.0.0.1'",
            f"c.JupyterHub.hub_port = {free_port()}",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'",
            f"c.ConfigurableHTTPProxy.command = [{proxy_command()!r}]",
            f"c.JupyterHub.db_url = 'sqlite:///{self.workdir}/jupyterhub.sqlite'",
            f"c.JupyterHub.cookie_secret_file = '{self.workdir}/cookie_secret'",
            "c.JupyterHub.cleanup_servers = True",
            "c.JupyterHub.authenticator_class = 'pam'",
            "c.Authenticator.allow_all = True",
            "c.JupyterHub.spawner_class = 'simple'",
            f"c.SimpleLocalProcessSpawner.home_dir_template = '{home}/{{username}}'",
            f"c.Spawner.cmd = [{str(BIN / 'jupyterhub-singleuser')!r}]",
            "c.Spawner.args = ['--allow-root']",
            "c.Spawner.start_timeout = 120",
            "c.Spawner.http_timeout = 120",
            "c.JupyterHub.trust_user_provided_tokens = "
            f"{bool(load_example(self.example).JupyterHub.get('trust_user_provided_tokens'))}",
            f"c.JupyterHub.services = {json.dumps(services)}",
            f"c.JupyterHub.load_roles = {json.dumps(roles)}",
            self.extra_config,
        ]
        path = self.workdir / "jupyterhub_config.py"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> Hub:
        config = self.write_config()
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
        }
        self.process = start_logged(
            [str(BIN / "jupyterhub"), "-f", str(config)],
            cwd=self.workdir,
            env=env,
            logfile=self.workdir / "jupyterhub.log",
            ready_url=f"{self.api}/",
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=30)
            self.process = None

    def log_text(self) -> str:
        path = self.workdir / "jupyterhub.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- what a person or an administrator does ---------------------------------------

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
        """Read from the user's server through the proxy, as the tests' own service."""
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
            "c.JupyterHub.spawner_class = 'tests.hub_spawners.ScriptedSpawner'\n"
            f"c.ScriptedSpawner.script = {str(self.script_path)!r}\n"
            f"c.ScriptedSpawner.home_dir_template = '{self.workdir}/home/{{username}}'\n"
        )


@dataclass
class LauncherServer:
    """The launcher as in production: gunicorn with the uvicorn worker."""

    workdir: Path
    env: dict[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        base = self.env.get("BASE_PATH", "/").rstrip("/")
        return f"http://127.0.0.1:{self.port}{base}"

    def start(self) -> LauncherServer:
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT)}
        self.logfile = self.workdir / f"launcher-{self.port}.log"
        self.process = start_logged(
            [
                str(BIN / "gunicorn"),
                "-k",
                "uvicorn_worker.UvicornWorker",
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                "5",
                "ewatercycle_experiment_launcher.serve:app",
            ],
            cwd=self.workdir,
            env=env,
            logfile=self.logfile,
            ready_url=f"{self.url}/openapi.json",
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def log_text(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def post(self, path: str, body: Any, auth: tuple[str, str] | None, **kwargs: Any):
        """POST as a client would; the answer is also kept for the suite's leak scan."""
        kwargs.setdefault("timeout", 120)
        response = requests.post(f"{self.url}{path}", json=body, auth=auth, **kwargs)
        if not kwargs.get("stream"):
            with open(self.workdir / "responses.log", "a", encoding="utf-8") as log:
                headers = "".join(f"{k}: {v}\n" for k, v in response.headers.items())
                log.write(f"{response.status_code} POST {path}\n{headers}{response.text}\n")
        return response
