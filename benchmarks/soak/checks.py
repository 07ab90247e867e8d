"""The soak's checks at the end, file by file through the hub's proxy and the users'
servers' contents API, with the hub's own administrator token (never the launcher's).

Every location answered must hold a notebook with that launch's own marker (the OPeNDAP
URL in it): a missing file is lost, one with another marker replaced. Leftover temporary
notebooks (`*.launching-*`) are counted in every folder launched into, before and after
one more launch into each.
"""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

from ewatercycle_experiment_launcher.hub.temporary import is_temporary
from ewatercycle_experiment_launcher.localhub import Hub

from .records import ABANDONED, LAUNCHES, NOTEBOOK, Record

LOCATION = re.compile(r"/user/(?P<user>[^/]+)/lab/workspaces/[^/]+/tree/(?P<path>.+)$")
FOUND, LOST, REPLACED, UNREADABLE = "found", "lost", "replaced", "unreadable"


def where(record: Record) -> tuple[str, str]:
    """The user and path a launch answered with (an abandoned one: the path it asked)."""
    if record.result == ABANDONED:
        return record.user, f"{record.directory}/{record.filename}"
    match = LOCATION.search(record.location)
    if not match:
        return record.user, ""
    return unquote(match["user"]), unquote(match["path"])


def judge(hub: Hub, record: Record) -> str:
    record.verdict = _verdict(hub, record)
    return record.verdict


def _verdict(hub: Hub, record: Record) -> str:
    user, path = where(record)
    if not path or user != record.user:
        return UNREADABLE
    response = hub.contents(user, path)
    if response.status_code == 404:
        return LOST
    if response.status_code != 200:
        return UNREADABLE
    return FOUND if record.marker in response.text else REPLACED


def notebooks(hub: Hub, records: list[Record]) -> Counter:
    """Every launch answered with a notebook, read back: found, lost, replaced."""
    answered = [r for r in records if r.result == NOTEBOOK and r.location]
    with ThreadPoolExecutor(4) as pool:
        return Counter(pool.map(lambda r: judge(hub, r), answered))


def abandoned(hub: Hub, records: list[Record]) -> Counter:
    """The launches whose event streams were abandoned: their notebooks written anyway?"""
    with ThreadPoolExecutor(4) as pool:
        return Counter(
            pool.map(lambda r: judge(hub, r), [r for r in records if r.result == ABANDONED])
        )


def folders(records: list[Record]) -> list[tuple[str, str]]:
    return sorted({(r.user, r.directory) for r in records if r.kind in LAUNCHES})


def temporaries(hub: Hub, folder: tuple[str, str]) -> int:
    user, directory = folder
    response = hub.contents(user, directory)
    if response.status_code == 404:
        return 0
    response.raise_for_status()
    return sum(1 for child in response.json()["content"] if is_temporary(child["name"]))


def leftovers(hub: Hub, every: list[tuple[str, str]]) -> int:
    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(lambda f: temporaries(hub, f), every))
