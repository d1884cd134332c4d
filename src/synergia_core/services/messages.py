"""MessageService: a chat's message history."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from synergia_core.errors import ChatNotFound, MessageNotFound
from synergia_core.schemas import MessageCreate, MessageRead, MessageStatus, Page
from synergia_core.services._checks import as_schema, check_limit, check_user_id, to_uuid
from synergia_core.services._cost import message_cost
from synergia_core.services._cursor import decode_cursor, encode_cursor, invalid_cursor
from synergia_core.services._message_rows import check_message, new_message
from synergia_core.services._prompt import PromptMethods
from synergia_core.services._recording import RecordingMethods
from synergia_core.services._spending import guard_model, spend_change
from synergia_core.services._tree import TreeMethods, check_parent

__all__ = ["MessageService"]

_CURSOR_KIND = "messages"
_MAX_SEQ = 2**31 - 1  # seq is a 32-bit integer column


class MessageService(TreeMethods, RecordingMethods, PromptMethods):
    """Messages of a user's chats: every call is scoped by ``user_id``.

    Messages form a tree per chat: each has a ``parent_id`` (``None`` for a
    root) and a ``seq``, gap-free and increasing within the chat. The chat's
    current leaf is the default parent of the next message; ``edit`` and
    ``regenerate`` add siblings and move it, ``select`` switches branches,
    ``thread`` reads the path the user sees. Streamed replies go through
    ``start``/``append``/``finish`` (or ``fail``/``cancel``), or are
    recorded from a provider's stream with ``record_stream``; ``delete``
    and ``clear`` remove branches; ``context`` turns the current thread into
    a provider's request.
    """

    def add(
        self, chat_id: uuid.UUID | str, data: MessageCreate | Mapping[str, Any], *, user_id: str
    ) -> MessageRead:
        """Append a complete message to one of the user's live chats.

        The message's parent defaults to the chat's current leaf, and the new
        message becomes the current leaf. With ``usage``, its cost is computed
        from the model's prices now and stored; later price changes never
        rewrite it.

        Raises:
            ChatNotFound: No live chat of this user has this id.
            MessageNotFound: ``parent_id`` names no message of this user.
            ModelNotFound: ``model_id`` names no model.
            ModelUnavailableError: The model is disabled or deleted.
            BudgetExceededError: A message with a model, and the user's
                spend in the budget's period has reached its limit.
            InvalidInputError: The parent is in another chat; ``usage`` is
                given without a ``model_id``; a text holds a NUL character;
                the message (its parts and metadata together) is larger than
                ``max_content_chars``; ``data`` is not a
                :class:`MessageCreate` (or holds invalid values).
            pydantic.ValidationError: ``data`` is a dict that is not a valid
                :class:`MessageCreate`.
        """
        chat_uuid = to_uuid(chat_id, "chat_id")
        check_user_id(user_id)
        data = as_schema(data, MessageCreate, "data")
        body = check_message(data, self._config)
        now = self._config.now()
        # A message with a model is checked against the user's budget (read
        # with the model's pricing) and its cost added to the spend by the
        # append's own statement.
        with self._scope(write=True, user_id=user_id) as repos:
            cost = Decimal(0)
            rule = None
            if data.model_id is not None:
                pricing, rule = guard_model(repos, data.model_id, user_id, self._config, now)
                if data.usage is not None:
                    cost = message_cost(data.usage, pricing)
            if data.parent_id is not None:
                check_parent(repos, data.parent_id, chat_uuid, user_id)
            row = new_message(
                chat_id=chat_uuid,
                user_id=user_id,
                role=data.role,
                body=body,
                status=MessageStatus.complete,
                now=now,
                parent_id=data.parent_id,
                under_current_leaf=data.parent_id is None,
                model_id=data.model_id,
                usage=data.usage,
                cost=cost,
                metadata=data.metadata,
            )
            spend = spend_change(user_id, rule, cost, now, now)
            added = repos.messages.append(row, now=now, spend=spend)
            if added is None:
                raise ChatNotFound(chat_uuid)
            return added

    def get(self, id: uuid.UUID | str, *, user_id: str) -> MessageRead:
        """A message of one of the user's live chats.

        Raises:
            MessageNotFound: No message of this user's live chats has this id.
        """
        message_id = to_uuid(id, "id")
        check_user_id(user_id)
        with self._scope(write=False, user_id=user_id) as repos:
            message = repos.messages.get(message_id, user_id=user_id)
        if message is None:
            raise MessageNotFound(message_id)
        return message

    def list(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[MessageRead]:
        """Every message of a chat (all branches), a page at a time.

        The first page holds the newest ``limit`` messages; items are in
        ascending ``seq``; ``next_cursor`` walks toward older messages.

        Raises:
            ChatNotFound: No live chat of this user has this id.
            InvalidInputError: ``limit`` is out of range or ``cursor`` is
                invalid: altered, or made for another user or chat.
        """
        chat_uuid = to_uuid(chat_id, "chat_id")
        check_user_id(user_id)
        check_limit(limit)
        bound = (user_id, str(chat_uuid))
        secret = self._config.cursor_secret
        before_seq = None if cursor is None else _decode_cursor(cursor, bound, secret)
        with self._scope(write=False, user_id=user_id) as repos:
            newest = repos.messages.newest(
                chat_uuid, user_id=user_id, limit=limit + 1, before_seq=before_seq
            )
            if not newest and repos.chats.get(chat_uuid, user_id=user_id) is None:
                raise ChatNotFound(chat_uuid)
        next_cursor = None
        if len(newest) > limit:
            newest = newest[:limit]
            next_cursor = encode_cursor(_CURSOR_KIND, (newest[-1].seq,), bound=bound, secret=secret)
        newest.reverse()
        items: builtins.list[MessageRead] = newest
        return Page[MessageRead](items=items, next_cursor=next_cursor)


def _decode_cursor(cursor: object, bound: tuple[str, str], secret: bytes | None) -> int:
    """The ``seq`` a message-list cursor holds, checked."""
    (seq,) = decode_cursor(cursor, _CURSOR_KIND, 1, bound=bound, secret=secret)
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= _MAX_SEQ:
        raise invalid_cursor()
    return seq
