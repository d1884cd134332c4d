"""SQL storage of budgets and of what users spent per period.

A user's spend in a period is kept in its own row of ``synergia_spend``. The
row is created from the usage the period already shows (an exact sum of the
stored costs, the message just written included) the first time a cost of
that period is recorded, and after that each cost is added to it under its
row lock, in the transaction that records the cost: concurrent writers
queue on the lock and never lose a cent. On PostgreSQL that is one
``INSERT ... ON CONFLICT DO UPDATE`` (``NUMERIC`` is exact); on SQLite,
which stores money as decimal text and has one writer at a time, the row is
read and written back with Python's exact ``Decimal`` under the write lock.

Spend rows are only kept while the same budget applies: setting or removing
a budget forgets them (they are made again from the stored costs), so a
period's spend never misses a cost made while no budget recorded it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import namedtuple
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from synergia_core.db import ensure_sqlite_functions
from synergia_core.repositories.protocols import Guard
from synergia_core.repositories.sql._catalog import PRICING_COLUMNS, pricing_from_row
from synergia_core.repositories.sql._orm import Budget as BudgetTable
from synergia_core.repositories.sql._orm import Spend
from synergia_core.repositories.sql._prebuilt import fetch_first
from synergia_core.repositories.sql._rows import messages, models
from synergia_core.repositories.sql._statements import param, params
from synergia_core.repositories.sql._types import exact_sum
from synergia_core.schemas import Budget

__all__ = ["SqlBudgetRepository"]

budgets: sa.Table = BudgetTable.__table__  # type: ignore[assignment]
spend: sa.Table = Spend.__table__  # type: ignore[assignment]

_USER = param("user_id", budgets.c.user_id)
_KEY = sa.and_(
    spend.c.user_id == param("user_id", spend.c.user_id),
    spend.c.period == param("period", spend.c.period),
    spend.c.period_start == param("start", spend.c.period_start),
)
_BUDGET_COLUMNS = (
    budgets.c.user_id,
    budgets.c.spend_limit.label("limit"),
    budgets.c.period,
    budgets.c.created_at,
    budgets.c.updated_at,
)
_GET = sa.select(*_BUDGET_COLUMNS).where(budgets.c.user_id == _USER)
_DELETE = sa.delete(budgets).where(budgets.c.user_id == _USER)
_FORGET = sa.delete(spend).where(spend.c.user_id == param("user_id", spend.c.user_id))
_AMOUNT = sa.select(spend.c.amount).where(_KEY)
_AMOUNT_FOR_UPDATE = _AMOUNT.with_for_update()


def _spent_in(bounded: bool) -> Any:
    """The exact sum of a user's stored costs from ``p_start`` (to ``p_end``)."""
    conditions = [
        messages.c.user_id == param("user_id", messages.c.user_id),
        messages.c.created_at >= param("start", messages.c.created_at),
    ]
    if bounded:
        conditions.append(messages.c.created_at < param("end", messages.c.created_at))
    return sa.select(sa.func.coalesce(exact_sum(messages.c.cost), 0)).where(*conditions)


_SPENT_IN = {bounded: _spent_in(bounded) for bounded in (True, False)}


def _set() -> dict[str, Any]:
    values = {
        "user_id": _USER,
        "spend_limit": param("limit", budgets.c.spend_limit),
        "period": param("period", budgets.c.period),
        "created_at": param("now", budgets.c.created_at),
        "updated_at": param("now", budgets.c.updated_at),
    }
    out: dict[str, Any] = {}
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert)):
        statement = insert(budgets).values(values)
        out[name] = statement.on_conflict_do_update(
            index_elements=["user_id"],
            set_={
                "spend_limit": statement.excluded.spend_limit,
                "period": statement.excluded.period,
                "updated_at": statement.excluded.updated_at,
            },
        ).returning(*_BUDGET_COLUMNS)
    return out


def _record_postgresql(bounded: bool) -> Any:
    """One statement: the cost added to the period's row under its row
    lock; only when there is no row yet, the row created from the period's
    stored costs (or, if a concurrent writer created it meanwhile, the cost
    added to it). The sum over the period's messages runs once per period,
    not once per cost."""
    now = param("now", spend.c.updated_at)
    cost = param("cost", spend.c.amount)

    def typed(name: str, column: Any) -> Any:
        # A parameter in a SELECT list has no column to take its type from.
        return sa.cast(param(name, column), column.type)

    added = (
        sa.update(spend)
        .where(_KEY)
        .values(amount=spend.c.amount + cost, updated_at=now)
        .returning(spend.c.amount)
        .cte("synergia_spend_added")
    )
    statement = postgresql.insert(spend).from_select(
        ["user_id", "period", "period_start", "amount", "updated_at"],
        sa.select(
            typed("user_id", spend.c.user_id),
            typed("period", spend.c.period),
            typed("start", spend.c.period_start),
            sa.cast(_SPENT_IN[bounded].scalar_subquery(), spend.c.amount.type),
            typed("now", spend.c.updated_at),
        ).where(~sa.exists(sa.select(added.c.amount))),
    )
    return statement.on_conflict_do_update(
        index_elements=["user_id", "period", "period_start"],
        set_={"amount": spend.c.amount + cost, "updated_at": now},
    ).add_cte(added)


