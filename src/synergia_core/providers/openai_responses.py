"""OpenAI Responses API (``format="openai-responses"``).

In: a ``Response`` (SDK object or dict) as a message
(:meth:`ResponsesFormat.message`), its output items as parts in order:

* ``message`` items: each ``output_text`` as a text part (its non-empty
  ``annotations`` in ``meta``), each ``refusal`` as a text part with
  ``meta={"refusal": True}``; the item's ``id``, ``status`` and ``phase``
  in every part's ``meta``, so the item can be sent back as it was;
* ``reasoning`` items as reasoning parts (``text``: the summaries joined by
  a blank line, or the ``reasoning_text`` content when there is no summary;
  ``encrypted``: ``encrypted_content``; ``id``: the item id; the item's
  other fields, such as ``status`` and ``content``, in ``meta``, and the
  summary list when the text alone cannot give it back);
* ``function_call`` items as tool calls (``id``: the ``call_id``; the item
  ``id``, ``status`` ... in ``meta``), and ``custom_tool_call`` items
  likewise with their free-form ``input`` as the arguments and
  ``meta["custom"] = True``;
* every other item (``web_search_call``, ``file_search_call``,
  ``computer_call``, ``mcp_call``, ``image_generation_call``,
  ``code_interpreter_call`` ...) as a raw part holding the item, and so
  does a ``message`` item with a content kind not listed above.

SDK objects are read as the SDK sends them back (``exclude_unset``), so a
raw part is the item the API returned (a ``model_dump()`` dict instead
holds every field the SDK knows, unset ones as ``null``, some of which the
API refuses in input: pass the object, or ``to_dict()``). Usage: ``ResponseUsage``
(:meth:`ResponsesFormat.usage`; ``cached_tokens`` as cache reads,
``reasoning_tokens`` as reasoning). Metadata: ``{"openai": {"id",
"model", "status", ...}}``.

Out: ``context(format="openai-responses")`` is ``{"instructions": system
prompt or None, "input": [items]}``, the items valid as
``ResponseInputParam``:

* the chat's system prompt is ``instructions``; a ``system`` message of
  the thread stays in its place as a ``system`` message (instructions in the
  middle of a conversation apply from there on);
* user messages as ``{"role": "user", "content": [...]}`` with
  ``input_text``, ``input_image`` (``image_url``: https or ``data:``
  URIs; ``file_id`` for ``file-id:openai:<id>``) and ``input_file``
  (``file_url`` for https, ``file_data`` for ``data:`` URIs, ``file_id``);
* assistant text and refusals as the output ``message`` item they came from
  (id, status, phase, annotations) when the item id is known, else as an
  assistant message with the text as a string;
* reasoning parts of OpenAI with an item id as ``reasoning`` items (id,
  summary, ``encrypted_content``); tool calls as ``function_call`` (or
  ``custom_tool_call``) items, arguments as a JSON string; tool results as
  ``function_call_output`` (or ``custom_tool_call_output``) items, their
  output a string or a list of ``input_text``/``input_image``/``input_file``;
* OpenAI raw parts holding a Responses item, sent back as that item.
* Dropped: reasoning of other providers or without an item id (the Chat
  Completions ``reasoning_content`` of compatible servers), images and files
  on assistant and system messages, audio files (Responses input takes
  none), references the API cannot fetch (``s3://``, other providers' file
  ids) unless ``resolve_uri`` inlines them, a tool result's ``is_error``
  flag (its output says it), and raw parts that are no Responses item.

Streams (:class:`ResponsesStream`): ``response.*`` events; text, refusal,
reasoning summary, reasoning text, function-call argument and custom-tool
input deltas are assembled per output item, ``response.output_item.done``
items replace what the deltas built, and the output of the final response
(``response.completed``, ``.incomplete`` or ``.failed``) replaces them all,
so ids, encrypted reasoning and statuses are exactly the API's.
"""

from __future__ import annotations

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
from synergia_core.providers._media import filename, is_remote
from synergia_core.providers.openai_chat import (
    _data_uri,
    _inline,
    dump_arguments,
    parse_arguments,
    usage_from_openai,
)
from synergia_core.schemas import MessageCreate, MessageRead, Role, Usage

__all__ = ["FORMAT", "ResponsesFormat", "ResponsesStream", "output_parts"]

