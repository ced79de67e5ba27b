"""Pure ASGI middleware (cheaper per request than BaseHTTPMiddleware): security headers, one
structured log line per request, gzip for pages and assets only — API JSON on loopback or an
intranet is cheaper to send than to compress."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("huiqi.web")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
_SECURITY = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_STATIC_CACHE = (b"cache-control", b"public, max-age=86400")


class PlatformMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=800)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        static = path.startswith("/static/")
        started = time.perf_counter()
        status: dict[str, Any] = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                names = {k for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in _SECURITY if k not in names]
                if static and b"cache-control" not in names:
                    extra.append(_STATIC_CACHE)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        inner = self.app if path.startswith("/api/") else self.gzip
        await inner(scope, receive, send_with_headers)
        if not static:
            log.info("request", extra={"method": scope["method"], "path": path, "status": status.get("code"),
                                       "ms": round((time.perf_counter() - started) * 1000, 1)})
