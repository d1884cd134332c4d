"""Streaming replies: start, append, finish, fail, cancel, and every illegal move."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    InvalidInputError,
    InvalidStateError,
    MessageCreate,
    MessageNotFound,
    MessageRead,
    MessageStatus,
    ModelRead,
    ServiceConfig,
    Synergia,
    Usage,
)
from tests.conftest import FacadeFactory
from tests.helpers import make_model


def started(sy: Synergia) -> tuple[ModelRead, MessageRead]:
    model = make_model(sy, input_price="3", output_price="15")
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=model.id))
    sy.messages.add(chat.id, MessageCreate(role="user", content="tell me"), user_id="alice")
    return model, sy.messages.start(chat.id, user_id="alice", model_id=model.id)


def test_stream_then_finish_with_usage(sy: Synergia) -> None:
    model, reply = started(sy)
    assert (reply.status, reply.content, reply.role.value) == (
        MessageStatus.streaming,
        "",
        "assistant",
    )
    for chunk in ("Once", " upon", " a time", " ✨"):
        sy.messages.append(reply.id, chunk, user_id="alice")
    assert sy.messages.get(reply.id, user_id="alice").content == "Once upon a time ✨"
    done = sy.messages.finish(
        reply.id, user_id="alice", usage=Usage(input_tokens=1000, output_tokens=100)
    )
    assert done.status is MessageStatus.complete
    assert done.content == "Once upon a time ✨"
    assert (done.input_tokens, done.output_tokens) == (1000, 100)
    assert done.cost == Decimal("0.0045")
    assert done.model_id == model.id
    assert sy.usage.totals(user_id="alice").cost == Decimal("0.0045")


def test_start_places_the_reply_and_moves_the_leaf(sy: Synergia) -> None:
    _, reply = started(sy)
    chat = sy.chats.get(reply.chat_id, user_id="alice")
    assert chat.current_message_id == reply.id
    assert reply.seq == 2
    assert reply.parent_id is not None


def test_fail_keeps_partial_text_and_the_error(sy: Synergia) -> None:
    _, reply = started(sy)
    sy.messages.append(reply.id, "partial", user_id="alice")
    failed = sy.messages.fail(
        reply.id,
        "upstream 529: overloaded",
        user_id="alice",
        usage=Usage(input_tokens=1000, output_tokens=0),
    )
    assert (failed.status, failed.content, failed.error) == (
        MessageStatus.failed,
        "partial",
        "upstream 529: overloaded",
    )
    assert failed.cost == Decimal("0.003")  # a failed call still cost money


def test_cancel(sy: Synergia) -> None:
    _, reply = started(sy)
    sy.messages.append(reply.id, "half", user_id="alice")
    cancelled = sy.messages.cancel(reply.id, user_id="alice")
    assert (cancelled.status, cancelled.content, cancelled.cost) == (
        MessageStatus.cancelled,
        "half",
        Decimal(0),
    )


def _append(sy: Synergia, message_id: uuid.UUID) -> None:
    sy.messages.append(message_id, "x", user_id="alice")


CLOSERS: dict[str, Callable[[Synergia, uuid.UUID], object]] = {
    "append": _append,
    "finish": lambda sy, i: sy.messages.finish(i, user_id="alice"),
    "fail": lambda sy, i: sy.messages.fail(i, "boom", user_id="alice"),
    "cancel": lambda sy, i: sy.messages.cancel(i, user_id="alice"),
}


@pytest.mark.parametrize("first", ["finish", "fail", "cancel"])
@pytest.mark.parametrize("then", list(CLOSERS))
def test_every_move_out_of_a_closed_state_is_refused(sy: Synergia, first: str, then: str) -> None:
    _, reply = started(sy)
    sy.messages.append(reply.id, "text", user_id="alice")
    closed = CLOSERS[first](sy, reply.id)
    assert isinstance(closed, MessageRead)
    before = sy.messages.get(reply.id, user_id="alice")
    with pytest.raises(InvalidStateError) as caught:
        CLOSERS[then](sy, reply.id)
    assert caught.value.state == closed.status.value
    assert caught.value.id == reply.id
    assert sy.messages.get(reply.id, user_id="alice") == before


@pytest.mark.parametrize("move", list(CLOSERS))
def test_a_complete_message_never_streams(sy: Synergia, move: str) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    message = sy.messages.add(chat.id, MessageCreate(role="user", content="q"), user_id="alice")
    with pytest.raises(InvalidStateError, match="complete"):
        CLOSERS[move](sy, message.id)


@pytest.mark.parametrize("move", list(CLOSERS))
def test_another_users_stream_is_not_found(sy: Synergia, move: str) -> None:
    _, reply = started(sy)
    with pytest.raises(MessageNotFound):
        _as_bob(sy, move, reply.id)
    assert sy.messages.get(reply.id, user_id="alice").status is MessageStatus.streaming


def _as_bob(sy: Synergia, move: str, message_id: uuid.UUID) -> object:
    if move == "append":
        sy.messages.append(message_id, "x", user_id="bob")
        return None
    if move == "finish":
        return sy.messages.finish(message_id, user_id="bob")
    if move == "fail":
        return sy.messages.fail(message_id, "x", user_id="bob")
    return sy.messages.cancel(message_id, user_id="bob")


def test_chunks_are_checked(facade: FacadeFactory) -> None:
    sy = facade(ServiceConfig(max_content_chars=10))
    _, reply = started(sy)
    sy.messages.append(reply.id, "12345", user_id="alice")
    with pytest.raises(InvalidInputError, match="NUL"):
        sy.messages.append(reply.id, "\x00", user_id="alice")
    sy.messages.append(reply.id, "67890", user_id="alice")  # exactly the limit
    with pytest.raises(InvalidInputError, match="exceed 10"):
        sy.messages.append(reply.id, "!", user_id="alice")
    assert sy.messages.get(reply.id, user_id="alice").content == "1234567890"
    with pytest.raises(InvalidInputError, match="NUL"):
        sy.messages.fail(reply.id, "bad\x00error", user_id="alice")


def test_start_rules(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    with pytest.raises(ChatNotFound):
        sy.messages.start(chat.id, user_id="bob", model_id=model.id)
    root = sy.messages.add(chat.id, MessageCreate(role="user", content="q"), user_id="alice")
    sy.messages.add(chat.id, MessageCreate(role="user", content="q2"), user_id="alice")
    branch = sy.messages.start(chat.id, user_id="alice", model_id=model.id, parent_id=root.id)
    assert branch.parent_id == root.id
    with pytest.raises(MessageNotFound):
        sy.messages.start(chat.id, user_id="alice", model_id=model.id, parent_id=uuid.uuid4())
    sy.models.delete(model.id)
    # a reply started before its model was deleted can still be finished and priced
    done = sy.messages.finish(
        branch.id, user_id="alice", usage=Usage(input_tokens=1_000_000, output_tokens=0)
    )
    assert done.cost == Decimal("2.5")


def test_a_deleted_chat_stops_its_streams(sy: Synergia) -> None:
    _, reply = started(sy)
    sy.chats.delete(reply.chat_id, user_id="alice")
    with pytest.raises(MessageNotFound):
        sy.messages.append(reply.id, "x", user_id="alice")


def test_start_uses_the_chats_model_by_default(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=model.id))
    reply = sy.messages.start(chat.id, user_id="alice")
    assert reply.model_id == model.id
    bare = sy.chats.create(ChatCreate(user_id="alice"))
    with pytest.raises(InvalidInputError, match="pass model_id"):
        sy.messages.start(bare.id, user_id="alice")
    with pytest.raises(ChatNotFound):
        sy.messages.start(chat.id, user_id="bob")
