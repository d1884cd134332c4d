"""Rows to public schemas, and the column lists the queries select.

Rows come from our own tables through typed columns, so they are trusted:
the read schemas are built with ``model_construct`` (no re-validation), with
the nested values (enums, tool calls, attachments) converted by hand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import RowMapping

from synergia_core.parts import ReasoningPart, TextPart, parts_adapter
from synergia_core.repositories.sql._orm import Chat, Message, Model
from synergia_core.schemas import (
    ChatRead,
    MessageRead,
    MessageStatus,
    ModelRead,
    PriceTier,
    Role,
    classic_views,
)

__all__ = [
    "CHAT_COLUMNS",
    "MESSAGE_COLUMNS",
    "MODEL_COLUMNS",
    "chat_from_row",
    "chat_from_tuple",
    "chats",
    "message_from_row",
    "message_from_tuple",
    "messages",
    "model_from_row",
    "models",
    "shallow_dict",
    "tiers_from_json",
    "tiers_to_json",
]

models: sa.Table = Model.__table__  # type: ignore[assignment]
chats: sa.Table = Chat.__table__  # type: ignore[assignment]
messages: sa.Table = Message.__table__  # type: ignore[assignment]


def _read_column(table: sa.Table, name: str) -> sa.ColumnElement[Any]:
    """A column as reads select it. ``metadata`` is empty in most rows, so it
    comes back as ``NULLIF(metadata, '{}')``: the database compares, and the
    driver returns ``None`` instead of decoding a JSON document per row (an
    untyped ``'{}'`` takes the column's type, ``jsonb`` on PostgreSQL)."""
    column = table.c[name]
    if name != "metadata":
        return column
    empty: sa.ColumnElement[Any] = sa.literal_column("'{}'")
    return sa.func.nullif(column, empty, type_=column.type).label(name)


MODEL_COLUMNS = tuple(models.c[name] for name in ModelRead.model_fields)
CHAT_COLUMNS = tuple(_read_column(chats, name) for name in ChatRead.model_fields)
_STORED_MESSAGE_FIELDS = (
    "id",
    "chat_id",
    "parent_id",
    "seq",
    "role",
    "content",
    "parts",
    "reasoning",
    "status",
    "model_id",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cache_write_1h_tokens",
    "cost",
    "error",
    "metadata",
    "created_at",
    "updated_at",
)
MESSAGE_COLUMNS = tuple(_read_column(messages, name) for name in _STORED_MESSAGE_FIELDS)
"""What reads of messages select: the stored columns a :class:`MessageRead`
is built from (its part views are computed from ``parts``)."""


_ROLES = {role.value: role for role in Role}
_STATUSES = {status.value: status for status in MessageStatus}
# One "fields set" per read schema, shared by its instances: they are frozen,
# so pydantic never adds to it, and a 21-name set per row would be most of
# the memory a long history takes.
_MODEL_FIELDS = set(ModelRead.model_fields)
_CHAT_FIELDS = set(ChatRead.model_fields)
_MESSAGE_FIELDS = set(MessageRead.model_fields)
_TEXT_FIELDS = set(TextPart.model_fields)
_REASONING_FIELDS = set(ReasoningPart.model_fields)
_REASONING_DEFAULTS = {
    name: field.get_default(call_default_factory=True)
    for name, field in ReasoningPart.model_fields.items()
}

T = TypeVar("T", bound=BaseModel)


def trusted(cls: type[T], values: dict[str, Any], fields: set[str]) -> T:
    """An instance of ``cls`` holding ``values``, which are already of the
    field types (rows of our own typed columns): what ``model_construct``
    does, without its per-field bookkeeping, which dominates reading long
    histories."""
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", fields)
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def shallow_dict(row: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, without ``dataclasses.asdict``'s deep copy
    (the values of a new row are fresh objects already)."""
    return {field.name: getattr(row, field.name) for field in dataclasses.fields(row)}


def tiers_from_json(stored: Any) -> list[PriceTier]:
    r"""Price tiers as stored (decimal strings) back to :class:`PriceTier`\ s."""
    return [PriceTier.model_validate(tier) for tier in stored or ()]


def tiers_to_json(tiers: Any) -> list[dict[str, Any]] | None:
    """Price tiers as stored: JSON with decimal strings (exact), sorted by
    threshold; ``None`` for none."""
    if not tiers:
        return None
    ordered = sorted(tiers, key=lambda tier: tier.above_input_tokens)
    return [tier.model_dump(mode="json", exclude_none=True) for tier in ordered]


def model_from_row(row: RowMapping | Mapping[str, Any]) -> ModelRead:
    """A :class:`ModelRead` from a row selected with :data:`MODEL_COLUMNS`."""
    values = dict(row)
    values["tiers"] = tiers_from_json(values["tiers"])
    values["aliases"] = list(values["aliases"] or ())
    return trusted(ModelRead, values, _MODEL_FIELDS)


def chat_from_row(row: RowMapping | Mapping[str, Any]) -> ChatRead:
    """A :class:`ChatRead` from a row selected with :data:`CHAT_COLUMNS`."""
    values = dict(row)
    if values["metadata"] is None:
        values["metadata"] = {}
    return trusted(ChatRead, values, _CHAT_FIELDS)


_CHAT_NAMES = tuple(str(column.key) for column in CHAT_COLUMNS)


def chat_from_tuple(row: Sequence[Any]) -> ChatRead:
    """A :class:`ChatRead` from a plain row selected with :data:`CHAT_COLUMNS`."""
    return chat_from_row(dict(zip(_CHAT_NAMES, row, strict=True)))


_MESSAGE_NAMES = tuple(str(column.key) for column in MESSAGE_COLUMNS)


def message_from_tuple(row: Sequence[Any]) -> MessageRead:
    """A :class:`MessageRead` from a plain row selected with :data:`MESSAGE_COLUMNS`:
    the fastest way, for long pages (its values are zipped with the names)."""
    return _message(dict(zip(_MESSAGE_NAMES, row, strict=True)))


def message_from_row(row: RowMapping | Mapping[str, Any]) -> MessageRead:
    """A :class:`MessageRead` from a mapping of :data:`MESSAGE_COLUMNS`' names."""
    return _message(dict(row))


def text_part(text: str) -> TextPart:
    """A :class:`TextPart` of stored text, built without validation."""
    return trusted(TextPart, {"type": "text", "text": text, "meta": {}}, _TEXT_FIELDS)


def _message(values: dict[str, Any]) -> MessageRead:
    values["role"] = _ROLES[values["role"]]
    values["status"] = _STATUSES[values["status"]]
    if values["metadata"] is None:
        values["metadata"] = {}
    stored = values["parts"]
    reasoning = values.pop("reasoning")
    if stored is None:
        # Just its text (most messages): no JSON to decode, no views to build.
        content = values["content"]
        parts: list[Any] = [text_part(content)] if content else []
        if reasoning:  # a reply streaming its reasoning
            streamed = {**_REASONING_DEFAULTS, "text": reasoning, "meta": {}}
            parts.insert(0, trusted(ReasoningPart, streamed, _REASONING_FIELDS))
        values["parts"] = parts
        values["tool_calls"] = values["tool_call_id"] = values["attachments"] = None
    else:
        parts = parts_adapter.validate_python(stored)
        values["parts"] = parts
        values["tool_calls"], values["tool_call_id"], values["attachments"] = classic_views(parts)
    return trusted(MessageRead, values, _MESSAGE_FIELDS)
