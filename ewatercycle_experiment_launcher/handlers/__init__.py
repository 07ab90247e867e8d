"""Operation handlers, resolved from the OpenAPI spec by `operationId`.

They only read the request and hand it to the shared `Launcher`.
"""

from __future__ import annotations

from typing import Any

import connexion
from flask import current_app

from ..launch import Launcher

JSON = {"Content-Type": "application/json"}


def launch(kind: str, body: dict[str, Any], user: str) -> tuple[dict[str, str], int, dict]:
    launcher: Launcher = current_app.extensions["launcher"]
    origin = connexion.request.headers.get("origin")
    return {"location": launcher.launch(kind, body, user, origin)}, 200, JSON
