"""Anthropic Messages API (``format="anthropic"``).

In: a ``Message`` (SDK object or dict) as a message
(:meth:`AnthropicFormat.message`); its ``Usage`` (:meth:`AnthropicFormat.usage`,
:func:`usage_from_anthropic`); the raw Messages stream events
(:class:`AnthropicStream`). Out: ``context(format="anthropic")``,
``{"system": str, "messages": [MessageParam, ...]}``, ready for
``client.messages.create(model=..., max_tokens=..., system=..., messages=...)``.

How replies become parts (content blocks in order):

* ``text`` -> :class:`~synergia_core.parts.TextPart` (its ``citations`` in
  ``meta["citations"]``);
* ``thinking`` -> :class:`~synergia_core.parts.ReasoningPart` (``text``,
  ``signature`` byte for byte, ``provider="anthropic"``);
  ``redacted_thinking`` -> a ``ReasoningPart`` with ``encrypted`` = its
  ``data`` and ``redacted=True``;
* ``tool_use`` -> :class:`~synergia_core.parts.ToolCallPart` (``input`` as
  ``arguments``; ``caller`` and ``toolset_name`` in ``meta``);
* every other block (``server_tool_use``, ``web_search_tool_result``,
  ``web_fetch_tool_result``, ``code_execution_tool_result``, ``mcp_tool_use``,
  ``container_upload`` ...) -> :class:`~synergia_core.parts.RawPart`
  (``provider="anthropic"``, the block as JSON, null fields left out: the
  API treats them as absent);
* ``metadata["anthropic"]`` = ``{"id", "model", "stop_reason",
  "stop_sequence"}`` (plus ``container`` and ``stop_details`` when the reply
  has them).

What rendering carries, and what it drops:

* The chat's system prompt and the thread's system messages (their text),
  joined with blank lines, as ``system``; turns alternate (consecutive turns
  of one role are merged into one).
* User turns: text; images as ``image`` blocks (https/http URIs as ``url``
  sources, ``data:`` URIs as ``base64`` sources, ``file-id:anthropic:<id>``
  as ``file`` sources); PDFs as ``document`` blocks (``url``, ``base64`` or
  ``file`` sources) and ``text/*`` files as plain-text documents (their
  ``name`` as the document ``title``).
* Assistant turns: text (with its citations), ``thinking`` blocks with their
  signature and ``redacted_thinking`` blocks, byte for byte and in stored
  order, but always before the message's ``tool_use`` blocks; tool calls as
  ``tool_use`` blocks; this provider's raw blocks as they were stored.
* Tool results as ``tool_result`` blocks opening the next user turn
  (``is_error`` kept; the output as a string, or as text, image and document
  blocks when it is a list of parts; other JSON values dumped as text).
* Dropped: reasoning of other providers, and Anthropic thinking without a
  signature (the API refuses both); raw parts of other providers; images and
  files on assistant and system messages; empty text; images in formats the
  API does not take (only JPEG, PNG, GIF and WebP), files that are neither
  PDF nor text (audio, office documents ...); references the API cannot
  fetch (``s3://``, other providers' file ids, text documents behind a URL)
  unless ``resolve_uri`` inlines them; tool-call arguments that are not a
  JSON object (sent as ``{}``: the API takes only objects); a leading
  assistant turn and tool results that answer no ``tool_use`` of the turn
  before them (both would be refused).

Streamed replies: ``message_start`` (id, model, input and cache usage),
``content_block_start`` / ``content_block_delta`` (``text_delta``,
``thinking_delta``, ``signature_delta``, ``input_json_delta``,
``citations_delta``) / ``content_block_stop`` per block index, and
``message_delta`` (stop reason, output usage); an ``error`` event fails the
reply (:meth:`AnthropicStream.error`). Other events (``ping``, the SDK
helper stream's ``text``, ``thinking`` ... events) are ignored.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import JsonValue
from pydantic_core import to_jsonable_python

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
from synergia_core.providers import ResolveUri, as_mapping
from synergia_core.providers._media import encode_base64, inline_bytes, is_remote
from synergia_core.providers.openai_chat import parse_arguments
from synergia_core.schemas import MessageCreate, MessageRead, Role, Usage

__all__ = ["FORMAT", "AnthropicFormat", "AnthropicStream", "usage_from_anthropic"]

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


# ----------------------------------------------------------------------------- helpers


def _get(value: Any, key: str) -> Any:
    """``value[key]`` of a mapping or ``value.key`` of an SDK object (``None``
    when missing): reads stream events without dumping them."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value.get(key)
    return getattr(value, key, None)


