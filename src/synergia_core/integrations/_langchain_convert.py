"""LangChain messages to synergia messages and back (used by
:mod:`synergia_core.integrations.langchain`).

A LangChain message is stored as one synergia message: its content as typed
parts (text, reasoning, images and files; any block no part describes as a
:class:`~synergia_core.parts.RawPart` of provider ``"langchain"``), its tool
calls as tool-call parts, a tool message as one tool-result part, and every
other field (``id``, ``name``, ``additional_kwargs``, ``response_metadata``,
``usage_metadata``, ``artifact`` ...) verbatim in ``metadata["langchain"]``.
A block becomes a typed part only when the part gives the very same block
back; what a part cannot say about a block (extra keys, the block's shape)
is kept in the part's ``meta["langchain"]``.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    ChatMessageChunk,
    FunctionMessage,
    FunctionMessageChunk,
    HumanMessage,
    HumanMessageChunk,
    SystemMessage,
    SystemMessageChunk,
    ToolMessage,
    ToolMessageChunk,
)
from pydantic import JsonValue, ValidationError

from synergia_core import InvalidInputError
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
from synergia_core.schemas import MessageCreate, MessageRead, Role, Usage

__all__ = ["KEY", "PROVIDERS", "Draft", "read_messages", "to_draft"]

logger = logging.getLogger(__name__)

KEY = "langchain"
"""The metadata key, the part ``meta`` key and the raw parts' provider."""

_CLASSES: dict[str, type[BaseMessage]] = {
    str(cls.model_fields["type"].default): cls
    for cls in (
        HumanMessage,
        AIMessage,
        SystemMessage,
        ToolMessage,
        ChatMessage,
        FunctionMessage,
        HumanMessageChunk,
        AIMessageChunk,
        SystemMessageChunk,
        ToolMessageChunk,
        ChatMessageChunk,
        FunctionMessageChunk,
    )
}
_CHAT_ROLES = {
    "user": Role.user,
    "human": Role.user,
    "assistant": Role.assistant,
    "ai": Role.assistant,
    "system": Role.system,
    "developer": Role.system,
}
# LangChain's ``model_provider`` names where the catalog usually says otherwise.
PROVIDERS = {"google_genai": "google", "google_vertexai": "google"}
_MEDIA = ("image", "file", "audio", "video")

Json = JsonValue


