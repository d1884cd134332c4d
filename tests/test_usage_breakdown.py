"""Usage breakdowns by model, day, user and chat, against sums made by hand."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Literal

import pytest

from synergia_core import (
    ChatCreate,
    ChatUpdate,
    InvalidInputError,
    MessageCreate,
    MessageRead,
    ModelUpdate,
    ServiceConfig,
    Synergia,
    Usage,
    UsageRow,
)
from tests.conftest import FacadeFactory
from tests.helpers import make_model


class SteppingClock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def world(facade: FacadeFactory) -> tuple[Synergia, list[MessageRead]]:
    """Two users, three chats, two models, messages spread over three UTC days."""
    clock = SteppingClock(dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.timezone.utc))
    sy = facade(ServiceConfig(clock=clock))
    gpt = make_model(
        sy, input_price="2.5", output_price="10", cache_read_price_per_million=Decimal("1.25")
    )
    claude = make_model(sy, "claude", provider="anthropic", input_price="3", output_price="15")
    chats = [
        sy.chats.create(ChatCreate(user_id="alice", title="a1")),
        sy.chats.create(ChatCreate(user_id="alice", title="a2")),
        sy.chats.create(ChatCreate(user_id="bob", title="b1")),
    ]
    recorded: list[MessageRead] = []
    for step in range(30):
        clock.now += dt.timedelta(hours=2, minutes=7)
        chat = chats[step % 3]
        model = (gpt, claude)[step % 2]
        usage = Usage(
            input_tokens=1000 + 37 * step,
            output_tokens=50 + step,
            cache_read_tokens=(13 * step) % 400,
            reasoning_tokens=step % 7,
        )
        recorded.append(
            sy.messages.add(
                chat.id,
                MessageCreate(role="assistant", content="x", model_id=model.id, usage=usage),
                user_id=chat.user_id,
            )
        )
        recorded.append(
            sy.messages.add(
                chat.id, MessageCreate(role="user", content="more"), user_id=chat.user_id
            )
        )
    return sy, recorded


Table = dict[object, tuple[int, int, Decimal]]


def by_hand(messages: list[MessageRead], key_of: Callable[[MessageRead], object]) -> Table:
    counts: dict[object, int] = defaultdict(int)
    tokens: dict[object, int] = defaultdict(int)
    costs: dict[object, Decimal] = defaultdict(Decimal)
    for message in messages:
        key = key_of(message)
        counts[key] += 1
        tokens[key] += message.input_tokens
        costs[key] += message.cost
    return {key: (counts[key], tokens[key], costs[key]) for key in counts}


def as_table(rows: list[UsageRow]) -> Table:
    return {row.key: (row.message_count, row.input_tokens, row.cost) for row in rows}


def test_breakdown_by_each_key_matches_the_sums_by_hand(
    world: tuple[Synergia, list[MessageRead]],
) -> None:
    sy, recorded = world
    alice_chats = {c.id for c in sy.chats.list(user_id="alice").items}
    keys: dict[Literal["model", "day", "user", "chat"], Callable[[MessageRead], object]] = {
        "model": lambda m: m.model_id,
        "user": lambda m: "alice" if m.chat_id in alice_chats else "bob",
        "chat": lambda m: m.chat_id,
        "day": lambda m: m.created_at.date(),
    }
    for by, key_of in keys.items():
        rows = sy.usage.breakdown(by)
        assert as_table(rows) == by_hand(recorded, key_of), by
        present = [row.key for row in rows if row.key is not None]
        assert present == sorted(present, key=str), by  # ordered by key
        assert all(row.key is not None for row in rows[:-1]), by  # None last
    days = [row.key for row in sy.usage.breakdown("day")]
    assert days == [dt.date(2026, 3, d) for d in (2, 3, 4)]


def test_model_breakdown_keys_messages_without_a_model_as_none(
    world: tuple[Synergia, list[MessageRead]],
) -> None:
    sy, recorded = world
    rows = {row.key: row for row in sy.usage.breakdown("model")}
    assert rows[None].message_count == 30
    assert rows[None].cost == 0
    total = sum((row.cost for row in rows.values()), Decimal(0))
    assert total == sy.usage.totals().cost == sum((m.cost for m in recorded), Decimal(0))


def test_breakdown_filters(world: tuple[Synergia, list[MessageRead]]) -> None:
    sy, recorded = world
    since = dt.datetime(2026, 3, 3, tzinfo=dt.timezone.utc)
    until = dt.datetime(2026, 3, 4, 12, tzinfo=dt.timezone(dt.timedelta(hours=12)))  # 00:00 UTC
    window = [m for m in recorded if since <= m.created_at < until]
    rows = sy.usage.breakdown("day", since=since, until=until)
    assert [row.key for row in rows] == [dt.date(2026, 3, 3)]
    assert rows[0].message_count == len(window)
    assert rows[0].cost == sum((m.cost for m in window), Decimal(0))
    bob = sy.usage.breakdown("chat", user_id="bob")
    assert len(bob) == 1
    assert bob[0].cost == sy.usage.totals(user_id="bob").cost
    one_model = sy.usage.breakdown("user", model_id=recorded[0].model_id)
    assert {row.key for row in one_model} == {"alice", "bob"}
    assert (
        sum((r.cost for r in one_model), Decimal(0))
        == sy.usage.totals(model_id=recorded[0].model_id).cost
    )


def test_breakdown_of_nothing_is_empty(sy: Synergia) -> None:
    assert sy.usage.breakdown("model") == []


def test_unknown_key_is_refused(sy: Synergia) -> None:
    with pytest.raises(InvalidInputError, match="cannot break usage down by 'week'"):
        sy.usage.breakdown("week")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        sy.usage.breakdown("chat", chat_id=str(uuid.uuid4())[:-1])


def test_each_row_is_labelled_for_a_person(world: tuple[Synergia, list[MessageRead]]) -> None:
    sy, _ = world
    names: dict[object, str | None] = {m.id: m.name for m in sy.models.list()}
    names[None] = None
    assert {row.key: row.label for row in sy.usage.breakdown("model")} == names
    titles: dict[object, str | None] = {c.id: c.title for c in sy.chats.list(user_id="alice")}
    titles |= {c.id: c.title for c in sy.chats.list(user_id="bob")}
    assert {row.key: row.label for row in sy.usage.breakdown("chat")} == titles
    assert sorted(str(title) for title in titles.values()) == ["a1", "a2", "b1"]
    assert [row.label for row in sy.usage.breakdown("day")] == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]
    assert [row.label for row in sy.usage.breakdown("user")] == ["alice", "bob"]


def test_a_label_is_the_display_name_or_title_of_now(
    world: tuple[Synergia, list[MessageRead]],
) -> None:
    sy, _ = world
    gpt = sy.models.get_by_name("openai", "gpt-4o")
    sy.models.update(gpt.id, ModelUpdate(display_name="GPT-4o"))
    chat = next(iter(sy.chats.list(user_id="bob")))
    sy.chats.update(chat.id, ChatUpdate(title=None), user_id="bob")
    models = {row.key: row for row in sy.usage.breakdown("model")}
    assert models[gpt.id].label == "GPT-4o"
    assert {row.label for row in models.values()} == {"GPT-4o", "claude", None}
    chats = {row.key: row.label for row in sy.usage.breakdown("chat", user_id="bob")}
    assert chats == {chat.id: None}  # untitled
