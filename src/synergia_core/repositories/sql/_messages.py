"""SQL storage of messages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from synergia_core.repositories.protocols import NewMessage
from synergia_core.repositories.sql._rows import (
    MESSAGE_COLUMNS,
    chats,
    message_from_row,
    messages,
)
from synergia_core.schemas import MessageRead

__all__ = ["SqlMessageRepository"]


def _live_chat_of(chat_id: Any, user_id: Any) -> sa.ColumnElement[bool]:
    return sa.exists().where(
        chats.c.id == chat_id, chats.c.user_id == user_id, chats.c.deleted_at.is_(None)
    )


class SqlMessageRepository:
    """:class:`~synergia_core.repositories.protocols.MessageRepository` on SQLAlchemy Core.

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(self, message: NewMessage, *, now: dt.datetime) -> MessageRead | None:
        """Append a message to its chat (see the protocol).

        Three statements whatever the chat's size: the ``UPDATE ... RETURNING``
        that bumps the chat's counters takes the chat's row lock (the write
        lock on SQLite) and reads the next ``seq`` and the current leaf under
        it; the ``INSERT``; and the ``UPDATE`` that makes the message the
        current leaf, in the same transaction, so concurrent writers queue on
        the lock and never share a position or a parent by accident.
        """
        bump = (
            sa.update(chats)
            .where(
                chats.c.id == message.chat_id,
                chats.c.user_id == message.user_id,
                chats.c.deleted_at.is_(None),
            )
            .values(
                message_count=chats.c.message_count + 1,
                last_message_at=now,
                activity_at=now,
                updated_at=now,
            )
            .returning(chats.c.message_count, chats.c.current_message_id)
        )
        bumped = self._connection.execute(bump).first()
        if bumped is None:
            return None
        seq, leaf = bumped
        values = dataclasses.asdict(message)
        values["role"] = message.role.value
        values["status"] = message.status.value
        values["parent_id"] = message.parent_id if message.parent_id is not None else leaf
        values["seq"] = seq
        values["error"] = None
        values["updated_at"] = message.created_at
        self._connection.execute(sa.insert(messages).values(values))
        self._connection.execute(
            sa.update(chats)
            .where(chats.c.id == message.chat_id)
            .values(current_message_id=message.id)
        )
        return message_from_row(values)

    def get(self, message_id: uuid.UUID, *, user_id: str) -> MessageRead | None:
        """A message of one of the user's live chats."""
        query = sa.select(*MESSAGE_COLUMNS).where(
            messages.c.id == message_id,
            messages.c.user_id == user_id,
            _live_chat_of(messages.c.chat_id, user_id),
        )
        row = self._connection.execute(query).mappings().first()
        return None if row is None else message_from_row(row)

    def locate(self, message_id: uuid.UUID, *, user_id: str) -> uuid.UUID | None:
        """The chat id of a message of one of the user's live chats."""
        query = sa.select(messages.c.chat_id).where(
            messages.c.id == message_id,
            messages.c.user_id == user_id,
            _live_chat_of(messages.c.chat_id, user_id),
        )
        row = self._connection.execute(query).first()
        return None if row is None else row.chat_id

    def newest(
        self, chat_id: uuid.UUID, *, user_id: str, limit: int, before_seq: int | None
    ) -> list[MessageRead]:
        """Up to ``limit`` messages of a live chat with ``seq < before_seq``, highest first."""
        query = sa.select(*MESSAGE_COLUMNS).where(
            messages.c.chat_id == chat_id,
            messages.c.user_id == user_id,
            _live_chat_of(chat_id, user_id),
        )
        if before_seq is not None:
            query = query.where(messages.c.seq < before_seq)
        query = query.order_by(messages.c.seq.desc()).limit(limit)
        return [message_from_row(row) for row in self._connection.execute(query).mappings()]
