"""Small builders shared by the tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from synergia_core import ModelCreate, ModelRead, Synergia


def make_model(
    sy: Synergia,
    name: str = "gpt-4o",
    *,
    provider: str = "openai",
    input_price: str = "2.50",
    output_price: str = "10",
    **extra: Any,
) -> ModelRead:
    """Create a model with real-looking prices."""
    return sy.models.create(
        ModelCreate(
            provider=provider,
            name=name,
            input_price_per_million=Decimal(input_price),
            output_price_per_million=Decimal(output_price),
            **extra,
        )
    )
