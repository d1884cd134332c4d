"""ChatService: a user's chats, soft deletion, and keyset-paginated lists."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from synergia_core.errors import ChatNotFound, InvalidInputError
from synergia_core.ids import uuid7
from synergia_core.repositories.protocols import ChatKey, NewChat
from synergia_core.schemas import ChatCreate, ChatRead, ChatUpdate, Page
from synergia_core.services._base import Service, usable_model
from synergia_core.services._checks import (
    SizeBudget,
    as_schema,
    check_bool,
    check_limit,
    check_metadata,
    check_optional_bool,
    check_str,
    check_user_id,
    fields_given,
    to_uuid,
)
from synergia_core.services._context import ServiceConfig
from synergia_core.services._cursor import decode_cursor, encode_cursor, invalid_cursor

__all__ = ["ChatService"]

_CURSOR_KIND = "chats"
_TITLE_CHARS = 500
_SYSTEM_PROMPT_CHARS = 200_000


def _checked(values: Mapping[str, Any], config: ServiceConfig) -> dict[str, Any]:
    """The column values of a chat a caller sets, each checked (``None``
    clears the title, the model or the system prompt)."""
    checked: dict[str, Any] = {}
    for field, value in values.items():
        if field in ("title", "system_prompt"):
            limit = _TITLE_CHARS if field == "title" else _SYSTEM_PROMPT_CHARS
            checked[field] = None if value is None else check_str(value, field, max_chars=limit)
        elif field == "model_id":
            if value is not None and not isinstance(value, uuid.UUID):
                raise InvalidInputError("model_id must be a UUID", field=field)
            checked[field] = value
        elif field == "metadata":
            budget = SizeBudget(config.max_content_chars, "metadata")
            checked[field] = check_metadata(value, field, budget)
        elif field in ("is_pinned", "is_archived"):
            checked[field] = check_bool(value, field)
        else:  # pragma: no cover - fields_given allows only the schema's fields
            raise InvalidInputError(f"unknown field {field}", field=field)
    return checked


class ChatService(Service):
    """Chats of one user at a time: every call is scoped by ``user_id``.

    Another user's chat is reported as :class:`~synergia_core.errors.ChatNotFound`,
    never as forbidden, so ids leak nothing.
    """

    def create(self, data: ChatCreate | Mapping[str, Any]) -> ChatRead:
        """Start a chat for ``data.user_id``.

        Args:
            data: The chat; a ``dict`` is validated into a :class:`ChatCreate`.

        Raises:
            ModelNotFound: ``data.model_id`` names no model.
            ModelUnavailableError: The model is disabled or deleted.
            InvalidInputError: A text holds a NUL character, the metadata is
                larger than ``max_content_chars``, or ``data`` is not a
                :class:`ChatCreate` (or holds invalid values).
            pydantic.ValidationError: ``data`` is a dict that is not a valid
                :class:`ChatCreate`.
        """
        data = as_schema(data, ChatCreate, "data")
        user_id = check_user_id(data.user_id)
        values = _checked(
            {
                name: getattr(data, name)
                for name in ("title", "model_id", "system_prompt", "metadata")
            },
            self._config,
        )
        chat = NewChat(id=uuid7(), user_id=user_id, created_at=self._config.now(), **values)
        with self._scope(write=True, user_id=user_id) as repos:
            if chat.model_id is not None:
                usable_model(repos, chat.model_id)
            return repos.chats.insert(chat)

    def get(self, id: uuid.UUID | str, *, user_id: str) -> ChatRead:
        """One of the user's live chats.

        Raises:
            ChatNotFound: No live chat of this user has this id.
        """
        chat_id = to_uuid(id, "id")
        check_user_id(user_id)
        with self._scope(write=False, user_id=user_id) as repos:
            chat = repos.chats.get(chat_id, user_id=user_id)
        if chat is None:
            raise ChatNotFound(chat_id)
        return chat

    def list(
        self,
        *,
        user_id: str,
        limit: int = 20,
        cursor: str | None = None,
        include_archived: bool = False,
        pinned: bool | None = None,
    ) -> Page[ChatRead]:
        """The user's live chats, most recent activity (last message, else
        creation) first, then by id.

        Keyset-paginated: pass ``next_cursor`` back as ``cursor`` for the next
        page; any page costs what the first one does.

        Args:
            user_id: Whose chats.
            limit: Page size, 1 to 1000.
            cursor: Where the previous page ended.
            include_archived: Include archived chats.
            pinned: Only pinned (``True``) or only unpinned (``False``) chats.

        Raises:
            InvalidInputError: ``limit`` is out of range, a filter is not a
                bool, or ``cursor`` is invalid: altered, or made for another
                user or other filters.
        """
        check_user_id(user_id)
        check_limit(limit)
        check_bool(include_archived, "include_archived")
        check_optional_bool(pinned, "pinned")
        bound = (user_id, include_archived, pinned)
        secret = self._config.cursor_secret
        after = None if cursor is None else _decode_chat_cursor(cursor, bound, secret)
        with self._scope(write=False, user_id=user_id) as repos:
            items = repos.chats.list(
                user_id=user_id,
                limit=limit + 1,
                after=after,
                include_archived=include_archived,
                pinned=pinned,
            )
        next_cursor = None
        if len(items) > limit:
            items = items[:limit]
            key = ChatKey.of(items[-1])
            next_cursor = encode_cursor(
                _CURSOR_KIND,
                (key.activity_at.isoformat(), str(key.id)),
                bound=bound,
                secret=secret,
            )
        return Page[ChatRead](items=items, next_cursor=next_cursor)

    def update(
        self, id: uuid.UUID | str, data: ChatUpdate | Mapping[str, Any], *, user_id: str
    ) -> ChatRead:
        """Change the fields given in ``data`` (``None`` clears title, model or
        system prompt).

        Args:
            id: The chat.
            data: The change; a ``dict`` is validated into a :class:`ChatUpdate`.
            user_id: Its owner.

        Raises:
            ChatNotFound: No live chat of this user has this id.
            ModelNotFound: The new model does not exist.
            ModelUnavailableError: The new model is disabled or deleted.
            InvalidInputError: A text holds a NUL character, the metadata is
                larger than ``max_content_chars``, or ``data`` is not a
                :class:`ChatUpdate` (or holds invalid values).
            pydantic.ValidationError: ``data`` is a dict that is not a valid
                :class:`ChatUpdate`.
        """
        chat_id = to_uuid(id, "id")
        check_user_id(user_id)
        data = as_schema(data, ChatUpdate, "data")
        values = _checked(fields_given(data, "data"), self._config)
        with self._scope(write=True, user_id=user_id) as repos:
            if values.get("model_id") is not None:
                usable_model(repos, values["model_id"])
            chat = repos.chats.update(
                chat_id, user_id=user_id, values=values, now=self._config.now()
            )
            if chat is None:
                raise ChatNotFound(chat_id)
            return chat

    def delete(self, id: uuid.UUID | str, *, user_id: str) -> None:
        """Soft-delete a chat: it leaves every list; :meth:`restore` brings it back.

        Raises:
            ChatNotFound: No live chat of this user has this id.
        """
        chat_id = to_uuid(id, "id")
        check_user_id(user_id)
        with self._scope(write=True, user_id=user_id) as repos:
            deleted = repos.chats.set_deleted(
                chat_id, user_id=user_id, deleted=True, now=self._config.now()
            )
            if deleted is None:
                raise ChatNotFound(chat_id)

    def restore(self, id: uuid.UUID | str, *, user_id: str) -> ChatRead:
        """Bring back a soft-deleted chat (a live chat is returned unchanged).

        Raises:
            ChatNotFound: The user has no chat with this id.
        """
        chat_id = to_uuid(id, "id")
        check_user_id(user_id)
        with self._scope(write=True, user_id=user_id) as repos:
            chat = repos.chats.set_deleted(
                chat_id, user_id=user_id, deleted=False, now=self._config.now()
            )
            if chat is None:
                chat = repos.chats.get(chat_id, user_id=user_id)
            if chat is None:
                raise ChatNotFound(chat_id)
            return chat

    def purge(self, id: uuid.UUID | str, *, user_id: str) -> None:
        """Delete a chat, live or soft-deleted, and all its messages for good.

        Usage reports lose its messages too.

        Raises:
            ChatNotFound: The user has no chat with this id.
        """
        chat_id = to_uuid(id, "id")
        check_user_id(user_id)
        with self._scope(write=True, atomic=True, user_id=user_id) as repos:
            if not repos.chats.purge(chat_id, user_id=user_id):
                raise ChatNotFound(chat_id)


def _decode_chat_cursor(
    cursor: object, bound: tuple[str, bool, bool | None], secret: bytes | None
) -> ChatKey:
    """The position a chat-list cursor holds, every value checked."""
    activity, chat_id = decode_cursor(cursor, _CURSOR_KIND, 2, bound=bound, secret=secret)
    if not isinstance(activity, str) or not isinstance(chat_id, str) or len(activity) > 64:
        raise invalid_cursor()
    try:
        moment = dt.datetime.fromisoformat(activity)
        offset = moment.utcoffset()
        moment = moment.astimezone(dt.timezone.utc) if offset is not None else moment
        key_id = uuid.UUID(chat_id) if len(chat_id) <= 64 else None
    except (ValueError, OverflowError):
        raise invalid_cursor() from None
    if offset is None or key_id is None:
        raise invalid_cursor()
    return ChatKey(moment, key_id)
