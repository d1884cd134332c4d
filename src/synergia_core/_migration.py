"""Running the migrations shipped in the package.

Alembic's configuration is built in code (no ``alembic.ini``); the scripts live
in :mod:`synergia_core.migrations` and the version table is
``synergia_alembic_version``, so a host's own Alembic history in the same
database is never touched.

Each function takes a URL, an :class:`~sqlalchemy.engine.Engine` or a
:class:`~sqlalchemy.engine.Connection`. With a URL or an engine the work runs
in a transaction of its own, committed at the end; with a connection it runs
inside the caller's transaction, which the caller commits.

On PostgreSQL, :func:`migrate` and :func:`downgrade` first take a
transaction-scoped advisory lock, so processes that migrate one database at
once run one after the other; the later ones find the schema at head and do
nothing. On SQLite the write lock taken by ``BEGIN IMMEDIATE`` does the same.

Both may run inside a host's own Alembic revision
(``synergia_core.migrate(op.get_bind(), "0002")``): the host's ``alembic.op``
and ``alembic.context`` are left as they were, and the host's transaction is
neither committed nor closed.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import alembic.context
import alembic.op
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from synergia_core._translate import checked_out, translate_errors
from synergia_core.db import READ_ONLY, create_engine
from synergia_core.errors import InvalidInputError

__all__ = [
    "SEARCH_TABLE_PREFIX",
    "TABLE_PREFIX",
    "VERSION_TABLE",
    "Revision",
    "Target",
    "current_revision",
    "downgrade",
    "head_revision",
    "history",
    "include_object",
    "migrate",
]

logger = logging.getLogger(__name__)

VERSION_TABLE = "synergia_alembic_version"
"""The table where Alembic records synergia-core's schema revision."""

TABLE_PREFIX = "synergia_"
"""Prefix of every table (and the version table) synergia-core creates."""

# Arbitrary 63-bit key of the PostgreSQL advisory lock serializing migrations.
_LOCK_KEY = 0x5359_4E45_5247_4941

Target = str | URL | Engine | Connection | None
"""What the migration functions accept: a URL (``None``: the default URL),
an engine, or a connection whose transaction the caller owns."""


@dataclass(frozen=True)
class Revision:
    """One revision of the shipped migration history."""

    revision: str
    down_revision: str | None
    message: str
    is_head: bool


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "synergia_core:migrations")
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def _script() -> ScriptDirectory:
    # The shipped scripts never change while the process runs; loading them
    # reads every revision file, which health() would otherwise do per call.
    return ScriptDirectory.from_config(_config())


# A step relative to a revision: "+1", "-2", "head-1", "0001+1".
_RELATIVE = re.compile(r"^[\w@]*[+-]\d{1,6}$")


def check_target(target: object) -> Target:
    """``target`` if it is something the migration functions accept.

    Raises:
        InvalidInputError: It is not a URL, an engine, a connection or ``None``.
    """
    if target is None or isinstance(target, (str, URL, Engine, Connection)):
        return target
    raise InvalidInputError(
        "the target must be a database URL, an Engine or a Connection, "
        f"not {type(target).__name__}",
        field="target",
    )


def check_revision(revision: object) -> str:
    """``revision`` if it names a shipped revision ("head", "base", an id)
    or a step relative to one ("+1", "-1", "head-1").

    Raises:
        InvalidInputError: It is not a string, or names no shipped revision.
    """
    if not isinstance(revision, str) or not 1 <= len(revision) <= 255 or "\x00" in revision:
        raise InvalidInputError("revision must be a revision id, 'head' or 'base'", "revision")
    if _RELATIVE.match(revision):
        return revision  # resolved against the database's revision by Alembic
    try:
        _script().get_revisions(revision)
    except (CommandError, RevisionError, AssertionError, ValueError) as exc:
        raise InvalidInputError(
            f"unknown schema revision {revision!r:.80}: {exc}", field="revision"
        ) from None
    return revision


@contextmanager
def connect(target: Target, *, read_only: bool = False) -> Iterator[Connection]:
    """Yield a connection in a transaction for ``target`` (see the module docstring)."""
    if isinstance(target, Connection):
        yield target
        return
    if isinstance(target, Engine):
        with _begin(target, read_only=read_only) as connection:
            yield connection
        return
    engine = create_engine(target, poolclass=NullPool)
    try:
        with _begin(engine, read_only=read_only) as connection:
            yield connection
    finally:
        engine.dispose()


@contextmanager
def _begin(engine: Engine, *, read_only: bool) -> Iterator[Connection]:
    with checked_out(engine) as connection:
        if read_only:
            connection.execution_options(**{READ_ONLY: True})
        with connection.begin():
            yield connection


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def migrate(target: Target = None, revision: str = "head") -> None:
    """Upgrade the database schema to ``revision`` (the newest by default).

    Idempotent: a database already at the revision is left alone. Safe when
    several processes migrate one database at once.

    Args:
        target: A URL (``None``: ``$SYNERGIA_DATABASE_URL``, else the
            default SQLite file), an engine, or a connection.
        revision: The revision to upgrade to: ``"head"``, a revision id, or
            a step (``"+1"``).

    Raises:
        InvalidInputError: ``revision`` is unknown or cannot be reached from
            the database's revision, or ``target`` is not a URL, an engine or
            a connection, or the URL is invalid.
        DatabaseUnavailableError: The database cannot be reached.
    """
    _move(target, command.upgrade, revision)


