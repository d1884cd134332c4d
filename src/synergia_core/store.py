"""The :class:`Synergia` facade: one object a host shares per process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import IO, Any

from sqlalchemy.engine import URL, Engine

from synergia_core import _migration
from synergia_core._facade import (
    begin_snapshot,
    check_arguments,
    health_report,
    must_migrate,
    probe,
)
from synergia_core._replicas import (
    DEFAULT_MAX_REPLICA_LAG_S,
    REPLICA_CONNECT_TIMEOUT_S,
    ReplicaRouter,
    check_replica_arguments,
    recording_scope,
)
from synergia_core._translate import checked_out, translate_errors
from synergia_core.db import create_engine
from synergia_core.repositories.protocols import Repositories
from synergia_core.repositories.sql import SqlRepositories
from synergia_core.schemas import Health, TransferReport
from synergia_core.services import (
    BudgetService,
    ChatService,
    MessageService,
    ModelService,
    Scope,
    SearchService,
    ServiceConfig,
    UsageService,
    bind_scope,
)
from synergia_core.services._context import unit_of_work
from synergia_core.services.transfer import ImportFormat, TransferService
from synergia_core.services.users import UserService

__all__ = ["Synergia", "Transaction"]

logger = logging.getLogger(__name__)


class Transaction:
    """One unit of work: the services of a :meth:`Synergia.transaction` block.

    Every call made through ``tx.models``, ``tx.chats``, ``tx.messages`` and
    ``tx.usage`` runs in the block's single transaction, committed when the
    block ends and rolled back if it raises.
    """

    def __init__(self, scope: Scope, config: ServiceConfig) -> None:
        self.models = ModelService(scope, config)
        """The model catalog."""
        self.chats = ChatService(scope, config)
        """Chats."""
        self.messages = MessageService(scope, config)
        """Messages."""
        self.usage = UsageService(scope, config)
        """Usage reports."""
        self.budgets = BudgetService(scope, config)
        """Budgets."""
        self.users = UserService(scope, config)
        """Users as a whole (erasure)."""
        self.search = SearchService(scope, config)
        """Full-text search."""


class Synergia:
    """Chats, messages and the model catalog on one database.

    Construction does no I/O. The first call that touches the database checks
    that its schema is at the revision this package ships: if not, it raises
    :class:`~synergia_core.errors.SchemaOutOfDateError` naming both revisions
    and the command that fixes it, or migrates when ``auto_migrate=True``.

    A ``Synergia`` is thread-safe; share one per process and :meth:`close` it
    at shutdown (or use it as a context manager).

    Args:
        url: Database URL; ``None`` means ``$SYNERGIA_DATABASE_URL``, else
            ``sqlite:///synergia.db``. ``postgresql://`` uses psycopg 3.
        engine: An engine of the host's to use instead of a URL; it is not
            disposed of by :meth:`close`.
        auto_migrate: Upgrade the schema on first use instead of raising.
        echo: Log every SQL statement.
        config: Clock and limits shared by the services (the defaults when omitted).
        replicas: URLs of PostgreSQL streaming replicas of the database:
            reads go to them, writes and :meth:`transaction` blocks to the
            primary, and each user's reads see their own writes (see
            ``docs/scaling.md``). Empty: everything on the one database.
        max_replica_lag: Seconds a replica may lag behind before reads skip it.

    Attributes:
        models: The model catalog (:class:`~synergia_core.services.ModelService`).
        chats: Chats (:class:`~synergia_core.services.ChatService`).
        messages: Messages (:class:`~synergia_core.services.MessageService`).
        usage: Usage reports (:class:`~synergia_core.services.UsageService`).
        budgets: Spending limits (:class:`~synergia_core.services.BudgetService`).
        users: Users as a whole: ``purge`` (:class:`~synergia_core.services.UserService`).
        search: Full-text search (:class:`~synergia_core.services.SearchService`).

    Each call on these runs in a short transaction of its own; use
    :meth:`transaction` to group calls into one.

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
        engine: Engine | None = None,
        auto_migrate: bool = False,
        echo: bool = False,
        config: ServiceConfig | None = None,
        replicas: Sequence[str | URL] = (),
        max_replica_lag: float = DEFAULT_MAX_REPLICA_LAG_S,
    ) -> None:
        check_arguments(url, engine, Engine, {"auto_migrate": auto_migrate, "echo": echo}, config)
        self._owns_engine = engine is None
        self._engine = engine if engine is not None else create_engine(url, echo=echo)
        self._router: ReplicaRouter | None = None
        scope: Scope = self._call_scope
        if replicas or max_replica_lag != DEFAULT_MAX_REPLICA_LAG_S:
            check_replica_arguments(self._engine, replicas, max_replica_lag)
        if replicas:
            timeout = {"connect_timeout": REPLICA_CONNECT_TIMEOUT_S}
            self._router = ReplicaRouter(
                self._engine,
                [create_engine(item, echo=echo, connect_args=timeout) for item in replicas],
                max_lag_s=max_replica_lag,
            )
            scope = self._routed_scope
        self._auto_migrate = auto_migrate
        self._schema_ready = threading.Event()
        self._schema_lock = threading.Lock()
        self._started = time.monotonic()
        self._config = config if config is not None else ServiceConfig()
        self.models = ModelService(scope, self._config)
        self.chats = ChatService(scope, self._config)
        self.messages = MessageService(scope, self._config)
        self.usage = UsageService(scope, self._config)
        self.budgets = BudgetService(scope, self._config)
        self.users = UserService(scope, self._config)
        self.search = SearchService(scope, self._config)
        self._importer = TransferService(scope, self._config)
        # Exports read one snapshot, on the primary.
        self._exporter = TransferService(self._snapshot_scope, self._config)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine in use (shared with the host if it gave one)."""
        return self._engine

    # ------------------------------------------------------------------ schema

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` (the newest by default).

        Idempotent, and safe when several processes migrate at once.

        Raises:
            DatabaseUnavailableError: The database cannot be reached.
        """
        with translate_errors():
            _migration.migrate(self._engine, revision)
        self._schema_ready.clear()

    def ensure_schema(self) -> None:
        """Check (once) that the schema is at head; migrate if ``auto_migrate``.

        Called by every operation before it touches the database; call it at
        start-up to fail fast.

        Raises:
            SchemaOutOfDateError: The schema is behind or ahead of the package.
            DatabaseUnavailableError: The database cannot be reached.
        """
        if self._schema_ready.is_set():
            return
        with self._schema_lock:
            if self._schema_ready.is_set():
                return
            head = _migration.head_revision()
            with translate_errors():
                current = _migration.current_revision(self._engine)
                if must_migrate(current, head, self._auto_migrate):
                    _migration.migrate(self._engine)
            self._schema_ready.set()

    @contextmanager
    def _call_scope(
        self, *, write: bool, atomic: bool = False, user_id: str | None = None
    ) -> Iterator[Repositories]:
        # One call, one pooled connection, one unit of work: no transaction
        # at all for reads and single-statement writes (see unit_of_work).
        if not self._schema_ready.is_set():
            self.ensure_schema()
        with (
            translate_errors(),
            checked_out(self._engine) as connection,
            unit_of_work(connection, write=write, atomic=atomic) as repos,
        ):
            yield repos

    @contextmanager
    def _routed_scope(
        self, *, write: bool, atomic: bool = False, user_id: str | None = None
    ) -> Iterator[Repositories]:
        # With replicas: the router picks the server (see _replicas).
        if not self._schema_ready.is_set():
            self.ensure_schema()
        assert self._router is not None
        with self._router.scope(write=write, atomic=atomic, user_id=user_id) as repos:
            yield repos

    @contextmanager
    def _snapshot_scope(
        self, *, write: bool, atomic: bool = False, user_id: str | None = None
    ) -> Iterator[SqlRepositories]:
        # Exports read in one read-only snapshot: every page sees the same data.
        self.ensure_schema()
        with (
            translate_errors(),
            checked_out(self._engine) as connection,
            begin_snapshot(connection),
        ):
            yield SqlRepositories(connection)

    # ---------------------------------------------------------------- transfer

    def export_chats(
        self, fp: IO[Any], *, user_id: str, progress: Callable[[int], object] | None = None
    ) -> TransferReport:
        """Write a user's chats, every branch, usage, costs and the catalog
        entries they name to ``fp`` as ``synergia-chats`` JSON Lines, from one
        snapshot of the database; see
        :meth:`TransferService.export_chats <synergia_core.services.TransferService.export_chats>`
        and ``docs/export.md``.

        Raises:
            InvalidInputError: ``user_id`` is invalid or ``fp`` cannot be written to.
        """
        return self._exporter.export_chats(fp, user_id=user_id, progress=progress)

    def import_chats(
        self,
        fp: IO[Any],
        *,
        user_id: str | None = None,
        keep_ids: bool = True,
        format: ImportFormat = "synergia",
        progress: Callable[[int], object] | None = None,
    ) -> TransferReport:
        """Read an export (``format="synergia"``) or a ChatGPT
        ``conversations.json`` (``format="chatgpt"``, ``user_id`` required)
        into the database; see
        :meth:`TransferService.import_chats <synergia_core.services.TransferService.import_chats>`
        and ``docs/export.md``.

        Raises:
            CorruptImportError: The input is not valid ``format``.
            ImportConflictError: An id conflict with ``keep_ids=True``.
            InvalidInputError: An invalid argument.
        """
        return self._importer.import_chats(
            fp, user_id=user_id, keep_ids=keep_ids, format=format, progress=progress
        )

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Group calls into one unit of work.

        ::

            with sy.transaction() as tx:
                chat = tx.chats.create(ChatCreate(user_id="bob"))
                tx.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="bob")

        Commits when the block ends; rolls back, writing nothing, if it raises.
        With replicas, the block runs on the primary, and the users it wrote
        for read from the primary until a replica has replayed it.

        Raises:
            SchemaOutOfDateError: The schema is not at head.
            DatabaseUnavailableError: The database cannot be reached, or the
                commit failed.
        """
        self.ensure_schema()
        if self._router is None:
            with translate_errors(), checked_out(self._engine) as connection, connection.begin():
                yield Transaction(bind_scope(connection), self._config)
            return
        writers: set[str | None] = set()
        with translate_errors(), checked_out(self._engine) as connection:
            with connection.begin():
                yield Transaction(recording_scope(bind_scope(connection), writers), self._config)
            if writers:
                self._router.note_write(connection, writers)

    # ------------------------------------------------------------------ health

    def health(self) -> Health:
        """Report the library's and the database's state. Never raises.

        Returns:
            A :class:`~synergia_core.schemas.Health`: ``"healthy"`` when the
            database answers and its schema is at head, else ``"unhealthy"``
            with ``error`` saying why; ``replicas`` reports each replica and
            its lag (checked now).
        """
        probed: tuple[str | None, float] | None = None
        failure: BaseException | None = None
        try:
            with _migration.connect(self._engine, read_only=True) as connection:
                probed = probe(connection)
        except Exception as exc:  # health reports every failure instead of raising
            failure = exc
        report = health_report(self._engine.dialect.name, self._started, probed, failure)
        if self._router is not None:
            report = report.model_copy(update={"replicas": self._router.health()})
        return report

    # --------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Release the connection pool (a host's own engine is left alone)."""
        if self._owns_engine:
            self._engine.dispose()
        if self._router is not None:
            self._router.dispose()

    def __enter__(self) -> Synergia:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return f"Synergia({url!r})"
