"""Full-text search: its latency against hand-written SQL, and what it adds to an append.

Usage::

    python benchmarks/search.py                     # 100,000 messages, both backends
    python benchmarks/search.py --messages 1000000  # the issue's size
    python benchmarks/search.py --smoke             # tiny: check the harness runs

The database holds ``--messages`` messages in ``messages / 100`` chats of
``messages / 1000`` users (the issue's proportions: 1,000,000 in 10,000 chats
of 1,000 users), written through the library at revision 0005 (no search
index), with Zipf-distributed words from a 2,000-word vocabulary.

* **Append overhead.** The database is copied and the copy upgraded to
  head (0006: the search index; the back-fill time is shown). Appends of a
  30-word message through ``MessageService.add`` (run as ``Synergia`` runs a
  call) go to the original, at 0005, and to the copy, one by one in turn,
  the same messages; the overhead is the median at head over the median at
  0005, minus one (target: at most 15%).
* **Search latency.** A two-word query (two common words, ANDed) for one
  user at a time, round-robin over the users: ``sy.search.messages`` against
  the same query written by hand in SQL on the raw driver (the sqlite3
  module; psycopg 3 with its defaults: a statement is prepared on the server
  from its fifth execution, as the library's is; forcing ``prepare=True``
  from the first is slower here, PostgreSQL then choosing a generic plan),
  interleaved, after a warm-up, medians and their ratio (target: at most
  1.5x). Both return the same page first.

PostgreSQL is ``$SYNERGIA_TEST_POSTGRES_URL`` (default: the local server);
a scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from synergia_core import (
    ChatCreate,
    ChatService,
    MessageCreate,
    MessageService,
    Synergia,
    migrate,
)
from synergia_core._translate import checked_out, translate_errors
from synergia_core.db import create_engine
from synergia_core.repositories.protocols import Repositories
from synergia_core.services import Scope
from synergia_core.services._context import unit_of_work

PG_ADMIN = os.environ.get(
    "SYNERGIA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
VOCABULARY = [f"w{rank}" for rank in range(1, 2001)]
QUERY = "w5 w20"
"""Two common words (the 5th and the 20th most frequent): a few percent of
each user's messages hold both."""

# The same search, written by hand (what the library runs, spelled out).
SQLITE_SQL = """
SELECT p.id, m.chat_id, c.title, m.role, m.created_at, p.score,
       snippet(synergia_search_messages, 0, '[', ']', '…', 16)
FROM (
    SELECT m.rowid AS row_id, m.id AS id, -bm25(synergia_search_messages, 1.0, 0.0) AS score
    FROM synergia_search_messages
    JOIN synergia_messages AS m ON m.rowid = synergia_search_messages.rowid
    JOIN synergia_chats AS c ON c.id = m.chat_id
    WHERE synergia_search_messages MATCH ? AND m.user_id = ? AND m.deleted_at IS NULL
      AND c.user_id = ? AND c.deleted_at IS NULL
    ORDER BY score DESC, m.id DESC LIMIT 21
) AS p
JOIN synergia_search_messages ON synergia_search_messages.rowid = p.row_id
JOIN synergia_messages AS m ON m.rowid = p.row_id
JOIN synergia_chats AS c ON c.id = m.chat_id
WHERE synergia_search_messages MATCH ?
ORDER BY p.score DESC, p.id DESC
"""
PG_SQL = """
SELECT p.id, p.chat_id, p.title, p.role, p.created_at, p.score,
       ts_headline('synergia_search', p.content,
                   websearch_to_tsquery('synergia_search', %(q)s), %(h)s)
FROM (
    SELECT m.id, m.chat_id, c.title, m.role, m.created_at, m.content,
           ts_rank_cd(m.search_vector, websearch_to_tsquery('synergia_search', %(q)s))::float8
               AS score
    FROM synergia_messages AS m JOIN synergia_chats AS c ON c.id = m.chat_id
    WHERE m.search_vector @@ websearch_to_tsquery('synergia_search', %(q)s)
      AND m.user_id = %(u)s AND m.deleted_at IS NULL
      AND c.user_id = %(u)s AND c.deleted_at IS NULL
    ORDER BY score DESC, m.id DESC LIMIT 21
) AS p
ORDER BY p.score DESC, p.id DESC
"""
PG_HEADLINE = (
    'StartSel="[", StopSel="]", MaxWords=16, MinWords=8, ShortWord=0, '
    'MaxFragments=1, FragmentDelimiter=" … "'
)


