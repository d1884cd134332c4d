"""Checks at the public boundary: every argument a caller passes is checked
here before anything reaches a database.

A wrong-typed argument, or a value that is well-formed but breaks a rule, is
:class:`~synergia_core.errors.InvalidInputError` naming the parameter
(``.field``). A ``dict`` given where a schema is expected is validated into
the schema, so an invalid one raises pydantic's ``ValidationError``, as
building the schema would.

Schema instances are trusted only as far as an ``isinstance`` check on each
field goes: the checks below are cheap (no re-validation), yet they stop an
instance built with ``model_construct`` (or changed after validation) with
values the database would refuse, which would otherwise surface as a raw
driver error and, on PostgreSQL, abort the surrounding transaction.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

from synergia_core.errors import InvalidInputError
from synergia_core.schemas import (
    MAX_PRICE_DIGITS,
    MAX_PRICE_PLACES,
    MAX_TOKENS,
    Usage,
    normalize_decimal,
)

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_JSON_INT",
    "MAX_LIMIT",
    "SizeBudget",
    "as_schema",
    "check_bool",
    "check_complete",
    "check_int",
    "check_json",
    "check_limit",
    "check_optional_bool",
    "check_price",
    "check_str",
    "check_text",
    "check_time",
    "check_usage",
    "check_user_id",
    "fields_given",
    "optional_uuid",
    "to_uuid",
]

MAX_LIMIT = 1000
MAX_JSON_DEPTH = 32
"""Deepest nesting of lists and objects accepted in metadata and tool arguments."""

MAX_JSON_INT = 2**63 - 1
"""Largest magnitude of an integer in metadata or tool arguments: a signed
64-bit integer, which both backends store and read back exactly (SQLite's
JSON functions hold 64-bit integers; PostgreSQL's ``jsonb`` numbers are
exact). Larger ones are refused rather than rounded, or failing in the
driver (Python refuses to print integers of more than 4,300 digits)."""

S = TypeVar("S", bound=BaseModel)


def _type_name(value: object) -> str:
    return type(value).__name__


def as_schema(value: object, schema: type[S], field: str) -> S:
    """``value`` if it is a ``schema``; a mapping validated into one; else an error.

    The rule for every method that takes a schema: an instance is used as it
    is (an ``isinstance`` check, no re-validation), a ``dict`` is validated
    (pydantic's ``ValidationError`` when invalid, as constructing the schema
    would raise), and anything else is :class:`InvalidInputError`.
    """
    if isinstance(value, schema):
        return check_complete(value, field)
    if isinstance(value, Mapping):
        return schema.model_validate(value)
    raise InvalidInputError(
        f"{field} must be a {schema.__name__} (or a dict of its fields), not {_type_name(value)}",
        field=field,
    )


def check_complete(data: S, field: str) -> S:
    """``data``, if every field of its schema has a value (an instance built
    with ``model_construct`` may lack required ones)."""
    fields = type(data).model_fields
    values = data.__dict__
    if not fields.keys() <= values.keys():
        missing = sorted(fields.keys() - values.keys())
        raise InvalidInputError(
            f"{field} has no value for {', '.join(missing)} (built without validation?)",
            field=field,
        )
    return data


def fields_given(data: BaseModel, field: str) -> dict[str, Any]:
    """The fields set on a partial-update schema, by name (no serialization)."""
    names = data.model_fields_set
    known = type(data).model_fields
    if not all(isinstance(name, str) and name in known for name in names):
        raise InvalidInputError(f"{field} names fields it does not have", field=field)
    return {name: getattr(data, name) for name in names}


def check_text(value: object, field: str, *, max_chars: int | None = None) -> None:
    """Refuse text PostgreSQL cannot store (NUL, lone surrogates), too long a
    text, or something that is not text at all (``None`` passes)."""
    if value is None:
        return
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string, not {_type_name(value)}", field=field)
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInputError(
            f"{field} is {len(value)} characters long; the limit is {max_chars}", field=field
        )
    if "\x00" in value:
        raise InvalidInputError(f"{field} contains a NUL character", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{field} is not valid Unicode (it holds a lone surrogate)", field=field
        ) from None


def check_str(
    value: object, field: str, *, min_chars: int = 0, max_chars: int | None = None
) -> str:
    """A storable string of ``min_chars`` to ``max_chars`` characters."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{field} must be a string, not {_type_name(value)}", field=field)
    check_text(value, field, max_chars=max_chars)
    if len(value) < min_chars:
        raise InvalidInputError(
            f"{field} must be at least {min_chars} character{'s' * (min_chars != 1)} long",
            field=field,
        )
    return value


