"""Rendering a thread for the Anthropic Messages API (the request side of
:mod:`synergia_core.providers.anthropic`, which documents what is carried
and dropped)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import JsonValue

from synergia_core.parts import (
    FilePart,
    ImagePart,
    Part,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    result_text,
)
from synergia_core.providers import ResolveUri
from synergia_core.providers._media import encode_base64, inline_bytes, is_remote
from synergia_core.providers.openai_chat import parse_arguments
from synergia_core.schemas import MessageRead

PROVIDER = "anthropic"
FILE_ID_PREFIX = f"file-id:{PROVIDER}:"
"""How an Anthropic Files API id is written as a part's ``uri``."""

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
"""The image formats the API takes as ``base64`` sources."""

_MIME_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}

_CITATION_FIELDS: Mapping[str, tuple[str, ...]] = {
    "char_location": (
        "cited_text",
        "document_index",
        "document_title",
        "end_char_index",
        "start_char_index",
    ),
    "page_location": (
        "cited_text",
        "document_index",
        "document_title",
        "end_page_number",
        "start_page_number",
    ),
    "content_block_location": (
        "cited_text",
        "document_index",
        "document_title",
        "end_block_index",
        "start_block_index",
    ),
    "web_search_result_location": ("cited_text", "encrypted_index", "title", "url"),
    "search_result_location": (
        "cited_text",
        "end_block_index",
        "search_result_index",
        "source",
        "start_block_index",
        "title",
    ),
}
"""The fields of each citation kind the request takes back (a reply's
citations carry a few more, such as ``file_id``)."""

_NULLABLE_CITATION_FIELDS = frozenset({"document_title", "title"})
"""Citation fields the request requires even when null."""


def drop_nulls(value: Any) -> JsonValue:
    """``value`` without its null fields, except the citation titles, which
    the request requires even when null."""
    if isinstance(value, dict):
        return {
            str(k): drop_nulls(v)
            for k, v in value.items()
            if v is not None or k in _NULLABLE_CITATION_FIELDS
        }
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    result: JsonValue = value
    return result


def _inline(uri: str, mime_type: str, resolve_uri: ResolveUri | None) -> tuple[str, str] | None:
    """(media type, base64 data) of a ``data:`` URI, or of a reference that
    ``resolve_uri`` fetches; ``None`` when neither works."""
    inlined = inline_bytes(uri, mime_type, resolve_uri)
    if inlined is None:
        return None
    media_type, data = inlined
    media_type = media_type.lower()
    return _MIME_ALIASES.get(media_type, media_type), encode_base64(data)


def _file_id(uri: str) -> str | None:
    return uri[len(FILE_ID_PREFIX) :] if uri.startswith(FILE_ID_PREFIX) else None


