"""Rendering a thread for Gemini's ``generate_content`` (the request side of
:mod:`synergia_core.providers.gemini`, which documents what is carried and
dropped)."""

from __future__ import annotations

import json
from collections.abc import Mapping
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
)
from synergia_core.providers import ResolveUri
from synergia_core.providers._media import decode_base64, split_data_uri

__all__ = [
    "FILES_API",
    "GENERATED_ID",
    "PART_EXTRAS",
    "PROVIDER",
    "content_part",
    "function_response",
    "user_first",
]

PROVIDER = "google"
"""The provider name of Gemini's parts and the key of its metadata."""

GENERATED_ID = "generated_id"
"""``ToolCallPart.meta`` key marking an id Gemini did not give."""

FILES_API = "https://generativelanguage.googleapis.com/v1beta/"
"""Where a ``file-id:google:files/<id>`` lives."""

PART_EXTRAS = ("video_metadata", "media_resolution", "part_metadata")
"""Part fields kept in ``meta`` and rendered back as they were."""


def _file_uri(file_id: str) -> str:
    """The ``file_uri`` of a ``file-id:google:<id>`` reference."""
    if "://" in file_id:
        return file_id
    return FILES_API + (file_id if file_id.startswith("files/") else f"files/{file_id}")


def _media_source(
    uri: str, mime_type: str, resolve_uri: ResolveUri | None
) -> tuple[str, dict[str, Any]] | None:
    """(``"inline_data"`` or ``"file_data"``, its value) for a reference, or
    ``None`` when Gemini cannot take it."""
    if uri.startswith("data:"):
        split = split_data_uri(uri)
        if split is None:
            return None
        return "inline_data", {"mime_type": mime_type, "data": split[1]}
    if uri.startswith(f"file-id:{PROVIDER}:"):
        return "file_data", {"file_uri": _file_uri(uri.split(":", 2)[2]), "mime_type": mime_type}
    if uri.startswith(("gs://", "https://", "http://")):
        return "file_data", {"file_uri": uri, "mime_type": mime_type}
    if resolve_uri is None:
        return None
    data, resolved_type = resolve_uri(uri)
    return "inline_data", {"mime_type": resolved_type or mime_type, "data": bytes(data)}


def _with_meta(rendered: dict[str, Any], meta: Mapping[str, JsonValue]) -> dict[str, Any]:
    """A rendered part with the Gemini fields its ``meta`` kept."""
    for key in PART_EXTRAS:
        if key in meta:
            rendered[key] = meta[key]
    if meta.get("thought") is True:
        rendered["thought"] = True
    signature = meta.get("thought_signature")
    if isinstance(signature, str):
        rendered["thought_signature"] = decode_base64(signature)
    return rendered


def _raw(data: JsonValue) -> dict[str, Any] | None:
    """A stored raw Gemini part, with its binary fields as bytes again."""
    if not isinstance(data, dict):
        return None
    rendered: dict[str, Any] = dict(data)
    signature = rendered.get("thought_signature")
    if isinstance(signature, str):
        rendered["thought_signature"] = decode_base64(signature)
    return rendered


def _arguments(arguments: dict[str, JsonValue] | str) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return dict(arguments)
    try:
        value = json.loads(arguments)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"arguments": arguments}


def content_part(part: Part, resolve_uri: ResolveUri | None) -> dict[str, Any] | None:
    """One part of a user or model turn, or ``None`` when Gemini takes none."""
    if isinstance(part, TextPart):
        if not part.text and "thought_signature" not in part.meta:
            return None
        return _with_meta({"text": part.text}, part.meta)
    if isinstance(part, ReasoningPart):
        if part.provider != PROVIDER or not (part.text or part.encrypted):
            return None
        rendered: dict[str, Any] = {"text": part.text, "thought": True}
        if part.encrypted is not None:
            rendered["thought_signature"] = decode_base64(part.encrypted)
        return _with_meta(rendered, {k: v for k, v in part.meta.items() if k in PART_EXTRAS})
    if isinstance(part, ToolCallPart):
        call: dict[str, Any] = {"name": part.name, "args": _arguments(part.arguments)}
        if not part.meta.get(GENERATED_ID):
            call["id"] = part.id
        return _with_meta({"function_call": call}, part.meta)
    if isinstance(part, (ImagePart, FilePart)):
        source = _media_source(part.uri, part.mime_type, resolve_uri)
        if source is None:
            return None
        return _with_meta({source[0]: source[1]}, part.meta)
    if isinstance(part, RawPart):
        return _raw(part.data) if part.provider == PROVIDER else None
    return None


def _response(
    result: ToolResultPart, resolve_uri: ResolveUri | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A tool result's ``response`` object and its media ``parts``."""
    key = "error" if result.is_error else "output"
    output = result.output
    if isinstance(output, list) and all(
        isinstance(item, (TextPart, ImagePart, FilePart)) for item in output
    ):
        media: list[dict[str, Any]] = []
        texts: list[str] = []
        for item in output:
            if isinstance(item, TextPart):
                texts.append(item.text)
                continue
            assert isinstance(item, (ImagePart, FilePart))
            source = _media_source(item.uri, item.mime_type, resolve_uri)
            if source is not None:
                media.append({source[0]: source[1]})
        return {key: "".join(texts)}, media
    if isinstance(output, dict):
        if result.is_error and "error" not in output:
            return {"error": output}, []
        return dict(output), []
    return {key: output}, []


def function_response(
    result: ToolResultPart, calls: Mapping[str, ToolCallPart], resolve_uri: ResolveUri | None
) -> dict[str, Any]:
    call = calls.get(result.call_id)
    response, media = _response(result, resolve_uri)
    rendered: dict[str, Any] = {
        "name": call.name if call is not None else (result.name or "tool"),
        "response": response,
    }
    if call is None or not call.meta.get(GENERATED_ID):
        rendered["id"] = result.call_id
    if media:
        rendered["parts"] = media
    return {"function_response": rendered}


def user_first(contents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The contents without leading model turns (nor the function responses
    answering them)."""
    dropped = False
    while contents:
        first = contents[0]
        if first["role"] == "model":
            contents.pop(0)
            dropped = True
            continue
        if dropped:
            first["parts"] = [p for p in first["parts"] if "function_response" not in p]
            if not first["parts"]:
                contents.pop(0)
                continue
        break
    return contents
