"""PydanticAI messages <-> synergia-core messages, lossless (the converter of
:mod:`synergia_core.integrations.pydantic_ai`; no I/O here).

Everything works on PydanticAI's own JSON form of a message
(``ModelMessagesTypeAdapter.dump_json``), so every field of the installed
version is kept, known or not:

- Each PydanticAI part becomes our parts where one fits (text, thinking,
  tool calls and returns, images and files as ``data:`` URIs or references),
  and the part's JSON minus what those parts hold is kept in
  ``meta["pydantic_ai"]``. A user prompt with a list of contents becomes one
  of our parts per item. A part that no part of ours fits, or whose mapping
  would not give its JSON back exactly (checked on every save), is kept
  whole: a :class:`~synergia_core.parts.RawPart` of provider
  ``"pydantic-ai"`` on a reply, the message's metadata on a request.
- A ``ModelRequest`` is stored as consecutive messages, one per run of parts
  of one role (system prompts, user content, tool returns); a
  ``ModelResponse`` as one assistant message. The first holds the
  message's JSON minus its parts in ``metadata["pydantic_ai"]["message"]``.

Loading rebuilds the JSON and validates it with PydanticAI's own adapter.
Messages stored by other means (no ``pydantic_ai`` metadata) are converted
from their parts as well as they can be.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import logging
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pydantic_core
from pydantic import TypeAdapter, ValidationError
from pydantic_ai import messages as pa

from synergia_core.parts import (
    FilePart,
    ImagePart,
    Part,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    dump_parts,
    parts_adapter,
)
from synergia_core.schemas import MessageRead, Role, Usage

__all__ = ["KEY", "PROVIDER", "Planned", "digest", "load_messages", "plan", "thread_json"]

logger = logging.getLogger(__name__)

KEY = "pydantic_ai"
"""The key of our data in message metadata and in part ``meta``."""
PROVIDER = "pydantic-ai"
"""The ``provider`` of the raw parts that hold PydanticAI parts whole."""

Json = dict[str, Any]

_MEDIA_KINDS = frozenset(
    {"binary", "image-url", "audio-url", "document-url", "video-url", "uploaded-file"}
)
_TEXT_KINDS = frozenset({"text-content", "structured-content"})
_DETAILS = frozenset({"auto", "low", "high"})
_FILE_ID = "file-id:"
_RETRY_ADAPTER: TypeAdapter[Any] | None = None


@dataclass(frozen=True)
class Planned:
    """One PydanticAI message, ready to store.

    Attributes:
        digest: :func:`digest` of its JSON, to recognize it once stored.
        groups: The messages it is stored as: role, parts and metadata each.
        model_name: ``ModelResponse.model_name`` (``None`` on a request).
        provider_name: ``ModelResponse.provider_name``.
        usage: Its usage as ours (``None`` on a request, or when the counts
            are inconsistent).
    """

    digest: str
    groups: list[tuple[Role, list[Part], Json]]
    model_name: str | None
    provider_name: str | None
    usage: Usage | None


def digest(message: Json) -> str:
    """A digest of a message's JSON, the same for equal JSON."""
    text = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# ----------------------------------------------------------------------- saving


def plan(messages: Sequence[pa.ModelMessage]) -> list[Planned]:
    """What storing ``messages`` takes, message by message."""
    dumped: list[Json] = json.loads(pa.ModelMessagesTypeAdapter.dump_json(list(messages)))
    return [_plan_one(message, data) for message, data in zip(messages, dumped, strict=True)]


