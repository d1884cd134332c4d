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
import datetime as dt
import functools
import logging
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
)
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    Literal,
    Protocol,
    TypeVar,
    overload,
)

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session
from typing_extensions import ParamSpec, Self

from synergia_core._frames import frame_library, usage_frame
from synergia_core.errors import InvalidInputError
from synergia_core.providers import ResolveUri, get_format
from synergia_core.schemas import MessageStatus
from synergia_core.services._base import Service, check_config
from synergia_core.services._checks import check_user_id, to_uuid
from synergia_core.services._context import Scope, ServiceConfig, bind_scope
from synergia_core.services._prompt import Format
from synergia_core.services._recording import (
    Recorder,
    StreamFailedError,
    check_recording,
    error_text,
)
from synergia_core.services.budgets import BudgetService
from synergia_core.services.chats import ChatService
from synergia_core.services.messages import MessageService
from synergia_core.services.models import ModelService
from synergia_core.services.search import SearchService
from synergia_core.services.usage import UsageService
from synergia_core.services.users import UserService

if TYPE_CHECKING:
    import pandas
    import polars

__all__ = [
    "AsyncBudgetService",
    "AsyncChatService",
    "AsyncMessageService",
    "AsyncModelService",
    "AsyncSearchService",
    "AsyncService",
    "AsyncUsageService",
    "AsyncUserService",
    "Runner",
    "awaitable",
    "bind_runner",
]

logger = logging.getLogger(__name__)

S = TypeVar("S", bound=Service)
E = TypeVar("E")
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
    upsert = awaitable(ModelService.upsert)
    sync = awaitable(ModelService.sync)
    resolve = awaitable(ModelService.resolve)
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
    delete = awaitable(MessageService.delete)
    clear = awaitable(MessageService.clear)

    def record_stream(
        self,
        chat_id: uuid.UUID | str,
        stream: AsyncIterable[E] | Iterable[E],
        *,
        user_id: str,
        model_id: uuid.UUID | str | None,
        format: str,
        parent_id: uuid.UUID | str | None = None,
        flush_interval: float = 0.25,
        flush_chars: int = 2048,
    ) -> AsyncGenerator[E, None]:
        """:meth:`MessageService.record_stream
        <synergia_core.services.MessageService.record_stream>` for an async
        stream (or a plain iterable): an async generator handing every event
        through, with the same batching, failure and cancellation rules::

            async for event in sy.messages.record_stream(chat.id, stream, user_id="alice",
                                                         model_id=gpt.id, format="anthropic"):
                await send(event)

        Raises:
            InvalidInputError: An unknown ``format`` or bad flush settings
                (at the call), or anything ``start`` raises (at the first event).
        """
        check_user_id(user_id)
        to_uuid(chat_id, "chat_id")
        interval = check_recording(stream, format, flush_interval, flush_chars)
        recorder = Recorder(get_format(format).stream(), interval, flush_chars)
        return self._record(chat_id, stream, recorder, user_id, model_id, parent_id)

    async def _record(
        self,
        chat_id: uuid.UUID | str,
        stream: AsyncIterable[E] | Iterable[E],
        recorder: Recorder,
        user_id: str,
        model_id: uuid.UUID | str | None,
        parent_id: uuid.UUID | str | None,
    ) -> AsyncGenerator[E, None]:
        reply = await self.start(chat_id, user_id=user_id, model_id=model_id, parent_id=parent_id)

        async def flush() -> None:
            taken = recorder.take()
            if taken is not None:
                await self._run(lambda service: service._append(reply.id, user_id, *taken))

        try:
            async for event in _events(stream):
                if recorder.feed(event):
                    await flush()
                yield event
        except GeneratorExit:
            await self._end(reply.id, user_id, recorder, flush, None)
            raise
        except BaseException as exc:
            await self._end(reply.id, user_id, recorder, flush, exc)
            raise
        accumulator = recorder.accumulator
        failure = accumulator.error()
        if failure is not None:  # the stream reported a failure instead of raising
            await self._end(reply.id, user_id, recorder, flush, StreamFailedError(failure))
            return
        try:
            parts, usage, metadata = (
                accumulator.parts(),
                accumulator.usage(),
                accumulator.metadata(),
            )
            await self._run(
                lambda service: service._close(
                    reply.id,
                    user_id,
                    MessageStatus.complete,
                    usage,
                    {},
                    parts,
                    metadata,
                    replace=True,
                )
            )
        except BaseException as exc:
            await self._end(reply.id, user_id, recorder, flush, exc)
            raise

    async def _end(
        self,
        reply_id: uuid.UUID,
        user_id: str,
        recorder: Recorder,
        flush: Callable[[], Awaitable[None]],
        error: BaseException | None,
    ) -> None:
        """Keep what was streamed, then cancel (``error`` ``None``) or fail
        the reply; failures to do so are logged, not raised."""
        try:
            usage = recorder.accumulator.usage()
        except Exception:
            usage = None
        try:
            await flush()
        except Exception:
            logger.warning("could not write the end of stream %s", reply_id, exc_info=True)
        try:
            if error is None:
                await self.cancel(reply_id, user_id=user_id, usage=usage)
            else:
                await self.fail(reply_id, error_text(error), user_id=user_id, usage=usage)
        except Exception:
            logger.warning("could not close stream %s", reply_id, exc_info=True)

    @overload
    async def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Literal["openai"] = "openai",
        resolve_uri: ResolveUri | None = None,
    ) -> builtins.list[dict[str, Any]]: ...

    @overload
    async def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Literal["openai-responses", "anthropic", "gemini"],
        resolve_uri: ResolveUri | None = None,
    ) -> dict[str, Any]: ...

    async def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Format = "openai",
        resolve_uri: ResolveUri | None = None,
    ) -> builtins.list[dict[str, Any]] | dict[str, Any]:
        """:meth:`MessageService.context <synergia_core.services.MessageService.context>`,
        awaited."""

        def call(service: MessageService) -> builtins.list[dict[str, Any]] | dict[str, Any]:
            context: Any = service.context
            result: builtins.list[dict[str, Any]] | dict[str, Any] = context(
                chat_id,
                user_id=user_id,
                max_input_tokens=max_input_tokens,
                format=format,
                resolve_uri=resolve_uri,
            )
            return result

        return await self._run(call)


