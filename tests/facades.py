"""Run one test body through both facades.

:class:`BlockingAsync` wraps an :class:`~synergia_core.AsyncSynergia` so that
a test written against the sync :class:`~synergia_core.Synergia` surface
drives the async one: every call is awaited on the wrapper's own event loop.
With the ``mode`` fixture the service-level suite runs each behaviour twice,
``sync`` and ``async``, from one test body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar, cast

from sqlalchemy.engine import Engine

from synergia_core import AsyncSynergia, Health, ServiceConfig, Synergia, TransferReport
from synergia_core.services import AsyncService

T = TypeVar("T")


class _Service:
    """Sync-looking proxy of an async service."""

    def __init__(self, service: AsyncService[Any], loop: asyncio.AbstractEventLoop) -> None:
        self._service = service
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._service, name)
        if name == "record_stream":
            return self._generator(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(method(*args, **kwargs))

        return call

    def _generator(self, method: Any) -> Any:
        """An async generator method, iterated like a sync generator: every
        step, and ``close()``, is run on the wrapper's loop."""

        def call(*args: Any, **kwargs: Any) -> Iterator[Any]:
            return iterate(method(*args, **kwargs))  # the arguments are checked at the call

        def iterate(agen: Any) -> Iterator[Any]:
            while True:
                try:
                    item = self._loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return
                try:
                    yield item
                except GeneratorExit:
                    self._loop.run_until_complete(agen.aclose())
                    raise
                except BaseException as exc:  # thrown in: hand it to the async generator
                    self._loop.run_until_complete(agen.athrow(exc))
                    raise

        return call


class _Transaction:
    def __init__(self, tx: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.models = _Service(tx.models, loop)
        self.chats = _Service(tx.chats, loop)
        self.messages = _Service(tx.messages, loop)
        self.usage = _Service(tx.usage, loop)
        self.budgets = _Service(tx.budgets, loop)
        self.users = _Service(tx.users, loop)
        self.search = _Service(tx.search, loop)


class BlockingAsync:
    """The sync facade's surface over an AsyncSynergia."""

    def __init__(self, url: str, config: ServiceConfig | None = None, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self.inner = AsyncSynergia(url, config=config, **kwargs)
        self.models = _Service(self.inner.models, self._loop)
        self.chats = _Service(self.inner.chats, self._loop)
        self.messages = _Service(self.inner.messages, self._loop)
        self.usage = _Service(self.inner.usage, self._loop)
        self.budgets = _Service(self.inner.budgets, self._loop)
        self.users = _Service(self.inner.users, self._loop)
        self.search = _Service(self.inner.search, self._loop)

    def _wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._loop.run_until_complete(coroutine)

    @property
    def engine(self) -> Engine:
        return self.inner.sync_engine

    def migrate(self, revision: str = "head") -> None:
        self._wait(self.inner.migrate(revision))

    def ensure_schema(self) -> None:
        self._wait(self.inner.ensure_schema())

    def health(self) -> Health:
        return self._wait(self.inner.health())

    def export_chats(self, fp: Any, **kwargs: Any) -> TransferReport:
        return self._wait(self.inner.export_chats(fp, **kwargs))

    def import_chats(self, fp: Any, **kwargs: Any) -> TransferReport:
        return self._wait(self.inner.import_chats(fp, **kwargs))

    @contextmanager
    def transaction(self) -> Iterator[_Transaction]:
        manager = self.inner.transaction()
        tx = self._wait(manager.__aenter__())
        try:
            yield _Transaction(tx, self._loop)
        except BaseException as exc:
            if not self._wait(manager.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            self._wait(manager.__aexit__(None, None, None))

    def close(self) -> None:
        self._wait(self.inner.close())
        self._loop.close()

    def __enter__(self) -> BlockingAsync:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_facade(
    mode: str, url: str, config: ServiceConfig | None = None, **kwargs: Any
) -> Synergia:
    """A sync facade, or the async one behind a blocking proxy, typed as the sync one."""
    if mode == "sync":
        return Synergia(url, config=config, **kwargs)
    return cast(Synergia, BlockingAsync(url, config=config, **kwargs))
