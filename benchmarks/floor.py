"""The physical floor: the same logical work, one statement per operation, on the bare driver.

What the floor does is what synergia-core does with the least the driver
allows:

* **One statement per operation, no transaction around it.** The connection
  runs in autocommit: a single statement is its own transaction, so an
  append or a read costs one round trip on PostgreSQL (an explicit
  ``BEGIN``/``COMMIT`` around it would be three) and no ``BEGIN``/``COMMIT``
  on SQLite.
* **Prepared.** psycopg 3 executes every statement with ``prepare=True``
  (server-side prepared from the first call); the ``sqlite3`` module keeps its
  compiled statements in its statement cache.
* **The same SQL as the library** (``repositories/sql/_statements.py``):
  reads select the same columns (``NULLIF(metadata, '{}')`` included) and are
  scoped by owner and live chat with the same ``EXISTS``; the append checks
  the live chat of the owner, bumps the chat row (count, activity, current
  leaf) and inserts the message with the next ``seq`` under the previous
  leaf, as one statement: on PostgreSQL a ``FOR UPDATE`` CTE, an ``UPDATE ...
  RETURNING`` CTE and the ``INSERT ... SELECT``; on SQLite one
  ``INSERT ... SELECT`` from the chat row, the schema's trigger
  ``synergia_messages_append`` doing the bump inside it.
* **No objects.** Results are the driver's plain tuples (on SQLite: text for
  ids, times and money); the library's job of turning them into typed,
  public schemas is exactly what a ratio to the floor measures.

The append is therefore the floor "with the chat row maintained" (peers.py's
``floor_meta``); a store that only inserts the message row is cheaper still,
and does less.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from decimal import Decimal
from typing import Any

import psycopg

from synergia_core.db import DECIMAL_SUM, open_search_index
from synergia_core.ids import uuid7
from synergia_core.repositories.sql._rows import MESSAGE_COLUMNS

__all__ = ["COLUMNS", "PostgresFloor", "SqliteFloor"]

_NAMES = tuple(str(column.key) for column in MESSAGE_COLUMNS)
"""The message columns the library's reads select (the floor selects the same)."""


def _columns(alias: str = "") -> str:
    return ", ".join(
        f"NULLIF({alias}{name}, '{{}}') AS {name}" if name == "metadata" else f"{alias}{name}"
        for name in _NAMES
    )


COLUMNS = _columns()
"""The columns of a message, as the library's reads select them (``MessageRead``'s
fields; an empty ``metadata`` comes back as ``NULL``)."""
_M_COLUMNS = _columns("m.")

_LIVE = (
    "EXISTS (SELECT 1 FROM synergia_chats c WHERE c.id = %(chat)s AND c.user_id = %(user)s "
    "AND c.deleted_at IS NULL)"
)
"""The chat is the user's, and live (the library's ``live_chat``)."""

_PG_BUMP = """
WITH old AS (
    SELECT id, current_message_id FROM synergia_chats
    WHERE id = %(chat)s AND user_id = %(user)s AND deleted_at IS NULL
    FOR UPDATE
), bump AS (
    UPDATE synergia_chats AS c
    SET message_count = c.message_count + 1, last_seq = c.last_seq + 1,
        last_message_at = %(now)s, activity_at = %(now)s, updated_at = %(now)s,
        current_message_id = %(id)s
    FROM old WHERE c.id = old.id
    RETURNING c.last_seq AS seq, old.current_message_id AS leaf
)"""
"""Lock the chat row and bump it, returning the new ``seq`` and the previous leaf."""

PG_APPEND = (
    _PG_BUMP
    + """
INSERT INTO synergia_messages (id, chat_id, user_id, parent_id, seq, role, content, status,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost, metadata, created_at, updated_at)
SELECT %(id)s, %(chat)s, %(user)s, bump.leaf, bump.seq, 'user', %(content)s, 'complete',
    0, 0, 0, 0, 0, 0, '{}', %(now)s, %(now)s
FROM bump
RETURNING seq
"""
)
"""The append on PostgreSQL: lock and bump the chat row, insert; one statement."""

SQLITE_APPEND = """
INSERT INTO synergia_messages (id, chat_id, user_id, parent_id, seq, role, content, status,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost, metadata, created_at, updated_at)
SELECT :id, c.id, c.user_id, c.current_message_id, c.last_seq + 1, 'user', :content,
    'complete', 0, 0, 0, 0, 0, '0', '{}', :now, :now
FROM synergia_chats c WHERE c.id = :chat AND c.user_id = :user AND c.deleted_at IS NULL
RETURNING seq
"""
"""The append on SQLite: one ``INSERT ... SELECT`` from the chat row; the
schema's trigger bumps the chat row within the statement."""

