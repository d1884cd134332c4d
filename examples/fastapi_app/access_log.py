"""One log line per request: who, what, the status and how long it took.

A pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``), so streamed
replies pass through untouched and a client that goes away is still seen
by the route. The line is written when the response is over (for a
Server-Sent Events stream: when the stream ends) through the app's logging,
so it goes to the console and to ``app.log`` alike::

    127.0.0.1:51234 - "GET /api/v1/health HTTP/1.1" 200 (2.1 ms)
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ACCESS_LOGGER", "AccessLogMiddleware"]

ACCESS_LOGGER = "examples.fastapi_app.access"
"""The logger of the request lines."""

logger = logging.getLogger(ACCESS_LOGGER)


class AccessLogMiddleware:
    """Logs every HTTP request at INFO once its response is over."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            client = scope.get("client")
            where = f"{client[0]}:{client[1]}" if client else "-"
            target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
            if scope.get("query_string"):
                target += "?" + scope["query_string"].decode("latin-1")
            logger.info(
                '%s - "%s %s HTTP/%s" %s (%.1f ms)',
                where,
                scope["method"],
                target,
                scope.get("http_version", "1.1"),
                status if status is not None else "500",  # failed before answering
                (time.perf_counter() - started) * 1000,
            )
