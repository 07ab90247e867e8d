"""A launch as a stream of server-sent events, for frontends that show spawn progress.

`progress` events relay the hub's spawn progress; the stream ends with one `launched`
event carrying the location, or one `problem` event carrying the problem document.

A client that goes away does not cancel the launch: the server drops what is still sent
to it, and the launch's thread and the relay end when the launch does, bounded by the
spawn timeout, leaving nothing that refers to them.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from .launch import Launcher, Plan
from .problems import LauncherProblem, problem_document

log = logging.getLogger(__name__)

MEDIA_TYPE = "text/event-stream"
KEEPALIVE_SECONDS = 10.0


def wants_events(accept: str | None) -> bool:
    return bool(accept) and MEDIA_TYPE in accept and "application/json" not in accept


def _format(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def launch_events(launcher: Launcher, plan: Plan) -> Iterator[str]:
    """Run the launch in its own thread and relay what happens as it happens."""
    events: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()

    def progress(event: dict[str, Any]) -> None:
        events.put(("progress", {k: event[k] for k in ("progress", "message") if k in event}))

    def work() -> None:
        try:
            events.put(("launched", {"location": launcher.run(plan, progress)}))
        except LauncherProblem as problem:
            events.put(("problem", problem_document(problem)))
        except Exception:
            log.exception("launch failed")
            events.put(
                (
                    "problem",
                    {
                        # As the JSON API answers an unexpected failure (Connexion's 500).
                        "type": "about:blank",
                        "title": "Internal Server Error",
                        "status": 500,
                        "detail": "The launch failed unexpectedly",
                    },
                )
            )
        finally:
            events.put(None)

    threading.Thread(target=work, name=f"launch-{plan.user}", daemon=True).start()
    yield _format("progress", {"progress": 0, "message": "Starting your server"})
    while True:
        try:
            item = events.get(timeout=KEEPALIVE_SECONDS)
        except queue.Empty:
            yield ": keepalive\n\n"
            continue
        if item is None:
            return
        yield _format(*item)
