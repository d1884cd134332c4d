"""The FastAPI app: synergia-core behind the original backend's ``/api/v1``.

Serve it from the repository root with ``make serve`` (``make serve
PORT=8080`` for another port), or::

    .venv/bin/uvicorn --factory examples.fastapi_app.app:create_app

and open http://127.0.0.1:8000/ for the chat page (``page.py``).

``create_app()`` reads :class:`~examples.fastapi_app.settings.Settings` from
the environment (and ``examples/fastapi_app/.env``); tests pass their own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from examples.fastapi_app.access_log import AccessLogMiddleware
from examples.fastapi_app.echo import EchoModel
from examples.fastapi_app.errors import install_error_handlers
from examples.fastapi_app.logging_config import app_logging
from examples.fastapi_app.page import install_chat_page
from examples.fastapi_app.routes import api_router
from examples.fastapi_app.settings import API_PREFIX, Settings
from synergia_core import AsyncSynergia, DatabaseUnavailableError, __version__

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Chats, messages and a model catalog with prices, kept by synergia-core.
Say who you are with the `X-User-Id` header (the **Authorize** button).
Every error is `{"error": code, "detail": message}`.
"""


def create_app(settings: Settings | None = None, synergia: AsyncSynergia | None = None) -> FastAPI:
    """Build the app.

    Args:
        settings: The configuration; read from the environment when omitted.
        synergia: A library facade to use instead of one the app opens on
            ``settings.SYNERGIA_DATABASE_URL`` (the app then leaves it open
            when it stops: its owner closes it).

    Returns:
        The app. Every request is logged (``access_log``). Its lifespan
        configures logging, opens the database and migrates it; if the
        database is unreachable at start-up, the app still starts, reports
        503 on ``/health`` and migrates on first use.
    """
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Configure logging, open and migrate the database; undo it all on the way out."""
        with app_logging(settings.LOG_LEVEL, settings.LOG_DIR):
            # Opened here, not in create_app, so that it lives on the server's event loop.
            sy = (
                synergia
                if synergia is not None
                else AsyncSynergia(settings.SYNERGIA_DATABASE_URL, auto_migrate=True)
            )
            app.state.synergia = sy
            app.state.started = time.monotonic()
            try:
                await sy.migrate()
            except DatabaseUnavailableError as exc:
                logger.error(
                    "database unreachable at start-up, serving 503 until it is back: %s", exc
                )
            else:
                logger.info(
                    "synergia-core %s ready on %r (%s)", __version__, sy, settings.ENVIRONMENT
                )
            try:
                yield
            finally:
                if synergia is None:
                    await sy.close()
                logger.info("stopped")

    docs = settings.docs_enabled
    app = FastAPI(
        title="Synergia API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json" if docs else None,
        docs_url=f"{API_PREFIX}/docs" if docs else None,
        redoc_url=f"{API_PREFIX}/redoc" if docs else None,
    )
    app.state.settings = settings
    app.state.reply_model = EchoModel(delay=settings.ECHO_DELAY_SECONDS)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(AccessLogMiddleware)  # added last: outermost, so it sees every request
    install_error_handlers(app)
    app.include_router(api_router, prefix=API_PREFIX)
    install_chat_page(app)
    return app
