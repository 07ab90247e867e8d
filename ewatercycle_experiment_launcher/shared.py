"""The Redis that replicas share (`LAUNCHER_REDIS_URL`): its clients, how long a claim on
a folder lasts, and the answer when Redis cannot be reached.

Every command has a short timeout and is tried once more on a fresh connection, so a
Redis that restarted is used again without restarting the launcher, and one that is
down costs a request seconds, not minutes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .problems import LauncherProblem

if TYPE_CHECKING:
    from redis import Redis

    from .config import Settings

TIMEOUT = 2.0
MIN_LEASE = 5.0
PREFIX = "ewatercycle-experiment-launcher:"


def errors() -> tuple[type[BaseException], ...]:
    """What a command raises when Redis cannot be reached. redis-py is loaded only by a
    launcher that has a Redis, which keeps it out of every other worker's memory."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)


def connect(url: str) -> Redis:
    """A client for the launches' claims and the health check (threads, not asyncio)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), 1),
    )


def async_options() -> dict[str, Any]:
    """The same patience for the asyncio client that counts failed logins."""
    import redis.asyncio.retry
    from redis.backoff import NoBackoff

    return {
        "socket_timeout": TIMEOUT,
        "socket_connect_timeout": TIMEOUT,
        "retry": redis.asyncio.retry.Retry(NoBackoff(), 1),
    }


def lease_seconds(settings: Settings) -> float:
    """How long a claim outlives a replica that died holding it.

    A live launch renews its claim, so the lease only has to outlast the renewals'
    own delays; one hub timeout is what a folder waits on a slow hub answer anyway.
    """
    return max(settings.request_timeout, MIN_LEASE)


def unavailable(detail: str, retry_after: float) -> LauncherProblem:
    return LauncherProblem(
        "shared-state-unavailable",
        f"{detail}; nothing was written, try again",
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))},
    )


def reachable(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except errors():
        return False
