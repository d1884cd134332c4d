"""SQL storage of messages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from synergia_core.repositories.protocols import NewMessage, SpendChange
from synergia_core.repositories.sql._budgets import SqlBudgetRepository
from synergia_core.repositories.sql._prebuilt import fetch_all, fetch_first
from synergia_core.repositories.sql._rows import (
    MESSAGE_COLUMNS,
    chats,
    message_from_row,
    message_from_tuple,
    messages,
    shallow_dict,
)
from synergia_core.repositories.sql._statements import (
    APPEND_GENERIC,
    APPEND_POSTGRESQL,
    APPEND_POSTGRESQL_SPENDING,
    LIVE_MESSAGE,
    MESSAGE_BY_ID,
    NEWEST,
    NEWEST_BEFORE,
    THREAD,
    live_chat,
    param,
    params,
)
from synergia_core.schemas import MessageRead, MessageStatus

__all__ = ["SqlMessageRepository"]

_STREAMING = MessageStatus.streaming.value
_ID = param("message_id", messages.c.id)
_USER = param("user_id", messages.c.user_id)
_CHAT = param("chat_id", messages.c.chat_id)
_NOW = param("now", messages.c.updated_at)
_OWNED = sa.and_(
    messages.c.id == _ID,
    messages.c.user_id == _USER,
    LIVE_MESSAGE,
    live_chat(messages.c.chat_id, _USER),
)
_IS_STREAMING = sa.and_(_OWNED, messages.c.status == _STREAMING)

_LOCATE = sa.select(messages.c.chat_id).where(_OWNED)


def _siblings() -> sa.Select[Any]:
    target = messages.alias("synergia_target")
    same_parent = sa.or_(
        messages.c.parent_id == target.c.parent_id,
        sa.and_(messages.c.parent_id.is_(None), target.c.parent_id.is_(None)),
    )
    return (
        sa.select(*MESSAGE_COLUMNS)
        .select_from(
            messages.join(target, sa.and_(messages.c.chat_id == target.c.chat_id, same_parent))
        )
        .where(
            target.c.id == _ID,
            target.c.user_id == _USER,
            messages.c.user_id == _USER,  # every per-user table scoped by user (sharding)
            target.c.deleted_at.is_(None),
            LIVE_MESSAGE,
            live_chat(target.c.chat_id, _USER),
        )
        .order_by(messages.c.seq)
    )


def _subtree() -> Any:
    """The live message ``p_message_id`` of the user and its live descendants."""
    anchor = sa.select(messages.c.id, messages.c.chat_id, messages.c.seq).where(_OWNED)
    tree = anchor.cte("synergia_subtree", recursive=True)
    step = (
        sa.select(messages.c.id, messages.c.chat_id, messages.c.seq)
        .join(
            tree, sa.and_(messages.c.chat_id == tree.c.chat_id, messages.c.parent_id == tree.c.id)
        )
        .where(LIVE_MESSAGE)
    )
    return tree.union_all(step)


def _append_content(length: Any) -> sa.Update:
    text = sa.bindparam("p_chunk", type_=messages.c.content.type)
    reasoning = sa.bindparam("p_reasoning", type_=messages.c.content.type)
    room = sa.bindparam("p_room", type_=sa.Integer())  # max_chars - both chunks
    streamed = sa.func.coalesce(messages.c.reasoning, "")
    return (
        sa.update(messages)
        .where(_IS_STREAMING, length(messages.c.content) + length(streamed) <= room)
        .values(
            content=messages.c.content + text,
            reasoning=sa.case((reasoning == "", messages.c.reasoning), else_=streamed + reasoning),
            updated_at=_NOW,
        )
    )


_SUBTREE = _subtree()
_SIBLINGS = _siblings()
_NEWEST_DESCENDANT = sa.select(_SUBTREE.c.id).order_by(_SUBTREE.c.seq.desc()).limit(1)
_APPEND_CONTENT = {
    "postgresql": _append_content(sa.func.char_length),
    "sqlite": _append_content(sa.func.length),
}
_FINISH = sa.update(messages).where(_IS_STREAMING).returning(*MESSAGE_COLUMNS)
_LOCKED_STREAMING = sa.select(*MESSAGE_COLUMNS).where(_IS_STREAMING).with_for_update()

# messages.delete: the branch, then the chat's counters and current leaf
_BRANCH_ROOT = sa.select(messages.c.chat_id, messages.c.parent_id).where(_OWNED)
_LOCK_CHAT = (
    sa.select(chats.c.current_message_id)
    .where(chats.c.id == _CHAT, chats.c.user_id == _USER, chats.c.deleted_at.is_(None))
    .with_for_update()
)
_HIDE_BRANCH = (
    sa.update(messages)
    .where(messages.c.id.in_(sa.select(_SUBTREE.c.id)), LIVE_MESSAGE)
    .values(deleted_at=_NOW, updated_at=_NOW)
    .returning(messages.c.id)  # counted from the rows: sqlite3 has no rowcount after a WITH
)
_HIDE_CHAT = (
    sa.update(messages)
    .where(messages.c.chat_id == _CHAT, messages.c.user_id == _USER, LIVE_MESSAGE)
    .values(deleted_at=_NOW, updated_at=_NOW)
)
_IN_BRANCH = sa.select(sa.literal(1)).where(
    sa.exists().where(_SUBTREE.c.id == sa.bindparam("p_leaf", type_=messages.c.id.type))
)
_UNCOUNT = (
    sa.update(chats)
    .where(chats.c.id == _CHAT, chats.c.user_id == _USER)
    .values(
        message_count=chats.c.message_count - sa.bindparam("p_removed", type_=sa.Integer()),
        updated_at=_NOW,
    )
)
_MOVE_LEAF = _UNCOUNT.values(current_message_id=param("leaf", chats.c.current_message_id))
_CLEAR_CHAT = _UNCOUNT.values(current_message_id=None)


class SqlMessageRepository:
    """:class:`~synergia_core.repositories.protocols.MessageRepository` on SQLAlchemy Core.

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(
        self, message: NewMessage, *, now: dt.datetime, spend: SpendChange | None = None
    ) -> MessageRead | None:
        """Append a message to its chat (see the protocol).

        One statement, whatever the chat's size. On PostgreSQL it locks the
        chat row, bumps it and inserts (see
        :data:`~synergia_core.repositories.sql._statements.APPEND_POSTGRESQL`),
        and with ``spend`` also adds the cost to the user's spend; on SQLite
        an ``INSERT ... SELECT`` reads the next ``seq`` and the current leaf
        from the chat row under the database's write lock, and the schema's
        trigger bumps the counters and moves the leaf in the same statement
        (with ``spend``, the spend is written in a savepoint with it). Either
        way concurrent writers queue on the lock and never share a position
        or a parent, and no transaction is needed around it.
        """
        values = shallow_dict(message)
        del values["under_current_leaf"]
        values["role"] = message.role.value
        values["status"] = message.status.value
        values["error"] = None
        values["reasoning"] = None
        values["deleted_at"] = None
        values["updated_at"] = message.created_at
        leaf = message.under_current_leaf
        if self._connection.dialect.name == "postgresql":
            bound = params(**values, now=now)
            if leaf:
                del bound["p_parent_id"]
            if spend is None:
                statement = APPEND_POSTGRESQL[leaf]
            else:
                statement = APPEND_POSTGRESQL_SPENDING[leaf, spend.end is not None]
                bound.update(params(s_period=spend.period, s_start=spend.start, s_end=spend.end))
                if spend.end is None:
                    del bound["p_s_end"]
            row = fetch_first(self._connection, statement, bound)
            if row is None:
                return None
            values["seq"], values["parent_id"] = row
            return message_from_row(values)
        bound = params(**values)
        if leaf:
            del bound["p_parent_id"]
        if spend is None:
            row = fetch_first(self._connection, APPEND_GENERIC[leaf], bound)
        else:
            with self._connection.begin_nested():  # the append and its spend, or neither
                row = fetch_first(self._connection, APPEND_GENERIC[leaf], bound)
                if row is not None:
                    SqlBudgetRepository(self._connection).record(
                        spend.user_id,
                        spend.period,
                        spend.start,
                        spend.end,
                        spend.cost,
                        spend.now,
                    )
        if row is None:
            return None
        values["seq"], values["parent_id"] = row
        return message_from_row(values)

    def get(self, message_id: uuid.UUID, *, user_id: str) -> MessageRead | None:
        """A message of one of the user's live chats."""
        row = fetch_first(
            self._connection, MESSAGE_BY_ID, params(message_id=message_id, user_id=user_id)
        )
        return None if row is None else message_from_tuple(row)

    def locate(self, message_id: uuid.UUID, *, user_id: str) -> uuid.UUID | None:
        """The chat id of a message of one of the user's live chats."""
        row = self._connection.execute(
            _LOCATE, params(message_id=message_id, user_id=user_id)
        ).first()
        return None if row is None else row.chat_id

    def newest(
        self, chat_id: uuid.UUID, *, user_id: str, limit: int, before_seq: int | None
    ) -> list[MessageRead]:
        """Up to ``limit`` messages of a live chat with ``seq < before_seq``, highest first."""
        bound = params(chat_id=chat_id, user_id=user_id, limit=limit)
        statement = NEWEST
        if before_seq is not None:
            statement = NEWEST_BEFORE
            bound["p_before_seq"] = before_seq
        return [message_from_tuple(row) for row in fetch_all(self._connection, statement, bound)]

    def thread(
        self, chat_id: uuid.UUID, *, user_id: str, leaf_id: uuid.UUID | None, limit: int | None
    ) -> list[MessageRead]:
        """The root-to-leaf path in one recursive statement (see the protocol).

        The walk starts at the leaf and follows ``parent_id`` upward through
        the primary key, so it costs one index probe per message returned:
        with ``limit`` it stops after ``limit`` steps, whatever the chat's size.
        """
        bound = params(chat_id=chat_id, user_id=user_id, leaf_id=leaf_id, limit=limit)
        statement = THREAD[leaf_id is None, limit is not None]
        return [message_from_tuple(row) for row in fetch_all(self._connection, statement, bound)]

    def siblings(self, message_id: uuid.UUID, *, user_id: str) -> list[MessageRead]:
        """The children of the message's parent (itself included), by ``seq``."""
        bound = params(message_id=message_id, user_id=user_id)
        return [message_from_tuple(row) for row in fetch_all(self._connection, _SIBLINGS, bound)]

    def newest_descendant(self, message_id: uuid.UUID, *, user_id: str) -> uuid.UUID | None:
        """The highest-``seq`` message of the subtree of ``message_id``."""
        bound = params(message_id=message_id, user_id=user_id)
        row = self._connection.execute(_NEWEST_DESCENDANT, bound).first()
        return None if row is None else row.id

    def append_content(
        self,
        message_id: uuid.UUID,
        *,
        user_id: str,
        chunk: str,
        max_chars: int,
        now: dt.datetime,
        reasoning: str = "",
    ) -> bool:
        """Append to a streaming message's text (and reasoning) in one
        ``UPDATE``; nothing is read back."""
        statement = _APPEND_CONTENT.get(self._connection.dialect.name, _APPEND_CONTENT["sqlite"])
        room = max_chars - len(chunk) - len(reasoning)
        bound = params(
            message_id=message_id,
            user_id=user_id,
            chunk=chunk,
            reasoning=reasoning,
            room=room,
            now=now,
        )
        return bool(self._connection.execute(statement, bound).rowcount)

    def streaming_for_update(self, message_id: uuid.UUID, *, user_id: str) -> MessageRead | None:
        """The streaming message, its row locked until the transaction ends
        (PostgreSQL; SQLite's write lock is held from ``BEGIN IMMEDIATE``)."""
        bound = params(message_id=message_id, user_id=user_id)
        row = self._connection.execute(_LOCKED_STREAMING, bound).first()
        return None if row is None else message_from_tuple(row)

    def finish_stream(
        self,
        message_id: uuid.UUID,
        *,
        user_id: str,
        status: MessageStatus,
        values: Mapping[str, Any],
        now: dt.datetime,
    ) -> MessageRead | None:
        """Move a streaming message to ``status`` with ``values``."""
        bound = {
            **values,
            "status": status.value,
            "updated_at": now,
            **params(message_id=message_id, user_id=user_id),
        }
        row = self._connection.execute(_FINISH, bound).first()
        return None if row is None else message_from_tuple(row)

    def delete_branch(self, message_id: uuid.UUID, *, user_id: str, now: dt.datetime) -> int | None:
        """Hide a message and its descendants (see the protocol)."""
        bound = params(message_id=message_id, user_id=user_id, now=now)
        root = self._connection.execute(_BRANCH_ROOT, bound).first()
        if root is None:
            return None
        chat_id, parent_id = root
        bound = {**bound, **params(chat_id=chat_id)}
        leaf = self._connection.execute(_LOCK_CHAT, bound).scalar()
        moves = (
            leaf is not None
            and self._connection.execute(_IN_BRANCH, {**bound, "p_leaf": leaf}).first() is not None
        )
        removed = len(self._connection.execute(_HIDE_BRANCH, bound).all())
        if moves:
            self._connection.execute(
                _MOVE_LEAF, {**bound, "p_removed": removed, "p_leaf": parent_id}
            )
        else:
            self._connection.execute(_UNCOUNT, {**bound, "p_removed": removed})
        return int(removed)

    def clear(self, chat_id: uuid.UUID, *, user_id: str, now: dt.datetime) -> bool:
        """Hide every message of a live chat (see the protocol)."""
        bound = params(chat_id=chat_id, user_id=user_id, now=now)
        if self._connection.execute(_LOCK_CHAT, bound).first() is None:
            return False
        removed = self._connection.execute(_HIDE_CHAT, bound).rowcount
        self._connection.execute(_CLEAR_CHAT, {**bound, "p_removed": removed})
        return True
