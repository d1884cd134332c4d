"""Counting tokens, to fit a chat's history into a model's context window.

:class:`TokenCounter` is the protocol :meth:`MessageService.context` uses.

Nothing here does I/O when it is built. tiktoken loads its encodings from a
cache, and downloads them the first time (from the internet), so:

* The default, :func:`default_token_counter`, never loads an encoding: it
  counts exactly with tiktoken when the encoding is *already loaded* in this
  process (the host called ``tiktoken.get_encoding("o200k_base")``, or used
  a :class:`TiktokenCounter`), and otherwise with :class:`EstimatingCounter`,
  a dependency-free estimate that errs on the high side so a trimmed context
  still fits. Building a ``ServiceConfig`` or a ``Synergia`` never touches
  the network or the disk, with or without tiktoken installed.
* :class:`TiktokenCounter` is the host's explicit choice: it loads its
  encoding on the first count (or when :meth:`TiktokenCounter.load` is
  called), from tiktoken's cache, or from the network if the cache does not
  have it. ``docs/conversations.md`` shows how to pre-cache the encoding so
  that a server never downloads it.
"""

from __future__ import annotations

import importlib
import logging
import math
import sys
import threading
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DEFAULT_ENCODING",
    "MESSAGE_OVERHEAD_TOKENS",
    "DefaultCounter",
    "EstimatingCounter",
    "TiktokenCounter",
    "TokenCounter",
    "default_token_counter",
]

logger = logging.getLogger(__name__)

MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens a chat format spends around each message (role, separators)."""

DEFAULT_ENCODING = "o200k_base"
"""The tiktoken encoding of current OpenAI models (GPT-4o, o-series, GPT-4.1 ...)."""


@runtime_checkable
class TokenCounter(Protocol):
    """Counts the tokens of a text for some model family."""

    def count(self, text: str) -> int:
        """The number of tokens ``text`` encodes to."""
        ...


class EstimatingCounter:
    """A dependency-free estimate: one token per ``chars_per_token`` characters,
    rounded up, plus one per non-ASCII character beyond that (CJK text, emoji
    and accented scripts take more tokens per character than English).

    Args:
        chars_per_token: Characters of English text per token (about 4 for
            GPT and Claude tokenizers; lower is more conservative).
    """

    def __init__(self, chars_per_token: float = 3.5) -> None:
        if chars_per_token <= 0:
            raise ValueError("chars_per_token must be positive")
        self.chars_per_token = chars_per_token

    def count(self, text: str) -> int:
        """An upper-leaning estimate of the tokens of ``text``."""
        if not text:
            return 0
        non_ascii = len(text) - len(text.encode("ascii", "ignore"))
        return math.ceil(len(text) / self.chars_per_token) + non_ascii

    def __repr__(self) -> str:
        return f"EstimatingCounter(chars_per_token={self.chars_per_token})"


def loaded_encoding(name: str) -> Any | None:
    """The tiktoken encoding ``name`` if it is already loaded in this process.

    No import, no file, no network: a look into tiktoken's in-memory registry,
    when tiktoken has been imported at all.
    """
    registry = sys.modules.get("tiktoken.registry")
    encodings = getattr(registry, "ENCODINGS", None)
    return encodings.get(name) if isinstance(encodings, dict) else None


class TiktokenCounter:
    """Exact counts with a ``tiktoken`` encoding (``o200k_base`` by default).

    Building one does no I/O; the encoding is loaded on the first count (or
    by :meth:`load`), from tiktoken's cache or, if the cache lacks it, from
    the network. If it cannot be loaded, counts fall back to
    :class:`EstimatingCounter` (logged once, as a warning) so that
    ``context()`` keeps working; call :meth:`load` at start-up to fail fast
    instead.

    Args:
        encoding: The name of a tiktoken encoding, or an encoding object
            (``tiktoken.Encoding``) to use as it is.

    Raises:
        ImportError: tiktoken is not installed.
    """

    def __init__(self, encoding: str | Any = DEFAULT_ENCODING) -> None:
        self._tiktoken = importlib.import_module("tiktoken")
        self._lock = threading.Lock()
        self._fallback: EstimatingCounter | None = None
        if isinstance(encoding, str):
            self.encoding = encoding
            self._encoding: Any | None = None
        else:
            self.encoding = str(getattr(encoding, "name", "custom"))
            self._encoding = encoding

    def load(self) -> None:
        """Load the encoding now (a no-op once loaded).

        Raises:
            Exception: Whatever tiktoken raises when the encoding is not in
                its cache and cannot be downloaded.
        """
        if self._encoding is not None:
            return
        with self._lock:
            if self._encoding is None:
                self._encoding = self._tiktoken.get_encoding(self.encoding)
                self._fallback = None

    def count(self, text: str) -> int:
        """The exact number of tokens of ``text`` (estimated if the encoding
        could not be loaded)."""
        encoding = self._encoding
        if encoding is None:
            if self._fallback is not None:
                return self._fallback.count(text)
            try:
                self.load()
            except Exception as exc:  # no cache and no network, typically
                logger.warning(
                    "tiktoken cannot load encoding %r (%s); estimating token counts instead",
                    self.encoding,
                    exc,
                )
                self._fallback = EstimatingCounter()
                return self._fallback.count(text)
            encoding = self._encoding
            assert encoding is not None
        return len(encoding.encode(text, disallowed_special=()))

    def __repr__(self) -> str:
        return f"TiktokenCounter({self.encoding!r})"


class DefaultCounter:
    """The default counter: tiktoken's exact count when its encoding is already
    loaded in this process, else :class:`EstimatingCounter`'s estimate.

    It never loads an encoding itself (no disk, no network), so it is safe to
    build anywhere; it looks for the loaded encoding on each count, which is
    a dictionary lookup.

    Args:
        encoding: The tiktoken encoding to use when it is loaded.
    """

    def __init__(self, encoding: str = DEFAULT_ENCODING) -> None:
        self.encoding = encoding
        self._estimate = EstimatingCounter()

    def count(self, text: str) -> int:
        """Exact when tiktoken's encoding is loaded, else an upper-leaning estimate."""
        encoding = loaded_encoding(self.encoding)
        if encoding is None:
            return self._estimate.count(text)
        return len(encoding.encode(text, disallowed_special=()))

    def __repr__(self) -> str:
        return f"DefaultCounter({self.encoding!r})"


def default_token_counter() -> TokenCounter:
    """The counter ``ServiceConfig`` uses when none is given: a
    :class:`DefaultCounter` (I/O-free; exact once tiktoken's encoding is loaded)."""
    return DefaultCounter()
