"""The launcher as an OAuth client of the hub, with JupyterHub's own `HubOAuth`.

`HubOAuth` makes the authorization URL and PKCE challenge, trades the code for a token
and asks the hub whose token it is. What it would keep in process memory between the
redirect and the callback (state, PKCE verifier, where to go next) is kept in the
signed session cookie instead, so any worker or replica can finish a login another
started. Where to go next is never taken from a request: it is a launch page of this
launcher, rebuilt from the operation and query saved in the session.

JupyterHub (with Tornado, SQLAlchemy and traitlets) costs a worker some 50 MB: it is
imported on the first login or page, so a worker that only serves the API never loads it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import request, session
from starlette.requests import Request

from ..config import Settings
from ..problems import LauncherProblem
from ..state import record_user

if TYPE_CHECKING:
    from jupyterhub.services.auth import HubOAuth

log = logging.getLogger(__name__)

TOKEN = "hub_oauth_token"
PENDING = "hub_oauth_pending"


def _record(name: str) -> None:
    """The session's user for the access log, as the API's security functions record
    theirs: in the ASGI request's state, which a2wsgi (threads.py) passes on to Flask."""
    scope = request.environ.get("asgi.scope")
    if scope is not None:
        record_user(Request(scope), name)


class LoginFailed(Exception):
    """The hub's answer to a login could not be accepted; the message is for people."""


def service_name(client_id: str) -> str:
    return client_id.removeprefix("service-")


def callback_url(settings: Settings) -> str:
    return settings.oauth_callback_url or f"{settings.base_path.rstrip('/')}/oauth_callback"


def public_is_https(settings: Settings) -> bool:
    """Whether browsers reach the launcher over https: its callback URL says so, or, when
    the hub's proxy serves it, the hub's public URL."""
    callback = urlsplit(callback_url(settings))
    return (callback.scheme or urlsplit(settings.public_url).scheme) == "https"


def _fresh_connections() -> None:
    """Have HubOAuth's HTTP client (JupyterHub 6) open a connection per request.

    The hub's proxy closes idle keep-alive connections after a few seconds; the client
    would send the next login's token request on such a closed connection and fail. Its
    documented `connector_options` turn the pooling off; the shared instance must be made
    on an event loop, and the client's instances for other loops take its options.
    """
    try:
        from jupyterhub.httpclient import JupyterHubHTTPClient
    except ImportError:  # JupyterHub 5: a client that does not keep connections
        return
    if JupyterHubHTTPClient.initialized():
        return

    async def make() -> None:
        JupyterHubHTTPClient.instance(connector_options={"force_close": True})

    with ThreadPoolExecutor(1) as thread:  # whether or not this thread runs a loop
        thread.submit(asyncio.run, make()).result()


class HubLogin:
    """Who the browser's session belongs to, as the hub says."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._making = threading.Lock()

    @cached_property
    def auth(self) -> HubOAuth:
        """JupyterHub's client, made (and JupyterHub imported) on first use."""
        with self._making:
            if "auth" in self.__dict__:  # another thread made it while this one waited
                return self.__dict__["auth"]
            from jupyterhub.services.auth import HubOAuth

            _fresh_connections()
            settings = self.settings
            name = service_name(settings.oauth_client_id)
            return HubOAuth(
                api_token=settings.hub_token,
                api_url=settings.hub_api_url,
                base_url=settings.base_path,
                oauth_client_id=settings.oauth_client_id,
                oauth_redirect_uri=callback_url(settings),
                oauth_authorization_url=f"{settings.public_url}/hub/api/oauth2/authorize",
                access_scopes={f"access:services!service={name}"},
                cache_max_age=60,
            )

    def login_url(self, operation: str | None, query: str) -> str:
        """Where to send a browser to log in; it comes back to `operation`'s page."""
        from tornado.httputil import url_concat

        verifier, challenge, method = self.auth.generate_pkce_code_challenge()
        state = secrets.token_urlsafe(16)
        session[PENDING] = {
            "state": state,
            "verifier": verifier,
            "operation": operation,
            "query": query,
        }
        return url_concat(
            self.auth.login_url,
            {"state": state, "code_challenge": challenge, "code_challenge_method": method},
        )

    def finish(self, args: Any) -> tuple[str | None, str]:
        """Complete the login the hub sent back; the (operation, query) to return to."""
        pending = session.pop(PENDING, None)
        if args.get("error"):
            raise LoginFailed(args.get("error_description") or args["error"])
        if not pending or not secrets.compare_digest(str(args.get("state", "")), pending["state"]):
            raise LoginFailed("This login was not started here, or has expired: try again")
        code = args.get("code")
        if not code:
            raise LoginFailed("The hub sent no authorization code")
        token = self._call(self.auth.token_for_code, code, code_verifier=pending["verifier"])
        if self._user(token) is None:
            raise LoginFailed("The hub did not confirm who you are")
        session.clear()  # a new session for the new user: a fresh CSRF token too
        session[TOKEN] = token
        return pending["operation"], pending["query"]

    def user(self) -> str | None:
        """The hub user of this session, or None when it has none or it is no longer valid."""
        token = session.get(TOKEN)
        if not token:
            return None
        name = self._user(token)
        if name is None:
            session.pop(TOKEN, None)
        return name

    def _user(self, token: str) -> str | None:
        from jupyterhub.services.auth import check_scopes

        model = self._call(self.auth.user_for_token, token)
        if not model or not check_scopes(self.auth.access_scopes, set(model.get("scopes", ()))):
            return None
        _record(model["name"])
        return model["name"]

    @staticmethod
    def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
        """HubOAuth's errors name the hub's internal URLs: people get a problem instead."""
        from tornado.web import HTTPError

        try:
            return function(*args, **kwargs)
        except HTTPError as error:
            log.warning("login with the hub failed: %s", error.log_message)
            raise LauncherProblem(
                "hub-error", "JupyterHub could not confirm the login; try again later"
            ) from None
        except OSError:
            raise LauncherProblem(
                "hub-unreachable", "The launcher could not reach JupyterHub to check the login"
            ) from None
