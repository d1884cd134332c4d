"""``usage.frame``: a breakdown as a pandas or polars DataFrame, money exact."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
import polars as pl
import pytest

from synergia_core import (
    AsyncSynergia,
    ChatCreate,
    InvalidInputError,
    MessageCreate,
    ModelCreate,
    ServiceConfig,
    Synergia,
    Usage,
)
from tests.conftest import FacadeFactory

Library = Literal["pandas", "polars"]
Key = Literal["model", "day", "user", "chat"]
COLUMNS = [
    "label",
    "message_count",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cache_write_1h_tokens",
    "cost",
]
KEY_COLUMNS = {"model": "model_id", "day": "day", "user": "user_id", "chat": "chat_id"}


@pytest.fixture
def spent(facade: FacadeFactory) -> Synergia:
    """Two models (one with a display name and a price of ten decimal places),
    two users, messages over two UTC days."""
    clock_now = [dt.datetime(2026, 5, 1, 23, 30, tzinfo=dt.timezone.utc)]
    sy = facade(ServiceConfig(clock=lambda: clock_now[0]))
    odd = sy.models.create(
        ModelCreate(
            provider="openai",
            name="odd",
            display_name="Odd Prices",
            input_price_per_million=Decimal("1.2345678901"),
            output_price_per_million=Decimal("0.0000000003"),
        )
    )
    plain = sy.models.create(
        ModelCreate(
            provider="anthropic",
            name="plain",
            input_price_per_million=Decimal("3"),
            output_price_per_million=Decimal("15"),
        )
    )
    for step, (user, model) in enumerate([("ann", odd), ("ann", plain), ("ben", odd)] * 2):
        clock_now[0] += dt.timedelta(minutes=20)
        chat = sy.chats.create(ChatCreate(user_id=user, title=f"chat {step}"))
        sy.messages.add(chat.id, MessageCreate(role="user", content="q"), user_id=user)
        usage = Usage(input_tokens=3 + step, output_tokens=7 * step, reasoning_tokens=step)
        sy.messages.add(
            chat.id,
            MessageCreate(role="assistant", content="a", model_id=model.id, usage=usage),
            user_id=user,
        )
    return sy


def records(frame: Any) -> list[dict[str, Any]]:
    """The frame's rows as dicts of plain Python values, whichever library made it."""
    if isinstance(frame, pl.DataFrame):
        return frame.to_dicts()
    rows: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return rows


@pytest.mark.parametrize("library", ["pandas", "polars"])
@pytest.mark.parametrize("by", ["model", "day", "user", "chat"])
def test_a_frame_holds_the_breakdown_row_for_row(
    spent: Synergia, by: Key, library: Library
) -> None:
    frame = spent.usage.frame(by, library=library)
    rows = spent.usage.breakdown(by)
    assert list(frame.columns) == [KEY_COLUMNS[by], *COLUMNS]
    assert len(frame) == len(rows) > 1
    for got, row in zip(records(frame), rows, strict=True):
        key = got.pop(KEY_COLUMNS[by])
        if by == "day":
            key = key.date() if isinstance(key, dt.datetime) else key
            assert key == row.key
        else:
            assert key == (None if row.key is None else str(row.key))
        assert got == {name: getattr(row, name) for name in COLUMNS}
        assert isinstance(got["cost"], Decimal)


def test_polars_cost_is_a_decimal_column_rounding_nothing(spent: Synergia) -> None:
    frame = spent.usage.frame("model", library="polars")
    assert isinstance(frame.schema["cost"], pl.Decimal)
    assert frame.schema["model_id"] == pl.String
    costs = dict(zip(frame["label"].to_list(), frame["cost"].to_list(), strict=True))
    # 3 + 4 + 5... input tokens at 1.2345678901 per million: 16 decimal places
    exact = {row.label: row.cost for row in spent.usage.breakdown("model")}
    assert costs == exact
    assert exact["Odd Prices"].as_tuple().exponent == -16
    assert frame["cost"].sum() == spent.usage.totals().cost
    days = spent.usage.frame("day", library="polars")
    assert days.schema["day"] == pl.Date
    assert days["day"].to_list() == [dt.date(2026, 5, 1), dt.date(2026, 5, 2)]


