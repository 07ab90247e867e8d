"""Checks that a requested notebook location stays inside the user's own file tree.

Values are refused rather than repaired: a path that needs cleaning is a path whose
meaning the caller and the launcher might not agree on.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from .problems import LauncherProblem

MAX_SEGMENT_BYTES = 255
MAX_DEPTH = 32
# Characters that change a URL's meaning, or a path's on some server, even when quoted.
_FORBIDDEN = set("\\?#%")


def _reason(segment: str) -> str | None:
    if not is_text(segment):
        return "is not valid Unicode text (a lone surrogate)"
    if segment == "":
        return "has an empty segment (leading, trailing or doubled '/')"
    folded = unicodedata.normalize("NFKC", segment)
    if folded in (".", ".."):
        return f"has a {folded!r} segment"
    if folded.startswith("."):
        return "has a hidden (dot) name"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in segment):
        return "contains a control character"
    bad = sorted({ch for ch in segment + folded if ch in _FORBIDDEN or ch == "/"})
    if bad:
        return f"contains {''.join(bad)!r}"
    if segment != segment.strip():
        return "has a segment that starts or ends with white space"
    if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
        return f"has a segment longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def is_text(value: str) -> bool:
    """False for strings JSON can carry but UTF-8 cannot (lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse(field: str, reason: str) -> LauncherProblem:
    return LauncherProblem("invalid-path", f"notebook.{field} {reason}", field=f"notebook.{field}")


def check_directory(directory: str) -> tuple[str, ...]:
    segments = tuple(directory.split("/"))
    if directory.startswith("/"):
        raise _refuse("directory", "must be relative to the user's home, not start with '/'")
    if len(segments) > MAX_DEPTH:
        raise _refuse("directory", f"is deeper than {MAX_DEPTH} levels")
    for segment in segments:
        reason = _reason(segment)
        if reason:
            raise _refuse("directory", reason)
    return segments


def check_name(field: str, value: str) -> str:
    reason = _reason(value)
    if reason is None and "/" in value:
        reason = "must not contain '/'"
    if reason:
        raise _refuse(field, reason)
    return value


@dataclass(frozen=True)
class NotebookTarget:
    """Where a notebook goes, already checked."""

    directory: tuple[str, ...]
    filename: str
    workspace: str
    overwrite: bool = False
    server: str = ""

    @classmethod
    def from_request(cls, notebook: dict[str, Any]) -> NotebookTarget:
        directory = check_directory(notebook["directory"])
        filename = check_name("filename", notebook.get("filename", "experiment.ipynb"))
        if not filename.endswith(".ipynb") or filename == ".ipynb":
            raise _refuse("filename", "must end in '.ipynb'")
        workspace = notebook.get("workspace")
        workspace = (
            secrets.token_hex(16) if workspace is None else check_name("workspace", workspace)
        )
        server = notebook.get("server") or ""
        if server:
            check_name("server", server)
        return cls(directory, filename, workspace, bool(notebook.get("overwrite", False)), server)