PROVIDER = "openai"
_FILE_ID = f"file-id:{PROVIDER}:"
_SUMMARY_SEPARATOR = "\n\n"
_DETAILS = ("id", "model", "status", "service_tier", "previous_response_id")
_FINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")

# The fields of an item that ``meta`` may give back, by item type: only keys
# the API takes (a part converted from another provider keeps its own meta).
_SENT_BACK = {
    "reasoning": ("status", "content"),
    "function_call": ("id", "status", "namespace", "caller", "async"),
    "custom_tool_call": ("id", "namespace", "caller", "async"),
    "function_call_output": ("id", "status", "caller"),
    "custom_tool_call_output": ("id", "caller"),
}


def _json(value: Any) -> Any:
    """SDK objects (recursively) as the JSON the API sent: unset fields left
    out, field names as the API spells them (``async``)."""
    if isinstance(value, Mapping):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(item) for item in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _json(dump(mode="json", exclude_unset=True, by_alias=True))
    return value


def _meta(item: Mapping[str, Any], mapped: tuple[str, ...]) -> dict[str, JsonValue]:
    """The item's fields no common part field holds (``None`` left out)."""
    return {key: value for key, value in item.items() if key not in mapped and value is not None}


# ---------------------------------------------------------------------------------- in


def output_parts(items: Sequence[Any]) -> list[Part]:
    """The parts of a response's ``output`` items, in order (see the module
    docstring)."""
    parts: list[Part] = []
    for index, item in enumerate(_json(list(items))):
        parts += _item_parts(item, index)
    return parts


def _item_parts(item: dict[str, Any], index: int) -> list[Part]:
    kind = item.get("type")
    if kind == "message":
        parts = _message_parts(item)
        if parts is not None:
            return parts
    elif kind == "reasoning":
        return [_reasoning_part(item)]
    elif kind in ("function_call", "custom_tool_call"):
        # (parsed_arguments: what ``responses.parse`` adds, the arguments again)
        meta = _meta(item, ("type", "call_id", "name", "arguments", "input", "parsed_arguments"))
        arguments: dict[str, JsonValue] | str
        if kind == "custom_tool_call":
            arguments, meta["custom"] = item.get("input") or "", True
        else:
            arguments = parse_arguments(item.get("arguments"))
        return [
            ToolCallPart(
                # Only a stream cut short leaves these unknown.
                id=item.get("call_id") or item.get("id") or f"call_{index}",
                name=item.get("name") or "unknown",
                arguments=arguments,
                meta=meta,
            )
        ]
    return [RawPart(provider=PROVIDER, data=item)]


def _message_parts(item: dict[str, Any]) -> list[Part] | None:
    """The text parts of an output message; ``None`` when it holds content
    of a kind no part describes (then the item is kept raw)."""
    shared = _meta(item, ("type", "role", "content"))
    parts: list[Part] = []
    for content in item.get("content") or ():
        if content.get("type") == "output_text":
            meta = dict(shared)
            if content.get("annotations"):
                meta["annotations"] = content["annotations"]
            parts.append(TextPart(text=content.get("text") or "", meta=meta))
        elif content.get("type") == "refusal":
            parts.append(
                TextPart(text=content.get("refusal") or "", meta={**shared, "refusal": True})
            )
        else:
            return None
    return parts


def _reasoning_part(item: dict[str, Any]) -> ReasoningPart:
    summary = [entry.get("text") or "" for entry in item.get("summary") or ()]
    reasoning = [entry.get("text") or "" for entry in item.get("content") or ()]
    text = _SUMMARY_SEPARATOR.join(summary) if summary else "".join(reasoning)
    meta = _meta(item, ("type", "id", "summary", "encrypted_content"))
    if summary != _summary_of(text, meta):  # the text alone does not give it back
        meta["summary"] = summary
    return ReasoningPart(
        text=text,
        encrypted=item.get("encrypted_content"),
        id=item.get("id"),
        provider=PROVIDER,
        meta=meta,
    )


def _summary_of(text: str, meta: Mapping[str, Any]) -> list[str]:
    """The summary texts of a reasoning part: its ``meta["summary"]`` when
    kept, else its text as one summary (none when the text is empty or was
    the ``reasoning_text`` content)."""
    if "summary" in meta:
        return list(meta["summary"])
    return [text] if text and "content" not in meta else []


