"""The tree operations of MessageService: threads, siblings, edit, regenerate, select."""

from __future__ import annotations

import uuid

from synergia_core.errors import (
    ChatNotFound,
    InvalidInputError,
    InvalidStateError,
    MessageNotFound,
)
from synergia_core.repositories.protocols import Repositories
from synergia_core.schemas import ChatRead, MessageRead, MessageStatus, Role
from synergia_core.services._base import Service
from synergia_core.services._checks import (
    check_limit,
    check_str,
    check_user_id,
    optional_uuid,
    to_uuid,
)
from synergia_core.services._message_rows import body_of, edited_parts, new_message
from synergia_core.services._spending import check_budget, guard_model

__all__ = ["TreeMethods", "check_parent"]


def check_parent(
    repos: Repositories, parent_id: uuid.UUID, chat_id: uuid.UUID, user_id: str
) -> None:
    """Refuse a parent that is not a message of this chat of this user.

    Raises:
        MessageNotFound: No message of the user's live chats has this id.
        InvalidInputError: The message is in another chat.
    """
    parent_chat = repos.messages.locate(parent_id, user_id=user_id)
    if parent_chat is None:
        raise MessageNotFound(parent_id)
    if parent_chat != chat_id:
        raise InvalidInputError(f"message {parent_id} belongs to another chat", field="parent_id")


