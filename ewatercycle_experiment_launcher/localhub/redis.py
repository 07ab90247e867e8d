"""A Redis for launchers that stand in for replicas: Debian's `redis-server` on
127.0.0.1, keeping nothing on disk, so that a restart forgets everything as a Redis
without persistence does. It can be stopped and started again on the same port."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .processes import free_port, stop_process

if TYPE_CHECKING:
    import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@dataclass
class RedisServer:
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        import redis  # not in the venvs of other hub releases, which import this package

        return redis.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)

    def start(self, timeout: float = 30.0) -> RedisServer:
        from redis import RedisError

        command = [
            REDIS_SERVER,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        with open(self.workdir / f"redis-{self.port}.log", "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                if self.client().ping():
                    return self
            except RedisError:
                time.sleep(0.05)
        raise TimeoutError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def uptime(self) -> int:
        return int(self.client().info("server")["uptime_in_seconds"])
