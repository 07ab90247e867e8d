"""Failed logins, limited per user name and per client address with the `limits` library.

They are counted in each process, or in a Redis that replicas share
(`LAUNCHER_RATELIMIT_STORAGE`, else `LAUNCHER_REDIS_URL`). While that Redis cannot be
reached they are counted in the process instead, so guessing stays limited and valid
users keep logging in; the shared counts are used again as soon as Redis answers.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from . import shared
from .problems import LauncherProblem

if TYPE_CHECKING:
    from .config import Settings

log = logging.getLogger(__name__)

# Seconds between attempts at a shared storage that failed, so that a Redis that does not
# answer costs one login its timeout now and then, not every login.
RETRY_SHARED = 1.0
REDIS_SCHEMES = ("redis", "rediss", "redis+unix")


def storage_uri(settings: Settings) -> str:
    uri = settings.ratelimit_storage or settings.redis_url or "memory://"
    uri = uri.removeprefix("async+")
    return "redis+unix://" + uri.removeprefix("unix://") if uri.startswith("unix://") else uri


def _limiter(uri: str) -> MovingWindowRateLimiter:
    options: dict[str, Any] = {}
    if uri.partition("://")[0] in REDIS_SCHEMES:
        options = {"implementation": "redispy", **shared.async_options()}
    if not uri.startswith("memory://"):
        options["wrap_exceptions"] = True
    return MovingWindowRateLimiter(storage_from_string(f"async+{uri}", **options))


class FailedLogins:
    """The limits of one application, and where they are counted right now."""

    def __init__(self, settings: Settings) -> None:
        self.per_user = parse(settings.failed_login_limit_user)
        self.per_address = parse(settings.failed_login_limit_address)
        uri = storage_uri(settings)
        self.local = _limiter("memory://")
        self.shared = None if uri.startswith("memory://") else _limiter(uri)
        self._retry_at = 0.0
        self._down = False

    async def _call(self, method: str, *args: Any) -> Any:
        if self.shared is not None and time.monotonic() >= self._retry_at:
            try:
                result = await getattr(self.shared, method)(*args)
            except (StorageError, *shared.errors()) as error:
                self._retry_at = time.monotonic() + RETRY_SHARED
                if not self._down:
                    self._down = True
                    log.warning(
                        "failed logins are counted per process: their shared storage failed (%s)",
                        type(error).__name__,
                    )
            else:
                if self._down:
                    self._down = False
                    log.warning("failed logins are counted in their shared storage again")
                return result
        return await getattr(self.local, method)(*args)

    def _scopes(self, name: str, address: str) -> tuple[tuple[RateLimitItem, str, str], ...]:
        return ((self.per_user, "user", name), (self.per_address, "address", address))

    async def refuse_if_limited(self, name: str, address: str) -> None:
        """429 `too-many-failed-logins` when the user name or the address is past its
        limit."""
        for limit, scope, key in self._scopes(name, address):
            if not await self._call("test", limit, "failed-login", scope, key):
                stats = await self._call("get_window_stats", limit, "failed-login", scope, key)
                retry_after = max(1, int(stats.reset_time - time.time()) + 1)
                raise LauncherProblem(
                    "too-many-failed-logins",
                    f"Too many failed logins for this {scope}; try again in {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                )

    async def record(self, name: str, address: str) -> None:
        for limit, scope, key in self._scopes(name, address):
            await self._call("hit", limit, "failed-login", scope, key)