def _plain(value: Any) -> JsonValue:
    """An SDK object or dict as plain JSON, null fields of objects left out
    (the API treats a null field as an absent one; see :func:`_drop_nulls`)."""
    return _drop_nulls(to_jsonable_python(value))


def _drop_nulls(value: Any) -> JsonValue:
    """``value`` without its null fields, except the citation titles, which
    the request requires even when null."""
    if isinstance(value, dict):
        return {
            str(k): _drop_nulls(v)
            for k, v in value.items()
            if v is not None or k in _NULLABLE_CITATION_FIELDS
        }
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    result: JsonValue = value
    return result


def usage_from_anthropic(payload: Any) -> Usage:
    """A :class:`~synergia_core.Usage` from an Anthropic usage report.

    Anthropic's ``input_tokens`` excludes the cache: ``cache_read_input_tokens``
    and ``cache_creation_input_tokens`` are added to it to get the whole
    prompt. ``cache_creation.ephemeral_1h_input_tokens`` is the part of the
    cache writes that went to the one-hour cache (priced apart).
    ``output_tokens_details.thinking_tokens`` (when reported) is the
    reasoning part of ``output_tokens``.

    Raises:
        pydantic.ValidationError: The counts are missing or inconsistent.
    """
    data = as_mapping(payload)
    cache_read = data.get("cache_read_input_tokens") or 0
    cache_write = data.get("cache_creation_input_tokens") or 0
    input_tokens = data.get("input_tokens")
    if (
        isinstance(input_tokens, int)
        and isinstance(cache_read, int)
        and isinstance(cache_write, int)
    ):
        input_tokens = input_tokens + cache_read + cache_write
    reasoning = as_mapping(data.get("output_tokens_details")).get("thinking_tokens") or 0
    output_tokens = data.get("output_tokens")
    if isinstance(reasoning, int) and isinstance(output_tokens, int):
        reasoning = min(reasoning, output_tokens)  # an estimate: never past the total
    one_hour = as_mapping(data.get("cache_creation")).get("ephemeral_1h_input_tokens") or 0
    return Usage.model_validate(
        {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write,
            "reasoning_tokens": reasoning,
            "cache_write_1h_tokens": one_hour,
        }
    )


def _reply_details(data: Mapping[str, Any]) -> dict[str, JsonValue]:
    """The ``metadata["anthropic"]`` of a ``Message`` (or a ``message_delta``)."""
    details: dict[str, JsonValue] = {
        key: data.get(key) for key in ("id", "model", "stop_reason", "stop_sequence")
    }
    for key in ("container", "stop_details"):
        if data.get(key) is not None:
            details[key] = _plain(data[key])
    return details


def _tool_meta(block: Mapping[str, Any]) -> dict[str, JsonValue]:
    """The fields of a ``tool_use`` block that no common field holds."""
    return {key: _plain(block[key]) for key in ("caller", "toolset_name") if block.get(key)}


def _arguments(value: Any) -> dict[str, JsonValue] | str:
    """A ``tool_use`` input as arguments: an object as it is, a string parsed."""
    if isinstance(value, str):
        return parse_arguments(value)
    plain = _plain(value) if value is not None else {}
    return plain if isinstance(plain, dict) else {}


def _block_part(block: Mapping[str, Any]) -> Part:
    """One content block of a reply as a part (see the module docstring)."""
    kind = block.get("type")
    if kind == "text":
        citations = _plain(block.get("citations") or [])
        meta: dict[str, JsonValue] = {"citations": citations} if citations else {}
        return TextPart(text=block.get("text") or "", meta=meta)
    if kind == "thinking":
        return ReasoningPart(
            text=block.get("thinking") or "",
            signature=block.get("signature") or None,
            provider=PROVIDER,
        )
    if kind == "redacted_thinking":
        return ReasoningPart(encrypted=block.get("data") or "", redacted=True, provider=PROVIDER)
    if kind == "tool_use":
        return ToolCallPart(
            id=block["id"],
            name=block["name"],
            arguments=_arguments(block.get("input")),
            meta=_tool_meta(block),
        )
    return RawPart(provider=PROVIDER, data=_plain(block))


# --------------------------------------------------------------------------- rendering


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


def _content_block(part: Part, resolve_uri: ResolveUri | None) -> dict[str, Any] | None:
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
    data = _drop_nulls(part.data)
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