GUARD = """
SELECT m.input_price_per_million, m.output_price_per_million, m.is_enabled, m.deleted_at,
    b.spend_limit, b.period,
    (SELECT s.amount FROM synergia_spend s
     WHERE s.user_id = %(user)s AND s.period = b.period AND s.period_start = %(start)s)
FROM synergia_models m LEFT JOIN synergia_budgets b ON b.user_id = %(user)s
WHERE m.id = %(model)s
"""
"""A priced append's first statement: the model's prices with the user's
(monthly) budget and the spend of the month, in one read."""

PG_APPEND_PRICED = (
    _PG_BUMP[:-1]
    + """), added AS (
    UPDATE synergia_spend SET amount = amount + %(cost)s, updated_at = %(now)s
    WHERE user_id = %(user)s AND period = 'month' AND period_start = %(start)s
      AND EXISTS (SELECT 1 FROM bump)
    RETURNING amount
), created AS (
    INSERT INTO synergia_spend (user_id, period, period_start, amount, updated_at)
    SELECT %(user)s, 'month', %(start)s,
        (SELECT coalesce(sum(cost), 0) FROM synergia_messages
         WHERE user_id = %(user)s AND created_at >= %(start)s AND created_at < %(end)s)
        + %(cost)s, %(now)s
    FROM bump WHERE NOT EXISTS (SELECT 1 FROM added)
    ON CONFLICT (user_id, period, period_start)
    DO UPDATE SET amount = synergia_spend.amount + %(cost)s, updated_at = %(now)s
)
INSERT INTO synergia_messages (id, chat_id, user_id, parent_id, seq, role, content, status,
    model_id, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, cost, metadata, created_at, updated_at)
SELECT %(id)s, %(chat)s, %(user)s, bump.leaf, bump.seq, 'assistant', %(content)s, 'complete',
    %(model)s, %(input)s, %(output)s, 0, 0, 0, %(cost)s, '{}', %(now)s, %(now)s
FROM bump
RETURNING seq
"""
)
"""A priced append's second statement on PostgreSQL: lock and bump the chat
row, add the cost to the month's spend (the row made from the month's stored
costs the first time), insert; one statement."""

SQLITE_APPEND_PRICED = """
INSERT INTO synergia_messages (id, chat_id, user_id, parent_id, seq, role, content, status,
    model_id, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, cost, metadata, created_at, updated_at)
SELECT :id, c.id, c.user_id, c.current_message_id, c.last_seq + 1, 'assistant', :content,
    'complete', :model, :input, :output, 0, 0, 0, :cost, '{}', :now, :now
FROM synergia_chats c WHERE c.id = :chat AND c.user_id = :user AND c.deleted_at IS NULL
RETURNING seq
"""
SQLITE_SPEND_ADD = (
    "UPDATE synergia_spend SET amount = :amount, updated_at = :now "
    "WHERE user_id = :user AND period = 'month' AND period_start = :start"
)
SQLITE_SPEND_AMOUNT = (
    "SELECT amount FROM synergia_spend "
    "WHERE user_id = :user AND period = 'month' AND period_start = :start"
)


def month_start(now: dt.datetime) -> dt.datetime:
    """The start of ``now``'s calendar month (UTC)."""
    return now.astimezone(dt.timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: dt.datetime) -> dt.datetime:
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def price(row: tuple[Any, ...], input_tokens: int, output_tokens: int) -> Decimal:
    """The cost of a flat-priced use from the guard's row (refusing a model
    out of use or a budget spent): what the library's cost formula gives."""
    input_price, output_price, enabled, deleted, limit, _period, spent = row
    assert enabled, "the model is disabled"
    assert deleted is None, "the model is deleted"
    if limit is not None:
        assert Decimal(spent or 0) < Decimal(limit), "the budget is spent"
    total = input_tokens * Decimal(input_price) + output_tokens * Decimal(output_price)
    return total / 1_000_000


