"""Google Gemini ``generateContent`` (``format="gemini"``).

In: a ``GenerateContentResponse`` (its first candidate; SDK object, its
``model_dump()`` dict, or the REST JSON with camelCase keys) as a message
(:meth:`GeminiFormat.message`); a ``usage_metadata`` report
(:meth:`GeminiFormat.usage`); ``generate_content_stream`` chunks
(:class:`GeminiStream`). Out: ``context(format="gemini")``,
``{"system_instruction": ContentDict | None, "contents": [ContentDict]}``,
ready for ``client.models.generate_content(model=..., contents=rendered[
"contents"], config=types.GenerateContentConfig(system_instruction=rendered[
"system_instruction"]))``. Binary fields (``inline_data.data``,
``thought_signature``) are ``bytes``, as the SDK's types declare them.

Parts of a reply, in order:

* ``text`` with ``thought=True`` -> :class:`~synergia_core.ReasoningPart`
  (``provider="google"``), its ``thought_signature`` in ``encrypted`` as
  standard base64 (the SDK's bytes, kept byte for byte);
* other ``text`` -> :class:`~synergia_core.TextPart`;
* ``function_call`` -> :class:`~synergia_core.ToolCallPart` with the call's
  ``id``, or, when Gemini gave none, a generated id that is stable for the
  same reply (``meta["generated_id"] = True``: it is never sent back);
* ``inline_data`` -> :class:`~synergia_core.ImagePart` (``image/*``) or
  :class:`~synergia_core.FilePart` with a base64 ``data:`` URI;
  ``file_data`` -> the same with the file's URI;
* anything else (``executable_code``, ``code_execution_result``, server-side
  ``tool_call``/``tool_response`` ...) -> :class:`~synergia_core.RawPart`
  (``provider="google"``), the part as JSON (bytes as base64).

A ``thought_signature`` on any part other than a thought goes to the
part's ``meta["thought_signature"]`` (standard base64), so do
``thought=True`` on a non-text part and the part fields ``video_metadata``,
``media_resolution`` and ``part_metadata``; all of them are rendered back.
Usage: :func:`usage_from_gemini`. ``metadata["google"]`` holds
``response_id``, ``model_version``, ``finish_reason``, and, when Gemini
sent them, ``finish_message``, ``grounding_metadata``,
``citation_metadata``, ``url_context_metadata`` and ``prompt_feedback``.

Rendering:

* roles ``user`` and ``model``; consecutive turns of one role are merged
  into one content (so a tool message per parallel call becomes one user
  turn of ``function_response`` parts); the contents never start with a
  ``model`` turn (nor with the function responses of a dropped one);
* the chat's system prompt and any ``system`` messages become the
  ``system_instruction`` (one text part each, in order);
* text; Gemini thoughts with their ``thought_signature``; function calls
  with their ``id`` (unless generated) and ``thought_signature``; images,
  PDFs, audio and other files as ``inline_data`` (from ``data:`` URIs, or
  the bytes ``resolve_uri`` gives) or ``file_data`` (``gs://``, ``http(s)``
  URIs, and ``file-id:google:<id>`` where ``<id>`` is a Files API URI or
  name such as ``files/abc``);
* tool results as ``function_response`` parts in user turns: the name of the
  call they answer (else the result's ``name``, else ``"tool"``), the
  call's id, and ``response`` an object: a string or any non-object JSON
  output as ``{"output": ...}`` (``{"error": ...}`` when ``is_error``), an
  object as it is (wrapped as ``{"error": ...}`` when ``is_error`` and it has
  no ``"error"`` key), a list of parts as its text in ``{"output": ...}``
  with its images and files as the response's ``parts``;
* raw parts of provider ``"google"`` as they were stored.
* Dropped: reasoning of other providers (their signatures mean nothing to
  Gemini) and Gemini reasoning with neither text nor signature; raw parts of
  other providers; empty text parts without a signature; references Gemini
  cannot fetch (``s3://``, other providers' file ids) unless
  ``resolve_uri`` inlines them; file and image names (``display_name`` is
  not accepted by the Gemini API). Tool-call arguments that are not a JSON
  object (another provider's unparseable text) are sent as
  ``{"arguments": <the text>}``.

Streamed replies: each chunk's first candidate carries part deltas (text
and thought pieces, whole function calls, signatures on some parts);
:meth:`GeminiStream.parts` merges consecutive text pieces (and consecutive
thought pieces) into one part each, in order. A piece carrying a
``thought_signature`` ends the part it is merged into (the signature, which
Gemini may send on a last empty piece, belongs to the text streamed before
it), so no signature is ever moved to other text. Usage is the last
chunk's ``usage_metadata`` (the totals). A stream that gives no part and
reports a blocked prompt or a refusal (a finish reason other than ``STOP``
or ``MAX_TOKENS``) is a failure (:meth:`GeminiStream.error`). Function
calls are taken whole, as the Gemini API streams them; Vertex AI's
``stream_function_call_arguments`` pieces (``partial_args``) are not
assembled.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import json
import re
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
)
from synergia_core.providers import ResolveUri, as_mapping
from synergia_core.providers._gemini_render import (
    GENERATED_ID,
    PART_EXTRAS,
    PROVIDER,
    content_part,
    function_response,
    user_first,
)
from synergia_core.providers._media import decode_base64
from synergia_core.schemas import MessageCreate, MessageRead, Role, Usage

__all__ = ["FORMAT", "GeminiFormat", "GeminiStream", "usage_from_gemini"]

_DATA_KINDS = ("text", "function_call", "inline_data", "file_data")
"""The part kinds that map to parts other than :class:`RawPart`."""

_THOUGHT_KEYS = frozenset({"text", "thought", "thought_signature", *PART_EXTRAS})
"""What a thought part is made of."""

_OPAQUE = frozenset({"args", "response", "part_metadata", "partial_args"})
"""Keys whose values are the caller's JSON: their keys are never renamed."""

