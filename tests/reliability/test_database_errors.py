"""Errors the database itself raises, and connections it takes away.

Issue classes held here:

5. Two transactions renaming models to one name: the loser gets
   ``ModelAlreadyExists`` and its transaction (the facade's or the host's)
   stays usable, on PostgreSQL too (where a unique violation would have
   aborted it): the name is checked under a lock on it, not left to the
   unique index.
8. A server closing connections as fast as they open: every failure is a
   ``SynergiaError`` (``DatabaseUnavailableError``), never SQLAlchemy's
   "This connection is closed" or "Can't reconnect until invalid
   transaction is rolled back"; the facade works again afterwards.
"""

from __future__ import annotations

import asyncio
import collections
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from synergia_core import (
    AsyncSynergia,
    ChatCreate,
    MessageCreate,
    ModelAlreadyExists,
    ModelCreate,
    ModelUpdate,
    Synergia,
    SynergiaError,
)
from synergia_core.db import create_engine


def _model(sy: Synergia, name: str) -> ModelCreate:
    return ModelCreate(
        provider="openai",
        name=name,
        input_price_per_million=Decimal(1),
        output_price_per_million=Decimal(2),
    )


def test_renames_racing_for_one_name(db_url: str) -> None:
    with Synergia(db_url) as sy:
        first = sy.models.create(_model(sy, "a"))
        second = sy.models.create(_model(sy, "b"))
        renamed = threading.Event()
        outcome: dict[str, object] = {}

        def winner() -> None:
            with sy.transaction() as tx:
                tx.models.update(first.id, ModelUpdate(name="taken"))
                renamed.set()
                time.sleep(0.3)  # the loser now waits on the name

        def loser() -> None:
            renamed.wait()
            with sy.transaction() as tx:
                try:
                    tx.models.update(second.id, ModelUpdate(name="taken"))
                except ModelAlreadyExists as exc:
                    outcome["error"] = exc
                # the transaction is still usable: read and write, then commit
                outcome["after"] = tx.models.update(second.id, ModelUpdate(display_name="B"))

        threads = [threading.Thread(target=winner), threading.Thread(target=loser)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert isinstance(outcome.get("error"), ModelAlreadyExists)
        assert sy.models.get(second.id).display_name == "B"
        assert sy.models.get_by_name("openai", "taken").id == first.id


def test_a_create_racing_a_rename_for_one_name(db_url: str) -> None:
    with Synergia(db_url) as sy:
        first = sy.models.create(_model(sy, "a"))
        renamed = threading.Event()
        outcome: dict[str, object] = {}

        def renamer() -> None:
            with sy.transaction() as tx:
                tx.models.update(first.id, ModelUpdate(name="new"))
                renamed.set()
                time.sleep(0.3)

        def creator() -> None:
            renamed.wait()
            try:
                sy.models.create(_model(sy, "new"))
            except ModelAlreadyExists as exc:
                outcome["error"] = exc

        threads = [threading.Thread(target=renamer), threading.Thread(target=creator)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert isinstance(outcome.get("error"), ModelAlreadyExists)
        assert [m.name for m in sy.models.list()] == ["new"]


@contextmanager
def _churn(url: str) -> Iterator[list[int]]:
    """Terminate every other backend of the test's own database, over and over."""
    database = sa.make_url(url).database
    admin = sa.make_url(url).set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    stop = threading.Event()
    kills = [0]

    def killer() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as connection:
                    while not stop.is_set():
                        row = connection.execute(
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()",
                            (database,),
                        ).fetchone()
                        kills[0] += int(row[0]) if row else 0
                        time.sleep(random.random() * 0.003)
            except psycopg.Error:
                continue

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        yield kills
    finally:
        stop.set()
        thread.join()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_connection_churn_raises_only_typed_errors(db_url: str) -> None:
    errors: collections.Counter[str] = collections.Counter()
    with Synergia(db_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="u"))
        with _churn(db_url) as kills:
            deadline = time.monotonic() + 2.0
            step = 0
            while time.monotonic() < deadline:
                step += 1
                try:
                    if step % 3 == 0:
                        sy.messages.add(
                            chat.id, MessageCreate(role="user", content="x"), user_id="u"
                        )
                    elif step % 3 == 1:
                        sy.messages.list(chat.id, user_id="u", limit=5)
                    else:
                        with sy.transaction() as tx:
                            try:
                                tx.messages.add(
                                    chat.id, MessageCreate(role="user", content="y"), user_id="u"
                                )
                            except SynergiaError:
                                errors["inside"] += 1
                            tx.chats.get(chat.id, user_id="u")  # after a lost connection
                except SynergiaError as exc:
                    errors[type(exc).__name__] += 1
        assert kills[0] > 10, "the churn did not bite"
        assert sum(errors.values()) > 10, "the churn did not bite"
        assert set(errors) <= {"DatabaseUnavailableError", "inside"}
        # afterwards, the same facade works and the chat is consistent
        sy.messages.add(chat.id, MessageCreate(role="user", content="ok"), user_id="u")
        page = sy.messages.list(chat.id, user_id="u", limit=1000)
        assert [m.seq for m in page.items] == list(range(1, len(page.items) + 1))
        assert sy.chats.get(chat.id, user_id="u").message_count == len(page.items)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_connection_churn_async(db_url: str) -> None:
    async def main() -> collections.Counter[str]:
        errors: collections.Counter[str] = collections.Counter()
        async with AsyncSynergia(db_url) as sy:
            chat = await sy.chats.create(ChatCreate(user_id="u"))
            with _churn(db_url):
                deadline = time.monotonic() + 2.0
                while time.monotonic() < deadline:
                    try:
                        await sy.messages.add(
                            chat.id, MessageCreate(role="user", content="x"), user_id="u"
                        )
                        async with sy.transaction() as tx:
                            await tx.chats.get(chat.id, user_id="u")
                    except SynergiaError as exc:
                        errors[type(exc).__name__] += 1
            await sy.messages.add(chat.id, MessageCreate(role="user", content="ok"), user_id="u")
        return errors

    errors = asyncio.run(main())
    assert sum(errors.values()) > 5, "the churn did not bite"
    assert set(errors) == {"DatabaseUnavailableError"}


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_cancelled_async_calls_leave_no_open_transaction(db_url: str) -> None:
    """PostgreSQL face of class 2: a cancelled call leaves no session idle
    in a transaction (which would hold its row locks)."""

    async def main() -> None:
        async with AsyncSynergia(db_url) as sy:
            chat = await sy.chats.create(ChatCreate(user_id="u"))

            async def busy() -> None:
                while True:
                    async with sy.transaction() as tx:
                        await tx.messages.add(
                            chat.id, MessageCreate(role="user", content="t"), user_id="u"
                        )
                        await tx.chats.get(chat.id, user_id="u")

            for round_ in range(20):
                task = asyncio.create_task(busy())
                await asyncio.sleep(0.003 + 0.001 * (round_ % 5))
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            await asyncio.sleep(0.05)
            engine = create_engine(db_url, poolclass=NullPool)
            try:
                with engine.connect() as connection:
                    stuck = connection.execute(
                        sa.text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND state LIKE 'idle in transaction%'"
                        )
                    ).scalar_one()
                    assert stuck == 0
                    connection.execute(
                        sa.text("SELECT 1 FROM synergia_chats WHERE id = :id FOR UPDATE NOWAIT"),
                        {"id": chat.id},
                    )
            finally:
                engine.dispose()

    asyncio.run(main())
