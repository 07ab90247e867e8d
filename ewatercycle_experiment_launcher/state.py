"""The state of one application, reached by its security functions and its handlers alike.

A middleware puts it into every request's Starlette `state` (`scope["state"]`): Connexion
hands that to the spec's security functions as `request.state` and to the handlers as
`connexion.request.state`. The authenticated user is recorded there too, for the access
log. Nothing lives in module globals, so two applications in one process never share
caches, limits or a hub client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from .auth import Authenticator
    from .config import Settings
    from .launch import Launcher

APP = "launcher_app"
USER = "user"


@dataclass(frozen=True)
class AppState:
    settings: Settings
    launcher: Launcher
    authenticator: Authenticator


class StateMiddleware:
    """Gives every request a `state` of its own that holds the application's state."""

    def __init__(self, app: ASGIApp, *, state: AppState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["state"] = {**scope.get("state", {}), APP: self.state}
        await self.app(scope, receive, send)


def app_state(request: Any) -> AppState:
    """The state of the application serving `request` (a Starlette or Connexion request)."""
    state = getattr(request.state, APP, None)
    if state is None:
        raise RuntimeError("the request has no application state; build the app with create_app()")
    return state


def record_user(request: Any, name: str) -> None:
    setattr(request.state, USER, name)


def recorded_user(scope: Scope) -> str | None:
    return scope.get("state", {}).get(USER)
