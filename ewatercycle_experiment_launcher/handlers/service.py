"""GET /health and GET /metrics: for load balancers and Prometheus, without credentials."""

from __future__ import annotations

from typing import Any

from flask import current_app

from ..launch import Launcher
from ..metrics import exposition

# The spec names this exact media type; Prometheus reads the text format from it.
METRICS_MEDIA_TYPE = "text/plain; version=0.0.4"


def health() -> Any:
    launcher: Launcher = current_app.extensions["launcher"]
    report = launcher.hub.health()
    status = 200 if report["status"] == "ok" else 503
    return report, status, {"Content-Type": "application/json"}


def metrics() -> Any:
    body, _ = exposition()
    return body, 200, {"Content-Type": METRICS_MEDIA_TYPE}