_META_DETAILS = (
    "finish_message",
    "grounding_metadata",
    "citation_metadata",
    "url_context_metadata",
)
"""Candidate fields kept in ``metadata["google"]`` when present."""

_FINISHED = frozenset({"STOP", "MAX_TOKENS", "FINISH_REASON_UNSPECIFIED"})
"""Finish reasons of a reply that was not refused."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


# ------------------------------------------------------------------ plain values


def _snake(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def _jsonable(value: Any) -> Any:
    """A JSON value: bytes as standard base64, enums as their values, dates
    in ISO format; mapping keys as they are."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _jsonable(dump(exclude_none=True))
    return value


def _plain(value: Any) -> Any:
    """A payload (SDK objects, ``model_dump()`` dicts, REST JSON) as plain
    data: snake_case keys (the caller's JSON under ``args``, ``response`` ...
    left alone), ``None`` fields left out, enums as values; bytes stay bytes."""
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, Mapping):
        value = dump(exclude_none=True)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            if item is None:
                continue
            key = _snake(str(raw_key))
            out[key] = _jsonable(item) if key in _OPAQUE else _plain(item)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _b64(value: Any) -> str:
    """Binary data (bytes or base64 text) as standard base64 text."""
    return base64.b64encode(decode_base64(value)).decode("ascii")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# -------------------------------------------------------------------------- usage


def _count(data: Mapping[str, Any], key: str) -> Any:
    """A token count; Gemini leaves zero counts out of its JSON."""
    value = data.get(key)
    return 0 if value is None else value


