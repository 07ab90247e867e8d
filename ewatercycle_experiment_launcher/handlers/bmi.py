"""POST /bmi."""

from __future__ import annotations

from typing import Any

from . import launch


def post(body: dict[str, Any], user: str) -> Any:
    return launch("bmi", body, user)
