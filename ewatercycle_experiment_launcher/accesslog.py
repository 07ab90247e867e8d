"""One structured line per request: who, which operation, what status, how long.

Nothing else from the request is logged: not its path's query, headers or body, where
credentials and users' values live.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
        # Connexion copies the scope on its way in; a dict put here first is shared, and
        # its security layer records the authenticated user in it.
        context: dict[str, Any] = scope.setdefault("extensions", {}).setdefault(
            "connexion_context", {}
        )

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
                        "user": context.get("user"),
                        "operation": f"{scope.get('method')} {scope.get('path', '')}",
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                )
            )
