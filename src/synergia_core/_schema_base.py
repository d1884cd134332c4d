"""What every schema module shares: bounds, field types and the enums."""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, JsonValue

__all__ = [
    "INPUT",
    "MAX_PRICE_DIGITS",
    "MAX_PRICE_PLACES",
    "MAX_TOKENS",
    "OUTPUT",
    "DisplayName",
    "MessageStatus",
    "Metadata",
    "ModelName",
    "Price",
    "Provider",
    "Role",
    "SystemPrompt",
    "Title",
    "TokenCount",
    "UserId",
    "WindowSize",
    "normalize_decimal",
]

MAX_TOKENS = 1_000_000_000
"""Upper bound of any single token count (one billion): far above any real
request, low enough that sums over billions of messages stay in 64 bits."""

MAX_PRICE_DIGITS = 20
"""Most digits of a price (USD per million tokens)."""
MAX_PRICE_PLACES = 10
"""Most decimal places of a price."""


def normalize_decimal(value: Decimal) -> Decimal:
    """``value``, with a negative zero made positive (``-0`` -> ``0``,
    ``-0.00`` -> ``0.00``).

    ``Decimal("-0")`` equals zero but keeps its sign: SQLite would store and
    return ``-0`` while PostgreSQL's ``NUMERIC`` returns ``0``. Every
    ``Decimal`` input goes through here, so both backends read back the same.
    """
    if value.is_zero() and value.is_signed():
        return value.copy_abs()
    return value


Price = Annotated[
    Decimal,
    Field(
        ge=0,
        max_digits=MAX_PRICE_DIGITS,
        decimal_places=MAX_PRICE_PLACES,
        allow_inf_nan=False,
    ),
    AfterValidator(normalize_decimal),
]
TokenCount = Annotated[int, Field(ge=0, le=MAX_TOKENS)]
Metadata = dict[str, JsonValue]
UserId = Annotated[str, Field(min_length=1, max_length=255)]
Provider = Annotated[str, Field(min_length=1, max_length=100)]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]
DisplayName = Annotated[str, Field(min_length=1, max_length=200)]
Title = Annotated[str, Field(max_length=500)]
SystemPrompt = Annotated[str, Field(max_length=200_000)]
WindowSize = Annotated[int, Field(ge=1, le=MAX_TOKENS)]

# Instances given to a schema (a Usage in a MessageCreate, a ModelCreate to
# model_validate) are validated again: one built with model_construct, or
# changed after validation, is refused with a ValidationError here instead
# of failing later in a validator or a database.
INPUT = ConfigDict(extra="forbid", str_strip_whitespace=False, revalidate_instances="always")
OUTPUT = ConfigDict(extra="forbid", frozen=True)


class Role(str, Enum):
    """Who wrote a message."""

    system = "system"
    user = "user"
    assistant = "assistant"
    tool = "tool"


class MessageStatus(str, Enum):
    """Where a message is in its life.

    ``complete`` is the normal state; an assistant reply written while it
    streams moves ``streaming`` -> ``complete`` | ``failed`` | ``cancelled``.
    """

    pending = "pending"
    streaming = "streaming"
    complete = "complete"
    failed = "failed"
    cancelled = "cancelled"
