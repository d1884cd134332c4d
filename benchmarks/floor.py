"""The raw floor: the same logical work done with the bare driver.

PostgreSQL: psycopg 3 with server-side prepared statements (``prepare=True``).
SQLite: the standard ``sqlite3`` module. Each operation does what
synergia-core's does: the append bumps the chat's counters, takes the next
``seq`` and the current leaf under the chat's row lock, inserts the message
and moves the leaf, and commits; reads are scoped by owner and live chat.
Results are plain tuples: the floor builds no objects.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from decimal import Decimal
from typing import Any

import psycopg

from synergia_core.db import DECIMAL_SUM
from synergia_core.ids import uuid7

__all__ = ["PostgresFloor", "SqliteFloor"]

COLUMNS = (
    "id, chat_id, parent_id, seq, role, content, status, model_id, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost, error, "
    "parts, metadata, created_at, updated_at"
)

PG_APPEND = """
WITH old AS (
    SELECT id, current_message_id FROM synergia_chats
    WHERE id = %(chat)s AND user_id = %(user)s AND deleted_at IS NULL
    FOR UPDATE
), bump AS (
    UPDATE synergia_chats AS c
    SET message_count = c.message_count + 1, last_seq = c.last_seq + 1, last_message_at = %(now)s,
        activity_at = %(now)s, updated_at = %(now)s, current_message_id = %(id)s
    FROM old WHERE c.id = old.id
    RETURNING c.last_seq AS seq, old.current_message_id AS leaf
)
INSERT INTO synergia_messages (id, chat_id, user_id, parent_id, seq, role, content, status,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    cost, metadata, created_at, updated_at)
SELECT %(id)s, %(chat)s, %(user)s, bump.leaf, bump.seq, 'user', %(content)s, 'complete',
    0, 0, 0, 0, 0, 0, '{}', %(now)s, %(now)s
