"""OpenAI Chat Completions (``format="openai"``).

In: a ``ChatCompletion`` or a ``ChatCompletionMessage`` (SDK object or dict)
as a message (:meth:`ChatFormat.message`); a ``CompletionUsage``
(:meth:`ChatFormat.usage`); ``ChatCompletionChunk`` streams
(:class:`ChatStream`). Out: ``context(format="openai")``, a list of
``ChatCompletionMessageParam`` dicts.

What the format carries, and what rendering drops:

* text, images (``image_url``: https or ``data:`` URIs, with ``detail``),
  PDFs and other documents (``file``: ``file_data`` as a base64 ``data:``
  URI, or ``file_id`` for ``file-id:openai:<id>``), WAV and MP3 audio
  (``input_audio``) on user messages;
* assistant text, refusals and tool calls (arguments as the JSON string the
  API expects; unparseable arguments as they were emitted; custom tool calls,
  ``meta={"custom": True}``, as ``custom`` calls with their free-form input);
* tool results as ``tool`` messages (text only: images and files in a tool
  result are dropped, Chat Completions does not take them there).
* Dropped: reasoning (Chat Completions takes none back), images and files on
  assistant or system messages, references the API cannot fetch (``s3://``,
  other providers' file ids) unless ``resolve_uri`` inlines them, and raw
  parts (an audio reply's raw part is not sent back: its transcript is the
  reply's text part; Responses items have no place in this format).

Replies: text (``annotations`` in the part's ``meta``), refusals (a text
part with ``meta={"refusal": True}``), tool calls, the ``reasoning_content``
(or ``reasoning``) field of OpenAI-compatible servers as a reasoning part,
and audio replies (their transcript as text, the audio as a raw part).

Streamed replies: text deltas, ``reasoning_content`` deltas (sent by
OpenAI-compatible servers such as DeepSeek and vLLM), refusals, and
parallel tool calls whose arguments arrive in pieces by ``index``; usage
comes in the last chunk when the request sets ``stream_options=
{"include_usage": True}``.
"""

from __future__ import annotations

import json
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
from synergia_core.providers import ResolveUri, as_mapping
from synergia_core.providers._media import (
    data_uri,
    encode_base64,
    filename,
    inline_bytes,
    is_remote,
)
from synergia_core.schemas import MessageCreate, MessageRead, Role, Usage

__all__ = ["FORMAT", "ChatFormat", "ChatStream", "parse_arguments", "usage_from_openai"]

PROVIDER = "openai"
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/mp3": "mp3"}


