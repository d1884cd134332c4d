"""The price of a model call, in exact decimal arithmetic."""

from __future__ import annotations

import decimal
from decimal import Decimal

from synergia_core.repositories.protocols import ModelPricing
from synergia_core.schemas import Usage

__all__ = ["canonical", "message_cost"]

_EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


def canonical(amount: Decimal) -> Decimal:
    """``amount`` without trailing zeros and without exponent notation."""
    normalized = amount.normalize(_EXACT)
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        return normalized.quantize(Decimal(1), context=_EXACT)
    return normalized


def message_cost(usage: Usage, pricing: ModelPricing) -> Decimal:
    """The cost in USD of ``usage`` at ``pricing``'s prices (per million tokens).

    ``cost = (input - cache_read - cache_write) * input_price
    + cache_read * cache_read_price + cache_write * cache_write_price
    + output * output_price``, all divided by one million. Cached tokens are
    part of ``input_tokens`` and are charged once, at their own price; a
    missing cache price is the input price. Reasoning tokens are part of
    ``output_tokens``. Exact: no rounding, whatever the magnitudes.
    """
    input_price = pricing.input_price_per_million
    cache_read_price = pricing.cache_read_price_per_million
    cache_write_price = pricing.cache_write_price_per_million
    uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    ctx = _EXACT
    total = ctx.add(
        ctx.add(
            ctx.multiply(Decimal(uncached), input_price),
            ctx.multiply(
                Decimal(usage.cache_read_tokens),
                input_price if cache_read_price is None else cache_read_price,
            ),
        ),
        ctx.add(
            ctx.multiply(
                Decimal(usage.cache_write_tokens),
                input_price if cache_write_price is None else cache_write_price,
            ),
            ctx.multiply(Decimal(usage.output_tokens), pricing.output_price_per_million),
        ),
    )
    return canonical(total.scaleb(-6, ctx))
