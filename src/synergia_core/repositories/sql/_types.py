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
import json
import uuid
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

__all__ = [
    "JSONDocument",
    "Money",
    "UTCDateTime",
    "UuidKey",
    "exact_sum",
    "plain_decimal",
    "uuid_from_hex",
]


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
        if value.is_zero() and value.is_signed():
            value = Decimal(0)  # -0 reads back as 0 on every backend
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
        # no per-value Python call is needed. SQLite's text goes straight to
        # Decimal, without TypeDecorator's layers of calls.
        if dialect.name == "postgresql":
            return self.impl_instance.result_processor(dialect, coltype)
        if dialect.name == "sqlite":
            return _decimal_or_none
        return super().result_processor(dialect, coltype)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


def _decimal_or_none(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(value if isinstance(value, str) else str(value))


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
        # On PostgreSQL the driver returns aware datetimes in the session's
        # time zone (whatever the server or the host configured: no startup
        # option is forced, so PGOPTIONS and PgBouncer work), moved to UTC.
        # On SQLite the stored text is parsed in one call (fromisoformat with
        # the UTC offset appended), not by SQLAlchemy's regular expression and
        # then a tzinfo replacement.
        if (
            dialect.name == "postgresql"
            and self.impl_instance.result_processor(dialect, coltype) is None
        ):
            return _to_utc
        if dialect.name == "sqlite":
            return _sqlite_utc
        return super().result_processor(dialect, coltype)

    @property
    def python_type(self) -> type[dt.datetime]:
        return dt.datetime


_UTC = dt.timezone.utc
_FROM_ISO = dt.datetime.fromisoformat


def _sqlite_utc(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return _FROM_ISO(value + "+00:00")  # stored as naive UTC text
    except ValueError:  # written by other code, with an offset of its own
        parsed = _FROM_ISO(value)
        return parsed.replace(tzinfo=_UTC) if parsed.tzinfo is None else parsed.astimezone(_UTC)


_new = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def uuid_from_hex(value: str | None) -> uuid.UUID | None:
    """``uuid.UUID(hex=value)`` at half the cost, for the 32 hex digits
    SQLAlchemy stores on SQLite (what ``UUID.__init__`` sets, set directly)."""
    if value is None:
        return None
    try:
        number = int(value, 16)
    except ValueError:
        return uuid.UUID(value)  # another spelling (dashes, braces)
    if len(value) != 32 or number < 0:
        return uuid.UUID(value)
    made: uuid.UUID = _new(uuid.UUID)
    _set(made, "int", number)
    _set(made, "is_safe", _UNKNOWN)
    return made


class UuidKey(sa.types.TypeDecorator[uuid.UUID]):
    """``sa.Uuid`` (native ``uuid`` on PostgreSQL, 32 hex digits elsewhere)
    whose SQLite values are turned into :class:`uuid.UUID` without the
    constructor's parsing: three of them per message row."""

    impl = sa.Uuid
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite":
            return uuid_from_hex
        return self.impl_instance.result_processor(dialect, coltype)

    @property
    def python_type(self) -> type[uuid.UUID]:
        return uuid.UUID


def _to_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is _UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=_UTC)
    return value.astimezone(_UTC)


_loads = json.loads


def _json_or_none(value: Any) -> Any:
    return None if value is None else _loads(value)


class _JSONText(sa.types.TypeDecorator[Any]):
    """SQLAlchemy's ``JSON``, with SQLite values decoded by one plain call
    (SQL ``NULL`` costs nothing; SQLAlchemy's SQLite processor wraps every
    value, ``NULL`` included, in two more)."""

    impl = sa.JSON
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name == "sqlite" and dialect._json_deserializer is None:
            return _json_or_none
        return self.impl_instance.result_processor(dialect, coltype)


JSONDocument: TypeEngine[Any] = _JSONText().with_variant(postgresql.JSONB(), "postgresql")
"""A JSON document column; SQL ``NULL`` is written for Python ``None``."""

NullableJSONDocument: TypeEngine[Any] = _JSONText(none_as_null=True).with_variant(
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
