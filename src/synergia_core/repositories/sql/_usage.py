"""SQL usage sums: computed by the database, exact on every backend."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from synergia_core.db import ensure_sqlite_functions
from synergia_core.repositories.protocols import UsageFilter
from synergia_core.repositories.sql._rows import chats, messages, models
from synergia_core.repositories.sql._types import exact_sum
from synergia_core.schemas import UsageRow, UsageTotals

__all__ = ["SqlUsageRepository"]

_TOKENS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cache_write_1h_tokens",
)
_SUMS = (
    sa.func.count().label("message_count"),
    *(sa.func.coalesce(sa.func.sum(messages.c[name]), 0).label(name) for name in _TOKENS),
    exact_sum(messages.c.cost).label("cost"),
)


def _conditions(where: UsageFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if where.user_id is not None:
        conditions.append(messages.c.user_id == where.user_id)
    if where.chat_id is not None:
        conditions.append(messages.c.chat_id == where.chat_id)
    if where.model_id is not None:
        conditions.append(messages.c.model_id == where.model_id)
    if where.since is not None:
        conditions.append(messages.c.created_at >= where.since)
    if where.until is not None:
        conditions.append(messages.c.created_at < where.until)
    return conditions


def _totals(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"message_count": int(row.message_count)}
    for name in _TOKENS:
        values[name] = int(row._mapping[name])
    values["cost"] = row.cost if row.cost is not None else Decimal(0)
    return values


def _label(by: str, key: Any, row: Any) -> str | None:
    """The name a person reads for a breakdown key."""
    if key is None:
        return None
    if by == "model":
        return row.display_name or row.name  # type: ignore[no-any-return]
    if by == "chat":
        return row.title  # type: ignore[no-any-return]
    return key.isoformat() if isinstance(key, dt.date) else str(key)


class SqlUsageRepository:
    """:class:`~synergia_core.repositories.protocols.UsageRepository` on SQLAlchemy Core.

    Sums run in the database (``SUM`` on PostgreSQL's exact ``NUMERIC``; the
    registered exact decimal aggregate on SQLite); no message row is loaded.

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def totals(self, where: UsageFilter) -> UsageTotals:
        """Counts and cost summed over the messages ``where`` selects."""
        ensure_sqlite_functions(self._connection)
        row = self._connection.execute(sa.select(*_SUMS).where(*_conditions(where))).one()
        return UsageTotals.model_construct(**_totals(row))

    def breakdown(
        self, by: Literal["model", "day", "user", "chat"], where: UsageFilter
    ) -> list[UsageRow]:
        """The same sums grouped by ``by``, ordered by key (``None`` last), each
        with its label. Models' and chats' names are joined onto the grouped
        rows, after the sums: a few rows, not every message."""
        ensure_sqlite_functions(self._connection)
        key = self._key(by)
        grouped = (
            sa.select(key.label("key"), *_SUMS)
            .where(*_conditions(where))
            .group_by(key)
            .subquery("grouped")
        )
        source: sa.FromClause = grouped
        names: tuple[sa.ColumnElement[Any], ...] = ()
        if by == "model":
            source = grouped.outerjoin(models, models.c.id == grouped.c.key)
            names = (models.c.display_name, models.c.name)
        elif by == "chat":
            source = grouped.outerjoin(chats, chats.c.id == grouped.c.key)
            names = (chats.c.title,)
        query = (
            sa.select(grouped, *names)
            .select_from(source)
            .order_by(grouped.c.key.asc().nulls_last())
        )
        rows = []
        for row in self._connection.execute(query):
            parsed = self._parse_key(by, row.key)
            rows.append(
                UsageRow.model_construct(key=parsed, label=_label(by, parsed, row), **_totals(row))
            )
        return rows

    def _key(self, by: str) -> sa.ColumnElement[Any]:
        if by == "model":
            return messages.c.model_id
        if by == "user":
            return messages.c.user_id
        if by == "chat":
            return messages.c.chat_id
        if self._connection.dialect.name == "postgresql":
            return sa.cast(sa.func.timezone("UTC", messages.c.created_at), sa.Date)
        # SQLite stores UTC times as 'YYYY-MM-DD HH:MM:SS.ffffff'.
        return sa.func.substr(sa.type_coerce(messages.c.created_at, sa.String), 1, 10)

    @staticmethod
    def _parse_key(by: str, value: Any) -> uuid.UUID | dt.date | str | None:
        if by == "day" and isinstance(value, str):
            return dt.date.fromisoformat(value)
        return value  # type: ignore[no-any-return]