# --------------------------------------------------------------------------------- out


def _content(part: Part, resolve_uri: ResolveUri | None) -> dict[str, Any] | None:
    """A text, image or file part as an input content item; ``None`` when
    the API cannot take it."""
    if isinstance(part, TextPart):
        return {"type": "input_text", "text": part.text}
    if isinstance(part, ImagePart):
        image: dict[str, Any] = {"type": "input_image", "detail": part.detail or "auto"}
        if part.uri.startswith(_FILE_ID):
            return {**image, "file_id": part.uri[len(_FILE_ID) :]}
        url = _inline(part.uri, part.mime_type, resolve_uri)
        return None if url is None else {**image, "image_url": url}
    if isinstance(part, FilePart):
        if part.mime_type.startswith("audio/"):
            return None
        file: dict[str, Any] = {"type": "input_file"}
        if part.uri.startswith(_FILE_ID):
            return {**file, "file_id": part.uri[len(_FILE_ID) :]}
        if is_remote(part.uri):
            return {**file, "file_url": part.uri} | ({"filename": part.name} if part.name else {})
        uri = part.uri if part.uri.startswith("data:") else None
        if uri is None and resolve_uri is not None:
            uri = _data_uri(part.uri, part.mime_type, resolve_uri)
        if uri is None:
            return None
        return {**file, "file_data": uri, "filename": filename(part.name, part.mime_type)}
    return None


def _sent_back(kind: str, meta: Mapping[str, JsonValue]) -> dict[str, Any]:
    return {key: meta[key] for key in _SENT_BACK[kind] if meta.get(key) is not None}


def _text_items(run: list[TextPart]) -> dict[str, Any]:
    """Consecutive assistant text parts of one output item (or of none) as
    one input item."""
    meta = run[0].meta
    item_id = meta.get("id")
    if not isinstance(item_id, str):
        return {"role": "assistant", "content": "".join(part.text for part in run)}
    item: dict[str, Any] = {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": meta.get("status") or "completed",
        "content": [
            {"type": "refusal", "refusal": part.text}
            if part.meta.get("refusal")
            else {
                "type": "output_text",
                "text": part.text,
                "annotations": part.meta.get("annotations") or [],
            }
            for part in run
        ],
    }
    if meta.get("phase") is not None:
        item["phase"] = meta["phase"]
    return item


def _assistant_items(message: MessageRead) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    run: list[TextPart] = []
    for part in message.parts:
        if isinstance(part, TextPart):
            if run and run[0].meta.get("id") != part.meta.get("id"):
                items.append(_text_items(run))
                run = []
            run.append(part)
            continue
        if run:
            items.append(_text_items(run))
            run = []
        if isinstance(part, ReasoningPart):
            if part.provider == PROVIDER and part.id:
                summary = _summary_of(part.text, part.meta)
                items.append(
                    {
                        "type": "reasoning",
                        "id": part.id,
                        "summary": [{"type": "summary_text", "text": text} for text in summary],
                        **_sent_back("reasoning", part.meta),
                        **({"encrypted_content": part.encrypted} if part.encrypted else {}),
                    }
                )
        elif isinstance(part, ToolCallPart):
            kind, field = (
                ("custom_tool_call", "input")
                if part.meta.get("custom")
                else ("function_call", "arguments")
            )
            items.append(
                {
                    "type": kind,
                    "call_id": part.id,
                    "name": part.name,
                    field: dump_arguments(part.arguments),
                    **_sent_back(kind, part.meta),
                }
            )
        elif (raw := _raw_item(part)) is not None:
            items.append(raw)
    if run:
        items.append(_text_items(run))
    return items


def _raw_item(part: Part) -> dict[str, Any] | None:
    """An OpenAI raw part that holds a Responses item, as that item."""
    if (
        isinstance(part, RawPart)
        and part.provider == PROVIDER
        and isinstance(part.data, dict)
        and isinstance(part.data.get("type"), str)
    ):
        return dict(part.data)
    return None


