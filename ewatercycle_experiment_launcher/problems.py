"""The problem types the launcher answers with, each with a stable code.

Clients branch on `code` (also the last part of `type`), so codes never change meaning;
`detail` is for people and never carries a URL of the hub, the token or a stack trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connexion.exceptions import ProblemException

TYPE_PREFIX = "urn:ewatercycle:experiment-launcher:problem:"

# code: (status, title)
CATALOGUE: dict[str, tuple[int, str]] = {
    "invalid-path": (400, "Invalid notebook path"),
    "invalid-setup": (400, "Unusable experiment setup"),
    "invalid-body": (400, "Unreadable request body"),
    "missing-origin": (400, "Origin header required"),
    "server-refused": (400, "JupyterHub refused the server"),
    "unauthorized": (401, "Unauthorized"),
    "user-not-on-hub": (409, "User unknown to the hub"),
    "no-free-name": (409, "No free file name"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "spawn-limit": (429, "Too many servers starting"),
    "too-many-failed-logins": (429, "Too many failed logins"),
    "hub-unreachable": (502, "JupyterHub unreachable"),
    "hub-error": (502, "JupyterHub error"),
    "hub-permission": (502, "Launcher lacks a permission on the hub"),
    "spawn-failed": (502, "Server failed to start"),
    "server-gone": (502, "Server stopped during the launch"),
    "upload-failed": (502, "Notebook upload failed"),
    "shared-state-unavailable": (503, "Shared state unavailable"),
    "hub-timeout": (504, "JupyterHub did not answer in time"),
    "spawn-timeout": (504, "Server did not start in time"),
}


class LauncherProblem(ProblemException):
    """A failure with a catalogued code; the status and title come from the catalogue."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **ext: Any,
    ) -> None:
        status, title = CATALOGUE[code]
        super().__init__(
            status=status,
            title=title,
            detail=detail,
            type=TYPE_PREFIX + code,
            headers=dict(headers or {}),
            ext={"code": code, **ext},
        )
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def problem_document(problem: ProblemException) -> dict[str, Any]:
    """The problem as the JSON document a client reads, wherever it is sent."""
    return {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **(problem.ext or {}),
    }
