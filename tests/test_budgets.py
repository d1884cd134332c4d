"""Budgets: a spending limit per user and period, exact under concurrency
(every backend; sync and async where a facade is used)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest

from synergia_core import (
    BudgetExceededError,
    BudgetRule,
    ChatCreate,
    InvalidInputError,
    MessageCreate,
    ServiceConfig,
    Synergia,
    Usage,
)
from synergia_core.services._periods import period_bounds
from tests.conftest import FacadeFactory
from tests.helpers import make_model

ALICE = "alice"
UTC = dt.timezone.utc
# gpt-4o at 2.50 / 10: 400 in + 100 out = 0.002 USD a reply
REPLY = Usage(input_tokens=400, output_tokens=100)
REPLY_COST = Decimal("0.002")


def reply(sy: Synergia, chat_id: uuid.UUID, model_id: uuid.UUID, user: str = ALICE) -> Decimal:
    message = sy.messages.add(
        chat_id,
        MessageCreate(role="assistant", content="a", model_id=model_id, usage=REPLY),
        user_id=user,
    )
    return message.cost


def test_set_get_delete_and_status(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id))
    reply(sy, chat.id, model.id)  # spent before any budget existed
    assert sy.budgets.get(ALICE) is None
    unbudgeted = sy.budgets.status(ALICE)
    assert (unbudgeted.limit, unbudgeted.spent, unbudgeted.remaining) == (None, REPLY_COST, None)
    budget = sy.budgets.set(ALICE, Decimal("0.01"), period="day")
    assert (budget.user_id, budget.limit, budget.period) == (ALICE, Decimal("0.01"), "day")
    assert sy.budgets.get(ALICE) == budget
    status = sy.budgets.status(ALICE)
    start, end = period_bounds("day", dt.datetime.now(UTC))
    assert (status.limit, status.spent, status.remaining) == (
        Decimal("0.01"),
        REPLY_COST,  # what the usage reports show for the period
        Decimal("0.008"),
    )
    assert (status.period_start, status.period_end) == (start, end)
    sy.budgets.set(ALICE, "0.001", period="total")
    total = sy.budgets.status(ALICE)
    assert (total.remaining, total.period_start, total.period_end) == (Decimal(0), None, None)
    sy.budgets.delete(ALICE)
    sy.budgets.delete(ALICE)  # nothing to do
    assert sy.budgets.get(ALICE) is None
    for bad in ({"limit": Decimal(-1)}, {"limit": "lots"}, {"period": "year"}, {"limit": 1.5}):
        arguments: dict[str, Any] = {"limit": Decimal(1), "period": "day", **bad}
        with pytest.raises(InvalidInputError):
            sy.budgets.set(ALICE, arguments.pop("limit"), **arguments)


def test_spend_made_while_no_budget_applied_still_counts(sy: Synergia) -> None:
    """A budget removed and set again sees what the usage reports show,
    costs made in between included."""
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id))
    sy.budgets.set(ALICE, Decimal(1), period="month")
    reply(sy, chat.id, model.id)  # recorded in the spend row
    sy.budgets.delete(ALICE)
    reply(sy, chat.id, model.id)  # no budget: nothing recorded
    assert sy.budgets.status(ALICE).spent == 2 * REPLY_COST
    sy.budgets.set(ALICE, Decimal(1), period="month")
    assert sy.budgets.status(ALICE).spent == 2 * REPLY_COST
    reply(sy, chat.id, model.id)
    status = sy.budgets.status(ALICE)
    assert status.spent == 3 * REPLY_COST == sy.usage.totals(user_id=ALICE).cost


def test_spending_stops_at_the_limit_and_what_was_accepted_is_recorded(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id))
    sy.budgets.set(ALICE, Decimal("0.005"), period="month")
    reply(sy, chat.id, model.id)
    reply(sy, chat.id, model.id)
    streaming = sy.messages.start(chat.id, user_id=ALICE)  # accepted at 0.004 spent
    reply(sy, chat.id, model.id)  # 0.006: past the limit, recorded whole
    with pytest.raises(BudgetExceededError) as caught:
        reply(sy, chat.id, model.id)
    error = caught.value
    assert (error.user_id, error.limit, error.spent) == (ALICE, Decimal("0.005"), Decimal("0.006"))
    assert error.period_end == period_bounds("month", dt.datetime.now(UTC))[1]
    with pytest.raises(BudgetExceededError):
        sy.messages.start(chat.id, user_id=ALICE)
    with pytest.raises(BudgetExceededError):
        sy.messages.regenerate(streaming.id, user_id=ALICE)
    question = sy.messages.add(chat.id, MessageCreate(role="user", content="q"), user_id=ALICE)
    with pytest.raises(BudgetExceededError):
        sy.messages.edit(question.id, "q?", user_id=ALICE)
    # finish always records what was spent
    sy.messages.finish(streaming.id, user_id=ALICE, usage=REPLY)
    assert sy.budgets.status(ALICE).spent == Decimal("0.008")
    assert sy.usage.totals(user_id=ALICE).cost == Decimal("0.008")
    # another user is not limited
    bob_chat = sy.chats.create(ChatCreate(user_id="bob", model_id=model.id))
    reply(sy, bob_chat.id, model.id, user="bob")


def test_the_default_budget_applies_to_users_without_their_own(facade: FacadeFactory) -> None:
    sy = facade(ServiceConfig(default_budget=BudgetRule(limit=Decimal("0.002"), period="week")))
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id))
    reply(sy, chat.id, model.id)
    with pytest.raises(BudgetExceededError):
        reply(sy, chat.id, model.id)
    status = sy.budgets.status(ALICE)
    assert (status.limit, status.spent, status.remaining) == (
        Decimal("0.002"),
        REPLY_COST,
        Decimal(0),
    )
    assert status.period_start is not None
    assert status.period_start.weekday() == 0  # ISO weeks start on Monday
    sy.budgets.set(ALICE, Decimal(1), period="week")  # their own wins
    reply(sy, chat.id, model.id)


def test_periods_roll_over(facade: FacadeFactory) -> None:
    now = [dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)]
    sy = facade(ServiceConfig(clock=lambda: now[0]))
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id))
    sy.budgets.set(ALICE, Decimal("0.002"), period="day")
    reply(sy, chat.id, model.id)
    with pytest.raises(BudgetExceededError):
        reply(sy, chat.id, model.id)
    now[0] = dt.datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC)  # a new day
    assert sy.budgets.status(ALICE).spent == 0
    reply(sy, chat.id, model.id)
    assert sy.budgets.status(ALICE).spent == REPLY_COST


def test_messages_without_a_model_are_never_limited(sy: Synergia) -> None:
    sy.budgets.set(ALICE, Decimal(0), period="total")
    chat = sy.chats.create(ChatCreate(user_id=ALICE))
    sy.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id=ALICE)


# ------------------------------------------------------------------ concurrency

WRITERS = 4
EACH = 15


def _spend_in_threads(sy: Synergia, model_id: uuid.UUID, chats: list[uuid.UUID]) -> int:
    refused = [0]
    lock = threading.Lock()

    def writer(n: int) -> None:
        for i in range(EACH):
            try:
                reply(sy, chats[(n + i) % len(chats)], model_id)
            except BudgetExceededError:
                with lock:
                    refused[0] += 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return refused[0]


def _spend_in_a_process(url: str, model_id: str, chats: list[str], queue: Any) -> None:
    with Synergia(url) as sy:
        refused = 0
        for i in range(EACH):
            try:
                reply(sy, uuid.UUID(chats[i % len(chats)]), uuid.UUID(model_id))
            except BudgetExceededError:
                refused += 1
        queue.put(refused)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["threads", "processes"])
def test_concurrent_spending_loses_no_cent_and_stops_at_the_limit(db_url: str, how: str) -> None:
    limit = REPLY_COST * 20  # 60 replies are tried, about 20 accepted
    with Synergia(db_url) as sy:
        model = make_model(sy)
        chats = [sy.chats.create(ChatCreate(user_id=ALICE)).id for _ in range(6)]
        sy.budgets.set(ALICE, limit, period="day")
        if how == "threads":
            _spend_in_threads(sy, model.id, chats)
        else:
            context = multiprocessing.get_context("spawn")
            queue = context.Queue()
            processes = [
                context.Process(
                    target=_spend_in_a_process,
                    args=(db_url, str(model.id), [str(c) for c in chats], queue),
                )
                for _ in range(WRITERS)
            ]
            for process in processes:
                process.start()
            for process in processes:
                process.join(120)
                assert process.exitcode == 0
        stored = sy.usage.totals(user_id=ALICE)
        status = sy.budgets.status(ALICE)
        # the recorded spend is the exact sum of the stored costs
        assert status.spent == stored.cost == REPLY_COST * stored.message_count
        # the limit was reached, and overspend is bounded by what was in flight
        assert limit <= status.spent <= limit + REPLY_COST * WRITERS
        # once the committed spend reached the limit, nothing more is accepted
        with pytest.raises(BudgetExceededError):
            sy.messages.start(chats[0], user_id=ALICE, model_id=model.id)


def test_spend_row_is_made_once_per_period_then_added_to(db_url: str) -> None:
    """The period's stored costs are summed when its spend row is made;
    later costs are added to the row. (That the sum no longer runs on every
    append, which made appends slow down with the user's history, is shown
    by `make bench`'s "W1 priced append under a budget".)"""
    with Synergia(db_url) as sy:
        _made_once_then_added_to(sy)


def _made_once_then_added_to(sy: Synergia) -> None:
    model = make_model(sy)
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id))
    sy.budgets.set(ALICE, Decimal(1), period="month")
    reply(sy, chat.id, model.id)  # makes the month's row from the stored costs
    marker = Decimal("0.5")
    with sy.engine.begin() as connection:
        changed = connection.exec_driver_sql(
            "UPDATE synergia_spend SET amount = ? WHERE user_id = ?"
            if connection.dialect.name == "sqlite"
            else "UPDATE synergia_spend SET amount = %s WHERE user_id = %s",
            (str(marker) if connection.dialect.name == "sqlite" else marker, ALICE),
        ).rowcount
    assert changed == 1
    reply(sy, chat.id, model.id)  # added to the row, no new sum
    with sy.engine.connect() as connection:
        amount = connection.exec_driver_sql("SELECT amount FROM synergia_spend").scalar_one()
    assert Decimal(amount) == marker + REPLY_COST