def _json(value: object, path: str) -> Json:
    """``value`` as JSON (tuples as lists), or a typed error naming where it is not."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Json] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(f"{path} has a non-string key {key!r}", field="messages")
            out[key] = _json(item, f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [_json(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise InvalidInputError(
        f"{path} is a {type(value).__name__}, which is not JSON: synergia stores a "
        "LangChain message's fields as JSON",
        field="messages",
    )


# ---------------------------------------------------------------- blocks -> parts


def _info(part: Part) -> dict[str, Any]:
    info = part.meta.get(KEY)
    return info if isinstance(info, dict) else {}


def _meta(block: Mapping[str, Json], used: Sequence[str], **info: Json) -> dict[str, Json]:
    """A part's ``meta``: the block's keys no field holds, and how to rebuild it."""
    rest = {key: value for key, value in block.items() if key not in used}
    if rest:
        info["rest"] = rest
    return {KEY: info} if info else {}


def _guess_mime(uri: str, kind: str) -> str:
    """A media type for a URI that came without one (never sent back)."""
    if uri.startswith("data:"):
        return uri[5:].partition(",")[0].split(";")[0] or "text/plain"
    guess = mimetypes.guess_type(urllib.parse.urlsplit(uri).path)[0]
    if guess is not None and (kind == "file" or guess.startswith(f"{kind}/")):
        return guess
    return "application/octet-stream" if kind == "file" else f"{kind}/*"


def _media(kind: str, uri: str, mime: str, info: dict[str, Json], block: Any, used: Any) -> Part:
    meta = _meta(block, used, **info)
    if kind == "image":
        return ImagePart(uri=uri, mime_type=mime, meta=meta)
    return FilePart(uri=uri, mime_type=mime, meta=meta)


def _media_part(block: dict[str, Json]) -> Part | None:
    """v1 (``url`` / ``base64``) and v0 (``source_type``) image, file, audio and
    video blocks."""
    kind = str(block["type"])
    v0 = "source_type" in block
    source = block.get("source_type") if v0 else ("url" if "url" in block else "base64")
    key = ("url" if source == "url" else "data") if v0 else source
    value, mime = block.get(str(key)), block.get("mime_type")
    if source not in ("url", "base64") or not isinstance(value, str):
        return None
    info: dict[str, Json] = {"shape": f"{'v0:' if v0 else ''}{kind}.{source}"}
    used = ["type", "source_type", str(key), "mime_type"]
    if source == "base64":
        if not isinstance(mime, str):
            return None
        return _media(kind, f"data:{mime};base64,{value}", mime, info, block, used)
    if not isinstance(mime, str):
        mime = _guess_mime(value, kind)
        info["guessed"] = True
    return _media(kind, value, mime, info, block, used)


def _image_url_part(block: dict[str, Json]) -> Part | None:
    image = block.get("image_url")
    if isinstance(image, str):
        meta = _meta(block, ("type", "image_url"), shape="image_url.str")
        return ImagePart(uri=image, mime_type=_guess_mime(image, "image"), meta=meta)
    if not isinstance(image, dict) or not isinstance(image.get("url"), str):
        return None
    url = str(image["url"])
    detail = image.get("detail")
    inner_used = ["url", "detail"] if detail in ("auto", "low", "high") else ["url"]
    inner = {key: value for key, value in image.items() if key not in inner_used}
    info: dict[str, Json] = {"shape": "image_url"}
    rest = {key: value for key, value in block.items() if key not in ("type", "image_url")}
    if inner:
        rest["image_url"] = inner
    if rest:
        info["rest"] = rest
    return ImagePart(
        uri=url,
        mime_type=_guess_mime(url, "image"),
        detail=detail if "detail" in inner_used else None,
        meta={KEY: info},
    )


def _reasoning_part(block: dict[str, Json], provider: str | None) -> Part | None:
    kind = block.get("type")
    if kind == "thinking" and isinstance(block.get("thinking"), str):
        signature = block.get("signature")
        used = (
            ["type", "thinking", "signature"]
            if isinstance(signature, str)
            else ["type", "thinking"]
        )
        return ReasoningPart(
            text=str(block["thinking"]),
            signature=signature if isinstance(signature, str) else None,
            provider="anthropic",
            meta=_meta(block, used, shape="thinking"),
        )
    if kind == "redacted_thinking" and isinstance(block.get("data"), str):
        return ReasoningPart(
            encrypted=str(block["data"]),
            redacted=True,
            provider="anthropic",
            meta=_meta(block, ("type", "data"), shape="redacted_thinking"),
        )
    if kind != "reasoning":
        return None
    fields: dict[str, Any] = {"provider": provider}
    used = ["type"]
    for key, field in (("reasoning", "text"), ("id", "id")):
        if isinstance(block.get(key), str) and block[key]:  # "" stays in the rest
            fields[field] = block[key]
            used.append(key)
    if isinstance(block.get("encrypted_content"), str):
        fields["encrypted"] = block["encrypted_content"]
        used.append("encrypted_content")
    rest_block = dict(block)
    extras = block.get("extras")
    if isinstance(extras, dict) and isinstance(extras.get("signature"), str):
        fields["signature"] = extras["signature"]
        rest_block["extras"] = {key: value for key, value in extras.items() if key != "signature"}
    return ReasoningPart(**fields, meta=_meta(rest_block, used, shape="reasoning"))


def _typed_part(block: Json, role: Role, provider: str | None) -> Part | None:
    if isinstance(block, str):
        return TextPart(text=block, meta={KEY: {"shape": "str"}})
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        return TextPart(text=str(block["text"]), meta=_meta(block, ("type", "text")))
    if kind == "image_url":
        return _image_url_part(block)
    if kind in _MEDIA and "source" not in block:
        return _media_part(block)
    if role is Role.assistant:
        return _reasoning_part(block, provider)
    return None


def _block_part(block: Json, role: Role, provider: str | None) -> Part:
    """The typed part of a content block when it gives the same block back,
    else a raw part holding the block."""
    try:
        part = _typed_part(block, role, provider)
    except ValidationError:
        part = None
    if part is not None and part_block(part) == block:
        return part
    return RawPart(provider=KEY, data=block)


# ---------------------------------------------------------------- parts -> blocks


def _reasoning_block(part: ReasoningPart, shape: object, rest: dict[str, Any]) -> dict[str, Any]:
    if shape == "redacted_thinking" or (shape is None and part.redacted):
        return {**rest, "type": "redacted_thinking", "data": part.encrypted or ""}
    if shape == "thinking" or (shape is None and part.provider == "anthropic"):
        signed = {} if part.signature is None else {"signature": part.signature}
        return {**rest, "type": "thinking", "thinking": part.text, **signed}
    block = {**rest, "type": "reasoning"}
    for key, value in (("reasoning", part.text), ("id", part.id)):
        if value:
            block[key] = value
    if part.encrypted is not None:
        block["encrypted_content"] = part.encrypted
    if part.signature is not None:
        extras = rest.get("extras")
        block["extras"] = {
            **(extras if isinstance(extras, dict) else {}),
            "signature": part.signature,
        }
    return block


def _media_block(part: ImagePart | FilePart, shape: object, info: dict[str, Any]) -> Json:
    rest = info.get("rest") or {}
    if shape == "image_url.str":
        return {**rest, "type": "image_url", "image_url": part.uri}
    if shape == "image_url" or (shape is None and isinstance(part, ImagePart) and part.detail):
        detail = {"detail": part.detail} if isinstance(part, ImagePart) and part.detail else {}
        inner = rest.get("image_url") or {}
        return {**rest, "type": "image_url", "image_url": {**inner, "url": part.uri, **detail}}
    if isinstance(shape, str) and "." in shape:
        form, _, source = shape.rpartition(".")
        v0, kind = form.startswith("v0:"), form.removeprefix("v0:")
    else:  # a part of another writer: a v1 block
        kind = "image" if isinstance(part, ImagePart) else part.mime_type.partition("/")[0]
        kind = kind if kind in _MEDIA else "file"
        v0, source = False, "url"
        if part.uri.startswith(f"data:{part.mime_type};base64,"):
            source = "base64"
        elif part.uri.startswith("file-id:"):
            return {"type": kind, "file_id": part.uri.split(":", 2)[-1]}
    block: dict[str, Any] = {**rest, "type": kind}
    if v0:
        block["source_type"] = source
    if source == "base64":
        block["data" if v0 else "base64"] = part.uri.partition(";base64,")[2]
        block["mime_type"] = part.mime_type
        return block
    block["url"] = part.uri
    if not info.get("guessed"):
        block["mime_type"] = part.mime_type
    return block


def part_block(part: Part) -> Json:
    """The LangChain content block of a part (of ours or of any other writer)."""
    info = _info(part)
    shape = info.get("shape")
    rest = info.get("rest") or {}
    if isinstance(part, TextPart):
        return part.text if shape == "str" else {**rest, "type": "text", "text": part.text}
    if isinstance(part, ReasoningPart):
        return _reasoning_block(part, shape, rest)
    if isinstance(part, (ImagePart, FilePart)):
        return _media_block(part, shape, info)
    if isinstance(part, RawPart):
        return part.data if part.provider == KEY else {"type": "non_standard", "value": part.data}
    if isinstance(part, ToolCallPart):
        return {"type": "tool_call", "id": part.id, "name": part.name, "args": part.arguments}
    return {"type": "non_standard", "value": {"tool_result": part.call_id}}  # never in content


# ---------------------------------------------------------------- messages -> drafts


@dataclass(frozen=True)
class Draft:
    """A LangChain message converted, before its model is resolved."""

    role: Role
    parts: list[Part]
    metadata: dict[str, Json]
    model_name: str | None
    provider: str | None
    usage: Usage | None

    def create(self, model_id: uuid.UUID | None) -> MessageCreate:
        """The message to add; its usage only when its model is known."""
        usage = self.usage if model_id is not None else None
        return MessageCreate(
            role=self.role,
            parts=self.parts,
            metadata=self.metadata,
            model_id=model_id,
            usage=usage,
        )


def _role(message: BaseMessage) -> Role:
    if isinstance(message, (ToolMessage, FunctionMessage)):
        return Role.tool
    if isinstance(message, AIMessage):
        return Role.assistant
    if isinstance(message, SystemMessage):
        return Role.system
    if isinstance(message, ChatMessage):
        return _CHAT_ROLES.get(message.role.lower(), Role.user)
    return Role.user


def _fields(message: BaseMessage, mapped: set[str]) -> dict[str, Json]:
    """The message's fields no part holds, those that differ from their defaults."""
    fields: dict[str, Json] = {}
    for name, field in type(message).model_fields.items():
        if name in mapped:
            continue
        value = getattr(message, name)
        if field.is_required() or value != field.get_default(call_default_factory=True):
            fields[name] = _json(value, name)
    for name, value in (message.model_extra or {}).items():
        fields[name] = _json(value, name)
    return fields


