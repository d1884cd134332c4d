"""Engines: URL resolution, the engine factory and the per-dialect settings.

:func:`create_engine` builds an engine configured the way synergia-core
expects its own engines to be:

* SQLite: foreign keys on, WAL journal (for files), a busy timeout, the
  transaction taken by SQLAlchemy rather than by the ``sqlite3`` module, and
  write transactions opened with ``BEGIN IMMEDIATE`` so that concurrent
  writers queue on the busy timeout instead of failing with "database is
  locked" half-way through; a unit of work of a single statement runs with
  no ``BEGIN`` at all (:data:`AUTOCOMMIT`). An in-memory database has a pool
  of exactly one connection, which callers take in turn. The exact decimal
  aggregate used for money sums is registered on every connection.
* PostgreSQL: psycopg 3, and a liveness check when a connection leaves the
  pool: a connection the server closed while it sat idle (a restart, an
  administrator's ``pg_terminate_backend``, an idle timeout) has a readable
  socket, so it is discarded and replaced before use. Unlike
  ``pool_pre_ping`` this costs a ``select()`` system call, not a round trip
  to the server on every call.

An engine a host creates itself can be passed to :class:`~synergia_core.Synergia`
instead; the library then uses it as it is.
"""

from __future__ import annotations

import decimal
import logging
import os
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import QueuePool

from synergia_core.errors import InvalidInputError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "DEFAULT_URL",
    "PREPARE_THRESHOLD",
    "SUPPORTED_DRIVERS",
    "URL_ENV_VAR",
    "create_async_engine",
    "create_engine",
    "ensure_sqlite_functions",
    "open_search_index",
    "resolve_async_url",
    "resolve_url",
]

logger = logging.getLogger(__name__)

URL_ENV_VAR = "SYNERGIA_DATABASE_URL"
"""The one environment variable synergia-core reads: the default database URL."""

DEFAULT_URL = "sqlite:///synergia.db"
"""The database used when neither a URL nor ``$SYNERGIA_DATABASE_URL`` is given."""

SQLITE_BUSY_TIMEOUT_S = 30.0
"""How long a SQLite writer waits for the write lock before giving up."""

READ_ONLY = "synergia_read_only"
"""Execution option: the transaction only reads (SQLite opens it with a
deferred ``BEGIN`` instead of ``BEGIN IMMEDIATE``)."""

AUTOCOMMIT = "synergia_autocommit"
"""Execution option: run each statement in a transaction of its own (SQLite
engines configured here then emit no ``BEGIN``; the driver commits each
statement). Used for units of work that write at most one statement."""

SQLITE_CONFIGURED = "synergia_sqlite_configured"
"""Engine execution option set by :func:`configure_sqlite_engine`: the
engine's connections run in the driver's autocommit mode and SQLAlchemy's
transactions are begun by the ``begin`` listener installed there."""

PREBUILT = "synergia_prebuilt"
"""Execution option of the engines synergia-core configures: a dictionary
of the hottest statements compiled for the engine (see
``synergia_core.repositories.sql._prebuilt``). Engines without it run every
statement through ``Connection.execute``."""

DECIMAL_SUM = "synergia_decimal_sum"
"""Name of the exact decimal SUM aggregate registered on SQLite connections."""

SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
"""The URL schemes synergia-core accepts (``postgres://`` too, as ``postgresql://``)."""

_ASYNC_DRIVERS = ("sqlite+aiosqlite", "postgresql+psycopg_async")

_EXACT = decimal.Context(prec=decimal.MAX_PREC, traps=[decimal.Inexact, decimal.InvalidOperation])
_FUNCTIONS_REGISTERED = "synergia_functions"


