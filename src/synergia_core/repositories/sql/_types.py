"""Column types that behave the same on SQLite and PostgreSQL.

* :class:`Money`: exact :class:`~decimal.Decimal`. PostgreSQL ``NUMERIC``
  without precision (arbitrary, exact); SQLite ``TEXT`` holding the decimal's
  plain string, summed with the exact aggregate registered by
  :mod:`synergia_core.db` (SQLite's own ``SUM`` is floating point).
* :class:`UTCDateTime`: timezone-aware UTC datetimes with microseconds.
  PostgreSQL ``TIMESTAMP WITH TIME ZONE``; SQLite fixed-width text that sorts
  chronologically. Naive datetimes are refused rather than guessed at.
* :data:`JSONDocument`: ``JSONB`` on PostgreSQL, ``JSON`` text elsewhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

from synergia_core.db import DECIMAL_SUM

__all__ = ["JSONDocument", "Money", "UTCDateTime", "exact_sum", "plain_decimal"]


def plain_decimal(value: Decimal) -> str:
    """Format a decimal without exponent notation (``1E+2`` -> ``100``)."""
    return format(value, "f")


class Money(sa.types.TypeDecorator[Decimal]):
    """An exact decimal amount (see the module docstring)."""

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            value = Decimal(str(value))
        if dialect.name == "sqlite":
            return plain_decimal(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        return Decimal(value if isinstance(value, str) else str(value))

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # psycopg (and every PostgreSQL driver) returns NUMERIC as Decimal:
        # no per-value Python call is needed.
        if dialect.name == "postgresql":
            return self.impl_instance.result_processor(dialect, coltype)
        return super().result_processor(dialect, coltype)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime (see the module docstring)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: synergia-core stores timezone-aware UTC times")
        value = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # On PostgreSQL the driver returns aware datetimes; engines made by
        # synergia-core set the session time zone to UTC, so most values need
        # no conversion at all.
        if (
            dialect.name == "postgresql"
            and self.impl_instance.result_processor(dialect, coltype) is None
        ):
            return _to_utc
        return super().result_processor(dialect, coltype)

    @property
    def python_type(self) -> type[dt.datetime]:
        return dt.datetime


_UTC = dt.timezone.utc


def _to_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is _UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


JSONDocument: TypeEngine[Any] = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
"""A JSON document column; SQL ``NULL`` is written for Python ``None``."""

NullableJSONDocument: TypeEngine[Any] = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)


class exact_sum(FunctionElement[Decimal]):  # noqa: N801 - SQL function naming
    """``SUM`` of a :class:`Money` column that stays exact on every backend."""

    type = Money()
    inherit_cache = True
    name = "exact_sum"


@compiles(exact_sum)
def _exact_sum_default(element: exact_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(exact_sum, "sqlite")
def _exact_sum_sqlite(element: exact_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{DECIMAL_SUM}({compiler.process(element.clauses, **kw)})"
