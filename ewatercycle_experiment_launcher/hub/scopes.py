"""Which scope of the launcher's token each kind of call needs; a 403 names it.

JupyterHub 6 split starting servers off `servers` as `start:servers`, which a 5.x hub
does not know (and refuses to start with); there `servers` is the one that starts them.
"""

from __future__ import annotations

from .info import major

START = "start:servers"
START_BEFORE_6 = "servers"
READ = "read:servers"
ACCESS = "access:servers"
CREATE_USER = "admin:users"

# Scopes a hub knows only from a major release on.
ADDED_IN = {START: 6}


def start_scope(hub_version: str | None) -> str | None:
    """The narrowest scope that starts servers on a hub of this version; None when the
    version is not known."""
    release = major(hub_version)
    if release is None:
        return None
    return START if release >= ADDED_IN[START] else START_BEFORE_6


def start_needs(hub_version: str | None) -> tuple[str, str]:
    """The start scope for a hub of this version, and how a problem names it: both
    names when the version is not known."""
    scope = start_scope(hub_version)
    if scope is None:
        return START, f"the '{START}' scope (JupyterHub 6+) or '{START_BEFORE_6}'"
    return scope, f"the '{scope}' scope"


def unknown_to(hub_version: str | None, scopes: list[str]) -> list[str]:
    """The scopes among `scopes` that a hub of this version does not know."""
    release = major(hub_version)
    if release is None:
        return []
    return [scope for scope in scopes if ADDED_IN.get(scope, 0) > release]
