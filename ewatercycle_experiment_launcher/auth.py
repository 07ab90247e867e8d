"""Who is calling: HTTP Basic checked with PAM, or the caller's own JupyterHub token.

Connexion calls the module-level functions named in the spec's security schemes with the
request, whose state holds the application's `Authenticator`. They run on its event
loop, so every blocking check (PAM, the hub) runs in threads of its own. PAM runs a few
checks at a time (each is ~35 ms of CPU and ~16 MiB for the password hash), and
the ~3 s delay PAM puts on a failure is waited out on the event loop, holding neither a
PAM slot nor a thread that serves everyone else.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import pam
from connexion.exceptions import OAuthProblem
from connexion.security import NO_VALUE

from .failedlogins import FailedLogins
from .state import app_state, record_user

if TYPE_CHECKING:
    from .config import Settings
    from .hub import HubClient

log = logging.getLogger(__name__)

HUB_THREADS = 32
CACHE_LIMIT = 10_000


def normalize_username(username: str) -> str:
    """Lower-case the name as JupyterHub does at login, so Alice and alice are one user."""
    return username.strip().lower()


PAM_FAIL_DELAY = 10  # pam_set_item's item type, from <security/_pam_types.h>
_DELAY_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p)


def pam_check(username: str, password: str, service: str = "login") -> tuple[bool, float]:
    """Authenticate and run account management, so expired or locked accounts fail too.

    Returns whether it passed and, when it did not, the failure delay PAM asks for:
    libpam reports it to a callback instead of sleeping in this thread, so the caller can
    wait it out without holding a PAM slot. A fresh PAM handle per check: python-pam
    keeps state on the object, which must not be shared between threads.
    """
    handle = pam.pam()
    delay = 0.0

    @_DELAY_CALLBACK
    def on_delay(_status: int, usec: int, _appdata: int) -> None:
        nonlocal delay
        delay = usec / 1e6

    authenticate = handle.pam_authenticate

    def authenticate_reporting_delay(pamh: Any, flags: int) -> int:
        handle.pam_set_item(pamh, PAM_FAIL_DELAY, ctypes.cast(on_delay, ctypes.c_void_p))
        return authenticate(pamh, flags)

    handle.pam_authenticate = authenticate_reporting_delay
    try:
        ok = handle.authenticate(username, password, service=service, resetcreds=False)
    except ValueError:  # a NUL byte in the name or password
        return False, 0.0
    if not ok:
        log.info("PAM refused %r: %s", username, handle.reason)
    return bool(ok), 0.0 if ok else delay


def _utf8(password: str) -> str:
    """Undo the latin-1 decoding of the Basic header, so UTF-8 passwords work."""
    try:
        return password.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return password


class _ExpiringCache:
    """Remembers a verified credential for a short while, under a keyed hash of it, so
    that neither a password nor a token is ever kept."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, tuple[float, str]] = {}

    def _digest(self, *parts: str) -> bytes:
        return hmac.new(self._key, "\0".join(parts).encode("utf-8"), hashlib.sha256).digest()

    def get(self, *parts: str) -> str | None:
        entry = self._entries.get(self._digest(*parts))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, value: str, *parts: str) -> None:
        if self.seconds <= 0:
            return
        now = time.monotonic()
        if len(self._entries) >= CACHE_LIMIT:
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            if len(self._entries) >= CACHE_LIMIT:
                self._entries.clear()
        self._entries[self._digest(*parts)] = (now + self.seconds, value)


class _Turns:
    """At most `size` checks at a time per key, so that guesses sent at once are counted
    one after the other instead of all passing the limit before the first has failed."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def __call__(self, key: str) -> AsyncIterator[None]:
        semaphore, waiting = self._slots.get(key) or (asyncio.Semaphore(self.size), 0)
        self._slots[key] = (semaphore, waiting + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, waiting = self._slots[key]
            if waiting == 1:
                del self._slots[key]
            else:
                self._slots[key] = (semaphore, waiting - 1)


class Authenticator:
    """The checks, their caches and the failed-login limits of one application."""

    def __init__(self, settings: Settings, hub: HubClient) -> None:
        self.settings = settings
        self.hub = hub
        self.logins = _ExpiringCache(settings.login_cache_seconds)
        self.tokens = _ExpiringCache(settings.token_cache_seconds)
        self.failed_logins = FailedLogins(settings)
        self._per_user_turns = _Turns(1)
        self._pam_slots: anyio.CapacityLimiter | None = None
        self._pam_threads: anyio.CapacityLimiter | None = None
        self._hub_threads: anyio.CapacityLimiter | None = None

    async def basic(self, username: str, password: str, address: str) -> dict[str, Any] | None:
        if "pam" not in self.settings.auth_methods:
            raise OAuthProblem(
                detail="Basic authentication is not enabled here: use a JupyterHub token"
            )
        name = normalize_username(username)
        password = _utf8(password)
        if not name or not password:
            return None
        if self.logins.get(name, password):
            return {"sub": name}
        await self.failed_logins.refuse_if_limited(name, address)
        # One check at a time per name; not per address, where valid users would queue
        # behind failing ones. The limits are looked at again in a PAM slot, so the
        # address limit is overshot by at most the slots of each worker.
        if self._pam_slots is None:
            self._pam_slots = anyio.CapacityLimiter(self.settings.pam_concurrency)
            self._pam_threads = anyio.CapacityLimiter(self.settings.pam_concurrency)
        async with self._per_user_turns(name):
            if self.logins.get(name, password):
                return {"sub": name}
            async with self._pam_slots:
                await self.failed_logins.refuse_if_limited(name, address)
                ok, delay = await anyio.to_thread.run_sync(
                    pam_check,
                    name,
                    password,
                    self.settings.pam_service,
                    limiter=self._pam_threads,
                )
                if not ok:
                    await self.failed_logins.record(name, address)
        if not ok:
            await anyio.sleep(delay)
            return None
        self.logins.put(name, name, password)
        return {"sub": name}

    async def token(self, token: str) -> dict[str, Any] | None:
        if "token" not in self.settings.auth_methods or not token:
            return NO_VALUE
        name = self.tokens.get(token)
        if name is None:
            if self._hub_threads is None:
                self._hub_threads = anyio.CapacityLimiter(HUB_THREADS)
            name = await anyio.to_thread.run_sync(
                self.hub.identify, token, limiter=self._hub_threads
            )
            if name is None:
                return None
            self.tokens.put(name, token)
        return {"sub": name}


def _address(request: Any) -> str:
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def _identified(request: Any, info: Any) -> Any:
    """Records who passed, for the access log; hands Connexion the answer unchanged."""
    if isinstance(info, dict):
        record_user(request, info["sub"])
    return info


async def basic_auth(username: str, password: str, request: Any) -> dict | None:
    """`x-basicInfoFunc` of the spec."""
    authenticator = app_state(request).authenticator
    return _identified(request, await authenticator.basic(username, password, _address(request)))


async def hub_token(apikey: str, request: Any, required_scopes: Any = None) -> dict | None:
    """`x-apikeyInfoFunc`: the Authorization header as `token <JupyterHub API token>`."""
    scheme, _, token = (apikey or "").partition(" ")
    if scheme.lower() != "token":
        return NO_VALUE
    return _identified(request, await app_state(request).authenticator.token(token.strip()))


async def bearer_token(token: str, request: Any, required_scopes: Any = None) -> dict | None:
    """`x-bearerInfoFunc`: the same JupyterHub token as `Bearer <token>`."""
    return _identified(request, await app_state(request).authenticator.token(token.strip()))
