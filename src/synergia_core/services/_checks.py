"""Checks of input that is well-formed but breaks a rule (InvalidInputError)."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping
from typing import Any

from synergia_core.errors import InvalidInputError

__all__ = [
    "MAX_JSON_DEPTH",
    "check_json",
    "check_limit",
    "check_text",
    "check_time",
    "check_user_id",
    "to_uuid",
]

MAX_LIMIT = 1000
MAX_JSON_DEPTH = 32
"""Deepest nesting of lists and objects accepted in metadata and tool arguments."""


def check_text(value: str | None, field: str, *, max_chars: int | None = None) -> None:
    """Refuse text PostgreSQL cannot store (NUL, lone surrogates) or too long."""
    if value is None:
        return
    if "\x00" in value:
        raise InvalidInputError(f"{field} contains a NUL character", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{field} is not valid Unicode (it holds a lone surrogate)", field=field
        ) from None
    if max_chars is not None and len(value) > max_chars:
        raise InvalidInputError(
            f"{field} is {len(value)} characters long; the limit is {max_chars}", field=field
        )


def check_user_id(user_id: object) -> str:
    """The user id, if it is a non-empty string of at most 255 storable characters."""
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= 255:
        raise InvalidInputError("user_id must be a string of 1 to 255 characters", "user_id")
    check_text(user_id, "user_id")
    return user_id


def check_json(value: Any, field: str, *, max_chars: int | None = None) -> None:
    """Refuse JSON that cannot be stored: NUL or surrogates in strings, non-finite
    numbers, nesting deeper than :data:`MAX_JSON_DEPTH`, or more than
    ``max_chars`` characters of strings and keys in all."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    total = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, field)
            total += len(item)
            if max_chars is not None and total > max_chars:
                raise InvalidInputError(
                    f"{field} holds more than {max_chars} characters of text", field=field
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInputError(f"{field} holds a non-finite number", field=field)
        elif isinstance(item, (Mapping, list, tuple)):
            if depth >= MAX_JSON_DEPTH:
                raise InvalidInputError(
                    f"{field} is nested deeper than {MAX_JSON_DEPTH} levels", field=field
                )
            if isinstance(item, Mapping):
                for key, child in item.items():
                    stack.append((str(key), depth + 1))
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        elif item is not None and not isinstance(item, (bool, int)):
            raise InvalidInputError(
                f"{field} holds a {type(item).__name__}, which is not JSON", field=field
            )


def check_limit(limit: object) -> int:
    """A page size, if it is an integer from 1 to 1000."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be an integer from 1 to {MAX_LIMIT}", "limit")
    return limit


def check_time(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """A timezone-aware datetime (or ``None``)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise InvalidInputError(f"{field} must be a timezone-aware datetime", field=field)
    return value


def to_uuid(value: object, field: str) -> uuid.UUID:
    """A UUID from a UUID or its string form."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise InvalidInputError(f"{field} is not a UUID: {value!r:.80}", field=field)
