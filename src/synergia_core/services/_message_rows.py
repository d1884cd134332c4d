"""Building the rows of new messages, shared by add, edit, regenerate and start."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
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
from synergia_core.services._checks import (
    MAX_JSON_INT,
    SizeBudget,
    check_complete,
    check_int,
    check_json,
    check_str,
    check_text,
    check_usage,
)
from synergia_core.services._context import ServiceConfig

__all__ = [
    "attachment_row",
    "check_message",
    "check_message_size",
    "new_message",
    "tool_call_row",
]

_ID_CHARS = 255
_ATTACHMENT_KINDS = frozenset({"image", "file", "audio"})


def tool_call_row(call: ToolCall) -> dict[str, Any]:
    """A tool call as it is stored (its JSON form)."""
    return {"id": call.id, "name": call.name, "arguments": call.arguments}


def attachment_row(item: Attachment) -> dict[str, Any]:
    """An attachment as it is stored (its JSON form)."""
    return {
        "kind": item.kind,
        "uri": item.uri,
        "mime_type": item.mime_type,
        "name": item.name,
        "size_bytes": item.size_bytes,
    }


def _check_tool_call(call: object) -> ToolCall:
    if not isinstance(call, ToolCall):
        raise InvalidInputError(
            f"tool_calls must hold ToolCall objects, not {type(call).__name__}", field="tool_calls"
        )
    check_complete(call, "tool_calls")
    check_str(call.id, "tool_calls.id", min_chars=1, max_chars=_ID_CHARS)
    check_str(call.name, "tool_calls.name", min_chars=1, max_chars=_ID_CHARS)
    if not isinstance(call.arguments, dict):
        raise InvalidInputError("tool_calls.arguments must be a dict", field="tool_calls.arguments")
    return call


def _check_attachment(item: object) -> Attachment:
    if not isinstance(item, Attachment):
        raise InvalidInputError(
            f"attachments must hold Attachment objects, not {type(item).__name__}",
            field="attachments",
        )
    check_complete(item, "attachments")
    if not isinstance(item.kind, str) or item.kind not in _ATTACHMENT_KINDS:
        raise InvalidInputError("attachments.kind must be image, file or audio", "attachments")
    check_str(item.uri, "attachments.uri", min_chars=1, max_chars=4096)
    check_str(item.mime_type, "attachments.mime_type", min_chars=1, max_chars=255)
    if item.name is not None:
        check_str(item.name, "attachments.name", min_chars=1, max_chars=1024)
    if item.size_bytes is not None:
        check_int(item.size_bytes, "attachments.size_bytes", low=0, high=MAX_JSON_INT)
    return item


def _check_list(value: object, field: str) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInputError(f"{field} must be a list, not {type(value).__name__}", field=field)
    return value


def check_message_size(
    content: str,
    *,
    tool_calls: Sequence[ToolCall] | None,
    tool_call_id: str | None,
    attachments: Sequence[Attachment] | None,
    metadata: dict[str, Any],
    config: ServiceConfig,
) -> None:
    """Refuse a message whose stored form is longer than ``max_content_chars``.

    Every stored character counts: the content, the tool calls (ids, names,
    arguments), the ``tool_call_id``, the attachments and the metadata, in
    their JSON form (see :func:`~synergia_core.services._checks.check_json`).
    Empty parts count nothing, so a text-only message may hold the whole limit.
    """
    limit = config.max_content_chars
    check_text(content, "content", max_chars=limit)
    budget = SizeBudget(limit, "the message")
    if tool_call_id is not None:
        budget.spend(len(tool_call_id), "tool_call_id")
    if tool_calls:
        check_json([tool_call_row(call) for call in tool_calls], "tool_calls", budget)
    if attachments:
        check_json([attachment_row(item) for item in attachments], "attachments", budget)
    if metadata:
        check_json(metadata, "metadata", budget)
    budget.spend(len(content), "content")  # last: an edit's new content is what overflows


def check_message(data: MessageCreate, config: ServiceConfig) -> None:
    """Check every field of a message to add, as cheaply as ``isinstance``.

    Refuses what the schema cannot (unstorable text, too large a message,
    usage without a model to price it) and what a schema instance built
    without validation (``model_construct``) may hold: values of the wrong
    type or out of range, which the database would refuse with a raw error.

    Raises:
        InvalidInputError: A field breaks a rule, naming it.
    """
    role = data.role
    if not isinstance(role, Role):
        raise InvalidInputError("role must be a Role", field="role")
    if not isinstance(data.content, str):
        raise InvalidInputError(
            f"content must be a string, not {type(data.content).__name__}", field="content"
        )
    for field in ("model_id", "parent_id"):
        value = getattr(data, field)
        if value is not None and not isinstance(value, uuid.UUID):
            raise InvalidInputError(f"{field} must be a UUID", field=field)
    if data.usage is not None and not isinstance(data.usage, Usage):
        raise InvalidInputError("usage must be a Usage", field="usage")
    check_usage(data.usage)
    tool_calls = [_check_tool_call(c) for c in _check_list(data.tool_calls, "tool_calls") or ()]
    attachments = [_check_attachment(a) for a in _check_list(data.attachments, "attachments") or ()]
    if data.tool_call_id is not None:
        check_str(data.tool_call_id, "tool_call_id", min_chars=1, max_chars=_ID_CHARS)
    metadata = data.metadata
    if not isinstance(metadata, dict):
        raise InvalidInputError("metadata must be a dict", field="metadata")
    if tool_calls and role is not Role.assistant:
        raise InvalidInputError(
            "tool_calls are allowed only on assistant messages", field="tool_calls"
        )
    if (role is Role.tool) != (data.tool_call_id is not None):
        raise InvalidInputError(
            "tool_call_id is required on, and only on, tool messages", field="tool_call_id"
        )
    check_message_size(
        data.content,
        tool_calls=tool_calls,
        tool_call_id=data.tool_call_id,
        attachments=attachments,
        metadata=metadata,
        config=config,
    )
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
        tool_calls=[tool_call_row(call) for call in tool_calls] if tool_calls else None,
        tool_call_id=tool_call_id,
        attachments=[attachment_row(item) for item in attachments] if attachments else None,
        metadata=dict(metadata or {}),
        created_at=now,
    )
