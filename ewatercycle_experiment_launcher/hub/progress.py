"""Following a server's start through the hub's progress stream until it is ready.

The stream says why a spawn failed; the hub's model of the server says when it ended.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests

from ..problems import LauncherProblem
from . import errors, scopes
from .transport import Transport

ProgressCallback = Callable[[dict[str, Any]], None]
StateReader = Callable[[str, str], "dict[str, Any] | None"]

POLL_INTERVAL = 0.25
# The hub's keep-alive comments (every 8 s) would keep a slow stream open past the spawn
# timeout, so reads time out sooner than that and the caller looks again.
PROGRESS_READ_TIMEOUT = 5.0


def short_reason(reason: str) -> str:
    return (reason or "spawn failed")[:300]


def spawn_failed(reason: str) -> LauncherProblem:
    return LauncherProblem("spawn-failed", errors.SPAWN_FAILED.format(reason=short_reason(reason)))


def _events(response: requests.Response, deadline: float) -> Iterator[dict[str, Any]]:
    """The stream's events until the time left runs out, checked on every line."""
    for line in response.iter_lines(decode_unicode=True):
        if time.monotonic() > deadline:
            return
        if not line or not line.startswith("data:"):
            continue
        try:
            yield json.loads(line[5:])
        except ValueError:
            continue


class Progress:
    """Reads the progress stream of one server at a time, within the spawn timeout."""

    def __init__(self, transport: Transport, spawn_timeout: float, state: StateReader) -> None:
        self.transport = transport
        self.spawn_timeout = spawn_timeout
        self.state = state

    def follow(
        self, user: str, server: str, remaining: float, on_progress: ProgressCallback | None
    ) -> dict[str, Any]:
        """Read progress events until the last one; return it ({} if the stream ended)."""
        last: dict[str, Any] = {}
        what = "follow the server's start"
        read_timeout = max(0.1, min(remaining, PROGRESS_READ_TIMEOUT))
        deadline = time.monotonic() + remaining
        try:
            with self.transport.send(
                "GET",
                self.transport.urls.progress(user, server),
                what,
                stream=True,
                timeout=(self.transport.timeout, read_timeout),
            ) as response:
                errors.check(errors.SCOPED_API, response, what=what, scope=scopes.READ)
                if response.status_code != 200:
                    return last
                for event in _events(response, deadline):
                    if on_progress is not None:
                        on_progress(event)
                    last = event
                    if event.get("ready") or event.get("failed"):
                        break
        except LauncherProblem as problem:
            if problem.code != "hub-timeout":
                raise
        except requests.RequestException:
            pass  # a read timed out or the stream broke: the caller looks again
        return last

    def failure_reason(self, user: str, server: str, message: str) -> str:
        """The hub's 500 to a start rarely says why; its progress stream does."""
        try:
            event = self.follow(user, server, min(self.transport.timeout, 5.0), None)
        except LauncherProblem:
            event = {}
        return short_reason(str(event.get("message") or "") if event.get("failed") else message)

    def wait_until_ready(
        self, user: str, server: str = "", on_progress: ProgressCallback | None = None
    ) -> None:
        """Follow the stream, reconnecting as needed, until the server is ready, bounded by
        the spawn timeout."""
        deadline = time.monotonic() + self.spawn_timeout
        relay = _once_each(on_progress)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LauncherProblem(
                    "spawn-timeout",
                    f"The server did not start within {self.spawn_timeout:g} s",
                )
            event = self.follow(user, server, remaining, relay)
            if event.get("ready"):
                return
            if event.get("failed"):
                raise spawn_failed(str(event.get("message") or ""))
            state = self.state(user, server)
            if state and state.get("ready"):
                return
            if not state or not state.get("pending"):
                reason = self.failure_reason(
                    user, server, "the server stopped before it was ready"
                )
                raise spawn_failed(reason)
            time.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))


def _once_each(on_progress: ProgressCallback | None) -> ProgressCallback:
    """A reconnected stream repeats the events it already sent: pass each on once."""
    seen: set[str] = set()

    def relay(event: dict[str, Any]) -> None:
        key = json.dumps(event, sort_keys=True)
        if on_progress is not None and key not in seen:
            seen.add(key)
            on_progress(event)

    return relay
