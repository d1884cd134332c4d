"""Isolation: every chat- and message-level method, called by a user who does
not own the target, raises the same NotFound a missing id raises, and changes
nothing in the database (compared row by row before and after)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    ChatUpdate,
    MessageCreate,
    MessageNotFound,
    NotFoundError,
    Synergia,
    Usage,
)
from tests.helpers import make_model
from tests.reliability.snapshot import snapshot


@dataclass
class Target:
    chat: uuid.UUID
    message: uuid.UUID
    reply: uuid.UUID  # an assistant message
    stream: uuid.UUID  # a streaming message
    model: uuid.UUID


Call = Callable[[Synergia, str, Target], Any]

MATRIX: dict[str, tuple[Call, type[NotFoundError]]] = {
    "chats.get": (lambda sy, u, t: sy.chats.get(t.chat, user_id=u), ChatNotFound),
    "chats.update": (
        lambda sy, u, t: sy.chats.update(t.chat, ChatUpdate(title="pwned"), user_id=u),
        ChatNotFound,
    ),
    "chats.delete": (lambda sy, u, t: sy.chats.delete(t.chat, user_id=u), ChatNotFound),
    "chats.restore": (lambda sy, u, t: sy.chats.restore(t.chat, user_id=u), ChatNotFound),
    "chats.purge": (lambda sy, u, t: sy.chats.purge(t.chat, user_id=u), ChatNotFound),
    "messages.add": (
        lambda sy, u, t: sy.messages.add(
            t.chat, MessageCreate(role="user", content="x"), user_id=u
        ),
        ChatNotFound,
    ),
    "messages.list": (lambda sy, u, t: sy.messages.list(t.chat, user_id=u), ChatNotFound),
    "messages.thread": (lambda sy, u, t: sy.messages.thread(t.chat, user_id=u), ChatNotFound),
    "messages.context": (lambda sy, u, t: sy.messages.context(t.chat, user_id=u), ChatNotFound),
    "messages.start": (
        lambda sy, u, t: sy.messages.start(t.chat, user_id=u, model_id=t.model),
        ChatNotFound,
    ),
    "messages.get": (lambda sy, u, t: sy.messages.get(t.message, user_id=u), MessageNotFound),
    "messages.siblings": (
        lambda sy, u, t: sy.messages.siblings(t.message, user_id=u),
        MessageNotFound,
    ),
    "messages.edit": (
        lambda sy, u, t: sy.messages.edit(t.message, "pwned", user_id=u),
        MessageNotFound,
    ),
    "messages.regenerate": (
        lambda sy, u, t: sy.messages.regenerate(t.reply, user_id=u),
        MessageNotFound,
    ),
    "messages.select": (lambda sy, u, t: sy.messages.select(t.message, user_id=u), MessageNotFound),
    "messages.append": (
        lambda sy, u, t: sy.messages.append(t.stream, "pwned", user_id=u),
        MessageNotFound,
    ),
    "messages.finish": (
        lambda sy, u, t: sy.messages.finish(
            t.stream, user_id=u, usage=Usage(input_tokens=1, output_tokens=1)
        ),
        MessageNotFound,
    ),
    "messages.fail": (lambda sy, u, t: sy.messages.fail(t.stream, "x", user_id=u), MessageNotFound),
    "messages.cancel": (lambda sy, u, t: sy.messages.cancel(t.stream, user_id=u), MessageNotFound),
}


def _world(sy: Synergia) -> Target:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=model.id, title="private"))
    message = sy.messages.add(
        chat.id, MessageCreate(role="user", content="secret"), user_id="alice"
    )
    reply = sy.messages.add(
        chat.id,
        MessageCreate(role="assistant", content="answer", model_id=model.id),
        user_id="alice",
    )
    stream = sy.messages.start(chat.id, user_id="alice", model_id=model.id)
    sy.messages.append(stream.id, "partial", user_id="alice")
    return Target(chat.id, message.id, reply.id, stream.id, model.id)


def _missing(target: Target) -> Target:
    fresh = uuid.uuid4
    return Target(fresh(), fresh(), fresh(), fresh(), target.model)


@pytest.mark.parametrize("method", sorted(MATRIX))
def test_another_users_target_is_not_found_and_untouched(sy: Synergia, method: str) -> None:
    call, expected = MATRIX[method]
    target = _world(sy)
    url = sy.engine.url
    before = snapshot(url)
    with pytest.raises(expected) as as_intruder:
        call(sy, "mallory", target)
    assert type(as_intruder.value) is expected
    assert snapshot(url) == before, f"{method} as another user changed the database"
    # exactly what a missing id gives: the same class, the same message shape
    missing = _missing(target)
    with pytest.raises(expected) as as_missing:
        call(sy, "alice", missing)
    assert type(as_missing.value) is type(as_intruder.value)
    intruder_text = str(as_intruder.value).replace(str(as_intruder.value.id), "<id>")
    missing_text = str(as_missing.value).replace(str(as_missing.value.id), "<id>")
    assert intruder_text == missing_text
    # and the owner still sees everything as it was
    assert sy.chats.get(target.chat, user_id="alice").title == "private"
    assert sy.messages.get(target.stream, user_id="alice").content == "partial"


def test_lists_and_usage_of_another_user_show_nothing(sy: Synergia) -> None:
    target = _world(sy)
    assert sy.chats.list(user_id="mallory").items == []
    assert sy.usage.totals(user_id="mallory").message_count == 0
    assert sy.usage.breakdown("chat", user_id="mallory") == []
    assert sy.chats.get(target.chat, user_id="alice").message_count == 3
