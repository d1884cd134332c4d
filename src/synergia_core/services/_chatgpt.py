"""A ChatGPT data export's ``conversations.json``, as import records.

The file is a JSON array of conversations, read one conversation at a time
(never the whole file at once). A conversation is a tree::

    {"id", "title", "create_time", "update_time", "current_node", "is_archived",
     "default_model_slug", "mapping": {node_id: {"id", "message", "parent", "children"}}}

and each message ``{"id", "author": {"role", "name"}, "create_time",
"content": {"content_type", ...}, "status", "recipient", "metadata":
{"model_slug", "is_visually_hidden_from_conversation", ...}}``.

What becomes of it:

* Every node with a message is a message, except the root (no message),
  hidden nodes (``is_visually_hidden_from_conversation``, the custom
  instructions' ``user_editable_context``), empty system messages, and
  messages with nothing in them; the children of a skipped node hang from
  its nearest kept ancestor. Branches (edits, regenerations) stay branches;
  ``current_node`` (or its nearest kept ancestor) is the current leaf.
* Text is text parts. ``multimodal_text`` keeps its images
  (``image_asset_pointer``: an image part whose ``uri`` is the pointer,
  ``file-service://...`` or ``sediment://...``, sizes in ``meta``), and any
  other item as a raw part. An assistant message addressed to a tool
  (``recipient`` not ``"all"``: ``code`` for python, browser or DALL-E
  commands) is a tool call named after the recipient; a ``tool`` message
  (``execution_output``, ``tether_browsing_display``, ...) is the result
  answering it. ``thoughts`` are reasoning parts.
* Every message keeps what ChatGPT said about it in
  ``metadata["chatgpt"]``: the node id, content type, author name,
  recipient, status, the original ``metadata``, and the original ``content``
  when it is not plain text.
* ``metadata.model_slug`` is resolved through the catalog (name or alias)
  by the import; times come from ``create_time``/``update_time``.
* Ids: the conversation's and the nodes' UUIDs (a node id that is not a
  UUID gets a UUIDv5 of it), so importing the same file again finds its
  chats already there.
"""

from __future__ import annotations

import codecs
import datetime as dt
import heapq
import json
import math
import uuid
from collections.abc import Iterator
from typing import IO, Any

from pydantic import BaseModel, ValidationError

from synergia_core.errors import CorruptImportError
from synergia_core.parts import (
    ImagePart,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    dump_parts,
    parts_text,
)
from synergia_core.services._transfer_records import (
    ChatRecord,
    MessageRecord,
    Numbered,
    Reader,
)

__all__ = ["ChatGPTReader", "convert"]

_NAMESPACE = uuid.UUID("6f1c1a51-6b1e-4a53-9d8c-6a3f1c0e2b7d")
_HIDDEN_TYPES = frozenset({"user_editable_context", "model_editable_context"})
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_READ = 1 << 16


class _Corrupt(Exception):
    """A problem in one conversation (becomes a CorruptImportError)."""


def _uuid(value: object, namespace: uuid.UUID) -> uuid.UUID:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return uuid.uuid5(namespace, value)
    raise _Corrupt(f"an id must be a string, not {type(value).__name__}")


def _time(value: object, fallback: dt.datetime) -> dt.datetime:
    if value is None:
        return fallback
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Corrupt(f"a time must be a number of seconds, not {value!r:.40}")
    try:
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise _Corrupt(f"time {value!r} is out of range") from None


