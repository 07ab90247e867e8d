"""Prometheus metrics, named as JupyterHub names its own (`*_total`, `*_seconds`).

Under gunicorn (or `uvicorn --workers`) the workers keep their values in files of one
folder (`workers.pool_metrics` names it in PROMETHEUS_MULTIPROC_DIR), so that `/metrics`
adds up every worker, past and present, whichever answers. The process metrics, which
would describe only the one that answers, are then left out.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

PREFIX = "experiment_launcher"
_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, float("inf"))

LAUNCHES = Counter(
    f"{PREFIX}_launches",
    "Launches by notebook kind and outcome (success, or the problem's code)",
    ["kind", "outcome"],
)
LAUNCH_DURATION = Histogram(
    f"{PREFIX}_launch_duration_seconds",
    "Time from an accepted request to its answer",
    ["kind", "outcome"],
    buckets=_SECONDS,
)
SPAWN_WAIT = Histogram(
    f"{PREFIX}_spawn_wait_duration_seconds",
    "Time spent waiting for a user's server to become ready",
    buckets=_SECONDS,
)
UPSTREAM_ERRORS = Counter(
    f"{PREFIX}_upstream_errors",
    "Failures of JupyterHub or of users' servers, by problem code",
    ["type"],
)

UPSTREAM_CODES = frozenset(
    {
        "hub-unreachable",
        "hub-error",
        "hub-permission",
        "hub-timeout",
        "spawn-failed",
        "spawn-timeout",
        "spawn-limit",
        "server-gone",
        "upload-failed",
    }
)


def exposition() -> tuple[bytes, str]:
    """The metrics in the Prometheus text format, and its media type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
