"""TransferService: a user's chats out to a file, and files back in.

``export_chats`` writes the ``synergia-chats`` JSON Lines format (see
:mod:`synergia_core.services._transfer_records`) from keyset pages over the
database: a page of chats, then their messages a page at a time, so memory
holds a page, never a history. ``import_chats`` reads that format, or a
ChatGPT ``conversations.json``, and writes it in transactions of bounded
size (see :mod:`synergia_core.services._importer`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal

from synergia_core.errors import ConcurrentUpdateError, InvalidInputError
from synergia_core.repositories.protocols import Repositories
from synergia_core.schemas import TransferReport
from synergia_core.services._base import Service
from synergia_core.services._checks import check_bool, check_user_id
from synergia_core.services._importer import Importer, fill_transaction
from synergia_core.services._transfer_records import (
    LineReader,
    Reader,
    TextWriter,
    dumps,
    header,
)

__all__ = [
    "ImportFormat",
    "TransferService",
    "check_progress",
    "export_chunks",
    "import_owner",
    "open_reader",
]

ImportFormat = Literal["synergia", "chatgpt"]

CHAT_PAGE = 200
"""Chats read per page of an export."""
MESSAGE_PAGE = 1000
"""Messages read per page of an export (and written per chunk)."""

Progress = Callable[[int], object]


def check_progress(progress: object) -> None:
    if progress is not None and not callable(progress):
        raise InvalidInputError("progress must be callable", field="progress")


def _messages(
    repos: Repositories, user_id: str, chat_ids: list[uuid.UUID]
) -> Iterator[dict[str, Any]]:
    """The messages of ``chat_ids``, by chat then seq, a page at a time."""
    after: tuple[uuid.UUID, int] | None = None
    while True:
        page = repos.transfer.messages_page(user_id, chat_ids, after=after, limit=MESSAGE_PAGE)
        if len(page) < MESSAGE_PAGE:
            yield from page
            return
        after = (page[-1]["chat_id"], page[-1]["seq"])  # before the rows are handed out
        yield from page


def export_chunks(repos: Repositories, user_id: str, counts: dict[str, int]) -> Iterator[str]:
    """The lines of an export of ``user_id``'s chats, in chunks of about
    :data:`MESSAGE_PAGE` lines; ``counts`` is filled in as they go.

    Raises:
        ConcurrentUpdateError: The chats changed while they were read (only
            outside a snapshot; the facades export from one).
    """
    yield dumps(header(user_id))
    models = repos.transfer.referenced_models(user_id)
    counts["models"] = len(models)
    yield "".join(dumps({"type": "model", **model}) for model in models)
    after: uuid.UUID | None = None
    out: list[str] = []
    while True:
        chats = repos.transfer.chats_page(user_id, after=after, limit=CHAT_PAGE)
        if not chats:
            break
        chat_ids = [chat["id"] for chat in chats]
        sizes = repos.transfer.message_counts(user_id, chat_ids)
        rows = _messages(repos, user_id, chat_ids)
        for chat in chats:
            size = sizes.get(chat["id"], 0)
            out.append(dumps({"type": "chat", **chat, "messages": size}))
            counts["chats"] += 1
            for _ in range(size):
                message = next(rows, None)
                if message is None or message.pop("chat_id") != chat["id"]:
                    raise ConcurrentUpdateError("chat", chat["id"])
                out.append(dumps({"type": "message", **message}))
                counts["messages"] += 1
                if len(out) >= MESSAGE_PAGE:
                    yield "".join(out)
                    out = []
        if next(rows, None) is not None:
            raise ConcurrentUpdateError("chat", chat_ids[-1])
        after = chat_ids[-1]
    out.append(dumps({"type": "end", **counts}))
    yield "".join(out)


def open_reader(fp: IO[Any], format: object) -> Reader:
    """The reader of ``fp`` in ``format`` (``"synergia"`` or ``"chatgpt"``).

    Raises:
        InvalidInputError: An unknown format, or ``fp`` is not readable.
        CorruptImportError: The input does not start as ``format`` does.
    """
    if format == "synergia":
        return LineReader(fp)
    if format == "chatgpt":
        from synergia_core.services._chatgpt import ChatGPTReader

        return ChatGPTReader(fp)
    raise InvalidInputError('format must be "synergia" or "chatgpt"', field="format")


def import_owner(reader: Reader, user_id: object, format: object) -> str:
    """Who the imported chats belong to: ``user_id``, else the file's owner.

    Raises:
        InvalidInputError: ``user_id`` is invalid, or missing where the file
            names no owner (always for ChatGPT).
    """
    if user_id is None:
        if format == "chatgpt" or reader.user_id is None:
            raise InvalidInputError(
                "user_id is required: the input does not name the chats' owner", "user_id"
            )
        user_id = reader.user_id
    return check_user_id(user_id)


class TransferService(Service):
    """Export a user's chats to JSON Lines; import them, or a ChatGPT export."""

    def export_chats(
        self, fp: IO[Any], *, user_id: str, progress: Progress | None = None
    ) -> TransferReport:
        """Write every chat of ``user_id`` (live and soft-deleted, not purged),
        every message of every branch, and the catalog entries they name, to
        ``fp`` (a text or binary file object) as ``synergia-chats`` JSON Lines.

        The rows are read in one transaction (a snapshot, through the
        facades), a page at a time: memory stays flat whatever the history.

        Args:
            fp: Where to write (``open(path, "w")``, ``open(path, "wb")``, a
                ``StringIO``...).
            user_id: Whose chats.
            progress: Called with the number of messages written so far.

        Returns:
            How many chats, messages and catalog entries were written.

        Raises:
            InvalidInputError: ``user_id`` is invalid or ``fp`` cannot be written to.
        """
        check_user_id(user_id)
        check_progress(progress)
        writer = TextWriter(fp)
        counts = {"chats": 0, "messages": 0, "models": 0}
        with self._scope(write=False, atomic=True, user_id=user_id) as repos:
            for chunk in export_chunks(repos, user_id, counts):
                writer.write(chunk)
                if progress is not None:
                    progress(counts["messages"])
        return TransferReport(**counts)

    def import_chats(
        self,
        fp: IO[Any],
        *,
        user_id: str | None = None,
        keep_ids: bool = True,
        format: ImportFormat = "synergia",
        progress: Progress | None = None,
    ) -> TransferReport:
        """Read chats from ``fp`` (text or binary) into the database.

        ``format="synergia"`` reads what :meth:`export_chats` wrote: an export
        of the import is byte-identical (ids, trees, current leaves, usage,
        costs, times). ``format="chatgpt"`` reads a ChatGPT data export's
        ``conversations.json`` (see ``docs/export.md``).

        Catalog entries are upserted by provider and name (created with their
        own id when free). Chats are written in transactions of bounded size
        that never end inside a chat: an error leaves no part of a chat, and
        the chats of earlier transactions in place.

        Args:
            fp: What to read.
            user_id: The owner of the imported chats; by default the owner the
                file names. Required for ``format="chatgpt"``.
            keep_ids: Keep the file's chat and message ids. A chat whose id
                the user already has is skipped (so an interrupted import can
                simply be run again); an id of another user's chat or of
                another chat's message is :class:`ImportConflictError`.
                ``False``: every chat and message gets a new id (the tree and
                the current leaf are kept), so a file can be imported twice.
            format: ``"synergia"`` or ``"chatgpt"``.
            progress: Called with the number of messages imported so far.

        Returns:
            How many chats, messages and catalog entries were imported, and
            how many chats were already there.

        Raises:
            CorruptImportError: The input is not valid ``format`` (not JSON, a
                record breaking a rule, a file cut short), naming the line.
            ImportConflictError: An id conflict (see ``keep_ids``).
            InvalidInputError: An invalid argument.
        """
        check_bool(keep_ids, "keep_ids")
        check_progress(progress)
        reader = open_reader(fp, format)
        owner = import_owner(reader, user_id, format)
        importer = Importer(
            self._config,
            user_id=owner,
            keep_ids=keep_ids,
            require_end=format == "synergia",
            progress=progress,
        )
        while not importer.done:
            with self._scope(write=True, atomic=True, user_id=owner) as repos:
                fill_transaction(importer, repos, reader)
        return importer.report()
