"""The storage contract the services depend on (``typing.Protocol``).

Repositories are dumb on purpose: they run queries, return ``T | None``
(``None`` meaning "no such row in the caller's scope") and never commit; the
services own every rule and raise the domain errors, and the facade or the
host owns the transaction. A host can plug in another store by implementing
these protocols and handing a :class:`Repositories` scope to the services.
"""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

from synergia_core.schemas import (
    Budget,
    ChatRead,
    MessageRead,
    MessageStatus,
    ModelRead,
    PriceTier,
    Role,
    SearchHit,
    UsageRow,
    UsageTotals,
)

__all__ = [
    "BudgetRepository",
    "ChatKey",
    "ChatRepository",
    "Guard",
    "MessageRepository",
    "ModelPricing",
    "ModelRepository",
    "NewChat",
    "NewMessage",
    "NewModel",
    "Repositories",
    "SearchKey",
    "SearchOptions",
    "SearchRepository",
    "SpendChange",
    "TransferRepository",
    "UsageFilter",
    "UsageRepository",
]


@dataclass(frozen=True)
class NewModel:
    """Column values of a model to insert."""

    id: uuid.UUID
    provider: str
    name: str
    display_name: str | None
    input_price_per_million: Decimal
    output_price_per_million: Decimal
    cache_read_price_per_million: Decimal | None
    cache_write_price_per_million: Decimal | None
    cache_write_1h_price_per_million: Decimal | None
    tiers: tuple[PriceTier, ...]
    aliases: tuple[str, ...]
    context_window: int | None
    max_output_tokens: int | None
    is_enabled: bool
    metadata: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True)
class ModelPricing:
    """What pricing a message needs to know of a model, deleted or not."""

    id: uuid.UUID
    is_enabled: bool
    is_deleted: bool
    input_price_per_million: Decimal
    output_price_per_million: Decimal
    cache_read_price_per_million: Decimal | None
    cache_write_price_per_million: Decimal | None
    context_window: int | None
    max_output_tokens: int | None
    cache_write_1h_price_per_million: Decimal | None = None
    tiers: tuple[PriceTier, ...] = ()


@dataclass(frozen=True)
class NewChat:
    """Column values of a chat to insert."""

    id: uuid.UUID
    user_id: str
    title: str | None
    model_id: uuid.UUID | None
    system_prompt: str | None
    metadata: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True)
class ChatKey:
    """Position of a chat in its owner's list: (last activity, id), descending."""

    activity_at: dt.datetime
    id: uuid.UUID

    @classmethod
    def of(cls, chat: ChatRead) -> ChatKey:
        """The key of a chat: its last message time, else its creation time."""
        return cls(chat.last_message_at or chat.created_at, chat.id)


@dataclass(frozen=True)
class NewMessage:
    """Column values of a message to append; ``seq`` (and, with
    ``under_current_leaf``, the parent) are assigned by the repository under
    the chat's row lock.

    ``content`` is the text view of the message; ``parts`` its parts as
    JSON, or ``None`` when the message is just its text (then its parts are
    ``[TextPart(content)]``, or none when ``content`` is empty).
    """

    id: uuid.UUID
    chat_id: uuid.UUID
    user_id: str
    parent_id: uuid.UUID | None
    under_current_leaf: bool
    role: Role
    content: str
    status: MessageStatus
    model_id: uuid.UUID | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cache_write_1h_tokens: int
    cost: Decimal
    parts: list[dict[str, Any]] | None
    metadata: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True)
class SpendChange:
    """A cost to add to a user's spend of a period (``end`` ``None``: the
    ``"total"`` period)."""

    user_id: str
    period: str
    start: dt.datetime
    end: dt.datetime | None
    cost: Decimal
    now: dt.datetime


@dataclass(frozen=True)
class Guard:
    """What pricing a message and checking its budget need, read at once:
    the model's pricing (``None``: no such model), the budget that applies
    (limit and period; ``None`` without one) and the spend row of the
    current period (``None`` while the period has none)."""

    pricing: ModelPricing | None
    limit: Decimal | None
    period: str | None
    spent: Decimal | None