def _usage(usage: Mapping[str, Any] | None) -> Usage | None:
    """LangChain ``usage_metadata`` as a :class:`Usage` (``None`` when absent or unusable)."""
    if not usage:
        return None

    def count(source: object, key: str) -> int:
        value = source.get(key) if isinstance(source, Mapping) else None
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    inputs, outputs = usage.get("input_token_details"), usage.get("output_token_details")
    one_hour = count(inputs, "ephemeral_1h_input_tokens")
    # langchain-anthropic zeroes ``cache_creation`` when it splits it by lifetime.
    split = count(inputs, "ephemeral_5m_input_tokens") + one_hour
    try:
        return Usage(
            input_tokens=count(usage, "input_tokens"),
            output_tokens=count(usage, "output_tokens"),
            cache_read_tokens=count(inputs, "cache_read"),
            cache_write_tokens=split or count(inputs, "cache_creation"),
            cache_write_1h_tokens=one_hour,
            reasoning_tokens=count(outputs, "reasoning"),
        )
    except ValidationError:
        logger.warning("usage_metadata %r is inconsistent; recording its totals only", usage)
    try:
        return Usage(
            input_tokens=count(usage, "input_tokens"), output_tokens=count(usage, "output_tokens")
        )
    except ValidationError:  # counts beyond what a Usage holds: kept in metadata only
        logger.warning("usage_metadata %r is out of range; not recorded as usage", usage)
        return None


