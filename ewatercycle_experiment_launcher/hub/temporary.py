"""Temporary notebooks: how they are named, and removing the ones a killed launcher left.

A launch writes its notebook as `experiment.launching-<16 hex digits>.ipynb` and renames
it at once; only a launcher killed between the two leaves such a file behind. A later
launch into the folder removes the ones older than `age` by the clock of the user's
server (the time it gave the file that launch just wrote, never the launcher's clock),
so never one that a launch in flight may still rename. A folder is listed at most once
per `age` per process, so nearly every launch skips the listing.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from datetime import datetime, timezone
from typing import Any

from ..problems import LauncherProblem
from .contents import Contents

log = logging.getLogger(__name__)

TEMPORARY = re.compile(r".+\.launching-[0-9a-f]{16}\.ipynb")
# Folders remembered at once; past this, those due for a look anyway are forgotten.
REMEMBERED = 10_000
Folder = tuple[str, str, tuple[str, ...]]


def temporary_name(filename: str) -> str:
    """Still a notebook to the contents API and JupyterLab, and says what it is for."""
    return f"{filename[: -len('.ipynb')]}.launching-{secrets.token_hex(8)}.ipynb"


def is_temporary(name: Any) -> bool:
    return isinstance(name, str) and TEMPORARY.fullmatch(name) is not None


def server_time(model: dict[str, Any]) -> datetime | None:
    """The `last_modified` of a contents model, as the user's server's clock gave it."""
    try:
        moment = datetime.fromisoformat(str(model["last_modified"]))
    except (KeyError, TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Leftovers:
    """Removes leftover temporary notebooks from the folders launches write into."""

    def __init__(self, contents: Contents, age: float) -> None:
        self.contents = contents
        self.age = age
        self._due: dict[Folder, float] = {}
        self._lock = threading.Lock()

    def sweep(self, user: str, server: str, directory: tuple[str, ...], written: Any) -> None:
        """Look into the folder if it is due; `written` is the model of the file this
        launch wrote there. Nothing here can fail a launch."""
        now = server_time(written) if isinstance(written, dict) else None
        folder = (user, server, directory)
        if now is None or not self._claim(folder):
            return
        try:
            children = self.contents.list_folder(user, server, directory)
        except LauncherProblem as problem:
            log.warning("could not look for leftover temporary notebooks: %s", problem.code)
            return
        wait = self.age
        for child in children:
            modified = server_time(child)
            if not is_temporary(child.get("name")) or modified is None:
                continue
            age = (now - modified).total_seconds()
            if age > self.age:
                self._remove(user, server, (*directory, child["name"]))
            else:
                wait = min(wait, self.age - age + 1.0)
        with self._lock:
            self._due[folder] = time.monotonic() + wait

    def _claim(self, folder: Folder) -> bool:
        """Whether this launch looks into the folder now; concurrent ones do not."""
        now = time.monotonic()
        with self._lock:
            if self._due.get(folder, now) > now:
                return False
            if len(self._due) >= REMEMBERED:
                self._due = {key: due for key, due in self._due.items() if due > now}
                if len(self._due) >= REMEMBERED:
                    self._due.clear()
            self._due[folder] = now + self.age
            return True

    def _remove(self, user: str, server: str, segments: tuple[str, ...]) -> None:
        try:
            self.contents.delete(user, server, segments)
        except LauncherProblem as problem:
            log.warning("could not remove a leftover temporary notebook: %s", problem.code)
            return
        log.info("removed a temporary notebook left by an interrupted launch for %s", user)
