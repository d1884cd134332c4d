"""The one place SQLAlchemy and driver errors become synergia-core errors.

Services validate before they write, so most conditions a caller can cause
never reach the database; what still does (a race lost to another writer, a
value the database refuses, a connection that drops) is translated here,
always with ``raise ... from`` so the original stays on ``__cause__``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from synergia_core.errors import (
    ConcurrentUpdateError,
    ConflictError,
    DatabaseUnavailableError,
    InvalidInputError,
    StatementTimeoutError,
    SynergiaError,
)

__all__ = ["checked_out", "checked_out_async", "constraint_name", "translate_errors"]

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

# SQLSTATEs of a statement that was stopped before it finished: query_canceled
# (statement_timeout, pg_cancel_backend) and lock_not_available (lock_timeout).
_TIMEOUT_SQLSTATES = frozenset({"57014", "55P03"})
_SQLITE_TIMEOUTS = ("database is locked", "database table is locked")

# Constraints whose violation means "another writer got there first".
_RACE_CONSTRAINTS = {"uq_synergia_messages_chat_id_seq": "chat"}


def constraint_name(error: sa_exc.DBAPIError) -> str | None:
    """Name of the constraint a driver error reports, when the driver says it."""
    diag = getattr(error.orig, "diag", None)  # psycopg
    name = getattr(diag, "constraint_name", None)
    return name if isinstance(name, str) else None


def _translate(error: sa_exc.SQLAlchemyError) -> SynergiaError:
    if isinstance(error, sa_exc.TimeoutError):
        return DatabaseUnavailableError(f"no database connection available: {error}")
    if isinstance(error, sa_exc.DBAPIError):
        detail = str(error.orig) if error.orig is not None else str(error)
        detail = detail.strip().splitlines()[0] if detail.strip() else type(error).__name__
        if getattr(error.orig, "sqlstate", None) in _TIMEOUT_SQLSTATES or any(
            text in detail for text in _SQLITE_TIMEOUTS
        ):
            return StatementTimeoutError(f"the database did not finish in time: {detail}")
        if error.connection_invalidated or isinstance(
            error, (sa_exc.OperationalError, sa_exc.InterfaceError)
        ):
            return DatabaseUnavailableError(f"database unavailable: {detail}")
        if isinstance(error, sa_exc.IntegrityError):
            name = constraint_name(error)
            if name in _RACE_CONSTRAINTS:
                return ConcurrentUpdateError(_RACE_CONSTRAINTS[name], None)
            if name == "uq_synergia_models_live_provider_name":
                return ConflictError(f"a live model has this provider and name: {detail}")
            return ConflictError(f"the database refused the change: {detail}")
        if isinstance(error, sa_exc.DataError):
            return InvalidInputError(f"the database refused a value: {detail}")
        return DatabaseUnavailableError(f"database error: {detail}")
    return DatabaseUnavailableError(f"database error: {error}")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Translate SQLAlchemy and driver errors raised in the block into ours.

    Besides driver errors: a connection whose transaction was lost (the
    server closed it mid-block) raises :class:`DatabaseUnavailableError` on
    every later use, instead of SQLAlchemy's ``PendingRollbackError`` or
    ``ResourceClosedError``.
    """
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.TimeoutError) as error:
        translated = _translate(error)
        logger.debug("translated %s into %s", type(error).__name__, type(translated).__name__)
        raise translated from error
    except (sa_exc.PendingRollbackError, sa_exc.ResourceClosedError) as error:
        raise DatabaseUnavailableError(
            f"the database connection was lost; the transaction is gone: {error}"
        ) from error


def _pool_gave_up(error: sa_exc.InvalidRequestError) -> DatabaseUnavailableError:
    # The pool replaces a connection found dead at checkout a few times, then
    # gives up with InvalidRequestError("This connection is closed").
    return DatabaseUnavailableError(f"database unavailable: no live connection ({error})")


@contextmanager
def checked_out(engine: Engine) -> Iterator[Connection]:
    """``engine.connect()``, with the pool giving up on dead connections
    (a server closing connections as fast as they open) reported as
    :class:`DatabaseUnavailableError` rather than as SQLAlchemy's
    ``InvalidRequestError``."""
    try:
        connection = engine.connect()
    except sa_exc.InvalidRequestError as error:
        raise _pool_gave_up(error) from error
    with connection:
        yield connection


@asynccontextmanager
async def checked_out_async(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """:func:`checked_out` for an asyncio engine."""
    manager = engine.connect()
    try:
        connection = await manager.__aenter__()
    except sa_exc.InvalidRequestError as error:
        raise _pool_gave_up(error) from error
    try:
        yield connection
    finally:
        await manager.__aexit__(None, None, None)