def _tool_result(message: ToolMessage | FunctionMessage, is_list: bool) -> ToolResultPart:
    call_id = message.tool_call_id if isinstance(message, ToolMessage) else message.name
    if not isinstance(call_id, str) or not 1 <= len(call_id) <= 1024:
        raise InvalidInputError(
            f"a {message.type} message needs a tool_call_id of 1 to 1024 characters, "
            f"not {call_id!r}",
            field="messages",
        )
    name = message.name if message.name and len(message.name) <= 255 else None
    is_error = isinstance(message, ToolMessage) and message.status == "error"
    if not is_list:
        return ToolResultPart(call_id=call_id, output=message.content, is_error=is_error, name=name)
    blocks = [_json(block, f"content[{i}]") for i, block in enumerate(message.content)]
    parts = [_block_part(block, Role.tool, None) for block in blocks]
    if all(isinstance(part, (TextPart, ImagePart, FilePart)) for part in parts):
        return ToolResultPart(call_id=call_id, output=parts, is_error=is_error, name=name)
    text = "".join(part.text for part in parts if isinstance(part, TextPart))
    meta: dict[str, Json] = {KEY: {"content": blocks}}
    return ToolResultPart(call_id=call_id, output=text, is_error=is_error, name=name, meta=meta)


def _call_part(call: Mapping[str, Any]) -> Part:
    try:
        return ToolCallPart(id=call["id"], name=call["name"], arguments=_json(call["args"], "args"))
    except ValidationError:  # no id, or a name no tool-call part takes
        data = _json({key: call[key] for key in ("name", "args", "id")}, "tool_calls")
        return RawPart(provider=KEY, data=data, meta={KEY: {"shape": "tool_call"}})


