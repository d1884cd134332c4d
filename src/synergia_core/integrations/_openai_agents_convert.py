"""Responses input items as messages, and back (for :mod:`.openai_agents`).

One item is one message. Its parts are what the item says, in the
conventions of ``MessageCreate.from_responses`` (so every view and
``context(format=...)`` reads it): message content as text, image and file
parts (an assistant item's ``id``, ``status`` and ``phase`` in each text
part's ``meta``), ``reasoning`` as a reasoning part, ``function_call`` and
``custom_tool_call`` as tool calls, their outputs as tool results, and any
other item as a raw part of provider ``"openai"``.

Exactness: unless the item is plain text (``{"content": text, "role": role}``,
which its one text part gives back), the message's metadata keeps the item's
JSON as a string (its key order kept, which PostgreSQL's ``JSONB`` would
not), with every long string a part already holds replaced by a reference
to it (``{"$": [part index, field, key or index ...]}``), so text, ``data:``
URIs, tool outputs and encrypted reasoning are stored once. Reading fills
the references back in; a message whose text changed since (an edit through
``messages.edit``), or whose references no longer resolve, is read from its
parts, like a message written by other code (:func:`default_items`).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, JsonValue, ValidationError

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
from synergia_core.schemas import Role

__all__ = ["KEY", "Item", "default_items", "item_parts", "read_item", "template_of"]

Item = dict[str, Any]
"""A Responses input item, as JSON."""

KEY = "openai_agents"
"""The key of the session's entry in a message's metadata."""

PROVIDER = "openai"
_FILE_ID = f"file-id:{PROVIDER}:"
_REF = "$"
_MIN_REF = 25  # shorter strings stay in the template: a reference is about as long
_SUMMARY_SEPARATOR = "\n\n"
_ROLES = {
    "user": Role.user,
    "system": Role.system,
    "developer": Role.system,
    "assistant": Role.assistant,
}
_DETAILS = ("auto", "low", "high")


class _Stale(Exception):
    """A template's reference that the message's parts no longer hold."""


# ------------------------------------------------------------------- item -> parts


def item_parts(item: Item, call_names: Mapping[str, str]) -> tuple[Role, list[Part]]:
    """The role and parts of the message that stores ``item``.

    ``call_names`` names the function calls of the same batch, so a
    ``function_call_output`` gets its tool's name.
    """
    kind = item.get("type")
    role_name = item.get("role")
    role = _ROLES.get(role_name) if isinstance(role_name, str) else None
    try:
        if kind in (None, "message") and role is not None:
            parts = _message_parts(item, role)
            if parts is not None:
                return role, parts
        elif kind == "reasoning":
            return Role.assistant, [_reasoning_part(item)]
        elif kind in ("function_call", "custom_tool_call"):
            return Role.assistant, [_call_part(item)]
        elif kind in ("function_call_output", "custom_tool_call_output"):
            return Role.tool, [_result_part(item, call_names)]
    except (ValidationError, TypeError, ValueError, KeyError):
        pass  # an item its kind's part cannot hold is kept raw
    return role or Role.assistant, [RawPart(provider=PROVIDER, data=item)]


def _meta(item: Mapping[str, Any], mapped: tuple[str, ...]) -> dict[str, JsonValue]:
    """The item's fields no common part field holds (``None`` left out)."""
    return {key: value for key, value in item.items() if key not in mapped and value is not None}


def _message_parts(item: Item, role: Role) -> list[Part] | None:
    content = item.get("content")
    shared = _meta(item, ("type", "role", "content")) if role is Role.assistant else {}
    if isinstance(content, str):
        return [TextPart(text=content, meta=shared)]
    if not isinstance(content, list):
        return None
    parts: list[Part] = []
    for entry in content:
        part = _content_part(entry, shared) if isinstance(entry, dict) else None
        if part is None:
            return None  # a content kind no part describes: the item is kept raw
        parts.append(part)
    return parts