def _dict(value: object, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Corrupt(f"{what} must be an object")
    return value


def _text_of(content: dict[str, Any]) -> str:
    parts = content.get("parts")
    if isinstance(parts, list):
        return "".join(part for part in parts if isinstance(part, str))
    for key in ("text", "result"):
        if isinstance(content.get(key), str):
            return str(content[key])
    return ""


def _media(item: dict[str, Any]) -> BaseModel:
    kind = item.get("content_type")
    if kind == "image_asset_pointer" and isinstance(item.get("asset_pointer"), str):
        meta = {
            key: item[key]
            for key in ("size_bytes", "width", "height", "fovea")
            if item.get(key) is not None
        }
        if item.get("metadata"):
            meta["metadata"] = item["metadata"]
        return ImagePart(uri=item["asset_pointer"], mime_type="image/*", meta=meta)
    if kind == "audio_transcription" and isinstance(item.get("text"), str):
        return TextPart(text=item["text"], meta={"content_type": kind})
    return RawPart(provider="chatgpt", data=item)


def _tool_call(node_id: str, recipient: str, content: dict[str, Any], text: str) -> ToolCallPart:
    arguments: dict[str, Any] | str = text
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        arguments = parsed
    meta = {"language": content["language"]} if isinstance(content.get("language"), str) else {}
    return ToolCallPart(id=node_id, name=recipient[:255], arguments=arguments, meta=meta)


def _parts(
    role: str, message: dict[str, Any], node_id: str, call_id: str | None
) -> list[BaseModel]:
    """The parts of a message (empty: nothing worth keeping)."""
    content = _dict(message.get("content"), "content")
    kind = content.get("content_type", "text")
    recipient = message.get("recipient") or "all"
    author = _dict(message.get("author"), "author")
    if kind == "thoughts" and role == "assistant":
        listed = content.get("thoughts")
        thoughts = listed if isinstance(listed, list) else []
        return [
            ReasoningPart(
                text="\n".join(
                    str(thought.get(key)) for key in ("summary", "content") if thought.get(key)
                ),
                provider="openai",
            )
            for thought in thoughts
            if isinstance(thought, dict)
        ]
    if kind == "multimodal_text":
        listed = content.get("parts")
        items = listed if isinstance(listed, list) else []
        parts: list[BaseModel] = [
            TextPart(text=item) if isinstance(item, str) else _media(_dict(item, "a part"))
            for item in items
            if not (isinstance(item, str) and not item)
        ]
    else:
        text = _text_of(content)
        if role == "assistant" and recipient != "all" and text:
            return [_tool_call(node_id, str(recipient), content, text)]
        parts = [TextPart(text=text)] if text else []
    if role == "tool":
        if not parts:
            return []
        name = author.get("name") if isinstance(author.get("name"), str) else None
        shown = [part for part in parts if isinstance(part, (TextPart, ImagePart))]
        output: Any = (
            parts_text(parts)
            if len(shown) == len(parts) == sum(isinstance(part, TextPart) for part in parts)
            else shown
        )
        return [ToolResultPart(call_id=call_id or node_id, output=output, name=name)]
    return parts


def _message_metadata(node_id: str, message: dict[str, Any]) -> dict[str, Any]:
    content = _dict(message.get("content"), "content")
    author = _dict(message.get("author"), "author")
    kind = content.get("content_type", "text")
    kept = {
        "id": node_id,
        "content_type": kind,
        "author_name": author.get("name"),
        "recipient": message.get("recipient"),
        "status": message.get("status"),
        "end_turn": message.get("end_turn"),
        "metadata": message.get("metadata") or None,
        "content": content if kind not in ("text",) else None,
    }
    return {"chatgpt": {key: value for key, value in kept.items() if value is not None}}


def _hidden(message: dict[str, Any]) -> bool:
    metadata = _dict(message.get("metadata"), "metadata")
    content = _dict(message.get("content"), "content")
    return bool(metadata.get("is_visually_hidden_from_conversation")) or (
        content.get("content_type") in _HIDDEN_TYPES
    )


def convert(conversation: object) -> list[MessageRecord | ChatRecord]:
    """The chat record and message records of one conversation.

    Raises:
        CorruptImportError: It is not a conversation (line: ``None``; the
            reader adds where it was).
    """
    try:
        return _convert(_dict(conversation, "a conversation"))
    except _Corrupt as exc:
        raise CorruptImportError(str(exc)) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(item) for item in error.get("loc", ()))
        raise CorruptImportError(f"{where}: {error.get('msg')}") from None