FROM bump
RETURNING seq
"""

LIVE = (
    "EXISTS (SELECT 1 FROM synergia_chats c WHERE c.id = %(chat)s AND c.user_id = %(user)s "
    "AND c.deleted_at IS NULL)"
)
PG_TAIL = (
    f"SELECT {COLUMNS} FROM synergia_messages WHERE chat_id = %(chat)s AND user_id = %(user)s "
    f"AND {LIVE} ORDER BY seq DESC LIMIT %(limit)s"
)
PG_FULL = (
    f"SELECT {COLUMNS} FROM synergia_messages WHERE chat_id = %(chat)s AND user_id = %(user)s "
    f"AND {LIVE} ORDER BY seq"
)
PG_THREAD = f"""
WITH RECURSIVE path(id, parent_id, depth) AS (
    SELECT m.id, m.parent_id, 1 FROM synergia_messages m
    WHERE m.id = (SELECT current_message_id FROM synergia_chats
                  WHERE id = %(chat)s AND user_id = %(user)s AND deleted_at IS NULL)
  UNION ALL
    SELECT m.id, m.parent_id, p.depth + 1 FROM synergia_messages m
    JOIN path p ON m.id = p.parent_id WHERE p.depth < %(limit)s
)
SELECT {", ".join("m." + c.strip() for c in COLUMNS.split(","))}
FROM synergia_messages m JOIN path ON path.id = m.id ORDER BY path.depth DESC
"""
CHAT_COLUMNS = (
    "id, user_id, title, model_id, system_prompt, metadata, is_pinned, is_archived, "
    "message_count, current_message_id, last_message_at, created_at, updated_at"
)
PG_CHATS_FIRST = (
    f"SELECT {CHAT_COLUMNS}, activity_at FROM synergia_chats WHERE user_id = %(user)s "
    "AND deleted_at IS NULL AND is_archived = false ORDER BY activity_at DESC, id DESC "
    "LIMIT %(limit)s"
)
PG_CHATS_AFTER = (
    f"SELECT {CHAT_COLUMNS}, activity_at FROM synergia_chats WHERE user_id = %(user)s "
    "AND deleted_at IS NULL AND is_archived = false "
    "AND (activity_at, id) < (%(at)s, %(after)s) ORDER BY activity_at DESC, id DESC "
    "LIMIT %(limit)s"
)
PG_BY_MODEL = (
    "SELECT model_id, count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), "
    "sum(cache_write_tokens), sum(reasoning_tokens), sum(cost) FROM synergia_messages "
    "GROUP BY model_id ORDER BY model_id"
)


def _sqlite(sql: str) -> str:
    """The PostgreSQL floor's SQL with sqlite3's named parameters."""
    out = sql.replace("%(", ":(")
    while ":(" in out:
        start = out.index(":(")
        end = out.index(")s", start)
        out = out[:start] + ":" + out[start + 2 : end] + out[end + 2 :]
    return out


class PostgresFloor:
    """The floor on PostgreSQL (psycopg 3, prepared statements)."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(url, autocommit=False)

    def append(self, chat: uuid.UUID, user: str, content: str) -> int:
        now = dt.datetime.now(dt.timezone.utc)
        params = {"chat": chat, "user": user, "now": now, "id": uuid7(), "content": content}
        row = self.connection.execute(PG_APPEND, params, prepare=True).fetchone()
        self.connection.commit()
        assert row is not None
        return int(row[0])

    def _all(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        rows = self.connection.execute(sql, params, prepare=True).fetchall()
        self.connection.commit()
        return rows

    def tail(self, chat: uuid.UUID, user: str, limit: int) -> list[tuple[Any, ...]]:
        return self._all(PG_TAIL, {"chat": chat, "user": user, "limit": limit})[::-1]

    def thread(self, chat: uuid.UUID, user: str, limit: int) -> list[tuple[Any, ...]]:
        return self._all(PG_THREAD, {"chat": chat, "user": user, "limit": limit})

    def full(self, chat: uuid.UUID, user: str) -> list[tuple[Any, ...]]:
        return self._all(PG_FULL, {"chat": chat, "user": user})

    def chats(
        self, user: str, limit: int, after: tuple[dt.datetime, uuid.UUID] | None
    ) -> list[tuple[Any, ...]]:
        if after is None:
            return self._all(PG_CHATS_FIRST, {"user": user, "limit": limit})
        at, last = after
        return self._all(PG_CHATS_AFTER, {"user": user, "limit": limit, "at": at, "after": last})

    def by_model(self) -> list[tuple[Any, ...]]:
        return self._all(PG_BY_MODEL, {})

    def close(self) -> None:
        self.connection.close()


class SqliteFloor:
    """The floor on SQLite (the standard sqlite3 module)."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.connection.execute("PRAGMA foreign_keys=ON")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        aggregate: Any = _DecimalSum
        self.connection.create_aggregate(DECIMAL_SUM, 1, aggregate)

    @staticmethod
    def _time(moment: dt.datetime) -> str:
        return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    def append(self, chat: uuid.UUID, user: str, content: str) -> int:
        now = self._time(dt.datetime.now(dt.timezone.utc))
        message = uuid7().hex
        db = self.connection
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(
            "UPDATE synergia_chats SET message_count = message_count + 1, last_message_at = ?, "
            "activity_at = ?, updated_at = ? WHERE id = ? AND user_id = ? AND deleted_at IS NULL "
            "RETURNING message_count, current_message_id",
            (now, now, now, chat.hex, user),
        ).fetchone()
        db.execute(
            "INSERT INTO synergia_messages (id, chat_id, user_id, parent_id, seq, role, content, "
            "status, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
            "reasoning_tokens, cost, metadata, created_at, updated_at) VALUES "
            "(?, ?, ?, ?, ?, 'user', ?, 'complete', 0, 0, 0, 0, 0, '0', '{}', ?, ?)",
            (message, chat.hex, user, row[1], row[0], content, now, now),
        )
        db.execute(
            "UPDATE synergia_chats SET current_message_id = ? WHERE id = ?", (message, chat.hex)
        )
        db.execute("COMMIT")
        return int(row[0])

    def _all(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        db = self.connection
        db.execute("BEGIN")
        rows = db.execute(_sqlite(sql), params).fetchall()
        db.execute("COMMIT")
        return rows

    def tail(self, chat: uuid.UUID, user: str, limit: int) -> list[tuple[Any, ...]]:
        return self._all(PG_TAIL, {"chat": chat.hex, "user": user, "limit": limit})[::-1]

    def thread(self, chat: uuid.UUID, user: str, limit: int) -> list[tuple[Any, ...]]:
        return self._all(PG_THREAD, {"chat": chat.hex, "user": user, "limit": limit})

    def full(self, chat: uuid.UUID, user: str) -> list[tuple[Any, ...]]:
        return self._all(PG_FULL, {"chat": chat.hex, "user": user})

    def chats(
        self, user: str, limit: int, after: tuple[dt.datetime, uuid.UUID] | None
    ) -> list[tuple[Any, ...]]:
        if after is None:
            return self._all(PG_CHATS_FIRST.replace("false", "0"), {"user": user, "limit": limit})
        at, last = after
        return self._all(
            PG_CHATS_AFTER.replace("false", "0"),
            {"user": user, "limit": limit, "at": self._time(at), "after": last.hex},
        )

    def by_model(self) -> list[tuple[Any, ...]]:
        return self._all(PG_BY_MODEL.replace("sum(cost)", f"{DECIMAL_SUM}(cost)"), {})

    def close(self) -> None:
        self.connection.close()


class _DecimalSum:
    def __init__(self) -> None:
        self.total = Decimal(0)

    def step(self, value: str) -> None:
        self.total += Decimal(value)

    def finalize(self) -> str:
        return str(self.total)