def usage_from_gemini(payload: Any) -> Usage:
    """A :class:`~synergia_core.Usage` from Gemini ``usage_metadata``.

    ``input_tokens`` is ``prompt_token_count`` (which includes
    ``cached_content_token_count``, the ``cache_read_tokens``) plus
    ``tool_use_prompt_token_count``; ``output_tokens`` is
    ``candidates_token_count`` plus ``thoughts_token_count``, the
    ``reasoning_tokens``. Missing counts are 0 (Gemini leaves zeros out).
    Accepts the SDK object, its ``model_dump()`` and the camelCase REST JSON.

    Raises:
        pydantic.ValidationError: The counts are not counts, or inconsistent.
    """
    data = _plain(as_mapping(payload))
    prompt, tool_use = (
        _count(data, "prompt_token_count"),
        _count(data, "tool_use_prompt_token_count"),
    )
    candidates, thoughts = (
        _count(data, "candidates_token_count"),
        _count(data, "thoughts_token_count"),
    )
    both_int = all(isinstance(v, int) for v in (prompt, tool_use, candidates, thoughts))
    return Usage.model_validate(
        {
            "input_tokens": prompt + tool_use if both_int else prompt,
            "output_tokens": candidates + thoughts if both_int else candidates,
            "cache_read_tokens": _count(data, "cached_content_token_count"),
            "reasoning_tokens": thoughts,
        }
    )


# ---------------------------------------------------------------- reply -> parts


def _generated_id(seed: str, ordinal: int, name: str, arguments: Any) -> str:
    """A call id for a function call Gemini gave none: the same for the same
    reply, different for every call of it."""
    key = json.dumps([seed, ordinal, name, arguments], sort_keys=True, ensure_ascii=False)
    return "call_" + hashlib.sha256(key.encode()).hexdigest()[:24]


def _media(data: Mapping[str, Any], uri: str, meta: dict[str, JsonValue]) -> Part:
    mime_type = str(data.get("mime_type") or "application/octet-stream")
    name = data.get("display_name") or None
    if mime_type.startswith("image/"):
        return ImagePart(uri=uri, mime_type=mime_type, name=name, meta=meta)
    return FilePart(uri=uri, mime_type=mime_type, name=name, meta=meta)


