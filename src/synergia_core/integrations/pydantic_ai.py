"""PydanticAI message histories stored in synergia-core (extra ``pydantic-ai``).

::

    from pydantic_ai import Agent
    from synergia_core.integrations.pydantic_ai import SynergiaMessageHistory

    history = SynergiaMessageHistory(sy, chat.id, user_id="alice")
    result = agent.run_sync("Hi", message_history=history.load())
    history.save(result.new_messages())      # or result.all_messages()

On a :class:`~synergia_core.Synergia`, :meth:`~SynergiaMessageHistory.load`
and :meth:`~SynergiaMessageHistory.save` are plain methods; on an
:class:`~synergia_core.AsyncSynergia` they are coroutines, awaited natively::

    history = SynergiaMessageHistory(async_sy, chat.id, user_id="alice")
    result = await agent.run("Hi", message_history=await history.load())
    await history.save(result.new_messages())

Lossless: ``ModelMessagesTypeAdapter.dump_python`` of what ``load()`` returns
equals that of what was saved. Text, system prompts, thinking (signature byte
for byte), tool calls and returns, images and files (binary content as
``data:`` URIs) become typed parts, so ``sy.messages.context(format=...)``
renders the chat for any provider; every other field is kept in part
``meta["pydantic_ai"]`` and message ``metadata["pydantic_ai"]``. A reply's
usage is recorded as the message's usage and priced through the model it
names (``model_name``, by name or alias, of ``provider_name`` first); a model
the catalog does not have stores the usage unpriced, in the metadata only.
See ``docs/integrations.md``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from pydantic_ai import messages as pa

from synergia_core import (
    InvalidInputError,
    MessageCreate,
    MessageRead,
    ModelNotFound,
    ModelRead,
    Synergia,
)
from synergia_core.integrations._common import is_async
from synergia_core.integrations._pydantic_ai_convert import (
    Planned,
    digest,
    load_messages,
    plan,
    thread_json,
)
from synergia_core.services._checks import to_uuid

if TYPE_CHECKING:
    from synergia_core import AsyncModelService, AsyncSynergia, ModelService

__all__ = ["SynergiaMessageHistory"]

logger = logging.getLogger(__name__)

_S = TypeVar("_S", "Synergia", "AsyncSynergia")


class SynergiaMessageHistory(Generic[_S]):
    """One chat of one user as a PydanticAI message history.

    ``load()`` returns the chat's current thread as ``list[ModelMessage]``
    (pass it as ``message_history=``); ``save(messages)`` appends the
    messages the chat does not hold yet. On a :class:`~synergia_core.Synergia`
    both are plain methods; on an :class:`~synergia_core.AsyncSynergia` both
    return coroutines to await.

    Construction does no I/O; the chat is checked by the first call.

    Args:
        sy: The facade, sync or async.
        chat_id: A chat of ``user_id`` (create it with ``sy.chats.create``).
        user_id: The chat's owner; a chat of another user is
            :class:`~synergia_core.ChatNotFound`.

    Raises:
        InvalidInputError: ``sy`` is neither facade, ``chat_id`` is not a
            UUID, or ``user_id`` is not a non-empty string.
    """

    def __init__(self, sy: _S, chat_id: uuid.UUID | str, *, user_id: str) -> None:
        self._async = is_async(sy)
        self._sy: _S = sy
        self.chat_id: uuid.UUID = to_uuid(chat_id, "chat_id")
        """The chat."""
        if not isinstance(user_id, str) or not user_id:
            raise InvalidInputError("user_id must be a non-empty string", field="user_id")
        self.user_id: str = user_id
        """The chat's owner."""

    def __repr__(self) -> str:
        return f"SynergiaMessageHistory(chat_id={self.chat_id}, user_id={self.user_id!r})"

    # ------------------------------------------------------------------- load

    @overload
    def load(self: SynergiaMessageHistory[Synergia]) -> list[pa.ModelMessage]: ...

    @overload
    def load(
        self: SynergiaMessageHistory[AsyncSynergia],
    ) -> Coroutine[Any, Any, list[pa.ModelMessage]]: ...

    def load(self) -> list[pa.ModelMessage] | Coroutine[Any, Any, list[pa.ModelMessage]]:
        """The chat's current thread (the path to its current leaf) as
        PydanticAI messages, oldest first; a coroutine on an ``AsyncSynergia``.

        Messages saved by :meth:`save` come back as they were saved; messages
        stored by other means (``sy.messages.add``, a recorded stream) are
        converted from their parts: text, reasoning, tool calls and results,
        images and files (raw provider items are left out).

        Raises:
            ChatNotFound: No live chat of this user has this id.
        """
        if self._async:
            return self._load_async()
        sy = self._sync_facade()
        thread = sy.messages.thread(self.chat_id, user_id=self.user_id)
        return load_messages(thread_json(thread))

    async def _load_async(self) -> list[pa.ModelMessage]:
        sy = self._async_facade()
        thread = await sy.messages.thread(self.chat_id, user_id=self.user_id)
        return load_messages(thread_json(thread))

    # ------------------------------------------------------------------- save

    @overload
    def save(
        self: SynergiaMessageHistory[Synergia], messages: Sequence[pa.ModelMessage]
    ) -> list[MessageRead]: ...

    @overload
    def save(
        self: SynergiaMessageHistory[AsyncSynergia], messages: Sequence[pa.ModelMessage]
    ) -> Coroutine[Any, Any, list[MessageRead]]: ...

    def save(
        self, messages: Sequence[pa.ModelMessage]
    ) -> list[MessageRead] | Coroutine[Any, Any, list[MessageRead]]:
        """Append the messages the chat does not hold yet, in one transaction;
        a coroutine on an ``AsyncSynergia``.

        Pass ``result.new_messages()`` or ``result.all_messages()`` alike: a
        message already in the chat's current thread (equal JSON, timestamps
        included) is recognized, and it and every message before it are
        skipped; the rest are appended after the current leaf. Saving the same
        list twice stores it once; two saves of one chat running at once may
        both store the same messages, so save a chat from one place at a time.

        A ``ModelRequest`` is stored as one message per run of parts of one
        role (``system``, ``user``, ``tool``), a ``ModelResponse`` as one
        ``assistant`` message with its usage, priced through the model its
        ``model_name`` names (resolved by name or alias, of its
        ``provider_name`` first, else of any provider); when the catalog has
        no such model, or the counts are inconsistent, the usage is kept in
        the metadata only, with no model and no cost.

        Returns:
            The messages stored, in order.

        Raises:
            ChatNotFound: No live chat of this user has this id.
            BudgetExceededError: A priced reply, and the user's budget is
                spent; nothing is stored.
            ModelUnavailableError: The named model is disabled in the
                catalog; nothing is stored.
            InvalidInputError: ``messages`` is not a list of PydanticAI
                messages, or holds what the database cannot store (a NUL
                character, a message larger than ``max_content_chars``).
        """
        planned = plan(_checked(messages))
        if self._async:
            return self._save_async(planned)
        sy = self._sync_facade()
        with sy.transaction() as tx:
            thread = tx.messages.thread(self.chat_id, user_id=self.user_id)
            todo = _unsaved(planned, thread)
            found: dict[tuple[str, str | None], ModelRead | None] = {}
            added: list[MessageRead] = []
            for item in todo:
                model = None
                if item.model_name is not None:
                    key = (item.model_name, item.provider_name)
                    if key not in found:
                        found[key] = _resolve(tx.models, *key)
                    model = found[key]
                for create in _creates(item, model):
                    added.append(tx.messages.add(self.chat_id, create, user_id=self.user_id))
        return added

    async def _save_async(self, planned: list[Planned]) -> list[MessageRead]:
        sy = self._async_facade()
        async with sy.transaction() as tx:
            thread = await tx.messages.thread(self.chat_id, user_id=self.user_id)
            todo = _unsaved(planned, thread)
            found: dict[tuple[str, str | None], ModelRead | None] = {}
            added: list[MessageRead] = []
            for item in todo:
                model = None
                if item.model_name is not None:
                    key = (item.model_name, item.provider_name)
                    if key not in found:
                        found[key] = await _resolve_async(tx.models, *key)
                    model = found[key]
                for create in _creates(item, model):
                    added.append(await tx.messages.add(self.chat_id, create, user_id=self.user_id))
        return added

    # ---------------------------------------------------------------- facades

    def _sync_facade(self) -> Synergia:
        assert isinstance(self._sy, Synergia)
        return self._sy

    def _async_facade(self) -> AsyncSynergia:
        assert not isinstance(self._sy, Synergia)
        sy: AsyncSynergia = self._sy
        return sy