async def _events(stream: AsyncIterable[E] | Iterable[E]) -> AsyncIterator[E]:
    """Iterate an async stream, or a plain iterable, asynchronously."""
    if isinstance(stream, AsyncIterable):
        async for event in stream:
            yield event
    else:
        for event in stream:
            yield event


class AsyncUsageService(AsyncService[UsageService]):
    """:class:`~synergia_core.services.UsageService`, awaited."""

    _service = UsageService
    totals = awaitable(UsageService.totals)
    breakdown = awaitable(UsageService.breakdown)

    @overload
    async def frame(
        self,
        by: Literal["model", "day", "user", "chat"],
        *,
        user_id: str | None = ...,
        chat_id: uuid.UUID | str | None = ...,
        model_id: uuid.UUID | str | None = ...,
        since: dt.datetime | None = ...,
        until: dt.datetime | None = ...,
        library: Literal["pandas"] = ...,
    ) -> pandas.DataFrame: ...

    @overload
    async def frame(
        self,
        by: Literal["model", "day", "user", "chat"],
        *,
        user_id: str | None = ...,
        chat_id: uuid.UUID | str | None = ...,
        model_id: uuid.UUID | str | None = ...,
        since: dt.datetime | None = ...,
        until: dt.datetime | None = ...,
        library: Literal["polars"],
    ) -> polars.DataFrame: ...

    async def frame(
        self,
        by: Literal["model", "day", "user", "chat"],
        *,
        user_id: str | None = None,
        chat_id: uuid.UUID | str | None = None,
        model_id: uuid.UUID | str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        library: Literal["pandas", "polars"] = "pandas",
    ) -> Any:
        """:meth:`UsageService.frame <synergia_core.services.UsageService.frame>`,
        awaited: the breakdown is read on the connection, the DataFrame built
        after it is released.

        Raises:
            InvalidInputError: ``by`` or ``library`` is not one of those named;
                an id is not a UUID; a time is naive.
            ImportError: The library is not installed
                (``pip install 'synergia-core[frames]'``).
        """
        module = frame_library(library)
        rows = await self.breakdown(
            by, user_id=user_id, chat_id=chat_id, model_id=model_id, since=since, until=until
        )
        return usage_frame(rows, by, module)


class AsyncBudgetService(AsyncService[BudgetService]):
    """:class:`~synergia_core.services.BudgetService`, awaited."""

    _service = BudgetService
    set = awaitable(BudgetService.set)
    get = awaitable(BudgetService.get)
    delete = awaitable(BudgetService.delete)
    status = awaitable(BudgetService.status)


class AsyncUserService(AsyncService[UserService]):
    """:class:`~synergia_core.services.UserService`, awaited."""

    _service = UserService
    purge = awaitable(UserService.purge)


class AsyncSearchService(AsyncService[SearchService]):
    """:class:`~synergia_core.services.SearchService`, awaited."""

    _service = SearchService
    messages = awaitable(SearchService.messages)
    chats = awaitable(SearchService.chats)