def _plan_one(message: pa.ModelMessage, data: Json) -> Planned:
    response = isinstance(message, pa.ModelResponse)
    groups: list[tuple[Role, list[Part]]] = []
    extra: list[list[Any]] = []
    for index, (part, part_data) in enumerate(zip(message.parts, data["parts"], strict=True)):
        ours = _convert(part, part_data)
        if ours is None:
            if not response:  # kept in the metadata, where it reaches no provider
                extra.append([index, part_data])
                continue
            ours = [RawPart(provider=PROVIDER, data=part_data, meta={KEY: {"start": {}}})]
        role = Role.assistant if response else _request_role(part_data, ours[0])
        if groups and groups[-1][0] is role:
            groups[-1][1].extend(ours)
        else:
            groups.append((role, list(ours)))
    if not groups:
        groups.append((Role.assistant if response else Role.user, []))
    head: Json = {"message": {key: value for key, value in data.items() if key != "parts"}}
    if len(groups) > 1:
        head["groups"] = len(groups)
    if extra:
        head["extra"] = extra
    metadata = [{KEY: head}] + [{KEY: {"group": index}} for index in range(1, len(groups))]
    return Planned(
        digest=digest(data),
        groups=[(role, parts, meta) for (role, parts), meta in zip(groups, metadata, strict=True)],
        model_name=_str_or_none(data.get("model_name")) if response else None,
        provider_name=_str_or_none(data.get("provider_name")) if response else None,
        usage=_usage(data.get("usage")) if response else None,
    )


def _request_role(data: Json, first: Part) -> Role:
    if isinstance(first, ToolResultPart):
        return Role.tool
    return Role.system if data.get("part_kind") == "system-prompt" else Role.user


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _usage(data: object) -> Usage | None:
    """Our :class:`Usage` of a ``RequestUsage``'s JSON (the conventions match:
    cache counts are part of the input, reasoning part of the output)."""
    if not isinstance(data, dict):
        return None

    def count(key: str) -> int:
        value = data.get(key, 0)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    details = data.get("details")
    reasoning = count("output_reasoning_tokens")
    if not reasoning and isinstance(details, dict):  # where older versions kept it
        value = details.get("reasoning_tokens", 0)
        reasoning = value if isinstance(value, int) and not isinstance(value, bool) else 0
    try:
        return Usage(
            input_tokens=count("input_tokens"),
            output_tokens=count("output_tokens"),
            cache_read_tokens=count("cache_read_tokens"),
            cache_write_tokens=count("cache_write_tokens"),
            # a count of what the output holds, not priced apart: never more than it
            reasoning_tokens=min(reasoning, count("output_tokens")),
            cache_write_1h_tokens=count("cache_write_1h_tokens"),
        )
    except ValidationError as exc:
        errors = "; ".join(str(error["msg"]) for error in exc.errors())
        logger.warning("PydanticAI usage is inconsistent, stored unpriced: %s", errors)
        return None


def _convert(part: object, data: Json) -> list[Part] | None:
    """Our parts for one PydanticAI part, or ``None`` when none fits exactly."""
    try:
        ours = _map(part, data)
    except (ValidationError, KeyError, TypeError, ValueError) as exc:
        logger.debug("PydanticAI part %s kept whole: %s", data.get("part_kind"), exc)
        return None
    if ours is not None and _rebuild(_stored(ours)) != [data]:
        logger.debug("PydanticAI part %s kept whole: no exact mapping", data.get("part_kind"))
        return None
    return ours


def _map(part: object, data: Json) -> list[Part] | None:
    kind = data.get("part_kind")
    if kind in ("system-prompt", "text"):
        return [_unit(TextPart(text=data["content"]), data)]
    if kind == "thinking":
        reasoning = ReasoningPart(
            text=data["content"],
            signature=data.get("signature"),
            id=data.get("id"),
            provider=data.get("provider_name"),
        )
        return [_unit(reasoning, data)]
    if kind == "tool-call":
        args = data.get("args")
        call = ToolCallPart(
            id=data["tool_call_id"],
            name=data["tool_name"],
            arguments=args if isinstance(args, (dict, str)) else {},
        )
        return [_unit(call, data)]
    if kind == "tool-return":
        result = ToolResultPart(
            call_id=data["tool_call_id"],
            output=data["content"],
            is_error=data.get("outcome", "success") not in ("success", None),
            name=data["tool_name"],
        )
        return [_unit(result, data)]
    if kind in ("retry-prompt", "retry-feedback"):
        text = _retry_text(part, data)
        if kind == "retry-prompt" and data.get("tool_name") is not None:
            answer = ToolResultPart(
                call_id=data["tool_call_id"], output=text, is_error=True, name=data["tool_name"]
            )
            return [_unit(answer, data)]
        return [_unit(TextPart(text=text), data)]
    if kind == "file":
        content: Json = data["content"]
        media = _media("binary", content)
        start = {key: value for key, value in data.items() if key != "content"}
        return [_with_meta(media, {"start": start, "item": _rest(media, "binary", content)})]
    if kind == "user-prompt":
        return _user_prompt(data)
    return None


