"""The ASGI application for production servers.

`gunicorn -k uvicorn_worker.UvicornWorker ewatercycle_experiment_launcher.serve:app`
"""

from __future__ import annotations

import sys

from .config import ConfigError, Settings

try:
    settings = Settings.from_env()
except ConfigError as error:
    print(f"ewatercycle-experiment-launcher: {error}", file=sys.stderr)
    raise SystemExit(2) from None

from .app import create_app  # noqa: E402  (only once the settings are known to be good)

app = create_app(settings)
