"""Typed message parts: what a message is made of, as the providers produce it.

A message is an ordered list of parts. :data:`Part` is a pydantic
discriminated union on ``type``:

======================  ==========================================================
``TextPart``            text
``ReasoningPart``       a model's reasoning: Anthropic ``thinking`` (text and
                        signature) and ``redacted_thinking`` (``encrypted``,
                        ``redacted=True``), OpenAI Responses ``reasoning`` items
                        (summary text, ``encrypted_content``), Gemini thoughts
``ToolCallPart``        a function call the model asks for
``ToolResultPart``      the result a tool message gives back to a call
``ImagePart``           an image, by reference (https, s3, a provider file id
                        ``file-id:<provider>:<id>``) or a small ``data:`` URI
``FilePart``            any other file (PDF, audio, a document), likewise
``RawPart``             a provider item no other part describes, kept as JSON
======================  ==========================================================

Every part has ``meta``: provider fields no common field holds (a Responses
item ``id`` or ``status``, a Gemini ``thought_signature``), kept verbatim.
Signatures, encrypted blobs and tool arguments are stored byte for byte:
providers refuse a tool-use continuation whose thinking was altered.

The helpers below compute the classic views of a message from its parts
(``content``, ``tool_calls``, ``tool_call_id``, ``attachments``) and the
parts of the classic fields, so both spellings describe one message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, TypeAdapter

__all__ = [
    "ContentPart",
    "FilePart",
    "ImagePart",
    "Part",
    "RawPart",
    "ReasoningPart",
    "TextPart",
    "ToolCallPart",
    "ToolResultPart",
    "dump_parts",
    "parts_adapter",
    "parts_text",
    "result_text",
]

_PART = ConfigDict(extra="forbid", frozen=True, revalidate_instances="always")

Meta = dict[str, JsonValue]
CallId = Annotated[str, Field(min_length=1, max_length=1024)]
ToolName = Annotated[str, Field(min_length=1, max_length=255)]
MimeType = Annotated[str, Field(min_length=1, max_length=255)]
Uri = Annotated[str, Field(min_length=1)]


class TextPart(BaseModel):
    """Text, as the model or the user wrote it."""

    model_config = _PART

    type: Literal["text"] = "text"
    text: str
    meta: Meta = Field(default_factory=dict)


class ReasoningPart(BaseModel):
    """A model's reasoning, kept so it can be sent back unaltered.

    Attributes:
        text: The reasoning (or its summary) in plain text; empty when the
            provider gave none.
        signature: Anthropic's ``signature`` of a ``thinking`` block.
        encrypted: Opaque reasoning: Anthropic ``redacted_thinking`` data,
            OpenAI ``encrypted_content``, a Gemini thought signature.
        redacted: The reasoning was redacted by the provider (only
            ``encrypted`` holds it).
        provider: Who produced it (``"anthropic"``, ``"openai"``,
            ``"google"``): signatures are only valid for their own provider.
        id: The Responses API item id.
    """

    model_config = _PART

    type: Literal["reasoning"] = "reasoning"
    text: str = ""
    signature: str | None = None
    encrypted: str | None = None
    redacted: bool = False
    provider: str | None = None
    id: str | None = None
    meta: Meta = Field(default_factory=dict)


class ToolCallPart(BaseModel):
    """A function call requested by an assistant message.

    Attributes:
        id: The id the tool result answers (Chat Completions ``id``,
            Responses ``call_id``, Anthropic ``tool_use.id``).
        name: The function's name.
        arguments: A JSON object, or the raw text when the model emitted
            arguments that do not parse (stored, never dropped).
    """

    model_config = _PART

    type: Literal["tool_call"] = "tool_call"
    id: CallId
    name: ToolName
    arguments: dict[str, JsonValue] | str = Field(default_factory=dict)
    meta: Meta = Field(default_factory=dict)


class ImagePart(BaseModel):
    """An image: a reference (https, s3, ``file-id:<provider>:<id>``) or a
    ``data:`` URI for small inline content.

    Attributes:
        detail: OpenAI's image detail (``"auto"``, ``"low"``, ``"high"``);
            other providers ignore it.
        name: A file name, when one is known.
        size_bytes: The size, when known.
    """

    model_config = _PART

    type: Literal["image"] = "image"
    uri: Uri
    mime_type: MimeType
    detail: Literal["auto", "low", "high"] | None = None
    name: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    size_bytes: Annotated[int, Field(ge=0)] | None = None
    meta: Meta = Field(default_factory=dict)


class FilePart(BaseModel):
    """A file (PDF, audio, any document): a reference or a ``data:`` URI."""

    model_config = _PART

    type: Literal["file"] = "file"
    uri: Uri
    mime_type: MimeType
    name: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    size_bytes: Annotated[int, Field(ge=0)] | None = None
    meta: Meta = Field(default_factory=dict)


ContentPart = Annotated[TextPart | ImagePart | FilePart, Field(discriminator="type")]
"""What a tool result's output can be made of, besides a string or JSON."""


