"""ChatService on both backends."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    ChatRead,
    ChatUpdate,
    InvalidInputError,
    MessageCreate,
    ModelNotFound,
    ModelUnavailableError,
    Role,
    ServiceConfig,
    Synergia,
)
from tests.conftest import FacadeFactory
from tests.helpers import make_model


class Clock:
    """A clock the test moves by hand (one microsecond per reading)."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(microseconds=1)
        return self.now


@pytest.fixture
def clocked(facade: FacadeFactory) -> tuple[Synergia, Clock]:
    clock = Clock()
    return facade(ServiceConfig(clock=clock)), clock


def say(sy: Synergia, chat: ChatRead, text: str = "hi") -> None:
    sy.messages.add(chat.id, MessageCreate(role=Role.user, content=text), user_id=chat.user_id)


def test_create_get(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(
        ChatCreate(
            user_id="alice",
            title="Rome",
            model_id=model.id,
            system_prompt="Be brief.",
            metadata={"tags": ["travel"]},
        )
    )
    assert chat.message_count == 0
    assert chat.current_message_id is None
    assert chat.last_message_at is None
    assert not chat.is_pinned
    assert not chat.is_archived
    assert sy.chats.get(chat.id, user_id="alice") == chat


def test_create_with_an_unusable_model(sy: Synergia) -> None:
    with pytest.raises(ModelNotFound):
        sy.chats.create(ChatCreate(user_id="alice", model_id=uuid.uuid4()))
    model = make_model(sy)
    sy.models.disable(model.id)
    with pytest.raises(ModelUnavailableError) as caught:
        sy.chats.create(ChatCreate(user_id="alice", model_id=model.id))
    assert caught.value.reason == "disabled"
    assert sy.chats.list(user_id="alice").items == []


def test_update_only_given_fields(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice", title="Rome", system_prompt="x"))
    updated = sy.chats.update(
        chat.id, ChatUpdate(is_pinned=True, system_prompt=None), user_id="alice"
    )
    assert updated.is_pinned
    assert updated.system_prompt is None
    assert updated.title == "Rome"
    model = make_model(sy)
    assert sy.chats.update(chat.id, ChatUpdate(model_id=model.id), user_id="alice").model_id
    sy.models.delete(model.id)
    with pytest.raises(ModelUnavailableError, match="deleted"):
        sy.chats.update(chat.id, ChatUpdate(model_id=model.id), user_id="alice")


def test_soft_delete_restore_purge(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    say(sy, chat)
    sy.chats.delete(chat.id, user_id="alice")
    assert sy.chats.list(user_id="alice").items == []
    assert sy.chats.list(user_id="alice", include_archived=True).items == []
    with pytest.raises(ChatNotFound):
        sy.chats.get(chat.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        sy.chats.delete(chat.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        say(sy, chat)
    restored = sy.chats.restore(chat.id, user_id="alice")
    assert restored.message_count == 1
    assert sy.chats.restore(chat.id, user_id="alice") == restored  # live: a no-op
    sy.chats.delete(chat.id, user_id="alice")
    sy.chats.purge(chat.id, user_id="alice")  # purge works on soft-deleted chats
    with pytest.raises(ChatNotFound):
        sy.chats.restore(chat.id, user_id="alice")
    live = sy.chats.create(ChatCreate(user_id="alice"))
    say(sy, live)
    sy.chats.purge(live.id, user_id="alice")  # and on live ones
    with pytest.raises(ChatNotFound):
        sy.messages.list(live.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        sy.chats.purge(live.id, user_id="alice")
    assert sy.usage.totals(user_id="alice").message_count == 0


def test_archived_chats_only_on_request(sy: Synergia) -> None:
    kept = sy.chats.create(ChatCreate(user_id="alice", title="kept"))
    archived = sy.chats.create(ChatCreate(user_id="alice", title="old"))
    sy.chats.update(archived.id, ChatUpdate(is_archived=True), user_id="alice")
    assert [c.id for c in sy.chats.list(user_id="alice").items] == [kept.id]
    everything = sy.chats.list(user_id="alice", include_archived=True).items
    assert {c.id for c in everything} == {kept.id, archived.id}


def test_order_by_activity_and_pinned_filter(clocked: tuple[Synergia, Clock]) -> None:
    sy, _ = clocked
    first = sy.chats.create(ChatCreate(user_id="alice", title="first"))
    second = sy.chats.create(ChatCreate(user_id="alice", title="second"))
    third = sy.chats.create(ChatCreate(user_id="alice", title="third"))
    assert [c.title for c in sy.chats.list(user_id="alice").items] == ["third", "second", "first"]
    say(sy, first)  # a message makes it the most recent
    assert [c.title for c in sy.chats.list(user_id="alice").items] == ["first", "third", "second"]
    sy.chats.update(second.id, ChatUpdate(is_pinned=True), user_id="alice")  # not floated
    assert [c.title for c in sy.chats.list(user_id="alice").items] == ["first", "third", "second"]
    assert [c.title for c in sy.chats.list(user_id="alice", pinned=True).items] == ["second"]
    assert [c.title for c in sy.chats.list(user_id="alice", pinned=False).items] == [
        "first",
        "third",
    ]
    sy.chats.update(third.id, ChatUpdate(title="renamed"), user_id="alice")  # not activity
    assert sy.chats.list(user_id="alice").items[1].id == third.id


def list_all(
    sy: Synergia, user_id: str, limit: int, between: Callable[[], None]
) -> list[list[ChatRead]]:
    pages: list[list[ChatRead]] = []
    cursor: str | None = None
    while True:
        page = sy.chats.list(user_id=user_id, limit=limit, cursor=cursor)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor
        between()


def test_keyset_pages_of_45_chats(clocked: tuple[Synergia, Clock]) -> None:
    sy, _ = clocked
    created = [sy.chats.create(ChatCreate(user_id="alice", title=str(i))) for i in range(45)]
    sy.chats.create(ChatCreate(user_id="bob"))
    for chat in created[::7]:  # some chats get newer activity
        say(sy, chat)
    expected = sorted(
        (sy.chats.get(c.id, user_id="alice") for c in created),
        key=lambda c: (c.last_message_at or c.created_at, c.id),
        reverse=True,
    )
    pages = list_all(sy, "alice", 10, lambda: None)
    assert [len(p) for p in pages] == [10, 10, 10, 10, 5]
    assert [c.id for p in pages for c in p] == [c.id for c in expected]
    assert expected[0].id == created[42].id  # the last one given a message


def test_activity_while_paging_never_duplicates(clocked: tuple[Synergia, Clock]) -> None:
    sy, _ = clocked
    created = [sy.chats.create(ChatCreate(user_id="alice", title=str(i))) for i in range(45)]
    oldest = created[0]
    pages = list_all(sy, "alice", 10, lambda: say(sy, oldest))  # moves to the front
    seen = [c.id for p in pages for c in p]
    assert len(seen) == len(set(seen))
    assert oldest.id not in seen  # it moved ahead of the cursor before its turn came
    assert seen == [c.id for c in reversed(created[1:])]


def test_same_activity_time_is_ordered_by_id(facade: FacadeFactory) -> None:
    frozen = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    sy = facade(ServiceConfig(clock=lambda: frozen))
    chats = [sy.chats.create(ChatCreate(user_id="alice")) for _ in range(5)]
    listed: list[uuid.UUID] = []
    cursor = None
    while True:
        page = sy.chats.list(user_id="alice", limit=2, cursor=cursor)
        listed.extend(c.id for c in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert listed == sorted((c.id for c in chats), reverse=True)


@pytest.mark.parametrize("limit", [0, 1001, -5])
def test_limit_out_of_range(sy: Synergia, limit: int) -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        sy.chats.list(user_id="alice", limit=limit)


@pytest.mark.parametrize(
    "cursor",
    ["", "garbage", "a.b", "eyJ4IjoxfQ.AAAAAAAAAAA", "x" * 2000],
)
def test_tampered_cursor(sy: Synergia, cursor: str) -> None:
    with pytest.raises(InvalidInputError, match="cursor"):
        sy.chats.list(user_id="alice", cursor=cursor)


def test_altered_valid_cursor_is_refused(sy: Synergia) -> None:
    for _ in range(3):
        sy.chats.create(ChatCreate(user_id="alice"))
    cursor = sy.chats.list(user_id="alice", limit=1).next_cursor
    assert cursor is not None
    body, digest = cursor.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(InvalidInputError):
        sy.chats.list(user_id="alice", cursor=f"{flipped}.{digest}")
    chat = sy.chats.list(user_id="alice").items[0]
    for _ in range(3):
        say(sy, chat)
    message_cursor = sy.messages.list(chat.id, user_id="alice", limit=1).next_cursor
    with pytest.raises(InvalidInputError):  # a message cursor is not a chat cursor
        sy.chats.list(user_id="alice", cursor=message_cursor)


def test_nul_in_chat_texts(sy: Synergia) -> None:
    calls: list[Callable[[], object]] = [
        lambda: sy.chats.create(ChatCreate(user_id="alice", title="a\x00b")),
        lambda: sy.chats.create(ChatCreate(user_id="alice", system_prompt="\x00")),
        lambda: sy.chats.create(ChatCreate(user_id="alice", metadata={"x\x00": 1})),
        lambda: sy.chats.create(ChatCreate(user_id="al\x00ice")),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError, match="NUL"):
            call()
    chat = sy.chats.create(ChatCreate(user_id="alice", title="ok"))
    with pytest.raises(InvalidInputError):
        sy.chats.update(chat.id, ChatUpdate(title="x\x00"), user_id="alice")
    assert sy.chats.get(chat.id, user_id="alice").title == "ok"
    assert len(sy.chats.list(user_id="alice").items) == 1
