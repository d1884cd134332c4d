"""Budgets where costs are made: the check before new spending, and the
spend recorded with each cost (shared by the message services)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from synergia_core.errors import BudgetExceededError
from synergia_core.repositories.protocols import Repositories
from synergia_core.schemas import BudgetRule
from synergia_core.services._context import ServiceConfig
from synergia_core.services._periods import Period, period_bounds

__all__ = ["check_budget", "record_spend", "rule_for"]


def rule_for(repos: Repositories, user_id: str, config: ServiceConfig) -> BudgetRule | None:
    """The user's budget, else the configured default, else ``None``."""
    budget = repos.budgets.get(user_id)
    if budget is not None:
        return BudgetRule(limit=budget.limit, period=budget.period)
    return config.default_budget


def check_budget(
    repos: Repositories, user_id: str, config: ServiceConfig, now: dt.datetime
) -> BudgetRule | None:
    """Refuse new spending once the period's spend has reached the limit;
    the rule that applies (``None``: no budget).

    Raises:
        BudgetExceededError: The limit is reached.
    """
    rule = rule_for(repos, user_id, config)
    if rule is None:
        return None
    period: Period = rule.period
    start, end = period_bounds(period, now)
    spent = repos.budgets.spent(user_id, period, start, end)
    if spent >= rule.limit:
        raise BudgetExceededError(user_id, rule.limit, spent, end)
    return rule


def record_spend(
    repos: Repositories,
    user_id: str,
    rule: BudgetRule | None,
    cost: Decimal,
    created_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """Add a cost just stored (with a message created at ``created_at``) to
    the spend of the period it belongs to, when a budget applies."""
    if rule is None or not cost:
        return
    start, end = period_bounds(rule.period, created_at)
    repos.budgets.record(user_id, rule.period, start, end, cost, now)
