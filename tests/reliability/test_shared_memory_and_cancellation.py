"""In-memory databases shared by threads and tasks, and cancelled async calls.

Issue classes held here:

1. ``AsyncSynergia("sqlite://")``: concurrent tasks on one chat queue instead
   of sharing the one connection (no spurious ConflictError or "cannot start
   a transaction within a transaction", no message without its counter).
2. ``AsyncSynergia`` on a SQLite file: a call cancelled in flight (a
   timeout, a TaskGroup, a client gone) releases its connection and the
   write lock at once: another writer gets in without waiting.
3. ``Synergia("sqlite://")`` shared by threads: no error, no crash.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest

from synergia_core import (
    AsyncSynergia,
    ChatCreate,
    MessageCreate,
    ModelCreate,
    Synergia,
)

TASKS = 16
EACH = 25


def _consistent(sy: Synergia, chat_id: uuid.UUID, user: str, expected: int) -> None:
    thread = sy.messages.thread(chat_id, user_id=user)
    page = sy.messages.list(chat_id, user_id=user, limit=1000)
    assert [m.seq for m in page.items] == list(range(1, expected + 1))
    assert [m.id for m in thread] == [m.id for m in page.items]  # one chain
    chat = sy.chats.get(chat_id, user_id=user)
    assert chat.message_count == expected
    assert chat.current_message_id == page.items[-1].id


def test_threads_share_an_in_memory_database() -> None:
    errors: list[BaseException] = []
    with Synergia("sqlite://") as sy:
        sy.migrate()
        chat = sy.chats.create(ChatCreate(user_id="alice"))

        def worker(n: int) -> None:
            try:
                for i in range(EACH):
                    sy.messages.add(
                        chat.id, MessageCreate(role="user", content=f"{n}:{i}"), user_id="alice"
                    )
                    sy.messages.list(chat.id, user_id="alice", limit=5)
                    sy.chats.list(user_id="alice")
                    with sy.transaction() as tx:
                        tx.chats.get(chat.id, user_id="alice")
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(TASKS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        _consistent(sy, chat.id, "alice", TASKS * EACH)


def test_tasks_share_an_in_memory_database() -> None:
    async def main() -> None:
        async with AsyncSynergia("sqlite://") as sy:
            await sy.migrate()
            chat = await sy.chats.create(ChatCreate(user_id="alice"))

            async def writer(n: int) -> None:
                for i in range(EACH):
                    await sy.messages.add(
                        chat.id, MessageCreate(role="user", content=f"{n}:{i}"), user_id="alice"
                    )
                    await sy.messages.list(chat.id, user_id="alice", limit=5)
                    async with sy.transaction() as tx:
                        await tx.chats.get(chat.id, user_id="alice")

            await asyncio.gather(*(writer(n) for n in range(TASKS)))
            page = await sy.messages.list(chat.id, user_id="alice", limit=1000)
            assert [m.seq for m in page.items] == list(range(1, TASKS * EACH + 1))
            thread = await sy.messages.thread(chat.id, user_id="alice")
            assert [m.id for m in thread] == [m.id for m in page.items]
            stored = await sy.chats.get(chat.id, user_id="alice")
            assert stored.message_count == TASKS * EACH
            assert stored.current_message_id == page.items[-1].id

    asyncio.run(main())


def _other_writer_gets_in(path: Path) -> float:
    """Seconds another process-like writer (a raw sqlite3 connection with a
    short busy timeout) waits for the write lock."""
    started = time.perf_counter()
    connection = sqlite3.connect(path, timeout=2.0, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
    finally:
        connection.close()
    return time.perf_counter() - started


@pytest.mark.parametrize("how", ["wait_for", "task_group", "cancel", "transaction"])
def test_cancelled_calls_release_their_connection_and_the_write_lock(
    tmp_path: Path, how: str
) -> None:
    path = tmp_path / "cancel.db"
    url = f"sqlite:///{path}"

    async def main() -> None:
        async with AsyncSynergia(url) as sy:
            await sy.migrate()
            model = await sy.models.create(
                ModelCreate.model_validate(
                    {"provider": "p", "name": "m", "price_per_million_tokens": 1}
                )
            )
            chat = await sy.chats.create(ChatCreate(user_id="alice", model_id=model.id))

            async def busy() -> None:
                while True:
                    reply = await sy.messages.start(chat.id, user_id="alice")
                    for _ in range(5):
                        await sy.messages.append(reply.id, "x", user_id="alice")
                    await sy.messages.finish(reply.id, user_id="alice")

            async def busy_block() -> None:
                while True:
                    async with sy.transaction() as tx:
                        await tx.messages.add(
                            chat.id, MessageCreate(role="user", content="t"), user_id="alice"
                        )
                        await asyncio.sleep(0)
                        await tx.chats.get(chat.id, user_id="alice")

            for round_ in range(20):
                delay = 0.0005 * (round_ % 7)
                if how == "wait_for":
                    with pytest.raises(TimeoutError):
                        await asyncio.wait_for(busy(), timeout=0.002 + delay)
                elif how == "task_group":
                    # What asyncio.TaskGroup does when one task fails: cancel
                    # its siblings in flight.
                    async def fail_soon(delay: float = delay) -> None:
                        await asyncio.sleep(0.002 + delay)
                        raise RuntimeError("client gone")

                    group = [asyncio.create_task(c) for c in (busy(), busy(), fail_soon())]
                    await asyncio.wait(group, return_when=asyncio.FIRST_EXCEPTION)
                    for task in group:
                        task.cancel()
                    results = await asyncio.gather(*group, return_exceptions=True)
                    assert any(isinstance(r, RuntimeError) for r in results)
                else:
                    task = asyncio.create_task(busy() if how == "cancel" else busy_block())
                    await asyncio.sleep(0.002 + delay)
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await task
                # Right after the cancellation, nothing holds the database.
                waited = await asyncio.to_thread(_other_writer_gets_in, path)
                assert waited < 1.0, f"the write lock was held {waited:.2f} s after a cancel"
            # and the facade still works, with a consistent chat
            ok = MessageCreate(role="user", content="ok")
            await sy.messages.add(chat.id, ok, user_id="alice")
            page = await sy.messages.list(chat.id, user_id="alice", limit=1000)
            assert [m.seq for m in page.items] == list(range(1, len(page.items) + 1))
            stored = await sy.chats.get(chat.id, user_id="alice")
            assert stored.message_count == len(page.items)

    asyncio.run(main())
