"""Where each of the hub's API surfaces lives; every path segment is quoted."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote


def quoted(segment: str) -> str:
    return quote(segment, safe="")


class HubUrls:
    """The hub's REST API and, through its proxy, the contents API of a user's server."""

    def __init__(self, api_url: str, proxy_url: str) -> None:
        self.api_url = api_url
        self.proxy_url = proxy_url

    def root(self) -> str:
        return f"{self.api_url}/"

    def token_owner(self) -> str:
        return f"{self.api_url}/user"

    def user(self, user: str) -> str:
        return f"{self.api_url}/users/{quoted(user)}"

    def server(self, user: str, server: str = "") -> str:
        base = self.user(user)
        return f"{base}/servers/{quoted(server)}" if server else f"{base}/server"

    def progress(self, user: str, server: str = "") -> str:
        return f"{self.server(user, server)}/progress"

    def contents(self, user: str, server: str, segments: Sequence[str]) -> str:
        prefix = f"{self.proxy_url}/user/{quoted(user)}/"
        if server:
            prefix += f"{quoted(server)}/"
        return prefix + "api/contents/" + "/".join(quoted(s) for s in segments)
