"""Faults on PostgreSQL: connections killed mid-call, a server stop and a crash, timeouts.

A connection is killed with ``pg_terminate_backend`` from another session at
a chosen statement, the way an administrator, a failover or an OOM killer
would. The call must raise DatabaseUnavailableError, leave nothing behind, and
the next call must succeed on a fresh connection. Only the test's own
backends, in the test's own database, are ever killed on the shared server.

Faults that stop or crash the whole server run on a private server this
module starts for itself (``private_pg``, tests/pgserver.py), never on the
shared one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from synergia_core import (
    ChatCreate,
    DatabaseUnavailableError,
    MessageCreate,
    StatementTimeoutError,
    Synergia,
    current_revision,
    head_revision,
    migrate,
)
from synergia_core.db import create_engine
from tests.conftest import PG_ADMIN_URL, PostgresServer
from tests.pgserver import PgServer
from tests.reliability.snapshot import snapshot


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own."""
    url = postgres.create_database()
    rendered = url.render_as_string(hide_password=False)
    migrate(rendered)
    try:
        yield rendered
    finally:
        postgres.drop_database(url)


def terminate(pid: int, database: str) -> None:
    """Kill one backend of ``database`` from another session and wait until it is gone.

    The ``datname`` condition makes sure only a connection of the test's own
    database can be killed on the shared server.
    """
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            killed = connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid = :pid AND datname = :database"
                ),
                {"pid": pid, "database": database},
            ).scalar_one_or_none()
            assert killed, f"backend {pid} is not a connection to {database}"
            for _ in range(200):
                alive = connection.execute(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                ).scalar_one()
                if not alive:
                    return
                time.sleep(0.01)
    finally:
        admin.dispose()
    raise AssertionError(f"backend {pid} survived pg_terminate_backend")


