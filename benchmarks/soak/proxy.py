"""configurable-http-proxy run beside the hub rather than by it, as Zero to JupyterHub
runs it in a pod of its own: a hub restarted behind it finds its routes still there, and
the users' servers stay reachable while the hub is away."""

from __future__ import annotations

import os
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ewatercycle_experiment_launcher.localhub import free_port, stop_process, wait_for
from ewatercycle_experiment_launcher.localhub.hubconfig import proxy_command


@dataclass
class ExternalProxy:
    workdir: Path
    port: int  # where users and the launcher reach the hub: the hub's `port`
    hub_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(32))
    process: subprocess.Popen | None = None

    def hub_config(self) -> str:
        """The hub's config lines that point it at this proxy instead of starting one."""
        return "\n".join(
            [
                "c.ConfigurableHTTPProxy.should_start = False",
                f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.api_port}'",
                f"c.ConfigurableHTTPProxy.auth_token = {self.token!r}",
                f"c.JupyterHub.hub_port = {self.hub_port}",
            ]
        )

    def start(self) -> ExternalProxy:
        hub = f"http://127.0.0.1:{self.hub_port}"
        command = [
            proxy_command(),
            *("--ip", "127.0.0.1", "--port", str(self.port)),
            *("--api-ip", "127.0.0.1", "--api-port", str(self.api_port)),
            *("--default-target", hub, "--error-target", f"{hub}/hub/error"),
            *("--log-level", "warn"),
        ]
        with open(self.workdir / "proxy.log", "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": self.token},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        api = f"http://127.0.0.1:{self.api_port}/api/routes"
        wait_for(api, timeout=30, ok=(200, 401, 403), process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
