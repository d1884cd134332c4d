"""Token counters."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from synergia_core import TokenCounter
from synergia_core.tokens import (
    EstimatingCounter,
    TiktokenCounter,
    default_token_counter,
)


def test_estimate() -> None:
    counter = EstimatingCounter(chars_per_token=4)
    assert counter.count("") == 0
    assert counter.count("abcd") == 1
    assert counter.count("abcde") == 2
    assert counter.count("日本語") == 1 + 3  # non-ASCII characters count extra
    assert isinstance(counter, TokenCounter)
    with pytest.raises(ValueError, match="positive"):
        EstimatingCounter(0)


class FakeEncoding:
    def encode(self, text: str, disallowed_special: Any = ()) -> list[int]:
        return [0] * len(text.split())


def test_tiktoken_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("tiktoken")
    fake.get_encoding = lambda name: FakeEncoding()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    counter = default_token_counter()
    assert isinstance(counter, TiktokenCounter)
    assert counter.count("three little words") == 3


def test_estimate_when_tiktoken_cannot_load_its_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("tiktoken")

    def offline(name: str) -> None:
        raise OSError("no network to download the encoding")

    fake.get_encoding = offline  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    assert isinstance(default_token_counter(), EstimatingCounter)


def test_estimate_when_tiktoken_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import raises ImportError
    assert isinstance(default_token_counter(), EstimatingCounter)
