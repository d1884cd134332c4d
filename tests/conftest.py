"""Fixtures: every database test runs on SQLite and on a real PostgreSQL.

PostgreSQL is required, never skipped: the server named by
``SYNERGIA_TEST_POSTGRES_URL`` (default: the local one, database ``test``)
must answer, or the PostgreSQL half of the suite fails. Each test session
creates its own PostgreSQL databases (named ``synergia_t_<pid>_<random>``)
and drops them at the end, so runs on a shared server never collide.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from synergia_core import ServiceConfig, Synergia, migrate
from synergia_core.db import resolve_url
from tests.facades import open_facade
from tests.pgserver import (  # noqa: F401 (fixtures: private servers for any test)
    pg_sandbox,
    private_pg,
    private_pgbouncer,
    private_replication,
)
from tests.statements import unscoped_statements

PG_ADMIN_URL = os.environ.get(
    "SYNERGIA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")
MODES = ("sync", "async")
TABLES = (
    "synergia_spend",
    "synergia_budgets",
    "synergia_messages",
    "synergia_chats",
    "synergia_models",
)


class PostgresServer:
    """Creates and drops the databases of one test session."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = resolve_url(admin_url)
        self._engine = sa.create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        self._created: list[str] = []
        self._prefix = f"synergia_t_{os.getpid()}_{secrets.token_hex(3)}"

    def check(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            pytest.fail(
                f"PostgreSQL at {self.admin_url.render_as_string()} is required and unreachable "
                f"(set SYNERGIA_TEST_POSTGRES_URL): {exc.orig}",
                pytrace=False,
            )

    def create_database(self) -> URL:
        self.check()
        name = f"{self._prefix}_{len(self._created)}"
        with self._engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return self.admin_url.set(database=name)

    def drop_database(self, url: URL) -> None:
        name = url.database
        assert name is not None
        assert name in self._created
        with self._engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.remove(name)

    def close(self) -> None:
        for name in list(self._created):
            self.drop_database(self.admin_url.set(database=name))
        self._engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(PG_ADMIN_URL)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend a database test runs on (every test runs on both)."""
    return str(request.param)


@pytest.fixture
def fresh_url(backend: str, tmp_path: Path, postgres: PostgresServer) -> Iterator[str]:
    """The URL of a new, empty database (never migrated)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url = postgres.create_database()
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        postgres.drop_database(url)


@pytest.fixture(scope="session")
def _migrated_templates(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """One migrated database per backend for the whole session."""
    sqlite_template = tmp_path_factory.mktemp("template") / "template.db"
    sqlite_url = f"sqlite:///{sqlite_template}"
    migrate(sqlite_url)
    pg_url = postgres.create_database().render_as_string(hide_password=False)
    migrate(pg_url)
    return {"sqlite": sqlite_url, "postgresql": pg_url}


@pytest.fixture
def db_url(backend: str, tmp_path: Path, _migrated_templates: dict[str, str]) -> str:
    """The URL of a migrated database holding no rows."""
    return empty_database(backend, tmp_path, _migrated_templates)


def empty_database(backend: str, tmp_path: Path, templates: dict[str, str]) -> str:
    """A copy of the SQLite template, or the PostgreSQL template emptied: its URL."""
    template = templates[backend]
    if backend == "sqlite":
        target = tmp_path / "test.db"
        source = make_url(template).database
        assert source is not None
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    engine = sa.create_engine(template, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    finally:
        engine.dispose()
    return template


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    """Which facade drives the test: ``sync`` or ``async`` (one body, both modes)."""
    return str(request.param)


class FacadeFactory(Protocol):
    def __call__(self, config: ServiceConfig | None = None) -> Synergia: ...


@pytest.fixture
def facade_url(db_url: str) -> str:
    """The URL the ``facade`` fixture opens (the contract suite adds a driver
    option behind PgBouncer)."""
    return db_url


@pytest.fixture
def facade(facade_url: str, mode: str) -> Iterator[FacadeFactory]:
    """Opens facades (of the test's mode) on the test's database; closes them after.

    Every SQL statement they issue is recorded, and each one touching a
    per-user table must be scoped by ``user_id`` (:mod:`tests.statements`:
    the schema stays ready to be distributed by user), or the test fails.
    """
    opened: list[Synergia] = []
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    def open_one(config: ServiceConfig | None = None) -> Synergia:
        sy = open_facade(mode, facade_url, config)
        # Distribution (Citus) is a PostgreSQL matter: SQLite's own statements
        # (its FTS5 search index, its spend update) are not checked.
        if sy.engine.dialect.name == "postgresql":
            event.listen(sy.engine, "before_cursor_execute", record)
        opened.append(sy)
        return sy

    yield open_one
    for item in opened:
        if event.contains(item.engine, "before_cursor_execute", record):
            event.remove(item.engine, "before_cursor_execute", record)
        item.close()
    unscoped = unscoped_statements(statements)
    assert not unscoped, "statements on per-user tables not scoped by user_id:\n" + "\n\n".join(
        unscoped
    )


@pytest.fixture
def sy(facade: FacadeFactory) -> Synergia:
    """A facade (sync or async, by ``mode``) on a migrated, empty database."""
    return facade()
