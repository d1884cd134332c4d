"""AsyncSynergia specifics: drivers, host sessions, concurrency on one loop, loop lag.

The behaviour itself is tested through both facades by the service suite
(the ``mode`` fixture); this file covers what only the async face has.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from synergia_core import (
    AsyncChatService,
    AsyncMessageService,
    AsyncSynergia,
    ChatCreate,
    DatabaseUnavailableError,
    MessageCreate,
    ModelCreate,
    SchemaOutOfDateError,
    head_revision,
)
from synergia_core.db import create_async_engine, resolve_async_url

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def wrapped() -> T:
        return await main()

    return asyncio.run(wrapped())


def test_urls_map_to_asyncio_drivers() -> None:
    assert resolve_async_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
    assert resolve_async_url("sqlite://").drivername == "sqlite+aiosqlite"
    assert resolve_async_url("postgresql://u@h/d").drivername == "postgresql+psycopg"
    assert resolve_async_url("postgres://u@h/d").drivername == "postgresql+psycopg"
    assert resolve_async_url("sqlite+aiosqlite:///x.db").drivername == "sqlite+aiosqlite"


def test_construction_does_no_io_and_down_is_unhealthy() -> None:
    async def main() -> None:
        sy = AsyncSynergia("postgresql://postgres@127.0.0.1:1/nowhere")
        health = await sy.health()
        assert health.status == "unhealthy"
        with pytest.raises(DatabaseUnavailableError):
            await sy.chats.get("01a216f8-daa6-77a7-b275-23156e1eee10", user_id="a")
        await sy.close()

    run(main)


def test_schema_check_and_auto_migrate(fresh_url: str) -> None:
    async def main() -> None:
        async with AsyncSynergia(fresh_url) as sy:
            with pytest.raises(SchemaOutOfDateError) as caught:
                await sy.chats.create(ChatCreate(user_id="a"))
            assert caught.value.current is None
        async with AsyncSynergia(fresh_url, auto_migrate=True) as sy:
            chat = await sy.chats.create(ChatCreate(user_id="a"))
            assert (await sy.chats.get(chat.id, user_id="a")).id == chat.id
            assert (await sy.health()).revision == head_revision()

    run(main)


def test_services_on_a_host_async_session_never_commit(db_url: str) -> None:
    async def main() -> None:
        engine = create_async_engine(db_url)
        try:
            async with AsyncSession(engine) as session:
                chats = AsyncChatService.from_session(session)
                messages = AsyncMessageService.from_session(session)
                chat = await chats.create(ChatCreate(user_id="carol"))
                await messages.add(
                    chat.id, MessageCreate(role="user", content="hi"), user_id="carol"
                )
                assert (await chats.get(chat.id, user_id="carol")).message_count == 1
                await session.rollback()
                kept = await chats.create(ChatCreate(user_id="carol"))
                await session.commit()
            async with engine.connect() as connection:
                chats_in_db = AsyncChatService.from_session(connection)
                page = await chats_in_db.list(user_id="carol")
                assert [c.id for c in page.items] == [kept.id]
        finally:
            await engine.dispose()

    run(main)


def test_host_async_engine_is_left_open(db_url: str) -> None:
    async def main() -> None:
        engine = create_async_engine(db_url)
        async with AsyncSynergia(engine=engine) as sy:
            await sy.models.create(
                ModelCreate.model_validate(
                    {"provider": "p", "name": "m", "price_per_million_tokens": 1}
                )
            )
        async with engine.connect() as connection:
            count = await connection.scalar(sa.text("SELECT count(*) FROM synergia_models"))
        assert count == 1
        await engine.dispose()
        with pytest.raises(ValueError, match="not both"):
            AsyncSynergia("sqlite://", engine=engine)

    run(main)


class _Steps:
    """Awaits a coroutine step by step, recording each step's CPU time.

    A step is what a task runs between two awaits: the time it holds the
    event loop. CPU time of this thread (not wall time) is measured, so the
    figure is the library's work, not the operating system preempting the
    process on a busy machine.
    """

    def __init__(self, coroutine: Coroutine[Any, Any, None], steps: list[float]) -> None:
        self._coroutine = coroutine
        self._steps = steps

    def __await__(self) -> Generator[Any, Any, None]:
        value: Any = None
        error: BaseException | None = None
        while True:
            started = time.thread_time()
            try:
                if error is None:
                    yielded = self._coroutine.send(value)
                else:
                    yielded = self._coroutine.throw(error)
            except StopIteration:
                self._steps.append(time.thread_time() - started)
                return
            self._steps.append(time.thread_time() - started)
            value, error = None, None
            try:
                value = yield yielded
            except BaseException as exc:  # delivered to the coroutine on the next step
                error = exc


async def _timed(coroutine: Coroutine[Any, Any, None], steps: list[float]) -> None:
    await _Steps(coroutine, steps)


def test_fifty_tasks_on_one_loop_and_the_loop_stays_responsive(db_url: str) -> None:
    """50 concurrent tasks append to 50 chats on one loop: all succeed, no
    step of any task holds the loop for more than 5 ms of CPU, and a 1 ms
    ticker keeps ticking throughout.

    A full garbage collection of a heap holding SQLAlchemy, Alembic and
    pydantic takes tens of milliseconds in any Python process; long-running
    servers freeze their start-up heap (``gc.freeze()``), and so does this
    test, so that it measures the library rather than the collector.
    """
    tasks, each = 50, 10

    async def main() -> tuple[list[float], list[float], int]:
        async with AsyncSynergia(db_url) as sy:
            chats = [await sy.chats.create(ChatCreate(user_id=f"u{n}")) for n in range(tasks)]

            async def writer(index: int, count: int) -> None:
                chat = chats[index]
                for i in range(count):
                    await sy.messages.add(
                        chat.id,
                        MessageCreate(role="user", content=f"{index}:{i}"),
                        user_id=chat.user_id,
                    )

            await asyncio.gather(*(writer(n, 1) for n in range(tasks)))  # open the pool
            gc.collect()
            gc.freeze()
            lags: list[float] = []
            steps: list[float] = []
            stop = asyncio.Event()

            async def ticker() -> None:
                interval = 0.001
                while not stop.is_set():
                    before = time.perf_counter()
                    await asyncio.sleep(interval)
                    lags.append(time.perf_counter() - before - interval)

            tick = asyncio.create_task(ticker())
            try:
                await asyncio.gather(*(_timed(writer(n, each), steps) for n in range(tasks)))
            finally:
                stop.set()
                await tick
                gc.unfreeze()
            written = 0
            for chat in chats:
                page = await sy.messages.list(chat.id, user_id=chat.user_id, limit=100)
                assert [m.seq for m in page.items] == list(range(1, each + 2))
                written += len(page.items)
            return lags, steps, written

    lags, steps, written = run(main)
    assert written == tasks * (each + 1)
    # Every append yields to the loop while the database works: at each
    # round trip on PostgreSQL, once (a worker thread runs the whole call)
    # on SQLite.
    assert len(steps) > tasks * each * (3 if db_url.startswith("postgresql") else 1)
    assert max(steps) < 0.005, f"a step held the loop for {max(steps) * 1000:.2f} ms of CPU"
    assert statistics.median(steps) < 0.001
    assert len(lags) > 20, "the ticker starved: the loop was held"


def test_concurrent_tasks_on_one_chat_keep_seq_gap_free(db_url: str) -> None:
    async def main() -> None:
        async with AsyncSynergia(db_url) as sy:
            chat = await sy.chats.create(ChatCreate(user_id="alice"))

            async def writer(n: int) -> None:
                for i in range(10):
                    await sy.messages.add(
                        chat.id, MessageCreate(role="user", content=f"{n}:{i}"), user_id="alice"
                    )

            await asyncio.gather(*(writer(n) for n in range(8)))
            thread = await sy.messages.thread(chat.id, user_id="alice")
            assert [m.seq for m in thread] == list(range(1, 81))
            assert (await sy.chats.get(chat.id, user_id="alice")).message_count == 80

    run(main)
