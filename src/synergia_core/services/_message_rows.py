"""What a message stores: its body (text view and parts) checked against the
limits, and the row of a new message, shared by add, edit, regenerate and
start."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from synergia_core.errors import InvalidInputError
from synergia_core.ids import uuid7
from synergia_core.parts import (
    Part,
    ReasoningPart,
    TextPart,
    ToolResultPart,
    dump_parts,
    parts_adapter,
    parts_text,
)
from synergia_core.repositories.protocols import NewMessage
from synergia_core.schemas import (
    Attachment,
    MessageCreate,
    MessageRead,
    MessageStatus,
    Role,
    ToolCall,
    Usage,
    check_message_fields,
    check_roles,
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
    "Body",
    "body_of",
    "check_message",
    "closing_parts",
    "edited_parts",
    "message_body",
    "new_message",
]

Body = tuple[str, list[dict[str, Any]] | None]
"""A message's text view and its stored parts (``None``: just the text)."""

_ID_CHARS = 1024
_ATTACHMENT_KINDS = frozenset({"image", "file", "audio"})


def body_of(
    parts: Sequence[Part], metadata: dict[str, Any], config: ServiceConfig, field: str = "parts"
) -> Body:
    """The stored body of ``parts``, checked: no NUL or lone surrogate in any
    text, JSON that can be stored, and the size limit, which every stored
    character counts against (text, arguments, outputs, signatures,
    ``data:`` URIs, metadata: their JSON text).

    Raises:
        InvalidInputError: Something cannot be stored, or it is too large.
    """
    budget = SizeBudget(config.max_content_chars, "the message")
    if metadata:
        check_json(metadata, "metadata", budget)
    if not parts:
        return "", None
    if len(parts) == 1 and isinstance(parts[0], TextPart) and not parts[0].meta:
        text = parts[0].text
        check_text(text, field)
        budget.spend(len(text), field)
        return text, None
    stored = dump_parts(parts)
    check_json(stored, field, budget)
    return parts_text(parts), stored


def message_body(data: MessageCreate, config: ServiceConfig) -> Body:
    """The stored body of a new message. A message that is just its text
    (the common case) takes no detour through part objects."""
    if (
        data.parts is None
        and data.role is not Role.tool
        and not data.tool_calls
        and not data.attachments
    ):
        content = data.content or ""
        budget = SizeBudget(config.max_content_chars, "the message")
        if data.metadata:
            check_json(data.metadata, "metadata", budget)
        check_text(content, "content")
        budget.spend(len(content), "content")
        return content, None
    field = "parts" if data.parts is not None else "content"
    return body_of(data.all_parts(), data.metadata, config, field)


def _check_list(value: object, field: str) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInputError(f"{field} must be a list, not {type(value).__name__}", field=field)
    return value


def _check_tool_call(call: object) -> ToolCall:
    if not isinstance(call, ToolCall):
        raise InvalidInputError(
            f"tool_calls must hold ToolCall objects, not {type(call).__name__}", field="tool_calls"
        )
    check_complete(call, "tool_calls")
    check_str(call.id, "tool_calls.id", min_chars=1, max_chars=_ID_CHARS)
    check_str(call.name, "tool_calls.name", min_chars=1, max_chars=255)
    if not isinstance(call.arguments, (dict, str)):
        raise InvalidInputError(
            "tool_calls.arguments must be a dict (or the raw text)", field="tool_calls.arguments"
        )
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


def _check_parts(value: object) -> None:
    """Parts built without validation (``model_construct``) are validated
    now (the part types re-validate their instances)."""
    parts = _check_list(value, "parts")
    if parts is None:
        return
    try:
        parts_adapter.validate_python(parts)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(item) for item in error.get("loc", ()))
        raise InvalidInputError(f"invalid parts: {where}: {error.get('msg')}", "parts") from None


def check_message(data: MessageCreate, config: ServiceConfig) -> Body:
    """Check every field of a message to add, as cheaply as ``isinstance``,
    and return its stored body.

    Refuses what the schema cannot (unstorable text, too large a message,
    usage without a model to price it) and what a schema instance built
    without validation (``model_construct``) may hold: values of the wrong
    type or out of range, parts or roles that break the rules, which the
    database would refuse with a raw error or store wrong.

    Raises:
        InvalidInputError: A field breaks a rule, naming it.
    """
    role = data.role
    if not isinstance(role, Role):
        raise InvalidInputError("role must be a Role", field="role")
    if data.content is not None and not isinstance(data.content, str):
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
    for call in _check_list(data.tool_calls, "tool_calls") or ():
        _check_tool_call(call)
    for item in _check_list(data.attachments, "attachments") or ():
        _check_attachment(item)
    if data.tool_call_id is not None:
        check_str(data.tool_call_id, "tool_call_id", min_chars=1, max_chars=_ID_CHARS)
    _check_parts(data.parts)
    if not isinstance(data.metadata, dict):
        raise InvalidInputError("metadata must be a dict", field="metadata")
    try:  # the schema's own rules, for an instance built without them
        check_message_fields(data)
    except ValueError as exc:
        text = str(exc)
        field = next(
            (name for name in ("tool_call_id", "tool_calls") if name in text),
            "parts" if data.parts is not None else "content",
        )
        raise InvalidInputError(text, field=field) from None
    if data.usage is not None and data.model_id is None:
        raise InvalidInputError("usage needs a model_id to be priced", field="usage")
    return message_body(data, config)


def closing_parts(message: MessageRead, extra: Sequence[Part], *, replace: bool) -> list[Part]:
    """The parts of a streamed reply once closed: what was streamed
    (reasoning, then text) followed by ``extra`` (or ``extra`` alone when
    ``replace``: the caller assembled the whole reply itself).

    Raises:
        InvalidInputError: A part an assistant message cannot hold.
    """
    parts = list(extra) if replace else [*message.parts, *extra]
    try:
        check_roles(Role.assistant, parts)
    except ValueError as exc:
        raise InvalidInputError(str(exc), field="parts") from None
    return parts


def edited_parts(original: MessageRead, content: str) -> list[Part]:
    """The parts of an edit of ``original`` saying ``content``: its text
    replaced (one text part, where the first was), its reasoning dropped (it
    no longer matches), the rest (tool calls, images, files) kept. For a
    ``tool`` message, the first result's output becomes ``content``."""
    if original.role is Role.tool:
        results = list(original.parts)
        first = results[0]
        assert isinstance(first, ToolResultPart)
        results[0] = first.model_copy(update={"output": content})
        return results
    parts: list[Part] = []
    placed = False
    for part in original.parts:
        if isinstance(part, TextPart):
            if not placed and content:
                parts.append(TextPart(text=content))
            placed = True
        elif not isinstance(part, ReasoningPart):
            parts.append(part)
    if not placed and content:
        parts.insert(0, TextPart(text=content))
    return parts


def new_message(
    *,
    chat_id: uuid.UUID,
    user_id: str,
    role: Role,
    body: Body,
    status: MessageStatus,
    now: dt.datetime,
    parent_id: uuid.UUID | None = None,
    under_current_leaf: bool = True,
    model_id: uuid.UUID | None = None,
    usage: Usage | None = None,
    cost: Decimal = Decimal(0),
    metadata: dict[str, Any] | None = None,
) -> NewMessage:
    """The row of a new message with a fresh UUIDv7."""
    content, parts = body
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
        cache_write_1h_tokens=usage.cache_write_1h_tokens if usage else 0,
        cost=cost,
        parts=parts,
        metadata=dict(metadata or {}),
        created_at=now,
    )