def _output(output: Any, resolve_uri: ResolveUri | None) -> str | list[dict[str, Any]]:
    """A tool result's output: a string, or its text/image/file parts."""
    if (
        isinstance(output, list)
        and output
        and all(isinstance(item, (TextPart, ImagePart, FilePart)) for item in output)
    ):
        rendered = [
            content for item in output if (content := _content(item, resolve_uri)) is not None
        ]
        return rendered or ""
    return result_text(output)


class ResponsesFormat:
    """The Responses API format (see the module docstring)."""

    name = "openai-responses"
    user_first = False

    def message(self, payload: Any) -> MessageCreate:
        """A ``Response`` as an assistant message: its output items as parts,
        its usage, ``{"openai": {"id", "model", "status", ...}}`` as metadata."""
        data = _json(payload)
        if not isinstance(data, dict):
            raise TypeError(f"expected a Response or a dict, got {type(payload).__name__}")
        usage = self.usage(data["usage"]) if data.get("usage") else None
        details = _details(data)
        return MessageCreate(
            role=Role.assistant,
            parts=output_parts(data.get("output") or []),
            usage=usage,
            metadata={PROVIDER: details} if details else {},
        )

    def usage(self, payload: Any) -> Usage:
        """A ``ResponseUsage`` (see
        :func:`~synergia_core.providers.openai_chat.usage_from_openai`)."""
        return usage_from_openai(payload)

    def render(
        self,
        system_prompt: str | None,
        messages: Sequence[MessageRead],
        *,
        resolve_uri: ResolveUri | None = None,
    ) -> dict[str, Any]:
        """``{"instructions": system prompt or None, "input": [items]}``."""
        custom_calls = {
            part.id
            for message in messages
            for part in message.parts
            if isinstance(part, ToolCallPart) and part.meta.get("custom")
        }
        items: list[dict[str, Any]] = []
        for message in messages:
            if message.role is Role.assistant:
                items += _assistant_items(message)
            elif message.role is Role.tool:
                for part in message.parts:
                    if isinstance(part, ToolResultPart):
                        kind = (
                            "custom_tool_call_output"
                            if part.call_id in custom_calls
                            else "function_call_output"
                        )
                        items.append(
                            {
                                "type": kind,
                                "call_id": part.call_id,
                                "output": _output(part.output, resolve_uri),
                                **_sent_back(kind, part.meta),
                            }
                        )
            else:
                items += _input_items(message, resolve_uri)
        return {"instructions": system_prompt or None, "input": items}

    def stream(self) -> ResponsesStream:
        """A new accumulator of Responses stream events."""
        return ResponsesStream()


def _input_items(message: MessageRead, resolve_uri: ResolveUri | None) -> list[dict[str, Any]]:
    """A user or system message (and any OpenAI raw item it holds)."""
    if message.role is Role.system:
        text = "".join(part.text for part in message.parts if isinstance(part, TextPart))
        content: list[dict[str, Any]] = [{"type": "input_text", "text": text}] if text else []
    else:
        content = [
            rendered
            for part in message.parts
            if (rendered := _content(part, resolve_uri)) is not None
        ]
    raw = [item for part in message.parts if (item := _raw_item(part)) is not None]
    return ([{"role": message.role.value, "content": content}] if content else []) + raw


def _details(response: Mapping[str, Any]) -> dict[str, JsonValue]:
    """What a response says about itself, for the message's metadata."""
    details: dict[str, JsonValue] = {
        key: response[key] for key in _DETAILS if response.get(key) is not None
    }
    for key in ("incomplete_details", "error"):
        if response.get(key):
            details[key] = response[key]
    return details


# ------------------------------------------------------------------------------ stream

# delta event -> (item field, index field, content type, text key, item type)
_DELTAS: dict[str, tuple[str, str | None, str, str, str]] = {
    "response.output_text.delta": ("content", "content_index", "output_text", "text", "message"),
    "response.refusal.delta": ("content", "content_index", "refusal", "refusal", "message"),
    "response.reasoning_summary_text.delta": (
        "summary",
        "summary_index",
        "summary_text",
        "text",
        "reasoning",
    ),
    "response.reasoning_text.delta": (
        "content",
        "content_index",
        "reasoning_text",
        "text",
        "reasoning",
    ),
    "response.function_call_arguments.delta": ("arguments", None, "", "", "function_call"),
    "response.custom_tool_call_input.delta": ("input", None, "", "", "custom_tool_call"),
}


