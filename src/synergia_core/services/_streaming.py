"""Streaming replies of MessageService: start, append, finish, fail, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from synergia_core.errors import (
    ChatNotFound,
    InvalidInputError,
    InvalidStateError,
    MessageNotFound,
)
from synergia_core.repositories.protocols import Repositories
from synergia_core.schemas import MessageRead, MessageStatus, Role, Usage
from synergia_core.services._base import Service, usable_model
from synergia_core.services._checks import (
    check_str,
    check_usage,
    check_user_id,
    optional_uuid,
    to_uuid,
)
from synergia_core.services._cost import message_cost
from synergia_core.services._message_rows import new_message
from synergia_core.services._tree import check_parent

__all__ = ["MAX_ERROR_CHARS", "StreamingMethods"]

MAX_ERROR_CHARS = 10_000
"""The longest error text :meth:`StreamingMethods.fail` stores."""


class StreamingMethods(Service):
    """Assistant replies written while they stream (mixed into MessageService).

    A streamed reply goes ``streaming`` -> ``complete`` (``finish``),
    ``failed`` (``fail``, keeping the partial text) or ``cancelled``
    (``cancel``). Any other transition raises
    :class:`~synergia_core.errors.InvalidStateError`.
    """

    def start(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        model_id: uuid.UUID | str | None = None,
        parent_id: uuid.UUID | str | None = None,
    ) -> MessageRead:
        """Create an empty assistant message in ``streaming`` status.

        It is placed like :meth:`add` places a message (under the current
        leaf, or under ``parent_id``) and becomes the current leaf.

        Args:
            chat_id: The chat.
            user_id: Its owner.
            model_id: The model that writes the reply; the chat's model when
                omitted.
            parent_id: Where to place the reply (default: the current leaf).

        Raises:
            ChatNotFound: No live chat of this user has this id.
            MessageNotFound: ``parent_id`` names no message of the user.
            InvalidInputError: ``parent_id`` is in another chat, or no model
                is given and the chat has none.
            ModelNotFound: ``model_id`` names no model.
            ModelUnavailableError: The model is disabled or deleted.
        """
        chat_uuid = to_uuid(chat_id, "chat_id")
        model_uuid = optional_uuid(model_id, "model_id")
        parent_uuid = optional_uuid(parent_id, "parent_id")
        check_user_id(user_id)
        now = self._config.now()
        with self._scope(write=True) as repos:
            if model_uuid is None:
                chat = repos.chats.get(chat_uuid, user_id=user_id)
                if chat is None:
                    raise ChatNotFound(chat_uuid)
                if chat.model_id is None:
                    raise InvalidInputError(
                        "the chat has no model to reply with; pass model_id", field="model_id"
                    )
                model_uuid = chat.model_id
            usable_model(repos, model_uuid)
            if parent_uuid is not None:
                check_parent(repos, parent_uuid, chat_uuid, user_id)
            row = new_message(
                chat_id=chat_uuid,
                user_id=user_id,
                role=Role.assistant,
                content="",
                status=MessageStatus.streaming,
                now=now,
                parent_id=parent_uuid,
                under_current_leaf=parent_uuid is None,
                model_id=model_uuid,
            )
            added = repos.messages.append(row, now=now)
            if added is None:
                raise ChatNotFound(chat_uuid)
            return added

    def append(self, id: uuid.UUID | str, chunk: str, *, user_id: str) -> None:
        """Append a chunk to a streaming message.

        One ``UPDATE`` that concatenates in the database: the content is
        never read back, so a chunk costs the same at any length.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidStateError: The message is not streaming.
            InvalidInputError: The chunk is not a string or holds a NUL
                character, or the content would grow past the configured limit.
        """
        message_id = to_uuid(id, "id")
        check_user_id(user_id)
        limit = self._config.max_content_chars
        check_str(chunk, "chunk", max_chars=limit)
        with self._scope(write=True) as repos:
            appended = repos.messages.append_content(
                message_id, user_id=user_id, chunk=chunk, max_chars=limit, now=self._config.now()
            )
            if appended:
                return
            self._streaming(repos, message_id, user_id)
            raise InvalidInputError(
                f"content of message {message_id} would exceed {limit} characters", field="chunk"
            )

    def finish(
        self,
        id: uuid.UUID | str,
        *,
        user_id: str,
        usage: Usage | Mapping[str, Any] | None = None,
    ) -> MessageRead:
        """Complete a streaming message, recording its usage and cost.

        The cost is computed from the model's prices now, and stored.

        Args:
            id: The streaming message.
            user_id: Its owner.
            usage: What the call used; a ``dict`` is validated into a :class:`Usage`.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidStateError: The message is not streaming.
            InvalidInputError: ``usage`` is not a :class:`Usage`.
            pydantic.ValidationError: ``usage`` is a dict that is not a valid
                :class:`Usage`.
        """
        return self._close(id, user_id, MessageStatus.complete, usage, {})

    def fail(
        self,
        id: uuid.UUID | str,
        error: str,
        *,
        user_id: str,
        usage: Usage | Mapping[str, Any] | None = None,
    ) -> MessageRead:
        """Mark a streaming message failed, keeping its partial text and ``error``.

        ``usage``, when the provider reported some, is recorded and priced:
        a failed call can still cost money.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidStateError: The message is not streaming.
            InvalidInputError: ``error`` is not a string, holds a NUL
                character or is longer than 10,000 characters; ``usage`` is
                not a :class:`Usage`.
        """
        check_str(error, "error", max_chars=MAX_ERROR_CHARS)
        return self._close(id, user_id, MessageStatus.failed, usage, {"error": error})

    def cancel(
        self,
        id: uuid.UUID | str,
        *,
        user_id: str,
        usage: Usage | Mapping[str, Any] | None = None,
    ) -> MessageRead:
        """Mark a streaming message cancelled, keeping its partial text.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidStateError: The message is not streaming.
        """
        return self._close(id, user_id, MessageStatus.cancelled, usage, {})

    def _close(
        self,
        id: uuid.UUID | str,
        user_id: str,
        status: MessageStatus,
        usage: object,
        values: dict[str, Any],
    ) -> MessageRead:
        message_id = to_uuid(id, "id")
        check_user_id(user_id)
        checked = check_usage(usage)
        with self._scope(write=True) as repos:
            message = self._streaming(repos, message_id, user_id)
            if checked is not None and message.model_id is not None:
                pricing = repos.models.pricing(message.model_id)
                values.update({name: getattr(checked, name) for name in type(checked).model_fields})
                if pricing is not None:
                    values["cost"] = message_cost(checked, pricing)
            closed = repos.messages.finish_stream(
                message_id, user_id=user_id, status=status, values=values, now=self._config.now()
            )
            if closed is None:  # closed by someone else since we looked
                self._streaming(repos, message_id, user_id)
                raise MessageNotFound(message_id)
            return closed

    @staticmethod
    def _streaming(repos: Repositories, message_id: uuid.UUID, user_id: str) -> MessageRead:
        """The message, if it is streaming; else the error that says why not."""
        message = repos.messages.get(message_id, user_id=user_id)
        if message is None:
            raise MessageNotFound(message_id)
        if message.status is not MessageStatus.streaming:
            raise InvalidStateError("message", message_id, message.status.value)
        return message