def parse_arguments(raw: str | None) -> dict[str, JsonValue] | str:
    """Tool-call arguments as the JSON object they should be, or the raw
    text when the model emitted something else (kept, never dropped)."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, dict) else raw


def dump_arguments(arguments: dict[str, JsonValue] | str) -> str:
    """Arguments as the JSON string the API sends (raw text as it was)."""
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def usage_from_openai(payload: Any) -> Usage:
    """A :class:`~synergia_core.Usage` from an OpenAI usage report.

    Accepts the Chat Completions shape (``prompt_tokens``,
    ``completion_tokens``, ``prompt_tokens_details.cached_tokens``,
    ``completion_tokens_details.reasoning_tokens``) and the Responses shape
    (``input_tokens``, ``output_tokens``, ``input_tokens_details``,
    ``output_tokens_details``). OpenAI's prompt count already includes the
    cached tokens and the tokens written to the cache
    (``cache_write_tokens``).

    Raises:
        pydantic.ValidationError: The counts are missing or inconsistent.
    """
    data = as_mapping(payload)
    if "prompt_tokens" in data or "completion_tokens" in data:
        input_tokens, output_tokens = data.get("prompt_tokens"), data.get("completion_tokens")
        in_details = as_mapping(data.get("prompt_tokens_details"))
        out_details = as_mapping(data.get("completion_tokens_details"))
    else:
        input_tokens, output_tokens = data.get("input_tokens"), data.get("output_tokens")
        in_details = as_mapping(data.get("input_tokens_details"))
        out_details = as_mapping(data.get("output_tokens_details"))
    return Usage.model_validate(
        {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_tokens": in_details.get("cached_tokens") or 0,
            "cache_write_tokens": in_details.get("cache_write_tokens") or 0,
            "reasoning_tokens": out_details.get("reasoning_tokens") or 0,
        }
    )


def _data_uri(uri: str, mime_type: str, resolve_uri: ResolveUri) -> str | None:
    """``uri`` as a base64 ``data:`` URI: as it is, or fetched by
    ``resolve_uri``; ``None`` when neither works."""
    inlined = inline_bytes(uri, mime_type, resolve_uri)
    return None if inlined is None else data_uri(*inlined)


def _inline(uri: str, mime_type: str, resolve_uri: ResolveUri | None) -> str | None:
    """A URI the API can take: an http(s) or ``data:`` URI as it is, another
    reference inlined as a ``data:`` URI by ``resolve_uri``; ``None`` when
    neither works (the part is dropped)."""
    if is_remote(uri) or uri.startswith("data:"):
        return uri
    if resolve_uri is None:
        return None
    return _data_uri(uri, mime_type, resolve_uri)


def _user_content_part(part: Part, resolve_uri: ResolveUri | None) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        url = _inline(part.uri, part.mime_type, resolve_uri)
        if url is None:
            return None
        image: dict[str, Any] = {"url": url}
        if part.detail is not None:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    if isinstance(part, FilePart):
        if part.uri.startswith(f"file-id:{PROVIDER}:"):
            return {"type": "file", "file": {"file_id": part.uri.split(":", 2)[2]}}
        # Files go inline only: Chat Completions fetches no file URL itself.
        inlined = inline_bytes(part.uri, part.mime_type, resolve_uri)
        if inlined is None:
            return None
        mime_type, raw = inlined
        audio = _AUDIO_FORMATS.get(mime_type)
        if audio is not None:
            return {
                "type": "input_audio",
                "input_audio": {"data": encode_base64(raw), "format": audio},
            }
        verbatim = part.uri.startswith("data:") and ";base64," in part.uri
        file_data = part.uri if verbatim else data_uri(mime_type, raw)
        return {
            "type": "file",
            "file": {"file_data": file_data, "filename": filename(part.name, mime_type)},
        }
    return None


def _reasoning_field(data: Mapping[str, Any]) -> str:
    """The reasoning OpenAI-compatible servers add to a message or a delta
    (``reasoning_content``: DeepSeek, vLLM; ``reasoning``: OpenRouter)."""
    reasoning = data.get("reasoning_content") or data.get("reasoning") or ""
    return reasoning if isinstance(reasoning, str) else ""


def _tool_call(payload: Any) -> ToolCallPart:
    """A ``function`` or ``custom`` tool call of a reply (a custom call's
    free-form input is kept as the text it is, with ``meta={"custom": True}``)."""
    call = as_mapping(payload)
    if call.get("type") == "custom":
        custom = as_mapping(call.get("custom"))
        return ToolCallPart(
            id=call["id"],
            name=custom.get("name", ""),
            arguments=custom.get("input") or "",
            meta={"custom": True},
        )
    function = as_mapping(call.get("function"))
    return ToolCallPart(
        id=call["id"],
        name=function.get("name", ""),
        arguments=parse_arguments(function.get("arguments")),
    )


def _text(parts: Sequence[Part]) -> str:
    return "".join(p.text for p in parts if isinstance(p, TextPart) and not p.meta.get("refusal"))


class ChatFormat:
    """The Chat Completions format (see the module docstring)."""

    name = "openai"
    user_first = False

    def message(self, payload: Any) -> MessageCreate:
        """A ``ChatCompletion`` (its first choice) or a ``ChatCompletionMessage``."""
        data = as_mapping(payload)
        usage: Usage | None = None
        metadata: dict[str, JsonValue] = {}
        if "choices" in data:
            choices = data.get("choices") or []
            choice = as_mapping(choices[0]) if choices else {}
            if data.get("usage"):
                usage = self.usage(data["usage"])
            details = {
                key: data.get(key) for key in ("id", "model", "system_fingerprint") if data.get(key)
            }
            if choice.get("finish_reason"):
                details["finish_reason"] = choice["finish_reason"]
            if details:
                metadata[PROVIDER] = details
            data = as_mapping(choice.get("message"))
        parts: list[Part] = []
        reasoning = _reasoning_field(data)
        if reasoning:
            parts.append(ReasoningPart(text=reasoning, provider=PROVIDER))
        content = data.get("content")
        annotations = data.get("annotations")
        audio = as_mapping(data.get("audio"))
        if not content and audio.get("transcript"):
            content = audio["transcript"]  # an audio reply: its text is the transcript
        if content:
            meta: dict[str, JsonValue] = {"annotations": annotations} if annotations else {}
            parts.append(TextPart(text=content, meta=meta))
        if data.get("refusal"):
            parts.append(TextPart(text=data["refusal"], meta={"refusal": True}))
        parts += [_tool_call(call) for call in data.get("tool_calls") or ()]
        if audio:
            parts.append(RawPart(provider=PROVIDER, data={"audio": dict(audio)}))
        return MessageCreate(role=Role.assistant, parts=parts, usage=usage, metadata=metadata)

    def usage(self, payload: Any) -> Usage:
        """A ``CompletionUsage`` (see :func:`usage_from_openai`)."""
        return usage_from_openai(payload)

    def render(
        self,
        system_prompt: str | None,
        messages: Sequence[MessageRead],
        *,
        resolve_uri: ResolveUri | None = None,
    ) -> list[dict[str, Any]]:
        """``ChatCompletionMessageParam`` dicts, the system prompt first."""
        out: list[dict[str, Any]] = []
        if system_prompt:
            out.append({"role": "system", "content": system_prompt})
        for message in messages:
            if message.role is Role.tool:
                for part in message.parts:
                    if isinstance(part, ToolResultPart):
                        out.append(
                            {
                                "role": "tool",
                                "tool_call_id": part.call_id,
                                "content": result_text(part.output),
                            }
                        )
                continue
            if message.role is Role.system:
                out.append({"role": "system", "content": _text(message.parts)})
            elif message.role is Role.user:
                out.append(self._user(message, resolve_uri))
            else:
                out.append(self._assistant(message))
        return out

    @staticmethod
    def _user(message: MessageRead, resolve_uri: ResolveUri | None) -> dict[str, Any]:
        if all(isinstance(part, TextPart) for part in message.parts):
            return {"role": "user", "content": _text(message.parts)}
        content = [
            rendered
            for part in message.parts
            if (rendered := _user_content_part(part, resolve_uri)) is not None
        ]
        # The API refuses an empty content list (every part was dropped).
        return {"role": "user", "content": content or ""}

    @staticmethod
    def _assistant(message: MessageRead) -> dict[str, Any]:
        calls = [part for part in message.parts if isinstance(part, ToolCallPart)]
        text = _text(message.parts)
        item: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
        refusal = "".join(
            p.text for p in message.parts if isinstance(p, TextPart) and p.meta.get("refusal")
        )
        if refusal:
            item["refusal"] = refusal
        if calls:
            item["tool_calls"] = [_render_call(call) for call in calls]
        return item

    def stream(self) -> ChatStream:
        """A new accumulator of ``ChatCompletionChunk`` events."""
        return ChatStream()


def _render_call(call: ToolCallPart) -> dict[str, Any]:
    if call.meta.get("custom"):
        return {
            "id": call.id,
            "type": "custom",
            "custom": {"name": call.name, "input": dump_arguments(call.arguments)},
        }
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": dump_arguments(call.arguments)},
    }


class ChatStream:
    """Assembles a streamed Chat Completions reply (first choice)."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._refusal: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._usage: Usage | None = None
        self._details: dict[str, JsonValue] = {}

    def feed(self, event: Any) -> tuple[str, str]:
        """Take one ``ChatCompletionChunk``."""
        chunk = as_mapping(event)
        for key in ("id", "model", "system_fingerprint"):
            if chunk.get(key):
                self._details[key] = chunk[key]
        if chunk.get("usage"):
            self._usage = usage_from_openai(chunk["usage"])
        # With n > 1 each chunk carries the delta of one choice: keep the first's.
        choice = next(
            (
                choice
                for choice in map(as_mapping, chunk.get("choices") or ())
                if not choice.get("index")
            ),
            None,
        )
        if choice is None:
            return "", ""
        if choice.get("finish_reason"):
            self._details["finish_reason"] = choice["finish_reason"]
        delta: Mapping[str, Any] = as_mapping(choice.get("delta"))
        text = delta.get("content") or ""
        reasoning = _reasoning_field(delta)
        if text:
            self._text.append(text)
        if reasoning:
            self._reasoning.append(reasoning)
        if delta.get("refusal"):
            self._refusal.append(delta["refusal"])
        for piece in delta.get("tool_calls") or ():
            piece = as_mapping(piece)
            call = self._calls.setdefault(
                int(piece.get("index") or 0), {"id": "", "name": "", "arguments": []}
            )
            if piece.get("id"):
                call["id"] = piece["id"]
            function = as_mapping(piece.get("function"))
            if function.get("name"):
                call["name"] += function["name"]
            if function.get("arguments"):
                call["arguments"].append(function["arguments"])
        return text, reasoning

    def parts(self) -> list[Part]:
        """Reasoning, text, refusal, then the tool calls by index."""
        parts: list[Part] = []
        if self._reasoning:
            parts.append(ReasoningPart(text="".join(self._reasoning), provider=PROVIDER))
        if self._text:
            parts.append(TextPart(text="".join(self._text)))
        if self._refusal:
            parts.append(TextPart(text="".join(self._refusal), meta={"refusal": True}))
        for index in sorted(self._calls):
            call = self._calls[index]
            parts.append(
                ToolCallPart(
                    id=call["id"] or f"call_{index}",
                    name=call["name"] or "unknown",
                    arguments=parse_arguments("".join(call["arguments"])),
                )
            )
        return parts

    def usage(self) -> Usage | None:
        """The usage of the final chunk, if the request asked for it."""
        return self._usage

    def error(self) -> str | None:
        """Always ``None``: Chat Completions streams fail by raising."""
        return None

    def metadata(self) -> dict[str, JsonValue]:
        """``{"openai": {"id", "model", "finish_reason", ...}}``."""
        return {PROVIDER: dict(self._details)} if self._details else {}


FORMAT = ChatFormat()
"""The Chat Completions format, as the registry exposes it."""