def _content_part(
    entry: Item, shared: dict[str, JsonValue]
) -> TextPart | ImagePart | FilePart | None:
    kind = entry.get("type")
    if kind in ("input_text", "output_text") and isinstance(entry.get("text"), str):
        meta = dict(shared)
        if entry.get("annotations"):
            meta["annotations"] = entry["annotations"]
        return TextPart(text=entry["text"], meta=meta)
    if kind == "refusal" and isinstance(entry.get("refusal"), str):
        return TextPart(text=entry["refusal"], meta={**shared, "refusal": True})
    if kind == "input_image":
        uri = _string(entry.get("image_url")) or _file_id(entry.get("file_id"))
        if uri is None:
            return None
        detail = entry.get("detail")
        return ImagePart(
            uri=uri,
            mime_type=_mime(uri, None, "image/*"),
            detail=detail if detail in _DETAILS else None,
        )
    if kind == "input_file":
        name = _string(entry.get("filename"))
        data = _string(entry.get("file_data"))
        uri = _string(entry.get("file_url")) or _file_id(entry.get("file_id"))
        if data is not None:
            uri = data if data.startswith("data:") else None
            if uri is None:  # bare base64
                uri = f"data:{_mime('', name, 'application/octet-stream')};base64,{data}"
        if uri is None:
            return None
        return FilePart(
            uri=uri,
            mime_type=_mime(uri, name, "application/octet-stream"),
            name=name if name is not None and len(name) <= 1024 else None,
        )
    return None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _file_id(value: object) -> str | None:
    return _FILE_ID + value if isinstance(value, str) and value else None


def _mime(uri: str, name: str | None, default: str) -> str:
    """A ``data:`` URI's media type, else one guessed from the name or URL."""
    if uri.startswith("data:"):
        declared = uri[5:].split(",", 1)[0].split(";", 1)[0]
        if declared:
            return declared
    guessed, _ = mimetypes.guess_type(name or uri)
    return guessed or default


def _reasoning_part(item: Item) -> ReasoningPart:
    summary = [_entry_text(entry) for entry in item.get("summary") or ()]
    reasoning = [_entry_text(entry) for entry in item.get("content") or ()]
    text = _SUMMARY_SEPARATOR.join(summary) if summary else "".join(reasoning)
    meta = _meta(item, ("type", "id", "summary", "encrypted_content"))
    if summary != _summary_of(text, meta):  # the text alone does not give it back
        meta["summary"] = list(summary)
    encrypted = item.get("encrypted_content")
    return ReasoningPart(
        text=text,
        encrypted=encrypted if isinstance(encrypted, str) else None,
        id=_string(item.get("id")),
        provider=PROVIDER,
        meta=meta,
    )


def _entry_text(entry: object) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("text"), str):
        return str(entry["text"])
    raise ValueError("not a text entry")


def _summary_of(text: str, meta: Mapping[str, Any]) -> list[str]:
    """The summary texts a reasoning part gives back (as the Responses format
    reads them)."""
    if "summary" in meta:
        return list(meta["summary"])
    return [text] if text and "content" not in meta else []


def _call_part(item: Item) -> ToolCallPart:
    meta = _meta(item, ("type", "call_id", "name", "arguments", "input"))
    arguments: dict[str, JsonValue] | str
    if item.get("type") == "custom_tool_call":
        arguments, meta["custom"] = item.get("input") or "", True
    else:
        arguments = _parse_arguments(item.get("arguments"))
    return ToolCallPart(id=item["call_id"], name=item["name"], arguments=arguments, meta=meta)


def _parse_arguments(raw: object) -> dict[str, JsonValue] | str:
    """Arguments as the JSON object they should be, or the raw text."""
    if not raw:
        return {}
    if not isinstance(raw, str):
        raise TypeError("arguments must be a string")
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, dict) else raw