def downgrade(target: Target, revision: str) -> None:
    """Downgrade the database schema to ``revision`` (``"base"`` drops every table).

    Args:
        target: A URL, an engine, or a connection.
        revision: The revision to go back to (``"base"``, an id, or a step: ``"-1"``).

    Raises:
        InvalidInputError: ``revision`` is unknown or cannot be reached from
            the database's revision, or ``target`` is not a URL, an engine or
            a connection, or the URL is invalid.
        DatabaseUnavailableError: The database cannot be reached.
    """
    _move(target, command.downgrade, revision)


def _move(target: Target, step: Callable[[Config, str], None], revision: str) -> None:
    """Run an Alembic upgrade or downgrade under the migration lock, and log it."""
    target = check_target(target)
    revision = check_revision(revision)
    with translate_errors(), connect(target) as connection:
        _lock(connection)
        before = current_on(connection)
        try:
            with _alembic_proxies_kept():
                step(_config(connection), revision)
        except (CommandError, RevisionError) as exc:
            raise InvalidInputError(
                f"cannot move the schema to revision {revision!r:.80}: {exc}", field="revision"
            ) from exc
        after = current_on(connection)
    if before != after:
        logger.info(
            "moved synergia-core schema from %s to %s", before or "<empty>", after or "<empty>"
        )


@contextmanager
def _alembic_proxies_kept() -> Iterator[None]:
    """Leave ``alembic.op`` and ``alembic.context`` serving what they served before.

    Alembic serves ``from alembic import op, context`` through module-level
    proxies that a run installs when it starts and removes when it ends. Run
    inside a host's own revision, our run would remove the host's: the host's
    next revision would find ``op`` empty and its run would fail half-way.
    The proxies found on entry are installed again on exit.
    """
    saved = [getattr(module, "_proxy", None) for module in (alembic.context, alembic.op)]
    try:
        yield
    finally:
        for proxy in saved:
            if proxy is not None:
                proxy._install_proxy()


def current_on(connection: Connection) -> str | None:
    """The schema revision, read on a connection the caller holds.

    Read directly rather than through an Alembic ``MigrationContext``, which
    logs its set-up at INFO: health checks and the first-use schema check
    would fill a host's logs.
    """
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:  # pragma: no cover - the shipped history has one branch
        raise RuntimeError(f"{VERSION_TABLE} holds several heads: {', '.join(rows)}")
    return rows[0] if rows else None


def current_revision(target: Target = None) -> str | None:
    """Return the schema revision the database is at (``None``: never migrated).

    Raises:
        InvalidInputError: ``target`` is not a URL, an engine or a
            connection, or the URL is invalid.
        DatabaseUnavailableError: The database cannot be reached.
    """
    target = check_target(target)
    with translate_errors(), connect(target, read_only=True) as connection:
        return current_on(connection)


def head_revision() -> str:
    """Return the newest schema revision shipped with this package."""
    head = _script().get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise RuntimeError("synergia-core ships no migration")
    return head


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` belongs to the shipped history (else it is newer)."""
    try:
        return _script().get_revision(revision) is not None
    except Exception:  # alembic raises several types for unknown ids
        return False


def history() -> list[Revision]:
    """Return the shipped revisions, newest first."""
    script = _script()
    heads = set(script.get_heads())
    return [
        Revision(
            revision=rev.revision,
            down_revision=rev.down_revision if isinstance(rev.down_revision, str) else None,
            message=(rev.doc or "").strip(),
            is_head=rev.revision in heads,
        )
        for rev in script.walk_revisions()
    ]


def include_object(
    object: Any,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: Any,
) -> bool:
    """Alembic ``include_object`` hook for a host's own migrations.

    Returns ``False`` for synergia-core's tables (and their columns, indexes
    and constraints) and for its version table, so a host's autogenerate
    never proposes to drop or alter them::

        context.configure(..., include_object=synergia_core.include_object)

    To combine with a filter of your own, call it first and ``and`` the results.
    """
    return not _is_synergia_object(object, name, type_)


def only_synergia_objects(
    object: Any,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: Any,
) -> bool:
    """The inverse of :func:`include_object`, used by the shipped env.py.

    The search index (revision 0006: a PostgreSQL generated column and its
    GIN index, SQLite FTS5 tables) is made by the migrations alone, per
    dialect, and is not in the ORM: it is left out of the comparison."""
    return _is_synergia_object(object, name, type_) and not _is_search_object(name, type_)


SEARCH_TABLE_PREFIX = "synergia_search_"
"""Prefix of the SQLite full-text tables (and their shadow tables)."""
_SEARCH_NAMES = frozenset({"search_vector", "ix_synergia_messages_search"})


def _is_search_object(name: str | None, type_: str) -> bool:
    if type_ == "table":
        return (name or "").startswith(SEARCH_TABLE_PREFIX)
    return name in _SEARCH_NAMES


def _is_synergia_object(object: Any, name: str | None, type_: str) -> bool:
    if type_ == "table":
        table_name = name or ""
    else:
        table = getattr(object, "table", None)
        table_name = getattr(table, "name", "") or ""
    return table_name.startswith(TABLE_PREFIX)