class _Calls:
    """Numbers a reply's function calls, for generated ids."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.count = 0


def _part(part: Mapping[str, Any], calls: _Calls) -> Part:
    """One Gemini part (plain data) as a part."""
    kinds = [kind for kind in _DATA_KINDS if kind in part]
    signature = part.get("thought_signature")
    encoded = _b64(signature) if signature is not None else None
    meta: dict[str, JsonValue] = {k: _jsonable(part[k]) for k in PART_EXTRAS if k in part}
    others = [key for key in part if key not in _THOUGHT_KEYS]
    if part.get("thought") and not others:
        return ReasoningPart(
            text=str(part.get("text") or ""), encrypted=encoded, provider=PROVIDER, meta=meta
        )
    if not kinds:
        return RawPart(provider=PROVIDER, data=_jsonable(part))
    if encoded is not None:
        meta["thought_signature"] = encoded
    if part.get("thought"):
        meta["thought"] = True
    kind = kinds[0]
    if kind == "text":
        return TextPart(text=str(part["text"]), meta=meta)
    if kind == "function_call":
        call = _mapping(part["function_call"])
        name = str(call.get("name") or "unknown")
        arguments = call.get("args")
        if not isinstance(arguments, dict):
            arguments = {}
        ordinal, calls.count = calls.count, calls.count + 1
        call_id = call.get("id")
        if not call_id:
            call_id = _generated_id(calls.seed, ordinal, name, arguments)
            meta[GENERATED_ID] = True
        return ToolCallPart(id=str(call_id), name=name, arguments=arguments, meta=meta)
    if kind == "inline_data":
        blob = _mapping(part["inline_data"])
        mime_type = str(blob.get("mime_type") or "application/octet-stream")
        uri = f"data:{mime_type};base64,{_b64(blob.get('data') or b'')}"
        return _media(blob, uri, meta)
    file = _mapping(part["file_data"])
    return _media(file, str(file.get("file_uri") or ""), meta)


def _details(response: Mapping[str, Any], candidate: Mapping[str, Any]) -> dict[str, JsonValue]:
    """What ``metadata["google"]`` keeps of a response and its candidate."""
    details: dict[str, JsonValue] = {}
    for key in ("response_id", "model_version"):
        if response.get(key):
            details[key] = _jsonable(response[key])
    if candidate.get("finish_reason"):
        details["finish_reason"] = _jsonable(candidate["finish_reason"])
    for key in _META_DETAILS:
        if candidate.get(key):
            details[key] = _jsonable(candidate[key])
    if response.get("prompt_feedback"):
        details["prompt_feedback"] = _jsonable(response["prompt_feedback"])
    return details


# ------------------------------------------------------------------------ format


class GeminiFormat:
    """The Gemini ``generateContent`` format (see the module docstring)."""

    name = "gemini"
    user_first = True

    def message(self, payload: Any) -> MessageCreate:
        """A ``GenerateContentResponse`` (its first candidate), or a
        ``Candidate`` or ``Content``, as an assistant message with usage.

        Raises:
            ValueError: A binary field is neither bytes nor base64 text.
        """
        data = _plain(as_mapping(payload))
        response: Mapping[str, Any]
        candidate: Mapping[str, Any]
        content: Mapping[str, Any]
        if "parts" in data:
            response, candidate, content = {}, {}, data
        elif "content" in data:
            response, candidate, content = {}, data, _mapping(data["content"])
        else:
            response = data
            candidates = data.get("candidates") or []
            candidate = _mapping(candidates[0]) if candidates else {}
            content = _mapping(candidate.get("content"))
        calls = _Calls(str(response.get("response_id") or ""))
        parts = [_part(_mapping(part), calls) for part in content.get("parts") or ()]
        usage = self.usage(response["usage_metadata"]) if response.get("usage_metadata") else None
        details = _details(response, candidate)
        metadata: dict[str, JsonValue] = {PROVIDER: details} if details else {}
        return MessageCreate(role=Role.assistant, parts=parts, usage=usage, metadata=metadata)

    def usage(self, payload: Any) -> Usage:
        """A ``usage_metadata`` report (see :func:`usage_from_gemini`)."""
        return usage_from_gemini(payload)

    def render(
        self,
        system_prompt: str | None,
        messages: Sequence[MessageRead],
        *,
        resolve_uri: ResolveUri | None = None,
    ) -> dict[str, Any]:
        """``{"system_instruction": ContentDict | None, "contents": [ContentDict]}``."""
        system: list[dict[str, Any]] = [{"text": system_prompt}] if system_prompt else []
        calls: dict[str, ToolCallPart] = {}
        contents: list[dict[str, Any]] = []
        for message in messages:
            if message.role is Role.system:
                text = "".join(p.text for p in message.parts if isinstance(p, TextPart))
                if text:
                    system.append({"text": text})
                continue
            parts: list[dict[str, Any]] = []
            for part in message.parts:
                if isinstance(part, ToolCallPart):
                    calls[part.id] = part
                if isinstance(part, ToolResultPart):
                    parts.append(function_response(part, calls, resolve_uri))
                elif (rendered := content_part(part, resolve_uri)) is not None:
                    parts.append(rendered)
            if not parts:
                continue
            role = "model" if message.role is Role.assistant else "user"
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].extend(parts)
            else:
                contents.append({"role": role, "parts": parts})
        return {
            "system_instruction": {"parts": system} if system else None,
            "contents": user_first(contents),
        }

    def stream(self) -> GeminiStream:
        """A new accumulator of ``generate_content_stream`` chunks."""
        return GeminiStream()


class _Piece:
    """One part being assembled from streamed pieces."""

    __slots__ = ("kind", "open", "part", "texts")

    def __init__(self, kind: str, part: dict[str, Any]) -> None:
        self.kind = kind  # "text", "thought", or "other" (never merged)
        self.part = part
        self.texts = [str(part.get("text") or "")]
        self.open = kind != "other" and "thought_signature" not in part

    def take(self, part: Mapping[str, Any]) -> None:
        """Merge the next piece of the same kind (and its signature)."""
        self.texts.append(str(part.get("text") or ""))
        if "thought_signature" in part:
            self.part["thought_signature"] = part["thought_signature"]
            self.open = False

    def assembled(self) -> dict[str, Any]:
        if self.kind == "other":
            return self.part
        return {**self.part, "text": "".join(self.texts)}


def _kind(part: Mapping[str, Any]) -> str:
    """How a streamed piece merges: ``"text"``, ``"thought"`` or ``"other"``."""
    if any(key not in ("text", "thought", "thought_signature") for key in part):
        return "other"
    if part.get("thought"):
        return "thought"
    return "text" if "text" in part else "other"


class GeminiStream:
    """Assembles a streamed Gemini reply (first candidate)."""

    def __init__(self) -> None:
        self._pieces: list[_Piece] = []
        self._usage: Any = None
        self._response: dict[str, Any] = {}
        self._candidate: dict[str, Any] = {}

    def feed(self, event: Any) -> tuple[str, str]:
        """Take one ``GenerateContentResponse`` chunk; return its text and
        thought deltas.

        Raises:
            ValueError: A binary field is neither bytes nor base64 text.
        """
        chunk = _plain(as_mapping(event))
        for key in ("response_id", "model_version", "prompt_feedback"):
            if chunk.get(key):
                self._response[key] = chunk[key]
        if chunk.get("usage_metadata"):
            self._usage = chunk["usage_metadata"]
        candidates = chunk.get("candidates") or []
        if not candidates:
            return "", ""
        candidate = _mapping(candidates[0])
        for key in ("finish_reason", *_META_DETAILS):
            if candidate.get(key):
                self._candidate[key] = candidate[key]
        text: list[str] = []
        thought: list[str] = []
        for raw in _mapping(candidate.get("content")).get("parts") or ():
            part = dict(_mapping(raw))
            if "thought_signature" in part:
                part["thought_signature"] = decode_base64(part["thought_signature"])
            kind = _kind(part)
            if kind == "text":
                text.append(str(part.get("text") or ""))
            elif kind == "thought":
                thought.append(str(part.get("text") or ""))
            last = self._pieces[-1] if self._pieces else None
            if last is not None and last.open and last.kind == kind:
                last.take(part)
            else:
                self._pieces.append(_Piece(kind, part))
        return "".join(text), "".join(thought)

    def parts(self) -> list[Part]:
        """The reply so far, in order: merged thoughts and text (with their
        signatures), function calls, media and raw parts."""
        calls = _Calls(str(self._response.get("response_id") or ""))
        return [_part(piece.assembled(), calls) for piece in self._pieces]

    def usage(self) -> Usage | None:
        """The usage of the last chunk that had one (Gemini sends totals).

        Raises:
            pydantic.ValidationError: The counts are inconsistent.
        """
        return None if self._usage is None else usage_from_gemini(self._usage)

    def metadata(self) -> dict[str, JsonValue]:
        """``{"google": {"response_id", "model_version", "finish_reason", ...}}``."""
        details = _details(self._response, self._candidate)
        return {PROVIDER: details} if details else {}

    def error(self) -> str | None:
        """Why Gemini gave no reply, or ``None``: a blocked prompt
        (``prompt_feedback.block_reason``), or a stream that ended with a
        finish reason other than ``STOP`` or ``MAX_TOKENS`` (``SAFETY``,
        ``RECITATION``, ``MALFORMED_FUNCTION_CALL`` ...) before any part. A
        reply cut short after some parts is complete, its finish reason in
        the metadata. Transport and API errors raise from the SDK's stream."""
        if self._pieces:
            return None
        feedback = _mapping(self._response.get("prompt_feedback"))
        if feedback.get("block_reason"):
            reason = f"the prompt was blocked ({feedback['block_reason']})"
            message = feedback.get("block_reason_message")
            return f"{reason}: {message}" if message else reason
        finish = self._candidate.get("finish_reason")
        if finish and finish not in _FINISHED:
            reason = f"no reply (finish reason {finish})"
            message = self._candidate.get("finish_message")
            return f"{reason}: {message}" if message else reason
        return None


FORMAT = GeminiFormat()
"""The Gemini format, as the registry exposes it."""
