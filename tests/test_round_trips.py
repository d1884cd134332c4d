"""One round trip for every call that is one statement (PostgreSQL).

Counted at the protocol level (libpq's trace of every connection the
facade's engine hands out: one ``ReadyForQuery`` per round trip), after a
warm-up that lets psycopg prepare the statements. No ``BEGIN``/``COMMIT``
around a single statement, and no reset when a connection goes back to the
pool. Multi-statement calls keep one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from synergia_core import (
    AsyncSynergia,
    ChatCreate,
    ChatUpdate,
    MessageCreate,
    ModelCreate,
    Synergia,
    Usage,
)
from tests.roundtrips import traced

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

WARM_UP = 8  # psycopg prepares a statement on its 6th execution


def _world(sy: Synergia) -> dict[str, Any]:
    model = sy.models.create(
        ModelCreate(
            provider="openai",
            name="gpt-4o",
            input_price_per_million=Decimal("2.5"),
            output_price_per_million=Decimal(10),
        )
    )
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=model.id))
    question = sy.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="alice")
    return {"model": model, "chat": chat, "question": question}


def _calls(sy: Synergia, w: dict[str, Any]) -> dict[str, tuple[int, Callable[[], object]]]:
    chat, model, question = w["chat"].id, w["model"].id, w["question"].id
    priced = MessageCreate(
        role="assistant", content="ok", model_id=model, usage=Usage(input_tokens=3, output_tokens=4)
    )
    return {
        # one statement, one round trip
        "messages.add": (
            1,
            lambda: sy.messages.add(chat, MessageCreate(role="user", content="x"), user_id="alice"),
        ),
        "messages.get": (1, lambda: sy.messages.get(question, user_id="alice")),
        "messages.list": (1, lambda: sy.messages.list(chat, user_id="alice", limit=50)),
        "messages.thread": (1, lambda: sy.messages.thread(chat, user_id="alice", limit=50)),
        "messages.siblings": (1, lambda: sy.messages.siblings(question, user_id="alice")),
        "chats.create": (1, lambda: sy.chats.create(ChatCreate(user_id="bob"))),
        "chats.get": (1, lambda: sy.chats.get(chat, user_id="alice")),
        "chats.list": (1, lambda: sy.chats.list(user_id="alice", limit=20)),
        "chats.update": (1, lambda: sy.chats.update(chat, ChatUpdate(title="t"), user_id="alice")),
        "models.get": (1, lambda: sy.models.get(model)),
        "models.list": (1, lambda: sy.models.list()),
        "usage.totals": (1, lambda: sy.usage.totals(user_id="alice")),
        "usage.breakdown": (1, lambda: sy.usage.breakdown("model", user_id="alice")),
        # two statements (the model's prices, then the append), still no BEGIN/COMMIT
        "messages.add(priced)": (2, lambda: sy.messages.add(chat, priced, user_id="alice")),
    }


def test_single_statement_calls_cost_one_round_trip(db_url: str) -> None:
    with Synergia(db_url) as sy:
        calls = _calls(sy, _world(sy))
        for name, (expected, call) in calls.items():
            for _ in range(WARM_UP):
                call()
            with traced(sy.engine) as trace:
                call()
            assert trace.round_trips == expected, (name, trace.queries)
            assert not any(q.strip('"').upper() in ("BEGIN", "COMMIT") for q in trace.queries)


def test_streaming_chunks_cost_one_round_trip(db_url: str) -> None:
    with Synergia(db_url) as sy:
        w = _world(sy)
        reply = sy.messages.start(w["chat"].id, user_id="alice")
        for _ in range(WARM_UP):
            sy.messages.append(reply.id, "x", user_id="alice")
        with traced(sy.engine) as trace:
            sy.messages.append(reply.id, "chunk", user_id="alice")
        assert trace.round_trips == 1


def test_priced_message_under_a_budget_costs_two_round_trips(db_url: str) -> None:
    """The budget check reads with the model's pricing; the cost joins the
    spend in the append's own statement."""
    with Synergia(db_url) as sy:
        w = _world(sy)
        sy.budgets.set("alice", limit=Decimal(1000), period="month")
        priced = MessageCreate(
            role="assistant",
            content="ok",
            model_id=w["model"].id,
            usage=Usage(input_tokens=3, output_tokens=4),
        )
        for _ in range(WARM_UP):
            sy.messages.add(w["chat"].id, priced, user_id="alice")
        with traced(sy.engine) as trace:
            sy.messages.add(w["chat"].id, priced, user_id="alice")
        assert trace.round_trips == 2, trace.queries
        assert not any(q.strip('"').upper() in ("BEGIN", "COMMIT") for q in trace.queries)
        spent = sy.budgets.status("alice").spent
        assert spent == (WARM_UP + 1) * Decimal("0.0000475")


def test_multi_statement_calls_keep_one_transaction(db_url: str) -> None:
    with Synergia(db_url) as sy:
        w = _world(sy)
        for _ in range(WARM_UP):
            sy.chats.purge(sy.chats.create(ChatCreate(user_id="bob")).id, user_id="bob")
        doomed = sy.chats.create(ChatCreate(user_id="bob"))
        with traced(sy.engine) as trace:
            sy.chats.purge(doomed.id, user_id="bob")
        queries = [q.strip('"').split()[0].upper() for q in trace.queries]
        assert queries[0] == "BEGIN"
        assert queries[-1] == "COMMIT"
        assert w["chat"].id != doomed.id


def test_async_single_statement_calls_cost_one_round_trip(db_url: str) -> None:
    async def main() -> None:
        async with AsyncSynergia(db_url) as sy:
            chat = await sy.chats.create(ChatCreate(user_id="alice"))
            message = MessageCreate(role="user", content="x")
            for _ in range(WARM_UP):
                await sy.messages.add(chat.id, message, user_id="alice")
                await sy.messages.list(chat.id, user_id="alice", limit=50)
            with traced(sy.sync_engine) as trace:
                await sy.messages.add(chat.id, message, user_id="alice")
            assert trace.round_trips == 1, trace.queries
            with traced(sy.sync_engine) as trace:
                await sy.messages.list(chat.id, user_id="alice", limit=50)
            assert trace.round_trips == 1, trace.queries

    asyncio.run(main())
