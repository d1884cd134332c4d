"""Contract: errors raised by real calls are typed, carry attributes and pickle."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable

import pytest

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    ConflictError,
    InvalidInputError,
    MessageCreate,
    MessageNotFound,
    ModelAlreadyExists,
    ModelCreate,
    ModelNotFound,
    ModelUnavailableError,
    NotFoundError,
    Synergia,
    SynergiaError,
)

MISSING = uuid.UUID("0190a000-0000-7000-8000-0000000000ff")


def model_create() -> ModelCreate:
    return ModelCreate.model_validate(
        {
            "provider": "openai",
            "name": "gpt-4o",
            "input_price_per_million": "1",
            "output_price_per_million": "1",
        }
    )


def chat_not_found(sy: Synergia) -> None:
    sy.chats.get(MISSING, user_id="alice")


def foreign_chat(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    sy.chats.get(chat.id, user_id="bob")


def message_not_found(sy: Synergia) -> None:
    sy.messages.get(MISSING, user_id="alice")


def model_not_found(sy: Synergia) -> None:
    sy.models.get(MISSING)


def model_already_exists(sy: Synergia) -> None:
    sy.models.create(model_create())
    sy.models.create(model_create())


def model_unavailable(sy: Synergia) -> None:
    model = sy.models.create(model_create())
    sy.models.disable(model.id)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    sy.messages.add(
        chat.id,
        MessageCreate(role="assistant", content="x", model_id=model.id),
        user_id="alice",
    )


def nul_text(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    sy.messages.add(chat.id, MessageCreate(role="user", content="\x00"), user_id="alice")


def bad_limit(sy: Synergia) -> None:
    sy.chats.list(user_id="alice", limit=0)


TRIGGERS: dict[str, tuple[Callable[[Synergia], None], type[SynergiaError]]] = {
    "chat-not-found": (chat_not_found, ChatNotFound),
    "foreign-chat": (foreign_chat, ChatNotFound),
    "message-not-found": (message_not_found, MessageNotFound),
    "model-not-found": (model_not_found, ModelNotFound),
    "model-already-exists": (model_already_exists, ModelAlreadyExists),
    "model-unavailable": (model_unavailable, ModelUnavailableError),
    "nul-text": (nul_text, InvalidInputError),
    "bad-limit": (bad_limit, InvalidInputError),
}


def raised(sy: Synergia, name: str) -> SynergiaError:
    trigger, expected = TRIGGERS[name]
    with pytest.raises(expected) as caught:
        trigger(sy)
    assert type(caught.value) is expected
    return caught.value


@pytest.mark.parametrize("name", list(TRIGGERS))
def test_raised_errors_survive_pickling(sy: Synergia, name: str) -> None:
    error = raised(sy, name)
    assert isinstance(error, SynergiaError)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert clone.args == error.args
    assert vars(clone) == vars(error)
    assert str(error)


@pytest.mark.parametrize(
    ("name", "entity"),
    [("chat-not-found", "chat"), ("message-not-found", "message"), ("model-not-found", "model")],
)
def test_not_found_errors_name_what_and_which(sy: Synergia, name: str, entity: str) -> None:
    error = raised(sy, name)
    assert isinstance(error, NotFoundError)
    assert isinstance(error, (ChatNotFound, MessageNotFound, ModelNotFound))
    assert error.entity == entity
    assert error.id == MISSING
    assert str(MISSING) in str(error)
    clone = pickle.loads(pickle.dumps(error))
    assert isinstance(clone, (ChatNotFound, MessageNotFound, ModelNotFound))
    assert (clone.entity, clone.id) == (entity, MISSING)


def test_another_users_chat_looks_exactly_like_a_missing_one(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    with pytest.raises(ChatNotFound) as foreign:
        sy.chats.get(chat.id, user_id="bob")
    missing = uuid.uuid4()
    with pytest.raises(ChatNotFound) as absent:
        sy.chats.get(missing, user_id="bob")
    assert foreign.value.entity == absent.value.entity == "chat"
    assert foreign.value.id == chat.id
    assert str(foreign.value).replace(str(chat.id), "ID") == str(absent.value).replace(
        str(missing), "ID"
    )


def test_model_already_exists_carries_provider_and_name(sy: Synergia) -> None:
    error = raised(sy, "model-already-exists")
    assert isinstance(error, ModelAlreadyExists)
    assert isinstance(error, ConflictError)
    assert (error.provider, error.name) == ("openai", "gpt-4o")
    clone = pickle.loads(pickle.dumps(error))
    assert isinstance(clone, ModelAlreadyExists)
    assert (clone.provider, clone.name) == ("openai", "gpt-4o")


def test_model_unavailable_names_the_model(sy: Synergia) -> None:
    error = raised(sy, "model-unavailable")
    model = sy.models.get_by_name("openai", "gpt-4o")
    assert str(model.id) in str(error)
    assert not isinstance(error, (NotFoundError, ConflictError, InvalidInputError))
