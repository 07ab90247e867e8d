"""One object for everything the launcher asks of the hub, grouped by the hub's own API
surfaces."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from .contents import Contents
from .info import HubInfo
from .naming import NotebookWriter
from .servers import Servers
from .tokens import Tokens
from .transport import Transport


class HubClient:
    """`servers` starts and follows users' servers, `contents` and `notebooks` write into
    them; `identify` and `health` look at tokens, `version` at the hub. Shared by every
    request."""

    def __init__(self, settings: Settings) -> None:
        self.transport = Transport(settings)
        self.servers = Servers(self.transport, settings.spawn_timeout)
        self.contents = Contents(self.transport)
        self.notebooks = NotebookWriter(self.contents, settings.leftover_age)
        self.tokens = Tokens(self.transport)
        self.info = HubInfo(self.transport)

    def identify(self, token: str) -> str | None:
        """The name of the hub user who owns `token`, or None when the hub rejects it."""
        return self.tokens.identify(token)

    def health(self) -> dict[str, Any]:
        """Whether the hub answers and accepts the launcher's token."""
        return self.tokens.health()

    def version(self) -> str | None:
        """The hub's version, from the root of its API; None when it cannot be had."""
        return self.info.version()
