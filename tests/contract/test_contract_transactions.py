"""Contract: units of work (``sy.transaction()``) and services on a host session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    ChatRead,
    ChatService,
    ChatUpdate,
    InvalidInputError,
    MessageCreate,
    MessageNotFound,
    MessageService,
    ModelAlreadyExists,
    ModelCreate,
    ModelService,
    Synergia,
    Usage,
    UsageService,
)


def model_create(name: str = "gpt-4o") -> ModelCreate:
    return ModelCreate.model_validate(
        {
            "provider": "openai",
            "name": name,
            "input_price_per_million": "1",
            "output_price_per_million": "2",
        }
    )


def count_rows(url: str, table: str) -> int:
    """Counts committed rows from an independent connection."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
    finally:
        engine.dispose()


# --- sy.transaction() ---------------------------------------------------------------------


def test_transaction_commits_on_success(sy: Synergia) -> None:
    with sy.transaction() as tx:
        model = tx.models.create(model_create())
        chat = tx.chats.create(ChatCreate(user_id="bob", model_id=model.id))
        first = tx.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="bob")
        second = tx.messages.add(
            chat.id,
            MessageCreate(
                role="assistant",
                content="hello",
                model_id=model.id,
                usage=Usage(input_tokens=1_000_000, output_tokens=0),
            ),
            user_id="bob",
        )
    stored = sy.chats.get(chat.id, user_id="bob")
    assert stored.message_count == 2
    assert stored.current_message_id == second.id
    assert second.parent_id == first.id
    assert sy.messages.get(first.id, user_id="bob").content == "hi"
    assert sy.models.get(model.id) == model
    assert sy.usage.totals(user_id="bob").cost == Decimal("1")


def test_transaction_reads_its_own_writes(sy: Synergia) -> None:
    with sy.transaction() as tx:
        model = tx.models.create(model_create())
        chat = tx.chats.create(ChatCreate(user_id="bob"))
        message = tx.messages.add(
            chat.id,
            MessageCreate(
                role="assistant",
                content="x",
                model_id=model.id,
                usage=Usage(input_tokens=5, output_tokens=7),
            ),
            user_id="bob",
        )
        assert tx.chats.get(chat.id, user_id="bob").message_count == 1
        assert [c.id for c in tx.chats.list(user_id="bob").items] == [chat.id]
        assert tx.messages.get(message.id, user_id="bob") == message
        assert tx.messages.list(chat.id, user_id="bob").items == [message]
        assert tx.models.get_by_name("openai", "gpt-4o") == model
        totals = tx.usage.totals(chat_id=chat.id)
        assert (totals.input_tokens, totals.output_tokens) == (5, 7)


class Boom(Exception):
    pass


def write_then_raise(sy: Synergia, existing: ChatRead, error: BaseException) -> None:
    with sy.transaction() as tx:
        tx.models.create(model_create())
        chat = tx.chats.create(ChatCreate(user_id="bob"))
        tx.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="bob")
        tx.messages.add(existing.id, MessageCreate(role="user", content="hi"), user_id="bob")
        tx.chats.update(existing.id, ChatUpdate(title="after"), user_id="bob")
        raise error


@pytest.mark.parametrize(
    "error",
    [Boom("boom"), ValueError("bad"), KeyboardInterrupt(), ChatNotFound(uuid.uuid4())],
    ids=["custom", "ValueError", "KeyboardInterrupt", "SynergiaError"],
)
def test_transaction_rolls_back_on_any_exception(sy: Synergia, error: BaseException) -> None:
    existing = sy.chats.create(ChatCreate(user_id="bob", title="before"))
    with pytest.raises(type(error)) as caught:
        write_then_raise(sy, existing, error)
    assert caught.value is error
    assert sy.models.list() == []
    assert [c.id for c in sy.chats.list(user_id="bob").items] == [existing.id]
    assert sy.chats.get(existing.id, user_id="bob") == existing
    assert sy.messages.list(existing.id, user_id="bob").items == []


def write_then_fail(sy: Synergia) -> None:
    with sy.transaction() as tx:
        chat = tx.chats.create(ChatCreate(user_id="bob"))
        tx.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="bob")
        tx.messages.get(uuid.uuid4(), user_id="bob")


def test_an_uncaught_library_error_rolls_back(sy: Synergia) -> None:
    with pytest.raises(MessageNotFound):
        write_then_fail(sy)
    assert sy.chats.list(user_id="bob").items == []


def test_caught_library_errors_leave_the_transaction_usable(sy: Synergia) -> None:
    other = sy.chats.create(ChatCreate(user_id="bob"))
    foreign = sy.messages.add(other.id, MessageCreate(role="user", content="x"), user_id="bob")
    with sy.transaction() as tx:
        model = tx.models.create(model_create())
        with pytest.raises(ModelAlreadyExists):
            tx.models.create(model_create())
        chat = tx.chats.create(ChatCreate(user_id="bob"))
        first = tx.messages.add(chat.id, MessageCreate(role="user", content="1"), user_id="bob")
        with pytest.raises(MessageNotFound):
            tx.messages.add(
                chat.id,
                MessageCreate(role="user", content="x", parent_id=uuid.uuid4()),
                user_id="bob",
            )
        with pytest.raises(InvalidInputError):
            tx.messages.add(
                chat.id,
                MessageCreate(role="user", content="x", parent_id=foreign.id),
                user_id="bob",
            )
        with pytest.raises(InvalidInputError):
            tx.messages.add(chat.id, MessageCreate(role="user", content="\x00"), user_id="bob")
        with pytest.raises(ChatNotFound):
            tx.messages.add(chat.id, MessageCreate(role="user", content="x"), user_id="eve")
        with pytest.raises(InvalidInputError):
            tx.chats.list(user_id="bob", limit=0)
        second = tx.messages.add(chat.id, MessageCreate(role="user", content="2"), user_id="bob")
        renamed = tx.models.create(model_create("other"))
    assert second.parent_id == first.id
    assert second.seq == first.seq + 1
    stored = sy.chats.get(chat.id, user_id="bob")
    assert stored.message_count == 2
    assert [m.content for m in sy.messages.list(chat.id, user_id="bob").items] == ["1", "2"]
    assert {m.id for m in sy.models.list()} == {model.id, renamed.id}


