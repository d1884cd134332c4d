"""The :class:`AsyncSynergia` facade: :class:`~synergia_core.Synergia`, awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TypeVar

from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from synergia_core import _migration
from synergia_core._facade import health_report, must_migrate, probe
from synergia_core._translate import translate_errors
from synergia_core.db import READ_ONLY, create_async_engine
from synergia_core.schemas import Health
from synergia_core.services._async import (
    AsyncChatService,
    AsyncMessageService,
    AsyncModelService,
    AsyncUsageService,
    Runner,
    bind_runner,
)
from synergia_core.services._context import (
    Scope,
    ServiceConfig,
    transaction_scope,
)

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


class _PerCall:
    """Runner of the facade: a pooled connection and a transaction per call."""

    def __init__(self, owner: AsyncSynergia) -> None:
        self._owner = owner

    async def __call__(self, work: Callable[[Scope], T]) -> T:
        await self._owner.ensure_schema()
        with translate_errors():
            async with self._owner.engine.connect() as connection:

                def run(sync_connection: Connection) -> T:
                    return work(transaction_scope(sync_connection))

                return await connection.run_sync(run)


class AsyncSynergia:
    """Chats, messages and the model catalog on one database, for asyncio hosts.

    The same surface as :class:`~synergia_core.Synergia`, awaited:
    ``await sy.models.create(...)``, ``async with sy.transaction() as tx``,
    ``await sy.migrate()``, ``await sy.health()``, ``await sy.close()``.
    Business rules are the sync services', run through SQLAlchemy's
    ``run_sync`` on the asyncio drivers (psycopg 3 async, aiosqlite), so the
    event loop never waits on the database.

    Args:
        url: Database URL; ``None`` means ``$SYNERGIA_DATABASE_URL``, else
            ``sqlite:///synergia.db``. The asyncio driver is picked from it
            (``sqlite://`` uses aiosqlite, ``postgresql://`` psycopg).
        engine: An :class:`~sqlalchemy.ext.asyncio.AsyncEngine` of the host's
            to use instead; :meth:`close` leaves it alone.
        auto_migrate: Upgrade the schema on first use instead of raising.
        echo: Log every SQL statement.
        config: Clock and limits shared by the services.

    Raises:
        ValueError: Both ``url`` and ``engine`` were given.
        InvalidInputError: The URL cannot be parsed or names an unknown database.
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
    ) -> None:
        if url is not None and engine is not None:
            raise ValueError("give a url or an engine, not both")
        self._owns_engine = engine is None
        self._engine = engine if engine is not None else create_async_engine(url, echo=echo)
        self._auto_migrate = auto_migrate
        self._schema_ready = asyncio.Event()
        self._schema_lock = asyncio.Lock()
        self._started = time.monotonic()
        self._config = config if config is not None else ServiceConfig()
        runner = _PerCall(self)
        self.models = AsyncModelService(runner, self._config)
        """The model catalog (each call its own transaction)."""
        self.chats = AsyncChatService(runner, self._config)
        """Chats (each call its own transaction)."""
        self.messages = AsyncMessageService(runner, self._config)
        """Messages (each call its own transaction)."""
        self.usage = AsyncUsageService(runner, self._config)
        """Usage reports (each call its own transaction)."""

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy async engine in use."""
        return self._engine

    async def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` (the newest by default).

        Idempotent, and safe when several processes migrate at once.

        Raises:
            DatabaseUnavailableError: The database cannot be reached.
        """
        with translate_errors():
            async with self._engine.connect() as connection, connection.begin():
                await connection.run_sync(_migration.migrate, revision)
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
            with translate_errors():
                async with self._engine.connect() as connection:
                    await connection.execution_options(**{READ_ONLY: True})
                    current = await connection.run_sync(_migration.current_on)
                    await connection.rollback()
                if must_migrate(current, head, self._auto_migrate):
                    async with self._engine.connect() as connection, connection.begin():
                        await connection.run_sync(_migration.migrate)
            self._schema_ready.set()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncTransaction]:
        """Group awaited calls into one unit of work.

        ::

            async with sy.transaction() as tx:
                chat = await tx.chats.create(ChatCreate(user_id="bob"))
                await tx.messages.add(chat.id, MessageCreate(role="user", content="hi"),
                                      user_id="bob")

        Commits when the block ends; rolls back, writing nothing, if it raises.

        Raises:
            SchemaOutOfDateError: The schema is not at head.
            DatabaseUnavailableError: The database cannot be reached, or the
                commit failed.
        """
        await self.ensure_schema()
        with translate_errors():
            async with self._engine.connect() as connection, connection.begin():
                yield AsyncTransaction(bind_runner(connection), self._config)

    async def health(self) -> Health:
        """Report the library's and the database's state. Never raises.

        Returns:
            A :class:`~synergia_core.schemas.Health` (see :meth:`Synergia.health`).
        """
        probed: tuple[str | None, float] | None = None
        failure: BaseException | None = None
        try:
            async with self._engine.connect() as connection:
                await connection.execution_options(**{READ_ONLY: True})
                probed = await connection.run_sync(probe)
                await connection.rollback()
        except Exception as exc:  # health reports every failure instead of raising
            failure = exc
        return health_report(self._engine.dialect.name, self._started, probed, failure)

    async def close(self) -> None:
        """Release the connection pool (a host's own engine is left alone)."""
        if self._owns_engine:
            await self._engine.dispose()

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
        url = self._engine.url.render_as_string(hide_password=True)
        return f"AsyncSynergia({url!r})"
