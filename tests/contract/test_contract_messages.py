"""Contract: messages (``sy.messages``), written from DESIGN.md only."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from synergia_core import (
    Attachment,
    ChatCreate,
    ChatNotFound,
    ChatRead,
    InvalidInputError,
    MessageCreate,
    MessageNotFound,
    MessageRead,
    ModelCreate,
    ModelNotFound,
    ModelUnavailableError,
    Page,
    Role,
    Synergia,
    ToolCall,
    Usage,
)


def new_chat(sy: Synergia, user_id: str = "alice") -> ChatRead:
    return sy.chats.create(ChatCreate(user_id=user_id))


def say(
    sy: Synergia,
    chat: ChatRead,
    text: str,
    *,
    role: str = "user",
    parent_id: uuid.UUID | None = None,
    user_id: str = "alice",
) -> MessageRead:
    return sy.messages.add(
        chat.id,
        MessageCreate.model_validate({"role": role, "content": text, "parent_id": parent_id}),
        user_id=user_id,
    )


def walk(sy: Synergia, chat: ChatRead, limit: int) -> list[list[MessageRead]]:
    pages: list[list[MessageRead]] = []
    cursor: str | None = None
    for _ in range(1000):
        page = sy.messages.list(chat.id, user_id="alice", limit=limit, cursor=cursor)
        pages.append(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return pages
    raise AssertionError("pagination never ended")


def assert_untouched(sy: Synergia, chat: ChatRead, user_id: str = "alice") -> None:
    """The chat is exactly as it was and holds exactly the messages it held."""
    before_messages = [m.id for m in sy.messages.list(chat.id, user_id=user_id, limit=1000).items]
    assert sy.chats.get(chat.id, user_id=user_id) == chat
    assert len(before_messages) == chat.message_count


# --- add / get ----------------------------------------------------------------------------


def test_add_and_get(sy: Synergia) -> None:
    chat = new_chat(sy)
    message = say(sy, chat, "Plan 3 days")
    assert isinstance(message, MessageRead)
    assert message.id.version == 7
    assert message.chat_id == chat.id
    assert message.role == Role.user
    assert message.content == "Plan 3 days"
    assert message.parent_id is None
    assert message.created_at.utcoffset() == timedelta(0)
    assert message.updated_at.utcoffset() == timedelta(0)
    assert message.metadata == {}
    assert sy.messages.get(message.id, user_id="alice") == message


def test_unicode_content_round_trips(sy: Synergia) -> None:
    chat = new_chat(sy)
    text = "Ciao 👋 — ñ ü 漢字 \u200b\n\ttab ' \" \\ %s ? $1"
    message = say(sy, chat, text)
    assert sy.messages.get(message.id, user_id="alice").content == text


def test_every_role_can_be_added(sy: Synergia) -> None:
    chat = new_chat(sy)
    system = say(sy, chat, "sys", role="system")
    user = say(sy, chat, "q")
    call = ToolCall(id="call_1", name="weather", arguments={"city": "Rome", "days": [1, 2]})
    assistant = sy.messages.add(
        chat.id,
        MessageCreate(role="assistant", content="", tool_calls=[call]),
        user_id="alice",
    )
    tool = sy.messages.add(
        chat.id,
        MessageCreate(role="tool", content="22C", tool_call_id="call_1"),
        user_id="alice",
    )
    assert [m.role for m in (system, user, assistant, tool)] == [
        Role.system,
        Role.user,
        Role.assistant,
        Role.tool,
    ]
    fetched = sy.messages.get(assistant.id, user_id="alice")
    assert fetched.tool_calls == [call]
    assert fetched.tool_call_id is None
    fetched_tool = sy.messages.get(tool.id, user_id="alice")
    assert fetched_tool.tool_call_id == "call_1"
    assert fetched_tool.tool_calls is None


def test_attachments_and_metadata_round_trip(sy: Synergia) -> None:
    chat = new_chat(sy)
    attachments = [
        Attachment(kind="image", uri="s3://b/cat.png", mime_type="image/png", size_bytes=10),
        Attachment(kind="file", uri="https://x/y.pdf", mime_type="application/pdf", name="y.pdf"),
    ]
    message = sy.messages.add(
        chat.id,
        MessageCreate(
            role="user",
            content="look",
            attachments=attachments,
            metadata={"client": "web", "nested": {"a": [1, None, True]}},
        ),
        user_id="alice",
    )
    fetched = sy.messages.get(message.id, user_id="alice")
    assert fetched.attachments == attachments
    assert fetched.metadata == {"client": "web", "nested": {"a": [1, None, True]}}


def test_usage_is_stored(sy: Synergia) -> None:
    model = sy.models.create(
        ModelCreate.model_validate(
            {
                "provider": "p",
                "name": "m",
                "input_price_per_million": "1",
                "output_price_per_million": "1",
            }
        )
    )
    chat = new_chat(sy)
    usage = Usage(
        input_tokens=100,
        output_tokens=50,
        cache_read_tokens=30,
        cache_write_tokens=20,
        reasoning_tokens=10,
    )
    message = sy.messages.add(
        chat.id,
        MessageCreate(role="assistant", content="a", model_id=model.id, usage=usage),
        user_id="alice",
    )
    fetched = sy.messages.get(message.id, user_id="alice")
    assert fetched.model_id == model.id
    assert (
        fetched.input_tokens,
        fetched.output_tokens,
        fetched.cache_read_tokens,
        fetched.cache_write_tokens,
        fetched.reasoning_tokens,
    ) == (100, 50, 30, 20, 10)


def test_get_unknown_message(sy: Synergia) -> None:
    missing = uuid.uuid4()
    with pytest.raises(MessageNotFound) as caught:
        sy.messages.get(missing, user_id="alice")
    assert caught.value.id == missing
    assert caught.value.entity == "message"


def test_add_to_unknown_chat(sy: Synergia) -> None:
    missing = uuid.uuid4()
    with pytest.raises(ChatNotFound) as caught:
        sy.messages.add(missing, MessageCreate(role="user", content="x"), user_id="alice")
    assert caught.value.id == missing


def test_add_naming_an_unknown_model_is_refused(sy: Synergia) -> None:
    chat = new_chat(sy)
    with pytest.raises((ModelNotFound, ModelUnavailableError)):
        sy.messages.add(
            chat.id,
            MessageCreate(role="assistant", content="x", model_id=uuid.uuid4()),
            user_id="alice",
        )
    assert_untouched(sy, chat)


# --- seq and tree -------------------------------------------------------------------------


def test_seq_is_gap_free_and_increasing_per_chat(sy: Synergia) -> None:
    a = new_chat(sy)
    b = new_chat(sy)
    seqs_a = [say(sy, a, f"a{i}").seq for i in range(4)]
    seqs_b = [say(sy, b, f"b{i}").seq for i in range(3)]
    seqs_a.append(say(sy, a, "a4").seq)
    assert seqs_a == list(range(seqs_a[0], seqs_a[0] + 5))
    assert seqs_b == list(range(seqs_b[0], seqs_b[0] + 3))
    assert seqs_a[0] == seqs_b[0]


def test_parent_defaults_to_the_current_leaf(sy: Synergia) -> None:
    chat = new_chat(sy)
    first = say(sy, chat, "q")
    second = say(sy, chat, "a", role="assistant")
    third = say(sy, chat, "q2")
    assert first.parent_id is None
    assert second.parent_id == first.id
    assert third.parent_id == second.id
    assert sy.chats.get(chat.id, user_id="alice").current_message_id == third.id


def test_explicit_parent_makes_a_branch(sy: Synergia) -> None:
    chat = new_chat(sy)
    root = say(sy, chat, "q")
    say(sy, chat, "a1", role="assistant")
    branch = say(sy, chat, "a2", role="assistant", parent_id=root.id)
    assert branch.parent_id == root.id
    after = sy.chats.get(chat.id, user_id="alice")
    assert after.message_count == 3
    listed = sy.messages.list(chat.id, user_id="alice").items
    assert [m.content for m in listed] == ["q", "a1", "a2"]


def test_unknown_parent_is_message_not_found_and_writes_nothing(sy: Synergia) -> None:
    chat = new_chat(sy)
    say(sy, chat, "q")
    chat = sy.chats.get(chat.id, user_id="alice")
    missing = uuid.uuid4()
    with pytest.raises(MessageNotFound) as caught:
        say(sy, chat, "x", parent_id=missing)
    assert caught.value.id == missing
    assert_untouched(sy, chat)


def test_parent_from_another_chat_is_invalid_input_and_writes_nothing(sy: Synergia) -> None:
    other = new_chat(sy)
    foreign = say(sy, other, "elsewhere")
    chat = new_chat(sy)
    say(sy, chat, "q")
    chat = sy.chats.get(chat.id, user_id="alice")
    with pytest.raises(InvalidInputError):
        say(sy, chat, "x", parent_id=foreign.id)
    assert_untouched(sy, chat)
    assert_untouched(sy, sy.chats.get(other.id, user_id="alice"))


def test_parent_from_another_users_chat_is_message_not_found(sy: Synergia) -> None:
    alice_chat = new_chat(sy, "alice")
    secret = say(sy, alice_chat, "secret")
    mallory_chat = new_chat(sy, "mallory")
    with pytest.raises(MessageNotFound) as caught:
        say(sy, mallory_chat, "x", parent_id=secret.id, user_id="mallory")
    assert caught.value.id == secret.id
    assert_untouched(sy, mallory_chat, "mallory")
    assert sy.messages.list(alice_chat.id, user_id="alice").items == [secret]


# --- ownership ----------------------------------------------------------------------------


MESSAGE_CALLS: dict[str, Callable[[Synergia, MessageRead], object]] = {
    "messages.get": lambda sy, m: sy.messages.get(m.id, user_id="mallory"),
}


@pytest.mark.parametrize("call", list(MESSAGE_CALLS))
def test_another_users_message_is_not_found(sy: Synergia, call: str) -> None:
    chat = new_chat(sy)
    message = say(sy, chat, "secret")
    chat = sy.chats.get(chat.id, user_id="alice")
    with pytest.raises(MessageNotFound) as caught:
        MESSAGE_CALLS[call](sy, message)
    assert caught.value.id == message.id
    assert_untouched(sy, chat)
    assert sy.messages.get(message.id, user_id="alice") == message


def test_another_users_chat_cannot_be_listed_or_written(sy: Synergia) -> None:
    chat = new_chat(sy)
    say(sy, chat, "secret")
    chat = sy.chats.get(chat.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        sy.messages.list(chat.id, user_id="mallory")
    with pytest.raises(ChatNotFound):
        say(sy, chat, "intrusion", user_id="mallory")
    assert_untouched(sy, chat)


# --- list ---------------------------------------------------------------------------------


def test_list_returns_a_page_in_ascending_seq(sy: Synergia) -> None:
    chat = new_chat(sy)
    sent = [say(sy, chat, str(i)) for i in range(5)]
    page = sy.messages.list(chat.id, user_id="alice")
    assert isinstance(page, Page)
    assert page.items == sent
    assert page.next_cursor is None


def test_list_of_an_empty_chat(sy: Synergia) -> None:
    chat = new_chat(sy)
    page = sy.messages.list(chat.id, user_id="alice")
    assert (page.items, page.next_cursor) == ([], None)


def test_first_page_is_the_newest_and_the_cursor_walks_older(sy: Synergia) -> None:
    chat = new_chat(sy)
    sent = [say(sy, chat, str(i)) for i in range(7)]
    pages = walk(sy, chat, limit=3)
    assert [[m.content for m in page] for page in pages] == [
        ["4", "5", "6"],
        ["1", "2", "3"],
        ["0"],
    ]
    flat = [m for page in reversed(pages) for m in page]
    assert flat == sent
    first = sy.messages.list(chat.id, user_id="alice", limit=3)
    assert first.next_cursor is not None


def test_walk_with_limit_one_and_exact_multiple(sy: Synergia) -> None:
    chat = new_chat(sy)
    sent = [say(sy, chat, str(i)) for i in range(4)]
    for limit in (1, 2, 4, 1000):
        pages = walk(sy, chat, limit)
        assert [m for page in reversed(pages) for m in page] == sent
        assert all(len(page) <= limit for page in pages)
        assert all([m.seq for m in page] == sorted(m.seq for m in page) for page in pages)


def test_default_limit_is_fifty(sy: Synergia) -> None:
    chat = new_chat(sy)
    for i in range(51):
        say(sy, chat, str(i))
    page = sy.messages.list(chat.id, user_id="alice")
    assert len(page.items) == 50
    assert page.items[0].content == "1"
    assert page.items[-1].content == "50"
    assert page.next_cursor is not None
    rest = sy.messages.list(chat.id, user_id="alice", cursor=page.next_cursor)
    assert [m.content for m in rest.items] == ["0"]
    assert rest.next_cursor is None


def test_list_covers_every_branch(sy: Synergia) -> None:
    chat = new_chat(sy)
    root = say(sy, chat, "q")
    say(sy, chat, "a1", role="assistant")
    say(sy, chat, "a2", role="assistant", parent_id=root.id)
    say(sy, chat, "a3", role="assistant", parent_id=root.id)
    pages = walk(sy, chat, limit=2)
    assert [m.content for page in reversed(pages) for m in page] == ["q", "a1", "a2", "a3"]
    assert sy.chats.get(chat.id, user_id="alice").message_count == 4


def test_list_of_unknown_chat(sy: Synergia) -> None:
    with pytest.raises(ChatNotFound):
        sy.messages.list(uuid.uuid4(), user_id="alice")


@pytest.mark.parametrize("limit", [0, -5, 1001])
def test_limit_out_of_range(sy: Synergia, limit: int) -> None:
    chat = new_chat(sy)
    say(sy, chat, "x")
    with pytest.raises(InvalidInputError):
        sy.messages.list(chat.id, user_id="alice", limit=limit)


@pytest.mark.parametrize("limit", [1, 1000])
def test_limit_bounds_are_accepted(sy: Synergia, limit: int) -> None:
    chat = new_chat(sy)
    message = say(sy, chat, "x")
    assert sy.messages.list(chat.id, user_id="alice", limit=limit).items == [message]


def test_tampered_cursors_are_invalid_input(sy: Synergia) -> None:
    chat = new_chat(sy)
    for i in range(3):
        say(sy, chat, str(i))
    cursor = sy.messages.list(chat.id, user_id="alice", limit=1).next_cursor
    assert cursor is not None
    middle = len(cursor) // 2
    swap = {"A": "B"}
    candidates = [
        cursor[:middle] + swap.get(cursor[middle], "A") + cursor[middle + 1 :],
        cursor[:-1] + swap.get(cursor[-1], "A"),
        swap.get(cursor[0], "A") + cursor[1:],
        cursor[:-3],
        cursor + "x",
        "garbage",
        base64.urlsafe_b64encode(b'["messages",1]').decode(),
    ]
    for bad in candidates:
        assert bad != cursor
        with pytest.raises(InvalidInputError):
            sy.messages.list(chat.id, user_id="alice", limit=1, cursor=bad)


# --- NUL characters -----------------------------------------------------------------------


NUL_MESSAGES: dict[str, dict[str, Any]] = {
    "content": {"role": "user", "content": "a\x00b"},
    "metadata-value": {"role": "user", "content": "ok", "metadata": {"k": "\x00"}},
    "metadata-key": {"role": "user", "content": "ok", "metadata": {"\x00": "v"}},
    "metadata-nested": {"role": "user", "content": "ok", "metadata": {"k": [{"x": "a\x00"}]}},
    "tool_call-name": {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "name": "we\x00ather", "arguments": {}}],
    },
    "tool_call-id": {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c\x001", "name": "weather", "arguments": {}}],
    },
    "tool_call-arguments": {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "name": "weather", "arguments": {"city": "Ro\x00me"}}],
    },
    "tool_call-argument-key": {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"id": "c1", "name": "weather", "arguments": {"ci\x00ty": "Rome"}}],
    },
    "tool_call_id": {"role": "tool", "content": "22C", "tool_call_id": "c\x001"},
    "attachment-name": {
        "role": "user",
        "content": "see",
        "attachments": [
            {"kind": "file", "uri": "s3://x", "mime_type": "text/plain", "name": "a\x00.txt"}
        ],
    },
    "attachment-uri": {
        "role": "user",
        "content": "see",
        "attachments": [{"kind": "file", "uri": "s3://\x00", "mime_type": "text/plain"}],
    },
}


@pytest.mark.parametrize("case", list(NUL_MESSAGES))
def test_nul_characters_are_refused(sy: Synergia, case: str) -> None:
    chat = new_chat(sy)
    say(sy, chat, "before")
    chat = sy.chats.get(chat.id, user_id="alice")
    with pytest.raises(InvalidInputError):
        sy.messages.add(chat.id, MessageCreate.model_validate(NUL_MESSAGES[case]), user_id="alice")
    assert_untouched(sy, chat)