def resolve_url(url: str | URL | None = None) -> URL:
    """Return the database URL to use, with the driver synergia-core ships.

    Args:
        url: A URL; when ``None``, ``$SYNERGIA_DATABASE_URL``, else
            :data:`DEFAULT_URL`.

    Returns:
        The parsed URL; ``postgresql://`` and ``postgres://`` are mapped to
        ``postgresql+psycopg://`` (psycopg 3).

    Raises:
        InvalidInputError: The URL cannot be parsed, or names a database or
            a driver synergia-core does not support (:data:`SUPPORTED_DRIVERS`;
            the message lists them).
    """
    if url is None:
        url = os.environ.get(URL_ENV_VAR) or DEFAULT_URL
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise InvalidInputError(f"invalid database URL: {exc}", field="url") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in (*SUPPORTED_DRIVERS, *_ASYNC_DRIVERS):
        *others, last = (f"{name}://" for name in SUPPORTED_DRIVERS)
        raise InvalidInputError(
            f"unsupported database URL scheme {parsed.drivername + '://'!r}: synergia-core "
            f"supports {', '.join(others)} and {last} (psycopg 3, sync and asyncio alike)",
            field="url",
        )
    return parsed


def resolve_async_url(url: str | URL | None = None) -> URL:
    """Like :func:`resolve_url`, with the asyncio driver of the backend.

    ``sqlite://`` (or ``sqlite+pysqlite://``) becomes ``sqlite+aiosqlite://``;
    PostgreSQL URLs use psycopg 3, whose dialect serves asyncio engines too.

    Raises:
        InvalidInputError: The URL cannot be parsed or names an unsupported
            database or driver (see :func:`resolve_url`).
    """
    parsed = resolve_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed


def require_asyncio() -> Any:
    """SQLAlchemy's asyncio extension, or an ImportError that says what to install.

    Raises:
        ImportError: greenlet (the ``async`` extra) is not installed.
    """
    try:
        import sqlalchemy.ext.asyncio as asyncio_extension
    except ImportError as exc:
        raise ImportError(
            "synergia-core's asyncio support needs the 'async' extra: "
            "pip install 'synergia-core[async]'"
        ) from exc
    return asyncio_extension


def create_async_engine(
    url: str | URL | None = None, *, echo: bool = False, **kwargs: Any
) -> AsyncEngine:
    """Create an asyncio engine configured for synergia-core (see :func:`create_engine`).

    Args:
        url: The database URL (see :func:`resolve_async_url`).
        echo: Log every SQL statement.
        **kwargs: Passed on to :func:`sqlalchemy.ext.asyncio.create_async_engine`.

    Returns:
        A new :class:`~sqlalchemy.ext.asyncio.AsyncEngine`; ``await engine.dispose()``
        when done.
    """
    sa_create_async_engine: Callable[..., AsyncEngine] = require_asyncio().create_async_engine
    resolved = resolve_async_url(url)
    if resolved.get_backend_name() == "sqlite":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        memory = _is_memory(resolved)
        if memory:
            from sqlalchemy.pool import AsyncAdaptedQueuePool

            _single_connection_pool(kwargs, AsyncAdaptedQueuePool)
        with _engine_errors(resolved):
            engine = sa_create_async_engine(
                resolved, echo=echo, connect_args=connect_args, **kwargs
            )
        configure_sqlite_engine(engine.sync_engine, memory=memory)
    else:
        resolved = _driver_options(resolved, kwargs)
        with _engine_errors(resolved):
            engine = sa_create_async_engine(resolved, echo=echo, **kwargs)
        if resolved.get_backend_name() == "postgresql":
            configure_postgresql_engine(engine.sync_engine)
    logger.debug("created async engine for %s", resolved.render_as_string(hide_password=True))
    return engine


def create_engine(url: str | URL | None = None, *, echo: bool = False, **kwargs: Any) -> Engine:
    """Create a synchronous engine configured for synergia-core.

    Args:
        url: The database URL (see :func:`resolve_url`).
        echo: Log every SQL statement (SQLAlchemy's ``echo``).
        **kwargs: Passed on to :func:`sqlalchemy.create_engine`.

    Returns:
        A new :class:`~sqlalchemy.engine.Engine`; dispose of it when done.
    """
    resolved = resolve_url(url)
    backend = resolved.get_backend_name()
    if backend == "sqlite":
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        connect_args.setdefault("check_same_thread", False)
        if _is_memory(resolved):
            _single_connection_pool(kwargs, QueuePool)
        with _engine_errors(resolved):
            engine = sa.create_engine(resolved, echo=echo, connect_args=connect_args, **kwargs)
        configure_sqlite_engine(engine, memory=_is_memory(resolved))
    else:
        resolved = _driver_options(resolved, kwargs)
        with _engine_errors(resolved):
            engine = sa.create_engine(resolved, echo=echo, **kwargs)
        if backend == "postgresql":
            configure_postgresql_engine(engine)
    logger.debug("created %s engine for %s", backend, resolved.render_as_string(hide_password=True))
    return engine


