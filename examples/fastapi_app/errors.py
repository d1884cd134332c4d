"""Errors as HTTP responses: one body shape, one handler per kind of error.

Every error the API returns has the body ``{"error": code, "detail": message}``
where ``code`` is a stable snake_case name (``chat_not_found``,
``model_unavailable``, ``invalid_request`` ...). The library's errors are
mapped in a single handler, :func:`synergia_error_handler`:

=====================================================  ======
``NotFoundError`` (model, chat, message)               404
``ConflictError`` (duplicate, invalid state, race)     409
``ModelUnavailableError`` (disabled or deleted model)  409
``InvalidInputError``, request validation              422
``DatabaseUnavailableError``, ``SchemaOutOfDateError``  503
=====================================================  ======

FastAPI's own errors get the same shape: a body that cannot be read at all
(not UTF-8) is a 400 ``bad_request``, an unknown path a 404 ``not_found``, a
missing ``X-User-Id`` a 401 ``unauthorized``.
"""

from __future__ import annotations

import http
import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from synergia_core import (
    ConflictError,
    DatabaseUnavailableError,
    InvalidInputError,
    ModelUnavailableError,
    NotFoundError,
    SchemaOutOfDateError,
    SynergiaError,
)

__all__ = [
    "ErrorBody",
    "error_code",
    "error_responses",
    "install_error_handlers",
    "status_for",
]

logger = logging.getLogger(__name__)

_STATUS_BY_ERROR: tuple[tuple[type[SynergiaError], int], ...] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (ModelUnavailableError, 409),
    (InvalidInputError, 422),
    (DatabaseUnavailableError, 503),
    (SchemaOutOfDateError, 503),
)


class ErrorBody(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(extra="forbid")

    error: str
    """A stable snake_case code: ``chat_not_found``, ``invalid_request`` ..."""
    detail: str
    """A human-readable explanation."""


def status_for(exc: SynergiaError) -> int:
    """The HTTP status of a library error (500 for one this app does not know)."""
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(exc, error_type):
            return status
    return 500


def error_code(exc: SynergiaError) -> str:
    """The snake_case code of a library error: ``ChatNotFound`` -> ``chat_not_found``."""
    name = re.sub(r"Error$", "", type(exc).__name__) or "Synergia"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting :class:`ErrorBody` for ``statuses``."""
    return {
        status: {"model": ErrorBody, "description": http.HTTPStatus(status).phrase}
        for status in statuses
    }


def _body(status: int, error: str, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "detail": detail})


async def synergia_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Map a :class:`~synergia_core.SynergiaError` to its status and body."""
    assert isinstance(exc, SynergiaError)
    status = status_for(exc)
    level = logging.WARNING if status >= 500 else logging.DEBUG
    logger.log(level, "%s %s -> %d %s", request.method, request.url.path, status, exc)
    return _body(status, error_code(exc), exc.message)


def _describe(errors: Sequence[Any]) -> str:
    """``loc: msg`` of each validation error (never the input, which may be large or secret)."""
    parts = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return "; ".join(parts) or "invalid request"


async def request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 for a request FastAPI could not parse (body, query, path, headers)."""
    assert isinstance(exc, RequestValidationError)
    return _body(422, "invalid_request", _describe(exc.errors()))


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 for a library schema built from request data that refused it."""
    assert isinstance(exc, ValidationError)
    return _body(422, "invalid_request", f"{exc.title}: {_describe(exc.errors())}")


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's and FastAPI's own HTTP errors (404 route, 405, 401) in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    try:
        phrase = http.HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "error"
    code = re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": code, "detail": detail},
        headers=getattr(exc, "headers", None),
    )


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """500 in the same shape for a bug; the traceback goes to the log."""
    logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _body(500, "internal_error", "internal server error")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(SynergiaError, synergia_error_handler)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(ValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
