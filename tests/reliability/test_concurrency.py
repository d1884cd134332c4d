"""Many writers at once: nothing lost, nothing duplicated, order kept.

Threads share one facade (one pool); processes each open their own. SQLite
writers queue on the write lock taken at ``BEGIN IMMEDIATE`` and the busy
timeout, so they wait and succeed instead of failing with "database is
locked".
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from synergia_core import (
    ChatCreate,
    MessageCreate,
    MessageRead,
    MessageStatus,
    Synergia,
)
from tests.helpers import make_model

WRITERS_THREADS = 8
WRITERS_PROCESSES = 4
EACH = 200


def _all_messages(sy: Synergia, chat_id: uuid.UUID, user: str) -> list[MessageRead]:
    items: list[MessageRead] = []
    cursor = None
    while True:
        page = sy.messages.list(chat_id, user_id=user, limit=1000, cursor=cursor)
        items[:0] = page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def _check_chat(sy: Synergia, chat_id: uuid.UUID, user: str, writers: list[str]) -> None:
    messages = _all_messages(sy, chat_id, user)
    contents = [m.content for m in messages]
    assert len(contents) == len(set(contents)), "a message was stored twice"
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1)), "seq has a gap"
    for writer in writers:  # each writer's own order is preserved
        mine = [int(c.split(":")[1]) for c in contents if c.split(":")[0] == writer]
        assert mine == list(range(EACH)), f"writer {writer} lost or reordered messages"
    chat = sy.chats.get(chat_id, user_id=user)
    assert chat.message_count == len(messages)
    assert chat.current_message_id == messages[-1].id
    # all appends went under the current leaf: one chain, no two children of a message
    assert [m.parent_id for m in messages[1:]] == [m.id for m in messages[:-1]]


def _run_threads(target: Callable[[int], None], count: int) -> None:
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            target(n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.slow
def test_threads_appending_to_one_chat(db_url: str) -> None:
    with Synergia(db_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))

        def write(n: int) -> None:
            for i in range(EACH):
                sy.messages.add(
                    chat.id, MessageCreate(role="user", content=f"t{n}:{i}"), user_id="alice"
                )

        _run_threads(write, WRITERS_THREADS)
        _check_chat(sy, chat.id, "alice", [f"t{n}" for n in range(WRITERS_THREADS)])


@pytest.mark.slow
def test_threads_appending_to_chats_of_one_user(db_url: str) -> None:
    with Synergia(db_url) as sy:
        chats = [sy.chats.create(ChatCreate(user_id="alice")) for _ in range(WRITERS_THREADS)]

        def write(n: int) -> None:
            for i in range(EACH):
                sy.messages.add(
                    chats[n].id, MessageCreate(role="user", content=f"t{n}:{i}"), user_id="alice"
                )

        _run_threads(write, WRITERS_THREADS)
        for n, chat in enumerate(chats):
            _check_chat(sy, chat.id, "alice", [f"t{n}"])
        assert sy.usage.totals(user_id="alice").message_count == WRITERS_THREADS * EACH


def _process_writer(url: str, chat_ids: list[str], name: str, queue: Any) -> None:
    try:
        with Synergia(url) as sy:
            for i in range(EACH):
                chat_id = chat_ids[i % len(chat_ids)]
                sy.messages.add(
                    chat_id, MessageCreate(role="user", content=f"{name}:{i}"), user_id="alice"
                )
        queue.put("ok")
    except BaseException as exc:  # reported to the parent
        queue.put(f"{type(exc).__name__}: {exc}")


def _run_processes(url: str, plan: list[tuple[str, list[str]]]) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_process_writer, args=(url, chats, name, queue))
        for name, chats in plan
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert results == ["ok"] * len(plan)


@pytest.mark.slow
def test_processes_appending_to_one_chat(db_url: str) -> None:
    with Synergia(db_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
    names = [f"p{n}" for n in range(WRITERS_PROCESSES)]
    _run_processes(db_url, [(name, [str(chat.id)]) for name in names])
    with Synergia(db_url) as sy:
        _check_chat(sy, chat.id, "alice", names)


@pytest.mark.slow
def test_processes_appending_to_chats_of_one_user(db_url: str) -> None:
    with Synergia(db_url) as sy:
        chats = [sy.chats.create(ChatCreate(user_id="alice")) for _ in range(WRITERS_PROCESSES)]
    names = [f"p{n}" for n in range(WRITERS_PROCESSES)]
    _run_processes(
        db_url, [(name, [str(chat.id)]) for name, chat in zip(names, chats, strict=True)]
    )
    with Synergia(db_url) as sy:
        for name, chat in zip(names, chats, strict=True):
            _check_chat(sy, chat.id, "alice", [name])


@pytest.mark.slow
def test_edits_regenerations_and_streaming_on_one_branch(db_url: str) -> None:
    """Writers race on one branch: chunks streamed by several threads into one
    reply, while others edit the question and regenerate the answer. No chunk
    is lost, the chat ends with exactly one current leaf, which is a real
    message of the chat, and every message is counted."""
    chunk_writers, chunks, branchers, branches = 4, 50, 4, 10
    with Synergia(db_url) as sy:
        model = make_model(sy)
        chat = sy.chats.create(ChatCreate(user_id="alice", model_id=model.id))
        question = sy.messages.add(
            chat.id, MessageCreate(role="user", content="question"), user_id="alice"
        )
        answer = sy.messages.add(
            chat.id,
            MessageCreate(role="assistant", content="answer", model_id=model.id),
            user_id="alice",
        )
        reply = sy.messages.regenerate(answer.id, user_id="alice")

        def work(n: int) -> None:
            if n < chunk_writers:
                for i in range(chunks):
                    sy.messages.append(reply.id, f"[{n}:{i}]", user_id="alice")
            elif n % 2 == 0:
                for i in range(branches):
                    sy.messages.edit(question.id, f"question v{n}.{i}", user_id="alice")
            else:
                for _ in range(branches):
                    regenerated = sy.messages.regenerate(answer.id, user_id="alice")
                    sy.messages.cancel(regenerated.id, user_id="alice")

        _run_threads(work, chunk_writers + branchers)
        done = sy.messages.finish(reply.id, user_id="alice")
        assert done.status is MessageStatus.complete
        for n in range(chunk_writers):  # every chunk, each writer's in order
            positions = [done.content.index(f"[{n}:{i}]") for i in range(chunks)]
            assert positions == sorted(positions)
        assert len(done.content) == sum(
            len(f"[{n}:{i}]") for n in range(chunk_writers) for i in range(chunks)
        )
        everything = _all_messages(sy, chat.id, "alice")
        expected = 3 + (branchers // 2) * branches * 2
        assert len(everything) == expected
        final = sy.chats.get(chat.id, user_id="alice")
        assert final.message_count == expected
        assert final.current_message_id in {m.id for m in everything}
        path = sy.messages.thread(chat.id, user_id="alice")
        assert path[-1].id == final.current_message_id
        assert path[0].parent_id is None
        assert [m.parent_id for m in path[1:]] == [m.id for m in path[:-1]]