def to_draft(message: object) -> Draft:
    """Convert one LangChain message (no I/O).

    Raises:
        InvalidInputError: Not a LangChain message of a known type, or a
            field holds a value that is not JSON.
    """
    if not isinstance(message, BaseMessage) or message.type not in _CLASSES:
        raise InvalidInputError(
            f"expected LangChain messages, got {type(message).__name__}"
            + (f" of type {message.type!r}" if isinstance(message, BaseMessage) else ""),
            field="messages",
        )
    role = _role(message)
    metadata_info: dict[str, Json] = {"type": message.type}
    is_list = isinstance(message.content, list)
    if is_list:
        metadata_info["list"] = True
    hints = message.response_metadata
    name = hints.get("model_name")
    provider = hints.get("model_provider")
    provider = provider if isinstance(provider, str) and provider else None
    mapped = {"content", "type"}
    parts: list[Part]
    if isinstance(message, (ToolMessage, FunctionMessage)):
        parts = [_tool_result(message, is_list)]
        if isinstance(message, ToolMessage):
            mapped |= {"tool_call_id", "status"}
    else:
        reasoning_provider = PROVIDERS.get(provider or "", provider)
        if isinstance(message.content, str):
            parts = [TextPart(text=message.content)] if message.content else []
        else:
            parts = [
                _block_part(_json(block, f"content[{i}]"), role, reasoning_provider)
                for i, block in enumerate(message.content)
            ]
            if parts == [TextPart(text="")]:  # stored as "no text" unless marked
                parts = [TextPart(text="", meta={KEY: {"shape": "text"}})]
        if isinstance(message, AIMessage):
            parts.extend(_call_part(call) for call in message.tool_calls)
            mapped.add("tool_calls")
    fields = _fields(message, mapped)
    if fields:
        metadata_info["fields"] = fields
    is_ai = isinstance(message, AIMessage)
    return Draft(
        role=role,
        parts=parts,
        metadata={KEY: metadata_info},
        model_name=name if is_ai and isinstance(name, str) and name else None,
        provider=provider,
        usage=_usage(message.usage_metadata) if isinstance(message, AIMessage) else None,
    )


# ---------------------------------------------------------------- messages read -> LangChain


def _is_call(part: Part) -> bool:
    return isinstance(part, ToolCallPart) or (
        isinstance(part, RawPart) and _info(part).get("shape") == "tool_call"
    )