class TreeMethods(Service):
    """Branches of a chat's history (mixed into MessageService)."""

    def thread(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        leaf_id: uuid.UUID | str | None = None,
        limit: int | None = None,
    ) -> list[MessageRead]:
        """The path from the root to a leaf, root first: what the user sees.

        One recursive query whose cost grows with ``limit``, not with the
        chat's size.

        Args:
            chat_id: The chat.
            user_id: Its owner.
            leaf_id: Where the path ends (default: the chat's current leaf);
                any message of the chat, not only a leaf.
            limit: Return only the last ``limit`` messages of the path (1 to 1000).

        Raises:
            ChatNotFound: No live chat of this user has this id.
            MessageNotFound: ``leaf_id`` names no message of the user.
            InvalidInputError: ``leaf_id`` is in another chat, or ``limit`` is
                out of range.
        """
        chat_uuid = to_uuid(chat_id, "chat_id")
        leaf_uuid = optional_uuid(leaf_id, "leaf_id")
        check_user_id(user_id)
        if limit is not None:
            check_limit(limit)
        with self._scope(write=False, user_id=user_id) as repos:
            path = repos.messages.thread(chat_uuid, user_id=user_id, leaf_id=leaf_uuid, limit=limit)
            if path:
                return path
            if repos.chats.get(chat_uuid, user_id=user_id) is None:
                raise ChatNotFound(chat_uuid)
            if leaf_uuid is not None:
                check_parent(repos, leaf_uuid, chat_uuid, user_id)
            return []

    def siblings(self, id: uuid.UUID | str, *, user_id: str) -> list[MessageRead]:
        """The message and its alternatives: every child of its parent, in
        ``seq`` (creation) order. For a root, the chat's roots.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
        """
        message_id = to_uuid(id, "id")
        check_user_id(user_id)
        with self._scope(write=False, user_id=user_id) as repos:
            found = repos.messages.siblings(message_id, user_id=user_id)
        if not found:
            raise MessageNotFound(message_id)
        return found

    def edit(self, id: uuid.UUID | str, content: str, *, user_id: str) -> MessageRead:
        """Add a sibling of a message with new content; it becomes the current leaf.

        The old message and everything under it stay: the edit is a new
        branch. The sibling has the original's role, metadata and parts with
        its text replaced by ``content`` (tool calls, images and files kept,
        reasoning dropped; for a ``tool`` message, the result's output); it
        has no model, usage or cost (it was not produced by a model call).

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidStateError: The message is still streaming.
            BudgetExceededError: The user's spend in the budget's period has
                reached its limit.
            InvalidInputError: ``content`` is not a string or holds a NUL
                character, or the new message (the content with the copied
                tool calls, attachments and metadata) is larger than
                ``max_content_chars``.
        """
        message_id = to_uuid(id, "id")
        check_user_id(user_id)
        check_str(content, "content")
        now = self._config.now()
        with self._scope(write=True, user_id=user_id) as repos:
            original = repos.messages.get(message_id, user_id=user_id)
            if original is None:
                raise MessageNotFound(message_id)
            check_budget(repos, user_id, self._config, now)
            if original.status is MessageStatus.streaming:
                raise InvalidStateError("message", message_id, original.status.value)
            parts = edited_parts(original, content)
            body = body_of(parts, original.metadata, self._config, "content")
            row = new_message(
                chat_id=original.chat_id,
                user_id=user_id,
                role=original.role,
                body=body,
                status=MessageStatus.complete,
                now=now,
                parent_id=original.parent_id,
                under_current_leaf=False,
                metadata=original.metadata,
            )
            added = repos.messages.append(row, now=now)
            if added is None:  # the chat was deleted meanwhile
                raise MessageNotFound(message_id)
            return added

    def regenerate(
        self, id: uuid.UUID | str, *, user_id: str, model_id: uuid.UUID | str | None = None
    ) -> MessageRead:
        """Start another answer in place of an assistant message.

        Adds an empty assistant sibling in ``streaming`` status, now the
        current leaf, to be filled with ``append`` and closed with ``finish``,
        ``fail`` or ``cancel``. The old answer stays, as a sibling.

        Args:
            id: The assistant message to answer again.
            user_id: Its owner.
            model_id: The model to answer with (default: the message's model,
                else the chat's).

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidInputError: The message is not an assistant message, or no
                model is known to answer with.
            ModelNotFound: ``model_id`` names no model.
            ModelUnavailableError: The model is disabled or deleted.
            BudgetExceededError: The user's spend in the budget's period has
                reached its limit.
        """
        message_id = to_uuid(id, "id")
        chosen = optional_uuid(model_id, "model_id")
        check_user_id(user_id)
        now = self._config.now()
        with self._scope(write=True, user_id=user_id) as repos:
            original = repos.messages.get(message_id, user_id=user_id)
            if original is None:
                raise MessageNotFound(message_id)
            if original.role is not Role.assistant:
                raise InvalidInputError(
                    f"only assistant messages can be regenerated; {message_id} is "
                    f"a {original.role.value} message",
                    field="id",
                )
            if chosen is None:
                chosen = original.model_id
            if chosen is None:
                chat = repos.chats.get(original.chat_id, user_id=user_id)
                chosen = chat.model_id if chat is not None else None
            if chosen is None:
                raise InvalidInputError("no model to regenerate with; pass model_id", "model_id")
            guard_model(repos, chosen, user_id, self._config, now)
            row = new_message(
                chat_id=original.chat_id,
                user_id=user_id,
                role=Role.assistant,
                body=("", None),
                status=MessageStatus.streaming,
                now=now,
                parent_id=original.parent_id,
                under_current_leaf=False,
                model_id=chosen,
            )
            added = repos.messages.append(row, now=now)
            if added is None:
                raise MessageNotFound(message_id)
            return added

    def select(self, id: uuid.UUID | str, *, user_id: str) -> ChatRead:
        """Switch branches: make the newest leaf under a message the chat's
        current leaf (the "< 2/3 >" switch of chat UIs).

        Returns:
            The chat, with its new ``current_message_id``.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
        """
        message_id = to_uuid(id, "id")
        check_user_id(user_id)
        with self._scope(write=True, user_id=user_id) as repos:
            chat_id = repos.messages.locate(message_id, user_id=user_id)
            leaf = repos.messages.newest_descendant(message_id, user_id=user_id)
            if chat_id is None or leaf is None:
                raise MessageNotFound(message_id)
            chat = repos.chats.set_current(
                chat_id, user_id=user_id, message_id=leaf, now=self._config.now()
            )
            if chat is None:
                raise MessageNotFound(message_id)
            return chat

    def delete(self, id: uuid.UUID | str, *, user_id: str) -> None:
        """Delete a message and everything under it.

        The branch leaves every view (``list``, ``thread``, ``siblings``,
        ``context``, search) and the chat's ``message_count``; when the chat's
        current leaf was on it, the current leaf moves to the message's parent.
        Usage and cost reports still count the deleted messages: the money
        was spent. A deleted message is ``MessageNotFound`` for every call.

        Raises:
            MessageNotFound: No live message of the user's live chats has this id.
        """
        message_id = to_uuid(id, "id")
        check_user_id(user_id)
        with self._scope(write=True, atomic=True, user_id=user_id) as repos:
            removed = repos.messages.delete_branch(
                message_id, user_id=user_id, now=self._config.now()
            )
            if removed is None:
                raise MessageNotFound(message_id)

    def clear(self, chat_id: uuid.UUID | str, *, user_id: str) -> None:
        """Delete every message of a chat (as :meth:`delete` does); the chat
        stays, empty, and usage reports still count what was spent.

        Raises:
            ChatNotFound: No live chat of this user has this id.
        """
        chat_uuid = to_uuid(chat_id, "chat_id")
        check_user_id(user_id)
        with self._scope(write=True, atomic=True, user_id=user_id) as repos:
            if not repos.messages.clear(chat_uuid, user_id=user_id, now=self._config.now()):
                raise ChatNotFound(chat_uuid)