def _tool_result_block(part: ToolResultPart, resolve_uri: ResolveUri | None) -> dict[str, Any]:
    content: str | list[dict[str, Any]] = result_text(part.output)
    output = part.output
    if isinstance(output, list) and all(
        isinstance(item, (TextPart, ImagePart, FilePart)) for item in output
    ):
        blocks = [
            rendered
            for item in output
            if isinstance(item, (TextPart, ImagePart, FilePart))
            and (rendered := _content_block(item, resolve_uri)) is not None
        ]
        content = blocks or content
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.call_id, "content": content}
    if part.is_error:
        block["is_error"] = True
    toolset = part.meta.get("toolset_name")
    if isinstance(toolset, str):
        block["toolset_name"] = toolset
    return block


def _assistant_blocks(message: MessageRead) -> list[dict[str, Any]]:
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


def _well_formed(turns: Sequence[tuple[str, list[dict[str, Any]]]]) -> list[dict[str, Any]]:
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


class AnthropicFormat:
    """The Messages API format (see the module docstring)."""

    name = "anthropic"
    user_first = True

    def message(self, payload: Any) -> MessageCreate:
        """A ``Message`` (SDK object or dict): its content blocks as parts, in
        order, with its usage and ``metadata["anthropic"]``."""
        data = as_mapping(payload)
        parts = [_block_part(as_mapping(block)) for block in data.get("content") or ()]
        usage = self.usage(data["usage"]) if data.get("usage") else None
        metadata: dict[str, JsonValue] = {PROVIDER: _reply_details(data)}
        return MessageCreate(role=Role.assistant, parts=parts, usage=usage, metadata=metadata)

    def usage(self, payload: Any) -> Usage:
        """A ``Usage`` (see :func:`usage_from_anthropic`)."""
        return usage_from_anthropic(payload)

    def render(
        self,
        system_prompt: str | None,
        messages: Sequence[MessageRead],
        *,
        resolve_uri: ResolveUri | None = None,
    ) -> dict[str, Any]:
        """``{"system": str, "messages": [MessageParam, ...]}`` (see the module
        docstring for what is carried and dropped). ``system`` is ``""`` when
        there is none (leave it out of the request then)."""
        system = [system_prompt] if system_prompt else []
        turns: list[tuple[str, list[dict[str, Any]]]] = []
        for message in messages:
            if message.role is Role.system:
                text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
                if text:
                    system.append(text)
                continue
            if message.role is Role.tool:
                blocks = [
                    _tool_result_block(part, resolve_uri)
                    for part in message.parts
                    if isinstance(part, ToolResultPart)
                ]
                turns.append(("user", blocks))
            elif message.role is Role.user:
                blocks = [
                    block
                    for part in message.parts
                    if (block := _content_block(part, resolve_uri)) is not None
                ]
                turns.append(("user", blocks))
            else:
                turns.append(("assistant", _assistant_blocks(message)))
        return {"system": "\n\n".join(system), "messages": _well_formed(turns)}

    def stream(self) -> AnthropicStream:
        """A new accumulator of raw Messages stream events."""
        return AnthropicStream()


# ----------------------------------------------------------------------------- streams


class _Block:
    """One content block being streamed."""

    __slots__ = ("citations", "data", "input", "parsed", "signature", "text")

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.text: list[str] = []
        self.signature: list[str] = []
        self.input: list[str] = []
        self.citations: list[JsonValue] = []
        self.parsed: dict[str, JsonValue] | str | None = None

    def stop(self) -> None:
        """The block is complete: parse its input once."""
        if self.input or "input" in self.data:
            self.parsed = self.arguments()

    def arguments(self) -> dict[str, JsonValue] | str:
        """The input: the JSON pieces joined and parsed (the raw text when it
        does not parse), or the start block's input when none came."""
        if self.parsed is not None:
            return self.parsed
        if self.input:
            return parse_arguments("".join(self.input))
        return _arguments(self.data.get("input"))

    def part(self, index: int) -> Part:
        kind = self.data.get("type")
        if kind == "text":
            citations = [*(self.data.get("citations") or ()), *self.citations]
            meta: dict[str, JsonValue] = {"citations": citations} if citations else {}
            return TextPart(text=(self.data.get("text") or "") + "".join(self.text), meta=meta)
        if kind == "thinking":
            signature = (self.data.get("signature") or "") + "".join(self.signature)
            return ReasoningPart(
                text=(self.data.get("thinking") or "") + "".join(self.text),
                signature=signature or None,
                provider=PROVIDER,
            )
        if kind == "tool_use":
            return ToolCallPart(
                id=self.data.get("id") or f"toolu_{index}",
                name=self.data.get("name") or "unknown",
                arguments=self.arguments(),
                meta=_tool_meta(self.data),
            )
        if "input" in self.data or self.input:  # server_tool_use, mcp_tool_use ...
            return RawPart(provider=PROVIDER, data={**self.data, "input": self.arguments()})
        return _block_part(self.data)