def _result_part(item: Item, call_names: Mapping[str, str]) -> ToolResultPart:
    output = item.get("output")
    if isinstance(output, list):
        converted = [
            _content_part(entry, {}) if isinstance(entry, dict) else None for entry in output
        ]
        if output and all(part is not None for part in converted):
            output = converted
    call_id = item["call_id"]
    name = _string(item.get("name"))
    if name is None and isinstance(call_id, str):
        name = call_names.get(call_id)
    return ToolResultPart(
        call_id=call_id,
        output=output,
        name=name if name is not None and len(name) <= 255 else None,
        meta=_meta(item, ("type", "call_id", "output", "name")),
    )


# ----------------------------------------------------------------- the template


def digest(parts: Sequence[Part]) -> str:
    """A short digest of the parts' text and tool outputs, whatever order the
    database gives JSON keys back in (to see that an edit changed them; a
    lone empty text part is read back as no part, so empty texts count for
    nothing)."""
    pieces = [
        part.text
        if isinstance(part, TextPart)
        else json.dumps(
            [item.model_dump() if isinstance(item, BaseModel) else item for item in part.output]
            if isinstance(part.output, list)
            else part.output,
            sort_keys=True,
        )
        for part in parts
        if isinstance(part, ToolResultPart) or (isinstance(part, TextPart) and part.text)
    ]
    return hashlib.sha256(json.dumps(pieces).encode()).hexdigest()[:16]


def template_of(item: Item, role: Role, parts: Sequence[Part]) -> dict[str, JsonValue] | None:
    """What the message's metadata keeps so that :func:`read_item` gives
    ``item`` back exactly: ``None`` when its parts alone do."""
    if _plain(item, role, parts):
        return None
    entry: dict[str, JsonValue] = {"digest": digest(parts)}
    template: Any = item
    if any(_is_ref(value) for value in _values(item)):
        entry["literal"] = True  # the item holds what reads as a reference: keep it all
    else:
        template = _punch(item, dict(_strings(parts)))
    entry["item"] = json.dumps(template, ensure_ascii=False, separators=(",", ":"))
    return entry


def _plain(item: Item, role: Role, parts: Sequence[Part]) -> bool:
    """Whether ``item`` is ``{"content": text, "role": role}`` with a text its
    one part gives back (:func:`default_items` reads it so)."""
    content = item.get("content")
    return (
        list(item) == ["content", "role"]
        and isinstance(content, str)
        and bool(content)
        and item["role"] == role.value
        and list(parts) == [TextPart(text=content)]
    )


def _strings(value: object, path: tuple[int | str, ...] = ()) -> Iterator[tuple[str, list[Any]]]:
    """Every long string the parts hold, with its path (first ones first)."""
    if isinstance(value, str):
        if len(value) >= _MIN_REF:
            yield value, list(path)
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _strings(getattr(value, name), (*path, name))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _values(value: object) -> Iterator[object]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)


def _is_ref(value: object) -> bool:
    return isinstance(value, dict) and list(value) == [_REF]


def _punch(value: Any, strings: Mapping[str, list[Any]]) -> Any:
    """``value`` with the strings the parts hold replaced by references."""
    if isinstance(value, str):
        path = strings.get(value)
        return {_REF: path} if path is not None else value
    if isinstance(value, dict):
        return {key: _punch(item, strings) for key, item in value.items()}
    if isinstance(value, list):
        return [_punch(item, strings) for item in value]
    return value


def _fill(value: Any, parts: Sequence[Part]) -> Any:
    if _is_ref(value):
        return _resolve(parts, value[_REF])
    if isinstance(value, dict):
        return {key: _fill(item, parts) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, parts) for item in value]
    return value


def _resolve(parts: Sequence[Part], path: object) -> str:
    if not isinstance(path, list) or not path or not isinstance(path[0], int):
        raise _Stale
    if not 0 <= path[0] < len(parts):
        raise _Stale
    value: object = parts[path[0]]
    for step in path[1:]:
        if isinstance(value, BaseModel) and isinstance(step, str):
            if step not in type(value).model_fields:
                raise _Stale
            value = getattr(value, step)
        elif isinstance(value, dict) and isinstance(step, str) and step in value:  # noqa: SIM114
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
        else:
            raise _Stale
    if not isinstance(value, str):
        raise _Stale
    return value


