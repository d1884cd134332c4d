"""The records of a ``synergia-chats`` export: their JSON Lines form, and
the readers that turn a file back into checked records.

A file is, one JSON object a line::

    {"format": "synergia-chats", "version": 1, "user_id": ..., "generator": ...}
    {"type": "model", ...}        every catalog entry the chats refer to
    {"type": "chat", ..., "messages": N}
    {"type": "message", ...}      the chat's N messages, by seq (parents first)
    ...
    {"type": "end", "chats": C, "messages": M, "models": K}

Values are stored column values: ids as UUID strings, times as ISO 8601
UTC with microseconds, money as plain decimal strings, JSON as JSON. Keys
are sorted and the header holds no time, so two exports of the same data
are byte-identical.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from synergia_core._version import __version__
from synergia_core.errors import CorruptImportError, InvalidInputError
from synergia_core.schemas import MAX_TOKENS, MessageStatus, Role

__all__ = [
    "FORMAT",
    "VERSION",
    "ChatRecord",
    "EndRecord",
    "LineReader",
    "MessageRecord",
    "ModelRecord",
    "Numbered",
    "Reader",
    "TextWriter",
    "dumps",
    "header",
    "to_json",
]

FORMAT = "synergia-chats"
VERSION = 1

_RECORD = ConfigDict(extra="forbid", frozen=True)
Tokens = Annotated[int, Field(ge=0, le=MAX_TOKENS)]
Count = Annotated[int, Field(ge=0, le=2**62)]


class ModelRecord(BaseModel):
    """A catalog entry, as stored."""

    model_config = _RECORD

    type: Literal["model"]
    id: uuid.UUID
    provider: str
    name: str
    display_name: str | None
    input_price_per_million: Decimal
    output_price_per_million: Decimal
    cache_read_price_per_million: Decimal | None
    cache_write_price_per_million: Decimal | None
    cache_write_1h_price_per_million: Decimal | None
    tiers: list[dict[str, Any]] | None
    aliases: list[str] | None
    context_window: int | None
    max_output_tokens: int | None
    is_enabled: bool
    metadata: dict[str, Any]
    created_at: AwareDatetime
    updated_at: AwareDatetime
    deleted_at: AwareDatetime | None


class ChatRecord(BaseModel):
    """A chat, as stored, and how many message records follow it."""

    model_config = _RECORD

    type: Literal["chat"]
    id: uuid.UUID
    title: Annotated[str, Field(max_length=500)] | None
    model_id: uuid.UUID | None
    system_prompt: str | None
    metadata: dict[str, Any]
    is_pinned: bool
    is_archived: bool
    message_count: Count
    last_seq: Count
    current_message_id: uuid.UUID | None
    last_message_at: AwareDatetime | None
    activity_at: AwareDatetime
    created_at: AwareDatetime
    updated_at: AwareDatetime
    deleted_at: AwareDatetime | None
    messages: Count


class MessageRecord(BaseModel):
    """A message, as stored (its chat is the chat record before it).

    ``model_slug`` is not written by an export: a converted ChatGPT message
    names its model that way, and the import resolves it through the catalog.
    """

    model_config = _RECORD

    type: Literal["message"]
    id: uuid.UUID
    parent_id: uuid.UUID | None
    seq: Annotated[int, Field(ge=1, le=2**62)]
    role: Role
    content: str
    status: MessageStatus
    model_id: uuid.UUID | None
    input_tokens: Tokens
    output_tokens: Tokens
    cache_read_tokens: Tokens
    cache_write_tokens: Tokens
    reasoning_tokens: Tokens
    cache_write_1h_tokens: Tokens
    cost: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    error: str | None
    parts: list[dict[str, Any]] | None
    reasoning: str | None
    metadata: dict[str, Any]
    created_at: AwareDatetime
    updated_at: AwareDatetime
    deleted_at: AwareDatetime | None
    model_slug: str | None = None


class EndRecord(BaseModel):
    """The last line: what the file holds, so a file cut short is noticed."""

    model_config = _RECORD

    type: Literal["end"]
    chats: Count
    messages: Count
    models: Count


Record = ModelRecord | ChatRecord | MessageRecord | EndRecord
_RECORDS: TypeAdapter[Record] = TypeAdapter(Annotated[Record, Field(discriminator="type")])


@dataclass(frozen=True, slots=True)
class Numbered:
    """A record and where it came from (a line, or a ChatGPT conversation)."""

    line: int
    record: Record


# ------------------------------------------------------------------ writing


def to_json(value: Any) -> Any:
    """A stored column value as JSON: UUIDs and decimals as strings, times
    as ISO 8601 with microseconds, JSON as it is."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def dumps(record: Mapping[str, Any]) -> str:
    """One line of the file (with its newline)."""
    return (
        json.dumps(
            {key: to_json(value) for key, value in record.items()},
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )
        + "\n"
    )


