"""Launches that write into the same folder take turns at choosing a free name.

The contents API has no exclusive create: its rename checks that the target is free and
then moves, so two renames onto one name can both pass the check. A lock file per
(user, server, folder) serialises them across every worker process on the host.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def folder_lock(lock_dir: Path, *parts: str) -> Iterator[None]:
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
    with open(lock_dir / f"{key}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