TAIL = (
    f"SELECT {COLUMNS} FROM synergia_messages WHERE chat_id = %(chat)s AND user_id = %(user)s "
    f"AND deleted_at IS NULL AND {_LIVE} ORDER BY seq DESC LIMIT %(limit)s"
)
FULL = (
    f"SELECT {COLUMNS} FROM synergia_messages WHERE chat_id = %(chat)s AND user_id = %(user)s "
    f"AND deleted_at IS NULL AND {_LIVE} ORDER BY seq"
)
THREAD = f"""
WITH RECURSIVE path(id, parent_id, depth) AS (
    SELECT m.id, m.parent_id, 1 FROM synergia_messages m
    WHERE m.id = (SELECT current_message_id FROM synergia_chats
                  WHERE id = %(chat)s AND user_id = %(user)s AND deleted_at IS NULL)
      AND m.chat_id = %(chat)s AND m.user_id = %(user)s
  UNION ALL
    SELECT m.id, m.parent_id, p.depth + 1 FROM synergia_messages m
    JOIN path p ON m.id = p.parent_id WHERE p.depth < %(limit)s
)
SELECT {_M_COLUMNS}
FROM synergia_messages m JOIN path ON path.id = m.id ORDER BY path.depth DESC
"""
CHAT_COLUMNS = (
    "id, user_id, title, model_id, system_prompt, NULLIF(metadata, '{}') AS metadata, "
    "is_pinned, is_archived, message_count, current_message_id, last_message_at, created_at, "
    "updated_at"
)
CHATS_FIRST = (
    f"SELECT {CHAT_COLUMNS} FROM synergia_chats WHERE user_id = %(user)s "
    "AND deleted_at IS NULL AND is_archived IS false ORDER BY activity_at DESC, id DESC "
    "LIMIT %(limit)s"
)
CHATS_AFTER = (
    f"SELECT {CHAT_COLUMNS} FROM synergia_chats WHERE user_id = %(user)s "
    "AND deleted_at IS NULL AND is_archived IS false "
    "AND (activity_at, id) < (%(at)s, %(after)s) ORDER BY activity_at DESC, id DESC "
    "LIMIT %(limit)s"
)
BY_MODEL = (
    "SELECT model_id, count(*), coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0), "
    "coalesce(sum(cache_read_tokens), 0), coalesce(sum(cache_write_tokens), 0), "
    "coalesce(sum(reasoning_tokens), 0), sum(cost) FROM synergia_messages "
    "GROUP BY model_id ORDER BY model_id NULLS LAST"
)

Rows = list[tuple[Any, ...]]


def _sqlite(sql: str) -> str:
    """The PostgreSQL floor's SQL with sqlite3's named parameters."""
    out = sql.replace("%(", ":(")
    while ":(" in out:
        start = out.index(":(")
        end = out.index(")s", start)
        out = out[:start] + ":" + out[start + 2 : end] + out[end + 2 :]
    return out


