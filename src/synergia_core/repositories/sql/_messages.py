"""SQL storage of messages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from synergia_core.repositories.protocols import NewMessage
from synergia_core.repositories.sql._rows import (
    MESSAGE_COLUMNS,
    message_from_row,
    message_from_tuple,
    messages,
    shallow_dict,
)
from synergia_core.repositories.sql._statements import (
    APPEND_GENERIC,
    APPEND_POSTGRESQL,
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
_OWNED = sa.and_(
    messages.c.id == _ID, messages.c.user_id == _USER, live_chat(messages.c.chat_id, _USER)
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
        .where(target.c.id == _ID, target.c.user_id == _USER, live_chat(target.c.chat_id, _USER))
        .order_by(messages.c.seq)
    )


def _newest_descendant() -> sa.Select[Any]:
    anchor = sa.select(messages.c.id, messages.c.chat_id, messages.c.seq).where(_OWNED)
    tree = anchor.cte("synergia_subtree", recursive=True)
    step = sa.select(messages.c.id, messages.c.chat_id, messages.c.seq).join(
        tree, sa.and_(messages.c.chat_id == tree.c.chat_id, messages.c.parent_id == tree.c.id)
    )
    tree = tree.union_all(step)
    return sa.select(tree.c.id).order_by(tree.c.seq.desc()).limit(1)


def _append_content(length: Any) -> sa.Update:
    chunk = sa.bindparam("p_chunk", type_=messages.c.content.type)
    room = sa.bindparam("p_room", type_=sa.Integer())  # max_chars - len(chunk)
    return (
        sa.update(messages)
        .where(_IS_STREAMING, length(messages.c.content) <= room)
        .values(content=messages.c.content + chunk, updated_at=param("now", messages.c.updated_at))
    )


_SIBLINGS = _siblings()
_NEWEST_DESCENDANT = _newest_descendant()
_APPEND_CONTENT = {
    "postgresql": _append_content(sa.func.char_length),
    "sqlite": _append_content(sa.func.length),
}
_FINISH = sa.update(messages).where(_IS_STREAMING).returning(*MESSAGE_COLUMNS)


class SqlMessageRepository:
    """:class:`~synergia_core.repositories.protocols.MessageRepository` on SQLAlchemy Core.

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(self, message: NewMessage, *, now: dt.datetime) -> MessageRead | None:
        """Append a message to its chat (see the protocol).

        One statement, whatever the chat's size. On PostgreSQL it locks the
        chat row, bumps it and inserts (see
        :data:`~synergia_core.repositories.sql._statements.APPEND_POSTGRESQL`);
        on SQLite an ``INSERT ... SELECT`` reads the next ``seq`` and the
        current leaf from the chat row under the database's write lock, and
        the schema's trigger bumps the counters and moves the leaf in the same
        statement. Either way concurrent writers queue on the lock and never
        share a position or a parent, and no transaction is needed around it.
        """
        values = shallow_dict(message)
        del values["under_current_leaf"]
        values["role"] = message.role.value
        values["status"] = message.status.value
        values["error"] = None
        values["updated_at"] = message.created_at
        if self._connection.dialect.name == "postgresql":
            statement = APPEND_POSTGRESQL[message.under_current_leaf]
            bound = params(**values, now=now)
            if message.under_current_leaf:
                del bound["p_parent_id"]
            row = self._connection.execute(statement, bound).first()
            if row is None:
                return None
            values["seq"], values["parent_id"] = row
            return message_from_row(values)
        bound = params(**values)
        if message.under_current_leaf:
            del bound["p_parent_id"]
        row = self._connection.execute(APPEND_GENERIC[message.under_current_leaf], bound).first()
        if row is None:
            return None
        values["seq"], values["parent_id"] = row
        return message_from_row(values)

    def get(self, message_id: uuid.UUID, *, user_id: str) -> MessageRead | None:
        """A message of one of the user's live chats."""
        row = (
            self._connection.execute(MESSAGE_BY_ID, params(message_id=message_id, user_id=user_id))
            .mappings()
            .first()
        )
        return None if row is None else message_from_row(row)

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
        result = self._connection.execute(statement, bound).all()
        return [message_from_tuple(row) for row in result]

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
        result = self._connection.execute(statement, bound).all()
        return [message_from_tuple(row) for row in result]

    def siblings(self, message_id: uuid.UUID, *, user_id: str) -> list[MessageRead]:
        """The children of the message's parent (itself included), by ``seq``."""
        bound = params(message_id=message_id, user_id=user_id)
        return [message_from_tuple(row) for row in self._connection.execute(_SIBLINGS, bound)]

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
    ) -> bool:
        """Append to a streaming message in one ``UPDATE``; nothing is read back."""
        statement = _APPEND_CONTENT.get(self._connection.dialect.name, _APPEND_CONTENT["sqlite"])
        bound = params(
            message_id=message_id,
            user_id=user_id,
            chunk=chunk,
            room=max_chars - len(chunk),
            now=now,
        )
        return bool(self._connection.execute(statement, bound).rowcount)

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
