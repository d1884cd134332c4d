"""MessageService (add, get, list) on both backends."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from synergia_core import (
    Attachment,
    ChatCreate,
    ChatNotFound,
    InvalidInputError,
    MessageCreate,
    MessageNotFound,
    MessageRead,
    MessageStatus,
    ModelNotFound,
    ModelUnavailableError,
    Role,
    ServiceConfig,
    Synergia,
    ToolCall,
    Usage,
)
from tests.conftest import FacadeFactory
from tests.helpers import make_model


def user_says(sy: Synergia, chat_id: uuid.UUID, text: str, user: str = "alice") -> MessageRead:
    return sy.messages.add(chat_id, MessageCreate(role=Role.user, content=text), user_id=user)


def test_design_example(sy: Synergia) -> None:
    gpt = make_model(sy, context_window=128_000)
    chat = sy.chats.create(ChatCreate(user_id="alice", title="Rome", model_id=gpt.id))
    q = user_says(sy, chat.id, "Plan 3 days")
    a = sy.messages.add(
        chat.id,
        MessageCreate(
            role="assistant",
            content="Day 1 ...",
            model_id=gpt.id,
            usage=Usage(input_tokens=12, output_tokens=420),
        ),
        user_id="alice",
    )
    assert a.parent_id == q.id
    assert a.cost == Decimal("0.00423")
    assert (q.seq, a.seq) == (1, 2)
    assert q.parent_id is None
    assert a.status is MessageStatus.complete
    assert sy.messages.get(a.id, user_id="alice") == a
    chat = sy.chats.get(chat.id, user_id="alice")
    assert chat.message_count == 2
    assert chat.current_message_id == a.id
    assert chat.last_message_at == a.created_at


def test_everything_a_message_carries_round_trips(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    call = ToolCall(id="call_1", name="weather", arguments={"city": "Rome", "days": [1, 2]})
    assistant = sy.messages.add(
        chat.id,
        MessageCreate(
            role=Role.assistant,
            content="",
            model_id=model.id,
            tool_calls=[call],
            attachments=[
                Attachment(kind="image", uri="s3://b/cat.png", mime_type="image/png", size_bytes=3)
            ],
            metadata={"latency_ms": 12.5, "nested": {"ok": True}},
        ),
        user_id="alice",
    )
    tool = sy.messages.add(
        chat.id,
        MessageCreate(role=Role.tool, content="22C, sunny", tool_call_id="call_1"),
        user_id="alice",
    )
    stored = sy.messages.list(chat.id, user_id="alice").items
    assert stored == [assistant, tool]
    assert stored[0].tool_calls == [call]
    assert stored[0].attachments is not None
    assert stored[0].attachments[0].size_bytes == 3
    assert stored[0].metadata == {"latency_ms": 12.5, "nested": {"ok": True}}
    assert stored[1].tool_call_id == "call_1"
    assert stored[1].tool_calls is None


def test_explicit_parent_makes_a_branch(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    root = user_says(sy, chat.id, "root")
    user_says(sy, chat.id, "child one")
    branch = sy.messages.add(
        chat.id, MessageCreate(role="user", content="child two", parent_id=root.id), user_id="alice"
    )
    assert branch.parent_id == root.id
    assert branch.seq == 3
    assert sy.chats.get(chat.id, user_id="alice").current_message_id == branch.id
    assert user_says(sy, chat.id, "next").parent_id == branch.id


def test_parent_rules(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    other_chat = sy.chats.create(ChatCreate(user_id="alice"))
    bobs_chat = sy.chats.create(ChatCreate(user_id="bob"))
    foreign = user_says(sy, other_chat.id, "elsewhere")
    bobs = user_says(sy, bobs_chat.id, "bob's", user="bob")
    missing = uuid.uuid4()
    with pytest.raises(InvalidInputError, match="another chat"):
        sy.messages.add(
            chat.id, MessageCreate(role="user", content="x", parent_id=foreign.id), user_id="alice"
        )
    with pytest.raises(MessageNotFound) as caught:
        sy.messages.add(
            chat.id, MessageCreate(role="user", content="x", parent_id=missing), user_id="alice"
        )
    assert caught.value.id == missing
    with pytest.raises(MessageNotFound):  # another user's message does not exist for alice
        sy.messages.add(
            chat.id, MessageCreate(role="user", content="x", parent_id=bobs.id), user_id="alice"
        )
    assert sy.chats.get(chat.id, user_id="alice").message_count == 0


def test_model_rules(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    model = make_model(sy)
    usage = Usage(input_tokens=1, output_tokens=1)
    with pytest.raises(ModelNotFound):
        sy.messages.add(
            chat.id,
            MessageCreate(role="assistant", content="x", model_id=uuid.uuid4()),
            user_id="alice",
        )
    sy.models.disable(model.id)
    with pytest.raises(ModelUnavailableError) as caught:
        sy.messages.add(
            chat.id,
            MessageCreate(role="assistant", content="x", model_id=model.id),
            user_id="alice",
        )
    assert caught.value.reason == "disabled"
    sy.models.enable(model.id)
    sy.models.delete(model.id)
    with pytest.raises(ModelUnavailableError, match="deleted"):
        sy.messages.add(
            chat.id,
            MessageCreate(role="assistant", content="x", model_id=model.id),
            user_id="alice",
        )
    with pytest.raises(InvalidInputError, match="usage needs a model_id"):
        sy.messages.add(
            chat.id, MessageCreate(role="assistant", content="x", usage=usage), user_id="alice"
        )
    assert sy.chats.get(chat.id, user_id="alice").message_count == 0


def test_messages_keep_pointing_at_a_deleted_model(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    reply = sy.messages.add(
        chat.id,
        MessageCreate(
            role="assistant",
            content="x",
            model_id=model.id,
            usage=Usage(input_tokens=10, output_tokens=10),
        ),
        user_id="alice",
    )
    sy.models.delete(model.id)
    assert sy.messages.get(reply.id, user_id="alice").model_id == model.id
    assert sy.usage.totals(model_id=model.id).cost == reply.cost


def test_chat_must_be_live_and_owned(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    with pytest.raises(ChatNotFound):
        user_says(sy, chat.id, "hi", user="mallory")
    with pytest.raises(ChatNotFound):
        user_says(sy, uuid.uuid4(), "hi")
    sy.chats.delete(chat.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        user_says(sy, chat.id, "hi")


@pytest.mark.parametrize(
    "data",
    [
        MessageCreate(role="user", content="a\x00b"),
        MessageCreate(role="user", content="ok", metadata={"k": ["\x00"]}),
        MessageCreate(role="tool", content="ok", tool_call_id="c\x00"),
        MessageCreate(
            role="assistant",
            content="ok",
            tool_calls=[ToolCall(id="1", name="f", arguments={"q": "\x00"})],
        ),
        MessageCreate(role="user", content="\ud800 lone surrogate"),
    ],
    ids=["content", "metadata", "tool_call_id", "tool_arguments", "surrogate"],
)
def test_unstorable_text_is_refused_and_nothing_written(sy: Synergia, data: MessageCreate) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    with pytest.raises(InvalidInputError):
        sy.messages.add(chat.id, data, user_id="alice")
    assert sy.chats.get(chat.id, user_id="alice").message_count == 0
    assert sy.messages.list(chat.id, user_id="alice").items == []


def test_content_limit_is_configurable(facade: FacadeFactory) -> None:
    sy = facade(ServiceConfig(max_content_chars=10))
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    user_says(sy, chat.id, "x" * 10)
    with pytest.raises(InvalidInputError, match="limit is 10"):
        user_says(sy, chat.id, "x" * 11)


def test_pages_of_120_messages(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    sent = [user_says(sy, chat.id, f"m{i}") for i in range(120)]
    first = sy.messages.list(chat.id, user_id="alice", limit=50)
    assert [m.seq for m in first.items] == list(range(71, 121))  # newest 50, ascending
    assert first.next_cursor is not None
    second = sy.messages.list(chat.id, user_id="alice", limit=50, cursor=first.next_cursor)
    assert [m.seq for m in second.items] == list(range(21, 71))
    assert second.next_cursor is not None
    third = sy.messages.list(chat.id, user_id="alice", limit=50, cursor=second.next_cursor)
    assert [m.seq for m in third.items] == list(range(1, 21))
    assert third.next_cursor is None
    assert third.items + second.items + first.items == sent
    exact = sy.messages.list(chat.id, user_id="alice", limit=120)
    assert exact.next_cursor is None
    assert len(exact.items) == 120


def test_list_of_an_empty_and_of_a_missing_chat(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    empty = sy.messages.list(chat.id, user_id="alice")
    assert (empty.items, empty.next_cursor) == ([], None)
    with pytest.raises(ChatNotFound):
        sy.messages.list(chat.id, user_id="bob")
    with pytest.raises(ChatNotFound):
        sy.messages.list(uuid.uuid4(), user_id="alice")


def test_cursor_of_another_chat_is_refused(sy: Synergia) -> None:
    one = sy.chats.create(ChatCreate(user_id="alice"))
    two = sy.chats.create(ChatCreate(user_id="alice"))
    for i in range(3):
        user_says(sy, one.id, str(i))
    cursor = sy.messages.list(one.id, user_id="alice", limit=1).next_cursor
    with pytest.raises(InvalidInputError, match="cursor"):
        sy.messages.list(two.id, user_id="alice", cursor=cursor)


def test_concurrent_writers_get_gap_free_seqs(db_url: str) -> None:
    writers, each = 8, 25
    with Synergia(db_url) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
        errors: list[BaseException] = []

        def write(n: int) -> None:
            try:
                for i in range(each):
                    user_says(sy, chat.id, f"{n}:{i}")
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        messages = sy.messages.list(chat.id, user_id="alice", limit=1000).items
        assert [m.seq for m in messages] == list(range(1, writers * each + 1))
        # every message hangs under the one written before it: a single chain
        assert [m.parent_id for m in messages[1:]] == [m.id for m in messages[:-1]]
        for n in range(writers):  # each writer's own order is kept
            mine = [int(m.content.split(":")[1]) for m in messages if m.content.startswith(f"{n}:")]
            assert mine == list(range(each))
        chat_row = sy.chats.get(chat.id, user_id="alice")
        assert chat_row.message_count == writers * each
        assert chat_row.current_message_id == messages[-1].id


def test_append_costs_a_constant_number_of_statements(sy: Synergia, backend: str) -> None:
    """One statement, and no BEGIN around it, whatever the chat's size: on
    PostgreSQL it locks and bumps the chat row and inserts; on SQLite it
    inserts from the chat row and the schema's trigger bumps it."""
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(sy.engine, "before_cursor_execute", count)
    per_size = {}
    for size in (1, 10, 300):
        while sy.chats.get(chat.id, user_id="alice").message_count < size:
            user_says(sy, chat.id, "filler")
        statements.clear()
        user_says(sy, chat.id, "measured")
        per_size[size] = [s.split()[0].upper() for s in statements if not s.startswith("BEGIN")]
    sa.event.remove(sy.engine, "before_cursor_execute", count)
    expected = ["WITH"] if backend == "postgresql" else ["INSERT"]
    assert per_size[1] == per_size[10] == per_size[300] == expected
