"""Entry point for uvicorn workers: settings come from the environment (``huiqi serve`` sets them)."""

from __future__ import annotations

from fastapi import FastAPI

from huiqi.web.app import create_app
from huiqi.web.settings import Settings


def app_factory() -> FastAPI:
    return create_app(Settings())
