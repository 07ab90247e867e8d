"""The original launcher 0.2.0 from PyPI, in a venv of its own, run as its pin file says:
what throughput, warm_launch and login_storm compare this project with."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import requests

from ewatercycle_experiment_launcher.localhub import free_port, start_logged, stop_process

from .options import CACHE, HERE, Log, stderr_log

PINS = HERE / "original-0.2.0-pins.txt"
ORIGINAL_SERVICE = "original-launcher"
# The original 0.2.0 only calls POST .../server and the contents API: the three scopes
# of jupyterhub_config.py.example are enough for it on warm servers. (Its own docs asked
# for `admin: True`; that is the original's requirement, not this project's.)
ORIGINAL_SCOPES = ["start:servers", "read:servers", "access:servers"]


@dataclass
class OriginalServer:
    """The original launcher 0.2.0, from its own venv, with sync gunicorn workers."""

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

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(
            JUPYTERHUB_TOKEN=self.token,
            JUPYTERHUB_URL=self.hub_url,
            PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        )
        return env

    def start(self) -> OriginalServer:
        cwd = self.workdir / "original"  # outside the repo: import the installed 0.2.0
        cwd.mkdir(exist_ok=True)
        self.logfile = self.workdir / f"original-{self.port}.log"
        self.process = start_logged(
            [
                str(self.venv / "bin" / "gunicorn"),
                *("-w", str(self.workers), "-b", f"127.0.0.1:{self.port}"),
                "ewatercycle_experiment_launcher.serve:app",
            ],
            cwd=cwd,
            env=self._env(),
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


def ensure_original_venv(venv: Path, log: Log = stderr_log) -> Path:
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
