"""Tokens on the hub: whose a caller's token is, and whether the launcher's own works."""

from __future__ import annotations

from typing import Any

import requests

from ..problems import LauncherProblem
from . import errors
from .transport import Transport


class Tokens:
    """Asks the hub who a token belongs to; no scope of the launcher's is involved."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _whoami(self, what: str, **kwargs: Any) -> requests.Response:
        response = self.transport.send("GET", self.transport.urls.token_owner(), what, **kwargs)
        return errors.check(errors.UNSCOPED_API, response, what=what)

    def identify(self, token: str) -> str | None:
        """The name of the hub user who owns `token`, or None when the hub rejects it."""
        response = self._whoami(
            "check the caller's token", headers={"Authorization": f"token {token}"}
        )
        if response.status_code in (401, 403, 404):
            return None
        if response.status_code != 200:
            raise errors.refusal(errors.IDENTIFY, response)
        model = response.json()
        if model.get("kind", "user") != "user" or not model.get("name"):
            return None
        return str(model["name"])

    def health(self) -> dict[str, Any]:
        """Whether the hub answers and accepts the launcher's token."""
        report: dict[str, Any] = {"status": "ok", "hub": "reachable", "token": "valid"}
        try:
            response = self._whoami("check health")
        except LauncherProblem as problem:
            return {"status": "unhealthy", "hub": problem.code, "token": "unknown"}
        if response.status_code in (401, 403):
            report.update(status="unhealthy", token="rejected")
        elif response.status_code != 200:
            report.update(status="unhealthy", hub=f"answered {response.status_code}")
        return report
