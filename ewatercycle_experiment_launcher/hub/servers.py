"""Users' servers on the hub: start one, make a user known, read a server's state."""

from __future__ import annotations

import time
from typing import Any

import requests

from ..problems import LauncherProblem
from . import errors, messages, scopes
from .info import version_of
from .progress import POLL_INTERVAL, Progress, ProgressCallback
from .transport import Transport

# A start answered with one of these is not a problem: ready now, or starting.
STARTED = {201: True, 202: False}


class Servers:
    """The hub's servers API, as the launcher's token may use it."""

    def __init__(self, transport: Transport, spawn_timeout: float) -> None:
        self.transport = transport
        self.urls = transport.urls
        self.spawn_timeout = spawn_timeout
        self.progress = Progress(transport, spawn_timeout, self.state)

    def _api(self, method: str, url: str, what: str, scope: str) -> requests.Response:
        response = self.transport.send(method, url, what)
        return errors.check(errors.SCOPED_API, response, what=what, scope=scope)

    def start(self, user: str, server: str = "") -> bool:
        """Ask for the server; True when it is ready now, False while it is starting."""
        deadline = time.monotonic() + self.spawn_timeout
        what = "start the server"
        while True:
            response = self.transport.send("POST", self.urls.server(user, server), what)
            if response.status_code in STARTED:
                return STARTED[response.status_code]
            answer = messages.start_answer(response)
            if answer == messages.ALREADY_RUNNING:
                return True
            if answer != messages.PENDING_STOP:
                raise self._refused(user, server, response)
            if time.monotonic() > deadline:
                raise LauncherProblem(
                    "spawn-timeout", "The server was still stopping when the wait ended"
                )
            time.sleep(POLL_INTERVAL)

    def _refused(self, user: str, server: str, response: requests.Response) -> LauncherProblem:
        scope, needs = scopes.start_needs(version_of(response))
        fields = {"user": user, "what": "start the server", "scope": scope, "needs": needs}
        if errors.code_for(errors.START, response) == "spawn-failed":
            message = errors.hub_message(response)
            fields["reason"] = self.progress.failure_reason(user, server, message)
        return errors.refusal(errors.START, response, **fields)

    def wait_until_ready(
        self, user: str, server: str = "", on_progress: ProgressCallback | None = None
    ) -> None:
        """Follow the server's start until it is ready; see `Progress.wait_until_ready`."""
        self.progress.wait_until_ready(user, server, on_progress)

    def create_user(self, user: str) -> None:
        """Make the user known to the hub; needs the `admin:users` scope."""
        response = self._api(
            "POST", self.urls.user(user), "create the user on JupyterHub", scopes.CREATE_USER
        )
        if response.status_code not in (201, 409):
            raise errors.refusal(errors.CREATE_USER, response)

    def state(self, user: str, server: str = "") -> dict[str, Any] | None:
        """The hub's model of one server, or None when the user has no such server."""
        response = self._api("GET", self.urls.user(user), "read the server's state", scopes.READ)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise errors.refusal(errors.READ_USER, response)
        return (response.json().get("servers") or {}).get(server)
