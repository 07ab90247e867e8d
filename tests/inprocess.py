"""The application built in this process with a stand-in hub: no hub, no PAM, no root."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Any

from ewatercycle_experiment_launcher.app import create_app
from ewatercycle_experiment_launcher.config import Settings
from ewatercycle_experiment_launcher.launch import Launcher

# Nothing listens on the discard port: a request that reached the hub would fail.
HUB_ENV = {"JUPYTERHUB_URL": "http://127.0.0.1:9", "JUPYTERHUB_TOKEN": "e3" * 16}
HELLO = {"notebook": {"directory": "experiments"}}
PREVIEW = {"Accept": "application/x-ipynb+json"}
HEALTHY = {"status": "ok", "hub": "reachable", "token": "valid"}


class StubHub:
    """Answers `identify` from a table of tokens and `health` with `health_check`,
    counting the tokens it was asked about."""

    def __init__(
        self,
        tokens: dict[str, str] | None = None,
        health_check: Callable[[], dict[str, Any]] = lambda: dict(HEALTHY),
    ) -> None:
        self.tokens = tokens or {}
        self.health_check = health_check
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def identify(self, token: str) -> str | None:
        with self._lock:
            self.asked.append(token)
        return self.tokens.get(token)

    def health(self) -> dict[str, Any]:
        return self.health_check()


def make_app(hub: StubHub | None = None, **env: str) -> Any:
    settings = Settings.from_env({**HUB_ENV, **env})
    return create_app(settings, Launcher(settings, hub or StubHub()))


def basic(name: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def preview(client: Any, headers: dict[str, str]) -> Any:
    """A launch that stops before the hub: only the notebook is built."""
    return client.post("/hello", json=HELLO, headers={**PREVIEW, **headers})
