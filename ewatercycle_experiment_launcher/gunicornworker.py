"""The uvicorn worker for gunicorn, stopping on gunicorn's SIGQUIT.

gunicorn sends its workers SIGQUIT when it is stopped with SIGINT or SIGQUIT, as
JupyterHub stops the services it runs. uvicorn_worker (0.4) hands that signal to
gunicorn's `Worker.handle_exit`, which only clears a flag uvicorn never reads: an idle
worker would serve on until the master kills it at the end of the graceful timeout
(minutes). Here SIGQUIT stops the worker as SIGTERM does: it stops accepting, closes
idle connections and lets the requests in flight finish.
"""

from __future__ import annotations

import signal
from types import FrameType

from uvicorn_worker import UvicornWorker as _UvicornWorker


class UvicornWorker(_UvicornWorker):
    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        signal.raise_signal(signal.SIGTERM)  # uvicorn's own graceful stop
