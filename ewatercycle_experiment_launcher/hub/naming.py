"""Writing a notebook under the first free name, never over an existing file.

The notebook is first written under a unique temporary name and then renamed onto the
first free numbered name: a rename never replaces an existing file, so neither a user's
notebook nor a concurrent launch can be overwritten. A launch also clears the folder of
temporary notebooks that killed launches left (see `temporary`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from ..problems import LauncherProblem
from .contents import Contents
from .temporary import Leftovers, temporary_name

log = logging.getLogger(__name__)

MAX_FREE_NAME_TRIES = 100


def numbered(filename: str) -> Iterator[str]:
    """experiment.ipynb, experiment-1.ipynb, experiment-2.ipynb, ..."""
    stem, dot, ext = filename.rpartition(".")
    yield filename
    for n in range(1, MAX_FREE_NAME_TRIES):
        yield f"{stem}-{n}{dot}{ext}"


class NotebookWriter:
    """Puts notebooks into users' servers under names nobody else holds."""

    def __init__(self, contents: Contents, leftover_age: float) -> None:
        self.contents = contents
        self.leftovers = Leftovers(contents, leftover_age)

    def write(
        self,
        user: str,
        server: str,
        directory: tuple[str, ...],
        filename: str,
        notebook: dict[str, Any],
        *,
        overwrite: bool = False,
    ) -> str:
        """Write the notebook and return the file name actually used."""
        model = {"type": "notebook", "format": "json", "content": notebook}
        if overwrite:
            written = self.contents.put_notebook(user, server, (*directory, filename), model)
            self.leftovers.sweep(user, server, directory, written)
            return filename
        temporary = (*directory, temporary_name(filename))
        written = self.contents.put_notebook(user, server, temporary, model)
        try:
            name = self._rename_onto_free_name(user, server, temporary, filename)
        except BaseException:
            self._discard(user, server, temporary)
            raise
        if name is None:
            self._discard(user, server, temporary)
            raise LauncherProblem(
                "no-free-name",
                f"'{filename}' and its {MAX_FREE_NAME_TRIES - 1} numbered variants all exist "
                "in that folder; choose another filename or directory",
            )
        self.leftovers.sweep(user, server, directory, written)
        return name

    def _rename_onto_free_name(
        self, user: str, server: str, temporary: tuple[str, ...], filename: str
    ) -> str | None:
        directory = temporary[:-1]
        for candidate in numbered(filename):
            if self.contents.rename(user, server, temporary, "/".join((*directory, candidate))):
                return candidate
        return None

    def _discard(self, user: str, server: str, segments: tuple[str, ...]) -> None:
        try:
            self.contents.delete(user, server, segments)
        except LauncherProblem as problem:
            log.warning("could not remove a temporary notebook: %s", problem.code)
