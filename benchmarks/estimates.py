"""What the suggested fixes of docs/performance.md would buy, measured without touching src/.

Usage::

    python benchmarks/estimates.py decode    # SQLite W2: a page decoder on the floor's rows
    python benchmarks/estimates.py hop       # SQLite async: one loop wake-up per call
    python benchmarks/estimates.py stats     # PostgreSQL: a chat's tables never analyzed
    python benchmarks/estimates.py sql       # PostgreSQL append: the library's SQL on bare psycopg
    python benchmarks/estimates.py fresh     # PostgreSQL: peers.py's W1 setting, client CPU

Each estimate builds what the fix would do beside the library as it is, and
times both interleaved (``run.py``'s rounds and paired ratios):

* ``decode``: the newest 50 messages read by the floor's statement, then
  turned into ``MessageRead`` objects equal to the library's by one function
  per page (ids decoded once and reused for the next row's parent; equal
  times and costs decoded once), against the library and the bare floor.
* ``hop``: ``AsyncSynergia`` on SQLite with its worker-thread hand-off
  replaced by one ``call_soon_threadsafe`` carrying the result and the
  permit together (the facade's takes two: the result's copy to the loop
  and the permit's release), against the facade as it is and the sync one.
  Cancellation is not handled: an estimate of the cost, not a fix.
* ``stats``: a fresh database, 10,000 appends through the library, then the
  append and the newest page before and after ``ANALYZE`` (peers.py's setting:
  the shared server runs with ``autovacuum = off``), with the newest page's
  plan each time.
* ``sql``: the library's compiled append statement (22 parameters) run on
  bare psycopg (prepared, autocommit), against the floor's and the library.
* ``fresh``: peers.py's W1 for synergia-core: a new, never analyzed
  database, 20 warm-up appends to one chat, then 2,000 appends of 200
  characters to another, each through the public API as the shared adapter
  calls it; wall time and client CPU time per append.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import time
import types
import uuid
from collections.abc import Callable, Coroutine, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
import sqlalchemy as sa

import floor as floor_module
from run import PG_ADMIN, SMOKE, USER, Backend, Batch, each, median_per_op
from synergia_core import AsyncSynergia, ChatCreate, MessageCreate, Synergia
from synergia_core.repositories.sql._rows import _MESSAGE_FIELDS, _MESSAGE_NAMES, trusted
from synergia_core.repositories.sql._types import uuid_from_hex
from synergia_core.schemas import MessageRead, MessageStatus, Role

SAYS = MessageCreate(role="user", content="How long does the Colosseum tour take?")
_ROLES = {role.value: role for role in Role}
_STATUSES = {status.value: status for status in MessageStatus}
_FROM_ISO = dt.datetime.fromisoformat


def decode_page(rows: Sequence[Sequence[Any]], chat_id: uuid.UUID) -> list[MessageRead]:
    """The library's ``MessageRead`` objects from the SQLite floor's rows (oldest first)."""
    ids: dict[str, uuid.UUID] = {}
    times: dict[str, dt.datetime] = {}
    costs: dict[str, Decimal] = {}
    out = []
    for row in rows:
        values = dict(zip(_MESSAGE_NAMES, row, strict=True))
        key = row[0]
        message_id = ids[key] = uuid_from_hex(key)  # type: ignore[assignment]
        values["id"] = message_id
        values["chat_id"] = chat_id
        parent = row[2]
        if parent is not None:
            values["parent_id"] = ids.get(parent) or uuid_from_hex(parent)
        if row[7] is not None:
            values["model_id"] = uuid_from_hex(row[7])
        values["role"] = _ROLES[row[4]]
        values["status"] = _STATUSES[row[6]]
        cost = costs.get(row[13])
        if cost is None:
            cost = costs[row[13]] = Decimal(row[13])
        values["cost"] = cost
        for name, index in (("created_at", 19), ("updated_at", 20)):
            moment = times.get(row[index])
            if moment is None:
                moment = times[row[index]] = _FROM_ISO(row[index] + "+00:00")
            values[name] = moment
        values["metadata"] = {} if row[18] is None else json.loads(row[18])
        if row[15] is not None:
            values["tool_calls"] = json.loads(row[15])
        if row[17] is not None:
            values["attachments"] = json.loads(row[17])
        out.append(trusted(MessageRead, values, _MESSAGE_FIELDS))
    return out


def _report(label: str, timing: Any, baseline: str) -> None:
    print(f"## {label}")
    for name in timing.samples:
        print(
            f"{name:28s} {timing[name] * 1e6:8.0f} us  "
            f"{timing.ratio(name, baseline):.2f}x {baseline}"
        )


def estimate_decode(rounds: int) -> None:
    backend = Backend("sqlite", SMOKE)
    try:
        sy, floor = backend.sy, backend.floor
        chat = backend.new_chat(10_000)
        backend.analyze()
        library = sy.messages.list(chat, user_id=USER, limit=50).items
        decoded = decode_page(floor.tail(chat, USER, 50), chat)
        assert [m.model_dump() for m in library] == [m.model_dump() for m in decoded]
        timing = median_per_op(
            {
                "library": each(lambda: sy.messages.list(chat, user_id=USER, limit=50)),
                "floor": each(lambda: floor.tail(chat, USER, 50)),
                "floor + page decoder": each(lambda: decode_page(floor.tail(chat, USER, 50), chat)),
            },
            rounds,
            30,
        )
        _report("SQLite, newest 50 of 10,000", timing, "floor")
    finally:
        backend.close()


def _one_wake_up(threaded: Any) -> None:
    """Replace ``threaded.submit`` with a hand-off that wakes the loop once."""

    async def submit(self: Any, function: Callable[[], Any], *, permit: bool = True) -> Any:
        loop = asyncio.get_running_loop()
        if permit:
            await self._permits.acquire()
        future = loop.create_future()

        def done(result: Any, error: BaseException | None) -> None:
            if permit:
                self._permits.release()
            if future.cancelled():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        def work() -> None:
            try:
                result = function()
            except BaseException as error:  # handed to the awaiting task
                loop.call_soon_threadsafe(done, None, error)
            else:
                loop.call_soon_threadsafe(done, result, None)

        self._executor.submit(work)
        return await future

    threaded.submit = types.MethodType(submit, threaded)


def estimate_hop(rounds: int) -> None:
    backend = Backend("sqlite", SMOKE)
    loop = asyncio.new_event_loop()
    try:
        sy = backend.sy
        chat = backend.new_chat(10_000)
        backend.analyze()

        async def open_both() -> tuple[AsyncSynergia, AsyncSynergia]:
            return AsyncSynergia(backend.url), AsyncSynergia(backend.url)

        as_is, faster = loop.run_until_complete(open_both())
        _one_wake_up(faster._threaded)
        chats = {
            name: loop.run_until_complete(facade.chats.create(ChatCreate(user_id=USER))).id
            for name, facade in (("as is", as_is), ("faster", faster))
        }
        sync_chat = backend.new_chat()

        def batch(call: Callable[[], Coroutine[Any, Any, object]]) -> Batch:
            async def many(n: int) -> None:
                for _ in range(n):
                    await call()

            return lambda n: loop.run_until_complete(many(n))

        appends = {
            "async, as is": batch(lambda: as_is.messages.add(chats["as is"], SAYS, user_id=USER)),
            "async, one wake-up": batch(
                lambda: faster.messages.add(chats["faster"], SAYS, user_id=USER)
            ),
            "sync": each(lambda: sy.messages.add(sync_chat, SAYS, user_id=USER)),
        }
        _report("SQLite append", median_per_op(appends, rounds, 30), "sync")
        reads = {
            "async, as is": batch(lambda: as_is.messages.list(chat, user_id=USER, limit=50)),
            "async, one wake-up": batch(lambda: faster.messages.list(chat, user_id=USER, limit=50)),
            "sync": each(lambda: sy.messages.list(chat, user_id=USER, limit=50)),
        }
        _report("SQLite newest 50 of 10,000", median_per_op(reads, rounds, 30), "sync")
        for facade in (as_is, faster):
            loop.run_until_complete(facade.close())
    finally:
        loop.close()
        backend.close()


def estimate_stats(size: int) -> None:
    url = sa.make_url(PG_ADMIN).set(database=f"synergia_estimate_{uuid.uuid4().hex[:8]}")
    admin = sa.make_url(PG_ADMIN).set(drivername="postgresql").render_as_string(False)
    name = url.database
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as creator:
        creator.execute(f'CREATE DATABASE "{name}"')
    sy = Synergia(url.render_as_string(hide_password=False))
    try:
        sy.migrate()
        chat = sy.chats.create(ChatCreate(user_id=USER)).id
        for _ in range(size):
            sy.messages.add(chat, SAYS, user_id=USER)

        def measure(label: str) -> None:
            appends, reads = [], []
            for _ in range(40):
                started = time.perf_counter()
                sy.messages.add(chat, SAYS, user_id=USER)
                appends.append(time.perf_counter() - started)
                started = time.perf_counter()
                sy.messages.list(chat, user_id=USER, limit=50)
                reads.append(time.perf_counter() - started)
            print(
                f"{label:24s} append {statistics.median(appends) * 1e6:6.0f} us, "
                f"newest 50 {statistics.median(reads) * 1e6:6.0f} us"
            )

        def plan() -> None:
            sql = floor_module.TAIL.replace("SELECT id, chat_id", "SELECT id", 1)
            with psycopg.connect(plain, autocommit=True) as explainer:
                rows = explainer.execute(
                    "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql,
                    {"chat": chat, "user": USER, "limit": 50},
                ).fetchall()
            print("   " + "\n   ".join(row[0] for row in rows))

        print(f"## PostgreSQL, a chat of {size:,} messages appended through the library")
        measure("never analyzed")
        plan()
        with sy.engine.connect() as analyzer:
            analyzer.execution_options(isolation_level="AUTOCOMMIT")
            analyzer.exec_driver_sql("ANALYZE")
        measure("after ANALYZE")
        plan()
    finally:
        sy.close()
        with psycopg.connect(admin, autocommit=True) as dropper:
            dropper.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def estimate_sql(rounds: int) -> None:
    from psycopg.types.json import Jsonb
    from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect

    from synergia_core.ids import uuid7
    from synergia_core.repositories.sql._statements import APPEND_POSTGRESQL

    backend = Backend("postgresql", SMOKE)
    try:
        sy, floor = backend.sy, backend.floor
        assert isinstance(floor, floor_module.PostgresFloor)
        dialect: Any = psycopg_dialect.dialect
        compiled = APPEND_POSTGRESQL[True].compile(dialect=dialect())
        sql = str(compiled)
        constants = {
            name: bind.value for name, bind in compiled.binds.items() if not name.startswith("p_")
        }
        library_chat, floor_chat, raw_chat = (backend.new_chat() for _ in range(3))
        empty = Jsonb({})

        def raw() -> object:
            now = dt.datetime.now(dt.timezone.utc)
            values = {
                **constants,
                "p_id": uuid7(),
                "p_chat_id": raw_chat,
                "p_user_id": USER,
                "p_role": "user",
                "p_content": SAYS.content,
                "p_status": "complete",
                "p_model_id": None,
                "p_input_tokens": 0,
                "p_output_tokens": 0,
                "p_cache_read_tokens": 0,
                "p_cache_write_tokens": 0,
                "p_reasoning_tokens": 0,
                "p_cost": Decimal(0),
                "p_error": None,
                "p_tool_calls": None,
                "p_tool_call_id": None,
                "p_attachments": None,
                "p_metadata": empty,
                "p_created_at": now,
                "p_updated_at": now,
                "p_now": now,
            }
            return floor.connection.execute(sql, values, prepare=True).fetchone()

        timing = median_per_op(
            {
                "floor": each(lambda: floor.append(floor_chat, USER, SAYS.content or "")),
                "library SQL on psycopg": each(raw),
                "library": each(lambda: sy.messages.add(library_chat, SAYS, user_id=USER)),
            },
            rounds,
            30,
        )
        _report("PostgreSQL append", timing, "floor")
    finally:
        backend.close()


def estimate_fresh() -> None:
    url = sa.make_url(PG_ADMIN).set(database=f"synergia_estimate_{uuid.uuid4().hex[:8]}")
    admin = sa.make_url(PG_ADMIN).set(drivername="postgresql").render_as_string(False)
    name = url.database
    with psycopg.connect(admin, autocommit=True) as creator:
        creator.execute(f'CREATE DATABASE "{name}"')
    sy = Synergia(url.render_as_string(hide_password=False))
    try:
        sy.migrate()
        warm = str(sy.chats.create(ChatCreate(user_id="u1")).id)
        for _ in range(20):
            sy.messages.add(
                uuid.UUID(warm), MessageCreate(role="user", content="w" * 200), user_id="u1"
            )
        chat = str(sy.chats.create(ChatCreate(user_id="u1")).id)
        wall, cpu = [], []
        for n in range(2000):
            role = "user" if n % 2 == 0 else "assistant"
            started, used = time.perf_counter(), time.process_time()
            sy.messages.add(
                uuid.UUID(chat), MessageCreate(role=role, content="z" * 200), user_id="u1"
            )
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
        print("## PostgreSQL, peers.py's W1 for synergia-core (fresh, never analyzed)")
        print(
            f"append: wall p50 {statistics.median(wall) * 1e6:.0f} us "
            f"(first 10% {statistics.median(wall[:200]) * 1e6:.0f}, "
            f"last 10% {statistics.median(wall[-200:]) * 1e6:.0f}); "
            f"client CPU, mean {statistics.mean(cpu) * 1e6:.0f} us"
        )
    finally:
        sy.close()
        with psycopg.connect(admin, autocommit=True) as dropper:
            dropper.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("estimate", choices=["decode", "hop", "stats", "sql", "fresh"])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--size", type=int, default=10_000, help="stats: messages appended")
    args = parser.parse_args(argv)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"# load average at the start: {load}")
    if args.estimate == "decode":
        estimate_decode(args.rounds)
    elif args.estimate == "hop":
        estimate_hop(args.rounds)
    elif args.estimate == "stats":
        estimate_stats(args.size)
    elif args.estimate == "sql":
        estimate_sql(args.rounds)
    else:
        estimate_fresh()
    return 0


if __name__ == "__main__":
    sys.exit(main())
