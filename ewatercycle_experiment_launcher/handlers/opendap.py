"""POST /opendap."""

from __future__ import annotations

from typing import Any

from . import launch


def post(body: dict[str, Any], user: str) -> Any:
    return launch("opendap", body, user)