def check_user_id(user_id: object) -> str:
    """The user id, if it is a non-empty string of at most 255 storable characters."""
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= 255:
        raise InvalidInputError("user_id must be a string of 1 to 255 characters", "user_id")
    check_text(user_id, "user_id")
    return user_id


def check_bool(value: object, field: str) -> bool:
    """``True`` or ``False`` (not a truthy string or number)."""
    if not isinstance(value, bool):
        raise InvalidInputError(
            f"{field} must be True or False, not {_type_name(value)}", field=field
        )
    return value


def check_optional_bool(value: object, field: str) -> bool | None:
    """``True``, ``False`` or ``None``."""
    return None if value is None else check_bool(value, field)


def check_int(value: object, field: str, *, low: int, high: int) -> int:
    """An integer (not a bool) from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(f"{field} must be an integer from {low} to {high}", field=field)
    return value


def check_price(value: object, field: str) -> Decimal:
    """A price as the schemas accept it (finite, at least 0, at most 10
    decimal places and 20 digits), with ``-0`` read as ``0``."""
    if not isinstance(value, Decimal):
        raise InvalidInputError(f"{field} must be a Decimal, not {_type_name(value)}", field=field)
    if not value.is_finite() or value < 0:
        raise InvalidInputError(f"{field} must be a finite amount of at least 0", field=field)
    # Counted as pydantic counts them: on the normalized value.
    _, digit_tuple, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)  # finite
    places = max(0, -exponent)
    digits = len(digit_tuple) + exponent if exponent >= 0 else max(len(digit_tuple), places)
    if places > MAX_PRICE_PLACES or digits > MAX_PRICE_DIGITS:
        raise InvalidInputError(
            f"{field} must have at most {MAX_PRICE_DIGITS} digits, "
            f"{MAX_PRICE_PLACES} of them decimal places",
            field=field,
        )
    return normalize_decimal(value)


def check_usage(value: object, field: str = "usage") -> Usage | None:
    """A :class:`Usage` (or a dict of one) whose counts are within bounds and
    whose parts fit their totals; ``None`` passes."""
    if value is None:
        return None
    usage = as_schema(value, Usage, field)
    counts = {
        name: check_int(getattr(usage, name), f"{field}.{name}", low=0, high=MAX_TOKENS)
        for name in type(usage).model_fields
    }
    if counts["cache_read_tokens"] + counts["cache_write_tokens"] > counts["input_tokens"]:
        raise InvalidInputError(
            f"{field}: cache_read_tokens + cache_write_tokens cannot exceed input_tokens",
            field=field,
        )
    if counts["reasoning_tokens"] > counts["output_tokens"]:
        raise InvalidInputError(
            f"{field}: reasoning_tokens cannot exceed output_tokens", field=field
        )
    return usage


class SizeBudget:
    """The characters one stored row may still take; refuses what goes past.

    Args:
        limit: The most characters the row may hold
            (``ServiceConfig.max_content_chars``).
        what: What is measured, for the error message ("the message",
            "metadata").
    """

    __slots__ = ("left", "limit", "what")

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.left = limit
        self.what = what

    def spend(self, chars: int, field: str) -> None:
        """Count ``chars`` more characters of ``field``."""
        self.left -= chars
        if self.left < 0:
            raise InvalidInputError(
                f"{self.what} holds more than {self.limit} characters "
                f"({field} included); the limit is {self.limit}",
                field=field,
            )


def check_json(value: object, field: str, budget: SizeBudget | None = None) -> None:
    """Refuse JSON that cannot be stored, and count its size against ``budget``.

    Refused: NUL or lone surrogates in strings, keys that are not strings,
    non-finite numbers, integers beyond :data:`MAX_JSON_INT`, nesting deeper
    than :data:`MAX_JSON_DEPTH`, and values that are not JSON at all.

    The size is the length of the value's JSON text (strings counted by their
    characters, with their quotes; numbers by their digits; punctuation
    included), so numbers and structure count as well as text: a million
    small integers are a few megabytes stored, and count as such.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    size = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, field)
            size += len(item) + 2
        elif isinstance(item, bool) or item is None:
            size += 5
        elif isinstance(item, int):
            if not -MAX_JSON_INT <= item <= MAX_JSON_INT:
                raise InvalidInputError(
                    f"{field} holds an integer beyond the 64-bit range", field=field
                )
            size += len(str(item))
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInputError(f"{field} holds a non-finite number", field=field)
            size += len(repr(item))
        elif isinstance(item, (Mapping, list, tuple)):
            if depth >= MAX_JSON_DEPTH:
                raise InvalidInputError(
                    f"{field} is nested deeper than {MAX_JSON_DEPTH} levels", field=field
                )
            size += 2 + max(0, len(item) - 1)
            if isinstance(item, Mapping):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise InvalidInputError(
                            f"{field} has a key that is not a string: {_type_name(key)}",
                            field=field,
                        )
                    check_text(key, field)
                    size += len(key) + 3
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        else:
            raise InvalidInputError(
                f"{field} holds a {_type_name(item)}, which is not JSON", field=field
            )
        if budget is not None and size > 4096:
            budget.spend(size, field)
            size = 0
    if budget is not None:
        budget.spend(size, field)