def _image_block(part: ImagePart, resolve_uri: ResolveUri | None) -> dict[str, Any] | None:
    file_id = _file_id(part.uri)
    if file_id:
        return {"type": "image", "source": {"type": "file", "file_id": file_id}}
    if is_remote(part.uri):
        return {"type": "image", "source": {"type": "url", "url": part.uri}}
    inlined = _inline(part.uri, part.mime_type, resolve_uri)
    if inlined is None or inlined[0] not in IMAGE_TYPES:
        return None
    media_type, data = inlined
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _document_block(part: FilePart, resolve_uri: ResolveUri | None) -> dict[str, Any] | None:
    mime_type = part.mime_type.lower()
    file_id = _file_id(part.uri)
    source: dict[str, Any]
    if file_id:
        source = {"type": "file", "file_id": file_id}
    elif mime_type == "application/pdf":
        if is_remote(part.uri):
            source = {"type": "url", "url": part.uri}
        else:
            inlined = _inline(part.uri, mime_type, resolve_uri)
            if inlined is None:
                return None
            source = {"type": "base64", "media_type": "application/pdf", "data": inlined[1]}
    elif mime_type.startswith("text/"):
        if is_remote(part.uri) and resolve_uri is None:
            return None
        inlined = _inline(part.uri, mime_type, resolve_uri)
        if inlined is None:
            return None
        try:
            text = base64.b64decode(inlined[1], validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            return None
        source = {"type": "text", "media_type": "text/plain", "data": text}
    else:
        return None
    block: dict[str, Any] = {"type": "document", "source": source}
    if part.name:
        block["title"] = part.name
    return block


def _citations(value: JsonValue) -> list[dict[str, JsonValue]]:
    """Stored citations in the request's shape; unknown or incomplete ones
    are left out."""
    out: list[dict[str, JsonValue]] = []
    for citation in value if isinstance(value, list) else ():
        if not isinstance(citation, dict):
            continue
        kind = citation.get("type")
        fields = _CITATION_FIELDS.get(kind) if isinstance(kind, str) else None
        if fields is None:
            continue
        if any(citation.get(key) is None for key in fields if key not in _NULLABLE_CITATION_FIELDS):
            continue
        out.append({"type": kind, **{key: citation.get(key) for key in fields}})
    return out


def _text_block(part: TextPart, *, citations: bool = False) -> dict[str, Any] | None:
    if not part.text:
        return None
    block: dict[str, Any] = {"type": "text", "text": part.text}
    if citations:
        kept = _citations(part.meta.get("citations"))
        if kept:
            block["citations"] = kept
    return block


def content_block(part: Part, resolve_uri: ResolveUri | None) -> dict[str, Any] | None:
    """A user content part (text, image, file) as its block."""
    if isinstance(part, TextPart):
        return _text_block(part)
    if isinstance(part, ImagePart):
        return _image_block(part, resolve_uri)
    if isinstance(part, FilePart):
        return _document_block(part, resolve_uri)
    if isinstance(part, RawPart):
        return _raw_block(part)
    return None


def _raw_block(part: RawPart) -> dict[str, Any] | None:
    """A raw part of this provider as the block it was; others dropped."""
    if part.provider != PROVIDER or not isinstance(part.data, dict):
        return None
    data = drop_nulls(part.data)
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return None
    return data


def _reasoning_block(part: ReasoningPart) -> dict[str, Any] | None:
    """Anthropic thinking as it came; anything else dropped."""
    if part.provider != PROVIDER:
        return None
    if part.redacted:
        return {"type": "redacted_thinking", "data": part.encrypted} if part.encrypted else None
    if part.signature is None:
        return None
    return {"type": "thinking", "thinking": part.text, "signature": part.signature}


def _tool_use_block(part: ToolCallPart) -> dict[str, Any]:
    arguments = part.arguments
    if isinstance(arguments, str):
        parsed = parse_arguments(arguments)
        arguments = parsed if isinstance(parsed, dict) else {}
    block: dict[str, Any] = {
        "type": "tool_use",
        "id": part.id,
        "name": part.name,
        "input": arguments,
    }
    caller = part.meta.get("caller")
    if isinstance(caller, dict) and isinstance(caller.get("type"), str):
        block["caller"] = caller
    toolset = part.meta.get("toolset_name")
    if isinstance(toolset, str):
        block["toolset_name"] = toolset
    return block


def tool_result_block(part: ToolResultPart, resolve_uri: ResolveUri | None) -> dict[str, Any]:
    content: str | list[dict[str, Any]] = result_text(part.output)
    output = part.output
    if isinstance(output, list) and all(
        isinstance(item, (TextPart, ImagePart, FilePart)) for item in output
    ):
        blocks = [
            rendered
            for item in output
            if isinstance(item, (TextPart, ImagePart, FilePart))
            and (rendered := content_block(item, resolve_uri)) is not None
        ]
        content = blocks or content
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.call_id, "content": content}
    if part.is_error:
        block["is_error"] = True
    toolset = part.meta.get("toolset_name")
    if isinstance(toolset, str):
        block["toolset_name"] = toolset
    return block


def assistant_blocks(message: MessageRead) -> list[dict[str, Any]]:
    """An assistant message's blocks in stored order, except that thinking
    stored after a ``tool_use`` moves before the first one (the API wants
    the thinking that led to a call ahead of it)."""
    blocks: list[dict[str, Any]] = []
    first_call: int | None = None
    for part in message.parts:
        block: dict[str, Any] | None
        if isinstance(part, TextPart):
            block = _text_block(part, citations=True)
        elif isinstance(part, ReasoningPart):
            block = _reasoning_block(part)
            if block is not None and first_call is not None:
                blocks.insert(first_call, block)
                first_call += 1
                continue
        elif isinstance(part, ToolCallPart):
            block = _tool_use_block(part)
            if first_call is None:
                first_call = len(blocks)
        elif isinstance(part, RawPart):
            block = _raw_block(part)
        else:
            block = None  # images and files: not on assistant turns
        if block is not None:
            blocks.append(block)
    return blocks


def well_formed(turns: Sequence[tuple[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Alternating turns: same-role turns merged, empty ones left out, no
    leading assistant turn, no tool result without its ``tool_use`` in the
    assistant turn just before."""
    out: list[dict[str, Any]] = []
    for role, blocks in turns:
        if role == "assistant":
            if not out:
                continue
        else:
            # the assistant turn these results answer (the user turn they may
            # join follows it)
            previous = out[-1] if out and out[-1]["role"] == "assistant" else None
            if out and out[-1]["role"] == "user" and len(out) > 1:
                previous = out[-2]
            calls = (
                {b.get("id") for b in previous["content"] if b.get("type") == "tool_use"}
                if previous is not None
                else set()
            )
            blocks = [
                b for b in blocks if b.get("type") != "tool_result" or b.get("tool_use_id") in calls
            ]
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": list(blocks)})
    return out
