"""The promises of issue 11, one class of failure at a time.

A caller's mistake is a typed error (``SynergiaError``, or pydantic's
``ValidationError`` when a dict is validated into a schema), it writes
nothing, and the surrounding transaction stays usable. Each class below was
broken once; its regression tests run on both backends and both faces
(``sy`` is sync or async by the ``mode`` fixture) where a database is involved.
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel, ValidationError

from synergia_core import (
    Attachment,
    ChatCreate,
    ChatUpdate,
    InvalidInputError,
    MessageCreate,
    ModelCreate,
    ModelService,
    ModelUpdate,
    Role,
    ServiceConfig,
    Synergia,
    ToolCall,
    Usage,
)
from synergia_core.services._checks import MAX_JSON_INT
from synergia_core.services._cursor import encode_cursor
from tests.conftest import FacadeFactory
from tests.helpers import make_model
from tests.reliability.snapshot import snapshot

S = TypeVar("S", bound=BaseModel)


def add_to(chat_id: uuid.UUID, data: MessageCreate, sy: Any) -> object:
    return sy.messages.add(chat_id, data, user_id="alice")


def refused(sy: Synergia, call: Callable[[Any], object], field: str | None = None) -> None:
    """``call`` raises InvalidInputError (naming ``field``) and writes nothing,
    on its own and inside a transaction block that then commits a valid write."""
    before = snapshot(sy.engine.url)
    with pytest.raises(InvalidInputError) as caught:
        call(sy)
    if field is not None:
        assert caught.value.field == field, caught.value
    assert snapshot(sy.engine.url) == before
    marker = f"after-{uuid.uuid4()}"
    with sy.transaction() as tx:
        with pytest.raises(InvalidInputError):
            call(tx)
        tx.chats.create(ChatCreate(user_id="alice", title=marker))  # the block is still usable
    assert any(chat.title == marker for chat in sy.chats.list(user_id="alice", limit=1000).items)


# ----------------------------------------------------- 7. every stored byte counts


@pytest.fixture
def small(facade: FacadeFactory) -> Synergia:
    """A facade whose messages and metadata may hold 1,000 characters."""
    return facade(ServiceConfig(max_content_chars=1_000))


def test_a_message_counts_every_stored_character(small: Synergia) -> None:
    """Regression: only strings counted; numbers, many tool calls and many
    attachments stored megabytes past a 1,000-character limit."""
    chat = small.chats.create(ChatCreate(user_id="alice"))
    numbers = {"n": list(range(300))}  # ~1,100 characters of JSON, no string at all
    many_calls = [ToolCall(id=str(i), name="f") for i in range(40)]
    many_files = [Attachment(kind="file", uri="s3://b/k", mime_type="text/plain")] * 20
    oversized: list[dict[str, Any]] = [
        {"role": "user", "content": "x", "metadata": numbers},
        {"role": "assistant", "content": "", "tool_calls": many_calls},
        {"role": "user", "content": "", "attachments": many_files},
        {"role": "user", "content": "x" * 900, "metadata": {"k": "y" * 100}},
        {"role": "tool", "content": "r" * 990, "tool_call_id": "c" * 20},
    ]
    for fields in oversized:
        data = MessageCreate.model_validate(fields)
        refused(small, partial(add_to, chat.id, data))
    with pytest.raises(InvalidInputError, match="the limit is 1000"):
        small.messages.add(chat.id, MessageCreate.model_validate(oversized[0]), user_id="alice")
    # The whole limit is available to a message without extras.
    full = small.messages.add(
        chat.id, MessageCreate(role="user", content="z" * 1_000), user_id="alice"
    )
    assert len(full.content) == 1_000


def test_an_edit_counts_the_copied_extras(small: Synergia) -> None:
    chat = small.chats.create(ChatCreate(user_id="alice"))
    original = small.messages.add(
        chat.id,
        MessageCreate(role="user", content="hi", metadata={"k": "v" * 500}),
        user_id="alice",
    )
    small.messages.edit(original.id, "a" * 400, user_id="alice")
    refused(small, lambda s: s.messages.edit(original.id, "a" * 600, user_id="alice"), "content")


def test_chat_and_model_metadata_count_their_numbers(small: Synergia) -> None:
    numbers = {"n": [12345] * 200}
    refused(small, lambda s: s.chats.create(ChatCreate(user_id="alice", metadata=numbers)))
    chat = small.chats.create(ChatCreate(user_id="alice"))
    refused(small, lambda s: s.chats.update(chat.id, ChatUpdate(metadata=numbers), user_id="alice"))
    model = ModelCreate(provider="p", name="m", price_per_million_tokens=1, metadata=numbers)
    refused(small, lambda s: s.models.create(model), "metadata")
    created = make_model(small)
    refused(small, lambda s: s.models.update(created.id, ModelUpdate(metadata=numbers)))


# --------------------------------------------- 9. times at the edges of datetime


EAST = dt.timezone(dt.timedelta(hours=14))
WEST = dt.timezone(dt.timedelta(hours=-12))


@pytest.mark.parametrize("by", [None, "model", "day", "user", "chat"])
def test_usage_bounds_beyond_what_datetime_holds(sy: Synergia, by: str | None) -> None:
    """Regression: datetime.min east of UTC (or max west of it) raised a raw
    OverflowError/StatementError: in UTC it is before year 1 (after 9999)."""
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    sy.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="alice")

    def count(**bounds: Any) -> int:
        if by is None:
            return sy.usage.totals(**bounds).message_count
        rows = sy.usage.breakdown(by, **bounds)  # type: ignore[arg-type]
        return sum(row.message_count for row in rows)

    assert count(since=dt.datetime.min.replace(tzinfo=EAST)) == 1  # since the beginning
    assert count(until=dt.datetime.max.replace(tzinfo=WEST)) == 1  # until the end
    assert count(since=dt.datetime.max.replace(tzinfo=WEST)) == 0  # after the end
    assert count(until=dt.datetime.min.replace(tzinfo=EAST)) == 0  # before the beginning
    assert (
        count(
            since=dt.datetime.min.replace(tzinfo=dt.timezone.utc),
            until=dt.datetime.max.replace(tzinfo=dt.timezone.utc),
        )
        == 1
    )
    with pytest.raises(InvalidInputError, match="since"):
        count(since=dt.datetime.min)  # naive


# --------------------------------------------------------------- 10. cursors


def pages(sy: Synergia) -> tuple[uuid.UUID, str, str]:
    """Alice has 3 chats, one with 3 messages: a chat cursor and a message cursor."""
    chats = [sy.chats.create(ChatCreate(user_id="alice")) for _ in range(3)]
    for text in ("a", "b", "c"):
        sy.messages.add(chats[0].id, MessageCreate(role="user", content=text), user_id="alice")
    chat_cursor = sy.chats.list(user_id="alice", limit=1).next_cursor
    message_cursor = sy.messages.list(chats[0].id, user_id="alice", limit=1).next_cursor
    assert chat_cursor is not None
    assert message_cursor is not None
    return chats[0].id, chat_cursor, message_cursor


def test_a_cursor_belongs_to_its_user_chat_and_filters(sy: Synergia) -> None:
    """Regression: alice's cursor in bob's list returned [] (no error)."""
    chat_id, chat_cursor, message_cursor = pages(sy)
    bob_chat = sy.chats.create(ChatCreate(user_id="bob"))
    other_chat = sy.chats.create(ChatCreate(user_id="alice"))
    misuses: list[Callable[[Any], object]] = [
        lambda s: s.chats.list(user_id="bob", cursor=chat_cursor),
        lambda s: s.chats.list(user_id="alice", cursor=chat_cursor, pinned=True),
        lambda s: s.chats.list(user_id="alice", cursor=chat_cursor, include_archived=True),
        lambda s: s.chats.list(user_id="alice", cursor=message_cursor),
        lambda s: s.messages.list(chat_id, user_id="bob", cursor=message_cursor),
        lambda s: s.messages.list(other_chat.id, user_id="alice", cursor=message_cursor),
        lambda s: s.messages.list(bob_chat.id, user_id="bob", cursor=message_cursor),
        lambda s: s.messages.list(chat_id, user_id="alice", cursor=chat_cursor),
    ]
    for misuse in misuses:
        refused(sy, misuse, "cursor")
    assert len(sy.chats.list(user_id="alice", limit=1, cursor=chat_cursor).items) == 1
    assert len(sy.messages.list(chat_id, user_id="alice", limit=1, cursor=message_cursor).items)


FORGED_CHAT_POSITIONS: list[tuple[Any, Any]] = [
    ("2020-01-01T00:00:00+00:00", 5),  # an id that is no string: was AttributeError
    ("0001-01-01T00:00:00+05:00", str(uuid.uuid4())),  # before year 1 in UTC: OverflowError
    ("9999-12-31T23:59:59-05:00", str(uuid.uuid4())),  # after 9999 in UTC
    ("2020-01-01T00:00:00", str(uuid.uuid4())),  # naive
    ("not a time", str(uuid.uuid4())),
    (12, str(uuid.uuid4())),
    (None, None),
    ("2020-01-01T00:00:00+00:00", "not-a-uuid"),
    ("2020-01-01T00:00:00+00:00", "x" * 500),
    (["nested"], {"dict": 1}),
]
FORGED_SEQS: list[Any] = [0, -1, 2**31, 10**30, "1", True, None, 1.5, [1]]


def list_chats(cursor: str, sy: Any) -> object:
    return sy.chats.list(user_id="alice", cursor=cursor)


def list_messages(chat_id: uuid.UUID, cursor: str, sy: Any) -> object:
    return sy.messages.list(chat_id, user_id="alice", cursor=cursor)


def test_forged_cursors_are_checked_value_by_value(sy: Synergia) -> None:
    """Regression: a cursor minted with the key that ships in the package,
    holding values out of range, raised raw OverflowError/AttributeError/
    StatementError (and aborted the transaction on PostgreSQL)."""
    chat_id, _, _ = pages(sy)
    for activity, key in FORGED_CHAT_POSITIONS:
        forged = encode_cursor("chats", (activity, key), bound=("alice", False, None), secret=None)
        refused(sy, partial(list_chats, forged), "cursor")
    for seq in FORGED_SEQS:
        forged = encode_cursor("messages", (seq,), bound=("alice", str(chat_id)), secret=None)
        refused(sy, partial(list_messages, chat_id, forged), "cursor")
    # A well-formed forgery gets a page of the caller's own data, nothing more.
    forged = encode_cursor("messages", (3,), bound=("alice", str(chat_id)), secret=None)
    page = sy.messages.list(chat_id, user_id="alice", cursor=forged)
    assert [m.content for m in page.items] == ["a", "b"]


def test_a_host_secret_makes_cursors_unforgeable(facade: FacadeFactory) -> None:
    secret = b"0123456789abcdef-host-secret"
    sy = facade(ServiceConfig(cursor_secret=secret))
    chat_id, chat_cursor, message_cursor = pages(sy)
    twin = facade(ServiceConfig(cursor_secret=secret))  # another process of the same host
    assert len(twin.chats.list(user_id="alice", limit=1, cursor=chat_cursor).items) == 1
    minted = encode_cursor("messages", (3,), bound=("alice", str(chat_id)), secret=None)
    refused(sy, lambda s: s.messages.list(chat_id, user_id="alice", cursor=minted), "cursor")
    stranger = facade(ServiceConfig(cursor_secret=b"another secret of 16+ bytes"))
    refused(stranger, lambda s: s.chats.list(user_id="alice", cursor=chat_cursor), "cursor")
    refused(stranger, lambda s: s.messages.list(chat_id, user_id="alice", cursor=message_cursor))


@pytest.mark.parametrize("secret", ["a string secret!!", b"short", 12345])
def test_a_cursor_secret_is_sixteen_bytes_or_more(secret: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ServiceConfig(cursor_secret=secret)
    assert caught.value.field == "cursor_secret"


# ------------------------------------------------------- 11. caller mistakes


def test_a_dict_is_validated_into_the_schema(sy: Synergia) -> None:
    """Regression: a dict where a schema was expected raised AttributeError.
    The rule: a valid dict is accepted, an invalid one is ValidationError."""
    model = sy.models.create({"provider": "p", "name": "m", "price_per_million_tokens": "2.5"})
    assert model.input_price_per_million == Decimal("2.5")
    assert sy.models.update(model.id, {"display_name": "M"}).display_name == "M"
    chat = sy.chats.create({"user_id": "alice", "title": "t"})
    assert sy.chats.update(chat.id, {"title": "u"}, user_id="alice").title == "u"
    message = sy.messages.add(chat.id, {"role": "user", "content": "hi"}, user_id="alice")
    assert message.content == "hi"
    stream = sy.messages.start(chat.id, user_id="alice", model_id=model.id)
    finished = sy.messages.finish(
        stream.id,
        user_id="alice",
        usage={"input_tokens": 1_000_000, "output_tokens": 0},
    )
    assert finished.cost == Decimal("2.5")
    before = snapshot(sy.engine.url)
    for call in (
        lambda: sy.models.create({"provider": "p"}),
        lambda: sy.chats.update(chat.id, {"is_pinned": None}, user_id="alice"),
        lambda: sy.messages.add(chat.id, {"role": "robot", "content": ""}, user_id="alice"),
    ):
        with pytest.raises(ValidationError):
            call()
    assert snapshot(sy.engine.url) == before


def test_wrong_types_name_the_parameter(sy: Synergia) -> None:
    """Regression: TypeError, KeyError, Alembic's CommandError and database
    errors escaped for arguments of the wrong type."""
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    message = sy.messages.add(chat.id, MessageCreate(role="user", content="q"), user_id="alice")
    stream = sy.messages.start(chat.id, user_id="alice", model_id=model.id)
    cases: list[tuple[Callable[[Any], object], str]] = [
        (lambda s: s.models.create(5), "data"),
        (lambda s: s.models.create([("provider", "p")]), "data"),
        (lambda s: s.models.update(model.id, "name"), "data"),
        (lambda s: s.chats.create(None), "data"),
        (lambda s: s.chats.update(chat.id, 1, user_id="alice"), "data"),
        (lambda s: s.messages.add(chat.id, "hello", user_id="alice"), "data"),
        (lambda s: s.messages.append(stream.id, None, user_id="alice"), "chunk"),
        (lambda s: s.messages.append(stream.id, b"bytes", user_id="alice"), "chunk"),
        (lambda s: s.messages.edit(message.id, 5, user_id="alice"), "content"),
        (lambda s: s.messages.edit(message.id, None, user_id="alice"), "content"),
        (lambda s: s.messages.fail(stream.id, None, user_id="alice"), "error"),
        (lambda s: s.messages.finish(stream.id, user_id="alice", usage="1,2"), "usage"),
        (lambda s: s.models.get_by_name(1, 2), "provider"),
        (lambda s: s.models.get_by_name("p", None), "name"),
        (lambda s: s.models.list(enabled_only="yes"), "enabled_only"),
        (lambda s: s.chats.list(user_id="alice", pinned="true"), "pinned"),
        (lambda s: s.chats.list(user_id="alice", include_archived=1), "include_archived"),
        (lambda s: s.messages.context(chat.id, user_id="alice", format=10**5000), "format"),
        (lambda s: s.usage.breakdown(["day"]), "by"),
        (lambda s: s.usage.totals(since="2020-01-01"), "since"),
        (lambda s: s.messages.get(message.id, user_id=7), "user_id"),
        (lambda s: s.messages.thread(chat.id, user_id="alice", leaf_id=3.5), "leaf_id"),
    ]
    for call, field in cases:
        refused(sy, call, field)
    assert sy.messages.get(message.id, user_id="alice").content == "q"


@pytest.mark.parametrize("revision", ["bogus", 5, None, ""])
def test_facade_migrate_refuses_an_unknown_revision(sy: Synergia, revision: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        sy.migrate(revision)
    assert caught.value.field == "revision"
    assert sy.health().status == "healthy"


def create_chat(data: ChatCreate, sy: Any) -> object:
    return sy.chats.create(data)


def create_model(data: ModelCreate, sy: Any) -> object:
    return sy.models.create(data)


def test_json_integers_are_bounded_to_64_bits(sy: Synergia) -> None:
    """Regression: a 5,000-digit integer in metadata failed in the driver
    (Python's int-to-str limit) with a raw StatementError."""
    for huge in (10**5000, -(10**5000), MAX_JSON_INT + 1, -MAX_JSON_INT - 1):
        chat_data = ChatCreate(user_id="alice", metadata={"n": huge})
        model_data = ModelCreate(
            provider="p", name="m", price_per_million_tokens=1, metadata={"n": [huge]}
        )
        refused(sy, partial(create_chat, chat_data), "metadata")
        refused(sy, partial(create_model, model_data), "metadata")
    chat = sy.chats.create(
        ChatCreate(user_id="alice", metadata={"max": MAX_JSON_INT, "min": -MAX_JSON_INT})
    )
    assert sy.chats.get(chat.id, user_id="alice").metadata == {
        "max": MAX_JSON_INT,
        "min": -MAX_JSON_INT,
    }  # read back exactly on both backends


def test_schema_instances_built_without_validation(sy: Synergia) -> None:
    """model_construct (or a field changed after validation) puts any value
    in a schema: the services check each field cheaply and refuse it."""
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    stream = sy.messages.start(chat.id, user_id="alice", model_id=model.id)
    price = {"input_price_per_million": Decimal(1), "output_price_per_million": Decimal(1)}
    good_model = ModelCreate(provider="p", name="fresh", **price)
    mutated = ChatCreate(user_id="alice")
    mutated.title = 42  # type: ignore[assignment]
    broken: list[tuple[Callable[[Any], object], str]] = [
        (lambda s: s.models.create(construct(ModelCreate, provider="p")), "data"),
        (
            lambda s: s.models.create(good_model.model_copy(update={"provider": "x" * 101})),
            "provider",
        ),
        (lambda s: s.models.create(good_model.model_copy(update={"name": 7})), "name"),
        (
            lambda s: s.models.create(
                good_model.model_copy(update={"input_price_per_million": Decimal("NaN")})
            ),
            "input_price_per_million",
        ),
        (
            lambda s: s.models.create(
                good_model.model_copy(update={"output_price_per_million": "1"})
            ),
            "output_price_per_million",
        ),
        (
            lambda s: s.models.create(good_model.model_copy(update={"context_window": 2**40})),
            "context_window",
        ),
        (
            lambda s: s.models.create(good_model.model_copy(update={"is_enabled": "no"})),
            "is_enabled",
        ),
        (lambda s: s.models.create(good_model.model_copy(update={"metadata": [1]})), "metadata"),
        (
            lambda s: s.models.update(
                model.id, construct(ModelUpdate, name=None, _fields_set={"name"})
            ),
            "name",
        ),
        (lambda s: s.chats.create(mutated), "title"),
        (lambda s: s.chats.create(construct(ChatCreate, user_id=5, metadata={})), "user_id"),
        (
            lambda s: s.chats.create(
                construct(
                    ChatCreate,
                    user_id="alice",
                    title=None,
                    model_id="x",
                    system_prompt=None,
                    metadata={},
                )
            ),
            "model_id",
        ),
        (
            lambda s: s.chats.update(
                chat.id, construct(ChatUpdate, is_pinned="yes"), user_id="alice"
            ),
            "is_pinned",
        ),
        (lambda s: s.messages.add(chat.id, message(role="robot"), user_id="alice"), "role"),
        (lambda s: s.messages.add(chat.id, message(content=None), user_id="alice"), "content"),
        (lambda s: s.messages.add(chat.id, message(parent_id="p"), user_id="alice"), "parent_id"),
        (
            lambda s: s.messages.add(
                chat.id,
                message(model_id=model.id, usage=construct(Usage, input_tokens=-1)),
                user_id="alice",
            ),
            "usage",
        ),
        (
            lambda s: s.messages.add(
                chat.id,
                message(
                    model_id=model.id,
                    usage=construct(
                        Usage,
                        input_tokens=5,
                        output_tokens=2**63,
                        cache_read_tokens=0,
                        cache_write_tokens=0,
                        reasoning_tokens=0,
                    ),
                ),
                user_id="alice",
            ),
            "usage.output_tokens",
        ),
        (
            lambda s: s.messages.add(
                chat.id, message(role=Role("assistant"), tool_calls=[{"id": "c"}]), user_id="alice"
            ),
            "tool_calls",
        ),
        (
            lambda s: s.messages.add(
                chat.id,
                message(role=Role("assistant"), tool_calls=[construct(ToolCall, id="c")]),
                user_id="alice",
            ),
            "tool_calls",
        ),
        (
            lambda s: s.messages.add(
                chat.id,
                message(attachments=[construct(Attachment, kind="pdf", uri="u", mime_type="m")]),
                user_id="alice",
            ),
            "attachments",
        ),
        (
            lambda s: s.messages.add(chat.id, message(tool_call_id="c"), user_id="alice"),
            "tool_call_id",
        ),
        (
            lambda s: s.messages.add(chat.id, message(metadata={1: "x"}), user_id="alice"),
            "metadata",
        ),
        (
            lambda s: s.messages.finish(
                stream.id, user_id="alice", usage=construct(Usage, input_tokens=1)
            ),
            "usage",
        ),
    ]
    for call, field in broken:
        refused(sy, call, field)


def construct(schema: type[S], **values: Any) -> S:
    """``schema.model_construct`` with any values (no validation, no typing)."""
    return schema.model_construct(**values)


def message(**fields: Any) -> MessageCreate:
    """A valid text message, then ``fields`` put in without validation."""
    return MessageCreate(role="user", content="hi").model_copy(update=fields)


def test_services_on_a_session_check_what_they_are_given() -> None:
    with pytest.raises(InvalidInputError) as caught:
        ModelService.from_session(42)  # type: ignore[arg-type]
    assert caught.value.field == "session"
    with pytest.raises(InvalidInputError) as caught:
        Synergia("sqlite://", config={"max_content_chars": 5})  # type: ignore[arg-type]
    assert caught.value.field == "config"
    for bad in ({"max_content_chars": 0}, {"max_content_chars": "10"}, {"clock": 5}):
        with pytest.raises(InvalidInputError):
            ServiceConfig(**bad)


# ----------------------------------------------------------- 12. negative zero


def test_negative_zero_prices_read_back_as_zero(sy: Synergia) -> None:
    """Regression: Decimal("-0") read back as -0 on SQLite and 0 on PostgreSQL."""
    model = sy.models.create(
        ModelCreate(
            provider="p",
            name="free",
            input_price_per_million=Decimal("-0"),
            output_price_per_million=Decimal("-0.00"),
            cache_read_price_per_million=Decimal("-0E+3"),
        )
    )
    updated = sy.models.update(model.id, ModelUpdate(cache_write_price_per_million=Decimal("-0")))
    constructed = ModelCreate(provider="p", name="c", price_per_million_tokens=1).model_copy(
        update={"input_price_per_million": Decimal("-0.0")}
    )
    other = sy.models.create(constructed)
    for read in (model, updated, sy.models.get(model.id), sy.models.get(other.id)):
        for price in (
            read.input_price_per_million,
            read.output_price_per_million,
            read.cache_read_price_per_million,
            read.cache_write_price_per_million,
        ):
            assert price is None or not price.is_signed(), repr(price)
    stored = sy.models.get(model.id)
    assert str(stored.input_price_per_million) == "0"
    assert sy.models.get(other.id).input_price_per_million == 0


# ------------------------------------------------- 15. the package logger


def test_the_package_logger_has_a_null_handler_and_nothing_else() -> None:
    handlers = logging.getLogger("synergia_core").handlers
    assert [type(handler) for handler in handlers] == [logging.NullHandler]


QUIET = textwrap.dedent(
    """
    import asyncio, sys
    from synergia_core import AsyncSynergia, Synergia

    for url in sys.argv[1:]:
        assert Synergia(url).health().status == "unhealthy"
        async def probe():
            sy = AsyncSynergia(url)
            try:
                return await sy.health()
            finally:
                await sy.close()
        assert asyncio.run(probe()).status == "unhealthy"
    print("done")
    """
)


def test_health_on_a_dead_database_prints_nothing(tmp_path: Path) -> None:
    """Regression: without a NullHandler, the warning health() logs went to
    stderr through Python's last-resort handler when the host had not
    configured logging."""
    dead = [
        "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
        f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}",
    ]
    result = subprocess.run(
        [sys.executable, "-c", QUIET, *dead],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "done"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"engine": 5}, "engine"),
        ({"url": 5}, "url"),
        ({"url": "sqlite://", "config": {"max_content_chars": 5}}, "config"),
        ({"url": "sqlite://", "auto_migrate": "yes"}, "auto_migrate"),
        ({"url": "sqlite://", "echo": 1}, "echo"),
    ],
)
@pytest.mark.parametrize("face", ["sync", "async"])
def test_facade_arguments_are_checked_at_construction(
    arguments: dict[str, Any], field: str, face: str
) -> None:
    from synergia_core import AsyncSynergia

    cls: Any = Synergia if face == "sync" else AsyncSynergia
    with pytest.raises(InvalidInputError) as caught:
        cls(**arguments)
    assert caught.value.field == field


def test_a_naive_clock_is_refused_before_anything_is_written(facade: FacadeFactory) -> None:
    sy = facade(ServiceConfig(clock=lambda: dt.datetime(2026, 1, 1)))  # no tzinfo
    before = snapshot(sy.engine.url)
    with pytest.raises(InvalidInputError) as caught:
        sy.chats.create(ChatCreate(user_id="alice"))
    assert caught.value.field == "clock"
    assert snapshot(sy.engine.url) == before


def test_negative_zero_is_stored_as_zero_whatever_the_path(sy: Synergia) -> None:
    """The Money column itself turns -0 into 0, not only the schemas."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from synergia_core.db import create_engine
    from synergia_core.repositories.sql._types import Money
    from tests.reliability.snapshot import sync_url

    engine = create_engine(sync_url(sy.engine.url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            value = connection.execute(sa.select(sa.literal(Decimal("-0"), Money()))).scalar_one()
    finally:
        engine.dispose()
    assert value == 0
    assert not value.is_signed()