@dataclass(frozen=True)
class UsageFilter:
    """Which messages a usage report covers (every given condition applies)."""

    user_id: str | None = None
    chat_id: uuid.UUID | None = None
    model_id: uuid.UUID | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class ModelRepository(Protocol):
    """Storage of the model catalog."""

    def insert(self, model: NewModel) -> ModelRead | None:
        """Insert a model; ``None`` when a live model has its provider and name."""
        ...

    def get(self, model_id: uuid.UUID) -> ModelRead | None:
        """A live model by id."""
        ...

    def get_by_name(self, provider: str, name: str) -> ModelRead | None:
        """The live model with this provider and name, or, when none has it
        as its name, the one that has it as an alias."""
        ...

    def resolve(self, name: str) -> builtins.list[ModelRead]:
        """Live models of any provider named ``name`` or having it as an
        alias, those named so first."""
        ...

    def names_taken(
        self, provider: str, names: Sequence[str], *, besides: uuid.UUID | None
    ) -> builtins.list[str]:
        """Which of ``names`` a live model of ``provider`` other than
        ``besides`` has as its name or one of its aliases."""
        ...

    def list(self, *, enabled_only: bool, provider: str | None) -> list[ModelRead]:
        """Live models ordered by provider then name."""
        ...

    def update(
        self, model_id: uuid.UUID, values: Mapping[str, Any], now: dt.datetime
    ) -> ModelRead | None:
        """Change columns of a live model; ``None`` when there is none."""
        ...

    def soft_delete(self, model_id: uuid.UUID, now: dt.datetime) -> bool:
        """Mark a live model deleted; ``False`` when there is none."""
        ...

    def pricing(self, model_id: uuid.UUID) -> ModelPricing | None:
        """Prices and state of a model, deleted ones included."""
        ...

    def lock_name(self, provider: str, name: str) -> None:
        """Hold a lock on a (provider, name) until the transaction ends, so
        that checking the name is free and then taking it cannot race with
        another writer doing the same (a no-op where writers never race)."""
        ...


class ChatRepository(Protocol):
    """Storage of chats, always scoped by their owner."""

    def insert(self, chat: NewChat) -> ChatRead:
        """Insert a chat."""
        ...

    def get(
        self, chat_id: uuid.UUID, *, user_id: str, include_deleted: bool = False
    ) -> ChatRead | None:
        """A chat of ``user_id`` (live only unless ``include_deleted``)."""
        ...

    def list(
        self,
        *,
        user_id: str,
        limit: int,
        after: ChatKey | None,
        include_archived: bool,
        pinned: bool | None,
    ) -> list[ChatRead]:
        """Up to ``limit`` live chats after ``after``, most recent activity first."""
        ...

    def update(
        self, chat_id: uuid.UUID, *, user_id: str, values: Mapping[str, Any], now: dt.datetime
    ) -> ChatRead | None:
        """Change columns of a live chat."""
        ...

    def set_deleted(
        self, chat_id: uuid.UUID, *, user_id: str, deleted: bool, now: dt.datetime
    ) -> ChatRead | None:
        """Soft-delete a live chat or restore a deleted one; ``None`` when no
        chat of the user is in the opposite state."""
        ...

    def purge(self, chat_id: uuid.UUID, *, user_id: str) -> bool:
        """Delete a chat (live or soft-deleted) and its messages for good."""
        ...

    def set_current(
        self, chat_id: uuid.UUID, *, user_id: str, message_id: uuid.UUID, now: dt.datetime
    ) -> ChatRead | None:
        """Make ``message_id`` the live chat's current leaf."""
        ...