class ToolResultPart(BaseModel):
    """What a tool gave back to a call (only on ``tool`` messages).

    Attributes:
        call_id: The :attr:`ToolCallPart.id` it answers.
        output: A string, a list of text/image/file parts, or any JSON value.
        is_error: The tool failed; ``output`` says how.
        name: The tool's name, when the framework records it.
    """

    model_config = _PART

    type: Literal["tool_result"] = "tool_result"
    call_id: CallId
    output: str | list[ContentPart] | JsonValue = Field(union_mode="left_to_right")
    is_error: bool = False
    name: ToolName | None = None
    meta: Meta = Field(default_factory=dict)


class RawPart(BaseModel):
    """A provider item no other part describes (an OpenAI ``web_search_call``,
    an MCP call ...), kept as JSON so nothing is lost; rendered back only for
    its own provider."""

    model_config = _PART

    type: Literal["raw"] = "raw"
    provider: Annotated[str, Field(min_length=1, max_length=100)]
    data: JsonValue
    meta: Meta = Field(default_factory=dict)


Part = Annotated[
    TextPart | ReasoningPart | ToolCallPart | ToolResultPart | ImagePart | FilePart | RawPart,
    Field(discriminator="type"),
]
"""One part of a message (a discriminated union on ``type``)."""

parts_adapter: TypeAdapter[list[Part]] = TypeAdapter(list[Part])
"""Validates and dumps lists of parts (``parts_adapter.validate_python(...)``)."""


def result_text(output: object) -> str:
    """A tool result's output as text: a string as it is, a list of parts as
    its text parts joined, any other JSON value dumped."""
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(
        isinstance(item, (TextPart, ImagePart, FilePart)) for item in output
    ):
        return "".join(item.text for item in output if isinstance(item, TextPart))
    return json.dumps(output, ensure_ascii=False, separators=(",", ":"))


def parts_text(parts: Iterable[object]) -> str:
    """The ``content`` view: text parts joined with no separator, or, for the
    results of a ``tool`` message, their outputs as text."""
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, TextPart):
            pieces.append(part.text)
        elif isinstance(part, ToolResultPart):
            pieces.append(result_text(part.output))
    return "".join(pieces)


def dump_parts(parts: Sequence[BaseModel]) -> list[dict[str, Any]]:
    """The stored JSON form of parts: defaults left out, ``type`` always kept."""
    dumped = []
    for part in parts:
        item = part.model_dump(mode="json", exclude_defaults=True)
        item["type"] = part.type  # type: ignore[attr-defined]
        if isinstance(part, ToolResultPart) and isinstance(part.output, list):
            item["output"] = [
                dump_parts([value])[0] if isinstance(value, BaseModel) else value
                for value in part.output
            ]
        dumped.append(item)
    return dumped
