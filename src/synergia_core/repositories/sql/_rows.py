"""Rows to public schemas, and the column lists the queries select.

Rows come from our own tables through typed columns, so they are trusted:
the read schemas are built with ``model_construct`` (no re-validation), with
the nested values (enums, tool calls, attachments) converted by hand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Row, RowMapping

from synergia_core.repositories.sql._orm import Chat, Message, Model
from synergia_core.schemas import (
    Attachment,
    ChatRead,
    MessageRead,
    MessageStatus,
    ModelRead,
    Role,
    ToolCall,
)

__all__ = [
    "CHAT_COLUMNS",
    "MESSAGE_COLUMNS",
    "MODEL_COLUMNS",
    "chat_from_row",
    "chats",
    "message_from_row",
    "message_from_tuple",
    "messages",
    "model_from_row",
    "models",
    "shallow_dict",
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
MESSAGE_COLUMNS = tuple(_read_column(messages, name) for name in MessageRead.model_fields)


_ROLES = {role.value: role for role in Role}
_STATUSES = {status.value: status for status in MessageStatus}
# One "fields set" per read schema, shared by its instances: they are frozen,
# so pydantic never adds to it, and a 21-name set per row would be most of
# the memory a long history takes.
_MODEL_FIELDS = set(ModelRead.model_fields)
_CHAT_FIELDS = set(ChatRead.model_fields)
_MESSAGE_FIELDS = set(MessageRead.model_fields)

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


def model_from_row(row: RowMapping | Mapping[str, Any]) -> ModelRead:
    """A :class:`ModelRead` from a row selected with :data:`MODEL_COLUMNS`."""
    return trusted(ModelRead, dict(row), _MODEL_FIELDS)


def chat_from_row(row: RowMapping | Mapping[str, Any]) -> ChatRead:
    """A :class:`ChatRead` from a row selected with :data:`CHAT_COLUMNS`."""
    values = dict(row)
    if values["metadata"] is None:
        values["metadata"] = {}
    return trusted(ChatRead, values, _CHAT_FIELDS)


_MESSAGE_NAMES = tuple(str(column.key) for column in MESSAGE_COLUMNS)


def message_from_tuple(row: Row[Any]) -> MessageRead:
    """A :class:`MessageRead` from a plain row selected with :data:`MESSAGE_COLUMNS`:
    the fastest way, for long pages (its values are zipped with the names)."""
    return _message(dict(zip(_MESSAGE_NAMES, row, strict=True)))


def message_from_row(row: RowMapping | Mapping[str, Any]) -> MessageRead:
    """A :class:`MessageRead` from a mapping of :data:`MESSAGE_COLUMNS`' names."""
    return _message(dict(row))


def _message(values: dict[str, Any]) -> MessageRead:
    values["role"] = _ROLES[values["role"]]
    values["status"] = _STATUSES[values["status"]]
    if values["metadata"] is None:
        values["metadata"] = {}
    tool_calls = values["tool_calls"]
    if tool_calls is not None:
        values["tool_calls"] = [ToolCall.model_construct(**call) for call in tool_calls]
    attachments = values["attachments"]
    if attachments is not None:
        values["attachments"] = [Attachment.model_construct(**item) for item in attachments]
    return trusted(MessageRead, values, _MESSAGE_FIELDS)