def check_metadata(value: object, field: str, budget: SizeBudget | None) -> dict[str, Any]:
    """A JSON object (a ``dict`` with string keys), checked by :func:`check_json`."""
    if not isinstance(value, dict):
        raise InvalidInputError(f"{field} must be a dict, not {_type_name(value)}", field=field)
    if value:
        check_json(value, field, budget)
    return value


def check_limit(limit: object) -> int:
    """A page size, if it is an integer from 1 to 1000."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    return limit


_UTC = dt.timezone.utc
_EARLIEST = dt.datetime.min.replace(tzinfo=_UTC)
_LATEST = dt.datetime.max.replace(tzinfo=_UTC)


def check_time(value: object, field: str) -> dt.datetime | None:
    """A timezone-aware datetime (or ``None``), converted to UTC.

    A time whose UTC equivalent falls outside what a ``datetime`` can hold
    (``datetime.min`` east of UTC, ``datetime.max`` west of it) is clamped to
    the earliest or latest UTC time: as a bound it selects the same messages.
    """
    if value is None:
        return None
    try:
        offset = value.utcoffset() if isinstance(value, dt.datetime) else None
    except Exception:  # a tzinfo of the caller's that fails
        offset = None
    if offset is None:
        raise InvalidInputError(f"{field} must be a timezone-aware datetime", field=field)
    assert isinstance(value, dt.datetime)
    try:
        return value.astimezone(_UTC)
    except OverflowError:
        return _EARLIEST if offset > dt.timedelta(0) else _LATEST


def to_uuid(value: object, field: str) -> uuid.UUID:
    """A UUID from a UUID or its string form."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and len(value) <= 64:
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    shown = f"{value!r:.80}" if isinstance(value, str) else f"a {_type_name(value)}"
    raise InvalidInputError(f"{field} is not a UUID: {shown}", field=field)


def optional_uuid(value: object, field: str) -> uuid.UUID | None:
    """``None``, or a UUID as :func:`to_uuid` reads it."""
    return None if value is None else to_uuid(value, field)