def _retry_text(part: object, data: Json) -> str:
    """What the model is told by a retry part."""
    model_response = getattr(part, "model_response", None)
    if callable(model_response):
        text = model_response()
        if isinstance(text, str):
            return text
    content = data.get("content")
    return content if isinstance(content, str) else json.dumps(content)


def _user_prompt(data: Json) -> list[Part] | None:
    content = data["content"]
    if isinstance(content, str):
        return [_unit(TextPart(text=content), data)]
    if not isinstance(content, list) or not content:
        return None
    start = {key: value for key, value in data.items() if key != "content"}
    parts: list[Part] = []
    for index, item in enumerate(content):
        part, meta = _item(item)
        if index == 0:
            meta = {"start": start, "items": True, **meta}
        parts.append(_with_meta(part, meta))
    return parts


def _item(item: object) -> tuple[Part, Json]:
    """Our part for one item of a user prompt's content, and its ``meta``."""
    if isinstance(item, str):
        return TextPart(text=item), {}
    if isinstance(item, dict):
        kind = item.get("kind")
        part: Part | None = None
        if kind in _TEXT_KINDS and isinstance(item.get("content"), str):
            part = TextPart(text=item["content"])
        elif kind in _MEDIA_KINDS:
            try:
                part = _media(kind, item)
            except (ValidationError, KeyError, TypeError, ValueError):
                part = None
        if part is not None:
            return part, {"item": _rest(part, kind, item)}
    return RawPart(provider=PROVIDER, data=cast(Any, item)), {}


def _media(kind: str, item: Json) -> ImagePart | FilePart:
    """An image or file part for a binary content, a URL or an uploaded file."""
    media_type = item.get("media_type")
    mime = media_type if isinstance(media_type, str) and media_type else "application/octet-stream"
    if kind == "binary":
        raw = base64.urlsafe_b64decode(_padded(item["data"]))
        uri = f"data:{mime};base64,{base64.b64encode(raw).decode()}"
    elif kind == "uploaded-file":
        uri = f"{_FILE_ID}{item['provider_name']}:{item['file_id']}"
    else:
        uri = item["url"]
    if kind == "image-url" or mime.startswith("image/"):
        vendor = item.get("vendor_metadata")
        detail = vendor.get("detail") if isinstance(vendor, dict) else None
        return ImagePart(uri=uri, mime_type=mime, detail=detail if detail in _DETAILS else None)
    return FilePart(uri=uri, mime_type=mime)


def _padded(text: str) -> str:
    return text + "=" * (-len(text) % 4)


def _unit(part: Part, data: Json) -> Part:
    """``part`` standing for the whole PydanticAI part ``data``."""
    return _with_meta(part, {"start": _rest(part, data.get("part_kind"), data)})


def _with_meta(part: Part, meta: Json) -> Part:
    return part.model_copy(update={"meta": {KEY: meta}})


def _rest(part: Part, kind: object, data: Json) -> Json:
    """The fields of ``data`` that ``part``, as stored, does not give back."""
    held = _fields(_stored([part])[0], kind)
    return {key: value for key, value in data.items() if key not in held or held[key] != value}