def header(user_id: str) -> dict[str, Any]:
    """The first line of an export of ``user_id``'s chats."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "user_id": user_id,
        "generator": f"synergia-core {__version__}",
    }


class TextWriter:
    """Writes text to a text or a binary file object (UTF-8)."""

    def __init__(self, fp: IO[Any]) -> None:
        if not callable(getattr(fp, "write", None)):
            raise InvalidInputError("fp must be a file object open for writing", "fp")
        self._fp = fp
        self._binary = _is_binary(fp, probe="write")

    def write(self, text: str) -> None:
        """Write ``text``."""
        self._fp.write(text.encode() if self._binary else text)


def _is_binary(fp: object, *, probe: str) -> bool:
    if isinstance(fp, io.TextIOBase):
        return False
    if isinstance(fp, (io.RawIOBase, io.BufferedIOBase)):
        return True
    mode = getattr(fp, "mode", None)
    if isinstance(mode, str):
        return "b" in mode
    if probe == "write":
        try:
            fp.write("")  # type: ignore[attr-defined]
        except TypeError:
            return True
    return False


# ------------------------------------------------------------------ reading


class Reader:
    """What an import reads from: checked records, a batch at a time.

    Attributes:
        user_id: The owner the file names (``None`` if it names none).
    """

    user_id: str | None = None

    def read(self, limit: int) -> list[Numbered] | None:
        """Up to ``limit`` records; ``None`` once the input is over.

        Raises:
            CorruptImportError: The input is not what it should be.
        """
        raise NotImplementedError


def _lines(fp: IO[Any]) -> Iterator[str]:
    for line in fp:
        if isinstance(line, (bytes, bytearray)):
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CorruptImportError(f"not UTF-8: {exc.reason}") from None
        else:
            yield line


def _problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(item) for item in error.get("loc", ()))
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


class LineReader(Reader):
    """Reads a ``synergia-chats`` JSON Lines file (text or binary).

    Raises:
        CorruptImportError: The first line is not a ``synergia-chats`` header
            of a version this package reads.
    """

    def __init__(self, fp: IO[Any]) -> None:
        if not callable(getattr(fp, "read", None)):
            raise InvalidInputError("fp must be a file object open for reading", "fp")
        self._lines = _lines(fp)
        self._number = 0
        self._over = False
        first = next(self._lines, None)
        self._number = 1
        if first is None or not first.strip():
            raise CorruptImportError("the file is empty; expected a synergia-chats header", 1)
        try:
            head = json.loads(first)
        except ValueError:
            hint = ' (a ChatGPT conversations.json? use format="chatgpt")'
            raise CorruptImportError(
                "not JSON: expected a synergia-chats header"
                + (hint if first.lstrip().startswith("[") else ""),
                1,
            ) from None
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            raise CorruptImportError(
                f'not a synergia-chats export (the first line has no "format": "{FORMAT}"); '
                'for a ChatGPT conversations.json use format="chatgpt"',
                1,
            )
        version = head.get("version")
        if version != VERSION:
            raise CorruptImportError(
                f"version {version!r} of the synergia-chats format; this package reads "
                f"version {VERSION}",
                1,
            )
        user_id = head.get("user_id")
        if user_id is not None and not isinstance(user_id, str):
            raise CorruptImportError("the header's user_id must be a string", 1)
        self.user_id = user_id

    def read(self, limit: int) -> list[Numbered] | None:
        """Up to ``limit`` records; ``None`` once the file is over.

        Raises:
            CorruptImportError: A line is not JSON or not a valid record.
        """
        if self._over:
            return None
        batch: list[Numbered] = []
        for line in self._lines:
            self._number += 1
            if not line.strip():
                continue
            try:
                record = _RECORDS.validate_json(line)
            except ValidationError as exc:
                raise CorruptImportError(_problem(exc), self._number) from None
            batch.append(Numbered(self._number, record))
            if len(batch) >= limit:
                return batch
        self._over = True
        return batch or None