def _convert(conversation: dict[str, Any]) -> list[MessageRecord | ChatRecord]:
    mapping = conversation.get("mapping")
    if not isinstance(mapping, dict):
        raise _Corrupt("a conversation without a mapping: not a ChatGPT conversations.json")
    named = conversation.get("conversation_id") or conversation.get("id")
    if named is None:  # no id: one derived from what identifies the conversation
        named = json.dumps(
            [conversation.get("title"), conversation.get("create_time"), sorted(map(str, mapping))],
            default=str,
        )
    chat_id = _uuid(named, _NAMESPACE)
    created = _time(conversation.get("create_time"), _EPOCH)
    nodes = {str(key): _dict(node, "a mapping node") for key, node in mapping.items()}
    kept: dict[str, dict[str, Any]] = {}
    for node_id, node in nodes.items():
        message = node.get("message")
        if message is None:
            continue
        message = _dict(message, "a message")
        role = _dict(message.get("author"), "author").get("role")
        if role not in ("system", "user", "assistant", "tool") or _hidden(message):
            continue
        if role == "system" and not _text_of(_dict(message.get("content"), "content")).strip():
            continue
        kept[node_id] = message
    parent_of: dict[str, str | None] = {}

    def kept_ancestor(node_id: str | None) -> str | None:
        seen: list[str] = []
        while node_id is not None and node_id not in kept and node_id not in parent_of:
            if node_id in seen or len(seen) > len(nodes):
                raise _Corrupt("the mapping has a cycle")
            seen.append(node_id)
            parent = nodes.get(node_id, {}).get("parent")
            node_id = parent if isinstance(parent, str) else None
        found = node_id if node_id is None or node_id in kept else parent_of[node_id]
        for item in seen:
            parent_of[item] = found
        return found

    times: dict[str, dt.datetime] = {}
    children: dict[str | None, list[str]] = {}
    for node_id in kept:
        parent = nodes[node_id].get("parent")
        anchor = kept_ancestor(parent if isinstance(parent, str) else None)
        if anchor == node_id:
            raise _Corrupt("the mapping has a cycle")
        children.setdefault(anchor, []).append(node_id)
    # Parents before children, earliest first: a heap of the nodes whose
    # parent is out (Kahn's order).
    order: list[str] = []
    heap: list[tuple[dt.datetime, int, str, str | None]] = []
    rank = {node_id: index for index, node_id in enumerate(kept)}

    def push(node_id: str, parent: str | None) -> None:
        fallback = times[parent] if parent is not None else created
        times[node_id] = _time(kept[node_id].get("create_time"), fallback)
        heapq.heappush(heap, (times[node_id], rank[node_id], node_id, parent))

    for root in children.get(None, []):
        push(root, None)
    parents: dict[str, str | None] = {}
    while heap:
        _, _, node_id, parent = heapq.heappop(heap)
        order.append(node_id)
        parents[node_id] = parent
        for child in children.get(node_id, []):
            push(child, node_id)
    if len(order) != len(kept):
        raise _Corrupt("the mapping has a cycle")
    return _records(conversation, chat_id, created, kept, order, parents, times)


def _records(
    conversation: dict[str, Any],
    chat_id: uuid.UUID,
    created: dt.datetime,
    kept: dict[str, dict[str, Any]],
    order: list[str],
    parents: dict[str, str | None],
    times: dict[str, dt.datetime],
) -> list[MessageRecord | ChatRecord]:
    ids = {node_id: _uuid(node_id, chat_id) for node_id in order}
    calls: dict[str, str] = {}
    messages: list[MessageRecord | ChatRecord] = []
    for seq, node_id in enumerate(order, start=1):
        message = kept[node_id]
        role = str(_dict(message.get("author"), "author")["role"])
        parent = parents[node_id]
        parts = _parts(role, message, node_id, calls.get(parent) if parent else None)
        if role == "assistant" and parts and isinstance(parts[0], ToolCallPart):
            calls[node_id] = parts[0].id
        if not parts:  # nothing to show: an empty shell, kept as an empty text
            parts = [TextPart(text="")] if role in ("user", "assistant", "system") else []
        if not parts:
            parts = [ToolResultPart(call_id=node_id, output="")]
        stored = None
        if not (len(parts) == 1 and isinstance(parts[0], TextPart) and not parts[0].meta):
            stored = dump_parts(parts)
        slug = _dict(message.get("metadata"), "metadata").get("model_slug")
        messages.append(
            MessageRecord(
                type="message",
                id=ids[node_id],
                parent_id=None if parent is None else ids[parent],
                seq=seq,
                role=role,
                content=parts_text(parts),
                status="complete",
                model_id=None,
                input_tokens=0,
                output_tokens=0,
                cache_read_tokens=0,
                cache_write_tokens=0,
                reasoning_tokens=0,
                cache_write_1h_tokens=0,
                cost=0,
                error=None,
                parts=stored,
                reasoning=None,
                metadata=_message_metadata(node_id, message),
                created_at=times[node_id],
                updated_at=_time(message.get("update_time"), times[node_id]),
                deleted_at=None,
                model_slug=slug if isinstance(slug, str) and role == "assistant" else None,
            )
        )
    current = conversation.get("current_node")
    leaf = None
    if isinstance(current, str):
        leaf = current if current in kept else None
        if leaf is None:
            leaf = _first_kept(conversation["mapping"], current, kept)
    if leaf is None and order:
        leaf = order[-1]
    last = max(times.values(), default=None)
    extra = {
        key: conversation.get(key)
        for key in ("conversation_id", "default_model_slug", "gizmo_id", "gizmo_type")
        if conversation.get(key) is not None
    }
    title = conversation.get("title")
    chat = ChatRecord(
        type="chat",
        id=chat_id,
        title=title[:500] if isinstance(title, str) else None,
        model_id=None,
        system_prompt=None,
        metadata={"chatgpt": extra} if extra else {},
        is_pinned=False,
        is_archived=conversation.get("is_archived") is True,
        message_count=len(order),
        last_seq=len(order),
        current_message_id=None if leaf is None else ids[leaf],
        last_message_at=last,
        activity_at=last or created,
        created_at=created,
        updated_at=_time(conversation.get("update_time"), last or created),
        deleted_at=None,
        messages=len(order),
    )
    return [chat, *messages]