def _stored(parts: Sequence[Part]) -> list[Part]:
    """``parts`` as the database gives them back."""
    return parts_adapter.validate_python(json.loads(json.dumps(dump_parts(parts))))


def _fields(part: Part, kind: object) -> Json:
    """The JSON fields of a PydanticAI part (or item) of ``kind`` that ``part`` holds."""
    if isinstance(part, TextPart):
        return {"content": part.text}
    if isinstance(part, ReasoningPart):
        return {
            "content": part.text,
            "signature": part.signature,
            "id": part.id,
            "provider_name": part.provider,
        }
    if isinstance(part, ToolCallPart):
        return {"tool_call_id": part.id, "tool_name": part.name, "args": part.arguments}
    if isinstance(part, ToolResultPart):
        output = part.output
        if isinstance(output, list):  # parts of ours that a JSON list was read as
            output = [
                dump_parts([value])[0]
                if isinstance(value, (TextPart, ImagePart, FilePart))
                else value
                for value in output
            ]
        return {"tool_call_id": part.call_id, "tool_name": part.name, "content": output}
    if isinstance(part, (ImagePart, FilePart)):
        return _media_fields(part, kind)
    if isinstance(part, RawPart) and isinstance(part.data, dict):
        return dict(part.data)
    return {}


def _media_fields(part: ImagePart | FilePart, kind: object) -> Json:
    if kind == "binary":
        head, marker, payload = part.uri.partition(";base64,")
        if not marker or not head.startswith("data:"):
            return {}
        try:
            raw = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return {}
        data = json.loads(pydantic_core.to_json(raw, bytes_mode="base64"))
        return {"data": data, "media_type": part.mime_type}
    if kind == "uploaded-file":
        provider, colon, file_id = part.uri.removeprefix(_FILE_ID).partition(":")
        if not part.uri.startswith(_FILE_ID) or not colon:
            return {}
        return {"provider_name": provider, "file_id": file_id, "media_type": part.mime_type}
    return {"url": part.uri, "media_type": part.mime_type}


# ---------------------------------------------------------------------- loading


def thread_json(thread: Sequence[MessageRead]) -> list[Json]:
    """The PydanticAI JSON of the messages a thread holds, in order.

    Consecutive requests converted from messages stored by other means are
    merged into one, tool results first, as PydanticAI itself merges a
    history before a run (so that a run's ``all_messages()`` holds them as
    they are loaded).
    """
    out: list[Json] = []
    names: dict[str, str] = {}  # tool call id -> tool name, for results stored without one
    merging = False  # the last message is a request converted from other messages
    for members, meta in _stored_messages(thread):
        parts: list[Json] = []
        pure = True
        for member in members:
            member_parts, member_pure = _message_parts(member, names)
            parts.extend(member_parts)
            pure = pure and member_pure
        if meta is not None:
            for position, part in meta.get("extra", ()):
                parts.insert(position, part)
            message, merging = {**meta["message"], "parts": parts}, False
        else:
            message, pure = _foreign_message(members[0], parts), False
            if merging and message["kind"] == "request":
                previous = out.pop()
                joined = [*previous["parts"], *parts]
                joined.sort(key=lambda part: part.get("part_kind") != "tool-return")
                message = {**previous, "parts": joined, "timestamp": message["timestamp"]}
            merging = message["kind"] == "request"
        if not pure:  # as PydanticAI dumps it, so that it is recognized when saved back
            message = json.loads(pa.ModelMessagesTypeAdapter.dump_json(load_messages([message])))[0]
        for part in parts:
            if part.get("part_kind") == "tool-call":
                names[str(part.get("tool_call_id"))] = str(part.get("tool_name"))
        out.append(message)
    return out


