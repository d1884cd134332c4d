"""Cost and usage totals: exact money on both backends."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal

import pytest

from synergia_core import (
    ChatCreate,
    InvalidInputError,
    MessageCreate,
    ModelUpdate,
    ServiceConfig,
    Synergia,
    Usage,
)
from tests.conftest import FacadeFactory
from tests.helpers import make_model


def reply(
    sy: Synergia, chat_id: uuid.UUID, model_id: uuid.UUID, usage: Usage, user: str
) -> Decimal:
    message = sy.messages.add(
        chat_id,
        MessageCreate(role="assistant", content="...", model_id=model_id, usage=usage),
        user_id=user,
    )
    return message.cost


def test_cost_formula_with_cache_prices(sy: Synergia) -> None:
    model = make_model(
        sy,
        input_price="3",
        output_price="15",
        cache_read_price_per_million=Decimal("0.30"),
        cache_write_price_per_million=Decimal("3.75"),
    )
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    usage = Usage(
        input_tokens=10_000,
        output_tokens=500,
        cache_read_tokens=6_000,
        cache_write_tokens=2_000,
        reasoning_tokens=200,
    )
    cost = reply(sy, chat.id, model.id, usage, "alice")
    expected = (
        Decimal(2_000) * 3 + Decimal(6_000) * Decimal("0.30") + Decimal(2_000) * Decimal("3.75")
    ) / 1_000_000 + Decimal(500) * 15 / 1_000_000
    assert cost == expected == Decimal("0.0228")


def test_missing_cache_price_is_the_input_price(sy: Synergia) -> None:
    model = make_model(sy, input_price="2.50", output_price="10")
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    with_cache = reply(
        sy,
        chat.id,
        model.id,
        Usage(input_tokens=1000, output_tokens=0, cache_read_tokens=900),
        "alice",
    )
    without = reply(sy, chat.id, model.id, Usage(input_tokens=1000, output_tokens=0), "alice")
    assert with_cache == without == Decimal("0.0025")


def test_cached_tokens_are_never_charged_twice(sy: Synergia) -> None:
    model = make_model(
        sy, input_price="1", output_price="1", cache_read_price_per_million=Decimal("0")
    )
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    all_cached = Usage(input_tokens=1_000_000, output_tokens=0, cache_read_tokens=1_000_000)
    assert reply(sy, chat.id, model.id, all_cached, "alice") == 0


def test_price_changes_never_rewrite_history(sy: Synergia) -> None:
    model = make_model(sy, input_price="1", output_price="1")
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    first = reply(sy, chat.id, model.id, Usage(input_tokens=1_000_000, output_tokens=0), "alice")
    sy.models.update(model.id, ModelUpdate(input_price_per_million=Decimal("5")))
    second = reply(sy, chat.id, model.id, Usage(input_tokens=1_000_000, output_tokens=0), "alice")
    assert (first, second) == (Decimal(1), Decimal(5))
    assert sy.usage.totals(chat_id=chat.id).cost == Decimal(6)


def test_many_tiny_amounts_sum_exactly(sy: Synergia) -> None:
    model = make_model(sy, input_price="0.0000000001", output_price="0.0000000003")
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    expected = Decimal(0)
    with sy.transaction() as tx:
        for i in range(400):
            usage = Usage(input_tokens=i % 7 + 1, output_tokens=i % 5)
            message = tx.messages.add(
                chat.id,
                MessageCreate(role="assistant", content="x", model_id=model.id, usage=usage),
                user_id="alice",
            )
            expected += message.cost
            assert (
                message.cost
                == (
                    Decimal(usage.input_tokens) * Decimal("0.0000000001")
                    + Decimal(usage.output_tokens) * Decimal("0.0000000003")
                )
                / 1_000_000
            )
    totals = sy.usage.totals(user_id="alice")
    assert totals.cost == expected
    assert str(totals.cost.normalize()) == str(expected.normalize())


def test_totals_filters_and_window(facade: FacadeFactory) -> None:
    ticks = itertools.count()
    start = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)

    def clock() -> dt.datetime:
        return start + dt.timedelta(hours=next(ticks))

    sy = facade(ServiceConfig(clock=clock))
    gpt = make_model(sy, input_price="1", output_price="2")
    claude = make_model(sy, "claude", provider="anthropic", input_price="3", output_price="4")
    alice = sy.chats.create(ChatCreate(user_id="alice"))
    bob = sy.chats.create(ChatCreate(user_id="bob"))
    rows = [
        (alice.id, gpt.id, "alice", Usage(input_tokens=1_000_000, output_tokens=0)),
        (alice.id, claude.id, "alice", Usage(input_tokens=0, output_tokens=1_000_000)),
        (bob.id, gpt.id, "bob", Usage(input_tokens=500_000, output_tokens=500_000)),
    ]
    created = []
    for chat_id, model_id, user, usage in rows:
        created.append(
            sy.messages.add(
                chat_id,
                MessageCreate(role="assistant", content="x", model_id=model_id, usage=usage),
                user_id=user,
            )
        )
    sy.messages.add(alice.id, MessageCreate(role="user", content="thanks"), user_id="alice")

    everything = sy.usage.totals()
    assert everything.message_count == 4
    assert everything.cost == Decimal(1) + Decimal(4) + Decimal("1.5")
    assert everything.input_tokens == 1_500_000
    assert everything.output_tokens == 1_500_000
    assert sy.usage.totals(user_id="alice").cost == Decimal(5)
    assert sy.usage.totals(chat_id=bob.id).cost == Decimal("1.5")
    assert sy.usage.totals(model_id=gpt.id).cost == Decimal("2.5")
    assert sy.usage.totals(user_id="alice", model_id=gpt.id).cost == Decimal(1)
    second = created[1].created_at
    window = sy.usage.totals(since=second, until=created[2].created_at)
    assert (window.message_count, window.cost) == (1, Decimal(4))  # since in, until out
    empty = sy.usage.totals(user_id="nobody")
    assert empty.message_count == 0
    assert empty.cost == Decimal(0)
    assert empty.input_tokens == 0
    sy.chats.delete(alice.id, user_id="alice")  # money spent stays counted
    assert sy.usage.totals(user_id="alice").cost == Decimal(5)


def test_naive_times_and_bad_ids_are_refused(sy: Synergia) -> None:
    with pytest.raises(InvalidInputError, match="timezone-aware"):
        sy.usage.totals(since=dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidInputError, match="UUID"):
        sy.usage.totals(chat_id="nope")
