"""Export and import for :class:`~synergia_core.AsyncSynergia`.

The same work as the sync :class:`~synergia_core.services.TransferService`,
cut at the file: each page of rows is read (or each batch written) by a
call on a transaction held across the calls, and the file is read and
written in worker threads between them, so the event loop waits on
neither the database nor the file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import IO, Any, Protocol

from synergia_core.schemas import TransferReport
from synergia_core.services._checks import check_bool, check_user_id
from synergia_core.services._context import Scope, ServiceConfig
from synergia_core.services._importer import READ_BATCH, Importer
from synergia_core.services._transfer_records import Numbered, TextWriter
from synergia_core.services.transfer import (
    check_progress,
    export_chunks,
    import_owner,
    open_reader,
)

__all__ = ["Block", "export_async", "import_async"]


class _Runner(Protocol):
    async def __call__(self, work: Callable[[Scope], Any]) -> Any: ...


class Block(Protocol):
    """Opens one transaction held across calls (a snapshot when asked)."""

    def __call__(self, *, snapshot: bool) -> AbstractAsyncContextManager[_Runner]:
        """Open it; yields the runner of its calls."""
        ...


async def export_async(
    block: Block,
    fp: IO[Any],
    *,
    user_id: str,
    progress: Callable[[int], object] | None,
) -> TransferReport:
    """Export ``user_id``'s chats to ``fp`` (see ``TransferService.export_chats``)."""
    check_user_id(user_id)
    check_progress(progress)
    writer = TextWriter(fp)
    counts = {"chats": 0, "messages": 0, "models": 0}
    chunks: Iterator[str] | None = None

    def next_chunk(scope: Scope) -> str | None:
        nonlocal chunks
        with scope(write=False) as repos:
            if chunks is None:
                chunks = export_chunks(repos, user_id, counts)
            return next(chunks, None)

    async with block(snapshot=True) as run:
        while True:
            chunk = await run(next_chunk)
            if chunk is None:
                break
            await asyncio.to_thread(writer.write, chunk)
            if progress is not None:
                progress(counts["messages"])
    return TransferReport(**counts)


async def import_async(
    block: Block,
    config: ServiceConfig,
    fp: IO[Any],
    *,
    user_id: str | None,
    keep_ids: bool,
    format: object,
    progress: Callable[[int], object] | None,
) -> TransferReport:
    """Import ``fp`` (see ``TransferService.import_chats``)."""
    check_bool(keep_ids, "keep_ids")
    check_progress(progress)
    reader = await asyncio.to_thread(open_reader, fp, format)
    owner = import_owner(reader, user_id, format)
    importer = Importer(config, user_id=owner, keep_ids=keep_ids, require_end=format == "synergia")

    def step(batch: list[Numbered] | None) -> Callable[[Scope], bool]:
        def work(scope: Scope) -> bool:
            with scope(write=True, atomic=True) as repos:
                return importer.step(repos, batch)

        return work

    while not importer.done:
        async with block(snapshot=False) as run:
            while True:
                batch = (
                    []
                    if importer.has_leftover
                    else await asyncio.to_thread(reader.read, READ_BATCH)
                )
                committing = await run(step(batch))
                if progress is not None:
                    progress(importer.report().messages)
                if committing:
                    break
    return importer.report()
