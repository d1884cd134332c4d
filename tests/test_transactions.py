"""Units of work: the facade's transaction() and services on a host session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    ChatService,
    InvalidInputError,
    MessageCreate,
    MessageService,
    ModelAlreadyExists,
    ModelCreate,
    ModelService,
    Synergia,
    UsageService,
)
from tests.helpers import make_model


class Boom(Exception):
    pass


def test_transaction_commits_everything(sy: Synergia) -> None:
    with sy.transaction() as tx:
        chat = tx.chats.create(ChatCreate(user_id="bob"))
        tx.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="bob")
        assert tx.chats.get(chat.id, user_id="bob").message_count == 1  # sees its own writes
    assert sy.chats.get(chat.id, user_id="bob").message_count == 1


def test_transaction_rolls_back_on_any_exception(sy: Synergia) -> None:
    def work() -> None:
        with sy.transaction() as tx:
            chat = tx.chats.create(ChatCreate(user_id="bob"))
            tx.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="bob")
            raise Boom

    with pytest.raises(Boom):
        work()
    assert sy.chats.list(user_id="bob").items == []
    assert sy.usage.totals(user_id="bob").message_count == 0


def test_a_failed_call_inside_a_transaction_writes_nothing_and_leaves_it_usable(
    sy: Synergia,
) -> None:
    make_model(sy)
    with sy.transaction() as tx:
        chat = tx.chats.create(ChatCreate(user_id="bob"))
        with pytest.raises(InvalidInputError):
            tx.messages.add(chat.id, MessageCreate(role="user", content="\x00"), user_id="bob")
        with pytest.raises(ChatNotFound):
            tx.messages.add(chat.id, MessageCreate(role="user", content="x"), user_id="eve")
        with pytest.raises(ModelAlreadyExists):
            tx.models.create(_model("gpt-4o", provider="openai"))
        tx.messages.add(chat.id, MessageCreate(role="user", content="ok"), user_id="bob")
    page = sy.messages.list(chat.id, user_id="bob")
    assert [m.content for m in page.items] == ["ok"]
    assert page.items[0].seq == 1


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    engine = sa.create_engine(db_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def test_services_on_a_host_session_never_commit(db_url: str, session: Session) -> None:
    chats = ChatService.from_session(session)
    messages = MessageService.from_session(session)
    chat = chats.create(ChatCreate(user_id="carol"))
    messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="carol")
    assert chats.get(chat.id, user_id="carol").message_count == 1
    session.rollback()  # the host decides
    with Synergia(db_url) as sy:
        assert sy.chats.list(user_id="carol").items == []
    chat = chats.create(ChatCreate(user_id="carol"))
    session.commit()
    with Synergia(db_url) as sy:
        assert sy.chats.get(chat.id, user_id="carol").id == chat.id


def test_host_session_stays_usable_after_a_domain_error(session: Session) -> None:
    models = ModelService.from_session(session)
    models.create(_model("a"))
    with pytest.raises(ModelAlreadyExists):
        models.create(_model("a"))
    chats = ChatService.from_session(session)
    with pytest.raises(ChatNotFound):
        chats.get("01a216f8-daa6-77a7-b275-23156e1eee10", user_id="x")
    models.create(_model("b"))
    assert [m.name for m in models.list()] == ["a", "b"]
    assert UsageService.from_session(session).totals().message_count == 0
    session.commit()


def _model(name: str, provider: str = "p") -> ModelCreate:
    return ModelCreate.model_validate(
        {"provider": provider, "name": name, "price_per_million_tokens": "1"}
    )


def test_services_accept_a_connection(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as connection:
            chat = ChatService.from_session(connection).create(ChatCreate(user_id="dan"))
        with engine.connect() as connection:
            assert ChatService.from_session(connection).get(chat.id, user_id="dan").id == chat.id
    finally:
        engine.dispose()
