"""The import of checked records into the database, a bounded batch at a time.

An :class:`Importer` is fed the records a reader produced and writes them
in the caller's transaction: catalog entries through the catalog's upsert,
a chat's row when its record comes, its messages many per ``executemany``,
and its counters and current leaf once its last message is in. It tells the
caller when to commit: at the first chat boundary once the transaction holds
:data:`TRANSACTION_MESSAGES` messages, so a transaction never ends inside a
chat and never grows much past that bound (one chat larger than it is one
transaction). Memory holds one batch of rows and the id map of the open chat.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from pydantic import ValidationError

from synergia_core.errors import (
    CorruptImportError,
    ImportConflictError,
    InvalidInputError,
)
from synergia_core.ids import uuid7
from synergia_core.parts import parts_adapter
from synergia_core.repositories.protocols import Repositories
from synergia_core.schemas import ModelCreate, Role, TransferReport
from synergia_core.services._checks import SizeBudget, check_json, check_text
from synergia_core.services._context import ServiceConfig
from synergia_core.services._transfer_records import (
    ChatRecord,
    EndRecord,
    MessageRecord,
    ModelRecord,
    Numbered,
    Reader,
)
from synergia_core.services.models import ModelService, _claim_names, _create_values

__all__ = ["BATCH_ROWS", "READ_BATCH", "TRANSACTION_MESSAGES", "Importer", "fill_transaction"]

BATCH_ROWS = 1000
"""Messages inserted per ``executemany``."""
TRANSACTION_MESSAGES = 5000
"""A transaction ends at the first chat boundary once it holds this many messages."""
READ_BATCH = 1000
"""Records read from the input at a time."""

_MODEL_COLUMNS = (
    "provider",
    "name",
    "display_name",
    "input_price_per_million",
    "output_price_per_million",
    "cache_read_price_per_million",
    "cache_write_price_per_million",
    "cache_write_1h_price_per_million",
    "context_window",
    "max_output_tokens",
    "is_enabled",
    "metadata",
)


@dataclass
class _OpenChat:
    """The chat being imported: its record, new id, and messages so far."""

    record: ChatRecord
    line: int
    id: uuid.UUID
    skip: bool
    remaining: int
    last_seq: int = 0
    ids: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


def _no_scope(*, write: bool, atomic: bool = False, user_id: str | None = None) -> NoReturn:
    # The importer's catalog service only upserts, on the importer's repositories.
    raise RuntimeError("the importer's catalog service opens no unit of work")


def _corrupt(exc: InvalidInputError, line: int) -> CorruptImportError:
    return CorruptImportError(exc.message, line, exc.field)


class Importer:
    """Writes checked records into the database (see the module docstring).

    Args:
        config: The services' settings (limits, clock).
        user_id: The owner of the imported chats.
        keep_ids: Keep the file's chat and message ids (else new ones).
        require_end: The input must close with an ``end`` record.
        progress: Called with the number of messages imported so far.
    """

    def __init__(
        self,
        config: ServiceConfig,
        *,
        user_id: str,
        keep_ids: bool,
        require_end: bool,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self._config = config
        # Only its upsert is used, on the importer's own repositories.
        self._model_service = ModelService(_no_scope, config)
        self._user_id = user_id
        self._keep_ids = keep_ids
        self._require_end = require_end
        self._progress = progress
        self._models: dict[uuid.UUID, uuid.UUID] = {}
        self._slugs: dict[str, uuid.UUID | None] = {}
        self._chat: _OpenChat | None = None
        self._leftover: deque[Numbered] = deque()
        self._in_transaction = 0
        self._read = {"chats": 0, "messages": 0, "models": 0}
        self._ended = False
        self._counts = {"chats": 0, "messages": 0, "models": 0, "skipped_chats": 0}
        self.done = False
        """Whether the input is over and imported."""

    @property
    def has_leftover(self) -> bool:
        """Whether records read before the last commit still wait."""
        return bool(self._leftover)

    def report(self) -> TransferReport:
        """What was imported."""
        return TransferReport(**self._counts)

    def step(self, repos: Repositories, batch: list[Numbered] | None) -> bool:
        """Import what was left over, then ``batch`` (``None``: the input is
        over); ``True`` when the caller should commit now.

        Raises:
            CorruptImportError: A record breaks a rule of the format.
            ImportConflictError: An id is another user's chat or another chat's message.
            ModelAlreadyExists: A catalog entry's alias is another model's name.
        """
        queue = self._leftover
        queue.extend(batch or ())
        while queue:
            item = queue.popleft()
            if self._take(repos, item) and self._in_transaction >= TRANSACTION_MESSAGES:
                self._in_transaction = 0
                return True
        if batch is None:
            self._finish()
            self.done = True
            return True
        return False

    # ---------------------------------------------------------------- records

    def _take(self, repos: Repositories, item: Numbered) -> bool:
        """Import one record; whether no chat is open after it."""
        record, line = item.record, item.line
        if self._ended:
            raise CorruptImportError("a record after the end line", line)
        if isinstance(record, MessageRecord):
            chat = self._chat
            if chat is None:
                raise CorruptImportError(
                    "a message outside a chat (more messages than its chat record says?)", line
                )
            self._read["messages"] += 1
            self._add_message(repos, chat, record, line)
            if chat.remaining == 0:
                self._close_chat(repos, chat)
                return True
            return False
        if self._chat is not None:
            raise CorruptImportError(
                f"chat {self._chat.record.id} misses {self._chat.remaining} of its messages", line
            )
        if isinstance(record, ModelRecord):
            if self._read["chats"]:
                raise CorruptImportError("catalog entries come before the chats", line)
            self._read["models"] += 1
            self._import_model(repos, record, line)
        elif isinstance(record, ChatRecord):
            self._read["chats"] += 1
            self._open_chat(repos, record, line)
        elif isinstance(record, EndRecord):
            said = {"chats": record.chats, "messages": record.messages, "models": record.models}
            if said != self._read:
                raise CorruptImportError(
                    f"the end line counts {said} but the file holds {self._read}", line
                )
            self._ended = True
        return self._chat is None

    def _finish(self) -> None:
        if self._chat is not None:
            raise CorruptImportError(
                f"the input ends inside chat {self._chat.record.id}, "
                f"{self._chat.remaining} of its messages missing: it was cut short"
            )
        if self._require_end and not self._ended:
            raise CorruptImportError("the file has no end line: it was cut short")

    # ----------------------------------------------------------------- models

    def _import_model(self, repos: Repositories, record: ModelRecord, line: int) -> None:
        self._counts["models"] += 1
        existing = repos.transfer.model_row(record.id)
        if record.deleted_at is not None:
            # A deleted entry stays as history: the one with its id, or a copy.
            if existing is None:
                row = record.model_dump(exclude={"type"})
                if not self._keep_ids:
                    row["id"] = uuid7()
                repos.transfer.insert_model(row)
                self._models[record.id] = row["id"]
            else:
                self._models[record.id] = record.id
            return
        try:
            data = ModelCreate(
                **{name: getattr(record, name) for name in _MODEL_COLUMNS},
                tiers=record.tiers or [],
                aliases=record.aliases or [],
            )
            values = _create_values(data, self._config)
        except ValidationError as exc:
            error = exc.errors()[0]
            raise CorruptImportError(f"invalid catalog entry: {error.get('msg')}", line) from None
        except InvalidInputError as exc:
            raise _corrupt(exc, line) from None
        current = repos.models.get_by_name(record.provider, record.name)
        if current is None and existing is None and self._keep_ids:
            _claim_names(
                repos, record.provider, [record.name, *(record.aliases or ())], besides=None
            )
            repos.transfer.insert_model(record.model_dump(exclude={"type"}))
            self._models[record.id] = record.id
            return
        model, _ = self._model_service._upsert(repos, data, values)
        self._models[record.id] = model.id

    def _model_for(self, repos: Repositories, model_id: uuid.UUID | None, line: int) -> Any:
        if model_id is None:
            return None
        mapped = self._models.get(model_id)
        if mapped is None:
            if repos.transfer.model_row(model_id) is None:
                raise CorruptImportError(
                    f"model {model_id} is neither in the file nor in the catalog", line
                )
            self._models[model_id] = mapped = model_id
        return mapped

    def _resolve_slug(self, repos: Repositories, slug: str) -> uuid.UUID | None:
        """The catalog entry a ChatGPT ``model_slug`` names (by name or alias,
        OpenAI's first), or ``None``."""
        if slug not in self._slugs:
            found = repos.models.resolve(slug)
            exact = [model for model in found if model.name == slug] or found
            openai = [model for model in exact if model.provider == "openai"]
            chosen = openai or (exact if len({m.provider for m in exact}) == 1 else [])
            self._slugs[slug] = chosen[0].id if chosen else None
        return self._slugs[slug]

    # ------------------------------------------------------------------ chats

    def _open_chat(self, repos: Repositories, record: ChatRecord, line: int) -> None:
        try:
            check_text(record.title, "title")
            check_text(record.system_prompt, "system_prompt")
            check_json(
                record.metadata, "metadata", SizeBudget(self._config.max_content_chars, "metadata")
            )
        except InvalidInputError as exc:
            raise _corrupt(exc, line) from None
        skip = False
        if self._keep_ids:
            owner = repos.transfer.chat_owners([record.id]).get(record.id)
            if owner is not None and owner != self._user_id:
                raise ImportConflictError("chat", record.id)
            skip = owner is not None
        chat_id = record.id if self._keep_ids else uuid7()
        chat = _OpenChat(record, line, chat_id, skip, record.messages)
        self._chat = chat
        if skip:
            self._counts["skipped_chats"] += 1
        else:
            repos.transfer.insert_chat(
                {
                    "id": chat_id,
                    "user_id": self._user_id,
                    "title": record.title,
                    "model_id": self._model_for(repos, record.model_id, line),
                    "system_prompt": record.system_prompt,
                    "metadata": record.metadata,
                    "is_pinned": record.is_pinned,
                    "is_archived": record.is_archived,
                    "message_count": 0,
                    "last_seq": 0,
                    "current_message_id": None,
                    "last_message_at": None,
                    "activity_at": record.activity_at,
                    "created_at": record.created_at,
                    "updated_at": record.updated_at,
                    "deleted_at": record.deleted_at,
                }
            )
            self._counts["chats"] += 1
        if chat.remaining == 0:
            self._close_chat(repos, chat)

    def _add_message(
        self, repos: Repositories, chat: _OpenChat, record: MessageRecord, line: int
    ) -> None:
        chat.remaining -= 1
        if record.seq <= chat.last_seq:
            raise CorruptImportError("seq must increase within a chat", line, "seq")
        chat.last_seq = record.seq
        if record.id in chat.ids:
            raise CorruptImportError(f"message {record.id} appears twice", line, "id")
        if record.parent_id is not None and record.parent_id not in chat.ids:
            raise CorruptImportError(
                f"parent {record.parent_id} is not an earlier message of the chat",
                line,
                "parent_id",
            )
        self._check_message(record, line)
        new_id = record.id if self._keep_ids else uuid7()
        chat.ids[record.id] = new_id
        if chat.skip:
            return
        model_id = self._model_for(repos, record.model_id, line)
        if model_id is None and record.model_slug and record.role is Role.assistant:
            model_id = self._resolve_slug(repos, record.model_slug)
        row = record.model_dump(exclude={"type", "model_slug"})
        row.update(
            id=new_id,
            chat_id=chat.id,
            user_id=self._user_id,
            parent_id=None if record.parent_id is None else chat.ids[record.parent_id],
            model_id=model_id,
            role=record.role.value,
            status=record.status.value,
        )
        chat.rows.append(row)
        if len(chat.rows) >= BATCH_ROWS:
            self._flush(repos, chat)

    def _check_message(self, record: MessageRecord, line: int) -> None:
        budget = SizeBudget(self._config.max_content_chars, "the message")
        try:
            check_text(record.content, "content")
            budget.spend(len(record.content), "content")
            check_text(record.error, "error")
            check_text(record.reasoning, "reasoning")
            if record.metadata:
                check_json(record.metadata, "metadata", budget)
            if record.parts is not None:
                check_json(record.parts, "parts", budget)
                try:
                    parts_adapter.validate_python(record.parts)
                except ValidationError as exc:
                    error = exc.errors()[0]
                    where = ".".join(str(item) for item in error.get("loc", ()))
                    raise InvalidInputError(
                        f"invalid parts: {where}: {error.get('msg')}", "parts"
                    ) from None
        except InvalidInputError as exc:
            raise _corrupt(exc, line) from None

    def _flush(self, repos: Repositories, chat: _OpenChat) -> None:
        if not chat.rows:
            return
        if self._keep_ids:
            taken = repos.transfer.messages_taken([row["id"] for row in chat.rows])
            if taken:
                raise ImportConflictError("message", taken[0])
        repos.transfer.insert_messages(chat.rows)
        self._counts["messages"] += len(chat.rows)
        self._in_transaction += len(chat.rows)
        chat.rows = []
        if self._progress is not None:
            self._progress(self._counts["messages"])

    def _close_chat(self, repos: Repositories, chat: _OpenChat) -> None:
        self._chat = None
        record = chat.record
        current = record.current_message_id
        if current is not None and current not in chat.ids:
            raise CorruptImportError(
                f"current_message_id {current} is not a message of chat {record.id}",
                chat.line,
                "current_message_id",
            )
        if record.last_seq < chat.last_seq:
            raise CorruptImportError(
                "last_seq is below the seq of a message", chat.line, "last_seq"
            )
        self._in_transaction += 1
        if chat.skip:
            return
        self._flush(repos, chat)
        repos.transfer.finish_chat(
            self._user_id,
            chat.id,
            {
                "message_count": record.message_count,
                "last_seq": record.last_seq,
                "current_message_id": None if current is None else chat.ids[current],
                "last_message_at": record.last_message_at,
                "activity_at": record.activity_at,
                "updated_at": record.updated_at,
            },
        )


def fill_transaction(importer: Importer, repos: Repositories, reader: Reader) -> None:
    """Read and import until the importer asks for a commit (sync inputs)."""
    while True:
        batch = [] if importer.has_leftover else reader.read(READ_BATCH)
        if importer.step(repos, batch):
            return
