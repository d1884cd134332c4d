"""What every service is built from: a unit-of-work scope and its settings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from synergia_core._translate import translate_errors
from synergia_core.db import AUTOCOMMIT, READ_ONLY, SQLITE_CONFIGURED
from synergia_core.errors import InvalidInputError
from synergia_core.repositories.protocols import Repositories
from synergia_core.repositories.sql import SqlRepositories
from synergia_core.schemas import BudgetRule
from synergia_core.tokens import TokenCounter, default_token_counter

__all__ = [
    "DEFAULT_MAX_CONTENT_CHARS",
    "Scope",
    "ServiceConfig",
    "bind_scope",
    "connection_scope",
    "transaction_scope",
    "unit_of_work",
    "utc_now",
]

DEFAULT_MAX_CONTENT_CHARS = 1_000_000
"""Default upper bound of a message's size, in characters."""


_CONFIG_NAME = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}")


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC (the default clock)."""
    return dt.datetime.now(dt.timezone.utc)


@dataclass(frozen=True)
class ServiceConfig:
    """Settings shared by the services of one facade (or one host session).

    Attributes:
        clock: Returns the current time (timezone-aware); every stored time
            comes from it.
        max_content_chars: The longest message content (and streamed total)
            accepted; longer is :class:`~synergia_core.errors.InvalidInputError`.
            Every stored character of a message counts (content, tool calls,
            attachments, metadata), and of a chat's or a model's metadata.
        token_counter: Counts tokens when ``messages.context()`` trims a
            history to fit; by default an estimate, which counts exactly with
            tiktoken once its encoding is loaded (see
            :func:`~synergia_core.tokens.default_token_counter`).
        cursor_secret: A secret key (16 bytes or more) that makes pagination
            cursors unforgeable; ``None`` uses a key that ships in the package,
            which still detects altered cursors and cursors used with another
            user, chat or filter (see :mod:`synergia_core.services._cursor`).
            Give every process that serves one host the same secret.
        default_budget: A spending limit per period (a
            :class:`~synergia_core.BudgetRule`) for every user without a
            budget of their own (``sy.budgets.set``); ``None``: no limit.
        search_config: The PostgreSQL text search configuration that
            ``sy.search`` parses queries and builds snippets with. It must
            be the one the stored message vectors are built with:
            ``synergia_search``, which the migrations create (a copy of
            ``simple``, accent-insensitive when the ``unaccent`` extension
            is installed), unless the host rebuilt them (see
            ``docs/search.md``). Unused on SQLite.
        search_marks: The text put before and after each match in a search
            snippet (at most 32 characters each).
        search_snippet_words: About how many words a search snippet holds
            (3 to 64).

    Raises:
        InvalidInputError: A setting is of the wrong type or out of range.
    """

    clock: Callable[[], dt.datetime] = field(default=utc_now)
    max_content_chars: int = DEFAULT_MAX_CONTENT_CHARS
    token_counter: TokenCounter = field(default_factory=default_token_counter)
    cursor_secret: bytes | None = field(default=None, repr=False)
    default_budget: BudgetRule | None = None
    search_config: str = "synergia_search"
    search_marks: tuple[str, str] = ("[", "]")
    search_snippet_words: int = 16

    def __post_init__(self) -> None:
        self._check_search()
        if not callable(self.clock):
            raise InvalidInputError("clock must be callable", field="clock")
        if (
            isinstance(self.max_content_chars, bool)
            or not isinstance(self.max_content_chars, int)
            or self.max_content_chars < 1
        ):
            raise InvalidInputError(
                "max_content_chars must be an integer of at least 1", field="max_content_chars"
            )
        if not isinstance(self.token_counter, TokenCounter):
            raise InvalidInputError(
                "token_counter must have a count(text) method", field="token_counter"
            )
        if self.default_budget is not None and not isinstance(self.default_budget, BudgetRule):
            raise InvalidInputError(
                "default_budget must be a BudgetRule (or None)", field="default_budget"
            )
        if self.cursor_secret is not None and (
            not isinstance(self.cursor_secret, bytes) or len(self.cursor_secret) < 16
        ):
            raise InvalidInputError(
                "cursor_secret must be bytes, at least 16 of them", field="cursor_secret"
            )

    def _check_search(self) -> None:
        config = self.search_config
        if not isinstance(config, str) or not _CONFIG_NAME.fullmatch(config):
            raise InvalidInputError(
                "search_config must name a text search configuration (letters, digits, "
                "'_', an optional schema and a '.')",
                field="search_config",
            )
        marks = self.search_marks
        if (
            not isinstance(marks, tuple)
            or len(marks) != 2
            or not all(isinstance(mark, str) and len(mark) <= 32 for mark in marks)
            or any("\x00" in mark or not mark.isprintable() for mark in marks)
        ):
            raise InvalidInputError(
                "search_marks must be two printable strings of at most 32 characters",
                field="search_marks",
            )
        words = self.search_snippet_words
        if isinstance(words, bool) or not isinstance(words, int) or not 3 <= words <= 64:
            raise InvalidInputError(
                "search_snippet_words must be an integer from 3 to 64",
                field="search_snippet_words",
            )

    def now(self) -> dt.datetime:
        """The current time from :attr:`clock`, checked: timezone-aware.

        Raises:
            InvalidInputError: The host's clock returned something else.
        """
        moment = self.clock()
        if not isinstance(moment, dt.datetime) or moment.utcoffset() is None:
            raise InvalidInputError(
                f"the clock must return a timezone-aware datetime, not {moment!r:.60}",
                field="clock",
            )
        return moment


class Scope(Protocol):
    """Opens one unit of work and yields its repositories.

    ``write`` tells whether the work may write (SQLite takes the write lock
    at ``BEGIN`` only then); ``atomic`` that it writes with more than one
    statement, or relies on a lock held from one statement to the next, and
    so needs a transaction. Work that writes at most one statement may run
    without one: each statement is then atomic on its own, and the call
    costs one round trip instead of three. Whether the scope commits is its
    own business: the facade's scopes commit when the block ends, a host
    session's never do. ``user_id`` names the user the work is for (``None``
    for the model catalog and reports across users): a facade with read
    replicas routes by it, to keep each user's reads after their writes.
    """

    def __call__(
        self, *, write: bool, atomic: bool = False, user_id: str | None = None
    ) -> AbstractContextManager[Repositories]:
        """Open the unit of work."""
        ...


def bind_scope(bind: Connection | Session) -> Scope:
    """A scope running on a connection or session the caller owns (never commits)."""

    @contextmanager
    def scope(
        *, write: bool, atomic: bool = False, user_id: str | None = None
    ) -> Iterator[Repositories]:
        with translate_errors():
            yield SqlRepositories(bind)

    return scope


_PG_AUTOCOMMIT: dict[str, object] = {"isolation_level": "AUTOCOMMIT"}
_SQLITE_AUTOCOMMIT: dict[str, object] = {AUTOCOMMIT: True}


def _autocommit_options(connection: Connection) -> dict[str, object] | None:
    """The execution options that run each statement on its own, if the
    connection can: any PostgreSQL connection (the driver's autocommit),
    and the SQLite connections of engines configured by synergia-core
    (which already run the driver in autocommit mode and emit ``BEGIN``
    themselves). ``None`` for others, whose work then runs in a transaction."""
    name = connection.dialect.name
    if name == "postgresql":
        return _PG_AUTOCOMMIT
    if name == "sqlite" and connection.get_execution_options().get(SQLITE_CONFIGURED):
        return _SQLITE_AUTOCOMMIT
    return None


@contextmanager
def unit_of_work(connection: Connection, *, write: bool, atomic: bool) -> Iterator[Repositories]:
    """One unit of work on a connection the caller holds, committed at the end.

    Non-atomic work (reads, and writes of a single statement) runs in
    autocommit when the connection allows it: no ``BEGIN``/``COMMIT`` round
    trips. Atomic work runs in a transaction (``BEGIN IMMEDIATE`` on SQLite
    for writes) committed when the block ends and rolled back if it raises.
    """
    if not atomic:
        options = _autocommit_options(connection)
        if options is not None:
            connection.execution_options(**options)
            yield SqlRepositories(connection)
            return
    connection.execution_options(**{READ_ONLY: not write})
    with connection.begin():
        yield SqlRepositories(connection)


def connection_scope(connection: Connection) -> Scope:
    """A scope that runs each unit of work on ``connection`` as
    :func:`unit_of_work` does, translating driver errors."""

    @contextmanager
    def scope(
        *, write: bool, atomic: bool = False, user_id: str | None = None
    ) -> Iterator[Repositories]:
        with translate_errors(), unit_of_work(connection, write=write, atomic=atomic) as repos:
            yield repos

    return scope


transaction_scope = connection_scope
"""Former name of :func:`connection_scope`."""
