"""Budgets where costs are made: the check before new spending, and the
spend recorded with each cost (shared by the message services).

A budget is checked when spending starts (a message with a model is added,
a reply starts, a message is edited or regenerated) and every cost is
recorded, even one that takes the spend past the limit: the limit stops new
spending, it never loses track of what was spent. The check and the record
are separate statements, so writers racing past the check together can each
add one message's cost beyond the limit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from synergia_core.errors import BudgetExceededError
from synergia_core.repositories.protocols import ModelPricing, Repositories, SpendChange
from synergia_core.schemas import BudgetRule
from synergia_core.services._base import check_usable
from synergia_core.services._context import ServiceConfig
from synergia_core.services._periods import PERIODS, period_bounds

__all__ = ["check_budget", "guard_model", "record_spend", "rule_for", "spend_change"]


def rule_for(repos: Repositories, user_id: str, config: ServiceConfig) -> BudgetRule | None:
    """The user's budget, else the configured default, else ``None``."""
    budget = repos.budgets.get(user_id)
    if budget is not None:
        return BudgetRule(limit=budget.limit, period=budget.period)
    return config.default_budget


def _refuse_past_limit(
    repos: Repositories,
    user_id: str,
    rule: BudgetRule,
    now: dt.datetime,
    spent: Decimal | None = None,
) -> None:
    start, end = period_bounds(rule.period, now)
    if spent is None:
        spent = repos.budgets.spent(user_id, rule.period, start, end)
    if spent >= rule.limit:
        raise BudgetExceededError(user_id, rule.limit, spent, end)


def check_budget(
    repos: Repositories, user_id: str, config: ServiceConfig, now: dt.datetime
) -> BudgetRule | None:
    """Refuse new spending once the period's spend has reached the limit;
    the rule that applies (``None``: no budget).

    Raises:
        BudgetExceededError: The limit is reached.
    """
    rule = rule_for(repos, user_id, config)
    if rule is not None:
        _refuse_past_limit(repos, user_id, rule, now)
    return rule


def guard_model(
    repos: Repositories,
    model_id: uuid.UUID,
    user_id: str,
    config: ServiceConfig,
    now: dt.datetime,
) -> tuple[ModelPricing, BudgetRule | None]:
    """The pricing of a usable model and the budget rule that applies, read
    together (one statement while the period has a spend row), refusing
    new spending past the limit.

    Raises:
        ModelNotFound: No model has this id.
        ModelUnavailableError: The model is deleted or disabled.
        BudgetExceededError: The limit is reached.
    """
    starts: dict[str, dt.datetime] = {period: period_bounds(period, now)[0] for period in PERIODS}
    default = config.default_budget
    guard = repos.budgets.guard(
        model_id,
        user_id,
        starts,
        None if default is None else (default.limit, default.period),
    )
    pricing = check_usable(guard.pricing, model_id)
    if guard.limit is None or guard.period is None:
        return pricing, None
    rule = BudgetRule.model_validate({"limit": guard.limit, "period": guard.period})
    _refuse_past_limit(repos, user_id, rule, now, guard.spent)
    return pricing, rule


def spend_change(
    user_id: str,
    rule: BudgetRule | None,
    cost: Decimal,
    created_at: dt.datetime,
    now: dt.datetime,
) -> SpendChange | None:
    """The spend to record for a cost of a message created at
    ``created_at`` (``None``: no budget applies, or nothing was spent)."""
    if rule is None or not cost:
        return None
    start, end = period_bounds(rule.period, created_at)
    return SpendChange(user_id, rule.period, start, end, cost, now)


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
    change = spend_change(user_id, rule, cost, created_at, now)
    if change is not None:
        repos.budgets.record(
            change.user_id, change.period, change.start, change.end, change.cost, change.now
        )
