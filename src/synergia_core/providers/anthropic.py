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

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import JsonValue
from pydantic_core import to_jsonable_python

from synergia_core.parts import (
    Part,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from synergia_core.providers import ResolveUri, as_mapping
from synergia_core.providers._anthropic_render import (
    PROVIDER,
    assistant_blocks,
    content_block,
    drop_nulls,
    tool_result_block,
    well_formed,
)
from synergia_core.providers.openai_chat import parse_arguments
from synergia_core.schemas import MessageCreate, MessageRead, Role, Usage

__all__ = ["FORMAT", "AnthropicFormat", "AnthropicStream", "usage_from_anthropic"]

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
    return drop_nulls(to_jsonable_python(value))


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
                    tool_result_block(part, resolve_uri)
                    for part in message.parts
                    if isinstance(part, ToolResultPart)
                ]
                turns.append(("user", blocks))
            elif message.role is Role.user:
                blocks = [
                    block
                    for part in message.parts
                    if (block := content_block(part, resolve_uri)) is not None
                ]
                turns.append(("user", blocks))
            else:
                turns.append(("assistant", assistant_blocks(message)))
        return {"system": "\n\n".join(system), "messages": well_formed(turns)}

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
