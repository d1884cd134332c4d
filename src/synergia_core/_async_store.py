"""The :class:`AsyncSynergia` facade: :class:`~synergia_core.Synergia`, awaited."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from types import TracebackType
from typing import IO, Any, TypeVar

from sqlalchemy.engine import URL, Connection, Engine, Transaction
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import greenlet_spawn

from synergia_core import _migration
from synergia_core._async_transfer import export_async, import_async
from synergia_core._facade import (
    begin_snapshot,
    check_arguments,
    health_report,
    must_migrate,
    probe,
    snapshot_options,
)
from synergia_core._replicas import (
    DEFAULT_MAX_REPLICA_LAG_S,
    REPLICA_CONNECT_TIMEOUT_S,
    ReplicaRouter,
    check_replica_arguments,
    recording_scope,
)
from synergia_core._translate import checked_out, checked_out_async, translate_errors
from synergia_core.db import READ_ONLY, create_async_engine, create_engine, resolve_url
from synergia_core.schemas import Health, TransferReport
from synergia_core.services._async import (
    AsyncBudgetService,
    AsyncChatService,
    AsyncMessageService,
    AsyncModelService,
    AsyncSearchService,
    AsyncUsageService,
    AsyncUserService,
    Runner,
    bind_runner,
)
from synergia_core.services._context import (
    Scope,
    ServiceConfig,
    bind_scope,
    connection_scope,
)
from synergia_core.services.transfer import ImportFormat

__all__ = ["AsyncSynergia", "AsyncTransaction"]

T = TypeVar("T")


class AsyncTransaction:
    """One unit of work of an :meth:`AsyncSynergia.transaction` block.

    Every awaited call through ``tx.models``, ``tx.chats``, ``tx.messages``
    and ``tx.usage`` runs in the block's single transaction.
    """

    def __init__(self, runner: Runner, config: ServiceConfig) -> None:
        self.models = AsyncModelService(runner, config)
        """The model catalog."""
        self.chats = AsyncChatService(runner, config)
        """Chats."""
        self.messages = AsyncMessageService(runner, config)
        """Messages."""
        self.usage = AsyncUsageService(runner, config)
        """Usage reports."""
        self.budgets = AsyncBudgetService(runner, config)
        """Budgets."""
        self.users = AsyncUserService(runner, config)
        """Users as a whole (erasure)."""
        self.search = AsyncSearchService(runner, config)
        """Full-text search."""


class _PerCall:
    """Runner of the facade on an asyncio engine: a pooled connection and a
    unit of work per call, run through ``run_sync`` (PostgreSQL's psycopg
    async driver, or a host's own asyncio engine)."""

    def __init__(self, owner: AsyncSynergia, engine: AsyncEngine) -> None:
        self._owner = owner
        self._engine = engine

    async def __call__(self, work: Callable[[Scope], T]) -> T:
        await self._owner.ensure_schema()
        with translate_errors():
            async with checked_out_async(self._engine) as connection:

                def run(sync_connection: Connection) -> T:
                    return work(connection_scope(sync_connection))

                return await connection.run_sync(run)


class _Routed:
    """Runner of a facade with read replicas: the router's scope, in
    SQLAlchemy's greenlet bridge (the scope checks out a connection of the
    server it routes to when the work opens it, so the choice can depend on
    whether the work writes and for whom)."""

    def __init__(self, owner: AsyncSynergia, router: ReplicaRouter) -> None:
        self._owner = owner
        self._router = router

    async def __call__(self, work: Callable[[Scope], T]) -> T:
        await self._owner.ensure_schema()
        result: T = await greenlet_spawn(work, self._router.scope)
        return result


class _Threaded:
    """Runner of the facade on SQLite: each call runs the sync services, on
    the standard ``sqlite3`` driver, in a worker thread. One thread hop per
    call (aiosqlite makes one per statement), and a call that is cancelled
    while it runs finishes its unit of work in its thread, committing or
    rolling back and returning its connection at once, instead of leaving a
    transaction open until garbage collection.

    Calls take a permit before they take a connection, and as many threads
    serve them as there are permits, so no thread ever waits for a pooled
    connection (an in-memory database has one connection, hence one permit).
    """

    def __init__(self, owner: AsyncSynergia, engine: Engine) -> None:
        self._owner = owner
        self.engine = engine
        pool = engine.pool
        permits = 8
        if isinstance(pool, QueuePool):
            permits = max(1, pool.size() + max(0, pool._max_overflow))
        self._permits = asyncio.Semaphore(permits)
        self._executor = ThreadPoolExecutor(
            max_workers=permits, thread_name_prefix="synergia-sqlite"
        )

    async def submit(self, function: Callable[[], T], *, permit: bool = True) -> T:
        """Run ``function`` in a worker thread; its permit (if it takes one)
        is given back when the thread is done, not when the caller stops
        waiting. The thread wakes the event loop once, with the outcome and
        the permit together."""
        loop = asyncio.get_running_loop()
        if permit:
            await self._permits.acquire()
        waiter: asyncio.Future[T] = loop.create_future()

        def finish(value: T | None, error: BaseException | None) -> None:
            if permit:
                self._permits.release()
            if waiter.cancelled():
                return
            if error is None:
                waiter.set_result(value)  # type: ignore[arg-type]
            else:
                waiter.set_exception(error)

        def run() -> None:
            value: T | None = None
            error: BaseException | None = None
            try:
                value = function()
            except StopIteration as exc:  # a Future refuses StopIteration
                error = RuntimeError(f"StopIteration raised in a worker thread: {exc!r}")
            except BaseException as exc:  # handed to the awaiting task
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(finish, value, error)

        try:
            self._executor.submit(run)
        except BaseException:
            if permit:
                self._permits.release()
            raise
        return await waiter

    async def __call__(self, work: Callable[[Scope], T]) -> T:
        await self._owner.ensure_schema()

        def run() -> T:
            with translate_errors(), checked_out(self.engine) as connection:
                return work(connection_scope(connection))

        return await self.submit(run)

    def submit_nowait(self, function: Callable[[], object]) -> None:
        """Run ``function`` in a worker thread without waiting for it."""
        self._executor.submit(function)

    async def hold(self) -> None:
        """Take a permit for work that spans several calls (a transaction block)."""
        await self._permits.acquire()

    def unhold(self) -> None:
        """Give back a permit taken with :meth:`hold`."""
        self._permits.release()

    def shutdown(self) -> None:
        """Wait for the worker threads to finish and stop them."""
        self._executor.shutdown(wait=True)


def _end_block(connection: Connection, block: Transaction, *, commit: bool) -> None:
    """Commit or roll back a transaction block and give its connection back."""
    try:
        with translate_errors():
            if commit:
                block.commit()
            else:
                block.rollback()
    finally:
        connection.close()


class _ThreadedTransaction:
    """Runner of one ``transaction()`` block on SQLite: every call of the
    block runs on the block's connection, in a worker thread."""

    def __init__(self, threaded: _Threaded, connection: Connection) -> None:
        self._threaded = threaded
        self._connection = connection

    async def __call__(self, work: Callable[[Scope], T]) -> T:
        scope = bind_scope(self._connection)
        return await self._threaded.submit(lambda: work(scope), permit=False)


class AsyncSynergia:
    """Chats, messages and the model catalog on one database, for asyncio hosts.

    The same surface as :class:`~synergia_core.Synergia`, awaited:
    ``await sy.models.create(...)``, ``async with sy.transaction() as tx``,
    ``await sy.migrate()``, ``await sy.health()``, ``await sy.close()``.
    Business rules are the sync services', so the two faces cannot drift.

    How calls reach the database depends on the URL:

    * PostgreSQL: psycopg 3's asyncio driver, through SQLAlchemy's
      ``run_sync``: the event loop never waits on the database.
    * SQLite (which has no network to wait on): the standard ``sqlite3``
      driver in a pool of worker threads, one thread hop per call. A call
      cancelled while it runs (a timeout, a client gone) completes or rolls
      back its unit of work in its thread and releases its connection and
      the database's write lock at once.
    * An :class:`~sqlalchemy.ext.asyncio.AsyncEngine` of the host's
      (``engine=``, e.g. aiosqlite): used as it is, through ``run_sync``.

    Args:
        url: Database URL; ``None`` means ``$SYNERGIA_DATABASE_URL``, else
            ``sqlite:///synergia.db``.
        engine: An :class:`~sqlalchemy.ext.asyncio.AsyncEngine` of the host's
            to use instead; :meth:`close` leaves it alone.
        auto_migrate: Upgrade the schema on first use instead of raising.
        echo: Log every SQL statement.
        config: Clock and limits shared by the services.
        replicas: URLs of PostgreSQL streaming replicas: reads go to them,
            writes and transactions to the primary, each user's reads see
            their own writes (see :class:`~synergia_core.Synergia` and
            ``docs/scaling.md``).
        max_replica_lag: Seconds a replica may lag behind before reads skip it.

    Raises:
        ValueError: Both ``url`` and ``engine`` were given.
        InvalidInputError: The URL cannot be parsed or names an unknown
            database, or an argument is of the wrong type (or ``replicas`` are
            given for a database other than PostgreSQL).
        ImportError: The URL's driver is not installed (the message names the extra).
    """

    def __init__(
        self,
        url: str | URL | None = None,
        *,
        engine: AsyncEngine | None = None,
        auto_migrate: bool = False,
        echo: bool = False,
        config: ServiceConfig | None = None,
        replicas: Sequence[str | URL] = (),
        max_replica_lag: float = DEFAULT_MAX_REPLICA_LAG_S,
    ) -> None:
        check_arguments(
            url, engine, AsyncEngine, {"auto_migrate": auto_migrate, "echo": echo}, config
        )
        self._owns_engine = engine is None
        self._async_engine: AsyncEngine | None = engine
        self._threaded: _Threaded | None = None
        runner: Runner
        if engine is None and resolve_url(url).get_backend_name() == "sqlite":
            self._threaded = _Threaded(self, create_engine(url, echo=echo))
            runner = self._threaded
        else:
            if engine is None:
                self._async_engine = create_async_engine(url, echo=echo)
            assert self._async_engine is not None
            runner = _PerCall(self, self._async_engine)
        self._router: ReplicaRouter | None = None
        self._replica_engines: list[AsyncEngine] = []
        if replicas or max_replica_lag != DEFAULT_MAX_REPLICA_LAG_S:
            check_replica_arguments(self.sync_engine, replicas, max_replica_lag)
        if replicas:
            timeout = {"connect_timeout": REPLICA_CONNECT_TIMEOUT_S}
            self._replica_engines = [
                create_async_engine(item, echo=echo, connect_args=timeout) for item in replicas
            ]
            self._router = ReplicaRouter(
                self.sync_engine,
                [item.sync_engine for item in self._replica_engines],
                max_lag_s=max_replica_lag,
            )
            runner = _Routed(self, self._router)
        self._auto_migrate = auto_migrate
        self._schema_ready = asyncio.Event()
        self._schema_lock = asyncio.Lock()
        self._started = time.monotonic()
        self._config = config if config is not None else ServiceConfig()
        self.models = AsyncModelService(runner, self._config)
        """The model catalog (each call its own unit of work)."""
        self.chats = AsyncChatService(runner, self._config)
        """Chats (each call its own unit of work)."""
        self.messages = AsyncMessageService(runner, self._config)
        """Messages (each call its own unit of work)."""
        self.usage = AsyncUsageService(runner, self._config)
        """Usage reports (each call its own unit of work)."""
        self.budgets = AsyncBudgetService(runner, self._config)
        """Budgets (each call its own unit of work)."""
        self.users = AsyncUserService(runner, self._config)
        """Users as a whole: ``purge`` (each call its own unit of work)."""
        self.search = AsyncSearchService(runner, self._config)
        """Full-text search (each call its own unit of work)."""

    @property
    def engine(self) -> AsyncEngine | Engine:
        """The SQLAlchemy engine in use: an :class:`~sqlalchemy.ext.asyncio.AsyncEngine`,
        or, for a SQLite URL, the sync :class:`~sqlalchemy.engine.Engine` its
        worker threads use."""
        if self._threaded is not None:
            return self._threaded.engine
        assert self._async_engine is not None
        return self._async_engine

    @property
    def sync_engine(self) -> Engine:
        """The sync :class:`~sqlalchemy.engine.Engine` underneath (for
        events and inspection; the async engine's ``sync_engine``)."""
        if self._threaded is not None:
            return self._threaded.engine
        assert self._async_engine is not None
        return self._async_engine.sync_engine

    async def _on_connection(self, function: Callable[[Connection], T], *, begin: bool) -> T:
        """Run ``function`` on a connection of its own, in a transaction if
        ``begin``, else read-only; translated errors."""
        if self._threaded is not None:
            engine = self._threaded.engine

            def run() -> T:
                with translate_errors():
                    if begin:
                        with checked_out(engine) as connection, connection.begin():
                            return function(connection)
                    with _migration.connect(engine, read_only=True) as connection:
                        return function(connection)

            return await self._threaded.submit(run)
        assert self._async_engine is not None
        with translate_errors():
            async with checked_out_async(self._async_engine) as connection:
                if begin:
                    async with connection.begin():
                        return await connection.run_sync(function)
                await connection.execution_options(**{READ_ONLY: True})
                try:
                    return await connection.run_sync(function)
                finally:
                    await connection.rollback()

    async def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` (the newest by default).

        Idempotent, and safe when several processes migrate at once.

        Raises:
            DatabaseUnavailableError: The database cannot be reached.
        """
        await self._on_connection(lambda c: _migration.migrate(c, revision), begin=True)
        self._schema_ready.clear()

    async def ensure_schema(self) -> None:
        """Check (once) that the schema is at head; migrate if ``auto_migrate``.

        Raises:
            SchemaOutOfDateError: The schema is behind or ahead of the package.
            DatabaseUnavailableError: The database cannot be reached.
        """
        if self._schema_ready.is_set():
            return
        async with self._schema_lock:
            if self._schema_ready.is_set():
                return
            head = _migration.head_revision()
            current = await self._on_connection(_migration.current_on, begin=False)
            if must_migrate(current, head, self._auto_migrate):
                await self._on_connection(_migration.migrate, begin=True)
            self._schema_ready.set()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncTransaction]:
        """Group awaited calls into one unit of work.

        ::

            async with sy.transaction() as tx:
                chat = await tx.chats.create(ChatCreate(user_id="bob"))
                await tx.messages.add(chat.id, MessageCreate(role="user", content="hi"),
                                      user_id="bob")

        Commits when the block ends; rolls back, writing nothing, if it raises
        or is cancelled (the rollback completes even then).

        Raises:
            SchemaOutOfDateError: The schema is not at head.
            DatabaseUnavailableError: The database cannot be reached, or the
                commit failed.
        """
        async with self._block(snapshot=False) as runner:
            yield AsyncTransaction(runner, self._config)

    @asynccontextmanager
    async def _block(self, *, snapshot: bool) -> AsyncIterator[Runner]:
        """One transaction for several calls: a write transaction, or (with
        ``snapshot``) a read-only snapshot; yields the runner of its calls."""
        await self.ensure_schema()
        if self._threaded is not None:
            async with self._threaded_transaction(self._threaded, snapshot=snapshot) as runner:
                yield runner
            return
        assert self._async_engine is not None
        if self._router is not None and not snapshot:
            # Writes on the primary, their users remembered (snapshots read
            # the primary too, below).
            async with self._routed_transaction(self._router, self._async_engine) as runner:
                yield runner
            return
        with translate_errors():
            async with checked_out_async(self._async_engine) as connection:
                if snapshot:
                    await connection.execution_options(**snapshot_options(connection.dialect.name))
                async with connection.begin():
                    yield bind_runner(connection)

    async def export_chats(
        self, fp: IO[Any], *, user_id: str, progress: Callable[[int], object] | None = None
    ) -> TransferReport:
        """:meth:`Synergia.export_chats <synergia_core.Synergia.export_chats>`,
        awaited: pages are read in one snapshot, and ``fp`` is written in a
        worker thread, so the event loop never waits on the file.

        Raises:
            InvalidInputError: ``user_id`` is invalid or ``fp`` cannot be written to.
        """
        return await export_async(self._block, fp, user_id=user_id, progress=progress)

    async def import_chats(
        self,
        fp: IO[Any],
        *,
        user_id: str | None = None,
        keep_ids: bool = True,
        format: ImportFormat = "synergia",
        progress: Callable[[int], object] | None = None,
    ) -> TransferReport:
        """:meth:`Synergia.import_chats <synergia_core.Synergia.import_chats>`,
        awaited: ``fp`` is read and parsed in a worker thread.

        Raises:
            CorruptImportError: The input is not valid ``format``.
            ImportConflictError: An id conflict with ``keep_ids=True``.
            InvalidInputError: An invalid argument.
        """
        return await import_async(
            self._block,
            self._config,
            fp,
            user_id=user_id,
            keep_ids=keep_ids,
            format=format,
            progress=progress,
        )

    @asynccontextmanager
    async def _routed_transaction(
        self, router: ReplicaRouter, engine: AsyncEngine
    ) -> AsyncIterator[Runner]:
        """A block on the primary; the users it wrote for are remembered
        (after the commit) so that their reads see it."""
        writers: set[str | None] = set()

        class _Recording:
            async def __call__(self, work: Callable[[Scope], T]) -> T:
                def run(sync_connection: Connection) -> T:
                    return work(recording_scope(bind_scope(sync_connection), writers))

                return await connection.run_sync(run)

        with translate_errors():
            async with checked_out_async(engine) as connection:
                async with connection.begin():
                    yield _Recording()
                if writers:
                    await connection.run_sync(lambda sync: router.note_write(sync, writers))

    @asynccontextmanager
    async def _threaded_transaction(
        self, threaded: _Threaded, *, snapshot: bool
    ) -> AsyncIterator[Runner]:
        engine = threaded.engine

        def open_block() -> tuple[Connection, Transaction]:
            with translate_errors():
                connection = engine.connect()
                try:
                    return connection, (
                        begin_snapshot(connection) if snapshot else connection.begin()
                    )
                except BaseException:
                    connection.close()
                    raise

        # The block's connection holds a permit from start to end, so the
        # calls of other tasks never leave a thread waiting on the pool.
        await threaded.hold()
        try:
            opening = asyncio.ensure_future(threaded.submit(open_block, permit=False))
            try:
                connection, block = await asyncio.shield(opening)
            except asyncio.CancelledError:
                # Cancelled while the block was being opened: close it when it is.
                def close_opened(task: asyncio.Future[tuple[Connection, Transaction]]) -> None:
                    if not task.cancelled() and task.exception() is None:
                        threaded.submit_nowait(lambda: _end_block(*task.result(), commit=False))

                opening.add_done_callback(close_opened)
                raise
            try:
                yield _ThreadedTransaction(threaded, connection)
            except BaseException:
                # Shielded: even when the task is cancelled (again), the
                # rollback runs to its end in its thread and the connection
                # goes back to the pool.
                rollback = threaded.submit(
                    lambda: _end_block(connection, block, commit=False), permit=False
                )
                await asyncio.shield(rollback)
                raise
            committing = threaded.submit(
                lambda: _end_block(connection, block, commit=True), permit=False
            )
            await asyncio.shield(committing)
        finally:
            threaded.unhold()

    async def health(self) -> Health:
        """Report the library's and the database's state. Never raises.

        Returns:
            A :class:`~synergia_core.schemas.Health` (see :meth:`Synergia.health`).
        """
        probed: tuple[str | None, float] | None = None
        failure: BaseException | None = None
        try:
            probed = await self._on_connection(probe, begin=False)
        except Exception as exc:  # health reports every failure instead of raising
            failure = exc
        report = health_report(self.sync_engine.dialect.name, self._started, probed, failure)
        if self._router is not None:
            replicas = await greenlet_spawn(self._router.health)
            report = report.model_copy(update={"replicas": replicas})
        return report

    async def close(self) -> None:
        """Release the connection pool (a host's own engine is left alone)."""
        if self._threaded is not None:
            self._threaded.shutdown()
            self._threaded.engine.dispose()
        elif self._owns_engine and self._async_engine is not None:
            await self._async_engine.dispose()
        for replica in self._replica_engines:
            await replica.dispose()

    async def __aenter__(self) -> AsyncSynergia:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        url = self.sync_engine.url.render_as_string(hide_password=True)
        return f"AsyncSynergia({url!r})"
