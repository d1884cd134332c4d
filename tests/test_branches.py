"""Branches: edit, regenerate, siblings, select, thread."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import sqlalchemy as sa

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    InvalidInputError,
    InvalidStateError,
    MessageCreate,
    MessageNotFound,
    MessageRead,
    MessageStatus,
    ModelUnavailableError,
    Role,
    Synergia,
)
from tests.helpers import chain, make_model


def add(sy: Synergia, chat_id: uuid.UUID, role: str, text: str, **extra: object) -> MessageRead:
    data = MessageCreate.model_validate({"role": role, "content": text, **extra})
    return sy.messages.add(chat_id, data, user_id="alice")


def contents(messages: list[MessageRead]) -> list[str]:
    return [m.content for m in messages]


@contextmanager
def statements(sy: Synergia) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        text = str(args[2])
        if not text.startswith("BEGIN"):
            seen.append(text)

    sa.event.listen(sy.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sy.engine, "before_cursor_execute", record)


def test_a_tree_with_several_branches(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=model.id))
    u1 = add(sy, chat.id, "user", "u1")
    a1 = add(sy, chat.id, "assistant", "a1")
    u2 = add(sy, chat.id, "user", "u2")
    a2 = add(sy, chat.id, "assistant", "a2")

    u2b = sy.messages.edit(u2.id, "u2b", user_id="alice")
    assert (u2b.parent_id, u2b.role, u2b.seq) == (a1.id, Role.user, 5)
    assert sy.chats.get(chat.id, user_id="alice").current_message_id == u2b.id
    a2b = add(sy, chat.id, "assistant", "a2b")
    assert a2b.parent_id == u2b.id

    a2c = sy.messages.regenerate(a2b.id, user_id="alice")
    assert (a2c.parent_id, a2c.status, a2c.content, a2c.model_id) == (
        u2b.id,
        MessageStatus.streaming,
        "",
        model.id,
    )
    sy.messages.append(a2c.id, "a2c", user_id="alice")
    sy.messages.finish(a2c.id, user_id="alice")

    assert contents(sy.messages.siblings(u2.id, user_id="alice")) == ["u2", "u2b"]
    assert contents(sy.messages.siblings(a2c.id, user_id="alice")) == ["a2b", "a2c"]
    assert contents(sy.messages.siblings(a2.id, user_id="alice")) == ["a2"]
    assert contents(sy.messages.siblings(u1.id, user_id="alice")) == ["u1"]
    assert contents(sy.messages.thread(chat.id, user_id="alice")) == ["u1", "a1", "u2b", "a2c"]

    chat_now = sy.messages.select(u2.id, user_id="alice")  # back to the first branch
    assert chat_now.current_message_id == a2.id
    assert contents(sy.messages.thread(chat.id, user_id="alice")) == ["u1", "a1", "u2", "a2"]
    assert add(sy, chat.id, "user", "u3").parent_id == a2.id  # continues there

    # the newest leaf under a1 is now u3 (highest seq in its subtree)
    assert sy.messages.select(a1.id, user_id="alice").current_message_id is not None
    assert contents(sy.messages.thread(chat.id, user_id="alice"))[-1] == "u3"
    sy.messages.select(a2c.id, user_id="alice")  # a leaf selects itself
    assert contents(sy.messages.thread(chat.id, user_id="alice")) == ["u1", "a1", "u2b", "a2c"]

    assert contents(sy.messages.thread(chat.id, user_id="alice", leaf_id=u2.id)) == [
        "u1",
        "a1",
        "u2",
    ]
    assert contents(sy.messages.thread(chat.id, user_id="alice", limit=2)) == ["u2b", "a2c"]
    assert sy.chats.get(chat.id, user_id="alice").message_count == 8
    assert len(sy.messages.list(chat.id, user_id="alice").items) == 8  # every branch


def test_editing_a_root_adds_a_root(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    first = add(sy, chat.id, "user", "hello")
    add(sy, chat.id, "assistant", "hi")
    again = sy.messages.edit(first.id, "hello again", user_id="alice")
    assert again.parent_id is None
    assert contents(sy.messages.siblings(first.id, user_id="alice")) == ["hello", "hello again"]
    assert contents(sy.messages.thread(chat.id, user_id="alice")) == ["hello again"]


def test_edit_copies_tool_fields_but_not_usage(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    add(sy, chat.id, "user", "weather?")
    tool = add(sy, chat.id, "tool", "22C", tool_call_id="call_1", metadata={"k": 1})
    edited = sy.messages.edit(tool.id, "23C", user_id="alice")
    assert (edited.tool_call_id, edited.metadata, edited.role) == ("call_1", {"k": 1}, Role.tool)
    reply = add(
        sy,
        chat.id,
        "assistant",
        "x",
        model_id=str(model.id),
        usage={"input_tokens": 10, "output_tokens": 10},
    )
    assert reply.cost > 0
    rewritten = sy.messages.edit(reply.id, "y", user_id="alice")
    assert (rewritten.cost, rewritten.input_tokens, rewritten.model_id) == (Decimal(0), 0, None)


def test_regenerate_rules(sy: Synergia) -> None:
    model = make_model(sy)
    other = make_model(sy, "o3")
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    question = add(sy, chat.id, "user", "q")
    with pytest.raises(InvalidInputError, match="only assistant"):
        sy.messages.regenerate(question.id, user_id="alice")
    answer = add(sy, chat.id, "assistant", "a")  # no model, chat has none either
    with pytest.raises(InvalidInputError, match="no model"):
        sy.messages.regenerate(answer.id, user_id="alice")
    again = sy.messages.regenerate(answer.id, user_id="alice", model_id=other.id)
    assert again.model_id == other.id
    sy.messages.cancel(again.id, user_id="alice")
    sy.models.disable(model.id)
    with pytest.raises(ModelUnavailableError):
        sy.messages.regenerate(answer.id, user_id="alice", model_id=model.id)


def test_edit_of_a_streaming_message_is_refused(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    streaming = sy.messages.start(chat.id, user_id="alice", model_id=model.id)
    with pytest.raises(InvalidStateError) as caught:
        sy.messages.edit(streaming.id, "x", user_id="alice")
    assert caught.value.state == "streaming"


def test_thread_errors_and_empty_chat(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    other = sy.chats.create(ChatCreate(user_id="alice"))
    assert sy.messages.thread(chat.id, user_id="alice") == []
    foreign = add(sy, other.id, "user", "elsewhere")
    with pytest.raises(InvalidInputError, match="another chat"):
        sy.messages.thread(chat.id, user_id="alice", leaf_id=foreign.id)
    with pytest.raises(MessageNotFound):
        sy.messages.thread(chat.id, user_id="alice", leaf_id=uuid.uuid4())
    with pytest.raises(ChatNotFound):
        sy.messages.thread(chat.id, user_id="bob")
    with pytest.raises(InvalidInputError, match="limit"):
        sy.messages.thread(chat.id, user_id="alice", limit=0)
    for call in (
        lambda: sy.messages.siblings(uuid.uuid4(), user_id="alice"),
        lambda: sy.messages.select(uuid.uuid4(), user_id="alice"),
        lambda: sy.messages.edit(uuid.uuid4(), "x", user_id="alice"),
        lambda: sy.messages.regenerate(uuid.uuid4(), user_id="alice"),
    ):
        with pytest.raises(MessageNotFound):
            call()


def test_thread_with_a_limit_is_one_statement_on_a_10000_message_chat(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    chain(sy, chat.id, "alice", 10_000)
    with statements(sy) as seen:
        tail = sy.messages.thread(chat.id, user_id="alice", limit=50)
    assert len(seen) == 1
    assert [m.seq for m in tail] == list(range(9_951, 10_001))
    assert [m.parent_id for m in tail[1:]] == [m.id for m in tail[:-1]]
    whole = sy.messages.thread(chat.id, user_id="alice")
    assert len(whole) == 10_000
    assert whole[0].parent_id is None
