"""The chat page: one HTML page, its CSS and its JavaScript, served by the app itself.

``GET /`` is the page and ``/static/`` its files (``examples/fastapi_app/web/``):
plain HTML, CSS and JavaScript modules, no build step and nothing from a CDN,
talking to the app's own ``/api/v1`` routes. Neither is part of the API (not
in the OpenAPI schema, no ``X-User-Id`` needed to load them): the page asks
for a user id and sends it with every API call.
"""

from __future__ import annotations

import os
from os import PathLike

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from examples.fastapi_app.settings import APP_DIR

__all__ = ["PAGE_HEADERS", "STATIC_PREFIX", "WEB_DIR", "install_chat_page"]

WEB_DIR = APP_DIR / "web"
"""The page's files: ``index.html``, ``app.css`` and the JavaScript modules."""

STATIC_PREFIX = "/static"
"""Where the page's files are served."""

PAGE_HEADERS = {
    # Everything comes from this origin; no inline script, no framing.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
"""Headers of the page: a strict Content Security Policy, and revalidate on every load."""


class _StaticFiles(StaticFiles):
    """The page's files, revalidated on every load so an edited file shows at once."""

    def file_response(
        self,
        full_path: PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """The file (or a 304), with ``Cache-Control: no-cache`` and ``nosniff``."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install_chat_page(app: FastAPI) -> None:
    """Serve the chat page at ``/`` and its files under ``/static``."""

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        """The chat page."""
        return FileResponse(WEB_DIR / "index.html", headers=PAGE_HEADERS)

    app.mount(STATIC_PREFIX, _StaticFiles(directory=WEB_DIR), name="static")