def _stored_messages(
    thread: Sequence[MessageRead],
) -> Iterator[tuple[list[MessageRead], Json | None]]:
    """The thread's messages grouped as :func:`plan` stored them, each group
    with its ``metadata["pydantic_ai"]`` (``None``: stored by other means)."""
    index = 0
    while index < len(thread):
        members = [thread[index]]
        meta = members[0].metadata.get(KEY)
        if not isinstance(meta, dict) or not isinstance(meta.get("message"), dict):
            index += 1
            yield members, None
            continue
        count = meta.get("groups", 1)
        while len(members) < count and index + len(members) < len(thread):
            follower = thread[index + len(members)].metadata.get(KEY)
            if not isinstance(follower, dict) or follower.get("group") != len(members):
                break
            members.append(thread[index + len(members)])
        index += len(members)
        yield members, meta


def load_messages(data: list[Json]) -> list[pa.ModelMessage]:
    """PydanticAI messages from their JSON, validated by PydanticAI's own adapter.

    A legacy ``retry-prompt`` part (which PydanticAI translates on loading)
    comes back as the ``RetryPromptPart`` it was saved as.
    """
    messages = pa.ModelMessagesTypeAdapter.validate_json(json.dumps(data))
    for message, message_data in zip(messages, data, strict=True):
        legacy = [
            position
            for position, part in enumerate(message_data["parts"])
            if part.get("part_kind") == "retry-prompt"
        ]
        if legacy and isinstance(message, pa.ModelRequest):
            parts = list(message.parts)
            for position in legacy:
                parts[position] = _legacy_retry(message_data["parts"][position])
            message.parts = parts
    return messages


def _legacy_retry(data: Json) -> Any:
    global _RETRY_ADAPTER
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the class is deprecated; it is what was saved
        if _RETRY_ADAPTER is None:
            _RETRY_ADAPTER = TypeAdapter(pa.RetryPromptPart)
        return _RETRY_ADAPTER.validate_json(json.dumps(data))


def _rebuild(parts: Sequence[Part]) -> list[Json]:
    """The PydanticAI parts that our ``parts`` (all converted by :func:`plan`) stand for."""
    out: list[Json] = []
    items: list[Any] | None = None
    for part in parts:
        meta = _meta(part)
        if meta is None:
            continue
        if "start" not in meta:
            if items is not None:
                items.append(_item_json(part, meta))
            continue
        start: Json = dict(meta["start"])
        items = None
        if meta.get("items"):
            items = [_item_json(part, meta)]
            out.append({**start, "content": items})
        elif isinstance(part, RawPart) and isinstance(part.data, dict):
            out.append({**part.data, **start})
        elif start.get("part_kind") == "file":
            out.append({**start, "content": {**_fields(part, "binary"), **meta.get("item", {})}})
        else:
            out.append({**_fields(part, start.get("part_kind")), **start})
    return out


def _meta(part: Part) -> Json | None:
    """What :func:`plan` put in a part's ``meta`` (``None``: not one of its parts)."""
    meta = part.meta.get(KEY)
    return cast(Json, meta) if isinstance(meta, dict) else None


def _item_json(part: Part, meta: Json) -> Any:
    if isinstance(part, RawPart):
        return part.data
    rest = meta.get("item")
    if rest is None and isinstance(part, TextPart):
        return part.text
    rest = rest if isinstance(rest, dict) else {}
    return {**_fields(part, rest.get("kind")), **rest}


def _message_parts(message: MessageRead, names: dict[str, str]) -> tuple[list[Json], bool]:
    """The PydanticAI parts of one stored message: ours rebuilt, others
    converted; and whether all were ours (none changed since :func:`plan`)."""
    out: list[Json] = []
    run: list[Part] = []
    foreign: list[Json] = []
    pure = True
    for part in message.parts:
        meta = _meta(part)
        if meta is not None and (run or "start" in meta):
            run.append(part)
            continue
        out.extend(_rebuild(run))
        run, pure = [], False
        converted: Json | None
        if meta is not None:  # an item whose prompt's first part was edited away
            item = _item_json(part, meta)
            stamp = _timestamp(message.created_at)
            converted = {"part_kind": "user-prompt", "content": [item], "timestamp": stamp}
        else:
            converted = _foreign_part(part, message, names)
        if converted is not None and not _joined(out, converted):
            out.append(converted)
            foreign.append(converted)
    out.extend(_rebuild(run))
    for prompt in foreign:  # a prompt of one text is that text
        content = prompt.get("content")
        single = isinstance(content, list) and len(content) == 1 and isinstance(content[0], str)
        if prompt["part_kind"] == "user-prompt" and single:
            prompt["content"] = cast(list[str], content)[0]
    return out, pure


