"""Building the rows of new messages, shared by add, edit, regenerate and start."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from synergia_core.errors import InvalidInputError
from synergia_core.ids import uuid7
from synergia_core.repositories.protocols import NewMessage
from synergia_core.schemas import (
    Attachment,
    MessageCreate,
    MessageStatus,
    Role,
    ToolCall,
    Usage,
)
from synergia_core.services._checks import check_json, check_text
from synergia_core.services._context import ServiceConfig

__all__ = ["check_message", "new_message"]


def check_message(data: MessageCreate, config: ServiceConfig) -> None:
    """Refuse what the schema cannot: unstorable text, too long a content,
    usage without a model to price it."""
    check_text(data.content, "content", max_chars=config.max_content_chars)
    check_text(data.tool_call_id, "tool_call_id")
    check_json(data.metadata, "metadata", max_chars=config.max_content_chars)
    for call in data.tool_calls or ():
        check_text(call.id, "tool_calls")
        check_text(call.name, "tool_calls")
        check_json(call.arguments, "tool_calls", max_chars=config.max_content_chars)
    for item in data.attachments or ():
        for value in (item.uri, item.mime_type, item.name):
            check_text(value, "attachments")
    if data.usage is not None and data.model_id is None:
        raise InvalidInputError("usage needs a model_id to be priced", field="usage")


def new_message(
    *,
    chat_id: uuid.UUID,
    user_id: str,
    role: Role,
    content: str,
    status: MessageStatus,
    now: dt.datetime,
    parent_id: uuid.UUID | None = None,
    under_current_leaf: bool = True,
    model_id: uuid.UUID | None = None,
    usage: Usage | None = None,
    cost: Decimal = Decimal(0),
    tool_calls: list[ToolCall] | None = None,
    tool_call_id: str | None = None,
    attachments: list[Attachment] | None = None,
    metadata: dict[str, Any] | None = None,
) -> NewMessage:
    """The row of a new message with a fresh UUIDv7."""
    return NewMessage(
        id=uuid7(),
        chat_id=chat_id,
        user_id=user_id,
        parent_id=parent_id,
        under_current_leaf=under_current_leaf,
        role=role,
        content=content,
        status=status,
        model_id=model_id,
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        cache_read_tokens=usage.cache_read_tokens if usage else 0,
        cache_write_tokens=usage.cache_write_tokens if usage else 0,
        reasoning_tokens=usage.reasoning_tokens if usage else 0,
        cost=cost,
        tool_calls=[call.model_dump(mode="json") for call in tool_calls] if tool_calls else None,
        tool_call_id=tool_call_id,
        attachments=(
            [item.model_dump(mode="json") for item in attachments] if attachments else None
        ),
        metadata=dict(metadata or {}),
        created_at=now,
    )