PREPARE_THRESHOLD = "prepare_threshold"
"""URL query parameter of PostgreSQL URLs: psycopg's ``prepare_threshold``,
how many times a statement runs before psycopg prepares it on the server;
``none`` never does (needed behind PgBouncer in transaction pooling mode,
whose server connections change from one transaction to the next)."""


def _driver_options(url: URL, kwargs: dict[str, Any]) -> URL:
    """Move the :data:`PREPARE_THRESHOLD` query parameter of a PostgreSQL
    ``url`` into the driver's connect arguments (psycopg takes it as a
    keyword, not as a connection-string option).

    Raises:
        InvalidInputError: Its value is neither ``none`` nor a whole number.
    """
    if url.get_backend_name() != "postgresql" or PREPARE_THRESHOLD not in url.query:
        return url
    raw = url.query[PREPARE_THRESHOLD]
    text = (raw[-1] if isinstance(raw, tuple) else raw).strip().lower()
    threshold: int | None
    if text in ("", "none", "null"):
        threshold = None
    elif text.isdigit():
        threshold = int(text)
    else:
        raise InvalidInputError(
            f"{PREPARE_THRESHOLD} must be 'none' or a whole number, not {text!r}", field="url"
        )
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault(PREPARE_THRESHOLD, threshold)
    kwargs["connect_args"] = connect_args
    return url.difference_update_query([PREPARE_THRESHOLD])


@contextmanager
def _engine_errors(url: URL) -> Iterator[None]:
    """An unknown dialect is bad input; a missing driver says which extra to install."""
    try:
        yield
    except sa.exc.ArgumentError as exc:  # NoSuchModuleError: no such dialect
        raise InvalidInputError(
            f"unsupported database URL {url.drivername!r}: {exc}", field="url"
        ) from exc
    except ModuleNotFoundError as exc:
        hint = "synergia-core supports SQLite and PostgreSQL through psycopg 3"
        if url.get_backend_name() == "postgresql":
            hint = "pip install 'synergia-core[postgres]'"
        elif url.get_driver_name() == "aiosqlite":
            hint = "pip install 'synergia-core[async]'"
        raise ImportError(
            f"the driver for {url.drivername!r} is not installed ({exc}); {hint}"
        ) from exc


def _single_connection_pool(kwargs: dict[str, Any], poolclass: type[Any]) -> None:
    """An in-memory database lives in its one connection: every caller must
    share it, one at a time. A queue pool of exactly one connection hands it
    to one thread (or task) at a time; the others wait for it, as writers of
    a file wait on the busy timeout, instead of using it concurrently (which
    the sqlite3 module does not survive)."""
    kwargs.setdefault("poolclass", poolclass)
    if kwargs["poolclass"] is poolclass:
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", SQLITE_BUSY_TIMEOUT_S)


def _is_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


SQLITE_SEARCH_TABLES = ("synergia_search_messages", "synergia_search_chats")
"""The FTS5 tables of the search index (revision 0006)."""


def open_search_index(cursor: Any) -> None:
    """Open the search index's FTS5 tables on a new SQLite connection (a
    DB-API cursor of it), outside any transaction; the engines synergia-core
    makes do it on connect, a host's own engine should too.

    FTS5 reads its own tables when a connection first uses one, which the
    first append does through the index's triggers. Inside a deferred
    transaction (the savepoint of an append that records a spend) that
    read comes before the write lock is taken; if another connection has
    committed meanwhile, SQLite cannot upgrade the stale read and the
    append fails at once with "database is locked" instead of waiting on
    the busy timeout. And SQLite 3.40 fails a first use that follows a
    schema change by another connection (an ``ANALYZE``) with "no such
    table". Done here, neither happens.
    """
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
        SQLITE_SEARCH_TABLES,
    )
    for (name,) in cursor.fetchall():
        if name in SQLITE_SEARCH_TABLES:
            cursor.execute(f"SELECT rowid FROM {name} WHERE rowid = 0")
            cursor.fetchall()


