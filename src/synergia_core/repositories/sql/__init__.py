"""SQLAlchemy implementations of the repository protocols.

Each repository runs SQLAlchemy Core statements on one
:class:`~sqlalchemy.engine.Connection`, in the transaction that connection is
in; none of them commits. :class:`SqlRepositories` bundles the four for one
unit of work.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from synergia_core.repositories.sql._catalog import SqlModelRepository
from synergia_core.repositories.sql._chats import SqlChatRepository
from synergia_core.repositories.sql._messages import SqlMessageRepository
from synergia_core.repositories.sql._orm import metadata
from synergia_core.repositories.sql._usage import SqlUsageRepository

__all__ = [
    "SqlChatRepository",
    "SqlMessageRepository",
    "SqlModelRepository",
    "SqlRepositories",
    "SqlUsageRepository",
    "metadata",
]


class SqlRepositories:
    """The four SQL repositories of one unit of work.

    Args:
        bind: A connection, or a SQLAlchemy session (its connection is used,
            which begins the session's transaction if it has none).
    """

    def __init__(self, bind: Connection | Session) -> None:
        connection = bind.connection() if isinstance(bind, Session) else bind
        self._models = SqlModelRepository(connection)
        self._chats = SqlChatRepository(connection)
        self._messages = SqlMessageRepository(connection)
        self._usage = SqlUsageRepository(connection)

    @property
    def models(self) -> SqlModelRepository:
        """The model catalog."""
        return self._models

    @property
    def chats(self) -> SqlChatRepository:
        """Chats."""
        return self._chats

    @property
    def messages(self) -> SqlMessageRepository:
        """Messages."""
        return self._messages

    @property
    def usage(self) -> SqlUsageRepository:
        """Usage sums."""
        return self._usage
