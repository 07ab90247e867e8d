"""Operation handlers, resolved from the OpenAPI spec's `operationId`s by `operations`.

They only read the request and hand it to the application's `Launcher`. The `Accept` header
chooses the answer: the location (JSON), the launch as server-sent events, or only the
notebook that would be launched (`application/x-ipynb+json`, nothing sent to the hub).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import connexion
from flask import Response, stream_with_context

from ..events import MEDIA_TYPE, launch_events, wants_events
from ..problems import LauncherProblem
from ..state import app_state

JSON = {"Content-Type": "application/json"}
NOTEBOOK = "application/x-ipynb+json"


def launch(kind: str, body: dict[str, Any], user: str) -> Any:
    launcher = app_state(connexion.request).launcher
    headers = connexion.request.headers
    if not isinstance(body, dict):
        # Connexion validates JSON bodies only; anything else arrives here unread.
        raise LauncherProblem(
            "unsupported-media-type", "The request body must be JSON (application/json)"
        )
    if NOTEBOOK in (headers.get("accept") or ""):
        filename, notebook = launcher.preview(kind, body)
        return (
            notebook,
            200,
            {
                "Content-Type": NOTEBOOK,
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            },
        )
    plan = launcher.prepare(kind, body, user, headers.get("origin"))
    if wants_events(headers.get("accept")):
        return Response(
            stream_with_context(launch_events(launcher, plan)),
            mimetype=MEDIA_TYPE,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return {"location": launcher.run(plan)}, 200, JSON
