"""GET /health and GET /metrics: for load balancers and Prometheus, without credentials."""

from __future__ import annotations

from typing import Any

import connexion

from ..metrics import exposition
from ..state import app_state

# The spec names this exact media type; Prometheus reads the text format from it.
METRICS_MEDIA_TYPE = "text/plain; version=0.0.4"


def health() -> Any:
    """Unhealthy also when the shared Redis is down: no launch can take its turn then."""
    launcher = app_state(connexion.request).launcher
    report = launcher.hub.health()
    redis = launcher.folders.health()
    if redis is not None:
        report["redis"] = redis
        if redis != "reachable":
            report["status"] = "unhealthy"
    status = 200 if report["status"] == "ok" else 503
    return report, status, {"Content-Type": "application/json"}


def metrics() -> Any:
    body, _ = exposition()
    return body, 200, {"Content-Type": METRICS_MEDIA_TYPE}
