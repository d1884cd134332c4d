"""The schemas of messages: usage, the classic tool-call and attachment
views, :class:`MessageCreate` and :class:`MessageRead` (re-exported by
:mod:`synergia_core.schemas`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator
from typing_extensions import Self

from synergia_core._schema_base import INPUT as _INPUT
from synergia_core._schema_base import OUTPUT as _OUTPUT
from synergia_core._schema_base import MessageStatus, Metadata, Role, TokenCount
from synergia_core.parts import (
    FilePart,
    ImagePart,
    Part,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

__all__ = [
    "Attachment",
    "MessageCreate",
    "MessageRead",
    "ToolCall",
    "Usage",
    "check_message_fields",
    "check_roles",
    "classic_parts",
    "classic_views",
]


class Usage(BaseModel):
    """Token usage of one model call.

    ``input_tokens`` is the whole prompt; ``cache_read_tokens`` and
    ``cache_write_tokens`` are parts of it (OpenAI's convention),
    ``cache_write_1h_tokens`` is the part of ``cache_write_tokens`` written
    to a one-hour cache (Anthropic's extended cache, priced apart), and
    ``reasoning_tokens`` is part of ``output_tokens``. Use
    :meth:`from_openai` and :meth:`from_anthropic` to convert a provider's
    usage payload: Anthropic reports its cache counts beside the input, so
    they are added in.
    """

    model_config = _INPUT

    input_tokens: TokenCount
    output_tokens: TokenCount
    cache_read_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0
    reasoning_tokens: TokenCount = 0
    cache_write_1h_tokens: TokenCount = 0

    @model_validator(mode="after")
    def _parts_within_totals(self) -> Self:
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError(
                "cache_read_tokens + cache_write_tokens cannot exceed input_tokens "
                "(they are parts of the prompt)"
            )
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            raise ValueError(
                "cache_write_1h_tokens cannot exceed cache_write_tokens (they are part of it)"
            )
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning_tokens cannot exceed output_tokens (they are part of it)")
        return self

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    @classmethod
    def from_openai(cls, payload: Mapping[str, Any] | Any) -> Usage:
        """Build a :class:`Usage` from an OpenAI usage payload.

        Accepts the Chat Completions shape (``prompt_tokens``,
        ``completion_tokens``, ``prompt_tokens_details.cached_tokens``,
        ``completion_tokens_details.reasoning_tokens``) and the Responses
        shape (``input_tokens``, ``output_tokens``,
        ``input_tokens_details``, ``output_tokens_details``), as a dict or as
        an SDK object. OpenAI's prompt count already includes cached tokens.

        Raises:
            pydantic.ValidationError: The counts are missing or inconsistent.
        """
        return _provider_usage("openai", payload)

    @classmethod
    def from_responses(cls, payload: Mapping[str, Any] | Any) -> Usage:
        """Build a :class:`Usage` from an OpenAI Responses API ``ResponseUsage``
        (``input_tokens_details.cached_tokens``,
        ``output_tokens_details.reasoning_tokens``).

        Raises:
            pydantic.ValidationError: The counts are missing or inconsistent.
        """
        return _provider_usage("openai-responses", payload)

    @classmethod
    def from_anthropic(cls, payload: Mapping[str, Any] | Any) -> Usage:
        """Build a :class:`Usage` from an Anthropic Messages usage payload.

        Anthropic's ``input_tokens`` excludes cached tokens, so
        ``cache_read_input_tokens`` and ``cache_creation_input_tokens`` are
        added to it to get the whole prompt.

        Raises:
            pydantic.ValidationError: The counts are missing or inconsistent.
        """
        return _provider_usage("anthropic", payload)

    @classmethod
    def from_gemini(cls, payload: Mapping[str, Any] | Any) -> Usage:
        """Build a :class:`Usage` from Gemini ``usage_metadata``
        (``prompt_token_count``, ``cached_content_token_count``,
        ``candidates_token_count``; ``thoughts_token_count`` counts in
        ``output_tokens`` as reasoning).

        Raises:
            pydantic.ValidationError: The counts are missing or inconsistent.
        """
        return _provider_usage("gemini", payload)


def _provider_usage(name: str, payload: Any) -> Usage:
    from synergia_core.providers import get_format

    return get_format(name).usage(payload)


class ToolCall(BaseModel):
    """A function call requested by an assistant message (the classic view
    of a :class:`~synergia_core.parts.ToolCallPart`).

    ``arguments`` is a JSON object, or the raw text when the model emitted
    arguments that do not parse.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")

    id: Annotated[str, Field(min_length=1, max_length=1024)]
    name: Annotated[str, Field(min_length=1, max_length=255)]
    arguments: dict[str, JsonValue] | str = Field(default_factory=dict)


class Attachment(BaseModel):
    """A reference to content stored elsewhere, never the bytes themselves
    (the classic view of an :class:`~synergia_core.parts.ImagePart` or
    :class:`~synergia_core.parts.FilePart`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")

    kind: Literal["image", "file", "audio"]
    uri: Annotated[str, Field(min_length=1, max_length=4096)]
    mime_type: Annotated[str, Field(min_length=1, max_length=255)]
    name: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    size_bytes: Annotated[int, Field(ge=0)] | None = None


class MessageCreate(BaseModel):
    """A complete message to add to a chat.

    Give its ``parts`` (typed, in order: text, reasoning, tool calls, tool
    results, images, files, raw provider items), or the classic fields
    (``content``, ``tool_calls``, ``tool_call_id``, ``attachments``), which
    map to parts; not both. A ``tool`` message's ``content`` and
    ``tool_call_id`` become one :class:`~synergia_core.parts.ToolResultPart`.

    Role rules: tool results only on ``tool`` messages, and nothing else
    there; tool calls and reasoning only on ``assistant`` messages.

    ``parent_id`` defaults to the chat's current leaf. ``usage`` is recorded
    and priced with the message's model. Replies of the provider SDKs convert
    with :meth:`from_openai`, :meth:`from_responses`, :meth:`from_anthropic`
    and :meth:`from_gemini`.
    """

    model_config = _INPUT

    role: Role
    content: str | None = None
    parts: list[Part] | None = None
    model_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    usage: Usage | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    attachments: list[Attachment] | None = None
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_role_fields(self) -> Self:
        check_message_fields(self)
        return self

    def all_parts(self) -> list[Part]:
        """The message's parts: ``parts`` as given, else those of the
        classic fields (text, then tool calls, then attachments; for a
        ``tool`` message, one tool result)."""
        if self.parts is not None:
            return list(self.parts)
        return classic_parts(
            self.role, self.content, self.tool_calls, self.tool_call_id, self.attachments
        )

    @classmethod
    def from_openai(cls, payload: Any, **fields: Any) -> MessageCreate:
        """An OpenAI Chat Completions reply (a ``ChatCompletion`` or its
        ``choices[0].message``; SDK object or dict) as a message, with its
        usage. ``fields`` set other fields (``model_id=``, ``parent_id=``,
        ``metadata=``)."""
        return _from_provider("openai", payload, fields)

    @classmethod
    def from_responses(cls, payload: Any, **fields: Any) -> MessageCreate:
        """An OpenAI Responses API ``Response`` (SDK object or dict) as a
        message: its output items as parts, with its usage."""
        return _from_provider("openai-responses", payload, fields)

    @classmethod
    def from_anthropic(cls, payload: Any, **fields: Any) -> MessageCreate:
        """An Anthropic Messages API ``Message`` (SDK object or dict) as a
        message: text, thinking (with its signature), tool use, with usage."""
        return _from_provider("anthropic", payload, fields)

    @classmethod
    def from_gemini(cls, payload: Any, **fields: Any) -> MessageCreate:
        """A Gemini ``GenerateContentResponse`` (SDK object or dict) as a
        message: text, thoughts, function calls, with usage."""
        return _from_provider("gemini", payload, fields)


def _from_provider(name: str, payload: Any, fields: dict[str, Any]) -> MessageCreate:
    from synergia_core.providers import get_format

    message = get_format(name).message(payload)
    if not fields:
        return message
    if "metadata" in fields:
        fields = {**fields, "metadata": {**message.metadata, **dict(fields["metadata"])}}
    return MessageCreate.model_validate(
        {**message.model_dump(exclude_unset=True, exclude={"parts"}), **fields}
        | ({"parts": message.parts} if message.parts is not None else {})
    )


def check_message_fields(message: MessageCreate) -> None:
    """The rules of a :class:`MessageCreate` across its fields: parts or the
    classic fields (not both, not neither), the classic fields' role rules,
    and the parts' (:func:`check_roles`).

    Raises:
        ValueError: A rule is broken.
    """
    classic = (
        message.content is not None
        or message.tool_calls is not None
        or message.tool_call_id is not None
        or message.attachments is not None
    )
    if message.parts is not None:
        if classic:
            raise ValueError("give parts, or content/tool_calls/tool_call_id/attachments, not both")
    else:
        if not classic:
            raise ValueError("a message needs content (or parts)")
        if message.tool_calls and message.role is not Role.assistant:
            raise ValueError("tool_calls are allowed only on assistant messages")
        if message.role is Role.tool and message.tool_call_id is None:
            raise ValueError("tool messages need a tool_call_id")
        if message.role is not Role.tool and message.tool_call_id is not None:
            raise ValueError("tool_call_id is allowed only on tool messages")
    check_roles(message.role, message.all_parts())


def check_roles(role: Role | str, parts: Sequence[object]) -> None:
    """Enforce the role rules of parts.

    Raises:
        ValueError: A tool result outside a ``tool`` message, anything but
            tool results in one, or tool calls or reasoning outside an
            ``assistant`` message.
    """
    role = Role(role)
    if role is Role.tool:
        if not parts or not all(isinstance(part, ToolResultPart) for part in parts):
            raise ValueError("a tool message holds tool results, and only them")
        return
    for part in parts:
        if isinstance(part, ToolResultPart):
            raise ValueError("tool results are allowed only on tool messages")
        if role is not Role.assistant and isinstance(part, (ToolCallPart, ReasoningPart)):
            raise ValueError(f"{part.type} parts are allowed only on assistant messages")


def classic_parts(
    role: Role,
    content: str | None,
    tool_calls: Sequence[ToolCall] | None = None,
    tool_call_id: str | None = None,
    attachments: Sequence[Attachment] | None = None,
) -> list[Part]:
    """The parts the classic fields describe."""
    if role is Role.tool:
        return [ToolResultPart(call_id=tool_call_id or "", output=content or "")]
    parts: list[Part] = [TextPart(text=content)] if content else []
    for call in tool_calls or ():
        parts.append(ToolCallPart(id=call.id, name=call.name, arguments=call.arguments))
    for item in attachments or ():
        if item.kind == "image":
            parts.append(
                ImagePart(
                    uri=item.uri,
                    mime_type=item.mime_type,
                    name=item.name,
                    size_bytes=item.size_bytes,
                )
            )
        else:
            parts.append(
                FilePart(
                    uri=item.uri,
                    mime_type=item.mime_type,
                    name=item.name,
                    size_bytes=item.size_bytes,
                )
            )
    return parts


def classic_views(
    parts: Sequence[object],
) -> tuple[list[ToolCall] | None, str | None, list[Attachment] | None]:
    """The classic ``tool_calls``, ``tool_call_id`` and ``attachments`` of parts
    (``None`` where there are none)."""
    tool_calls: list[ToolCall] = []
    tool_call_id: str | None = None
    attachments: list[Attachment] = []
    for part in parts:
        if isinstance(part, ToolCallPart):
            tool_calls.append(ToolCall(id=part.id, name=part.name, arguments=part.arguments))
        elif isinstance(part, ToolResultPart):
            if tool_call_id is None:
                tool_call_id = part.call_id
        elif isinstance(part, ImagePart):
            attachments.append(
                Attachment(
                    kind="image",
                    uri=part.uri,
                    mime_type=part.mime_type,
                    name=part.name,
                    size_bytes=part.size_bytes,
                )
            )
        elif isinstance(part, FilePart):
            kind: Literal["file", "audio"] = (
                "audio" if part.mime_type.startswith("audio/") else "file"
            )
            attachments.append(
                Attachment(
                    kind=kind,
                    uri=part.uri,
                    mime_type=part.mime_type,
                    name=part.name,
                    size_bytes=part.size_bytes,
                )
            )
    return tool_calls or None, tool_call_id, attachments or None


class MessageRead(BaseModel):
    """A message as stored, with its usage and cost.

    ``parts`` is always set; ``content`` (text parts joined, or a tool
    message's outputs as text), ``tool_calls``, ``tool_call_id`` and
    ``attachments`` are views of it.
    """

    model_config = _OUTPUT

    id: uuid.UUID
    chat_id: uuid.UUID
    parent_id: uuid.UUID | None
    seq: int
    role: Role
    content: str
    parts: list[Part]
    status: MessageStatus
    model_id: uuid.UUID | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cache_write_1h_tokens: int = 0
    cost: Decimal
    error: str | None
    tool_calls: list[ToolCall] | None
    tool_call_id: str | None
    attachments: list[Attachment] | None
    metadata: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