def configure_sqlite_engine(engine: Engine, *, memory: bool = False) -> None:
    """Install synergia-core's SQLite settings on ``engine``'s connections.

    Foreign keys on, WAL (files only), transactions begun by
    SQLAlchemy (``BEGIN IMMEDIATE`` for writes, ``BEGIN`` for transactions
    run with the :data:`READ_ONLY` execution option), and the exact decimal
    aggregate.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (the sqlite3 module's implicit
        # transactions start late and break BEGIN IMMEDIATE and DDL).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            open_search_index(cursor)
        finally:
            cursor.close()
        _register_sqlite_functions(dbapi_connection)
        record.info[_FUNCTIONS_REGISTERED] = True

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(AUTOCOMMIT, False):
            return
        connection.exec_driver_sql("BEGIN" if options.get(READ_ONLY, False) else "BEGIN IMMEDIATE")

    engine.update_execution_options(**{SQLITE_CONFIGURED: True, PREBUILT: {}})


def configure_postgresql_engine(engine: Engine) -> None:
    """Discard pooled connections the server closed while they were idle.

    At checkout, an idle connection's socket must have nothing to read: the
    server only writes to an idle client to tell it the connection is over
    (its termination notice, then end-of-file). A readable socket, or a
    connection psycopg already knows to be broken, makes the pool open a
    fresh one instead (SQLAlchemy retries the checkout on
    :class:`~sqlalchemy.exc.DisconnectionError`).
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if getattr(driver, "closed", False) or getattr(driver, "broken", False):
            raise sa.exc.DisconnectionError("the connection is closed")
        try:
            readable, _, _ = select.select([driver.fileno()], [], [], 0)
        except (OSError, ValueError) as exc:
            raise sa.exc.DisconnectionError(f"the connection's socket is unusable: {exc}") from exc
        if readable:
            raise sa.exc.DisconnectionError("the server closed the connection while it was idle")

    engine.update_execution_options(**{PREBUILT: {}})


class _DecimalSum:
    """SQLite aggregate: the exact sum of decimal strings, as a string."""

    def __init__(self) -> None:
        self.total: decimal.Decimal | None = None

    def step(self, value: object) -> None:
        if value is None:
            return
        number = decimal.Decimal(value if isinstance(value, (str, int)) else str(value))
        self.total = number if self.total is None else _EXACT.add(self.total, number)

    def finalize(self) -> str | None:
        return None if self.total is None else format(self.total, "f")


def _register_sqlite_functions(dbapi_connection: Any) -> None:
    create_aggregate = getattr(dbapi_connection, "create_aggregate", None)
    if create_aggregate is not None:  # sqlite3
        create_aggregate(DECIMAL_SUM, 1, _DecimalSum)
        return
    # aiosqlite: SQLAlchemy's adapter has no create_aggregate, and sqlite3
    # objects must be touched from aiosqlite's own thread, so queue the call
    # there (aiosqlite exposes no public API for aggregates).
    dbapi_connection.run_async(
        lambda driver: driver._execute(driver._conn.create_aggregate, DECIMAL_SUM, 1, _DecimalSum)
    )


def ensure_sqlite_functions(connection: Connection) -> None:
    """Register the exact decimal aggregate on ``connection`` if it lacks it.

    Engines made by :func:`create_engine` register it on connect; this covers
    a host's own engine or session. It is a no-op on other dialects.
    """
    if connection.dialect.name != "sqlite":
        return
    info = connection.connection.info
    if info.get(_FUNCTIONS_REGISTERED):
        return
    _register_sqlite_functions(connection.connection.dbapi_connection)
    info[_FUNCTIONS_REGISTERED] = True