class AnthropicStream:
    """Assembles a streamed Messages reply from its raw events
    (``RawMessageStreamEvent``: SDK objects or dicts)."""

    def __init__(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self._usage: dict[str, Any] = {}
        self._details: dict[str, JsonValue] = {}
        self._error: str | None = None

    def feed(self, event: Any) -> tuple[str, str]:
        """Take one event; return the text and thinking it adds."""
        kind = _get(event, "type")
        if kind == "content_block_delta":
            return self._delta(_get(event, "index"), _get(event, "delta"))
        if kind == "content_block_start":
            data = as_mapping(_get(event, "content_block"))
            plain = _plain(data)
            block = _Block(plain if isinstance(plain, dict) else {})
            self._blocks[int(_get(event, "index") or 0)] = block
            if data.get("type") == "text":
                return data.get("text") or "", ""
            if data.get("type") == "thinking":
                return "", data.get("thinking") or ""
        elif kind == "content_block_stop":
            stopped = self._blocks.get(int(_get(event, "index") or 0))
            if stopped is not None:
                stopped.stop()
        elif kind == "message_start":
            message = as_mapping(_get(event, "message"))
            self._details.update(_reply_details(message))
            self._merge_usage(message.get("usage"))
        elif kind == "message_delta":
            delta = as_mapping(_get(event, "delta"))
            for key in ("stop_reason", "stop_sequence"):
                if key in delta:
                    self._details[key] = delta[key]
            for key in ("container", "stop_details"):
                if delta.get(key) is not None:
                    self._details[key] = _plain(delta[key])
            self._merge_usage(_get(event, "usage"))
        elif kind == "error":
            error = as_mapping(_get(event, "error"))
            name, text = error.get("type") or "error", error.get("message") or ""
            self._error = f"{name}: {text}" if text else str(name)
        return "", ""

    def _delta(self, index: Any, delta: Any) -> tuple[str, str]:
        kind = _get(delta, "type")
        block = self._blocks.get(int(index or 0))
        if block is None:  # a delta without its start: keep what it says anyway
            if kind in ("text_delta", "citations_delta"):
                block = _Block({"type": "text"})
            elif kind in ("thinking_delta", "signature_delta"):
                block = _Block({"type": "thinking"})
            else:
                return "", ""
            self._blocks[int(index or 0)] = block
        if kind == "text_delta":
            text: str = _get(delta, "text") or ""
            block.text.append(text)
            return text, ""
        if kind == "thinking_delta":
            thinking: str = _get(delta, "thinking") or ""
            block.text.append(thinking)
            return "", thinking
        if kind == "signature_delta":
            block.signature.append(_get(delta, "signature") or "")
        elif kind == "input_json_delta":
            block.input.append(_get(delta, "partial_json") or "")
        elif kind == "citations_delta":
            block.citations.append(_plain(_get(delta, "citation")))
        return "", ""

    def _merge_usage(self, usage: Any) -> None:
        """``message_start`` brings input and cache counts, ``message_delta``
        the (cumulative) output: later non-null counts win."""
        for key, value in as_mapping(usage).items():
            if value is not None:
                self._usage[key] = value

    def parts(self) -> list[Part]:
        """The blocks in index order (text, thinking with its signature, tool
        calls with their parsed input, server blocks as raw parts)."""
        return [self._blocks[index].part(index) for index in sorted(self._blocks)]

    def usage(self) -> Usage | None:
        """``message_start``'s usage merged with ``message_delta``'s."""
        if "input_tokens" not in self._usage or "output_tokens" not in self._usage:
            return None
        return usage_from_anthropic(self._usage)

    def metadata(self) -> dict[str, JsonValue]:
        """``{"anthropic": {"id", "model", "stop_reason", "stop_sequence"}}``."""
        return {PROVIDER: dict(self._details)} if self._details else {}

    def error(self) -> str | None:
        """The ``error`` event's ``"<type>: <message>"`` (``overloaded_error:
        Overloaded``), when the stream carried one. The SDK raises on such an
        event itself; a stream of dicts (a proxy, a replay) hands it through."""
        return self._error


FORMAT = AnthropicFormat()
"""The Messages API format, as the registry exposes it."""
