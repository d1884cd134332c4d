"""What a message stores: its body (text view and parts) checked against the
limits, and the row of a new message, shared by add, edit, regenerate and
start."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from synergia_core.errors import InvalidInputError
from synergia_core.ids import uuid7
from synergia_core.parts import (
    Part,
    ReasoningPart,
    TextPart,
    ToolResultPart,
    dump_parts,
    parts_text,
)
from synergia_core.repositories.protocols import NewMessage
from synergia_core.schemas import (
    MessageCreate,
    MessageRead,
    MessageStatus,
    Role,
    Usage,
    check_roles,
)
from synergia_core.services._checks import check_json, check_text
from synergia_core.services._context import ServiceConfig

__all__ = ["Body", "body_of", "check_message", "edited_parts", "message_body", "new_message"]

Body = tuple[str, list[dict[str, Any]] | None]
"""A message's text view and its stored parts (``None``: just the text)."""


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _check_size(stored: int, metadata: dict[str, Any], config: ServiceConfig, field: str) -> None:
    """Every stored character counts: text, parts (arguments, outputs,
    signatures, ``data:`` URIs) and metadata."""
    limit = config.max_content_chars
    total = stored + (_json_size(metadata) if metadata else 0)
    if total > limit:
        raise InvalidInputError(
            f"the message would store {total} characters; the limit is {limit}", field=field
        )


def body_of(
    parts: Sequence[Part], metadata: dict[str, Any], config: ServiceConfig, field: str = "parts"
) -> Body:
    """The stored body of ``parts``, checked: no NUL or lone surrogate in any
    text, JSON that can be stored, and the size limit.

    Raises:
        InvalidInputError: Something cannot be stored, or it is too large.
    """
    if not parts:
        _check_size(0, metadata, config, field)
        return "", None
    if len(parts) == 1 and isinstance(parts[0], TextPart) and not parts[0].meta:
        text = parts[0].text
        check_text(text, field)
        _check_size(len(text), metadata, config, field)
        return text, None
    stored = dump_parts(parts)
    check_json(stored, field)
    _check_size(_json_size(stored), metadata, config, field)
    return parts_text(parts), stored


def message_body(data: MessageCreate, config: ServiceConfig) -> Body:
    """The stored body of a new message. A message that is just its text
    (the common case) takes no detour through part objects."""
    check_json(data.metadata, "metadata")
    if (
        data.parts is None
        and data.role is not Role.tool
        and not data.tool_calls
        and not data.attachments
    ):
        content = data.content or ""
        check_text(content, "content")
        _check_size(len(content), data.metadata, config, "content")
        return content, None
    field = "parts" if data.parts is not None else "content"
    return body_of(data.all_parts(), data.metadata, config, field)


def check_message(data: MessageCreate, config: ServiceConfig) -> Body:
    """Refuse what the schema cannot: unstorable text, too large a message,
    usage without a model to price it. Returns the message's stored body.

    Raises:
        InvalidInputError: As said.
    """
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
        cost=cost,
        parts=parts,
        metadata=dict(metadata or {}),
        created_at=now,
    )
