"""Which tests need root, told by the fixture definitions they use, never by names.

Starting a JupyterHub (it spawns servers as other users) and creating OS accounts for
PAM need root. The fixtures that do so are decorated with `needs_root`; a test gets the
`needs_root` marker when a fixture definition it runs carries it, directly or through
other fixtures. A module's own fixture that merely shares such a name (a `hub` made of
requests-mock) is its own definition, so it is not mistaken for the real one. A test or
module may also be marked `needs_root` outright.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

MARKER = "needs_root"
REASON = "needs root: starts a JupyterHub or creates OS users checked with PAM"

F = TypeVar("F", bound=Callable[..., Any])


def needs_root(fixture_function: F) -> F:
    """Declares that a fixture needs root; goes under `@pytest.fixture`."""
    fixture_function.needs_root = True  # type: ignore[attr-defined]
    return fixture_function


def _definitions_run(item: pytest.Item) -> Iterator[Any]:
    """The nearest definition of every fixture the test uses, and the outer ones an
    overriding fixture asks for under its own name."""
    name2fixturedefs = item._fixtureinfo.name2fixturedefs
    for name in item.fixturenames:
        for definition in reversed(name2fixturedefs.get(name, ())):
            yield definition
            if name not in definition.argnames:
                break


def uses_root_fixture(item: pytest.Item) -> bool:
    return any(getattr(d.func, "needs_root", False) for d in _definitions_run(item))


def is_root() -> bool:
    return os.geteuid() == 0


def root_is_required() -> bool:
    """Under CI a test that needs root must not pass by being skipped."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")
