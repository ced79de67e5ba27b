"""The app factory: ``create_app(settings) -> FastAPI``.

Opening the app migrates the database (``huiqi.store.migrate.upgrade``), mounts /static, installs
the error mapping and includes every router listed in ``huiqi.web.routers.ROUTERS``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from huiqi import __version__
from huiqi.surfaces.show import format_yuan
from huiqi.web import errors
from huiqi.web.middleware import PlatformMiddleware
from huiqi.web.routers import ROUTERS
from huiqi.web.settings import Settings

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
log = logging.getLogger("huiqi.web")

class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: machine-readable logs for the server."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        for key in ("method", "path", "status", "ms", "user"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    root = logging.getLogger("huiqi")
    if any(getattr(h, "huiqi", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.huiqi = True  # type: ignore[attr-defined]
    if settings.log_json:
        handler.setFormatter(JsonLogFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def highlight_brackets(snippet: str) -> Markup:
    """Search snippets wrap matches in 【】: show them as <mark>, everything else escaped."""
    return Markup(escape(snippet).replace("【", Markup("<mark>")).replace("】", Markup("</mark>")))


def load_router(spec: str):  # type: ignore[no-untyped-def]
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)


def create_app(settings: Settings | None = None) -> FastAPI:
    from huiqi.store.migrate import upgrade

    settings = settings or Settings()
    configure_logging(settings)
    engine = upgrade(settings.db)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = None
        if settings.inline_worker:
            from huiqi.jobs import run_worker

            worker = threading.Thread(target=run_worker, args=(engine, stop), kwargs={"poll": 0.2},
                                      name="huiqi-job-worker", daemon=True)
            worker.start()
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                worker.join(timeout=30)
            engine.dispose()

    app = FastAPI(
        title="惠企 Huiqi API",
        version=__version__,
        description="产业政策即代码:政策库、政策计算器、预算测算与亩均评价的 REST API。",
        lifespan=lifespan,
        docs_url=None,  # served by pages.core from the vendored Swagger UI (no CDN)
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals.update(version=__version__)
    templates.env.filters["yuan"] = format_yuan
    templates.env.filters["highlight_brackets"] = highlight_brackets
    app.state.templates = templates
    settings.var_dir.mkdir(parents=True, exist_ok=True)

    app.add_middleware(PlatformMiddleware)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for spec in ROUTERS:
        app.include_router(load_router(spec))
    return app
