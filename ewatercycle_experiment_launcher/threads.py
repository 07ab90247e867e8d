"""Threads enough for every request in flight.

Launches wait on the hub, not on the CPU, so each request in flight needs a thread of
its own; Connexion's Flask bridge has 10 and no setting for it. `HandlerThreads`, put
last in the middleware stack through `FlaskApp(middlewares=...)` (after Connexion's
context middleware, so handlers still see `connexion.request`), runs the Flask
application on an a2wsgi bridge of its own with `workers` threads. This is the one
place that knows how Connexion bridges to Flask; it refuses to start when that changes,
and a test checks that requests really run on more than 10 threads at once.
"""

from __future__ import annotations

from functools import partial

import flask
from a2wsgi import WSGIMiddleware
from connexion.middleware import ConnexionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class HandlerThreads:
    """Serves HTTP requests with the Flask application on `workers` threads; passes
    everything else (lifespan) on to Connexion's bridge."""

    def __init__(self, app: ASGIApp, *, workers: int) -> None:
        flask_app = getattr(app, "app", None)
        if not isinstance(flask_app, flask.Flask):
            raise RuntimeError(
                "the innermost application is not Connexion's Flask bridge: "
                "check the connexion version pinned in setup.py"
            )
        self.app = app
        self.threads = WSGIMiddleware(flask_app, workers=workers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.threads(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def middlewares(workers: int) -> list[ASGIApp]:
    """Connexion's middleware stack with `HandlerThreads` at its end."""
    return [*ConnexionMiddleware.default_middlewares, partial(HandlerThreads, workers=workers)]
