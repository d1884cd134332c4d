"""Contract: message cost and ``sy.usage.totals``, written from DESIGN.md only."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from synergia_core import (
    ChatCreate,
    ChatRead,
    MessageCreate,
    MessageRead,
    ModelCreate,
    ModelRead,
    ModelUpdate,
    Synergia,
    Usage,
    UsageTotals,
)

MILLION = Decimal(1_000_000)


def add_model(sy: Synergia, name: str = "m", **prices: Any) -> ModelRead:
    data: dict[str, Any] = {
        "provider": "test",
        "name": name,
        "input_price_per_million": "2.50",
        "output_price_per_million": "10",
    }
    data.update(prices)
    return sy.models.create(ModelCreate.model_validate(data))


def spend(
    sy: Synergia,
    chat: ChatRead,
    model: ModelRead,
    usage: Usage,
    user_id: str = "alice",
) -> MessageRead:
    return sy.messages.add(
        chat.id,
        MessageCreate(role="assistant", content="answer", model_id=model.id, usage=usage),
        user_id=user_id,
    )


def tokens(totals: UsageTotals) -> tuple[int, int, int, int, int]:
    return (
        totals.input_tokens,
        totals.output_tokens,
        totals.cache_read_tokens,
        totals.cache_write_tokens,
        totals.reasoning_tokens,
    )


# --- cost of one message ------------------------------------------------------------------


COST_CASES: list[tuple[str, dict[str, Any], Usage, Decimal]] = [
    (
        "design-example",
        {"input_price_per_million": "2.50", "output_price_per_million": "10"},
        Usage(input_tokens=12, output_tokens=420),
        Decimal("0.00423"),
    ),
    (
        "cache-prices",
        {
            "input_price_per_million": "3",
            "output_price_per_million": "15",
            "cache_read_price_per_million": "0.30",
            "cache_write_price_per_million": "3.75",
        },
        Usage(
            input_tokens=10_000, output_tokens=500, cache_read_tokens=6000, cache_write_tokens=2000
        ),
        # (10000 - 6000 - 2000) x 3 + 6000 x 0.30 + 2000 x 3.75 + 500 x 15 = 22800
        Decimal("0.0228"),
    ),
    (
        "missing-cache-prices-mean-input-price",
        {"input_price_per_million": "2", "output_price_per_million": "8"},
        Usage(input_tokens=1000, output_tokens=10, cache_read_tokens=400, cache_write_tokens=100),
        # 500 x 2 + 400 x 2 + 100 x 2 + 10 x 8 = 2080
        Decimal("0.00208"),
    ),
    (
        "missing-cache-write-price-only",
        {
            "input_price_per_million": "2",
            "output_price_per_million": "8",
            "cache_read_price_per_million": "0.5",
        },
        Usage(input_tokens=1000, output_tokens=0, cache_read_tokens=400, cache_write_tokens=100),
        # 500 x 2 + 400 x 0.5 + 100 x 2 = 1400
        Decimal("0.0014"),
    ),
    (
        "missing-cache-read-price-only",
        {
            "input_price_per_million": "2",
            "output_price_per_million": "8",
            "cache_write_price_per_million": "4",
        },
        Usage(input_tokens=1000, output_tokens=0, cache_read_tokens=400, cache_write_tokens=100),
        # 500 x 2 + 400 x 2 + 100 x 4 = 2200
        Decimal("0.0022"),
    ),
    (
        "everything-cached",
        {
            "input_price_per_million": "10",
            "output_price_per_million": "0",
            "cache_read_price_per_million": "1",
            "cache_write_price_per_million": "0",
        },
        Usage(input_tokens=1000, output_tokens=0, cache_read_tokens=1000),
        Decimal("0.001"),
    ),
    (
        "reasoning-is-part-of-output",
        {"input_price_per_million": "1", "output_price_per_million": "10"},
        Usage(input_tokens=0, output_tokens=100, reasoning_tokens=60),
        Decimal("0.001"),
    ),
    (
        "ten-decimal-prices-unrounded",
        {"input_price_per_million": "1.2345678901", "output_price_per_million": "0.0000000001"},
        Usage(input_tokens=7, output_tokens=3),
        # 7 x 1.2345678901 + 3 x 0.0000000001 = 8.6419752310
        Decimal("0.000008641975231"),
    ),
    (
        "large-price",
        {"input_price_per_million": "123456.1234567891", "output_price_per_million": "0.1"},
        Usage(input_tokens=3, output_tokens=1),
        # 3 x 123456.1234567891 + 1 x 0.1 = 370368.4703703673
        Decimal("0.3703684703703673"),
    ),
    (
        "zero-usage",
        {"input_price_per_million": "5", "output_price_per_million": "5"},
        Usage(input_tokens=0, output_tokens=0),
        Decimal("0"),
    ),
]


@pytest.mark.parametrize(
    ("prices", "usage", "expected"),
    [case[1:] for case in COST_CASES],
    ids=[case[0] for case in COST_CASES],
)
def test_message_cost_is_exact(
    sy: Synergia, prices: dict[str, Any], usage: Usage, expected: Decimal
) -> None:
    model = add_model(sy, **prices)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    message = spend(sy, chat, model, usage)
    assert isinstance(message.cost, Decimal)
    assert message.cost == expected
    fetched = sy.messages.get(message.id, user_id="alice")
    assert isinstance(fetched.cost, Decimal)
    assert fetched.cost == expected
    assert sy.usage.totals(chat_id=chat.id).cost == expected


def test_cost_formula_matches_the_design_for_a_mixed_usage(sy: Synergia) -> None:
    prices = {
        "input_price_per_million": Decimal("0.1234567891"),
        "output_price_per_million": Decimal("9.8765432109"),
        "cache_read_price_per_million": Decimal("0.0123456789"),
        "cache_write_price_per_million": Decimal("0.1543209876"),
    }
    usage = Usage(
        input_tokens=987_654,
        output_tokens=123_457,
        cache_read_tokens=500_001,
        cache_write_tokens=250_003,
        reasoning_tokens=99_999,
    )
    model = add_model(sy, **{k: str(v) for k, v in prices.items()})
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    message = spend(sy, chat, model, usage)
    expected = (
        (usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens)
        * prices["input_price_per_million"]
        + usage.cache_read_tokens * prices["cache_read_price_per_million"]
        + usage.cache_write_tokens * prices["cache_write_price_per_million"]
        + usage.output_tokens * prices["output_price_per_million"]
    ) / MILLION
    assert sy.messages.get(message.id, user_id="alice").cost == expected


def test_later_price_changes_never_rewrite_history(sy: Synergia) -> None:
    model = add_model(sy, input_price_per_million="1", output_price_per_million="1")
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    old = spend(sy, chat, model, Usage(input_tokens=1_000_000, output_tokens=0))
    sy.models.update(model.id, ModelUpdate(input_price_per_million=Decimal("5")))
    new = spend(sy, chat, model, Usage(input_tokens=1_000_000, output_tokens=0))
    assert sy.messages.get(old.id, user_id="alice").cost == Decimal("1")
    assert new.cost == Decimal("5")
    assert sy.usage.totals(chat_id=chat.id).cost == Decimal("6")


# --- totals -------------------------------------------------------------------------------


def test_totals_are_zeros_when_empty(sy: Synergia) -> None:
    totals = sy.usage.totals()
    assert isinstance(totals, UsageTotals)
    assert totals.message_count == 0
    assert tokens(totals) == (0, 0, 0, 0, 0)
    assert isinstance(totals.cost, Decimal)
    assert totals.cost == Decimal(0)
    filtered = sy.usage.totals(user_id="nobody", chat_id=uuid.uuid4(), model_id=uuid.uuid4())
    assert filtered.message_count == 0
    assert filtered.cost == Decimal(0)


def test_sums_are_exact(sy: Synergia) -> None:
    model = add_model(sy, input_price_per_million="0.1", output_price_per_million="0")
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    for _ in range(3):
        spend(sy, chat, model, Usage(input_tokens=1_000_000, output_tokens=0))
    totals = sy.usage.totals()
    assert isinstance(totals.cost, Decimal)
    assert totals.cost == Decimal("0.3")  # a float SUM gives 0.30000000000000004


def test_sums_of_unrounded_costs_are_exact(sy: Synergia) -> None:
    model = add_model(
        sy, input_price_per_million="1.2345678901", output_price_per_million="0.0000000001"
    )
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    for _ in range(10):
        spend(sy, chat, model, Usage(input_tokens=7, output_tokens=3))
    assert sy.usage.totals(user_id="alice").cost == Decimal("0.00008641975231")


def test_totals_sum_every_token_count(sy: Synergia) -> None:
    model = add_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    spend(sy, chat, model, Usage(input_tokens=10, output_tokens=5, cache_read_tokens=3))
    spend(
        sy,
        chat,
        model,
        Usage(
            input_tokens=100,
            output_tokens=50,
            cache_read_tokens=20,
            cache_write_tokens=30,
            reasoning_tokens=40,
        ),
    )
    totals = sy.usage.totals(chat_id=chat.id)
    assert totals.message_count == 2
    assert tokens(totals) == (110, 55, 23, 30, 40)


def test_filters_by_user_chat_and_model(sy: Synergia) -> None:
    cheap = add_model(sy, "cheap", input_price_per_million="1", output_price_per_million="0")
    dear = add_model(sy, "dear", input_price_per_million="100", output_price_per_million="0")
    alice_1 = sy.chats.create(ChatCreate(user_id="alice"))
    alice_2 = sy.chats.create(ChatCreate(user_id="alice"))
    bob_1 = sy.chats.create(ChatCreate(user_id="bob"))
    million = Usage(input_tokens=1_000_000, output_tokens=0)
    spend(sy, alice_1, cheap, million)  # 1
    spend(sy, alice_1, dear, million)  # 100
    spend(sy, alice_2, cheap, million)  # 1
    spend(sy, bob_1, dear, million, user_id="bob")  # 100
    assert sy.usage.totals().cost == Decimal("202")
    assert sy.usage.totals().message_count == 4
    assert sy.usage.totals(user_id="alice").cost == Decimal("102")
    assert sy.usage.totals(user_id="bob").cost == Decimal("100")
    assert sy.usage.totals(chat_id=alice_1.id).cost == Decimal("101")
    assert sy.usage.totals(chat_id=alice_2.id).message_count == 1
    assert sy.usage.totals(model_id=cheap.id).cost == Decimal("2")
    assert sy.usage.totals(model_id=dear.id).message_count == 2
    assert sy.usage.totals(user_id="alice", model_id=dear.id).cost == Decimal("100")
    assert sy.usage.totals(user_id="bob", chat_id=alice_1.id).message_count == 0
    assert sy.usage.totals(chat_id=alice_1.id, model_id=cheap.id).input_tokens == 1_000_000


def test_since_is_inclusive_and_until_exclusive(sy: Synergia) -> None:
    model = add_model(sy, input_price_per_million="1", output_price_per_million="0")
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    m1 = spend(sy, chat, model, Usage(input_tokens=1, output_tokens=0))
    m2 = spend(sy, chat, model, Usage(input_tokens=10, output_tokens=0))
    m3 = spend(sy, chat, model, Usage(input_tokens=100, output_tokens=0))
    assert m1.created_at < m2.created_at < m3.created_at
    assert sy.usage.totals(since=m2.created_at).input_tokens == 110
    assert sy.usage.totals(until=m2.created_at).input_tokens == 1
    assert sy.usage.totals(since=m2.created_at, until=m3.created_at).input_tokens == 10
    assert sy.usage.totals(since=m1.created_at, until=m1.created_at).message_count == 0
    assert sy.usage.totals(since=m3.created_at + timedelta(microseconds=1)).message_count == 0
    assert sy.usage.totals(until=m3.created_at + timedelta(microseconds=1)).input_tokens == 111
    assert sy.usage.totals(since=m1.created_at, user_id="alice").message_count == 3


def test_messages_of_soft_deleted_chats_still_count(sy: Synergia) -> None:
    model = add_model(sy, input_price_per_million="3", output_price_per_million="0")
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    spend(sy, chat, model, Usage(input_tokens=1_000_000, output_tokens=0))
    sy.chats.delete(chat.id, user_id="alice")
    assert sy.usage.totals().cost == Decimal("3")
    assert sy.usage.totals(user_id="alice").message_count == 1
    assert sy.usage.totals(chat_id=chat.id).cost == Decimal("3")
    assert sy.usage.totals(model_id=model.id).input_tokens == 1_000_000