class PostgresFloor:
    """The floor on PostgreSQL: psycopg 3, autocommit, server-side prepared statements."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(url, autocommit=True, options="-c timezone=UTC")

    def _all(self, sql: str, params: dict[str, Any]) -> Rows:
        return self.connection.execute(sql, params, prepare=True).fetchall()

    def append(self, chat: uuid.UUID, user: str, content: str) -> int:
        now = dt.datetime.now(dt.timezone.utc)
        params = {"chat": chat, "user": user, "now": now, "id": uuid7(), "content": content}
        row = self.connection.execute(PG_APPEND, params, prepare=True).fetchone()
        assert row is not None, "no live chat of this user"
        return int(row[0])

    def priced_append(
        self, chat: uuid.UUID, user: str, content: str, model: uuid.UUID, tokens: tuple[int, int]
    ) -> int:
        """A reply with usage under a monthly budget: the guard's read, then
        the append that records the cost (two statements, two round trips)."""
        now = dt.datetime.now(dt.timezone.utc)
        start = month_start(now)
        guard = {"user": user, "model": model, "start": start}
        found = self.connection.execute(GUARD, guard, prepare=True).fetchone()
        assert found is not None, "no such model"
        params = {
            "chat": chat,
            "user": user,
            "now": now,
            "id": uuid7(),
            "content": content,
            "model": model,
            "input": tokens[0],
            "output": tokens[1],
            "cost": price(found, *tokens),
            "start": start,
            "end": _next_month(start),
        }
        row = self.connection.execute(PG_APPEND_PRICED, params, prepare=True).fetchone()
        assert row is not None, "no live chat of this user"
        return int(row[0])

    def tail(self, chat: uuid.UUID, user: str, limit: int) -> Rows:
        return self._all(TAIL, {"chat": chat, "user": user, "limit": limit})[::-1]

    def thread(self, chat: uuid.UUID, user: str, limit: int) -> Rows:
        return self._all(THREAD, {"chat": chat, "user": user, "limit": limit})

    def full(self, chat: uuid.UUID, user: str) -> Rows:
        return self._all(FULL, {"chat": chat, "user": user})

    def chats(self, user: str, limit: int, after: tuple[dt.datetime, uuid.UUID] | None) -> Rows:
        if after is None:
            return self._all(CHATS_FIRST, {"user": user, "limit": limit})
        at, last = after
        return self._all(CHATS_AFTER, {"user": user, "limit": limit, "at": at, "after": last})

    def by_model(self) -> Rows:
        return self._all(BY_MODEL, {})

    def close(self) -> None:
        self.connection.close()


_SQLITE_TAIL = _sqlite(TAIL)
_SQLITE_GUARD = _sqlite(GUARD)
_SQLITE_FULL = _sqlite(FULL)
_SQLITE_THREAD = _sqlite(THREAD)
_SQLITE_CHATS_FIRST = _sqlite(CHATS_FIRST).replace("IS false", "IS 0")
_SQLITE_CHATS_AFTER = _sqlite(CHATS_AFTER).replace("IS false", "IS 0")
_SQLITE_BY_MODEL = BY_MODEL.replace("sum(cost)", f"{DECIMAL_SUM}(cost)")


class SqliteFloor:
    """The floor on SQLite: the standard ``sqlite3`` module in autocommit mode
    (``isolation_level=None``: no ``BEGIN``, each statement commits itself),
    with the settings of the library's engines (foreign keys, WAL,
    ``synchronous=NORMAL``, the search index's tables opened)."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.connection.execute("PRAGMA foreign_keys=ON")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        open_search_index(self.connection.cursor())
        aggregate: Any = _DecimalSum
        self.connection.create_aggregate(DECIMAL_SUM, 1, aggregate)

    @staticmethod
    def _time(moment: dt.datetime) -> str:
        return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _all(self, sql: str, params: dict[str, Any]) -> Rows:
        return self.connection.execute(sql, params).fetchall()

    def append(self, chat: uuid.UUID, user: str, content: str) -> int:
        params = {
            "id": uuid7().hex,
            "chat": chat.hex,
            "user": user,
            "content": content,
            "now": self._time(dt.datetime.now(dt.timezone.utc)),
        }
        row = self.connection.execute(SQLITE_APPEND, params).fetchone()
        assert row is not None, "no live chat of this user"
        return int(row[0])

    def priced_append(
        self, chat: uuid.UUID, user: str, content: str, model: uuid.UUID, tokens: tuple[int, int]
    ) -> int:
        """A reply with usage under a monthly budget: the guard's read, then
        the append and the spend in one write transaction."""
        moment = dt.datetime.now(dt.timezone.utc)
        now, start = self._time(moment), self._time(month_start(moment))
        guard = {"user": user, "model": model.hex, "start": start}
        found = self.connection.execute(_SQLITE_GUARD, guard).fetchone()
        assert found is not None, "no such model"
        cost = price(found, *tokens)
        params = {
            "chat": chat.hex,
            "user": user,
            "now": now,
            "id": uuid7().hex,
            "content": content,
            "model": model.hex,
            "input": tokens[0],
            "output": tokens[1],
            "cost": str(cost),
        }
        key = {"user": user, "start": start}
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            row = self.connection.execute(SQLITE_APPEND_PRICED, params).fetchone()
            assert row is not None, "no live chat of this user"
            spent = self.connection.execute(SQLITE_SPEND_AMOUNT, key).fetchone()
            assert spent is not None, "the month's spend row is made by the library's first cost"
            amount = str(Decimal(spent[0]) + cost)
            self.connection.execute(SQLITE_SPEND_ADD, {**key, "amount": amount, "now": now})
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        return int(row[0])

    def tail(self, chat: uuid.UUID, user: str, limit: int) -> Rows:
        return self._all(_SQLITE_TAIL, {"chat": chat.hex, "user": user, "limit": limit})[::-1]

    def thread(self, chat: uuid.UUID, user: str, limit: int) -> Rows:
        return self._all(_SQLITE_THREAD, {"chat": chat.hex, "user": user, "limit": limit})

    def full(self, chat: uuid.UUID, user: str) -> Rows:
        return self._all(_SQLITE_FULL, {"chat": chat.hex, "user": user})

    def chats(self, user: str, limit: int, after: tuple[dt.datetime, uuid.UUID] | None) -> Rows:
        if after is None:
            return self._all(_SQLITE_CHATS_FIRST, {"user": user, "limit": limit})
        at, last = after
        return self._all(
            _SQLITE_CHATS_AFTER,
            {"user": user, "limit": limit, "at": self._time(at), "after": last.hex},
        )

    def by_model(self) -> Rows:
        return self._all(_SQLITE_BY_MODEL, {})

    def close(self) -> None:
        self.connection.close()


class _DecimalSum:
    def __init__(self) -> None:
        self.total = Decimal(0)

    def step(self, value: str) -> None:
        self.total += Decimal(value)

    def finalize(self) -> str:
        return str(self.total)