def _checked(messages: object) -> list[pa.ModelMessage]:
    if not isinstance(messages, (list, tuple)):
        raise InvalidInputError(
            f"messages must be a list of PydanticAI messages, not {type(messages).__name__}",
            field="messages",
        )
    for message in messages:
        if not isinstance(message, (pa.ModelRequest, pa.ModelResponse)):
            raise InvalidInputError(
                "messages must hold ModelRequest and ModelResponse objects, "
                f"not {type(message).__name__}",
                field="messages",
            )
    return list(messages)


def _unsaved(planned: list[Planned], thread: Sequence[MessageRead]) -> list[Planned]:
    """The messages after the last one the thread already holds."""
    stored = {digest(message) for message in thread_json(thread)}
    start = 0
    for index, item in enumerate(planned):
        if item.digest in stored:
            start = index + 1
    return planned[start:]


def _creates(item: Planned, model: ModelRead | None) -> list[MessageCreate]:
    """The messages that store ``item``; a reply priced with ``model``."""
    creates = []
    for index, (role, parts, metadata) in enumerate(item.groups):
        priced = index == 0 and model is not None and item.usage is not None
        creates.append(
            MessageCreate(
                role=role,
                parts=parts,
                metadata=metadata,
                model_id=model.id if priced and model is not None else None,
                usage=item.usage if priced else None,
            )
        )
    return creates


def _resolve(models: ModelService, name: str, provider: str | None) -> ModelRead | None:
    """The catalog's model named ``name`` (of ``provider`` first), or ``None``."""
    if provider is not None:
        try:
            return models.resolve(name, provider=provider)
        except (ModelNotFound, InvalidInputError):
            pass
    try:
        return models.resolve(name)
    except (ModelNotFound, InvalidInputError) as exc:
        logger.info("model %r is not in the catalog; its usage is stored unpriced: %s", name, exc)
        return None


async def _resolve_async(
    models: AsyncModelService, name: str, provider: str | None
) -> ModelRead | None:
    """:func:`_resolve`, awaited."""
    if provider is not None:
        try:
            return await models.resolve(name, provider=provider)
        except (ModelNotFound, InvalidInputError):
            pass
    try:
        return await models.resolve(name)
    except (ModelNotFound, InvalidInputError) as exc:
        logger.info("model %r is not in the catalog; its usage is stored unpriced: %s", name, exc)
        return None
