"""The launcher's one connection to the hub: a session of its own, a timeout on every
call, and a problem instead of an exception when the hub cannot be reached."""

from __future__ import annotations

import logging
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..config import Settings
from ..problems import LauncherProblem
from .urls import HubUrls

log = logging.getLogger(__name__)


def _session(token: str) -> requests.Session:
    """Shared by every request the launcher serves, so sized for many at once."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=128, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Authorization"] = f"token {token}"
    session.trust_env = False
    # Requests for different users share this session: it must not carry cookies.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


class Transport:
    """Sends requests to the hub and through its proxy; what an answer means is up to the
    surface that asked."""

    def __init__(self, settings: Settings) -> None:
        self.urls = HubUrls(settings.hub_api_url, settings.hub_url)
        self.timeout = settings.request_timeout
        self.session = _session(settings.hub_token)

    def send(self, method: str, url: str, what: str, **kwargs: Any) -> requests.Response:
        """The hub's answer, whatever its status; `what` names the step in problems."""
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            return self.session.request(method, url, **kwargs)
        except requests.Timeout:
            raise LauncherProblem(
                "hub-timeout", f"JupyterHub did not answer in time while trying to {what}"
            ) from None
        except requests.RequestException as exc:
            log.warning("hub unreachable while trying to %s: %s", what, type(exc).__name__)
            raise LauncherProblem(
                "hub-unreachable", f"Could not connect to JupyterHub to {what}"
            ) from None
