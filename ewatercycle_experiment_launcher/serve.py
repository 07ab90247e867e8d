"""The ASGI application for production servers.

`gunicorn -k ewatercycle_experiment_launcher.gunicornworker.UvicornWorker \
    ewatercycle_experiment_launcher.serve:app`

Each worker pools its metrics with its siblings' before prometheus_client is imported,
and a setting that is missing or wrong stops the whole server with one line: the worker
exits with gunicorn's boot-error status, on which the master stops instead of starting
new workers that would fail alike.
"""

from __future__ import annotations

import sys
import time

from . import workers
from .config import ConfigError, Settings

STOPPED_WITHIN = 30.0


def _settings() -> Settings:
    folder = None
    try:
        folder = workers.shared_folder()
        workers.pool_metrics(folder)
        return Settings.from_env()
    except ConfigError as error:
        if workers.first_to_report(folder):
            print(f"ewatercycle-experiment-launcher: {error}", file=sys.stderr)
        else:
            # A sibling's exit already stops the master; a second boot-error exit while it
            # stops trips gunicorn into a traceback, so wait to be stopped instead.
            time.sleep(STOPPED_WITHIN)
        raise SystemExit(workers.failed_start_status()) from None


settings = _settings()

from .app import create_app  # noqa: E402  (only once the settings are known to be good)

app = create_app(settings)