@contextmanager
def kill_at(engine: sa.Engine, matches: Callable[[str], bool]) -> Iterator[list[str]]:
    """Terminate the session that is about to run the first statement ``matches`` accepts."""
    killed: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not killed and matches(statement):
            killed.append(statement)
            info = cursor.connection.info
            terminate(info.backend_pid, info.dbname)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield killed
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def test_connection_killed_during_add(pg_url: str) -> None:
    with Synergia(pg_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
        before = snapshot(pg_url)
        with (
            kill_at(sy.engine, lambda s: "synergia_messages" in s) as killed,
            pytest.raises(DatabaseUnavailableError),
        ):
            sy.messages.add(chat.id, MessageCreate(role="user", content="lost"), user_id="alice")
        assert killed
        assert snapshot(pg_url) == before
        message = sy.messages.add(
            chat.id, MessageCreate(role="user", content="ok"), user_id="alice"
        )
        assert message.seq == 1


def test_connection_killed_during_edit(pg_url: str) -> None:
    with Synergia(pg_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
        original = sy.messages.add(
            chat.id, MessageCreate(role="user", content="v1"), user_id="alice"
        )
        before = snapshot(pg_url)
        # the edit reads the message first, then dies on its write: mid-transaction
        with (
            kill_at(sy.engine, lambda s: s.lstrip().startswith("WITH")) as killed,
            pytest.raises(DatabaseUnavailableError),
        ):
            sy.messages.edit(original.id, "v2", user_id="alice")
        assert killed
        assert snapshot(pg_url) == before
        assert sy.messages.edit(original.id, "v2", user_id="alice").content == "v2"


def test_connection_killed_inside_a_transaction_block(pg_url: str) -> None:
    with Synergia(pg_url) as sy:
        before = snapshot(pg_url)

        def unit_of_work() -> None:
            with sy.transaction() as tx:
                chat = tx.chats.create(ChatCreate(user_id="bob"))
                tx.messages.add(chat.id, MessageCreate(role="user", content="one"), user_id="bob")
                with kill_at(sy.engine, lambda s: "synergia_messages" in s):
                    tx.messages.add(
                        chat.id, MessageCreate(role="user", content="two"), user_id="bob"
                    )

        with pytest.raises(DatabaseUnavailableError):
            unit_of_work()
        assert snapshot(pg_url) == before  # the first writes were rolled back with it
        chat = sy.chats.create(ChatCreate(user_id="bob"))
        assert sy.chats.get(chat.id, user_id="bob").id == chat.id


def test_connection_killed_during_migrate(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    rendered = url.render_as_string(hide_password=False)
    try:
        with Synergia(rendered) as sy:
            with (
                kill_at(sy.engine, lambda s: "CREATE TABLE synergia_messages" in s) as killed,
                pytest.raises(DatabaseUnavailableError),
            ):
                sy.migrate()
            assert killed
            assert current_revision(rendered) is None  # DDL is transactional: nothing applied
            engine = create_engine(rendered, poolclass=NullPool)
            with engine.connect() as connection:
                assert sa.inspect(connection).get_table_names() == []
            engine.dispose()
            sy.migrate()
            assert current_revision(rendered) == head_revision()
    finally:
        postgres.drop_database(url)


def test_idle_pooled_connections_killed_are_replaced_without_an_error(pg_url: str) -> None:
    """The checkout liveness check sees a connection the server closed while idle."""
    with Synergia(pg_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
        with sy.engine.connect() as connection:
            info = connection.connection.dbapi_connection.info  # type: ignore[union-attr]
        terminate(info.backend_pid, info.dbname)  # now idle in the pool, and dead
        for _ in range(3):
            sy.messages.add(chat.id, MessageCreate(role="user", content="x"), user_id="alice")
        assert sy.chats.get(chat.id, user_id="alice").message_count == 3


def test_statement_timeout_is_a_typed_error(pg_url: str) -> None:
    """A write blocked on a lock past statement_timeout raises StatementTimeoutError."""
    engine = create_engine(pg_url, connect_args={"options": "-c statement_timeout=300"})
    with Synergia(engine=engine) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
        blocker = sa.create_engine(pg_url, poolclass=NullPool)
        with blocker.connect() as holder, holder.begin():
            holder.execute(
                sa.text("SELECT 1 FROM synergia_chats WHERE id = :id FOR UPDATE"), {"id": chat.id}
            )
            started = time.monotonic()
            with pytest.raises(StatementTimeoutError):
                sy.messages.add(chat.id, MessageCreate(role="user", content="x"), user_id="alice")
            assert time.monotonic() - started < 5
        blocker.dispose()
        assert (
            sy.messages.add(
                chat.id, MessageCreate(role="user", content="after"), user_id="alice"
            ).seq
            == 1
        )
    engine.dispose()


@pytest.fixture
def private_url(private_pg: PgServer) -> Iterator[str]:
    """A migrated database of this test's own on the module's private server."""
    name = f"faults_{secrets.token_hex(4)}"
    url = private_pg.create_database(name)
    migrate(url)
    try:
        yield url
    finally:
        if not private_pg.is_running():  # a failed test may leave it down
            private_pg.start()
        private_pg.drop_database(name)


def test_server_stopped_while_the_facade_is_open(private_pg: PgServer, private_url: str) -> None:
    with Synergia(private_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
        sy.messages.add(chat.id, MessageCreate(role="user", content="before"), user_id="alice")
        with private_pg.stopped():
            for _ in range(3):  # calls fail cleanly while it is down
                with pytest.raises(DatabaseUnavailableError):
                    sy.messages.add(
                        chat.id, MessageCreate(role="user", content="down"), user_id="alice"
                    )
            assert sy.health().status == "unhealthy"
        # and work again after, in the same process, without a restart
        after = sy.messages.add(
            chat.id, MessageCreate(role="user", content="after"), user_id="alice"
        )
        assert after.seq == 2
        assert sy.health().status == "healthy"


def test_server_crash_inside_a_transaction_block(private_pg: PgServer, private_url: str) -> None:
    """An immediate shutdown (no checkpoint, crash recovery) mid-transaction loses the block."""
    with Synergia(private_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="bob"))
        before = snapshot(private_url)

        def unit_of_work() -> None:
            with sy.transaction() as tx:
                tx.messages.add(chat.id, MessageCreate(role="user", content="one"), user_id="bob")
                private_pg.crash()
                tx.messages.add(chat.id, MessageCreate(role="user", content="two"), user_id="bob")

        try:
            with pytest.raises(DatabaseUnavailableError):
                unit_of_work()
        finally:
            private_pg.start()  # crash recovery
        assert snapshot(private_url) == before
        message = sy.messages.add(chat.id, MessageCreate(role="user", content="ok"), user_id="bob")
        assert message.seq == 1
        assert sy.health().status == "healthy"
