"""Counting tokens, to fit a chat's history into a model's context window.

:class:`TokenCounter` is the protocol :meth:`MessageService.context` uses.
The default (:func:`default_token_counter`) counts exactly with ``tiktoken``
when it is installed and its encoding can be loaded, and otherwise falls back
to :class:`EstimatingCounter`, a dependency-free estimate that errs on the
high side so a trimmed context still fits.
"""

from __future__ import annotations

import importlib
import logging
import math
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "MESSAGE_OVERHEAD_TOKENS",
    "EstimatingCounter",
    "TiktokenCounter",
    "TokenCounter",
    "default_token_counter",
]

logger = logging.getLogger(__name__)

MESSAGE_OVERHEAD_TOKENS = 4
"""Tokens a chat format spends around each message (role, separators)."""


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


class TiktokenCounter:
    """Exact counts with a ``tiktoken`` encoding (``o200k_base`` by default).

    Raises:
        ImportError: tiktoken is not installed.
        Exception: The encoding cannot be loaded (tiktoken downloads it on
            first use).
    """

    def __init__(self, encoding: str = "o200k_base") -> None:
        tiktoken = importlib.import_module("tiktoken")
        self._encoding: Any = tiktoken.get_encoding(encoding)
        self.encoding = encoding

    def count(self, text: str) -> int:
        """The exact number of tokens of ``text``."""
        return len(self._encoding.encode(text, disallowed_special=()))

    def __repr__(self) -> str:
        return f"TiktokenCounter({self.encoding!r})"


def default_token_counter() -> TokenCounter:
    """tiktoken's counter when it is installed and usable, else the estimate."""
    try:
        return TiktokenCounter()
    except ImportError:
        return EstimatingCounter()
    except Exception as exc:  # tiktoken installed but its encoding is unavailable
        logger.info("tiktoken unusable (%s); estimating token counts instead", exc)
        return EstimatingCounter()
