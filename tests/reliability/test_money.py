"""Exact money: the stored cost of any usage at any prices equals the formula
computed independently here with fractions, on both backends, and usage
totals equal the sum of the stored costs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synergia_core import (
    ChatCreate,
    MessageCreate,
    ModelCreate,
    Synergia,
    Usage,
)
from synergia_core.schemas import MAX_TOKENS

EXAMPLES = 150

prices = st.decimals(min_value=0, max_value=Decimal("9999999999.9999999999"), places=10)
optional_prices = st.none() | prices


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    big = st.integers(min_value=0, max_value=MAX_TOKENS)
    input_tokens = draw(big)
    cache_read = draw(st.integers(min_value=0, max_value=input_tokens))
    cache_write = draw(st.integers(min_value=0, max_value=input_tokens - cache_read))
    output_tokens = draw(big)
    reasoning = draw(st.integers(min_value=0, max_value=output_tokens))
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


def expected_cost(
    usage: Usage,
    input_price: Decimal,
    output_price: Decimal,
    cache_read_price: Decimal | None,
    cache_write_price: Decimal | None,
) -> Fraction:
    """The DESIGN.md formula in exact rational arithmetic (independent of Decimal contexts)."""
    read = input_price if cache_read_price is None else cache_read_price
    write = input_price if cache_write_price is None else cache_write_price
    uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    total = (
        uncached * Fraction(input_price)
        + usage.cache_read_tokens * Fraction(read)
        + usage.cache_write_tokens * Fraction(write)
        + usage.output_tokens * Fraction(output_price)
    )
    return total / 1_000_000


@pytest.fixture
def money(db_url: str) -> Iterator[tuple[Synergia, list[int]]]:
    with Synergia(db_url) as sy:
        yield sy, [0]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    input_price=prices,
    output_price=prices,
    cache_read_price=optional_prices,
    cache_write_price=optional_prices,
    usage=usages(),
)
def test_stored_cost_is_the_exact_formula(
    money: tuple[Synergia, list[int]],
    input_price: Decimal,
    output_price: Decimal,
    cache_read_price: Decimal | None,
    cache_write_price: Decimal | None,
    usage: Usage,
) -> None:
    sy, counter = money
    counter[0] += 1
    model = sy.models.create(
        ModelCreate(
            provider="p",
            name=f"m{counter[0]}",
            input_price_per_million=input_price,
            output_price_per_million=output_price,
            cache_read_price_per_million=cache_read_price,
            cache_write_price_per_million=cache_write_price,
        )
    )
    stored_model = sy.models.get(model.id)
    assert stored_model.input_price_per_million == input_price
    assert stored_model.cache_read_price_per_million == cache_read_price
    chat = sy.chats.create(ChatCreate(user_id="payer"))
    message = sy.messages.add(
        chat.id,
        MessageCreate(role="assistant", content="x", model_id=model.id, usage=usage),
        user_id="payer",
    )
    exact = expected_cost(usage, input_price, output_price, cache_read_price, cache_write_price)
    assert Fraction(message.cost) == exact
    assert Fraction(sy.messages.get(message.id, user_id="payer").cost) == exact
    # streamed replies are priced by the same formula
    reply = sy.messages.start(chat.id, user_id="payer", model_id=model.id)
    assert Fraction(sy.messages.finish(reply.id, user_id="payer", usage=usage).cost) == exact


def test_totals_equal_the_sum_of_stored_costs(money: tuple[Synergia, list[int]]) -> None:
    sy, counter = money

    @settings(max_examples=60, deadline=None, database=None)
    @given(
        price=prices,
        batch=st.lists(usages(), min_size=1, max_size=8),
    )
    def run(price: Decimal, batch: list[Usage]) -> None:
        counter[0] += 1
        model = sy.models.create(
            ModelCreate(
                provider="sum",
                name=f"model {counter[0]}",
                input_price_per_million=price,
                output_price_per_million=price,
            )
        )
        chat = sy.chats.create(ChatCreate(user_id="summer"))
        stored = [
            sy.messages.add(
                chat.id,
                MessageCreate(role="assistant", content="x", model_id=model.id, usage=usage),
                user_id="summer",
            ).cost
            for usage in batch
        ]
        totals = sy.usage.totals(chat_id=chat.id)
        assert Fraction(totals.cost) == sum((Fraction(cost) for cost in stored), Fraction(0))
        assert totals.input_tokens == sum(usage.input_tokens for usage in batch)
        rows = sy.usage.breakdown("model", chat_id=chat.id)
        assert [row.cost for row in rows] == [totals.cost]

    run()