def read_item(entry: Mapping[str, Any], parts: Sequence[Part]) -> Item | None:
    """The item a message's metadata entry and parts give back, or ``None``
    when they no longer match (read the parts instead)."""
    template = entry.get("item")
    if not isinstance(template, str) or entry.get("digest") != digest(parts):
        return None
    try:
        item = json.loads(template)
        if entry.get("literal") is not True:
            item = _fill(item, parts)
    except (_Stale, ValueError):
        return None
    return item if isinstance(item, dict) else None


# --------------------------------------------------------------- parts -> items


def default_items(role: Role, parts: Sequence[Part]) -> list[Item]:
    """The items a message describes when no template says otherwise (a
    message written by other code): text, images and files as a message
    (plain text as a string), reasoning of OpenAI with an item id, tool
    calls, tool results and OpenAI raw items as their items."""
    if role is Role.tool:
        return [
            {
                "call_id": part.call_id,
                "output": _output(part.output),
                "type": "function_call_output",
            }
            for part in parts
            if isinstance(part, ToolResultPart)
        ]
    if role is not Role.assistant:
        content = [entry for part in parts if (entry := _content(part)) is not None]
        raw = [item for part in parts if (item := _raw_item(part)) is not None]
        if len(content) == 1 and content[0]["type"] == "input_text":
            return [{"content": content[0]["text"], "role": role.value}, *raw]
        return ([{"content": content, "role": role.value}] if content else []) + raw
    items: list[Item] = []
    text: list[str] = []
    for part in parts:
        if isinstance(part, TextPart):
            text.append(part.text)
            continue
        if text:
            items.append({"content": "".join(text), "role": "assistant"})
            text = []
        if isinstance(part, ReasoningPart) and part.provider == PROVIDER and part.id:
            summary = _summary_of(part.text, part.meta)
            reasoning: Item = {
                "id": part.id,
                "summary": [{"text": entry, "type": "summary_text"} for entry in summary],
                "type": "reasoning",
            }
            if part.encrypted:
                reasoning["encrypted_content"] = part.encrypted
            items.append(reasoning)
        elif isinstance(part, ToolCallPart):
            custom = part.meta.get("custom") is True
            arguments = (
                part.arguments
                if isinstance(part.arguments, str)
                else json.dumps(part.arguments, ensure_ascii=False, separators=(",", ":"))
            )
            items.append(
                {
                    ("input" if custom else "arguments"): arguments,
                    "call_id": part.id,
                    "name": part.name,
                    "type": "custom_tool_call" if custom else "function_call",
                }
            )
        elif (raw_item := _raw_item(part)) is not None:
            items.append(raw_item)
    if text:
        items.append({"content": "".join(text), "role": "assistant"})
    return items


def _content(part: object) -> Item | None:
    if isinstance(part, TextPart):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, ImagePart):
        image: Item = {"type": "input_image", "detail": part.detail or "auto"}
        if part.uri.startswith(_FILE_ID):
            return {**image, "file_id": part.uri[len(_FILE_ID) :]}
        return {**image, "image_url": part.uri}
    if isinstance(part, FilePart):
        file: Item = {"type": "input_file"}
        if part.uri.startswith(_FILE_ID):
            return {**file, "file_id": part.uri[len(_FILE_ID) :]}
        if part.uri.startswith("data:"):
            return {**file, "file_data": part.uri, **({"filename": part.name} if part.name else {})}
        return {**file, "file_url": part.uri}
    return None


def _output(output: object) -> Any:
    if isinstance(output, str):
        return output
    if isinstance(output, list) and all(isinstance(item, BaseModel) for item in output):
        return [entry for item in output if (entry := _content(item)) is not None]
    return json.dumps(output, ensure_ascii=False, separators=(",", ":"))


def _raw_item(part: object) -> Item | None:
    if (
        isinstance(part, RawPart)
        and part.provider == PROVIDER
        and isinstance(part.data, dict)
        and isinstance(part.data.get("type"), str)
    ):
        return dict(part.data)
    return None
