"""POST /opendap."""

from __future__ import annotations

from typing import Any

from . import launch


def post(body: dict[str, Any], user: str) -> tuple[dict[str, str], int, dict]:
    return launch("opendap", body, user)