def test_each_facade_call_is_its_own_transaction(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="bob"))
    with pytest.raises(MessageNotFound):
        sy.messages.add(
            chat.id,
            MessageCreate(role="user", content="x", parent_id=uuid.uuid4()),
            user_id="bob",
        )
    assert sy.chats.get(chat.id, user_id="bob") == chat


# --- services on a host-owned session -----------------------------------------------------


@pytest.fixture
def host_session(db_url: str) -> Iterator[Session]:
    engine = sa.create_engine(db_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def test_services_on_a_host_session_never_commit(db_url: str, host_session: Session) -> None:
    from synergia_core import services

    assert services.ChatService is ChatService
    assert services.MessageService is MessageService
    assert services.ModelService is ModelService
    assert services.UsageService is UsageService
    models = ModelService.from_session(host_session)
    chats = ChatService.from_session(host_session)
    messages = MessageService.from_session(host_session)
    usage = UsageService.from_session(host_session)
    model = models.create(model_create())
    chat = chats.create(ChatCreate(user_id="carol", model_id=model.id))
    message = messages.add(
        chat.id,
        MessageCreate(
            role="assistant",
            content="hi",
            model_id=model.id,
            usage=Usage(input_tokens=1_000_000, output_tokens=1_000_000),
        ),
        user_id="carol",
    )
    assert chats.get(chat.id, user_id="carol").message_count == 1
    assert messages.get(message.id, user_id="carol") == message
    assert models.get(model.id) == model
    assert usage.totals(user_id="carol").cost == Decimal("3")
    assert host_session.in_transaction()
    for table in ("synergia_models", "synergia_chats", "synergia_messages"):
        assert count_rows(db_url, table) == 0
    host_session.rollback()
    for table in ("synergia_models", "synergia_chats", "synergia_messages"):
        assert count_rows(db_url, table) == 0
    with Synergia(db_url) as sy:
        assert sy.models.list() == []
        assert sy.chats.list(user_id="carol").items == []


def test_services_take_part_in_the_hosts_commit(db_url: str, host_session: Session) -> None:
    model = ModelService.from_session(host_session).create(model_create())
    chat = ChatService.from_session(host_session).create(ChatCreate(user_id="carol"))
    message = MessageService.from_session(host_session).add(
        chat.id, MessageCreate(role="user", content="hi"), user_id="carol"
    )
    host_session.commit()
    with Synergia(db_url) as sy:
        assert sy.models.get(model.id) == model
        assert sy.chats.get(chat.id, user_id="carol").message_count == 1
        assert sy.messages.get(message.id, user_id="carol") == message


def test_library_errors_leave_the_host_transaction_usable(
    db_url: str, host_session: Session
) -> None:
    models = ModelService.from_session(host_session)
    chats = ChatService.from_session(host_session)
    messages = MessageService.from_session(host_session)
    model = models.create(model_create())
    with pytest.raises(ModelAlreadyExists):
        models.create(model_create())
    chat = chats.create(ChatCreate(user_id="carol"))
    with pytest.raises(MessageNotFound):
        messages.add(
            chat.id,
            MessageCreate(role="user", content="x", parent_id=uuid.uuid4()),
            user_id="carol",
        )
    with pytest.raises(InvalidInputError):
        messages.add(chat.id, MessageCreate(role="user", content="\x00"), user_id="carol")
    with pytest.raises(ChatNotFound):
        chats.get(chat.id, user_id="mallory")
    kept = messages.add(chat.id, MessageCreate(role="user", content="ok"), user_id="carol")
    host_session.commit()
    with Synergia(db_url) as sy:
        assert [m.id for m in sy.models.list()] == [model.id]
        assert sy.messages.list(chat.id, user_id="carol").items == [kept]
        assert sy.chats.get(chat.id, user_id="carol").message_count == 1


def test_host_rows_and_library_rows_share_one_transaction(
    db_url: str, host_session: Session
) -> None:
    host_session.execute(sa.text("DROP TABLE IF EXISTS host_audit"))
    host_session.execute(sa.text("CREATE TABLE host_audit (note VARCHAR(50))"))
    host_session.commit()
    host_session.execute(sa.text("INSERT INTO host_audit (note) VALUES ('created chat')"))
    ChatService.from_session(host_session).create(ChatCreate(user_id="carol"))
    host_session.rollback()
    assert count_rows(db_url, "host_audit") == 0
    assert count_rows(db_url, "synergia_chats") == 0
    host_session.execute(sa.text("INSERT INTO host_audit (note) VALUES ('created chat')"))
    ChatService.from_session(host_session).create(ChatCreate(user_id="carol"))
    host_session.commit()
    assert count_rows(db_url, "host_audit") == 1
    assert count_rows(db_url, "synergia_chats") == 1
    host_session.execute(sa.text("DROP TABLE host_audit"))
    host_session.commit()
