"""A built-in stand-in for an AI model, so the app works offline.

The echo model answers with the last user message of the conversation,
word by word, and reports a :class:`~synergia_core.Usage` computed from
word counts. Swap it for a real provider call (OpenAI, Anthropic ...) in
:mod:`examples.fastapi_app.streaming`: send ``sy.messages.context(...)``,
stream the chunks, and finish with ``Usage.from_openai(...)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from synergia_core import Usage

__all__ = ["NOTHING_TO_ECHO", "EchoModel"]

NOTHING_TO_ECHO = "Nothing to echo yet: send a message first."


def _text(content: Any) -> str:
    """The text of an OpenAI-format content: a string, or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


class EchoModel:
    """Echoes the last user message back, one word at a time.

    Args:
        delay: Seconds to wait before each word after the first, so a
            client sees the reply arrive as a stream.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def answer(self, prompt: Sequence[Mapping[str, Any]]) -> str:
        """The whole reply to ``prompt`` (an OpenAI-format message list)."""
        for message in reversed(prompt):
            if message.get("role") == "user":
                words = _text(message.get("content")).split()
                if words:
                    return " ".join(words)
        return NOTHING_TO_ECHO

    async def stream(self, prompt: Sequence[Mapping[str, Any]]) -> AsyncIterator[str]:
        """Yield the reply in chunks: the first word, then ``" word"`` for each next one."""
        for index, word in enumerate(self.answer(prompt).split(" ")):
            if index and self.delay:
                await asyncio.sleep(self.delay)
            yield word if index == 0 else f" {word}"

    @staticmethod
    def usage(prompt: Sequence[Mapping[str, Any]], reply: str) -> Usage:
        """Token usage, counting one token per word of the prompt and of the reply."""
        input_tokens = sum(len(_text(message.get("content")).split()) for message in prompt)
        return Usage(input_tokens=input_tokens, output_tokens=len(reply.split()))
