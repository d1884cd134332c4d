"""synergia-core against the raw driver floor, in one process, interleaved.

Usage::

    python benchmarks/run.py            # the full table (make bench)
    python benchmarks/run.py --quick    # smaller data, fewer rounds (make bench-quick)
    python benchmarks/run.py --backend postgresql --markdown

Each workload runs synergia-core and the physical floor
(``benchmarks/floor.py``: the same logical work as one prepared statement per
operation, in autocommit, on bare psycopg 3 or the sqlite3 module) on the same
database, interleaved round by round after a warm-up; the table shows the
median time per operation of each, their ratio, and the issue's target for
that ratio, met or missed. Before timing, each workload checks that the
floor and the library return the same rows. PostgreSQL is
``$SYNERGIA_TEST_POSTGRES_URL`` (default: the local server); a scratch
database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synergia_core
from floor import PostgresFloor, SqliteFloor
from synergia_core import (
    AsyncSynergia,
    ChatCreate,
    MessageCreate,
    ModelCreate,
    Synergia,
    Usage,
)
from synergia_core.db import create_engine
from synergia_core.ids import uuid7
from synergia_core.repositories.sql._rows import chats as chats_table
from synergia_core.repositories.sql._rows import messages as messages_table

PG_ADMIN = os.environ.get(
    "SYNERGIA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
USER = "bench"


@dataclass(frozen=True)
class Sizes:
    """How much data and how many rounds a run uses."""

    rounds: int
    appends: int  # W1: messages appended per implementation
    reads: int  # operations per round of the read workloads
    big: int  # W2/W3/W5 chat size
    scale: tuple[int, ...]  # chat sizes of the flatness check
    chats: int  # W4: chats of one user
    usage_rows: int  # W6: messages summed


FULL = Sizes(
    rounds=11,
    appends=2200,
    reads=30,
    big=10_000,
    scale=(1_000, 10_000, 100_000),
    chats=5_000,
    usage_rows=100_000,
)
SMOKE = Sizes(rounds=1, appends=10, reads=2, big=200, scale=(100, 200), chats=450, usage_rows=200)
"""Tiny sizes: the test suite runs the whole harness with them to keep it working."""
QUICK = Sizes(
    rounds=5,
    appends=300,
    reads=10,
    big=10_000,
    scale=(1_000, 10_000),
    chats=5_000,
    usage_rows=20_000,
)


TARGETS: dict[str, dict[str, float]] = {
    "postgresql": {"append": 1.5, "newest": 3.0, "all": 5.0, "chats": 3.0},
    "sqlite": {"append": 2.0, "newest": 2.0, "all": 5.0, "async": 1.5},
}
"""Issue 12's targets, by backend and kind of workload: the most a call may
cost as a multiple of the floor (``async``: of the sync facade, same run)."""


@dataclass
class Row:
    """One line of the result table.

    ``ratio`` is the library's time over the floor's, as the median of the
    per-round ratios (each round times both back to back, so a change of the
    machine's load between rounds cancels out); the two time columns are
    the medians of each. A target applies to ``ratio``, or, when the row has
    a ``baseline_ratio`` (the async rows: over the sync facade, measured in
    the same rounds), to that."""

    workload: str
    backend: str
    library_us: float
    floor_us: float | None
    ratio: float | None
    target: float | None = None
    note: str = ""
    baseline_ratio: float | None = None
    baseline: str = "floor"

    @classmethod
    def measured(
        cls,
        workload: str,
        backend: str,
        timing: Timing,
        target: float | None = None,
        note: str = "",
        library: str = "lib",
        floor: str = "floor",
    ) -> Row:
        """The row of contender ``library`` against ``floor`` in ``timing``."""
        return cls(
            workload,
            backend,
            timing[library] * 1e6,
            timing[floor] * 1e6,
            timing.ratio(library, floor),
            target,
            note,
        )

    @property
    def target_ratio(self) -> float | None:
        """The ratio the target is about."""
        return self.ratio if self.baseline_ratio is None else self.baseline_ratio

    @property
    def met(self) -> bool | None:
        """Whether the target is met (``None``: no target on this line)."""
        measured = self.target_ratio
        if self.target is None or measured is None:
            return None
        return measured <= self.target


class Timing:
    """Seconds per operation of each contender, one sample per round."""

    def __init__(self, samples: dict[str, list[float]]) -> None:
        self.samples = samples

    def __getitem__(self, name: str) -> float:
        """The median seconds per operation of ``name``."""
        return statistics.median(self.samples[name])

    def ratio(self, name: str, other: str) -> float:
        """The median over rounds of ``name``'s time over ``other``'s."""
        pairs = zip(self.samples[name], self.samples[other], strict=True)
        return statistics.median(mine / theirs for mine, theirs in pairs)


def target(backend: str, kind: str) -> float | None:
    """The target of ``kind`` on ``backend``, if the issue sets one."""
    return TARGETS.get(backend, {}).get(kind)


Batch = Callable[[int], object]
"""Runs ``n`` operations of one contender back to back."""


def each(function: Callable[[], object]) -> Batch:
    """A batch of calls of ``function``."""

    def batch(n: int) -> None:
        for _ in range(n):
            function()

    return batch


WARM_UP = 8
"""Untimed operations of each contender first: caches, pool, and psycopg's
automatic preparation (a statement is prepared on its 6th execution)."""


def median_per_op(contenders: dict[str, Batch], rounds: int, per_round: int) -> Timing:
    """Seconds per operation of each contender, interleaved round by round
    (the order alternates, so a contender is not always first after
    another one's garbage)."""
    for batch in contenders.values():
        batch(WARM_UP if per_round > 1 else 1)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_number in range(rounds):
        order = names if round_number % 2 == 0 else names[::-1]
        for name in order:
            batch = contenders[name]
            gc.collect()
            started = time.perf_counter()
            batch(per_round)
            samples[name].append((time.perf_counter() - started) / per_round)
    return Timing(samples)


def peak_kib(function: Callable[[], object]) -> float:
    """Peak Python memory allocated while ``function`` runs, in KiB."""
    gc.collect()
    tracemalloc.start()
    try:
        function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024


def load_chain(
    engine: sa.Engine,
    chat_id: uuid.UUID,
    size: int,
    model_id: uuid.UUID | None,
    spread_days: int = 0,
) -> None:
    """Append ``size`` messages to a chat in bulk, laid out as the library lays them out.

    On PostgreSQL the load runs with ``session_replication_role = replica``,
    which skips foreign-key triggers: the rows are consistent by construction,
    and checking each parent link with the plan PostgreSQL caches for an empty
    table makes a bulk load into a fresh table quadratic.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        count, parent = connection.execute(
            sa.select(chats_table.c.message_count, chats_table.c.current_message_id).where(
                chats_table.c.id == chat_id
            )
        ).one()
        now = dt.datetime.now(dt.timezone.utc)
        batch: list[dict[str, Any]] = []
        for seq in range(count + 1, count + size + 1):
            message_id = uuid7()
            priced = model_id is not None and seq % 2 == 0
            batch.append(
                {
                    "id": message_id,
                    "chat_id": chat_id,
                    "user_id": USER,
                    "parent_id": parent,
                    "seq": seq,
                    "role": "assistant" if seq % 2 == 0 else "user",
                    "content": f"message number {seq} " + "lorem ipsum " * 8,
                    "status": "complete",
                    "model_id": model_id if priced else None,
                    "input_tokens": 100 + seq % 50 if priced else 0,
                    "output_tokens": 200 + seq % 70 if priced else 0,
                    "cache_read_tokens": 0,
                    "cache_write_tokens": 0,
                    "reasoning_tokens": 0,
                    "cost": Decimal("0.0012345") if priced else Decimal(0),
                    "error": None,
                    "parts": None,
                    "metadata": {},
                    "created_at": now
                    - dt.timedelta(days=(seq % spread_days) if spread_days else 0),
                    "updated_at": now,
                }
            )
            parent = message_id
            if len(batch) == 5000:
                connection.execute(sa.insert(messages_table), batch)
                batch.clear()
        if batch:
            connection.execute(sa.insert(messages_table), batch)
        connection.execute(
            sa.update(chats_table)
            .where(chats_table.c.id == chat_id)
            .values(
                message_count=count + size,
                last_seq=count + size,
                current_message_id=parent,
                last_message_at=now,
                activity_at=now,
            )
        )


def load_chats(engine: sa.Engine, count: int) -> None:
    """Give the benchmark user ``count`` chats with distinct activity times."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    rows = []
    for n in range(count):
        moment = start + dt.timedelta(seconds=n)
        rows.append(
            {
                "id": uuid7(),
                "user_id": "lister",
                "title": f"chat {n}",
                "model_id": None,
                "system_prompt": None,
                "metadata": {},
                "is_pinned": False,
                "is_archived": False,
                "message_count": 0,
                "current_message_id": None,
                "last_message_at": None,
                "activity_at": moment,
                "created_at": moment,
                "updated_at": moment,
                "deleted_at": None,
            }
        )
    with engine.begin() as connection:
        for first in range(0, len(rows), 5000):
            connection.execute(sa.insert(chats_table), rows[first : first + 5000])


class Backend:
    """A scratch database of one backend, with both contenders connected to it."""

    def __init__(self, name: str, sizes: Sizes) -> None:
        self.name = name
        self.sizes = sizes
        self._tmp = tempfile.TemporaryDirectory()
        self._admin: sa.Engine | None = None
        if name == "sqlite":
            path = Path(self._tmp.name) / "bench.db"
            self.url = f"sqlite:///{path}"
            self.floor: PostgresFloor | SqliteFloor
            synergia_core.migrate(self.url)
            self.floor = SqliteFloor(str(path))
        else:
            self._admin = sa.create_engine(
                PG_ADMIN, isolation_level="AUTOCOMMIT", poolclass=NullPool
            )
            self._database = f"synergia_bench_{os.getpid()}_{secrets.token_hex(3)}"
            with self._admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{self._database}"')
            url = sa.make_url(PG_ADMIN).set(database=self._database)
            self.url = url.render_as_string(hide_password=False)
            synergia_core.migrate(self.url)
            self.floor = PostgresFloor(url.set(drivername="postgresql").render_as_string(False))
        self.sy = Synergia(self.url)
        self.loader = create_engine(self.url)

    def new_chat(self, size: int = 0, model_id: uuid.UUID | None = None) -> uuid.UUID:
        chat = self.sy.chats.create(ChatCreate(user_id=USER, title=f"{size} messages"))
        if size:
            load_chain(self.loader, chat.id, size, model_id)
        return chat.id

    def analyze(self) -> None:
        if self.name == "postgresql":
            with self.loader.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT")
                connection.exec_driver_sql("VACUUM ANALYZE")
        else:
            with self.loader.begin() as connection:
                connection.exec_driver_sql("ANALYZE")

    def close(self) -> None:
        self.sy.close()
        self.floor.close()
        self.loader.dispose()
        if self._admin is not None:
            with self._admin.connect() as connection:
                connection.exec_driver_sql(
                    f'DROP DATABASE IF EXISTS "{self._database}" WITH (FORCE)'
                )
            self._admin.dispose()
        self._tmp.cleanup()


def _ids(rows: Sequence[Sequence[Any]]) -> list[uuid.UUID]:
    """The ids (first column) of the floor's rows: UUIDs on PostgreSQL, hex text on SQLite."""
    return [value if isinstance(value, uuid.UUID) else uuid.UUID(value) for value, *_ in rows]


def check(workload: str, library: Sequence[uuid.UUID], floor: Sequence[uuid.UUID]) -> None:
    """The floor did the same logical work: it returned the same rows, in the same order."""
    if list(library) != list(floor):
        raise AssertionError(
            f"{workload}: the floor and the library disagree "
            f"({len(library)} rows against {len(floor)})"
        )


def run_backend(name: str, sizes: Sizes, log: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    backend = Backend(name, sizes)
    sy, floor = backend.sy, backend.floor
    try:
        log(f"[{name}] loading data")
        model = sy.models.create(
            ModelCreate.model_validate(
                {"provider": "bench", "name": "m", "price_per_million_tokens": "2.5"}
            )
        )
        big = {size: backend.new_chat(size) for size in sorted({sizes.big, *sizes.scale})}
        twins = {size: backend.new_chat(size) for size in sizes.scale}  # the floor's appends
        load_chats(backend.loader, sizes.chats)
        usage_chat = backend.new_chat()
        load_chain(backend.loader, usage_chat, sizes.usage_rows, model.id, spread_days=30)
        backend.analyze()
        user_says = MessageCreate(role="user", content="How long does the Colosseum tour take?")
        appending, newest, whole, listing = (
            target(name, kind) for kind in ("append", "newest", "all", "chats")
        )

        log(f"[{name}] W1 append")
        lib_chat, floor_chat = backend.new_chat(), backend.new_chat()
        per_round = max(1, sizes.appends // sizes.rounds)
        w1 = median_per_op(
            {
                "lib": each(lambda: sy.messages.add(lib_chat, user_says, user_id=USER)),
                "floor": each(lambda: floor.append(floor_chat, USER, user_says.content or "")),
            },
            sizes.rounds,
            per_round,
        )
        # The floor's appends kept its chat row as the library keeps it.
        floor_row = sy.chats.get(floor_chat, user_id=USER)
        seq = floor.append(floor_chat, USER, user_says.content or "")
        assert seq == floor_row.message_count + 1, (seq, floor_row.message_count)
        thread = sy.messages.thread(floor_chat, user_id=USER, limit=2)
        assert [m.seq for m in thread] == [seq - 1, seq], "the floor's append moved no leaf"
        rows.append(Row.measured("W1 append, one commit each", name, w1, appending))

        log(f"[{name}] W1 priced append under a budget")
        # A reply with usage by a user with a monthly budget: the library
        # reads the model's prices with the budget and the month's spend,
        # then appends and adds the cost to the spend row in one statement.
        # The usage chat above gives the month stored costs to sum once.
        sy.budgets.set(USER, "1000000", period="month")
        tokens = (120, 80)
        reply = MessageCreate(
            role="assistant",
            content="About an hour, arena floor included.",
            model_id=model.id,
            usage=Usage(input_tokens=tokens[0], output_tokens=tokens[1]),
        )
        lib_priced, floor_priced = backend.new_chat(), backend.new_chat()
        sy.messages.add(lib_priced, reply, user_id=USER)  # makes the month's spend row
        w1p = median_per_op(
            {
                "lib": each(lambda: sy.messages.add(lib_priced, reply, user_id=USER)),
                "floor": each(
                    lambda: floor.priced_append(
                        floor_priced, USER, reply.content or "", model.id, tokens
                    )
                ),
            },
            sizes.rounds,
            per_round,
        )
        # Both recorded every cost: the spend row equals the stored costs.
        status = sy.budgets.status(USER)
        month = sy.usage.totals(user_id=USER, since=status.period_start, until=status.period_end)
        assert status.spent == month.cost, (status.spent, month.cost)
        sy.budgets.delete(USER)
        rows.append(Row.measured("W1 priced append under a budget", name, w1p, appending))

        log(f"[{name}] W2/W3 reads")
        chat = big[sizes.big]
        check(
            "W2",
            [m.id for m in sy.messages.list(chat, user_id=USER, limit=50).items],
            _ids(floor.tail(chat, USER, 50)),
        )
        w2 = median_per_op(
            {
                "lib": each(lambda: sy.messages.list(chat, user_id=USER, limit=50)),
                "floor": each(lambda: floor.tail(chat, USER, 50)),
            },
            sizes.rounds,
            sizes.reads,
        )
        rows.append(Row.measured(f"W2 newest 50 of {sizes.big:,} (list)", name, w2, newest))
        check(
            "W2 thread",
            [m.id for m in sy.messages.thread(chat, user_id=USER, limit=50)],
            _ids(floor.thread(chat, USER, 50)),
        )
        w2t = median_per_op(
            {
                "lib": each(lambda: sy.messages.thread(chat, user_id=USER, limit=50)),
                "floor": each(lambda: floor.thread(chat, USER, 50)),
            },
            sizes.rounds,
            sizes.reads,
        )
        rows.append(Row.measured(f"W2 thread(limit=50) of {sizes.big:,}", name, w2t, newest))
        check("W3", _all_ids(sy, chat), _ids(floor.full(chat, USER)))
        full_rounds = max(3, sizes.rounds)
        w3 = median_per_op(
            {
                "lib": each(lambda: _read_all(sy, chat)),
                "floor": each(lambda: floor.full(chat, USER)),
            },
            full_rounds,
            1,
        )
        lib_peak = peak_kib(lambda: _read_all(sy, chat))
        floor_peak = peak_kib(lambda: floor.full(chat, USER))
        rows.append(
            Row.measured(
                f"W3 all {sizes.big:,} messages",
                name,
                w3,
                whole,
                f"peak {lib_peak / 1024:.1f} MiB vs {floor_peak / 1024:.1f} MiB",
            )
        )

        log(f"[{name}] W4 chat list")
        page_200_cursor = None
        for _ in range(199):
            page = sy.chats.list(user_id="lister", limit=20, cursor=page_200_cursor)
            page_200_cursor = page.next_cursor
        last = page.items[-1]
        key = (last.last_message_at or last.created_at, last.id)
        check(
            "W4 page 1",
            [c.id for c in sy.chats.list(user_id="lister", limit=20).items],
            _ids(floor.chats("lister", 21, None))[:20],
        )
        check(
            "W4 page 200",
            [c.id for c in sy.chats.list(user_id="lister", limit=20, cursor=page_200_cursor).items],
            _ids(floor.chats("lister", 21, key))[:20],
        )
        w4 = median_per_op(
            {
                "lib1": each(lambda: sy.chats.list(user_id="lister", limit=20)),
                "lib200": each(
                    lambda: sy.chats.list(user_id="lister", limit=20, cursor=page_200_cursor)
                ),
                "floor1": each(lambda: floor.chats("lister", 21, None)),
                "floor200": each(lambda: floor.chats("lister", 21, key)),
            },
            sizes.rounds,
            sizes.reads,
        )
        rows.append(
            Row.measured(
                f"W4 chat list page 1 of {sizes.chats:,}",
                name,
                w4,
                listing,
                library="lib1",
                floor="floor1",
            )
        )
        rows.append(
            Row.measured(
                "W4 chat list page 200",
                name,
                w4,
                listing,
                f"page 200 / page 1 = {w4.ratio('lib200', 'lib1'):.2f}",
                library="lib200",
                floor="floor200",
            )
        )

        log(f"[{name}] W5 and scale")
        for size in sizes.scale:
            target_chat, twin = big[size], twins[size]
            w5 = median_per_op(
                {
                    "lib": each(partial(sy.messages.add, target_chat, user_says, user_id=USER)),
                    "floor": each(partial(floor.append, twin, USER, user_says.content or "")),
                },
                sizes.rounds,
                sizes.reads,
            )
            rows.append(Row.measured(f"W5 one append onto {size:,}", name, w5, appending))
            check(
                f"W2 of {size:,}",
                [m.id for m in sy.messages.list(target_chat, user_id=USER, limit=50).items],
                _ids(floor.tail(target_chat, USER, 50)),
            )
            w2s = median_per_op(
                {
                    "lib": each(partial(sy.messages.list, target_chat, user_id=USER, limit=50)),
                    "floor": each(partial(floor.tail, target_chat, USER, 50)),
                },
                sizes.rounds,
                sizes.reads,
            )
            rows.append(Row.measured(f"W2 newest 50 of {size:,}", name, w2s, newest))

        log(f"[{name}] W6 usage breakdown")
        by_model = {
            None if row.key is None else str(row.key): row for row in sy.usage.breakdown("model")
        }
        for model_id, count, *_, cost in floor.by_model():
            found = by_model[None if model_id is None else str(_ids([(model_id,)])[0])]
            assert (found.message_count, found.cost) == (count, Decimal(cost)), (found, count, cost)
        w6 = median_per_op(
            {
                "lib": each(lambda: sy.usage.breakdown("model")),
                "floor": each(floor.by_model),
            },
            max(3, sizes.rounds // 2),
            1,
        )
        rows.append(
            Row.measured(f"W6 breakdown by model, {sizes.usage_rows:,}+ messages", name, w6)
        )

        log(f"[{name}] async W1/W2")
        rows.extend(run_async(backend, big[sizes.big], sizes))
    finally:
        backend.close()
    return rows


def _read_all(sy: Synergia, chat: uuid.UUID) -> int:
    """Every message of a chat through the public API, a page of 1,000 at a time."""
    count, cursor = 0, None
    while True:
        page = sy.messages.list(chat, user_id=USER, limit=1000, cursor=cursor)
        count += len(page.items)
        if page.next_cursor is None:
            return count
        cursor = page.next_cursor


def _all_ids(sy: Synergia, chat: uuid.UUID) -> list[uuid.UUID]:
    """The ids :func:`_read_all` reads, oldest first."""
    pages: list[list[uuid.UUID]] = []
    cursor = None
    while True:
        page = sy.messages.list(chat, user_id=USER, limit=1000, cursor=cursor)
        pages.append([m.id for m in page.items])
        if page.next_cursor is None:
            return [message for items in reversed(pages) for message in items]
        cursor = page.next_cursor


def run_async(backend: Backend, chat: uuid.UUID, sizes: Sizes) -> list[Row]:
    """W1 and W2 through AsyncSynergia, interleaved with the sync facade and the floor.

    The async calls run on one event loop kept for the whole measurement: a
    batch of ``n`` awaited calls is one ``run_until_complete``."""
    floor, sy = backend.floor, backend.sy
    user_says = MessageCreate(role="user", content="How long does the Colosseum tour take?")
    loop = asyncio.new_event_loop()
    try:
        asy = loop.run_until_complete(_open_async(backend.url))
        try:
            async_chat = loop.run_until_complete(asy.chats.create(ChatCreate(user_id=USER))).id
            sync_chat, floor_chat = backend.new_chat(), backend.new_chat()

            async def add_n(n: int) -> None:
                for _ in range(n):
                    await asy.messages.add(async_chat, user_says, user_id=USER)

            async def list_n(n: int) -> None:
                for _ in range(n):
                    await asy.messages.list(chat, user_id=USER, limit=50)

            w1 = median_per_op(
                {
                    "async": lambda n: loop.run_until_complete(add_n(n)),
                    "sync": each(lambda: sy.messages.add(sync_chat, user_says, user_id=USER)),
                    "floor": each(lambda: floor.append(floor_chat, USER, user_says.content or "")),
                },
                sizes.rounds,
                max(1, sizes.appends // sizes.rounds),
            )
            w2 = median_per_op(
                {
                    "async": lambda n: loop.run_until_complete(list_n(n)),
                    "sync": each(lambda: sy.messages.list(chat, user_id=USER, limit=50)),
                    "floor": each(lambda: floor.tail(chat, USER, 50)),
                },
                sizes.rounds,
                sizes.reads,
            )
        finally:
            loop.run_until_complete(asy.close())
    finally:
        loop.close()
    goal = target(backend.name, "async")
    return [
        Row(
            f"async W{number} {label}",
            backend.name,
            result["async"] * 1e6,
            result["floor"] * 1e6,
            result.ratio("async", "floor"),
            goal,
            f"{result.ratio('async', 'sync'):.2f}x the sync facade ({_us(result['sync'] * 1e6)})",
            baseline_ratio=result.ratio("async", "sync"),
            baseline="sync",
        )
        for number, label, result in ((1, "append", w1), (2, "newest 50", w2))
    ]


async def _open_async(url: str) -> AsyncSynergia:
    """An AsyncSynergia made inside the event loop that will run it."""
    return AsyncSynergia(url)


def render(rows: list[Row], markdown: bool) -> str:
    header = ("workload", "backend", "synergia", "floor", "ratio", "target", "status", "note")
    lines = []
    table = [
        (
            row.workload,
            row.backend,
            _us(row.library_us),
            _us(row.floor_us) if row.floor_us else "-",
            f"{row.ratio:.2f}x" if row.ratio else "-",
            "-"
            if row.target is None
            else f"<= {row.target}x" + ("" if row.baseline == "floor" else f" {row.baseline}"),
            {None: "-", True: "met", False: "MISSED"}[row.met],
            row.note,
        )
        for row in rows
    ]
    if markdown:
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines.extend("| " + " | ".join(cells) + " |" for cells in table)
    else:
        widths = [max(len(str(c)) for c in column) for column in zip(header, *table, strict=False)]
        for cells in (header, *table):
            lines.append(
                "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
            )
    lines.append("")
    lines.append(summary(rows))
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    """How many targets are met, and which are missed, by how much."""
    judged = [row for row in rows if row.met is not None]
    missed = [row for row in judged if not row.met]
    text = f"targets: {len(judged) - len(missed)} met, {len(missed)} missed"
    if missed:
        text += ": " + "; ".join(
            f"{row.workload} ({row.backend}) {row.target_ratio:.2f}x > {row.target}x"
            for row in missed
        )
    return text


def _us(value: float) -> str:
    return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} us"


def machine(backends: Sequence[str]) -> str:
    """The machine, the versions, and the load average (1, 5, 15 minutes) now."""
    import sqlite3

    import psycopg

    cpu = platform.processor() or platform.machine()
    memory = ""
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024**2:.0f} GiB RAM"
                break
    server = ""
    if "postgresql" in backends:
        admin = sa.create_engine(PG_ADMIN, poolclass=NullPool)
        try:
            with admin.connect() as connection:
                server = ", PostgreSQL " + str(
                    connection.exec_driver_sql("SHOW server_version").scalar()
                )
        finally:
            admin.dispose()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, "
        f"SQLAlchemy {sa.__version__}, psycopg {psycopg.__version__}, "
        f"SQLite {sqlite3.sqlite_version}{server}; synergia-core {synergia_core.__version__}; "
        f"load average {load}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data, fewer rounds")
    parser.add_argument("--smoke", action="store_true", help="tiny data: check the harness runs")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    before = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    started = time.perf_counter()
    rows: list[Row] = []
    for name in backends:
        rows.extend(run_backend(name, sizes, lambda text: print(text, file=sys.stderr)))
    print(f"# {machine(backends)} (at the start: {before})")
    kind = "smoke" if args.smoke else "quick" if args.quick else "full"
    print(f"# {kind} run, {time.perf_counter() - started:.0f} s")
    print(render(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
