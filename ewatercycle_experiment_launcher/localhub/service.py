"""The launcher as in production, gunicorn with the uvicorn worker, serving this
working tree on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from ..cli import KEEP_ALIVE_SECONDS, WORKER_CLASS
from .checkout import BIN, ROOT
from .processes import free_port, start_logged, stop_process


@dataclass
class LauncherServer:
    """The launcher as in production: gunicorn with the uvicorn worker."""

    workdir: Path
    env: dict[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    graceful_timeout: float = 5.0  # gunicorn's, after SIGTERM
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
                WORKER_CLASS,
                "-w",
                str(self.workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "--graceful-timeout",
                f"{self.graceful_timeout:g}",
                "--keep-alive",
                str(KEEP_ALIVE_SECONDS),
                "--no-control-socket",
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

    def post(
        self, path: str, body: Any, auth: tuple[str, str] | None, **kwargs: Any
    ) -> requests.Response:
        """POST as a client would; the answer is also kept in `responses.log`, for the test
        suite's scan for leaked secrets."""
        kwargs.setdefault("timeout", 120)
        response = requests.post(f"{self.url}{path}", json=body, auth=auth, **kwargs)
        if not kwargs.get("stream"):
            with open(self.workdir / "responses.log", "a", encoding="utf-8") as log:
                headers = "".join(f"{k}: {v}\n" for k, v in response.headers.items())
                log.write(f"{response.status_code} POST {path}\n{headers}{response.text}\n")
        return response