class Text:
    """Zipf-distributed words (exponent 1) from :data:`VOCABULARY`."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        weights = [1 / rank for rank in range(1, len(VOCABULARY) + 1)]
        total = sum(weights)
        self._cumulative = []
        running = 0.0
        for weight in weights:
            running += weight / total
            self._cumulative.append(running)

    def words(self, count: int) -> str:
        picks = self._random.choices(VOCABULARY, cum_weights=self._cumulative, k=count)
        return " ".join(picks)

    def message(self) -> str:
        return self.words(self._random.randint(8, 50))


def populate(url: str, messages: int) -> list[str]:
    """Write the data set at revision 0005; return the user ids."""
    migrate(url, "0005")
    users = max(1, messages // 1000)
    chats = max(1, messages // 100)
    per_chat = max(1, messages // chats)
    text = Text(1)
    engine = create_engine(url)
    user_ids = [f"user{n:05d}" for n in range(users)]
    started = time.perf_counter()
    try:
        for chat_number in range(chats):
            user = user_ids[chat_number % users]
            with engine.begin() as connection:
                chat_service = ChatService.from_session(connection)
                message_service = MessageService.from_session(connection)
                title = text.words(3)
                chat = chat_service.create(ChatCreate(user_id=user, title=title))
                for turn in range(per_chat):
                    role = "user" if turn % 2 == 0 else "assistant"
                    message_service.add(
                        chat.id,
                        MessageCreate(role=role, content=text.message(), model_id=None),
                        user_id=user,
                    )
    finally:
        engine.dispose()
    elapsed = time.perf_counter() - started
    print(
        f"  populated {chats * per_chat:,} messages in {chats:,} chats of {users:,} users "
        f"({elapsed:.0f} s)"
    )
    return user_ids


def facade_scope(engine: sa.Engine) -> Scope:
    """What ``Synergia`` runs each call in (a pooled connection, one unit of
    work), without its check that the schema is at head: the appends run at
    0005 too."""

    @contextmanager
    def scope(
        *, write: bool, atomic: bool = False, user_id: str | None = None
    ) -> Iterator[Repositories]:
        with (
            translate_errors(),
            checked_out(engine) as connection,
            unit_of_work(connection, write=write, atomic=atomic) as repos,
        ):
            yield repos

    return scope


class Appender:
    """Appends 30-word messages to the data set's chats through the library."""

    def __init__(self, url: str, users: list[str]) -> None:
        self.engine = create_engine(url)
        scope = facade_scope(self.engine)
        self.service = MessageService(scope)
        chats = ChatService(scope)
        self.targets = [
            (chats.list(user_id=user, limit=1).items[0].id, user) for user in users[:20]
        ]

    def append(self, index: int, content: str) -> float:
        """Seconds one append takes."""
        chat_id, user = self.targets[index % len(self.targets)]
        message = MessageCreate(role="user", content=content)
        started = time.perf_counter()
        self.service.add(chat_id, message, user_id=user)
        return time.perf_counter() - started


