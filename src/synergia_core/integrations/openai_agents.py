"""OpenAI Agents SDK sessions stored as synergia-core chats (extra ``openai-agents``).

:class:`SynergiaSession` is the SDK's ``Session`` (``agents.memory.Session``):
pass it to ``Runner.run(agent, input, session=...)`` (or ``run_sync``,
``run_streamed``) and the conversation is a chat of one user::

    session = await SynergiaSession.create(sy, user_id="alice", model="gpt-4o")
    result = await Runner.run(agent, "Weather in Rome?", session=session)

Each Responses input item is one message of the chat's current thread, in
order: ``get_items(limit)`` reads the thread's last ``limit`` items,
``add_items`` appends (in one transaction), ``pop_item`` deletes the
current leaf and ``clear_session`` empties the chat. The items come back
equal to what was added, their JSON byte for byte (key order included), on
SQLite and PostgreSQL; the parts map (text, images and files, reasoning with
its ``encrypted_content``, tool calls and results, raw items) is in
``docs/integrations.md``.

Usage: the session takes the runner's context (the SDK passes it to
sessions whose methods accept ``wrapper=``), and each model response's
usage (``wrapper.usage.request_usage_entries``) is recorded on the last
item that response produced, priced through the model named ``model`` (a
catalog name or alias, resolved with ``sy.models.resolve``). With no
``model``, or one the catalog does not have, the usage is kept in the
message's ``metadata["openai_agents"]["usage"]`` without a model or cost.
A user over budget makes ``add_items`` raise ``BudgetExceededError`` (the
run stops with it and nothing of the batch is written).

On an :class:`~synergia_core.AsyncSynergia` the async methods await it; on
a :class:`~synergia_core.Synergia` they call its sync methods (the SDK's
protocol is async) and the ``*_sync`` twins serve sync code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from agents.items import TResponseInputItem
from agents.memory import SessionSettings
from agents.memory.session_settings import coerce_session_settings
from agents.run_context import RunContextWrapper
from agents.usage import RequestUsage
from pydantic import BaseModel, ValidationError

from synergia_core import (
    ChatCreate,
    InvalidInputError,
    MessageCreate,
    MessageRead,
    MessageStatus,
    ModelNotFound,
    Synergia,
    Usage,
)
from synergia_core.integrations._common import is_async
from synergia_core.integrations._openai_agents_convert import (
    KEY,
    Item,
    default_items,
    item_parts,
    read_item,
    template_of,
)
from synergia_core.schemas import Role
from synergia_core.services._checks import to_uuid

if TYPE_CHECKING:
    from synergia_core import AsyncSynergia

__all__ = ["SynergiaSession"]

logger = logging.getLogger(__name__)

_MAX_WINDOW = 1000  # the most messages.thread returns per call


class SynergiaSession:
    """The OpenAI Agents SDK ``Session`` protocol over one chat of one user.

    Args:
        sy: A :class:`~synergia_core.Synergia` or an
            :class:`~synergia_core.AsyncSynergia`.
        chat_id: The chat (see :meth:`create` to make one).
        user_id: Its owner; every call is scoped by it.
        model: The model the agent uses (a catalog name or alias, e.g.
            ``agent.model``): its usage is priced through it.
        provider: The model's provider, when several catalogs have the name.
        session_settings: The SDK's ``SessionSettings`` (or a dict):
            ``limit`` is the default of :meth:`get_items`.

    Attributes:
        session_id: The chat id, as a string.
        session_settings: As given (``SessionSettings()`` by default).

    Raises:
        InvalidInputError: ``sy`` is neither facade, ``chat_id`` is not a
            UUID, ``user_id`` is empty, or ``model``/``provider`` is not a
            string.

    Every method raises ``ChatNotFound`` when the chat is not a live chat
    of ``user_id``. The protocol's methods take the runner's ``wrapper=``
    (its run context), which opts the session into the SDK's context-aware
    calls: ``add_items`` reads the run's usage from it.
    """

    session_id: str
    session_settings: SessionSettings | None

    def __init__(
        self,
        sy: Synergia | AsyncSynergia,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        model: str | None = None,
        provider: str | None = None,
        session_settings: SessionSettings | Mapping[str, Any] | None = None,
    ) -> None:
        self._async = is_async(sy)
        self._sy = sy
        self.chat_id = to_uuid(chat_id, "chat_id")
        """The chat holding the items."""
        if not isinstance(user_id, str) or not user_id:
            raise InvalidInputError("user_id must be a non-empty string", field="user_id")
        self.user_id = user_id
        """The chat's owner."""
        for name, value in (("model", model), ("provider", provider)):
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidInputError(f"{name} must be a non-empty string or None", name)
        self.model = model
        """The catalog name or alias that prices the usage (``None``: kept unpriced)."""
        self.provider = provider
        """The model's provider, when the name alone is ambiguous."""
        self.session_id = str(self.chat_id)
        self.session_settings = (
            coerce_session_settings(
                dict(session_settings)
                if isinstance(session_settings, Mapping)
                else session_settings
            )
            if session_settings is not None
            else SessionSettings()
        )
        self._wrapper: weakref.ref[RunContextWrapper[Any]] | None = None
        self._recorded = 0  # usage entries of that run already recorded

    def __repr__(self) -> str:
        return f"SynergiaSession(chat_id={self.session_id!r}, user_id={self.user_id!r})"

    # ------------------------------------------------------------------ create

    @classmethod
    async def create(
        cls,
        sy: Synergia | AsyncSynergia,
        *,
        user_id: str,
        title: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        session_settings: SessionSettings | Mapping[str, Any] | None = None,
    ) -> SynergiaSession:
        """Create a chat for ``user_id`` and return its session (on a
        :class:`~synergia_core.Synergia` too; sync code calls
        :meth:`create_sync`). The chat's model is ``model`` when the
        catalog has it.

        Raises:
            InvalidInputError: An argument is invalid (``sy`` neither facade included).
        """
        if not is_async(sy):
            return cls.create_sync(
                cast(Synergia, sy),
                user_id=user_id,
                title=title,
                model=model,
                provider=provider,
                session_settings=session_settings,
            )
        asy = cast("AsyncSynergia", sy)
        session = cls(
            sy,
            uuid.UUID(int=0),
            user_id=user_id,
            model=model,
            provider=provider,
            session_settings=session_settings,
        )
        model_id = None
        if model is not None:
            with contextlib.suppress(ModelNotFound):
                model_id = (await asy.models.resolve(model, provider=provider)).id
        chat = await asy.chats.create(ChatCreate(user_id=user_id, title=title, model_id=model_id))
        session._bind(chat.id)
        return session

    @classmethod
    def create_sync(
        cls,
        sy: Synergia,
        *,
        user_id: str,
        title: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        session_settings: SessionSettings | Mapping[str, Any] | None = None,
    ) -> SynergiaSession:
        """:meth:`create` for sync code, on a :class:`~synergia_core.Synergia`.

        Raises:
            TypeError: ``sy`` is an ``AsyncSynergia`` (``await create(...)``).
        """
        session = cls(
            sy,
            uuid.UUID(int=0),
            user_id=user_id,
            model=model,
            provider=provider,
            session_settings=session_settings,
        )
        sync = session._sync("create")
        model_id = None
        if model is not None:
            with contextlib.suppress(ModelNotFound):
                model_id = sync.models.resolve(model, provider=provider).id
        chat = sync.chats.create(ChatCreate(user_id=user_id, title=title, model_id=model_id))
        session._bind(chat.id)
        return session

    def _bind(self, chat_id: uuid.UUID) -> None:
        self.chat_id = chat_id
        self.session_id = str(chat_id)

    # ------------------------------------------------------ the Session protocol

    async def get_items(
        self, limit: int | None = None, *, wrapper: RunContextWrapper[Any] | None = None
    ) -> list[TResponseInputItem]:
        """The conversation's items, oldest first: the last ``limit`` of them
        (default: ``session_settings.limit``; ``None``: all).

        Raises:
            InvalidInputError: ``limit`` is negative or not an integer.
        """
        if not self._async:
            return self.get_items_sync(limit)
        asy = cast("AsyncSynergia", self._sy)
        wanted = self._limit(limit)
        if wanted == 0:
            return []
        window = _window(wanted)
        while True:
            path = await asy.messages.thread(self.chat_id, user_id=self.user_id, limit=window)
            items = _take(path, window, wanted)
            if items is not None:
                return items
            window = _window(2 * len(path))

    async def add_items(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        wrapper: RunContextWrapper[Any] | None = None,
    ) -> None:
        """Append the items, one message each, in one transaction. With the
        runner's ``wrapper``, the usage of the responses they come from is
        recorded (see the module docstring).

        Raises:
            InvalidInputError: An item is not a JSON object, or is too large
                for ``ServiceConfig.max_content_chars``.
            BudgetExceededError: The user is over budget (nothing is written).
        """
        if not self._async:
            self.add_items_sync(items, wrapper=wrapper)
            return
        asy = cast("AsyncSynergia", self._sy)
        batch = _Batch(items)
        usage = self._usage(wrapper, batch)
        model_id = None
        if usage and self.model is not None:
            try:
                model_id = (await asy.models.resolve(self.model, provider=self.provider)).id
            except ModelNotFound:
                logger.info("model %r is not in the catalog: usage kept unpriced", self.model)
        messages = batch.messages(usage, model_id, self.model)
        if not messages:
            return
        async with asy.transaction() as tx:
            for message in messages:
                await tx.messages.add(self.chat_id, message, user_id=self.user_id)

    async def pop_item(
        self, *, wrapper: RunContextWrapper[Any] | None = None
    ) -> TResponseInputItem | None:
        """Remove the newest item (the thread's last message) and return it;
        ``None`` when there is none."""
        if not self._async:
            return self.pop_item_sync()
        asy = cast("AsyncSynergia", self._sy)
        async with asy.transaction() as tx:
            while True:
                path = await tx.messages.thread(self.chat_id, user_id=self.user_id, limit=1)
                if not path:
                    return None
                await tx.messages.delete(path[-1].id, user_id=self.user_id)
                popped = _items(path[-1])
                if popped:
                    return cast(TResponseInputItem, popped[-1])

    async def clear_session(self, *, wrapper: RunContextWrapper[Any] | None = None) -> None:
        """Delete every item (the chat stays, empty; its spend still counts)."""
        if not self._async:
            self.clear_session_sync()
            return
        await cast("AsyncSynergia", self._sy).messages.clear(self.chat_id, user_id=self.user_id)

    # --------------------------------------------------------------- sync twins

    def get_items_sync(self, limit: int | None = None) -> list[TResponseInputItem]:
        """:meth:`get_items` for sync code, on a :class:`~synergia_core.Synergia`."""
        sync = self._sync("get_items")
        wanted = self._limit(limit)
        if wanted == 0:
            return []
        window = _window(wanted)
        while True:
            path = sync.messages.thread(self.chat_id, user_id=self.user_id, limit=window)
            items = _take(path, window, wanted)
            if items is not None:
                return items
            window = _window(2 * len(path))

    def add_items_sync(
        self,
        items: Sequence[Mapping[str, Any]],
        *,
        wrapper: RunContextWrapper[Any] | None = None,
    ) -> None:
        """:meth:`add_items` for sync code, on a :class:`~synergia_core.Synergia`."""
        sync = self._sync("add_items")
        batch = _Batch(items)
        usage = self._usage(wrapper, batch)
        model_id = None
        if usage and self.model is not None:
            try:
                model_id = sync.models.resolve(self.model, provider=self.provider).id
            except ModelNotFound:
                logger.info("model %r is not in the catalog: usage kept unpriced", self.model)
        messages = batch.messages(usage, model_id, self.model)
        if not messages:
            return
        with sync.transaction() as tx:
            for message in messages:
                tx.messages.add(self.chat_id, message, user_id=self.user_id)

    def pop_item_sync(self) -> TResponseInputItem | None:
        """:meth:`pop_item` for sync code, on a :class:`~synergia_core.Synergia`."""
        sync = self._sync("pop_item")
        with sync.transaction() as tx:
            while True:
                path = tx.messages.thread(self.chat_id, user_id=self.user_id, limit=1)
                if not path:
                    return None
                tx.messages.delete(path[-1].id, user_id=self.user_id)
                popped = _items(path[-1])
                if popped:
                    return cast(TResponseInputItem, popped[-1])

    def clear_session_sync(self) -> None:
        """:meth:`clear_session` for sync code, on a :class:`~synergia_core.Synergia`."""
        self._sync("clear_session").messages.clear(self.chat_id, user_id=self.user_id)

    # ------------------------------------------------------------------ helpers

    def _sync(self, method: str) -> Synergia:
        if self._async:
            owner = "SynergiaSession" if method == "create" else "session"
            raise TypeError(
                f"this session is on an AsyncSynergia: await {owner}.{method}(...) "
                f"instead of calling {method}_sync(...)"
            )
        return cast(Synergia, self._sy)

    def _limit(self, limit: object) -> int | None:
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        if limit is None:
            return None
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidInputError("limit must be None or an integer >= 0", field="limit")
        return limit

    def _usage(
        self, wrapper: RunContextWrapper[Any] | None, batch: _Batch
    ) -> dict[int, RequestUsage]:
        """The usage of each response whose output the batch holds, by the
        index of the response's last item.

        The batch's responses are its last ones in the run (the runner saves
        a response's items after it, before the next request), so they
        take the run's last usage entries, never one recorded before.
        """
        if wrapper is None:
            return {}
        entries = list(wrapper.usage.request_usage_entries)
        seen = self._recorded if self._wrapper is not None and self._wrapper() is wrapper else 0
        fresh = entries[max(seen, len(entries) - len(batch.ends)) :]
        self._wrapper = weakref.ref(wrapper)
        self._recorded = len(entries) if fresh else seen
        ends = batch.ends[len(batch.ends) - len(fresh) :] if fresh else []
        return dict(zip(ends, fresh, strict=True))