class _LiveItem:
    """One output item as announced, with the deltas that arrived for it
    (kept as pieces, joined once)."""

    def __init__(self, item: dict[str, Any]) -> None:
        self.item = item
        self.pieces: dict[tuple[str, int | None, str, str], list[str]] = {}

    def build(self) -> dict[str, Any]:
        item = dict(self.item)
        for (field, index, kind, key), pieces in self.pieces.items():
            text = "".join(pieces)
            if index is None:
                item[field] = (item.get(field) or "") + text
                continue
            entries = [dict(entry) for entry in item.get(field) or ()]
            entries += [{} for _ in range(index + 1 - len(entries))]
            entry = entries[index]
            entry.setdefault("type", kind)
            entry[key] = (entry.get(key) or "") + text
            if kind == "output_text":
                entry.setdefault("annotations", [])
            item[field] = [entry for entry in entries if entry]
        return item


class ResponsesStream:
    """Assembles a streamed Responses reply (see the module docstring)."""

    def __init__(self) -> None:
        self._live: dict[int, _LiveItem] = {}
        self._final: list[Any] | None = None
        self._usage: Usage | None = None
        self._details: dict[str, JsonValue] = {}

    def feed(self, event: Any) -> tuple[str, str]:
        """Take one stream event; return the text and reasoning it adds."""
        data = _json(event)
        kind = data.get("type") if isinstance(data, dict) else None
        if not isinstance(kind, str):
            return "", ""
        if kind in _DELTAS:
            return self._delta(data, *_DELTAS[kind])
        if kind in ("response.output_item.added", "response.output_item.done"):
            if isinstance(data.get("item"), dict):
                self._live[int(data.get("output_index") or 0)] = _LiveItem(data["item"])
        elif kind.startswith("response.") and isinstance(data.get("response"), dict):
            response = data["response"]  # created, in_progress, queued, and the final ones
            self._details.update(_details(response))
            if kind in _FINAL_EVENTS:
                if response.get("usage"):
                    self._usage = usage_from_openai(response["usage"])
                if response.get("output"):
                    self._final = list(response["output"])
        elif kind == "error":
            self._details["error"] = {
                key: data[key] for key in ("code", "message", "param") if data.get(key) is not None
            }
        return "", ""

    def _delta(
        self,
        event: dict[str, Any],
        field: str,
        index_field: str | None,
        content_type: str,
        key: str,
        item_type: str,
    ) -> tuple[str, str]:
        delta = event.get("delta") or ""
        if not isinstance(delta, str) or not delta:
            return "", ""
        live = self._live.get(int(event.get("output_index") or 0))
        if live is None:  # a delta without its item's announcement
            live = _LiveItem({"type": item_type, "id": event.get("item_id")})
            if item_type == "message":
                live.item.update(role="assistant", status="in_progress", content=[])
            self._live[int(event.get("output_index") or 0)] = live
        index = int(event.get(index_field) or 0) if index_field else None
        piece = (field, index, content_type, key)
        shown = delta
        if field == "summary" and index and piece not in live.pieces:
            shown = _SUMMARY_SEPARATOR + delta  # as the joined summaries read
        live.pieces.setdefault(piece, []).append(delta)
        if content_type == "output_text":
            return delta, ""
        if item_type == "reasoning":
            return "", shown
        return "", ""

    def parts(self) -> list[Part]:
        """The final response's output items as parts; before it arrives,
        the items as announced, done or assembled from their deltas."""
        if self._final is not None:
            return output_parts(self._final)
        return output_parts([self._live[index].build() for index in sorted(self._live)])

    def usage(self) -> Usage | None:
        """The usage of the final response, once it arrived."""
        return self._usage

    def metadata(self) -> dict[str, JsonValue]:
        """``{"openai": {"id", "model", "status", ...}}``, with ``error``
        when the stream reported one."""
        return {PROVIDER: dict(self._details)} if self._details else {}

    def error(self) -> str | None:
        """Why the reply failed (an ``error`` event, or a response that ended
        ``failed``), or ``None``."""
        error = self._details.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if self._details.get("status") == "failed":
            return "the response failed"
        return None


FORMAT = ResponsesFormat()
"""The Responses API format, as the registry exposes it."""
