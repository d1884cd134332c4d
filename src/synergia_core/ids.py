"""Time-ordered identifiers (UUID version 7, RFC 9562).

Every row synergia-core creates gets a :func:`uuid7`: 48 bits of Unix
milliseconds, then 12 bits of sub-millisecond fraction (RFC 9562 §6.2,
method 3), then 62 random bits. Ids sort by creation time, which keeps
B-tree inserts at the right edge of the index, and the generator keeps no
state, so it is safe in threads and processes alike.
"""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["uuid7", "uuid7_time_ns"]

_VERSION_7 = 0x7 << 76
_VARIANT_RFC = 0x2 << 62


def uuid7(timestamp_ns: int | None = None) -> uuid.UUID:
    """Return a new UUIDv7.

    Args:
        timestamp_ns: Unix time in nanoseconds to embed; the current time
            when omitted (useful for tests and back-fills).

    Returns:
        A random ``uuid.UUID`` of version 7 whose leading bits are the time.
    """
    ns = time.time_ns() if timestamp_ns is None else timestamp_ns
    ms, rest_ns = divmod(ns, 1_000_000)
    sub_ms = (rest_ns * 4096) // 1_000_000  # 12-bit fraction of the millisecond
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = ((ms & ((1 << 48) - 1)) << 80) | _VERSION_7 | (sub_ms << 64) | _VARIANT_RFC | rand_b
    return uuid.UUID(int=value)


def uuid7_time_ns(value: uuid.UUID) -> int:
    """Return the Unix time in nanoseconds (to ~244 ns) embedded in a UUIDv7.

    Raises:
        ValueError: ``value`` is not a version 7 UUID.
    """
    if value.version != 7:
        raise ValueError(f"{value} is not a version 7 UUID")
    ms = value.int >> 80
    sub_ms = (value.int >> 64) & 0xFFF
    return ms * 1_000_000 + (sub_ms * 1_000_000) // 4096
