"""Pydantic v2 schemas: the only types that cross the public boundary.

``*Create`` and ``*Update`` schemas are what callers send; ``*Read`` schemas
are what they get back (frozen). Every schema forbids unknown fields and
bounds its strings and numbers, so a malformed request fails at construction
with pydantic's ``ValidationError`` before it reaches a database.

Money is :class:`~decimal.Decimal` throughout: prices are USD per million
tokens with at most 10 decimal places, costs are exact and unrounded.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from typing_extensions import Self

from synergia_core._message_schemas import (
    Attachment,
    MessageCreate,
    MessageRead,
    ToolCall,
    Usage,
    check_message_fields,
    check_roles,
    classic_parts,
    classic_views,
)
from synergia_core._schema_base import INPUT as _INPUT
from synergia_core._schema_base import (
    MAX_PRICE_DIGITS,
    MAX_PRICE_PLACES,
    MAX_TOKENS,
    DisplayName,
    MessageStatus,
    Metadata,
    ModelName,
    Price,
    Provider,
    Role,
    SystemPrompt,
    Title,
    UserId,
    WindowSize,
    normalize_decimal,
)
from synergia_core._schema_base import OUTPUT as _OUTPUT

__all__ = [
    "MAX_PRICE_DIGITS",
    "MAX_PRICE_PLACES",
    "MAX_TOKENS",
    "Attachment",
    "Budget",
    "BudgetRule",
    "BudgetStatus",
    "ChatCreate",
    "ChatRead",
    "ChatUpdate",
    "Health",
    "MessageCreate",
    "MessageRead",
    "MessageStatus",
    "ModelCreate",
    "ModelRead",
    "ModelUpdate",
    "Page",
    "Period",
    "PriceTier",
    "PurgeReport",
    "ReplicaHealth",
    "Role",
    "SearchHit",
    "SyncReport",
    "ToolCall",
    "TransferReport",
    "Usage",
    "UsageRow",
    "UsageTotals",
    "check_message_fields",
    "check_roles",
    "classic_parts",
    "classic_views",
    "normalize_decimal",
]

T = TypeVar("T")


# --------------------------------------------------------------------------- models


class PriceTier(BaseModel):
    """Prices that apply to a whole request whose ``input_tokens`` exceed
    ``above_input_tokens`` (the long-context pricing of Anthropic and
    Gemini); the highest such tier wins. A missing cache price means the
    tier's input price; a missing one-hour cache write price, the tier's
    cache write price."""

    model_config = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")

    above_input_tokens: Annotated[int, Field(ge=0, le=MAX_TOKENS)]
    input_price_per_million: Price
    output_price_per_million: Price
    cache_read_price_per_million: Price | None = None
    cache_write_price_per_million: Price | None = None
    cache_write_1h_price_per_million: Price | None = None


Tiers = Annotated[list[PriceTier], Field(max_length=32)]
Aliases = Annotated[list[ModelName], Field(max_length=100)]


def _check_tiers(tiers: list[PriceTier] | None) -> None:
    if tiers and len({tier.above_input_tokens for tier in tiers}) != len(tiers):
        raise ValueError("two price tiers have the same above_input_tokens")


def _check_aliases(name: str | None, aliases: list[str] | None) -> None:
    if not aliases:
        return
    if len(set(aliases)) != len(aliases):
        raise ValueError("aliases repeat themselves")
    if name is not None and name in aliases:
        raise ValueError("a model's name is not one of its aliases")


class ModelCreate(BaseModel):
    """A model to add to the catalog.

    ``price_per_million_tokens`` (the original backend's single price) is
    accepted as shorthand that sets the input and the output price alike. A
    missing cache price means the input price is charged for cached tokens;
    a missing one-hour cache write price, the cache write price. ``tiers``
    price long requests (see :class:`PriceTier`); ``aliases`` are other
    names the model answers to (dated snapshots: ``gpt-4o-2024-08-06``).
    """

    model_config = _INPUT

    provider: Provider
    name: ModelName
    display_name: DisplayName | None = None
    input_price_per_million: Price = Field(default=None, validate_default=True)
    output_price_per_million: Price = Field(default=None, validate_default=True)
    cache_read_price_per_million: Price | None = None
    cache_write_price_per_million: Price | None = None
    cache_write_1h_price_per_million: Price | None = None
    tiers: Tiers = Field(default_factory=list)
    aliases: Aliases = Field(default_factory=list)
    context_window: WindowSize | None = None
    max_output_tokens: WindowSize | None = None
    is_enabled: bool = True
    metadata: Metadata = Field(default_factory=dict)
    price_per_million_tokens: Price | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _apply_price_shorthand(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        shorthand = data.get("price_per_million_tokens")
        for field in ("input_price_per_million", "output_price_per_million"):
            if data.get(field) is None:
                if shorthand is None:
                    raise ValueError(f"{field} is required (or give price_per_million_tokens)")
                data[field] = shorthand
        return data

    @model_validator(mode="after")
    def _check_windows(self) -> Self:
        if (
            self.context_window is not None
            and self.max_output_tokens is not None
            and self.max_output_tokens > self.context_window
        ):
            raise ValueError("max_output_tokens cannot exceed context_window")
        _check_tiers(self.tiers)
        _check_aliases(self.name, self.aliases)
        return self


class ModelUpdate(BaseModel):
    """A partial change to a model: only the fields given are changed.

    Renaming (``provider``, ``name``) keeps the live pair unique. Giving
    ``None`` for a nullable field (``display_name``, the cache prices,
    ``context_window``, ``max_output_tokens``) clears it.
    """

    model_config = _INPUT

    provider: Provider | None = None
    name: ModelName | None = None
    display_name: DisplayName | None = None
    input_price_per_million: Price | None = None
    output_price_per_million: Price | None = None
    cache_read_price_per_million: Price | None = None
    cache_write_price_per_million: Price | None = None
    cache_write_1h_price_per_million: Price | None = None
    tiers: Tiers | None = None
    aliases: Aliases | None = None
    context_window: WindowSize | None = None
    max_output_tokens: WindowSize | None = None
    is_enabled: bool | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        required = ("provider", "name", "input_price_per_million", "output_price_per_million")
        for field in (*required, "is_enabled"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be cleared")
        if "metadata" in self.model_fields_set and self.metadata is None:
            raise ValueError("metadata cannot be None; give {} to clear it")
        for field in ("tiers", "aliases"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be None; give [] to clear it")
        _check_tiers(self.tiers)
        _check_aliases(self.name, self.aliases)
        return self


class ModelRead(BaseModel):
    """A model of the catalog as stored."""

    model_config = _OUTPUT

    id: uuid.UUID
    provider: str
    name: str
    display_name: str | None
    input_price_per_million: Decimal
    output_price_per_million: Decimal
    cache_read_price_per_million: Decimal | None
    cache_write_price_per_million: Decimal | None
    cache_write_1h_price_per_million: Decimal | None = None
    tiers: list[PriceTier] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    context_window: int | None
    max_output_tokens: int | None
    is_enabled: bool
    metadata: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


# ---------------------------------------------------------------------------- chats


class ChatCreate(BaseModel):
    """A new chat of one user."""

    model_config = _INPUT

    user_id: UserId
    title: Title | None = None
    model_id: uuid.UUID | None = None
    system_prompt: SystemPrompt | None = None
    metadata: Metadata = Field(default_factory=dict)


class ChatUpdate(BaseModel):
    """A partial change to a chat: only the fields given are changed.

    Giving ``None`` for ``title``, ``model_id`` or ``system_prompt`` clears it.
    """

    model_config = _INPUT

    title: Title | None = None
    model_id: uuid.UUID | None = None
    system_prompt: SystemPrompt | None = None
    metadata: Metadata | None = None
    is_pinned: bool | None = None
    is_archived: bool | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        for field in ("metadata", "is_pinned", "is_archived"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be None")
        return self


class ChatRead(BaseModel):
    """A chat as stored, with its activity counters."""

    model_config = _OUTPUT

    id: uuid.UUID
    user_id: str
    title: str | None
    model_id: uuid.UUID | None
    system_prompt: str | None
    metadata: dict[str, Any]
    is_pinned: bool
    is_archived: bool
    message_count: int
    current_message_id: uuid.UUID | None
    last_message_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


# ---------------------------------------------------------------------------- pages


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated list.

    Pass ``next_cursor`` back as ``cursor=`` to get the following page; it is
    ``None`` on the last page. Cursors are opaque.

    A page is a sequence of its items, as a list is: ``for chat in page``
    yields the items, ``len(page)`` counts them, ``page[0]`` is the first,
    and an empty page is false. (Not pydantic's default ``(field, value)``
    pairs: use ``page.model_dump()`` for the fields.)
    """

    model_config = _OUTPUT

    items: list[T]
    next_cursor: str | None

    def __iter__(self) -> Iterator[T]:  # type: ignore[override]
        """The page's items, in order."""
        return iter(self.items)

    def __len__(self) -> int:
        """The number of items on the page."""
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        """The item at ``index`` (negative indexes count from the end).

        Raises:
            IndexError: No item there.
        """
        return self.items[index]


# --------------------------------------------------------------------------- search


class SearchHit(BaseModel):
    """A message found by ``sy.search.messages``.

    ``snippet`` is a short extract of the message text around the words
    that matched, each match between the marks of
    :attr:`~synergia_core.ServiceConfig.search_marks` (``[`` and ``]`` by
    default).
    """

    model_config = _OUTPUT

    chat_id: uuid.UUID
    chat_title: str | None
    message_id: uuid.UUID
    role: Role
    snippet: str
    created_at: dt.datetime


# ---------------------------------------------------------------------------- usage


class UsageTotals(BaseModel):
    """Token counts and cost summed over a set of messages (zeros when empty)."""

    model_config = _OUTPUT

    message_count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cost: Decimal = Decimal(0)


class UsageRow(UsageTotals):
    """One group of a usage breakdown.

    ``key`` is the model id (``None`` for messages without a model), the UTC
    date, the user id or the chat id, according to the breakdown asked for.

    ``label`` names the key for a person: the model's display name, else its
    name (``None`` for messages without a model); the chat's title (``None``
    for an untitled chat); the ISO date; the user id.
    """

    key: uuid.UUID | dt.date | str | None
    label: str | None = None


# ------------------------------------------------------------------ catalog sync


class SyncReport(BaseModel):
    """What :meth:`ModelService.sync` did: models created, updated, unchanged."""

    model_config = _OUTPUT

    created: int = 0
    updated: int = 0
    unchanged: int = 0


class TransferReport(BaseModel):
    """What an export or an import moved: chats, messages and catalog
    entries (``skipped_chats``: chats an import found already there)."""

    model_config = _OUTPUT

    chats: int = 0
    messages: int = 0
    models: int = 0
    skipped_chats: int = 0


class PurgeReport(BaseModel):
    """What :meth:`UserService.purge` erased: rows of each kind."""

    model_config = _OUTPUT

    chats: int = 0
    messages: int = 0
    budgets: int = 0
    spend: int = 0


# -------------------------------------------------------------------------- budgets

Period = Literal["day", "week", "month", "total"]
Limit = Annotated[
    Decimal,
    Field(ge=0, max_digits=30, decimal_places=10, allow_inf_nan=False),
    AfterValidator(normalize_decimal),
]


class BudgetRule(BaseModel):
    """A spending limit per period: what :attr:`ServiceConfig.default_budget`
    applies to every user without a budget of their own."""

    model_config = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")

    limit: Limit
    period: Period


class Budget(BaseModel):
    """A user's spending limit (USD) per period: ``"day"`` (UTC), ``"week"``
    (ISO weeks, Monday 00:00 UTC), ``"month"`` (UTC calendar months) or
    ``"total"``."""

    model_config = _OUTPUT

    user_id: str
    limit: Decimal
    period: Period
    created_at: dt.datetime
    updated_at: dt.datetime


class BudgetStatus(BaseModel):
    """Where a user stands in the current period.

    ``spent`` is what the usage reports show for the period (whatever the
    budget was when it was spent); without a budget, ``limit`` and
    ``remaining`` are ``None``; for ``"total"`` the period bounds are
    ``None``; ``remaining`` is never negative.
    """

    model_config = _OUTPUT

    limit: Decimal | None
    spent: Decimal
    remaining: Decimal | None
    period_start: dt.datetime | None
    period_end: dt.datetime | None


# ---------------------------------------------------------------------------- health


class ReplicaHealth(BaseModel):
    """The state of one read replica, as :meth:`Synergia.health` reports it.

    ``status`` is ``"healthy"`` when the replica answers and lags by at most
    ``max_replica_lag``, ``"lagging"`` when it answers but lags more (reads
    skip it), ``"unavailable"`` when it cannot be reached (reads skip it and
    retry it after a backoff); ``error`` then says why.
    """

    model_config = _OUTPUT

    url: str
    status: Literal["healthy", "lagging", "unavailable"]
    lag_s: float | None = None
    replay_lsn: str | None = None
    latency_ms: float | None = None
    error: str | None = None


class Health(BaseModel):
    """The state of the library and its database, as :meth:`Synergia.health` reports it.

    ``status`` is ``"unhealthy"`` when the database cannot be reached or its
    schema is not at the revision this package expects; ``error`` then says why.
    ``replicas`` lists the read replicas (empty without any); their state does
    not change ``status``, which is the primary's.
    """

    model_config = _OUTPUT

    status: Literal["healthy", "unhealthy"]
    version: str
    database: str
    revision: str | None
    head: str | None
    latency_ms: float | None
    uptime_s: float
    timestamp: dt.datetime
    error: str | None = None
    replicas: list[ReplicaHealth] = Field(default_factory=list)