def test_pandas_cost_is_an_object_column_of_decimals(spent: Synergia) -> None:
    frame = spent.usage.frame("user")
    assert frame["cost"].dtype == object
    assert frame["message_count"].dtype == "int64"
    assert frame["cost"].sum() == spent.usage.totals().cost  # exact: Decimal addition
    assert all(isinstance(value, Decimal) for value in frame["cost"])
    days = spent.usage.frame("day", library="pandas")
    assert pd.api.types.is_datetime64_any_dtype(days["day"])
    assert [d.date() for d in days["day"]] == [dt.date(2026, 5, 1), dt.date(2026, 5, 2)]
    by_label = days.set_index("label")["cost"].astype(float)  # the rounding way, for a chart
    assert by_label.index.tolist() == ["2026-05-01", "2026-05-02"]


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_filters_apply_and_an_empty_frame_keeps_its_columns(
    spent: Synergia, library: Library
) -> None:
    ann = spent.usage.frame("model", user_id="ann", library=library)
    assert records(ann)[-1]["label"] is None  # the user messages, without a model
    assert sum(r["cost"] for r in records(ann)) == spent.usage.totals(user_id="ann").cost
    empty = spent.usage.frame("chat", user_id="nobody", library=library)
    assert len(empty) == 0
    assert list(empty.columns) == ["chat_id", *COLUMNS]


def test_bad_arguments_are_refused(spent: Synergia) -> None:
    with pytest.raises(InvalidInputError, match="no DataFrame library 'arrow'") as caught:
        spent.usage.frame("day", library="arrow")  # type: ignore[call-overload]
    assert caught.value.field == "library"
    with pytest.raises(InvalidInputError, match="cannot break usage down by 'week'"):
        spent.usage.frame("week")  # type: ignore[call-overload]
    with pytest.raises(InvalidInputError):
        spent.usage.frame("day", since=dt.datetime(2026, 1, 1))  # naive


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_a_missing_library_names_the_extra(
    spent: Synergia, library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # what an uninstalled package looks like
    with pytest.raises(ImportError, match=r"pip install 'synergia-core\[frames\]'"):
        spent.usage.frame("day", library=library)


def test_async_synergia_awaits_a_frame_of_either_library(db_url: str) -> None:
    async def main() -> tuple[pd.DataFrame, pl.DataFrame, Decimal]:
        async with AsyncSynergia(db_url) as sy:
            model = await sy.models.upsert(
                ModelCreate(
                    provider="openai",
                    name="gpt-4o",
                    input_price_per_million=Decimal("2.50"),
                    output_price_per_million=Decimal("10"),
                )
            )
            chat = await sy.chats.create(ChatCreate(user_id="ann", title="Rome"))
            usage = Usage(input_tokens=12, output_tokens=420)
            await sy.messages.add(
                chat.id,
                MessageCreate(role="assistant", content="a", model_id=model.id, usage=usage),
                user_id="ann",
            )
            pandas_frame = await sy.usage.frame("chat")
            polars_frame = await sy.usage.frame("model", library="polars")
            with pytest.raises(InvalidInputError):
                await sy.usage.frame("chat", library="numpy")  # type: ignore[call-overload]
            return pandas_frame, polars_frame, (await sy.usage.totals()).cost

    pandas_frame, polars_frame, total = asyncio.run(main())
    assert pandas_frame["label"].tolist() == ["Rome"]
    assert pandas_frame["cost"].tolist() == [total] == [Decimal("0.00423")]
    assert polars_frame.select("label", "cost").rows() == [("gpt-4o", total)]
