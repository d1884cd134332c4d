"""Token counters: exact with tiktoken when the host wants it, never I/O to build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from synergia_core import ServiceConfig, TokenCounter
from synergia_core.tokens import (
    DefaultCounter,
    EstimatingCounter,
    TiktokenCounter,
    default_token_counter,
)

tiktoken = pytest.importorskip("tiktoken")  # in the dev extra: installed in CI


def test_estimate() -> None:
    counter = EstimatingCounter(chars_per_token=4)
    assert counter.count("") == 0
    assert counter.count("abcd") == 1
    assert counter.count("abcde") == 2
    assert counter.count("日本語") == 1 + 3  # non-ASCII characters count extra
    assert isinstance(counter, TokenCounter)
    with pytest.raises(ValueError, match="positive"):
        EstimatingCounter(0)


def byte_encoding(name: str) -> Any:
    """A real tiktoken encoding built in memory: one token per UTF-8 byte."""
    return tiktoken.Encoding(
        name=name,
        pat_str=r"\S+|\s+",
        mergeable_ranks={bytes([i]): i for i in range(256)},
        special_tokens={},
    )


def test_the_default_estimates_until_the_encoding_is_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counter = default_token_counter()
    assert isinstance(counter, DefaultCounter)
    assert isinstance(ServiceConfig().token_counter, DefaultCounter)
    text = "three little words"
    assert counter.count(text) == EstimatingCounter().count(text)
    # Once tiktoken has the encoding in memory (the host loaded it), counts are exact.
    from tiktoken import registry

    monkeypatch.setitem(registry.ENCODINGS, "synergia-bytes", byte_encoding("synergia-bytes"))
    exact = DefaultCounter("synergia-bytes")
    assert exact.count(text) == len(text.encode())
    assert exact.count("é") == 2


def test_tiktoken_counter_with_an_encoding_object() -> None:
    counter = TiktokenCounter(byte_encoding("bytes"))
    assert counter.count("abc d") == 5
    assert repr(counter) == "TiktokenCounter('bytes')"
    assert isinstance(counter, TokenCounter)


def test_an_encoding_that_cannot_load_falls_back_to_the_estimate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counter = TiktokenCounter("no-such-encoding")  # building loads nothing
    with pytest.raises(ValueError, match="no-such-encoding"):
        counter.load()  # the fail-fast way
    with caplog.at_level("WARNING", logger="synergia_core.tokens"):
        assert counter.count("abcdefg") == EstimatingCounter().count("abcdefg")
        assert counter.count("abcdefg") == EstimatingCounter().count("abcdefg")
    assert len(caplog.records) == 1  # warned once, not per count


def test_tiktoken_counter_needs_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # import raises ImportError
    with pytest.raises(ImportError):
        TiktokenCounter()
    assert DefaultCounter().count("abcd") == EstimatingCounter().count("abcd")


PROBE = textwrap.dedent(
    """
    import json, sys, time

    events = []
    def audit(event, args):
        if event.startswith(("socket.", "http.", "urllib.")):
            events.append(event)
        elif event == "open" and isinstance(args[0], str) and sys.argv[2] in args[0]:
            events.append("open " + args[0])
    sys.addaudithook(audit)

    started = time.perf_counter()
    from synergia_core import ServiceConfig, Synergia
    from synergia_core.tokens import TiktokenCounter

    config = ServiceConfig()
    sy = Synergia(sys.argv[1])
    counted = config.token_counter.count("hello world")
    imported = "tiktoken" in sys.modules
    explicit = ServiceConfig(token_counter=TiktokenCounter())
    elapsed = time.perf_counter() - started
    print(json.dumps({"events": events, "elapsed": elapsed, "counted": counted,
                      "tiktoken_imported_by_default": imported}))
    """
)


def test_construction_touches_no_network_and_no_encoding_cache(tmp_path: Path) -> None:
    """Regression: with tiktoken installed, every ServiceConfig() looked its
    encoding up (a download when not cached): construction stalled offline."""
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache)}
    url = f"sqlite:///{tmp_path / 'probe.db'}"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, url, str(cache)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["events"] == []  # no socket, no HTTP, not even the cache directory
    assert report["counted"] == EstimatingCounter().count("hello world")
    assert report["tiktoken_imported_by_default"] is False
    assert report["elapsed"] < 10
    assert list(cache.iterdir()) == []
