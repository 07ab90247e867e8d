"""Folders and files in a user's server, through the hub's proxy and the server's
contents API."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import requests

from . import errors, scopes
from .transport import Transport


class Contents:
    """Each call names its step, so a server that went away is told from a refusal."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def _call(
        self,
        method: str,
        user: str,
        server: str,
        segments: Sequence[str],
        what: str,
        **kwargs: Any,
    ) -> requests.Response:
        url = self.transport.urls.contents(user, server, segments)
        response = self.transport.send(method, url, what, **kwargs)
        return errors.check(errors.CONTENTS, response, what=what, scope=scopes.ACCESS)

    def make_directories(self, user: str, server: str, directory: tuple[str, ...]) -> None:
        """Create each level in turn: the contents API does not create parents."""
        for depth in range(1, len(directory) + 1):
            level = directory[:depth]
            folder = "/".join(level)
            response = self._call(
                "PUT",
                user,
                server,
                level,
                f"create the folder '{folder}'",
                json={"type": "directory"},
            )
            if response.status_code not in (200, 201) and not self.is_directory(
                user, server, level
            ):
                raise errors.refusal(errors.FOLDER, response, folder=folder)

    def is_directory(self, user: str, server: str, segments: tuple[str, ...]) -> bool:
        """Whether a folder exists; a concurrent launch may have just created it."""
        response = self._call(
            "GET", user, server, segments, "look at a folder", params={"content": "0"}
        )
        return response.status_code == 200 and response.json().get("type") == "directory"

    def put_notebook(
        self, user: str, server: str, segments: tuple[str, ...], model: dict[str, Any]
    ) -> dict[str, Any]:
        """Create or replace: the contents API's PUT never refuses an existing file. The
        answer is the file's model, with the time by the server's clock."""
        response = self._call("PUT", user, server, segments, "write the notebook", json=model)
        if response.status_code not in (200, 201):
            raise errors.refusal(errors.WRITE, response)
        return _model(response)

    def list_folder(
        self, user: str, server: str, directory: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        """The models of a folder's entries; empty when the answer has none."""
        response = self._call("GET", user, server, directory, "look into a folder")
        entries = _model(response).get("content") if response.status_code == 200 else None
        if not isinstance(entries, list):
            return []
        return [entry for entry in entries if isinstance(entry, dict)]

    def rename(self, user: str, server: str, source: tuple[str, ...], target: str) -> bool:
        """Move a file onto `target`; False when that name is taken (a rename never
        replaces a file)."""
        response = self._call(
            "PATCH", user, server, source, "name the notebook", json={"path": target}
        )
        if response.status_code == 409:
            return False
        if response.status_code != 200:
            raise errors.refusal(errors.RENAME, response)
        return True

    def delete(self, user: str, server: str, segments: tuple[str, ...]) -> None:
        self._call("DELETE", user, server, segments, "remove a temporary file")


def _model(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
