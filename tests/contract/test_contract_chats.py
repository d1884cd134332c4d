"""Contract: chats (``sy.chats``), written from DESIGN.md only."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    ChatRead,
    ChatUpdate,
    InvalidInputError,
    MessageCreate,
    MessageNotFound,
    ModelCreate,
    ModelRead,
    Page,
    Synergia,
    SynergiaError,
    Usage,
)


def add_model(sy: Synergia, name: str = "gpt-4o") -> ModelRead:
    return sy.models.create(
        ModelCreate.model_validate(
            {
                "provider": "openai",
                "name": name,
                "input_price_per_million": "2.50",
                "output_price_per_million": "10",
            }
        )
    )


def say(sy: Synergia, chat: ChatRead, text: str = "hello", user_id: str = "alice") -> None:
    sy.messages.add(chat.id, MessageCreate(role="user", content=text), user_id=user_id)


def all_chats(sy: Synergia, user_id: str = "alice", **options: Any) -> list[ChatRead]:
    """Walks every page and returns the concatenation."""
    items: list[ChatRead] = []
    cursor: str | None = None
    for _ in range(1000):
        page = sy.chats.list(user_id=user_id, cursor=cursor, **options)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("pagination never ended")


def ids(chats: list[ChatRead]) -> list[uuid.UUID]:
    return [chat.id for chat in chats]


# --- create / get -------------------------------------------------------------------------


def test_create_and_get(sy: Synergia) -> None:
    model = add_model(sy)
    chat = sy.chats.create(
        ChatCreate(
            user_id="alice",
            title="Rome",
            model_id=model.id,
            system_prompt="You are a travel agent.",
            metadata={"source": "web", "n": [1, 2]},
        )
    )
    assert isinstance(chat, ChatRead)
    assert chat.id.version == 7
    assert (chat.user_id, chat.title, chat.model_id) == ("alice", "Rome", model.id)
    assert chat.system_prompt == "You are a travel agent."
    assert chat.metadata == {"source": "web", "n": [1, 2]}
    assert (chat.is_pinned, chat.is_archived) == (False, False)
    assert chat.message_count == 0
    assert chat.current_message_id is None
    assert chat.last_message_at is None
    assert chat.created_at.utcoffset() == timedelta(0)
    assert chat.updated_at.utcoffset() == timedelta(0)
    assert sy.chats.get(chat.id, user_id="alice") == chat


def test_minimal_chat(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="bob"))
    assert (chat.title, chat.model_id, chat.system_prompt, chat.metadata) == (None, None, None, {})


def test_get_unknown_chat(sy: Synergia) -> None:
    missing = uuid.uuid4()
    with pytest.raises(ChatNotFound) as caught:
        sy.chats.get(missing, user_id="alice")
    assert caught.value.id == missing
    assert caught.value.entity == "chat"


def test_adding_messages_updates_counters_and_activity(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    first = sy.messages.add(chat.id, MessageCreate(role="user", content="a"), user_id="alice")
    second = sy.messages.add(chat.id, MessageCreate(role="user", content="b"), user_id="alice")
    after = sy.chats.get(chat.id, user_id="alice")
    assert after.message_count == 2
    assert after.current_message_id == second.id
    assert after.last_message_at == second.created_at
    assert first.created_at <= second.created_at


# --- update -------------------------------------------------------------------------------


def test_update_every_field(sy: Synergia) -> None:
    model = add_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice", title="Old"))
    updated = sy.chats.update(
        chat.id,
        ChatUpdate(
            title="New",
            model_id=model.id,
            system_prompt="Be brief.",
            metadata={"k": "v"},
            is_pinned=True,
            is_archived=True,
        ),
        user_id="alice",
    )
    assert updated.title == "New"
    assert updated.model_id == model.id
    assert updated.system_prompt == "Be brief."
    assert updated.metadata == {"k": "v"}
    assert (updated.is_pinned, updated.is_archived) == (True, True)
    assert updated.updated_at >= chat.updated_at
    assert sy.chats.get(chat.id, user_id="alice") == updated


def test_update_touches_only_given_fields_and_can_clear(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice", title="Keep", system_prompt="Drop"))
    updated = sy.chats.update(chat.id, ChatUpdate(system_prompt=None), user_id="alice")
    assert updated.title == "Keep"
    assert updated.system_prompt is None
    updated = sy.chats.update(chat.id, ChatUpdate(is_pinned=True), user_id="alice")
    assert (updated.title, updated.is_pinned, updated.is_archived) == ("Keep", True, False)


def test_update_unknown_chat(sy: Synergia) -> None:
    with pytest.raises(ChatNotFound):
        sy.chats.update(uuid.uuid4(), ChatUpdate(title="x"), user_id="alice")


# --- delete / restore / purge -------------------------------------------------------------


def test_delete_hides_from_lists_and_restore_brings_back(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice", title="T"))
    say(sy, chat)
    sy.chats.delete(chat.id, user_id="alice")
    assert sy.chats.list(user_id="alice").items == []
    assert sy.chats.list(user_id="alice", include_archived=True).items == []
    assert sy.chats.list(user_id="alice", pinned=False).items == []
    restored = sy.chats.restore(chat.id, user_id="alice")
    assert restored.id == chat.id
    assert restored.title == "T"
    assert restored.message_count == 1
    assert ids(sy.chats.list(user_id="alice").items) == [chat.id]
    assert len(sy.messages.list(chat.id, user_id="alice").items) == 1


def test_deleted_pinned_chat_is_not_listed_by_the_pinned_filter(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    sy.chats.update(chat.id, ChatUpdate(is_pinned=True), user_id="alice")
    sy.chats.delete(chat.id, user_id="alice")
    assert sy.chats.list(user_id="alice", pinned=True).items == []


def test_a_deleted_chat_takes_no_messages(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    sy.chats.delete(chat.id, user_id="alice")
    with pytest.raises(SynergiaError):
        say(sy, chat)
    restored = sy.chats.restore(chat.id, user_id="alice")
    assert restored.message_count == 0
    assert sy.messages.list(chat.id, user_id="alice").items == []


def test_restore_of_a_live_chat_is_a_noop_returning_it(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice", title="Live"))
    say(sy, chat)
    before = sy.chats.get(chat.id, user_id="alice")
    returned = sy.chats.restore(chat.id, user_id="alice")
    assert returned == before
    assert sy.chats.get(chat.id, user_id="alice") == before


def test_restore_unknown_chat(sy: Synergia) -> None:
    with pytest.raises(ChatNotFound):
        sy.chats.restore(uuid.uuid4(), user_id="alice")


@pytest.mark.parametrize("soft_delete_first", [False, True], ids=["live", "soft-deleted"])
def test_purge_removes_chat_and_messages_for_good(sy: Synergia, soft_delete_first: bool) -> None:
    model = add_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    keep = sy.chats.create(ChatCreate(user_id="alice"))
    message = sy.messages.add(
        chat.id,
        MessageCreate(
            role="assistant",
            content="bye",
            model_id=model.id,
            usage=Usage(input_tokens=7, output_tokens=0),
        ),
        user_id="alice",
    )
    sy.messages.add(
        keep.id,
        MessageCreate(
            role="assistant",
            content="stay",
            model_id=model.id,
            usage=Usage(input_tokens=5, output_tokens=0),
        ),
        user_id="alice",
    )
    if soft_delete_first:
        sy.chats.delete(chat.id, user_id="alice")
    sy.chats.purge(chat.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        sy.chats.get(chat.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        sy.chats.restore(chat.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        sy.chats.purge(chat.id, user_id="alice")
    with pytest.raises(MessageNotFound):
        sy.messages.get(message.id, user_id="alice")
    assert ids(sy.chats.list(user_id="alice").items) == [keep.id]
    assert sy.usage.totals(chat_id=chat.id).message_count == 0
    assert sy.usage.totals(chat_id=chat.id).input_tokens == 0
    assert sy.usage.totals(user_id="alice").input_tokens == 5
    assert sy.usage.totals(user_id="alice").message_count == 1
    assert sy.models.get(model.id).id == model.id


def test_purge_unknown_chat(sy: Synergia) -> None:
    with pytest.raises(ChatNotFound):
        sy.chats.purge(uuid.uuid4(), user_id="alice")


# --- ownership ----------------------------------------------------------------------------

CHAT_CALLS: dict[str, Callable[[Synergia, uuid.UUID], object]] = {
    "chats.get": lambda sy, cid: sy.chats.get(cid, user_id="mallory"),
    "chats.update": lambda sy, cid: sy.chats.update(
        cid, ChatUpdate(title="pwned", is_pinned=True, is_archived=True), user_id="mallory"
    ),
    "chats.delete": lambda sy, cid: sy.chats.delete(cid, user_id="mallory"),
    "chats.restore": lambda sy, cid: sy.chats.restore(cid, user_id="mallory"),
    "chats.purge": lambda sy, cid: sy.chats.purge(cid, user_id="mallory"),
    "messages.add": lambda sy, cid: sy.messages.add(
        cid, MessageCreate(role="user", content="pwned"), user_id="mallory"
    ),
    "messages.list": lambda sy, cid: sy.messages.list(cid, user_id="mallory"),
}


@pytest.mark.parametrize("call", list(CHAT_CALLS), ids=list(CHAT_CALLS))
def test_another_users_live_chat_is_not_found_and_unchanged(sy: Synergia, call: str) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice", title="Private"))
    say(sy, chat, "secret")
    before = sy.chats.get(chat.id, user_id="alice")
    messages_before = sy.messages.list(chat.id, user_id="alice").items
    with pytest.raises(ChatNotFound) as caught:
        CHAT_CALLS[call](sy, chat.id)
    assert caught.value.id == chat.id
    assert sy.chats.get(chat.id, user_id="alice") == before
    assert sy.messages.list(chat.id, user_id="alice").items == messages_before
    assert ids(sy.chats.list(user_id="alice").items) == [chat.id]
    assert sy.chats.list(user_id="mallory").items == []


@pytest.mark.parametrize(
    "call", ["chats.restore", "chats.purge", "chats.get"], ids=["restore", "purge", "get"]
)
def test_another_users_deleted_chat_is_not_found_and_unchanged(sy: Synergia, call: str) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice", title="Private"))
    say(sy, chat, "secret")
    sy.chats.delete(chat.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        CHAT_CALLS[call](sy, chat.id)
    assert sy.chats.list(user_id="alice").items == []
    restored = sy.chats.restore(chat.id, user_id="alice")
    assert restored.message_count == 1
    assert restored.title == "Private"


def test_lists_are_per_user(sy: Synergia) -> None:
    a = sy.chats.create(ChatCreate(user_id="alice"))
    b = sy.chats.create(ChatCreate(user_id="bob"))
    assert ids(sy.chats.list(user_id="alice").items) == [a.id]
    assert ids(sy.chats.list(user_id="bob").items) == [b.id]
    assert sy.chats.list(user_id="carol").items == []


# --- list: ordering, filters, paging ------------------------------------------------------


def test_list_orders_by_last_activity_then_creation(sy: Synergia) -> None:
    c1 = sy.chats.create(ChatCreate(user_id="alice", title="1"))
    c2 = sy.chats.create(ChatCreate(user_id="alice", title="2"))
    c3 = sy.chats.create(ChatCreate(user_id="alice", title="3"))
    assert ids(sy.chats.list(user_id="alice").items) == [c3.id, c2.id, c1.id]
    say(sy, c1)
    assert ids(sy.chats.list(user_id="alice").items) == [c1.id, c3.id, c2.id]
    c4 = sy.chats.create(ChatCreate(user_id="alice", title="4"))
    assert ids(sy.chats.list(user_id="alice").items) == [c4.id, c1.id, c3.id, c2.id]
    say(sy, c2)
    assert ids(sy.chats.list(user_id="alice").items) == [c2.id, c4.id, c1.id, c3.id]


def test_metadata_updates_do_not_count_as_activity(sy: Synergia) -> None:
    old = sy.chats.create(ChatCreate(user_id="alice"))
    new = sy.chats.create(ChatCreate(user_id="alice"))
    sy.chats.update(old.id, ChatUpdate(title="renamed"), user_id="alice")
    assert ids(sy.chats.list(user_id="alice").items) == [new.id, old.id]


def test_pinned_chats_are_not_floated_and_can_be_selected(sy: Synergia) -> None:
    c1 = sy.chats.create(ChatCreate(user_id="alice"))
    c2 = sy.chats.create(ChatCreate(user_id="alice"))
    c3 = sy.chats.create(ChatCreate(user_id="alice"))
    sy.chats.update(c1.id, ChatUpdate(is_pinned=True), user_id="alice")
    assert ids(sy.chats.list(user_id="alice").items) == [c3.id, c2.id, c1.id]
    assert ids(sy.chats.list(user_id="alice", pinned=True).items) == [c1.id]
    assert ids(sy.chats.list(user_id="alice", pinned=False).items) == [c3.id, c2.id]


def test_archived_chats_need_include_archived(sy: Synergia) -> None:
    c1 = sy.chats.create(ChatCreate(user_id="alice"))
    c2 = sy.chats.create(ChatCreate(user_id="alice"))
    sy.chats.update(c1.id, ChatUpdate(is_archived=True), user_id="alice")
    assert ids(sy.chats.list(user_id="alice").items) == [c2.id]
    assert ids(sy.chats.list(user_id="alice", include_archived=True).items) == [c2.id, c1.id]
    sy.chats.update(c1.id, ChatUpdate(is_archived=False), user_id="alice")
    assert ids(sy.chats.list(user_id="alice").items) == [c2.id, c1.id]


def test_list_returns_a_page(sy: Synergia) -> None:
    page = sy.chats.list(user_id="alice")
    assert isinstance(page, Page)
    assert page.items == []
    assert page.next_cursor is None


def test_default_limit_is_twenty(sy: Synergia) -> None:
    for _ in range(21):
        sy.chats.create(ChatCreate(user_id="alice"))
    page = sy.chats.list(user_id="alice")
    assert len(page.items) == 20
    assert page.next_cursor is not None
    rest = sy.chats.list(user_id="alice", cursor=page.next_cursor)
    assert len(rest.items) == 1
    assert rest.next_cursor is None


def test_paging_walks_every_chat_once_in_order(sy: Synergia) -> None:
    chats = [sy.chats.create(ChatCreate(user_id="alice", title=str(i))) for i in range(7)]
    say(sy, chats[2])
    say(sy, chats[5])
    expected = [chats[5].id, chats[2].id, chats[6].id, chats[4].id, chats[3].id]
    expected += [chats[1].id, chats[0].id]
    assert ids(sy.chats.list(user_id="alice", limit=1000).items) == expected
    for limit in (1, 2, 3, 7):
        assert ids(all_chats(sy, limit=limit)) == expected
    first = sy.chats.list(user_id="alice", limit=3)
    assert ids(first.items) == expected[:3]
    assert first.next_cursor is not None


def test_paging_with_filters(sy: Synergia) -> None:
    chats = [sy.chats.create(ChatCreate(user_id="alice")) for _ in range(6)]
    for chat in chats[::2]:
        sy.chats.update(chat.id, ChatUpdate(is_pinned=True), user_id="alice")
    pinned = all_chats(sy, limit=2, pinned=True)
    assert ids(pinned) == [chats[4].id, chats[2].id, chats[0].id]


@pytest.mark.parametrize("limit", [0, -1, 1001, 10_000])
def test_limit_out_of_range(sy: Synergia, limit: int) -> None:
    sy.chats.create(ChatCreate(user_id="alice"))
    with pytest.raises(InvalidInputError):
        sy.chats.list(user_id="alice", limit=limit)


@pytest.mark.parametrize("limit", [1, 1000])
def test_limit_bounds_are_accepted(sy: Synergia, limit: int) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    assert ids(sy.chats.list(user_id="alice", limit=limit).items) == [chat.id]


def tampered(cursor: str) -> list[str]:
    middle = len(cursor) // 2
    flipped = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
    last = cursor[:-1] + ("A" if cursor[-1] != "A" else "B")
    first = ("A" if cursor[0] != "A" else "B") + cursor[1:]
    forged = base64.urlsafe_b64encode(b'["chats","2000-01-01T00:00:00+00:00","x"]').decode()
    return [flipped, last, first, cursor[:-3], cursor + "x", "garbage", "!!!", forged]


def test_tampered_cursors_are_invalid_input(sy: Synergia) -> None:
    for _ in range(3):
        sy.chats.create(ChatCreate(user_id="alice"))
    cursor = sy.chats.list(user_id="alice", limit=1).next_cursor
    assert cursor is not None
    for bad in tampered(cursor):
        with pytest.raises(InvalidInputError):
            sy.chats.list(user_id="alice", limit=1, cursor=bad)


# --- NUL characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "a\x00b"},
        {"system_prompt": "\x00"},
        {"metadata": {"k": "v\x00"}},
        {"metadata": {"k\x00": "v"}},
        {"metadata": {"list": [{"x": "\x00"}]}},
        {"user_id": "ali\x00ce"},
    ],
    ids=["title", "system_prompt", "metadata-value", "metadata-key", "metadata-nested", "user_id"],
)
def test_nul_characters_are_refused_on_create(sy: Synergia, fields: dict[str, Any]) -> None:
    data: dict[str, Any] = {"user_id": "alice", **fields}
    with pytest.raises(InvalidInputError):
        sy.chats.create(ChatCreate.model_validate(data))
    assert sy.chats.list(user_id="alice", include_archived=True).items == []


@pytest.mark.parametrize(
    "fields",
    [{"title": "a\x00b"}, {"system_prompt": "\x00"}, {"metadata": {"k": "\x00"}}],
    ids=["title", "system_prompt", "metadata"],
)
def test_nul_characters_are_refused_on_update(sy: Synergia, fields: dict[str, Any]) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice", title="t", system_prompt="p"))
    with pytest.raises(InvalidInputError):
        sy.chats.update(chat.id, ChatUpdate.model_validate(fields), user_id="alice")
    assert sy.chats.get(chat.id, user_id="alice") == chat


def test_costs_are_unaffected_by_chat_lifecycle(sy: Synergia) -> None:
    """Soft delete keeps the money; only purge removes the messages."""
    model = add_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    sy.messages.add(
        chat.id,
        MessageCreate.model_validate(
            {
                "role": "assistant",
                "content": "x",
                "model_id": model.id,
                "usage": {"input_tokens": 400_000, "output_tokens": 0},
            }
        ),
        user_id="alice",
    )
    sy.chats.delete(chat.id, user_id="alice")
    assert sy.usage.totals(user_id="alice").cost == Decimal("1")
    sy.chats.purge(chat.id, user_id="alice")
    assert sy.usage.totals(user_id="alice").cost == Decimal("0")