def _calls(parts: Sequence[Part]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Tool calls and (unparsed arguments) invalid tool calls of parts."""
    calls: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, RawPart) and _is_call(part) and isinstance(part.data, dict):
            calls.append(dict(part.data))
        elif isinstance(part, ToolCallPart) and isinstance(part.arguments, str):
            invalid.append(
                {"name": part.name, "args": part.arguments, "id": part.id, "error": None}
            )
        elif isinstance(part, ToolCallPart):
            calls.append({"name": part.name, "args": part.arguments, "id": part.id})
    return calls, invalid


def _tool_content(part: ToolResultPart) -> str | list[Any]:
    kept = _info(part).get("content")
    if isinstance(kept, list):
        return kept
    if isinstance(part.output, str):
        return part.output
    if isinstance(part.output, list):
        blocks = [
            part_block(item)
            for item in part.output
            if isinstance(item, (TextPart, ImagePart, FilePart))
        ]
        if len(blocks) == len(part.output):
            return blocks
    return json.dumps(part.output, ensure_ascii=False)


def _ours(read: MessageRead, info: dict[str, Any]) -> BaseMessage:
    """Rebuild a message this integration stored."""
    cls = _CLASSES[info["type"]]
    fields = dict(info.get("fields") or {})
    is_list = info.get("list") is True
    if issubclass(cls, (ToolMessage, FunctionMessage)):
        (result,) = read.parts  # ValueError unless one part
        if not isinstance(result, ToolResultPart):
            raise TypeError(f"a {cls.__name__} holds a tool result, not {result.type}")
        content = _tool_content(result)
        if issubclass(cls, ToolMessage):
            fields["tool_call_id"] = result.call_id
            if result.is_error:
                fields["status"] = "error"
        return cls(content=content, **fields)
    body = [part for part in read.parts if not _is_call(part)]
    if is_list:
        content = [part_block(part) for part in body]
    else:
        content = "".join(part.text for part in body if isinstance(part, TextPart))
    if issubclass(cls, AIMessage):
        fields["tool_calls"], _ = _calls([part for part in read.parts if _is_call(part)])
    return cls(content=content, **fields)


def _foreign_usage(read: MessageRead) -> dict[str, Any] | None:
    if not (read.input_tokens or read.output_tokens):
        return None
    usage: dict[str, Any] = {
        "input_tokens": read.input_tokens,
        "output_tokens": read.output_tokens,
        "total_tokens": read.input_tokens + read.output_tokens,
    }
    if read.cache_read_tokens or read.cache_write_tokens:
        usage["input_token_details"] = {
            "cache_read": read.cache_read_tokens,
            "cache_creation": read.cache_write_tokens,
        }
    if read.reasoning_tokens:
        usage["output_token_details"] = {"reasoning": read.reasoning_tokens}
    return usage


def _foreign(read: MessageRead) -> list[BaseMessage]:
    """A message some other writer stored (``sy.messages.add``, a stream)."""
    message_id = str(read.id)
    if read.role is Role.tool:
        results = [part for part in read.parts if isinstance(part, ToolResultPart)]
        return [
            ToolMessage(
                content=_tool_content(part),
                tool_call_id=part.call_id,
                status="error" if part.is_error else "success",
                name=part.name,
                id=message_id if len(results) == 1 else f"{message_id}:{index}",
            )
            for index, part in enumerate(results)
        ]
    body = [part for part in read.parts if not isinstance(part, (ToolCallPart, ToolResultPart))]
    content: str | list[Any]
    if all(isinstance(part, TextPart) for part in body):
        content = "".join(part.text for part in body if isinstance(part, TextPart))
    else:
        content = [part_block(part) for part in body]
    if read.role is Role.assistant:
        calls, invalid = _calls(read.parts)
        return [
            AIMessage(
                content=content,
                tool_calls=calls,
                invalid_tool_calls=invalid,
                usage_metadata=_foreign_usage(read),
                id=message_id,
            )
        ]
    cls = SystemMessage if read.role is Role.system else HumanMessage
    return [cls(content=content, id=message_id)]


def read_messages(reads: Sequence[MessageRead]) -> list[BaseMessage]:
    """The LangChain messages of stored messages, in order."""
    messages: list[BaseMessage] = []
    for read in reads:
        info = read.metadata.get(KEY)
        if isinstance(info, dict) and info.get("type") in _CLASSES:
            try:
                messages.append(_ours(read, info))
                continue
            except (ValueError, TypeError):  # altered since (an edit): read its parts
                logger.warning(
                    "message %s: its LangChain fields do not fit; read as parts", read.id
                )
        messages.extend(_foreign(read))
    return messages
