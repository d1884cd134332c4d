"""Export and import throughput, and their peak memory, for one user's history.

Usage::

    python benchmarks/transfer.py                      # 10,000 and 100,000 messages, both backends
    python benchmarks/transfer.py --backend sqlite --messages 100000
    python benchmarks/transfer.py --smoke              # tiny, to check the harness

For each size: a ``synergia-chats`` file of one user is written to disk
(chats of 100 messages, every tenth message a regenerated sibling, every
assistant message priced), then, on a new database each time:

* ``import``: ``sy.import_chats`` of the file, timed; then again on another
  new database under ``tracemalloc``, for the peak of Python memory;
* ``export``: ``sy.export_chats`` of the user to a file, timed, then again
  under ``tracemalloc``; the export must equal the file byte for byte.

On PostgreSQL the shared server runs with ``autovacuum = off``: a table
that is never analyzed keeps the foreign-key checks planned for an empty
table, and an import into a new database then slows down as it grows
(quadratic). By default the benchmark does what autovacuum's analyze would:
one ``ANALYZE`` of the messages table once the import's first transaction
is committed; ``--no-analyze`` leaves it out.

Throughput is messages per second of wall time (the timed runs, without
``tracemalloc``, which slows Python down). Memory is flat when the peak does
not grow with the number of messages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from synergia_core import Synergia
from synergia_core.services._transfer_records import dumps, header

PG_ADMIN = os.environ.get(
    "SYNERGIA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
USER = "transfer-bench"
PER_CHAT = 100
MODEL_ID = uuid.UUID("0190a000-0000-7000-8000-0000000000aa")


@dataclass(frozen=True)
class Row:
    """One measurement."""

    backend: str
    messages: int
    operation: str
    seconds: float
    peak_mib: float

    def line(self) -> str:
        rate = self.messages / self.seconds if self.seconds else float("inf")
        return (
            f"| {self.backend} | {self.messages:,} | {self.operation} | {self.seconds:.2f} s "
            f"| {rate:,.0f} | {self.peak_mib:.1f} MiB |"
        )


def write_source(path: Path, messages: int) -> None:
    """A ``synergia-chats`` file of ``messages`` messages in chats of :data:`PER_CHAT`."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    chats = (messages + PER_CHAT - 1) // PER_CHAT
    tick = 0
    model = {
        "type": "model",
        "id": MODEL_ID,
        "provider": "openai",
        "name": "bench-model",
        "display_name": None,
        "input_price_per_million": Decimal("2.5"),
        "output_price_per_million": Decimal("10"),
        "cache_read_price_per_million": None,
        "cache_write_price_per_million": None,
        "cache_write_1h_price_per_million": None,
        "tiers": None,
        "aliases": None,
        "context_window": 128000,
        "max_output_tokens": None,
        "is_enabled": True,
        "metadata": {},
        "created_at": start,
        "updated_at": start,
        "deleted_at": None,
    }
    with path.open("w", encoding="utf-8") as fp:
        fp.write(dumps(header(USER)))
        fp.write(dumps(model))
        left = messages
        for n in range(chats):
            size = min(PER_CHAT, left)
            left -= size
            chat_id = uuid.UUID(int=(n + 1) << 64 | 0x7000_8000_0000_0000)
            rows = []
            parent: uuid.UUID | None = None
            grandparent: uuid.UUID | None = None
            for seq in range(1, size + 1):
                tick += 1
                moment = start + dt.timedelta(milliseconds=tick)
                assistant = seq % 2 == 0
                sibling = seq % 10 == 0  # a regeneration: the previous answer's sibling
                message_id = uuid.UUID(int=(n + 1) << 64 | seq)
                rows.append(
                    {
                        "type": "message",
                        "id": message_id,
                        "parent_id": grandparent if sibling else parent,
                        "seq": seq,
                        "role": "assistant" if assistant else "user",
                        "content": f"message {seq} of chat {n} " + "lorem ipsum dolor " * 10,
                        "status": "complete",
                        "model_id": MODEL_ID if assistant else None,
                        "input_tokens": 1000 + seq if assistant else 0,
                        "output_tokens": 300 if assistant else 0,
                        "cache_read_tokens": 0,
                        "cache_write_tokens": 0,
                        "reasoning_tokens": 0,
                        "cache_write_1h_tokens": 0,
                        "cost": Decimal("0.0055") if assistant else Decimal(0),
                        "error": None,
                        "parts": None,
                        "reasoning": None,
                        "metadata": {},
                        "created_at": moment,
                        "updated_at": moment,
                        "deleted_at": None,
                    }
                )
                if not sibling:
                    grandparent, parent = parent, message_id
            last = start + dt.timedelta(milliseconds=tick)
            fp.write(
                dumps(
                    {
                        "type": "chat",
                        "id": chat_id,
                        "title": f"chat {n}",
                        "model_id": MODEL_ID,
                        "system_prompt": None,
                        "metadata": {},
                        "is_pinned": False,
                        "is_archived": False,
                        "message_count": size,
                        "last_seq": size,
                        "current_message_id": rows[-1]["id"] if rows else None,
                        "last_message_at": last if rows else None,
                        "activity_at": last,
                        "created_at": start,
                        "updated_at": last,
                        "deleted_at": None,
                        "messages": size,
                    }
                )
            )
            fp.writelines(dumps(row) for row in rows)
        fp.write(dumps({"type": "end", "chats": chats, "messages": messages, "models": 1}))


