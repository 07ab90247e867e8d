"""What the hub says about itself: its version, which decides some scope names.

The root of the hub's API answers `{"version": ...}` without a token, and every answer
of the hub carries the same in its `X-JupyterHub-Version` header.
"""

from __future__ import annotations

import requests

from ..problems import LauncherProblem
from .transport import Transport

VERSION_HEADER = "X-JupyterHub-Version"


def version_of(response: requests.Response) -> str | None:
    """The version of the hub that sent `response`, when it says."""
    return response.headers.get(VERSION_HEADER) or None


def major(version: str | None) -> int | None:
    """5 for "5.5.4"; None for no version or one that is not a release number."""
    head = (version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else None


class HubInfo:
    """Asks the hub about itself; no token is involved."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def version(self) -> str | None:
        """The hub's version, or None when it cannot be had."""
        try:
            response = self.transport.send(
                "GET",
                self.transport.urls.root(),
                "read the hub's version",
                headers={"Authorization": None},
            )
        except LauncherProblem:
            return None
        try:
            body = response.json() if response.status_code == 200 else {}
        except ValueError:
            body = {}
        version = body.get("version") if isinstance(body, dict) else None
        return str(version) if isinstance(version, str) and version else None
