"""SQL storage of chats.

Every statement is built once, at import, with bound parameters (see
``_statements.py``): a call binds values to a cached compiled statement
instead of building and hashing a new one. Updates take their ``SET``
columns from the parameters they are executed with.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from synergia_core.repositories.protocols import ChatKey, NewChat
from synergia_core.repositories.sql._prebuilt import fetch_all, fetch_first
from synergia_core.repositories.sql._rows import (
    CHAT_COLUMNS,
    chat_from_row,
    chat_from_tuple,
    chats,
    messages,
    shallow_dict,
)
from synergia_core.repositories.sql._statements import CHATS_AFTER, CHATS_FIRST, param, params
from synergia_core.schemas import ChatRead

__all__ = ["SqlChatRepository"]

_LIVE = chats.c.deleted_at.is_(None)
_THIS_CHAT = sa.and_(
    chats.c.id == param("chat_id", chats.c.id), chats.c.user_id == param("user_id", chats.c.user_id)
)

_INSERT = sa.insert(chats)
_GET = {
    include_deleted: sa.select(*CHAT_COLUMNS).where(
        _THIS_CHAT, *(() if include_deleted else (_LIVE,))
    )
    for include_deleted in (True, False)
}
_UPDATE_LIVE = sa.update(chats).where(_THIS_CHAT, _LIVE).returning(*CHAT_COLUMNS)
_SET_DELETED = {
    deleted: sa.update(chats)
    .where(_THIS_CHAT, _LIVE if deleted else chats.c.deleted_at.is_not(None))
    .returning(*CHAT_COLUMNS)
    for deleted in (True, False)
}
_LOCK_OWNED = sa.select(chats.c.id).where(_THIS_CHAT).with_for_update()
_DELETE_MESSAGES = sa.delete(messages).where(
    messages.c.chat_id == param("chat_id", messages.c.chat_id),
    messages.c.user_id == param("user_id", messages.c.user_id),
)
_DELETE_CHAT = sa.delete(chats).where(_THIS_CHAT)


class SqlChatRepository:
    """:class:`~synergia_core.repositories.protocols.ChatRepository` on SQLAlchemy Core.

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _one(self, statement: Any, bound: Mapping[str, Any]) -> ChatRead | None:
        row = self._connection.execute(statement, bound).mappings().first()
        return None if row is None else chat_from_row(row)

    def insert(self, chat: NewChat) -> ChatRead:
        """Insert a chat."""
        values = shallow_dict(chat)
        values.update(
            is_pinned=False,
            is_archived=False,
            message_count=0,
            current_message_id=None,
            last_message_at=None,
            activity_at=chat.created_at,
            updated_at=chat.created_at,
            deleted_at=None,
        )
        self._connection.execute(_INSERT, values)
        return chat_from_row(values)

    def get(
        self, chat_id: uuid.UUID, *, user_id: str, include_deleted: bool = False
    ) -> ChatRead | None:
        """A chat of ``user_id`` (live only unless ``include_deleted``)."""
        bound = params(chat_id=chat_id, user_id=user_id)
        row = fetch_first(self._connection, _GET[include_deleted], bound)
        return None if row is None else chat_from_tuple(row)

    def list(
        self,
        *,
        user_id: str,
        limit: int,
        after: ChatKey | None,
        include_archived: bool,
        pinned: bool | None,
    ) -> list[ChatRead]:
        """Up to ``limit`` live chats after ``after``, most recent activity first."""
        bound = params(user_id=user_id, limit=limit)
        if after is None:
            statement = CHATS_FIRST[include_archived, pinned]
        else:
            statement = CHATS_AFTER[include_archived, pinned]
            bound.update(params(after_at=after.activity_at, after_id=after.id))
        return [chat_from_tuple(row) for row in fetch_all(self._connection, statement, bound)]

    def update(
        self, chat_id: uuid.UUID, *, user_id: str, values: Mapping[str, Any], now: dt.datetime
    ) -> ChatRead | None:
        """Change columns of a live chat."""
        bound = {**values, "updated_at": now, **params(chat_id=chat_id, user_id=user_id)}
        return self._one(_UPDATE_LIVE, bound)

    def set_deleted(
        self, chat_id: uuid.UUID, *, user_id: str, deleted: bool, now: dt.datetime
    ) -> ChatRead | None:
        """Soft-delete a live chat or restore a deleted one."""
        bound = {
            "deleted_at": now if deleted else None,
            "updated_at": now,
            **params(chat_id=chat_id, user_id=user_id),
        }
        return self._one(_SET_DELETED[deleted], bound)

    def purge(self, chat_id: uuid.UUID, *, user_id: str) -> bool:
        """Delete a chat (live or soft-deleted) and its messages for good."""
        bound = params(chat_id=chat_id, user_id=user_id)
        # The row lock: no message may be appended between the two deletes.
        if self._connection.execute(_LOCK_OWNED, bound).first() is None:
            return False
        # Explicit, so it does not depend on the engine enforcing ON DELETE CASCADE.
        self._connection.execute(_DELETE_MESSAGES, bound)
        self._connection.execute(_DELETE_CHAT, bound)
        return True

    def set_current(
        self, chat_id: uuid.UUID, *, user_id: str, message_id: uuid.UUID, now: dt.datetime
    ) -> ChatRead | None:
        """Make ``message_id`` the live chat's current leaf."""
        bound = {
            "current_message_id": message_id,
            "updated_at": now,
            **params(chat_id=chat_id, user_id=user_id),
        }
        return self._one(_UPDATE_LIVE, bound)