def _migrate(url: str) -> None:
    with Synergia(url) as sy:
        sy.migrate()


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """The URL of a new, migrated database (dropped afterwards)."""
    if backend == "sqlite":
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        _migrate(url)
        try:
            yield url
        finally:
            path.unlink(missing_ok=True)
        return
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"synergia_transfer_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def timed(function: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def peak_mib(function: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def run(backend: str, messages: int, workdir: Path, *, analyze: bool) -> list[Row]:
    source = workdir / f"source-{messages}.jsonl"
    write_source(source, messages)
    target = workdir / "export.jsonl"
    rows: list[Row] = []

    def import_into(url: str) -> None:
        analyzed: list[bool] = []
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

        def progress(done: int) -> None:
            # autovacuum's analyze, once the first transaction is in
            if analyze and backend == "postgresql" and not analyzed and done > 5000:
                analyzed.append(True)
                with engine.connect() as connection:
                    connection.exec_driver_sql("ANALYZE synergia_messages")

        try:
            with Synergia(url) as sy, source.open("rb") as fp:
                report = sy.import_chats(fp, progress=progress)
        finally:
            engine.dispose()
        assert report.messages == messages, report

    with database(backend, workdir) as url:
        seconds = timed(lambda: import_into(url))
    with database(backend, workdir) as url:
        peak = peak_mib(lambda: import_into(url))
        label = "import" if analyze or backend == "sqlite" else "import (no ANALYZE)"
        rows.append(Row(backend, messages, label, seconds, peak))
        with Synergia(url) as sy:

            def export() -> None:
                with target.open("wb") as fp:
                    sy.export_chats(fp, user_id=USER)

            sy.ensure_schema()
            seconds = timed(export)
            if target.read_bytes() != source.read_bytes():
                raise SystemExit("the export differs from the file imported")
            peak = peak_mib(export)
        rows.append(Row(backend, messages, "export", seconds, peak))
    source.unlink()
    target.unlink()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--messages", type=int, action="append", help="sizes (repeatable)")
    parser.add_argument("--smoke", action="store_true", help="a tiny run")
    parser.add_argument(
        "--no-analyze", action="store_true", help="PostgreSQL: no ANALYZE during the import"
    )
    args = parser.parse_args(argv)
    sizes = args.messages or ([250] if args.smoke else [10_000, 100_000])
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    print("| backend | messages | operation | wall time | messages/s | peak Python memory |")
    print("|---|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for size in sizes:
                for row in run(backend, size, Path(tmp), analyze=not args.no_analyze):
                    print(row.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
