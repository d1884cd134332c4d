"""The contract suite runs on three backends, and checks every statement it sees.

* ``sqlite`` and ``postgresql`` as everywhere (``tests/conftest.py``);
* ``pgbouncer``: a private PostgreSQL server (one per test module) behind a
  private PgBouncer in transaction pooling mode, reached with
  ``prepare_threshold=none`` in the facade's URL (no server-side prepared
  statements: PgBouncer hands each transaction to any server connection).

As everywhere, every statement the facades issue is recorded and checked to
be scoped by ``user_id`` (the ``facade`` fixture, :mod:`tests.statements`).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from synergia_core import migrate
from tests.conftest import TABLES, empty_database
from tests.pgserver import PgBouncer, PgServer

CONTRACT_BACKENDS = ("sqlite", "postgresql", "pgbouncer")


@pytest.fixture(params=CONTRACT_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The contract suite's backends: the usual two and PostgreSQL behind PgBouncer."""
    return str(request.param)


@pytest.fixture(scope="module")
def bouncer_database(private_pgbouncer: PgBouncer, private_pg: PgServer) -> str:
    """A migrated database on the module's private server, its URL through PgBouncer."""
    name = f"synergia_b_{secrets.token_hex(3)}"
    private_pg.create_database(name)
    migrate(private_pg.url(name))
    return private_pgbouncer.url(name)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated, empty database of the test's backend."""
    if backend != "pgbouncer":
        templates = request.getfixturevalue("_migrated_templates")
        return empty_database(backend, tmp_path, templates)
    url = str(request.getfixturevalue("bouncer_database"))
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def facade_url(db_url: str, backend: str) -> str:
    """Behind PgBouncer (transaction pooling), no server-side prepared statements."""
    return f"{db_url}?prepare_threshold=none" if backend == "pgbouncer" else db_url
