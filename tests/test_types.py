"""Column types round-trip exactly on both backends."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from synergia_core.db import create_engine
from synergia_core.repositories.sql._types import (
    JSONDocument,
    Money,
    UTCDateTime,
    exact_sum,
)

metadata = sa.MetaData()
sample = sa.Table(
    "synergia_type_sample",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("amount", Money()),
    sa.Column("at", UTCDateTime()),
    sa.Column("doc", JSONDocument),
    sa.Column("ref", sa.Uuid()),
)


@pytest.fixture
def engine(fresh_url: str) -> Iterator[Engine]:
    engine = create_engine(fresh_url)
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


AMOUNTS = [
    Decimal("0"),
    Decimal("2.50"),
    Decimal("0.0000000001"),
    Decimal("0.0000000000000001"),
    Decimal("12345678901234567890.1234567890123456"),
    Decimal("100"),
]


def test_money_round_trips_exactly(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sample.insert(), [{"id": i, "amount": a} for i, a in enumerate(AMOUNTS)])
    with engine.connect() as connection:
        stored = connection.execute(sa.select(sample.c.amount).order_by(sample.c.id)).scalars()
        values = list(stored)
    assert values == AMOUNTS
    assert [str(v) for v in values] == [str(a) for a in AMOUNTS]
    assert all(isinstance(v, Decimal) for v in values)


def test_exact_sum_is_exact_where_floats_are_not(engine: Engine) -> None:
    tiny = Decimal("0.0000001234567891")
    rows = [{"id": i, "amount": tiny} for i in range(3000)]
    rows.append({"id": 3000, "amount": Decimal("1000000000000")})
    with engine.begin() as connection:
        connection.execute(sample.insert(), rows)
        total = connection.execute(sa.select(exact_sum(sample.c.amount))).scalar_one()
    assert total == tiny * 3000 + Decimal("1000000000000")
    assert float(tiny) * 3000 + 1e12 != total  # a float sum would have lost digits


def test_exact_sum_of_nothing_is_null(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.execute(sa.select(exact_sum(sample.c.amount))).scalar_one() is None


def test_utc_datetimes_round_trip_with_microseconds(engine: Engine) -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=plus_two)
    with engine.begin() as connection:
        connection.execute(sample.insert(), {"id": 1, "at": moment})
        stored = connection.execute(sa.select(sample.c.at)).scalar_one()
    assert stored == moment
    assert stored.tzinfo == dt.timezone.utc
    assert stored.microsecond == 999_999


def test_utc_datetimes_sort_chronologically(engine: Engine) -> None:
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    moments = [base + dt.timedelta(microseconds=n) for n in (10, 1, 100_000, 5)]
    with engine.begin() as connection:
        connection.execute(sample.insert(), [{"id": i, "at": m} for i, m in enumerate(moments)])
        ordered = connection.execute(sa.select(sample.c.at).order_by(sample.c.at)).scalars().all()
    assert ordered == sorted(moments)


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with engine.begin() as connection, pytest.raises(sa.exc.StatementError, match="naive"):
        connection.execute(sample.insert(), {"id": 1, "at": dt.datetime(2026, 1, 1)})


def test_json_and_uuid_round_trip(engine: Engine) -> None:
    doc = {"nested": {"list": [1, 2.5, "three", None, True]}, "emoji": "🚀", "rtl": "مرحبا"}
    ref = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(sample.insert(), {"id": 1, "doc": doc, "ref": ref})
        row = connection.execute(sa.select(sample.c.doc, sample.c.ref)).one()
    assert row.doc == doc
    assert row.ref == ref