class MessageRepository(Protocol):
    """Storage of messages, always scoped by their owner and live chats."""

    def append(
        self, message: NewMessage, *, now: dt.datetime, spend: SpendChange | None = None
    ) -> MessageRead | None:
        """Append a message to its chat (and, with ``spend``, add its cost to
        the user's spend, atomically with the append).

        Atomically bumps the chat's counters, assigns the next ``seq``, takes
        the chat's current leaf as parent when ``message.under_current_leaf``
        (else ``message.parent_id``, ``None`` making a root), and makes the
        new message the current leaf. ``None`` when the chat is not a live
        chat of ``message.user_id``.
        """
        ...

    def thread(
        self, chat_id: uuid.UUID, *, user_id: str, leaf_id: uuid.UUID | None, limit: int | None
    ) -> list[MessageRead]:
        """The path from the root to ``leaf_id`` (default: the chat's current
        leaf), root first; only its last ``limit`` messages when given. Empty
        when the chat has no messages, is not live, or is not the user's."""
        ...

    def siblings(self, message_id: uuid.UUID, *, user_id: str) -> list[MessageRead]:
        """The children of the message's parent (itself included), by ``seq``."""
        ...

    def newest_descendant(self, message_id: uuid.UUID, *, user_id: str) -> uuid.UUID | None:
        """The id of the highest-``seq`` message in the subtree of ``message_id``
        (itself included): always a leaf, since children come after parents."""
        ...

    def append_content(
        self,
        message_id: uuid.UUID,
        *,
        user_id: str,
        chunk: str,
        max_chars: int,
        now: dt.datetime,
        reasoning: str = "",
    ) -> bool:
        """Append ``chunk`` to a streaming message's content (and
        ``reasoning`` to its streamed reasoning) in one statement, unless the
        total would exceed ``max_chars``; ``False`` when no streaming message
        of the user's live chats took it."""
        ...

    def streaming_for_update(self, message_id: uuid.UUID, *, user_id: str) -> MessageRead | None:
        """A streaming message of the user's live chats, locked against
        concurrent appends until the transaction ends."""
        ...

    def delete_branch(self, message_id: uuid.UUID, *, user_id: str, now: dt.datetime) -> int | None:
        """Hide a live message and its live descendants from every view,
        decrement the chat's ``message_count`` by their number, and move the
        chat's current leaf to the message's parent when it was among them.
        Returns how many were hidden; ``None`` when the user has no such live
        message."""
        ...

    def clear(self, chat_id: uuid.UUID, *, user_id: str, now: dt.datetime) -> bool:
        """Hide every message of a live chat of the user (``message_count``
        0, no current leaf); ``False`` when there is no such chat."""
        ...

    def finish_stream(
        self,
        message_id: uuid.UUID,
        *,
        user_id: str,
        status: MessageStatus,
        values: Mapping[str, Any],
        now: dt.datetime,
    ) -> MessageRead | None:
        """Move a streaming message to ``status`` with ``values``; ``None``
        when no streaming message of the user's live chats has this id."""
        ...

    def get(self, message_id: uuid.UUID, *, user_id: str) -> MessageRead | None:
        """A live (not deleted) message of one of the user's live chats."""
        ...

    def locate(self, message_id: uuid.UUID, *, user_id: str) -> uuid.UUID | None:
        """The chat id of a message of one of the user's live chats."""
        ...

    def newest(
        self, chat_id: uuid.UUID, *, user_id: str, limit: int, before_seq: int | None
    ) -> list[MessageRead]:
        """Up to ``limit`` messages of a live chat with ``seq < before_seq``,
        highest ``seq`` first."""
        ...


class UsageRepository(Protocol):
    """Sums over stored messages, computed by the store."""

    def totals(self, where: UsageFilter) -> UsageTotals:
        """Counts and cost summed over the messages ``where`` selects."""
        ...

    def breakdown(
        self, by: Literal["model", "day", "user", "chat"], where: UsageFilter
    ) -> list[UsageRow]:
        """The same sums grouped by ``by``, ordered by key, each row with its
        ``label`` (the model's display name or name, the chat's title, the ISO
        date, the user id; ``None`` for a ``None`` key)."""
        ...


class BudgetRepository(Protocol):
    """Storage of budgets and of what users spent per period."""

    def get(self, user_id: str) -> Budget | None:
        """A user's budget."""
        ...

    def set(self, user_id: str, limit: Decimal, period: str, now: dt.datetime) -> Budget:
        """Create or replace a user's budget (and forget the user's spend
        rows: they are made again from the stored costs when next needed)."""
        ...

    def delete(self, user_id: str) -> bool:
        """Remove a user's budget and spend rows; ``False`` when there was
        no budget."""
        ...

    def spent(
        self, user_id: str, period: str, start: dt.datetime, end: dt.datetime | None
    ) -> Decimal:
        """What a user spent in a period (``end`` ``None``: from ``start`` on)."""
        ...

    def record(
        self,
        user_id: str,
        period: str,
        start: dt.datetime,
        end: dt.datetime | None,
        cost: Decimal,
        now: dt.datetime,
    ) -> None:
        """Add a cost, already stored with its message in this transaction,
        to the user's spend of the period, under the spend row's lock."""
        ...

    def guard(
        self,
        model_id: uuid.UUID,
        user_id: str,
        starts: Mapping[str, dt.datetime],
        default: tuple[Decimal, str] | None,
    ) -> Guard:
        """The model's pricing, the user's budget (else ``default``: limit,
        period) and the spend of its period starting at ``starts[period]``,
        in one read."""
        ...


