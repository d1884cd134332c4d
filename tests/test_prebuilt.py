"""Prebuilt statements (the hot paths run as driver SQL on the engines
synergia-core configures) give what ``Connection.execute`` gives, and keep
the engine's events (every backend)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from synergia_core import (
    ChatCreate,
    ChatService,
    MessageCreate,
    MessageService,
    Synergia,
    Usage,
)
from synergia_core.db import PREBUILT
from tests.helpers import make_model


def _world(sy: Synergia) -> dict[str, Any]:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice", title="t", model_id=model.id))
    question = sy.messages.add(chat.id, MessageCreate(role="user", content="q"), user_id="alice")
    sy.messages.add(
        chat.id,
        MessageCreate(
            role="assistant",
            content="a",
            model_id=model.id,
            usage=Usage(input_tokens=10, output_tokens=5, cache_read_tokens=2),
            metadata={"k": [1, "two"]},
        ),
        user_id="alice",
    )
    sy.messages.add(
        chat.id,
        MessageCreate(role="user", content="edited", parent_id=question.parent_id),
        user_id="alice",
    )
    return {"chat": chat, "question": question}


def test_reads_equal_the_classic_path(db_url: str) -> None:
    with Synergia(db_url) as sy:
        w = _world(sy)
        assert sy.engine.get_execution_options()[PREBUILT] is not None
        fast = (
            sy.messages.list(w["chat"].id, user_id="alice", limit=50).items,
            sy.messages.thread(w["chat"].id, user_id="alice"),
            sy.messages.siblings(w["question"].id, user_id="alice"),
            sy.messages.get(w["question"].id, user_id="alice"),
            sy.chats.list(user_id="alice").items,
            sy.chats.get(w["chat"].id, user_id="alice"),
        )
        assert fast[0][1].cost > 0
        assert fast[0][1].metadata == {"k": [1, "two"]}
        # A host's own engine has no prebuilt statements: Connection.execute.
        host = sa.create_engine(sy.engine.url)
        try:
            assert PREBUILT not in host.get_execution_options()
            with host.connect() as connection:
                messages = MessageService.from_session(connection)
                chats = ChatService.from_session(connection)
                classic = (
                    messages.list(w["chat"].id, user_id="alice", limit=50).items,
                    messages.thread(w["chat"].id, user_id="alice"),
                    messages.siblings(w["question"].id, user_id="alice"),
                    messages.get(w["question"].id, user_id="alice"),
                    chats.list(user_id="alice").items,
                    chats.get(w["chat"].id, user_id="alice"),
                )
        finally:
            host.dispose()
        assert fast == classic
        for got, expected in zip(fast[0], classic[0], strict=True):
            assert [type(value) for value in got.model_dump().values()] == [
                type(value) for value in expected.model_dump().values()
            ]


def test_engine_events_see_prebuilt_statements(db_url: str) -> None:
    with Synergia(db_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
        seen: list[str] = []

        def record(*args: Any) -> None:
            seen.append(args[2])

        sa.event.listen(sy.engine, "before_cursor_execute", record)
        try:
            sy.messages.add(chat.id, MessageCreate(role="user", content="x"), user_id="alice")
            sy.messages.list(chat.id, user_id="alice")
        finally:
            sa.event.remove(sy.engine, "before_cursor_execute", record)
        assert any(statement.lstrip().upper().startswith(("INSERT", "WITH")) for statement in seen)
        assert any("ORDER BY" in statement for statement in seen)