def _first_kept(mapping: dict[str, Any], node_id: str, kept: dict[str, Any]) -> str | None:
    """The nearest kept ancestor of ``node_id``."""
    seen: set[str] = set()
    current: object = node_id
    while isinstance(current, str) and current not in seen:
        if current in kept:
            return current
        seen.add(current)
        node = mapping.get(current)
        current = node.get("parent") if isinstance(node, dict) else None
    return None


class ChatGPTReader(Reader):
    """Reads ``conversations.json`` (text or binary) a conversation at a time.

    Raises:
        CorruptImportError: The input is not a JSON array.
    """

    def __init__(self, fp: IO[Any]) -> None:
        if not callable(getattr(fp, "read", None)):
            from synergia_core.errors import InvalidInputError

            raise InvalidInputError("fp must be a file object open for reading", "fp")
        self._fp = fp
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._json = json.JSONDecoder()
        self._buffer = ""
        self._eof = False
        self._index = 0
        self._over = False
        self._iterator = self._conversations()
        if self._skip_space() != "[":
            raise CorruptImportError(
                "not a ChatGPT conversations.json: it does not start with a JSON array", 1
            )
        self._buffer = self._buffer[1:]

    def _more(self, size: int) -> bool:
        if self._eof:
            return False
        chunk = self._fp.read(size)
        if isinstance(chunk, (bytes, bytearray)):
            try:
                chunk = self._decoder.decode(bytes(chunk), final=not chunk)
            except UnicodeDecodeError as exc:
                raise CorruptImportError(f"not UTF-8: {exc.reason}") from None
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _skip_space(self) -> str:
        while True:
            self._buffer = self._buffer.lstrip()
            if self._buffer or not self._more(_READ):
                return self._buffer[:1]

    def _conversations(self) -> Iterator[object]:
        while True:
            head = self._skip_space()
            if head == "]":
                self._buffer = self._buffer[1:]
                if self._skip_space():
                    raise CorruptImportError("data after the end of the array")
                return
            if self._index:
                if head != ",":
                    raise CorruptImportError("expected , or ] between conversations", self._index)
                self._buffer = self._buffer[1:]
                self._skip_space()
            while True:
                try:
                    value, end = self._json.raw_decode(self._buffer)
                    break
                except ValueError:
                    if not self._more(max(_READ, len(self._buffer))):
                        raise CorruptImportError(
                            "not JSON, or cut short", self._index + 1
                        ) from None
            self._buffer = self._buffer[end:]
            self._index += 1
            yield value

    def read(self, limit: int) -> list[Numbered] | None:
        """The records of the next conversations, about ``limit`` of them;
        ``None`` once the array is over.

        Raises:
            CorruptImportError: A conversation is not one, naming its place
                in the array (counted from 1) as the line.
        """
        if self._over:
            return None
        batch: list[Numbered] = []
        for conversation in self._iterator:
            try:
                records = convert(conversation)
            except CorruptImportError as exc:
                raise CorruptImportError(
                    f"conversation {self._index}: {exc.message}", self._index, exc.field
                ) from None
            batch.extend(Numbered(self._index, record) for record in records)
            if len(batch) >= limit:
                return batch
        self._over = True
        return batch or None
