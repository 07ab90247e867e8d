"""One structured line per request: who, which operation, what status, how long.

Nothing else from the request is logged: not its path's query, headers or body, where
credentials and users' values live.
"""

from __future__ import annotations

import json
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .state import recorded_user

log = logging.getLogger("ewatercycle_experiment_launcher.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        scope.setdefault("state", {})  # shared with the copies of the scope further in

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            log.info(
                json.dumps(
                    {
                        "user": recorded_user(scope),
                        "operation": f"{scope.get('method')} {scope.get('path', '')}",
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                )
            )