class TransferRepository(Protocol):
    """Whole rows for export, import and erasure (see :mod:`synergia_core.services.transfer`).

    Rows are dicts of stored column values, typed (UUIDs, aware datetimes,
    ``Decimal``, JSON values).
    """

    def referenced_models(self, user_id: str) -> builtins.list[dict[str, Any]]:
        """Every catalog entry (live or deleted) a chat or message of the user names."""
        ...

    def chats_page(
        self, user_id: str, *, after: uuid.UUID | None, limit: int
    ) -> builtins.list[dict[str, Any]]:
        """The user's chats (live and soft-deleted) with ids above ``after``, by id."""
        ...

    def message_counts(self, user_id: str, chat_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many message rows each of the user's chats has (deleted messages included)."""
        ...

    def messages_page(
        self,
        user_id: str,
        chat_ids: Sequence[uuid.UUID],
        *,
        after: tuple[uuid.UUID, int] | None,
        limit: int,
    ) -> builtins.list[dict[str, Any]]:
        """Messages of ``chat_ids`` after ``(chat_id, seq)``, by chat then ``seq``."""
        ...

    def model_row(self, model_id: uuid.UUID) -> dict[str, Any] | None:
        """The stored row of a catalog entry, live or deleted."""
        ...

    def insert_model(self, row: Mapping[str, Any]) -> None:
        """Insert a catalog entry as given (id and times included)."""
        ...

    def chat_owners(self, chat_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The owner of each of ``chat_ids`` that exists (live or deleted)."""
        ...

    def messages_taken(self, message_ids: Sequence[uuid.UUID]) -> builtins.list[uuid.UUID]:
        """Those of ``message_ids`` some message already has."""
        ...

    def insert_chat(self, row: Mapping[str, Any]) -> None:
        """Insert a chat as given."""
        ...

    def insert_messages(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert messages as given, parents before children."""
        ...

    def finish_chat(self, user_id: str, chat_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        """Set a chat's counters, current leaf and activity times."""
        ...

    def purge_user(self, user_id: str) -> dict[str, int]:
        """Delete every row of the user; how many rows of each kind went."""
        ...


@dataclass(frozen=True)
class SearchKey:
    """Position in a list of search results: (score, id), both descending.
    Higher scores rank first."""

    score: float
    id: uuid.UUID


@dataclass(frozen=True)
class SearchOptions:
    """How to search: the PostgreSQL text search configuration, the marks
    around matches in snippets and the snippet length in words."""

    config: str
    open_mark: str
    close_mark: str
    snippet_words: int


class SearchRepository(Protocol):
    """Full-text search over one user's live chats and undeleted messages."""

    def messages(
        self,
        query: str,
        *,
        user_id: str,
        chat_id: uuid.UUID | None,
        limit: int,
        after: SearchKey | None,
        options: SearchOptions,
    ) -> list[tuple[SearchHit, float]]:
        """Up to ``limit`` messages matching ``query`` after ``after``, best
        first, each with its score."""
        ...

    def chats(
        self,
        query: str,
        *,
        user_id: str,
        limit: int,
        after: SearchKey | None,
        options: SearchOptions,
    ) -> list[tuple[ChatRead, float]]:
        """Up to ``limit`` live chats whose title matches ``query`` after
        ``after``, best first, each with its score."""
        ...

    def config_exists(self, config: str) -> bool:
        """Whether the database knows this text search configuration
        (always ``True`` where there is no such thing)."""
        ...


class Repositories(Protocol):
    """The repositories of one unit of work (one transaction)."""

    @property
    def models(self) -> ModelRepository:
        """The model catalog."""
        ...

    @property
    def chats(self) -> ChatRepository:
        """Chats."""
        ...

    @property
    def messages(self) -> MessageRepository:
        """Messages."""
        ...

    @property
    def usage(self) -> UsageRepository:
        """Usage sums."""
        ...

    @property
    def budgets(self) -> BudgetRepository:
        """Budgets and spend."""
        ...

    @property
    def transfer(self) -> TransferRepository:
        """Whole rows, for export, import and erasure."""
        ...

    @property
    def search(self) -> SearchRepository:
        """Full-text search."""
        ...
