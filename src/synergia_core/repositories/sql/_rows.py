"""Rows to public schemas, and the column lists the queries select.

Rows come from our own tables through typed columns, so they are trusted:
the read schemas are built with ``model_construct`` (no re-validation), with
the nested values (enums, tool calls, attachments) converted by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

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
    "messages",
    "model_from_row",
    "models",
]

models: sa.Table = Model.__table__  # type: ignore[assignment]
chats: sa.Table = Chat.__table__  # type: ignore[assignment]
messages: sa.Table = Message.__table__  # type: ignore[assignment]

MODEL_COLUMNS = tuple(models.c[name] for name in ModelRead.model_fields)
CHAT_COLUMNS = tuple(chats.c[name] for name in ChatRead.model_fields)
MESSAGE_COLUMNS = tuple(messages.c[name] for name in MessageRead.model_fields)


def model_from_row(row: RowMapping | Mapping[str, Any]) -> ModelRead:
    """A :class:`ModelRead` from a row selected with :data:`MODEL_COLUMNS`."""
    return ModelRead.model_construct(**row)


def chat_from_row(row: RowMapping | Mapping[str, Any]) -> ChatRead:
    """A :class:`ChatRead` from a row selected with :data:`CHAT_COLUMNS`."""
    return ChatRead.model_construct(**row)


def message_from_row(row: RowMapping | Mapping[str, Any]) -> MessageRead:
    """A :class:`MessageRead` from a row selected with :data:`MESSAGE_COLUMNS`."""
    values = dict(row)
    values["role"] = Role(values["role"])
    values["status"] = MessageStatus(values["status"])
    tool_calls = values["tool_calls"]
    if tool_calls is not None:
        values["tool_calls"] = [ToolCall.model_construct(**call) for call in tool_calls]
    attachments = values["attachments"]
    if attachments is not None:
        values["attachments"] = [Attachment.model_construct(**item) for item in attachments]
    return MessageRead.model_construct(**values)