def _guard() -> Any:
    """One read: the model's pricing, the user's budget (else the default's
    limit and period) and the spend of its current period."""
    period = sa.func.coalesce(budgets.c.period, param("default_period", budgets.c.period))
    start = sa.case(
        *(
            (period == name, param(f"start_{name}", spend.c.period_start))
            for name in ("day", "week", "month")
        ),
        else_=param("start_total", spend.c.period_start),
    )
    spent = (
        sa.select(spend.c.amount)
        .where(
            spend.c.user_id == param("user_id", spend.c.user_id),
            spend.c.period == period,
            spend.c.period_start == start,
        )
        .scalar_subquery()
    )
    limit = sa.func.coalesce(budgets.c.spend_limit, param("default_limit", budgets.c.spend_limit))
    joined = models.outerjoin(budgets, budgets.c.user_id == param("user_id", budgets.c.user_id))
    return (
        sa.select(
            *PRICING_COLUMNS,
            limit.label("budget_limit"),
            period.label("budget_period"),
            spent.label("budget_spent"),
        )
        .select_from(joined)
        .where(models.c.id == param("model_id", models.c.id))
    )


_SET = _set()
_GUARD = _guard()
_RECORD_POSTGRESQL = {bounded: _record_postgresql(bounded) for bounded in (True, False)}
_INSERT_SPEND = sa.insert(spend)
_UPDATE_SPEND = (
    sa.update(spend)
    .where(_KEY)
    .values(amount=param("amount", spend.c.amount), updated_at=param("now", spend.c.updated_at))
    .returning(spend.c.amount)
)
_GuardRow = namedtuple(  # type: ignore[misc]  # the guard's columns by name
    "_GuardRow", [str(column.key) for column in _GUARD.selected_columns]
)


def _budget(row: Any) -> Budget:
    return Budget.model_validate(dict(row._mapping))


class SqlBudgetRepository:
    """Budgets and spend (see the module docstring).

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, user_id: str) -> Budget | None:
        """A user's budget."""
        row = self._connection.execute(_GET, params(user_id=user_id)).first()
        return None if row is None else _budget(row)

    def set(self, user_id: str, limit: Decimal, period: str, now: dt.datetime) -> Budget:
        """Create or replace a user's budget (see the protocol)."""
        self._connection.execute(_FORGET, params(user_id=user_id))
        statement = _SET.get(self._connection.dialect.name, _SET["sqlite"])
        bound = params(user_id=user_id, limit=limit, period=period, now=now)
        return _budget(self._connection.execute(statement, bound).one())

    def delete(self, user_id: str) -> bool:
        """Remove a user's budget and spend rows (see the protocol)."""
        self._connection.execute(_FORGET, params(user_id=user_id))
        return bool(self._connection.execute(_DELETE, params(user_id=user_id)).rowcount)

    def spent(
        self, user_id: str, period: str, start: dt.datetime, end: dt.datetime | None
    ) -> Decimal:
        """What a user spent in a period: the spend row, else the stored
        costs of the period."""
        bound = params(user_id=user_id, period=period, start=start, end=end)
        amount = self._connection.execute(_AMOUNT, bound).scalar()
        if amount is not None:
            return Decimal(amount)
        ensure_sqlite_functions(self._connection)
        total = self._connection.execute(_SPENT_IN[end is not None], bound).scalar()
        return Decimal(total or 0)

    def guard(
        self,
        model_id: uuid.UUID,
        user_id: str,
        starts: Mapping[str, dt.datetime],
        default: tuple[Decimal, str] | None,
    ) -> Guard:
        """Pricing, budget and spend in one statement (see the protocol)."""
        bound = params(
            model_id=model_id,
            user_id=user_id,
            default_limit=None if default is None else default[0],
            default_period=None if default is None else default[1],
            **{f"start_{name}": moment for name, moment in starts.items()},
        )
        found = fetch_first(self._connection, _GUARD, bound)
        if found is None:
            return Guard(pricing=None, limit=None, period=None, spent=None)
        row: Any = _GuardRow(*found)
        limit = row.budget_limit
        return Guard(
            pricing=pricing_from_row(row),
            limit=None if limit is None else Decimal(limit),
            period=row.budget_period if limit is not None else None,
            spent=None if row.budget_spent is None else Decimal(row.budget_spent),
        )

    def record(
        self,
        user_id: str,
        period: str,
        start: dt.datetime,
        end: dt.datetime | None,
        cost: Decimal,
        now: dt.datetime,
    ) -> None:
        """Add ``cost`` (already stored with its message in this transaction)
        to the user's spend of the period."""
        bound = params(user_id=user_id, period=period, start=start, end=end, cost=cost, now=now)
        ensure_sqlite_functions(self._connection)
        if self._connection.dialect.name == "postgresql":
            self._connection.execute(_RECORD_POSTGRESQL[end is not None], bound)
            return
        found = fetch_first(self._connection, _AMOUNT_FOR_UPDATE, bound)
        if found is None:
            total = self._connection.execute(_SPENT_IN[end is not None], bound).scalar()
            self._connection.execute(
                _INSERT_SPEND,
                {
                    "user_id": user_id,
                    "period": period,
                    "period_start": start,
                    "amount": Decimal(total or 0),
                    "updated_at": now,
                },
            )
            return
        amount = Decimal(found[0]) + cost
        fetch_first(self._connection, _UPDATE_SPEND, {**bound, **params(amount=amount)})
