"""The price of a model call, in exact decimal arithmetic."""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from synergia_core.repositories.protocols import ModelPricing
from synergia_core.schemas import Usage

__all__ = ["canonical", "message_cost", "prices_for"]

_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


def canonical(amount: Decimal) -> Decimal:
    """``amount`` without trailing zeros and without exponent notation."""
    normalized = amount.normalize(_EXACT)
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return normalized.quantize(Decimal(1), context=_EXACT)
    return normalized


def prices_for(usage: Usage, pricing: ModelPricing) -> tuple[Decimal, ...]:
    """The (input, cache read, cache write, one-hour cache write, output)
    prices, per million tokens, that price ``usage``: those of the highest
    tier whose ``above_input_tokens`` the request's ``input_tokens`` exceed,
    else the base prices. A missing cache price is the input price (of the
    same tier); a missing one-hour cache write price, the cache write price."""
    source: Any = pricing
    for tier in sorted(pricing.tiers, key=lambda tier: tier.above_input_tokens):
        if usage.input_tokens > tier.above_input_tokens:
            source = tier
    input_price: Decimal = source.input_price_per_million
    cache_read: Decimal = (
        input_price
        if source.cache_read_price_per_million is None
        else source.cache_read_price_per_million
    )
    cache_write: Decimal = (
        input_price
        if source.cache_write_price_per_million is None
        else source.cache_write_price_per_million
    )
    cache_write_1h: Decimal = (
        cache_write
        if source.cache_write_1h_price_per_million is None
        else source.cache_write_1h_price_per_million
    )
    return input_price, cache_read, cache_write, cache_write_1h, source.output_price_per_million


def message_cost(usage: Usage, pricing: ModelPricing) -> Decimal:
    """The cost in USD of ``usage`` at ``pricing``'s prices (per million tokens).

    ``cost = (input - cache_read - cache_write) * input_price
    + cache_read * cache_read_price
    + (cache_write - cache_write_1h) * cache_write_price
    + cache_write_1h * cache_write_1h_price
    + output * output_price``, all divided by one million, at the prices of
    the highest tier the request's ``input_tokens`` exceed (the whole request
    is priced at that tier). Cached tokens are part of ``input_tokens`` and
    are charged once, at their own price; reasoning tokens are part of
    ``output_tokens``. Exact: no rounding, whatever the magnitudes.
    """
    input_price, cache_read_price, cache_write_price, cache_write_1h_price, output_price = (
        prices_for(usage, pricing)
    )
    uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    five_minute_writes = usage.cache_write_tokens - usage.cache_write_1h_tokens
    ctx = _EXACT
    terms = (
        ctx.multiply(Decimal(uncached), input_price),
        ctx.multiply(Decimal(usage.cache_read_tokens), cache_read_price),
        ctx.multiply(Decimal(five_minute_writes), cache_write_price),
        ctx.multiply(Decimal(usage.cache_write_1h_tokens), cache_write_1h_price),
        ctx.multiply(Decimal(usage.output_tokens), output_price),
    )
    total = Decimal(0)
    for term in terms:
        total = ctx.add(total, term)
    return canonical(total.scaleb(-6, ctx))
