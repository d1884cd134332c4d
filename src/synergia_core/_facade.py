"""I/O-free logic shared by the sync and async facades."""

from __future__ import annotations

import datetime as dt
import logging
import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from synergia_core import _migration
from synergia_core._version import __version__
from synergia_core.errors import InvalidInputError, SchemaOutOfDateError
from synergia_core.schemas import Health

__all__ = [
    "begin_snapshot",
    "check_arguments",
    "health_report",
    "must_migrate",
    "probe",
    "schema_error",
    "snapshot_options",
]

logger = logging.getLogger(__name__)


def check_arguments(
    url: object, engine: object, engine_type: type, flags: dict[str, object], config: object
) -> None:
    """Refuse what a facade cannot be built from, naming the argument.

    Raises:
        ValueError: Both ``url`` and ``engine`` were given.
        InvalidInputError: An argument of the wrong type.
    """
    from sqlalchemy.engine import URL

    from synergia_core.services import ServiceConfig

    if url is not None and engine is not None:
        raise ValueError("give a url or an engine, not both")
    if url is not None and not isinstance(url, (str, URL)):
        raise InvalidInputError(f"url must be a string or a URL, not {type(url).__name__}", "url")
    if engine is not None and not isinstance(engine, engine_type):
        raise InvalidInputError(
            f"engine must be a {engine_type.__name__}, not {type(engine).__name__}", "engine"
        )
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidInputError(f"{name} must be True or False", field=name)
    if config is not None and not isinstance(config, ServiceConfig):
        raise InvalidInputError(
            f"config must be a ServiceConfig, not {type(config).__name__}", field="config"
        )


def snapshot_options(dialect: str) -> dict[str, object]:
    """Execution options of a read-only transaction that sees one snapshot
    from its first statement to its last: ``REPEATABLE READ`` on PostgreSQL;
    a deferred ``BEGIN`` on SQLite, whose reads in a transaction are a
    snapshot already (WAL)."""
    from synergia_core.db import READ_ONLY

    if dialect == "postgresql":
        return {READ_ONLY: True, "isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    return {READ_ONLY: True}


def begin_snapshot(connection: Connection) -> sa.engine.Transaction:
    """Begin a read-only snapshot transaction on ``connection`` (which must
    be the caller's own: its options change)."""
    connection.execution_options(**snapshot_options(connection.dialect.name))
    return connection.begin()


def schema_error(current: str | None, head: str) -> SchemaOutOfDateError:
    """The error for a database at ``current`` when the package expects ``head``."""
    if current is not None and not _migration.is_known_revision(current):
        message = (
            f"database schema is at revision {current}, newer than synergia-core "
            f"{__version__} knows (its head is {head}); upgrade the synergia-core package"
        )
        return SchemaOutOfDateError(current, head, message)
    return SchemaOutOfDateError(current, head)


def must_migrate(current: str | None, head: str, auto_migrate: bool) -> bool:
    """Whether to migrate a database at ``current``.

    Raises:
        SchemaOutOfDateError: It is not at head and cannot be migrated here
            (``auto_migrate`` is off, or the database is ahead of the package).
    """
    if current == head:
        return False
    if auto_migrate and (current is None or _migration.is_known_revision(current)):
        return True
    raise schema_error(current, head)


def probe(connection: Connection) -> tuple[str | None, float]:
    """Round-trip to the database; return its schema revision and the latency in ms."""
    started = time.perf_counter()
    connection.execute(sa.text("SELECT 1"))
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    return _migration.current_on(connection), latency_ms


def health_report(
    database: str,
    started_monotonic: float,
    probed: tuple[str | None, float] | None,
    failure: BaseException | None,
) -> Health:
    """The :class:`Health` payload from a probe's result or its failure."""
    head = _migration.head_revision()
    current, latency_ms = probed if probed is not None else (None, None)
    error: str | None = None
    if failure is not None:
        text = str(failure).strip()
        error = f"{type(failure).__name__}: {text.splitlines()[0] if text else ''}"
        logger.warning("health check failed: %s", error)
    elif current != head:
        error = str(schema_error(current, head))
    return Health(
        status="healthy" if error is None else "unhealthy",
        version=__version__,
        database=database,
        revision=current,
        head=head,
        latency_ms=latency_ms,
        uptime_s=round(time.monotonic() - started_monotonic, 3),
        timestamp=dt.datetime.now(dt.timezone.utc),
        error=error,
    )
