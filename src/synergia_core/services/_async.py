"""Async faces of the services: the same rules, awaited.

There is one source of business logic: the sync services. An async service
runs the sync method inside ``AsyncConnection.run_sync`` (or
``AsyncSession.run_sync``), where SQLAlchemy drives the asyncio driver
(psycopg's async connection, aiosqlite) from a greenlet: the event loop is
never blocked on I/O, and no rule is written twice. Each async method is
declared as ``name = awaitable(SyncService.name)``, which keeps the sync
method's signature, types and docstring.
"""

from __future__ import annotations

import builtins
import functools
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, Generic, Literal, Protocol, TypeVar, overload

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session
from typing_extensions import ParamSpec, Self

from synergia_core.errors import InvalidInputError
from synergia_core.services._base import Service, check_config
from synergia_core.services._context import Scope, ServiceConfig, bind_scope
from synergia_core.services.chats import ChatService
from synergia_core.services.messages import MessageService
from synergia_core.services.models import ModelService
from synergia_core.services.usage import UsageService

__all__ = [
    "AsyncChatService",
    "AsyncMessageService",
    "AsyncModelService",
    "AsyncService",
    "AsyncUsageService",
    "Runner",
    "awaitable",
    "bind_runner",
]

S = TypeVar("S", bound=Service)
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class Runner(Protocol):
    """Runs sync work, given a scope, on an async connection's sync proxy."""

    async def __call__(self, work: Callable[[Scope], T]) -> T:
        """Run ``work`` and return its result."""
        ...


def bind_runner(bind: AsyncSession | AsyncConnection) -> Runner:
    """A runner on a host's async session or connection (never commits)."""

    class _OnBind:
        async def __call__(self, work: Callable[[Scope], T]) -> T:
            if isinstance(bind, AsyncSession):

                def on_session(session: Session) -> T:
                    return work(bind_scope(session))

                return await bind.run_sync(on_session)

            def on_connection(connection: Connection) -> T:
                return work(bind_scope(connection))

            return await bind.run_sync(on_connection)

    return _OnBind()


class AsyncService(Generic[S]):
    """Base of the async services: holds a runner and the settings.

    Args:
        runner: Runs the sync service's work on an async connection.
        config: Clock and limits; the defaults when omitted.
    """

    _service: type[S]

    def __init__(self, runner: Runner, config: ServiceConfig | None = None) -> None:
        self._runner = runner
        self._config = check_config(config)

    @classmethod
    def from_session(
        cls, session: AsyncSession | AsyncConnection, config: ServiceConfig | None = None
    ) -> Self:
        """An async service working in a host's ``AsyncSession`` (or ``AsyncConnection``).

        It takes part in the host's transaction and never commits.

        Raises:
            InvalidInputError: ``session`` is not an ``AsyncSession`` or
                ``AsyncConnection``, or ``config`` is not a :class:`ServiceConfig`.
        """
        if not isinstance(session, (AsyncSession, AsyncConnection)):
            raise InvalidInputError(
                "session must be a SQLAlchemy AsyncSession or AsyncConnection, "
                f"not {type(session).__name__}",
                field="session",
            )
        return cls(bind_runner(session), config)

    async def _run(self, call: Callable[[S], R]) -> R:
        def work(scope: Scope) -> R:
            return call(self._service(scope, self._config))

        return await self._runner(work)


class _AwaitableMethod(Generic[S, P, R]):
    """Descriptor: a sync service method, exposed awaited on an AsyncService."""

    def __init__(self, method: Callable[Concatenate[S, P], R]) -> None:
        self._method = method
        self.__doc__ = method.__doc__
        self.__name__ = getattr(method, "__name__", "method")

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(
        self, instance: AsyncService[Any], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    def __get__(
        self, instance: AsyncService[Any] | None, owner: type[Any]
    ) -> Self | Callable[P, Coroutine[Any, Any, R]]:
        if instance is None:
            return self
        method = self._method

        @functools.wraps(method)
        async def call(*args: P.args, **kwargs: P.kwargs) -> R:
            return await instance._run(lambda service: method(service, *args, **kwargs))

        return call


def awaitable(method: Callable[Concatenate[S, P], R]) -> _AwaitableMethod[S, P, R]:
    """Expose a sync service method, awaited, on an :class:`AsyncService`."""
    return _AwaitableMethod(method)


class AsyncModelService(AsyncService[ModelService]):
    """:class:`~synergia_core.services.ModelService`, awaited."""

    _service = ModelService
    create = awaitable(ModelService.create)
    get = awaitable(ModelService.get)
    get_by_name = awaitable(ModelService.get_by_name)
    list = awaitable(ModelService.list)
    update = awaitable(ModelService.update)
    enable = awaitable(ModelService.enable)
    disable = awaitable(ModelService.disable)
    delete = awaitable(ModelService.delete)


class AsyncChatService(AsyncService[ChatService]):
    """:class:`~synergia_core.services.ChatService`, awaited."""

    _service = ChatService
    create = awaitable(ChatService.create)
    get = awaitable(ChatService.get)
    list = awaitable(ChatService.list)
    update = awaitable(ChatService.update)
    delete = awaitable(ChatService.delete)
    restore = awaitable(ChatService.restore)
    purge = awaitable(ChatService.purge)


class AsyncMessageService(AsyncService[MessageService]):
    """:class:`~synergia_core.services.MessageService`, awaited."""

    _service = MessageService
    add = awaitable(MessageService.add)
    get = awaitable(MessageService.get)
    list = awaitable(MessageService.list)
    thread = awaitable(MessageService.thread)
    siblings = awaitable(MessageService.siblings)
    edit = awaitable(MessageService.edit)
    regenerate = awaitable(MessageService.regenerate)
    select = awaitable(MessageService.select)
    start = awaitable(MessageService.start)
    append = awaitable(MessageService.append)
    finish = awaitable(MessageService.finish)
    fail = awaitable(MessageService.fail)
    cancel = awaitable(MessageService.cancel)

    @overload
    async def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Literal["openai"] = "openai",
    ) -> builtins.list[dict[str, Any]]: ...

    @overload
    async def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Literal["anthropic"],
    ) -> dict[str, Any]: ...

    async def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Literal["openai", "anthropic"] = "openai",
    ) -> builtins.list[dict[str, Any]] | dict[str, Any]:
        """:meth:`MessageService.context <synergia_core.services.MessageService.context>`,
        awaited."""

        def call(service: MessageService) -> builtins.list[dict[str, Any]] | dict[str, Any]:
            if format == "anthropic":
                return service.context(
                    chat_id, user_id=user_id, max_input_tokens=max_input_tokens, format=format
                )
            return service.context(
                chat_id, user_id=user_id, max_input_tokens=max_input_tokens, format=format
            )

        return await self._run(call)


class AsyncUsageService(AsyncService[UsageService]):
    """:class:`~synergia_core.services.UsageService`, awaited."""

    _service = UsageService
    totals = awaitable(UsageService.totals)
    breakdown = awaitable(UsageService.breakdown)
