"""LangChain chat message history on synergia-core (extra ``langchain``).

:class:`SynergiaChatMessageHistory` is a LangChain
``BaseChatMessageHistory`` over one of a user's chats::

    from synergia_core import ChatCreate, Synergia
    from synergia_core.integrations.langchain import SynergiaChatMessageHistory

    sy = Synergia("sqlite:///chats.db", auto_migrate=True)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    history = SynergiaChatMessageHistory(sy, chat.id, user_id="alice")
    history.add_messages([HumanMessage("hi"), model.invoke("hi")])
    history.messages  # what was added, equal (==) to it

Every message type round-trips: content strings and blocks (text, images,
files, reasoning with signatures, any other block), tool calls, tool
results with ``status`` and ``artifact``, ``usage_metadata``,
``response_metadata``, ``additional_kwargs``, ``name`` and ``id``. An AI
message's ``usage_metadata`` is recorded as the message's usage, priced
through the model ``response_metadata["model_name"]`` names (resolved by
name or alias with :meth:`~synergia_core.services.ModelService.resolve`,
``response_metadata["model_provider"]`` as the provider hint). See
``docs/integrations.md``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage

from synergia_core import InvalidInputError, ModelNotFound, ModelRead, Synergia
from synergia_core.integrations._common import is_async
from synergia_core.integrations._langchain_convert import PROVIDERS, Draft, read_messages, to_draft
from synergia_core.services._checks import to_uuid

if TYPE_CHECKING:
    from synergia_core import AsyncModelService, AsyncSynergia, ModelService

__all__ = ["SynergiaChatMessageHistory"]

logger = logging.getLogger(__name__)


def _lookups(drafts: Sequence[Draft]) -> list[tuple[str, str | None]]:
    """The distinct (model name, provider hint) pairs to resolve."""
    return list(dict.fromkeys((d.model_name, d.provider) for d in drafts if d.model_name))


def _providers(hint: str | None) -> list[str]:
    if hint is None:
        return []
    return list(dict.fromkeys([hint, PROVIDERS.get(hint, hint)]))


def _unresolved(name: str, error: Exception | None) -> None:
    logger.info("model %r is not in the catalog (%s): stored without usage or cost", name, error)


def _resolve(models: ModelService, name: str, hint: str | None) -> ModelRead | None:
    for provider in _providers(hint):
        try:
            return models.resolve(name, provider=provider)
        except ModelNotFound:
            continue
    try:
        return models.resolve(name)
    except (ModelNotFound, InvalidInputError) as error:
        _unresolved(name, error)
        return None


async def _aresolve(models: AsyncModelService, name: str, hint: str | None) -> ModelRead | None:
    for provider in _providers(hint):
        try:
            return await models.resolve(name, provider=provider)
        except ModelNotFound:
            continue
    try:
        return await models.resolve(name)
    except (ModelNotFound, InvalidInputError) as error:
        _unresolved(name, error)
        return None


class SynergiaChatMessageHistory(BaseChatMessageHistory):
    """LangChain's ``BaseChatMessageHistory`` over one of a user's chats.

    ``messages`` is the chat's current thread (root to current leaf, as
    :meth:`~synergia_core.services.MessageService.thread` reads it);
    ``add_messages`` appends under the current leaf, all the messages of one
    call in one transaction (all or none); ``clear`` deletes the chat's
    messages (the chat stays, and usage reports still count what was spent).
    Construction does no I/O: make one per request, as LangChain's
    ``get_session_history`` does.

    On a :class:`~synergia_core.Synergia` use the sync methods (the async
    ones run them in LangChain's executor, as the base class does); on an
    ``AsyncSynergia`` use ``aget_messages``, ``aadd_messages`` and
    ``aclear`` (awaited natively), and the sync ones raise ``TypeError``.

    An AI message's ``usage_metadata`` becomes the message's usage, priced
    with the model ``response_metadata["model_name"]`` names (by name or
    alias; ``response_metadata["model_provider"]`` as the provider hint). A
    model the catalog does not have leaves the message without model, usage
    and cost (its ``usage_metadata`` is still given back), never an error.

    Args:
        sy: A ``Synergia`` or an ``AsyncSynergia``.
        chat_id: The chat (a UUID or its string form), of ``user_id``.
        user_id: The chat's owner.
        limit: Read only the last ``limit`` messages of the thread (1 to
            1000); default: the whole thread.

    Raises:
        InvalidInputError: ``sy`` is neither facade, ``chat_id`` is not a
            UUID, or ``user_id`` is not a non-empty string.

    The methods raise what the facade raises: ``ChatNotFound`` (no live chat
    of this user has this id), ``BudgetExceededError`` (the user's budget is
    spent; nothing of the call is written), ``ModelUnavailableError`` (the
    named model is disabled in the catalog), ``InvalidInputError`` (a
    message that cannot be stored: a field that is not JSON, a NUL
    character, too large).
    """

    def __init__(
        self,
        sy: Synergia | AsyncSynergia,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        limit: int | None = None,
    ) -> None:
        super().__init__()
        self._async = is_async(sy)
        self._sy = sy
        self.chat_id: uuid.UUID = to_uuid(chat_id, "chat_id")
        """The chat this history reads and writes."""
        if not isinstance(user_id, str) or not user_id:
            raise InvalidInputError("user_id must be a non-empty string", field="user_id")
        self.user_id: str = user_id
        """The chat's owner."""
        self.limit = limit
        """How many of the thread's last messages ``messages`` reads (``None``: all)."""

    def __repr__(self) -> str:
        return (
            f"SynergiaChatMessageHistory(chat_id={str(self.chat_id)!r}, user_id={self.user_id!r})"
        )

    def _wrong_mode(self, called: str, instead: str) -> NoReturn:
        facade = "an AsyncSynergia" if self._async else "a Synergia"
        raise TypeError(
            f"this history is backed by {facade}: {called} cannot be used; use {instead} "
            "(with RunnableWithMessageHistory: "
            + ("ainvoke/astream)" if self._async else "invoke/stream)")
        )

    def _sync_sy(self, called: str, instead: str) -> Synergia:
        if self._async:
            self._wrong_mode(called, instead)
        assert isinstance(self._sy, Synergia)
        return self._sy

    def _async_sy(self) -> AsyncSynergia | None:
        return self._sy if self._async else None  # type: ignore[return-value]

    # ------------------------------------------------------------------ sync

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The chat's current thread as LangChain messages, oldest first.

        Raises:
            TypeError: The history is backed by an ``AsyncSynergia`` (use
                ``await aget_messages()``).
            ChatNotFound: No live chat of this user has this id.
        """
        sy = self._sync_sy("the messages property", "await history.aget_messages()")
        reads = sy.messages.thread(self.chat_id, user_id=self.user_id, limit=self.limit)
        return read_messages(reads)

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append messages to the chat, in one transaction.

        Raises:
            TypeError: The history is backed by an ``AsyncSynergia`` (use
                ``await aadd_messages(...)``).
            ChatNotFound: No live chat of this user has this id.
            BudgetExceededError: The user's budget is spent (nothing is written).
            InvalidInputError: A message cannot be stored as it is (nothing is written).
        """
        sy = self._sync_sy("add_messages()", "await history.aadd_messages(...)")
        drafts = [to_draft(message) for message in messages]
        if not drafts:
            return
        models = {key: _resolve(sy.models, *key) for key in _lookups(drafts)}
        creates = [draft.create(_model_id(models, draft)) for draft in drafts]
        with sy.transaction() as tx:
            for create in creates:
                tx.messages.add(self.chat_id, create, user_id=self.user_id)

    def clear(self) -> None:
        """Delete the chat's messages (the chat stays).

        Raises:
            TypeError: The history is backed by an ``AsyncSynergia`` (use ``await aclear()``).
            ChatNotFound: No live chat of this user has this id.
        """
        sy = self._sync_sy("clear()", "await history.aclear()")
        sy.messages.clear(self.chat_id, user_id=self.user_id)

    # ------------------------------------------------------------------ async

    async def aget_messages(self) -> list[BaseMessage]:
        """:attr:`messages`, awaited (natively on an ``AsyncSynergia``)."""
        sy = self._async_sy()
        if sy is None:
            return await super().aget_messages()
        reads = await sy.messages.thread(self.chat_id, user_id=self.user_id, limit=self.limit)
        return read_messages(reads)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """:meth:`add_messages`, awaited (natively on an ``AsyncSynergia``)."""
        sy = self._async_sy()
        if sy is None:
            await super().aadd_messages(messages)
            return
        drafts = [to_draft(message) for message in messages]
        if not drafts:
            return
        models = {key: await _aresolve(sy.models, *key) for key in _lookups(drafts)}
        creates = [draft.create(_model_id(models, draft)) for draft in drafts]
        async with sy.transaction() as tx:
            for create in creates:
                await tx.messages.add(self.chat_id, create, user_id=self.user_id)

    async def aclear(self) -> None:
        """:meth:`clear`, awaited (natively on an ``AsyncSynergia``)."""
        sy = self._async_sy()
        if sy is None:
            await super().aclear()
            return
        await sy.messages.clear(self.chat_id, user_id=self.user_id)


def _model_id(
    models: dict[tuple[str, str | None], ModelRead | None], draft: Draft
) -> uuid.UUID | None:
    if draft.model_name is None:
        return None
    model = models.get((draft.model_name, draft.provider))
    return None if model is None else model.id