def measure_appends(
    without: str, with_search: str, users: list[str], count: int
) -> tuple[float, float]:
    """Median seconds per append on the database at 0005 and on its copy at
    head, interleaved one by one (the same message to each)."""
    text = Text(7)
    plain, indexed = Appender(without, users), Appender(with_search, users)
    times: tuple[list[float], list[float]] = ([], [])
    try:
        for index in range(count + count // 10):  # the first tenth warms up
            content = text.words(30)
            pair = (plain, indexed) if index % 2 else (indexed, plain)
            spent = [appender.append(index, content) for appender in pair]
            if index >= count // 10:
                plain_time, indexed_time = spent if index % 2 else spent[::-1]
                times[0].append(plain_time)
                times[1].append(indexed_time)
    finally:
        plain.engine.dispose()
        indexed.engine.dispose()
    return statistics.median(times[0]), statistics.median(times[1])


def raw_search(url: str) -> tuple[Callable[[str], list[Any]], Callable[[], None]]:
    """The hand-written search on the bare driver, and how to close it."""
    parsed = sa.make_url(url)
    if parsed.drivername.startswith("sqlite"):
        connection = sqlite3.connect(str(parsed.database), isolation_level=None)

        def run_sqlite(user: str) -> list[Any]:
            owner = user.encode().hex().upper()
            expression = f'owner : "{owner}" AND ((content : "w5" AND content : "w20"))'
            return connection.execute(SQLITE_SQL, (expression, user, user, expression)).fetchall()

        return run_sqlite, connection.close
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    pg = psycopg.connect(dsn, autocommit=True)

    def run_pg(user: str) -> list[Any]:
        cursor = pg.execute(PG_SQL, {"q": '"w5" "w20"', "u": user, "h": PG_HEADLINE})
        return cursor.fetchall()

    return run_pg, pg.close


def measure_search(url: str, users: list[str], rounds: int) -> tuple[float, float, float]:
    """Median seconds per search, library and raw, and the mean hits per page."""
    raw, close = raw_search(url)
    sy = Synergia(url)
    try:
        library_page = sy.search.messages(QUERY, user_id=users[0])
        raw_rows = raw(users[0])
        assert [hit.message_id for hit in library_page.items] == [
            uuid_of(row[0]) for row in raw_rows[:20]
        ], "the library and the hand-written SQL disagree"
        lib_times: list[float] = []
        raw_times: list[float] = []
        hits = 0
        for round_number in range(rounds + 1):  # round 0 warms up
            for user in users:
                started = time.perf_counter()
                page = sy.search.messages(QUERY, user_id=user)
                middle = time.perf_counter()
                raw(user)
                ended = time.perf_counter()
                if round_number:
                    lib_times.append(middle - started)
                    raw_times.append(ended - middle)
                    hits += len(page.items)
        return (
            statistics.median(lib_times),
            statistics.median(raw_times),
            hits / max(1, len(lib_times)),
        )
    finally:
        sy.close()
        close()


def uuid_of(value: Any) -> Any:
    import uuid

    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=str(value))


def run(backend: str, messages: int, appends: int, rounds: int) -> None:
    print(f"{backend}: {messages:,} messages")
    with tempfile.TemporaryDirectory() as directory:
        if backend == "sqlite":
            plain = f"sqlite:///{Path(directory) / 'plain.db'}"
            url = f"sqlite:///{Path(directory) / 'search.db'}"
            drops: list[Callable[[], None]] = []
        else:
            plain, drop_plain = scratch_postgres("plain")
            url, drop_search = scratch_postgres("search")
            drops = [drop_search, drop_plain]
        try:
            users = populate(plain, messages)
            clone(plain, url)
            started = time.perf_counter()
            migrate(url)
            backfill = time.perf_counter() - started
            before, after = measure_appends(plain, url, users, appends)
            overhead = after / before - 1
            print(f"  back-fill (upgrade to 0006): {backfill:.1f} s")
            verdict = "met" if overhead <= 0.15 else "MISSED"
            print(
                f"  append: {before * 1e6:.0f} us without search, {after * 1e6:.0f} us with: "
                f"overhead {overhead:+.1%} (target <= +15%: {verdict})"
            )
            lib, raw, hits = measure_search(url, users, rounds)
            ratio = lib / raw
            print(
                f"  search {QUERY!r} (one user, {hits:.1f} hits a page): "
                f"library {lib * 1e3:.2f} ms, hand-written SQL {raw * 1e3:.2f} ms: "
                f"ratio {ratio:.2f}x "
                f"(target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})"
            )
        finally:
            for drop in drops:
                drop()


def clone(source: str, target: str) -> None:
    """Copy the database at ``source`` to ``target`` (which PostgreSQL created empty)."""
    parsed = sa.make_url(source)
    if parsed.drivername.startswith("sqlite"):
        with sqlite3.connect(str(parsed.database)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copyfile(str(parsed.database), str(sa.make_url(target).database))
        return
    admin = sa.create_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = sa.make_url(target).database
        connection.exec_driver_sql(f"DROP DATABASE {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE {parsed.database}")
    admin.dispose()


def scratch_postgres(suffix: str) -> tuple[str, Callable[[], None]]:
    name = f"synergia_search_bench_{suffix}_{os.getpid()}"
    admin = sa.create_engine(PG_ADMIN, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()

    return url, drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--messages", type=int, default=100_000, help="size of the data set")
    parser.add_argument("--appends", type=int, default=2000, help="appends per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="search rounds over the users")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: check the harness")
    args = parser.parse_args(argv)
    if args.smoke:
        args.messages, args.appends, args.rounds = 2000, 50, 1
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        run(backend, args.messages, args.appends, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
