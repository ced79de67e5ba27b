"""Shared request helpers for routers: the engine, the settings, template rendering."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import HTMLResponse

from huiqi.web.auth import credentials
from huiqi.web.settings import Settings


def engine(request: Request) -> sa.Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> HTMLResponse:
    """Render a page with the signed-in user and their CSRF token available to every template."""
    creds = credentials(request)
    ctx = {"user": creds.principal if creds else None, "csrf_token": creds.csrf if creds else "",
           **(context or {})}
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request, template, ctx, status_code=status_code
    )
