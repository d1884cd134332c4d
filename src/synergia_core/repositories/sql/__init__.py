"""SQLAlchemy implementations of the repository protocols.

Each repository runs SQLAlchemy Core statements on one
:class:`~sqlalchemy.engine.Connection`, in the transaction that connection is
in; none of them commits. :class:`SqlRepositories` bundles them for one
unit of work.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from synergia_core.repositories.sql._budgets import SqlBudgetRepository
from synergia_core.repositories.sql._catalog import SqlModelRepository
from synergia_core.repositories.sql._chats import SqlChatRepository
from synergia_core.repositories.sql._messages import SqlMessageRepository
from synergia_core.repositories.sql._orm import metadata
from synergia_core.repositories.sql._search import SqlSearchRepository
from synergia_core.repositories.sql._transfer import SqlTransferRepository
from synergia_core.repositories.sql._usage import SqlUsageRepository

__all__ = [
    "SqlBudgetRepository",
    "SqlChatRepository",
    "SqlMessageRepository",
    "SqlModelRepository",
    "SqlRepositories",
    "SqlSearchRepository",
    "SqlTransferRepository",
    "SqlUsageRepository",
    "metadata",
]


class SqlRepositories:
    """The SQL repositories of one unit of work, made when first used.

    Args:
        bind: A connection, or a SQLAlchemy session (its connection is used,
            which begins the session's transaction if it has none).
    """

    def __init__(self, bind: Connection | Session) -> None:
        self._connection = bind.connection() if isinstance(bind, Session) else bind

    @cached_property
    def models(self) -> SqlModelRepository:
        """The model catalog."""
        return SqlModelRepository(self._connection)

    @cached_property
    def chats(self) -> SqlChatRepository:
        """Chats."""
        return SqlChatRepository(self._connection)

    @cached_property
    def messages(self) -> SqlMessageRepository:
        """Messages."""
        return SqlMessageRepository(self._connection)

    @cached_property
    def usage(self) -> SqlUsageRepository:
        """Usage sums."""
        return SqlUsageRepository(self._connection)

    @cached_property
    def budgets(self) -> SqlBudgetRepository:
        """Budgets and spend."""
        return SqlBudgetRepository(self._connection)

    @cached_property
    def transfer(self) -> SqlTransferRepository:
        """Whole rows, for export, import and erasure."""
        return SqlTransferRepository(self._connection)

    @cached_property
    def search(self) -> SqlSearchRepository:
        """Full-text search."""
        return SqlSearchRepository(self._connection)
