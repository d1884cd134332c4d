"""BudgetService: spending limits per user and period."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from synergia_core.errors import InvalidInputError
from synergia_core.schemas import Budget, BudgetRule, BudgetStatus
from synergia_core.services._base import Service
from synergia_core.services._checks import check_user_id
from synergia_core.services._periods import TOTAL_START, period_bounds
from synergia_core.services._spending import rule_for

__all__ = ["BudgetService"]


class BudgetService(Service):
    """A spending limit (USD) per user and period.

    Periods are UTC: ``"day"``, ``"week"`` (ISO weeks, from Monday 00:00),
    ``"month"`` (calendar months) and ``"total"``. Once a user's spend in
    the current period has reached the limit, the calls that start new
    spending (``messages.add`` with a model, ``start``, ``edit``,
    ``regenerate``) raise :class:`~synergia_core.errors.BudgetExceededError`;
    a call accepted before that records its whole cost, even past the limit,
    and ``finish`` always records what was spent.
    ``ServiceConfig(default_budget=BudgetRule(...))`` gives every user without
    a budget of their own one.
    """

    def set(self, user_id: str, limit: Decimal | int | str, *, period: str) -> Budget:
        """Give the user a budget (replacing theirs, if any).

        Args:
            user_id: Whose budget.
            limit: The most the user may spend in a period, in USD (at most
                10 decimal places).
            period: ``"day"``, ``"week"``, ``"month"`` or ``"total"``.

        Raises:
            InvalidInputError: A limit that is not a non-negative amount, or
                an unknown period.
        """
        check_user_id(user_id)
        rule = _rule(limit, period)
        with self._scope(write=True, atomic=True, user_id=user_id) as repos:
            return repos.budgets.set(user_id, rule.limit, rule.period, self._config.now())

    def get(self, user_id: str) -> Budget | None:
        """The user's own budget (``None``: none; the default may still apply)."""
        check_user_id(user_id)
        with self._scope(write=False, user_id=user_id) as repos:
            return repos.budgets.get(user_id)

    def delete(self, user_id: str) -> None:
        """Remove the user's budget (nothing happens when there is none).
        What the user spent stays recorded."""
        check_user_id(user_id)
        with self._scope(write=True, atomic=True, user_id=user_id) as repos:
            repos.budgets.delete(user_id)

    def status(self, user_id: str) -> BudgetStatus:
        """What the user spent in the current period of their budget (or of
        the default one), and what remains.

        ``spent`` is what the usage reports show for the period, whether or
        not a budget existed when it was spent. Without a budget, ``limit``
        and ``remaining`` are ``None`` and ``spent`` is everything the user
        ever spent; for ``"total"`` the period bounds are ``None``.
        """
        check_user_id(user_id)
        now = self._config.now()
        with self._scope(write=False, user_id=user_id) as repos:
            rule = rule_for(repos, user_id, self._config)
            period = "total" if rule is None else rule.period
            start, end = period_bounds(period, now)
            spent = repos.budgets.spent(user_id, period, start, end)
        if rule is None:
            return BudgetStatus(
                limit=None, spent=spent, remaining=None, period_start=None, period_end=None
            )
        return BudgetStatus(
            limit=rule.limit,
            spent=spent,
            remaining=max(Decimal(0), rule.limit - spent),
            period_start=None if start == TOTAL_START else start,
            period_end=end,
        )


def _rule(limit: Any, period: Any) -> BudgetRule:
    if isinstance(limit, bool) or not isinstance(limit, (Decimal, int, str)):
        raise InvalidInputError("limit must be a Decimal (or an int or a string)", "limit")
    try:
        return BudgetRule(limit=limit, period=period)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error.get("loc") else "limit"
        raise InvalidInputError(f"invalid {field}: {error['msg']}", field=field) from None
