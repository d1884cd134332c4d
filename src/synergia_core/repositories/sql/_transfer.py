"""SQL storage side of export, import and erasure.

Export reads a user's rows as they are stored (every column, typed by the
column types), in keyset pages: chats by id, messages by ``(chat_id, seq)``
for a page of chats at a time, so an export never holds more than a page.
Import writes rows as they were exported, many per statement
(``executemany``). Erasure deletes every row of a user.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from synergia_core.repositories.sql._orm import Budget, Spend
from synergia_core.repositories.sql._rows import chats, messages, models

__all__ = ["CHAT_FIELDS", "MESSAGE_FIELDS", "MODEL_FIELDS", "SqlTransferRepository"]

budgets: sa.Table = Budget.__table__  # type: ignore[assignment]
spend: sa.Table = Spend.__table__  # type: ignore[assignment]

# The columns of format version 1, named rather than taken from the tables:
# a column added later (a search index's, say) changes no export by itself.
MODEL_FIELDS = (
    "id",
    "provider",
    "name",
    "display_name",
    "input_price_per_million",
    "output_price_per_million",
    "cache_read_price_per_million",
    "cache_write_price_per_million",
    "cache_write_1h_price_per_million",
    "tiers",
    "aliases",
    "context_window",
    "max_output_tokens",
    "is_enabled",
    "metadata",
    "created_at",
    "updated_at",
    "deleted_at",
)
"""The stored columns of a catalog entry an export carries."""
CHAT_FIELDS = (
    "id",
    "title",
    "model_id",
    "system_prompt",
    "metadata",
    "is_pinned",
    "is_archived",
    "message_count",
    "last_seq",
    "current_message_id",
    "last_message_at",
    "activity_at",
    "created_at",
    "updated_at",
    "deleted_at",
)
"""The stored columns of a chat an export carries (the owner is the file's)."""
MESSAGE_FIELDS = (
    "id",
    "parent_id",
    "seq",
    "role",
    "content",
    "status",
    "model_id",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cache_write_1h_tokens",
    "cost",
    "error",
    "parts",
    "reasoning",
    "metadata",
    "created_at",
    "updated_at",
    "deleted_at",
)
"""The stored columns of a message an export carries (its chat is the one it follows)."""

_MODEL_COLUMNS = tuple(models.c[name] for name in MODEL_FIELDS)
_CHAT_COLUMNS = tuple(chats.c[name] for name in CHAT_FIELDS)
_MESSAGE_COLUMNS = (messages.c.chat_id, *(messages.c[name] for name in MESSAGE_FIELDS))

_REFERENCED_MODELS = (
    sa.select(*_MODEL_COLUMNS)
    .where(
        models.c.id.in_(
            sa.union(
                sa.select(chats.c.model_id).where(
                    chats.c.user_id == sa.bindparam("user_id"), chats.c.model_id.is_not(None)
                ),
                sa.select(messages.c.model_id).where(
                    messages.c.user_id == sa.bindparam("user_id"),
                    messages.c.model_id.is_not(None),
                ),
            ).scalar_subquery()
        )
    )
    .order_by(models.c.id)
)
_CHATS_FIRST = (
    sa.select(*_CHAT_COLUMNS)
    .where(chats.c.user_id == sa.bindparam("user_id"))
    .order_by(chats.c.id)
    .limit(sa.bindparam("limit"))
)
_CHATS_AFTER = _CHATS_FIRST.where(chats.c.id > sa.bindparam("after", type_=chats.c.id.type))


def _in(column: Any, name: str) -> Any:
    return column.in_(sa.bindparam(name, expanding=True))


_OWNER = messages.c.user_id == sa.bindparam("user_id", type_=messages.c.user_id.type)
_COUNTS = (
    sa.select(messages.c.chat_id, sa.func.count())
    .where(_OWNER, _in(messages.c.chat_id, "chat_ids"))
    .group_by(messages.c.chat_id)
)
_MESSAGES_FIRST = (
    sa.select(*_MESSAGE_COLUMNS)
    .where(_OWNER, _in(messages.c.chat_id, "chat_ids"))
    .order_by(messages.c.chat_id, messages.c.seq)
    .limit(sa.bindparam("limit"))
)
_MESSAGES_AFTER = _MESSAGES_FIRST.where(
    sa.tuple_(messages.c.chat_id, messages.c.seq)
    > sa.tuple_(
        sa.bindparam("after_chat", type_=messages.c.chat_id.type),
        sa.bindparam("after_seq", type_=sa.Integer()),
    )
)
_CHAT_OWNERS = sa.select(chats.c.id, chats.c.user_id).where(_in(chats.c.id, "ids"))
_MESSAGES_TAKEN = sa.select(messages.c.id).where(_in(messages.c.id, "ids"))
_MODEL_BY_ID = sa.select(*_MODEL_COLUMNS).where(
    models.c.id == sa.bindparam("id", type_=models.c.id.type)
)
_INSERT_MODEL = sa.insert(models)
_INSERT_CHAT = sa.insert(chats)
_INSERT_MESSAGE = sa.insert(messages)
_FINISH_CHAT = (
    sa.update(chats)
    .where(
        chats.c.id == sa.bindparam("chat_id", type_=chats.c.id.type),
        chats.c.user_id == sa.bindparam("owner", type_=chats.c.user_id.type),
    )
    .values(
        {
            name: sa.bindparam(f"v_{name}", type_=chats.c[name].type)
            for name in (
                "message_count",
                "last_seq",
                "current_message_id",
                "last_message_at",
                "activity_at",
                "updated_at",
            )
        }
    )
)
_PURGE = (
    ("messages", sa.delete(messages).where(messages.c.user_id == sa.bindparam("user_id"))),
    ("chats", sa.delete(chats).where(chats.c.user_id == sa.bindparam("user_id"))),
    ("budgets", sa.delete(budgets).where(budgets.c.user_id == sa.bindparam("user_id"))),
    ("spend", sa.delete(spend).where(spend.c.user_id == sa.bindparam("user_id"))),
)
_LOCK_USER_CHATS = (
    sa.select(chats.c.id).where(chats.c.user_id == sa.bindparam("user_id")).with_for_update()
)


class SqlTransferRepository:
    """Reads and writes whole rows for export, import and erasure.

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # ------------------------------------------------------------------ export

    def referenced_models(self, user_id: str) -> list[dict[str, Any]]:
        """Every catalog entry (live or deleted) a chat or message of the user names."""
        rows = self._connection.execute(_REFERENCED_MODELS, {"user_id": user_id}).mappings()
        return [dict(row) for row in rows]

    def chats_page(
        self, user_id: str, *, after: uuid.UUID | None, limit: int
    ) -> list[dict[str, Any]]:
        """The user's chats (live and soft-deleted) with ids above ``after``, by id."""
        if after is None:
            result = self._connection.execute(_CHATS_FIRST, {"user_id": user_id, "limit": limit})
        else:
            result = self._connection.execute(
                _CHATS_AFTER, {"user_id": user_id, "limit": limit, "after": after}
            )
        return [dict(row) for row in result.mappings()]

    def message_counts(self, user_id: str, chat_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many message rows each of the user's chats has (deleted messages included)."""
        rows = self._connection.execute(_COUNTS, {"user_id": user_id, "chat_ids": list(chat_ids)})
        return {chat_id: int(count) for chat_id, count in rows}

    def messages_page(
        self,
        user_id: str,
        chat_ids: Sequence[uuid.UUID],
        *,
        after: tuple[uuid.UUID, int] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Messages of ``chat_ids`` after ``(chat_id, seq)``, by chat then ``seq``."""
        bound: dict[str, Any] = {"user_id": user_id, "chat_ids": list(chat_ids), "limit": limit}
        statement = _MESSAGES_FIRST
        if after is not None:
            statement = _MESSAGES_AFTER
            bound["after_chat"], bound["after_seq"] = after
        return [dict(row) for row in self._connection.execute(statement, bound).mappings()]

    # ------------------------------------------------------------------ import

    def model_row(self, model_id: uuid.UUID) -> dict[str, Any] | None:
        """The stored row of a catalog entry, live or deleted."""
        row = self._connection.execute(_MODEL_BY_ID, {"id": model_id}).mappings().first()
        return None if row is None else dict(row)

    def insert_model(self, row: Mapping[str, Any]) -> None:
        """Insert a catalog entry as given (id and times included)."""
        self._connection.execute(_INSERT_MODEL, dict(row))

    def chat_owners(self, chat_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
        """The owner of each of ``chat_ids`` that exists (live or deleted)."""
        rows = self._connection.execute(_CHAT_OWNERS, {"ids": list(chat_ids)})
        return {row[0]: row[1] for row in rows}

    def messages_taken(self, message_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        """Those of ``message_ids`` some message already has."""
        rows = self._connection.execute(_MESSAGES_TAKEN, {"ids": list(message_ids)})
        return [row[0] for row in rows]

    def insert_chat(self, row: Mapping[str, Any]) -> None:
        """Insert a chat as given (counters are set by :meth:`finish_chat`)."""
        self._connection.execute(_INSERT_CHAT, dict(row))

    def insert_messages(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert messages as given, parents before children, in one ``executemany``."""
        if rows:
            self._connection.execute(_INSERT_MESSAGE, [dict(row) for row in rows])

    def finish_chat(self, user_id: str, chat_id: uuid.UUID, values: Mapping[str, Any]) -> None:
        """Set a chat's counters, current leaf and activity times to ``values``
        (after its messages are in: on SQLite the append trigger moves them)."""
        bound = {f"v_{name}": value for name, value in values.items()}
        self._connection.execute(_FINISH_CHAT, {"owner": user_id, "chat_id": chat_id, **bound})

    # ----------------------------------------------------------------- erasure

    def purge_user(self, user_id: str) -> dict[str, int]:
        """Delete every row of the user: messages, chats, budget and spend.
        Returns how many rows of each went."""
        bound = {"user_id": user_id}
        # Lock the user's chats first (PostgreSQL): no message can be
        # appended to one of them between the two deletes.
        if self._connection.dialect.name == "postgresql":
            self._connection.execute(_LOCK_USER_CHATS, bound).all()
        return {
            name: int(self._connection.execute(statement, bound).rowcount)
            for name, statement in _PURGE
        }
