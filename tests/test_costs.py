"""Prices that match the bills: one-hour cache writes, long-context tiers,
aliases, upsert and sync (every backend, sync and async)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from synergia_core import (
    ChatCreate,
    InvalidInputError,
    MessageCreate,
    ModelAlreadyExists,
    ModelCreate,
    ModelNotFound,
    ModelUpdate,
    PriceTier,
    Synergia,
    Usage,
)

ALICE = "alice"

SONNET = ModelCreate(
    provider="anthropic",
    name="claude-sonnet-4-5",
    input_price_per_million=Decimal("3"),
    output_price_per_million=Decimal("15"),
    cache_read_price_per_million=Decimal("0.30"),
    cache_write_price_per_million=Decimal("3.75"),
    cache_write_1h_price_per_million=Decimal("6"),
    tiers=[
        PriceTier(
            above_input_tokens=200_000,
            input_price_per_million=Decimal("6"),
            output_price_per_million=Decimal("22.50"),
            cache_read_price_per_million=Decimal("0.60"),
            cache_write_price_per_million=Decimal("7.50"),
            cache_write_1h_price_per_million=Decimal("12"),
        )
    ],
    aliases=["claude-sonnet-4-5-20250929"],
)


def cost_of(sy: Synergia, model: ModelCreate, usage: Usage) -> Decimal:
    stored = sy.models.upsert(model)
    chat = sy.chats.create(ChatCreate(user_id=ALICE))
    message = sy.messages.add(
        chat.id,
        MessageCreate(role="assistant", content="x", model_id=stored.id, usage=usage),
        user_id=ALICE,
    )
    return message.cost


def test_one_hour_cache_writes_are_priced_apart(sy: Synergia) -> None:
    usage = Usage(
        input_tokens=10_000,
        output_tokens=1_000,
        cache_read_tokens=4_000,
        cache_write_tokens=3_000,
        cache_write_1h_tokens=1_000,
    )
    # 3,000 x 3 + 4,000 x 0.30 + 2,000 x 3.75 + 1,000 x 6 + 1,000 x 15, per million
    assert cost_of(sy, SONNET, usage) == Decimal("0.0387")
    read = sy.messages.list(sy.chats.list(user_id=ALICE).items[0].id, user_id=ALICE).items[0]
    assert read.cache_write_1h_tokens == 1_000


def test_a_missing_one_hour_price_is_the_cache_write_price(sy: Synergia) -> None:
    plain = SONNET.model_copy(
        update={"cache_write_1h_price_per_million": None, "tiers": [], "aliases": []}
    )
    usage = Usage(
        input_tokens=3_000, output_tokens=0, cache_write_tokens=3_000, cache_write_1h_tokens=1_000
    )
    assert cost_of(sy, plain, usage) == Decimal("0.01125")  # 3,000 x 3.75
    bare = plain.model_copy(update={"name": "bare", "cache_write_price_per_million": None})
    assert cost_of(sy, bare, usage) == Decimal("0.009")  # 3,000 x 3, the input price


def test_a_long_request_is_priced_whole_at_its_tier(sy: Synergia) -> None:
    long = Usage(
        input_tokens=250_000, output_tokens=2_000, cache_read_tokens=100_000, cache_write_tokens=0
    )
    # every token at the tier: 150,000 x 6 + 100,000 x 0.60 + 2,000 x 22.50
    assert cost_of(sy, SONNET, long) == Decimal("1.005")
    at_threshold = Usage(input_tokens=200_000, output_tokens=1_000)
    assert cost_of(sy, SONNET, at_threshold) == Decimal("0.615")  # not above: base prices


def test_the_highest_tier_exceeded_wins_and_fills_its_cache_prices(sy: Synergia) -> None:
    model = ModelCreate(
        provider="google",
        name="tiered",
        input_price_per_million=Decimal("1"),
        output_price_per_million=Decimal("2"),
        tiers=[
            PriceTier(
                above_input_tokens=500_000,
                input_price_per_million=Decimal("4"),
                output_price_per_million=Decimal("8"),
            ),
            PriceTier(
                above_input_tokens=100_000,
                input_price_per_million=Decimal("2"),
                output_price_per_million=Decimal("4"),
            ),
        ],
    )
    usage = Usage(input_tokens=600_000, output_tokens=1_000_000, cache_read_tokens=100_000)
    # tier 500k: 500,000 x 4 + 100,000 x 4 (its missing cache price: its input price) + 1M x 8
    assert cost_of(sy, model, usage) == Decimal("10.4")
    stored = sy.models.get_by_name("google", "tiered")
    assert [tier.above_input_tokens for tier in stored.tiers] == [100_000, 500_000]


def test_prices_tiers_and_aliases_round_trip_and_update(sy: Synergia) -> None:
    created = sy.models.create(SONNET)
    assert created.tiers == SONNET.tiers
    assert created.aliases == ["claude-sonnet-4-5-20250929"]
    assert created.cache_write_1h_price_per_million == Decimal("6")
    read = sy.models.get(created.id)
    assert (read.tiers, read.aliases) == (created.tiers, created.aliases)
    updated = sy.models.update(
        created.id, ModelUpdate(tiers=[], aliases=["sonnet"], cache_write_1h_price_per_million=None)
    )
    assert (updated.tiers, updated.aliases, updated.cache_write_1h_price_per_million) == (
        [],
        ["sonnet"],
        None,
    )
    assert sy.models.get_by_name("anthropic", "sonnet").id == created.id


def test_aliases_resolve_and_never_collide(sy: Synergia) -> None:
    sonnet = sy.models.create(SONNET)
    assert sy.models.get_by_name("anthropic", "claude-sonnet-4-5-20250929").id == sonnet.id
    assert sy.models.resolve("claude-sonnet-4-5-20250929").id == sonnet.id
    assert sy.models.resolve("claude-sonnet-4-5", provider="anthropic").id == sonnet.id
    with pytest.raises(ModelNotFound):
        sy.models.resolve("nope")
    taken = SONNET.model_copy(update={"name": "claude-sonnet-4-5-20250929", "aliases": []})
    with pytest.raises(ModelAlreadyExists):
        sy.models.create(taken)  # a name that is another model's alias
    with pytest.raises(ModelAlreadyExists):
        sy.models.create(
            SONNET.model_copy(update={"name": "other", "aliases": ["claude-sonnet-4-5"]})
        )
    other = sy.models.create(SONNET.model_copy(update={"name": "other", "aliases": []}))
    with pytest.raises(ModelAlreadyExists):
        sy.models.update(other.id, ModelUpdate(aliases=["claude-sonnet-4-5-20250929"]))
    # the same name at two providers: resolve wants the provider
    sy.models.create(SONNET.model_copy(update={"provider": "bedrock", "aliases": []}))
    with pytest.raises(InvalidInputError, match="provider"):
        sy.models.resolve("claude-sonnet-4-5")
    with pytest.raises(ValidationError):
        ModelCreate(provider="p", name="m", price_per_million_tokens=Decimal(1), aliases=["m"])


def test_upsert_creates_then_updates_what_is_given(sy: Synergia) -> None:
    first = sy.models.upsert(SONNET)
    sy.models.disable(first.id)
    again = sy.models.upsert(SONNET.model_copy(update={"output_price_per_million": Decimal(16)}))
    assert again.id == first.id
    assert again.output_price_per_million == Decimal(16)
    assert again.is_enabled is False  # not given: left as it is
    assert len(sy.models.list()) == 1
    with pytest.raises(ModelAlreadyExists):  # the name of another model's alias
        sy.models.upsert(
            SONNET.model_copy(update={"name": "claude-sonnet-4-5-20250929", "aliases": []})
        )


def test_sync_counts_and_reports_progress(sy: Synergia) -> None:
    catalog = [
        SONNET,
        ModelCreate(provider="openai", name="gpt-4o", price_per_million_tokens=Decimal(5)),
    ]
    seen: list[int] = []
    first = sy.models.sync(catalog, progress=seen.append)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert seen == [1, 2]
    changed = [catalog[0], catalog[1].model_copy(update={"output_price_per_million": Decimal(6)})]
    second = sy.models.sync(changed)
    assert (second.created, second.updated, second.unchanged) == (0, 1, 1)
    hostile: list[Any] = [{"provider": "x", "name": "y", "price_per_million_tokens": 1}, 5]
    with pytest.raises(InvalidInputError):
        sy.models.sync(hostile)
    for not_a_list in (None, 5, "gpt-4o"):
        with pytest.raises(InvalidInputError, match="models must be an iterable") as caught:
            sy.models.sync(not_a_list)  # type: ignore[arg-type]
        assert caught.value.field == "models"
    assert len(sy.models.list()) == 2


def test_usage_from_anthropic_fills_the_one_hour_part() -> None:
    usage = Usage.from_anthropic(
        {
            "input_tokens": 10,
            "output_tokens": 5,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 300,
            "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
        }
    )
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (
        310,
        300,
        200,
    )
    with pytest.raises(ValidationError):
        Usage(input_tokens=10, output_tokens=0, cache_write_tokens=1, cache_write_1h_tokens=2)
