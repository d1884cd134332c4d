"""Opaque keyset cursors.

A cursor is the position after the last item of a page, as JSON, base64url
encoded, with a short keyed digest so that a cursor edited by hand, truncated,
or taken from another kind of list is refused with InvalidInputError instead
of silently returning some other page. (The digest is not a secret: cursors
never grant access to anything, every query is still scoped by the caller's
user id.)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from synergia_core.errors import InvalidInputError

__all__ = ["decode_cursor", "encode_cursor"]

_KEY = b"synergia-core/cursor/v1"
_DIGEST_SIZE = 8


def _digest(payload: bytes) -> str:
    digest = hashlib.blake2b(payload, key=_KEY, digest_size=_DIGEST_SIZE).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_cursor(kind: str, *values: str | int) -> str:
    """Encode a position of a ``kind`` of list."""
    payload = json.dumps([kind, *values], separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_digest(payload)}"


def decode_cursor(cursor: object, kind: str, arity: int) -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor` for ``kind``.

    Raises:
        InvalidInputError: The cursor is malformed, altered, or of another kind.
    """
    invalid = InvalidInputError("invalid cursor", field="cursor")
    if not isinstance(cursor, str) or len(cursor) > 1024 or cursor.count(".") != 1:
        raise invalid
    body, digest = cursor.split(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not hmac.compare_digest(_digest(payload), digest):
        raise invalid
    try:
        values = json.loads(payload)
    except ValueError:
        raise invalid from None
    if not isinstance(values, list) or len(values) != arity + 1 or values[0] != kind:
        raise invalid
    return values[1:]
