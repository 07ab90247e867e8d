"""Launches that write into the same folder take turns at choosing a free name.

The contents API has no exclusive create: its rename checks that the target is free and
then moves, so two renames onto one name can both pass the check. One host serialises
them with a lock file per (user, server, folder), across its worker processes. Replicas
share a Redis instead (`LAUNCHER_REDIS_URL`), where the turn is a lease (redis-py's
`Lock`): renewed while the launch runs, lapsing one lease after a replica died holding
it. The turn is taken before anything is written, so when Redis cannot be reached the
launch answers `shared-state-unavailable` having written nothing.

A Redis restarted without its data has forgotten the leases it held; launches that may
still be renaming under them finish within a lease, so no lease is granted until Redis
has been up that long.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from . import shared

if TYPE_CHECKING:
    from redis import Redis
    from redis.lock import Lock

    from .config import Settings

log = logging.getLogger(__name__)

POLL = 0.02


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


@contextmanager
def folder_lock(lock_dir: Path, *parts: str) -> Iterator[None]:
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(lock_dir / f"{_key(*parts)}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lease_name(*parts: str) -> str:
    """The Redis key of the lease on (user, server, *folder)."""
    return f"{shared.PREFIX}folder:{_key(*parts)}"


class _Renewal(threading.Thread):
    """Renews a lease every third of its life until stopped, so that only a replica
    that died lets it lapse."""

    def __init__(self, lock: Lock, seconds: float) -> None:
        super().__init__(name="lease-renewal", daemon=True)
        self.lock = lock
        self.every = seconds / 3
        self.done = threading.Event()
        self.start()

    def run(self) -> None:
        from redis.exceptions import LockNotOwnedError

        while not self.done.wait(self.every):
            try:
                self.lock.reacquire()
            except shared.errors() as error:
                if self.done.is_set():
                    return
                if isinstance(error, LockNotOwnedError):
                    log.warning("a launch lost its turn at a folder: Redis forgot the lease")
                    return
                log.warning("could not renew a turn at a folder: %s", type(error).__name__)


def _give_back(lock: Lock) -> None:
    """The launch is done either way; a lease that cannot be given back lapses."""
    try:
        lock.release()
    except shared.errors() as error:
        log.warning("could not give back a turn at a folder: %s", type(error).__name__)


class FolderClaims:
    """Turns at folders for the launches of one application."""

    def __init__(self, settings: Settings) -> None:
        self.lock_dir = settings.lock_dir
        self.lease = shared.lease_seconds(settings)
        self.patience = settings.spawn_timeout
        self.redis = shared.connect(settings.redis_url) if settings.redis_url else None

    @contextmanager
    def hold(self, *parts: str) -> Iterator[None]:
        """The turn at the folder `parts` (user, server, *folder) for the `with` block."""
        if self.redis is None:
            with folder_lock(self.lock_dir, *parts):
                yield
            return
        lock = self._take(self.redis, lease_name(*parts))
        renewal = _Renewal(lock, self.lease)
        try:
            yield
        finally:
            renewal.done.set()
            _give_back(lock)

    def _take(self, client: Redis, name: str) -> Lock:
        lock = client.lock(
            name,
            timeout=self.lease,
            sleep=POLL,
            blocking_timeout=self.patience,
            thread_local=False,
        )
        try:
            if not lock.acquire():
                raise shared.unavailable(
                    f"Launches into that folder did not get their turn in {self.patience:g} s",
                    self.lease,
                )
            uptime = client.info("server")["uptime_in_seconds"]
        except shared.errors():
            raise shared.unavailable("The launcher cannot reach its shared Redis", 5) from None
        if uptime < self.lease:
            _give_back(lock)
            raise shared.unavailable(
                f"The launcher's shared Redis restarted {uptime} s ago", self.lease - uptime
            )
        return lock

    def health(self) -> str | None:
        """`reachable` or `unreachable` with a shared Redis; None without one."""
        if self.redis is None:
            return None
        return "reachable" if shared.reachable(self.redis) else "unreachable"
