"""The stand-in Jupyter server (`benchmarks.standin_server`) as a process of the run."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from ewatercycle_experiment_launcher.localhub import free_port, start_logged, stop_process

from .options import ROOT


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

    def stats(self) -> dict[str, Any]:
        try:
            return requests.get(f"{self.url}/standin/stats", timeout=5).json()
        except (requests.RequestException, ValueError):
            return {}