def _joined(out: list[Json], part: Json) -> bool:
    """Join user content to the user prompt before it, if it has a list."""
    last = out[-1] if out else None
    if (
        part.get("part_kind") == "user-prompt"
        and last is not None
        and last.get("part_kind") == "user-prompt"
        and isinstance(last.get("content"), list)
    ):
        last["content"].extend(part["content"])
        return True
    return False


def _foreign_part(part: Part, message: MessageRead, names: dict[str, str]) -> Json | None:
    """A PydanticAI part for a part not stored by :func:`plan` (``None``: none fits)."""
    stamp = _timestamp(message.created_at)
    role = message.role
    if isinstance(part, TextPart):
        if role is Role.system:
            return {"part_kind": "system-prompt", "content": part.text, "timestamp": stamp}
        if role is Role.assistant:
            return {"part_kind": "text", "content": part.text}
        return {"part_kind": "user-prompt", "content": [part.text], "timestamp": stamp}
    if isinstance(part, ReasoningPart):
        return {"part_kind": "thinking", **_fields(part, "thinking")}
    if isinstance(part, ToolCallPart):
        return {"part_kind": "tool-call", **_fields(part, "tool-call")}
    if isinstance(part, ToolResultPart):
        fields = _fields(part, "tool-return")
        fields["tool_name"] = part.name or names.get(part.call_id, "")
        outcome = "failed" if part.is_error else "success"
        return {"part_kind": "tool-return", **fields, "outcome": outcome, "timestamp": stamp}
    if isinstance(part, (ImagePart, FilePart)):
        item = _foreign_media(part)
        if item is None:
            return None
        if role is Role.assistant:
            return {"part_kind": "file", "content": item} if item["kind"] == "binary" else None
        return {"part_kind": "user-prompt", "content": [item], "timestamp": stamp}
    return None  # raw items of providers: they mean nothing to PydanticAI


def _foreign_media(part: ImagePart | FilePart) -> Json | None:
    if part.uri.startswith("data:"):
        fields = _media_fields(part, "binary")
        return {"kind": "binary", **fields} if fields else None
    if part.uri.startswith(_FILE_ID):
        fields = _media_fields(part, "uploaded-file")
        return {"kind": "uploaded-file", **fields} if fields else None
    kind = "document-url"
    if isinstance(part, ImagePart) or part.mime_type.startswith("image/"):
        kind = "image-url"
    elif part.mime_type.startswith("audio/"):
        kind = "audio-url"
    elif part.mime_type.startswith("video/"):
        kind = "video-url"
    return {"kind": kind, "url": part.uri, "media_type": part.mime_type}


def _foreign_message(message: MessageRead, parts: list[Json]) -> Json:
    """A PydanticAI message for a message not stored by :func:`plan`."""
    stamp = _timestamp(message.created_at)
    if message.role is not Role.assistant:
        return {"kind": "request", "parts": parts, "timestamp": stamp}
    usage = {
        "input_tokens": message.input_tokens,
        "output_tokens": message.output_tokens,
        "cache_read_tokens": message.cache_read_tokens,
        "cache_write_tokens": message.cache_write_tokens,
        "cache_write_1h_tokens": message.cache_write_1h_tokens,
        "output_reasoning_tokens": message.reasoning_tokens,
    }
    return {"kind": "response", "parts": parts, "timestamp": stamp, "usage": usage}


def _timestamp(value: dt.datetime) -> str:
    return value.isoformat()
