"""UUIDv7 generation."""

from __future__ import annotations

import time

import pytest

from synergia_core.ids import uuid7, uuid7_time_ns


def test_version_and_variant() -> None:
    value = uuid7()
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"


def test_time_ordered_across_milliseconds() -> None:
    base = time.time_ns()
    ids = [uuid7(base + i * 1_000_000) for i in range(100)]
    assert ids == sorted(ids)


def test_time_ordered_within_a_millisecond_to_the_fraction() -> None:
    base = (time.time_ns() // 1_000_000) * 1_000_000
    first, second = uuid7(base + 1_000), uuid7(base + 600_000)
    assert first < second


def test_embedded_time_round_trips() -> None:
    now = time.time_ns()
    assert abs(uuid7_time_ns(uuid7(now)) - now) < 1_000


def test_unique() -> None:
    assert len({uuid7() for _ in range(10_000)}) == 10_000


def test_time_of_other_versions_is_refused() -> None:
    import uuid

    with pytest.raises(ValueError, match="not a version 7"):
        uuid7_time_ns(uuid.uuid4())
