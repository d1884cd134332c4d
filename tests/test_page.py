"""A ``Page`` is a sequence of its items: iteration, ``len()``, indexing, truth."""

from __future__ import annotations

import json

import pytest

from synergia_core import ChatCreate, ChatRead, MessageCreate, Page, Synergia


def test_a_page_iterates_over_its_items(sy: Synergia) -> None:
    made = [sy.chats.create(ChatCreate(user_id="ann", title=f"c{n}")) for n in range(3)]
    page = sy.chats.list(user_id="ann", limit=2)
    assert list(page) == page.items
    assert len(page) == 2
    assert [chat.title for chat in page] == [page[0].title, page[1].title]
    assert page[-1] == page.items[-1]
    assert page  # not empty
    rest = sy.chats.list(user_id="ann", limit=2, cursor=page.next_cursor)
    assert len(rest) == 1
    assert {c.id for c in [*page, *rest]} == {c.id for c in made}
    with pytest.raises(IndexError):
        rest[1]


def test_a_message_page_too(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="ann"))
    for text in ("one", "two"):
        sy.messages.add(chat.id, MessageCreate(role="user", content=text), user_id="ann")
    page = sy.messages.list(chat.id, user_id="ann")
    assert [m.content for m in page] == ["one", "two"]
    assert len(page) == 2


def test_an_empty_page_is_false_and_keeps_its_fields(sy: Synergia) -> None:
    page = sy.chats.list(user_id="nobody")
    assert not page
    assert len(page) == 0
    assert list(page) == []
    # The fields, as pydantic gives them, are still there: model_dump and JSON.
    assert page.model_dump() == {"items": [], "next_cursor": None}
    assert json.loads(page.model_dump_json()) == {"items": [], "next_cursor": None}


def test_a_page_built_by_hand_behaves_the_same() -> None:
    page = Page[ChatRead](items=[], next_cursor="abc")
    assert len(page) == 0
    assert page.next_cursor == "abc"
    assert page == Page[ChatRead](items=[], next_cursor="abc")
    assert "next_cursor='abc'" in repr(page)