class _Batch:
    """Items to add, converted: each one's role, parts and metadata."""

    def __init__(self, items: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
            raise InvalidInputError("items must be a list of items", field="items")
        self.items = [_json_item(item, index) for index, item in enumerate(items)]
        names = {
            item["call_id"]: item["name"]
            for item in self.items
            if item.get("type") == "function_call"
            and isinstance(item.get("call_id"), str)
            and isinstance(item.get("name"), str)
        }
        self.stored = [item_parts(item, names) for item in self.items]
        # The last item of each run of model output (a response's items).
        roles = [role for role, _ in self.stored]
        self.ends = [
            index
            for index, role in enumerate(roles)
            if role is Role.assistant
            and (index + 1 == len(roles) or roles[index + 1] is not Role.assistant)
        ]

    def messages(
        self, usage: Mapping[int, RequestUsage], model_id: uuid.UUID | None, model: str | None
    ) -> list[MessageCreate]:
        created = []
        for index, (item, (role, parts)) in enumerate(zip(self.items, self.stored, strict=True)):
            entry: dict[str, Any] = template_of(item, role, parts) or {}
            fields: dict[str, Any] = {}
            if index in usage:
                payload = _usage_payload(usage[index])
                priced = _priced(payload) if model_id is not None else None
                if priced is not None:
                    fields = {"usage": priced, "model_id": model_id}
                else:
                    entry["usage"] = payload
                if model is not None:
                    entry["model"] = model
            try:
                created.append(
                    MessageCreate(
                        role=role,
                        parts=parts,
                        metadata={KEY: entry} if entry else {},
                        **fields,
                    )
                )
            except ValidationError as exc:
                raise InvalidInputError(
                    f"items[{index}]: {exc.errors()[0]['msg']}", "items"
                ) from None
        return created


def _json_item(item: object, index: int) -> Item:
    """The item as plain JSON (a copy the caller can no longer change)."""
    if not isinstance(item, Mapping):
        raise InvalidInputError(f"items[{index}] is not an item (a dict)", field="items")
    try:
        copied = json.loads(json.dumps(item, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"items[{index}] is not JSON: {exc}", field="items") from None
    return cast(Item, copied)


def _usage_payload(entry: RequestUsage) -> dict[str, Any]:
    """A response's usage in the Responses API's shape."""
    return {
        "input_tokens": entry.input_tokens,
        "output_tokens": entry.output_tokens,
        "total_tokens": entry.total_tokens,
        "input_tokens_details": _details(entry.input_tokens_details),
        "output_tokens_details": _details(entry.output_tokens_details),
    }


def _details(details: BaseModel) -> dict[str, Any]:
    return details.model_dump(mode="json", exclude_none=True)


def _priced(payload: dict[str, Any]) -> Usage | None:
    try:
        return Usage.from_responses(payload)
    except ValidationError:
        logger.warning("inconsistent usage kept unpriced: %s", payload)
        return None


def _items(message: MessageRead) -> list[Item]:
    """The items one message gives back (none for a reply still streaming,
    failed or cancelled)."""
    if message.status is not MessageStatus.complete:
        return []
    entry = message.metadata.get(KEY)
    if isinstance(entry, dict):
        item = read_item(entry, message.parts)
        if item is not None:
            return [item]
    return default_items(message.role, message.parts)


def _window(wanted: int | None) -> int | None:
    """How many messages to read first for ``wanted`` items (``None``: all)."""
    return wanted if wanted is not None and wanted <= _MAX_WINDOW else None


def _take(
    path: list[MessageRead], window: int | None, wanted: int | None
) -> list[TResponseInputItem] | None:
    """The last ``wanted`` items of ``path`` (the thread's last ``window``
    messages); ``None`` when they are fewer and the thread may hold more (a
    message written by other code can give several items, or none)."""
    items = [item for message in path for item in _items(message)]
    if wanted is None:
        return cast(list[TResponseInputItem], items)
    if len(items) < wanted and window is not None and len(path) == window:
        return None
    return cast(list[TResponseInputItem], items[max(0, len(items) - wanted) :])
