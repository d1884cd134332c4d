"""Opaque keyset cursors.

A cursor is the position after the last item of a page, as JSON, base64url
encoded, with a keyed digest (BLAKE2b, 128 bits) of that position *and of the
list it belongs to*: its kind, the caller's user id, the chat (for message
lists) and the filters (for chat lists). The user id and the filters are not
in the cursor's text, only in its digest.

What the digest protects against, always:

* a cursor edited by hand, truncated, or corrupted in transit;
* a cursor used with another list: another kind of list, another user's
  list (alice's cursor in bob's list), another chat, other filters.

Each is :class:`~synergia_core.errors.InvalidInputError`, instead of a page
of something else or an empty page.

What it protects against only with a host secret: forgery. Without
``ServiceConfig(cursor_secret=...)`` the key is a constant that ships in the
package, so anyone who reads the source can mint a valid cursor for any
position. That grants nothing: a cursor is never authority, every query is
still scoped by the caller's ``user_id``, and every decoded value is checked
(types, ranges, timezone-aware times within range, UUIDs) before it reaches a
query, so a forged cursor yields at worst a page of the caller's own data.
With a secret, minting a cursor the library accepts needs the secret.
Changing the secret invalidates the cursors in flight (their next page is
``InvalidInputError``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from synergia_core.errors import InvalidInputError

__all__ = ["MAX_CURSOR_CHARS", "decode_cursor", "encode_cursor", "invalid_cursor"]

_DEFAULT_KEY = b"synergia-core/cursor/v2"
_DIGEST_SIZE = 16
MAX_CURSOR_CHARS = 1024
"""Longest cursor accepted (real ones are under 200 characters)."""

Scalar = str | int | bool | None


def invalid_cursor() -> InvalidInputError:
    """The error every unusable cursor raises (one message: it says nothing
    about which check failed)."""
    return InvalidInputError("invalid cursor", field="cursor")


def _key(secret: bytes | None) -> bytes:
    if secret is None:
        return _DEFAULT_KEY
    if len(secret) <= hashlib.blake2b.MAX_KEY_SIZE:
        return secret
    return hashlib.blake2b(secret, digest_size=hashlib.blake2b.MAX_KEY_SIZE).digest()


def _digest(payload: bytes, bound: Sequence[Scalar], secret: bytes | None) -> str:
    mac = hashlib.blake2b(key=_key(secret), digest_size=_DIGEST_SIZE)
    mac.update(json.dumps(list(bound), separators=(",", ":")).encode())
    mac.update(b"\n")
    mac.update(payload)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def _encode(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def encode_cursor(
    kind: str,
    values: Sequence[Scalar],
    *,
    bound: Sequence[Scalar],
    secret: bytes | None,
) -> str:
    """Encode a position of a ``kind`` of list.

    Args:
        kind: The kind of list ("chats", "messages").
        values: The position (in the cursor's text).
        bound: What the cursor is valid for (the user id, the chat, the
            filters): in the digest only.
        secret: The host's secret key, or ``None`` for the package's.
    """
    payload = json.dumps([kind, *values], separators=(",", ":")).encode()
    return f"{_encode(payload)}.{_digest(payload, [kind, *bound], secret)}"


def decode_cursor(
    cursor: object,
    kind: str,
    arity: int,
    *,
    bound: Sequence[Scalar],
    secret: bytes | None,
) -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor` for this ``kind`` and ``bound``.

    The values are JSON scalars, unchecked: the caller checks each one.

    Raises:
        InvalidInputError: The cursor is malformed, altered, of another kind,
            or made for another user, chat or filters.
    """
    if (
        not isinstance(cursor, str)
        or len(cursor) > MAX_CURSOR_CHARS
        or not cursor.isascii()
        or cursor.count(".") != 1
    ):
        raise invalid_cursor()
    body, digest = cursor.split(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise invalid_cursor() from None
    if _encode(payload) != body:  # non-canonical base64: not one of ours
        raise invalid_cursor()
    if not hmac.compare_digest(_digest(payload, [kind, *bound], secret), digest):
        raise invalid_cursor()
    try:
        values = json.loads(payload)
    except (ValueError, RecursionError):
        raise invalid_cursor() from None
    if not isinstance(values, list) or len(values) != arity + 1 or values[0] != kind:
        raise invalid_cursor()
    return values[1:]
