"""Anthropic Messages API (``format="anthropic"``).

Interim version (rendering of the classic fields only); the complete module
(thinking with signatures, documents, base64 sources, streams) replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from synergia_core.parts import ImagePart
from synergia_core.providers import ResolveUri, as_mapping
from synergia_core.schemas import MessageCreate, MessageRead, Role, Usage

__all__ = ["FORMAT", "AnthropicFormat"]


def usage_from_anthropic(payload: Any) -> Usage:
    """A :class:`~synergia_core.Usage` from an Anthropic usage report
    (its cache counts added to ``input_tokens``)."""
    data = as_mapping(payload)
    cache_read = data.get("cache_read_input_tokens") or 0
    cache_write = data.get("cache_creation_input_tokens") or 0
    input_tokens = data.get("input_tokens")
    if (
        isinstance(input_tokens, int)
        and isinstance(cache_read, int)
        and isinstance(cache_write, int)
    ):
        input_tokens = input_tokens + cache_read + cache_write
    return Usage.model_validate(
        {
            "input_tokens": input_tokens,
            "output_tokens": data.get("output_tokens"),
            "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write,
        }
    )


class AnthropicFormat:
    """The Messages API format."""

    name = "anthropic"
    user_first = True

    def message(self, payload: Any) -> MessageCreate:
        raise NotImplementedError

    def usage(self, payload: Any) -> Usage:
        return usage_from_anthropic(payload)

    def render(
        self,
        system_prompt: str | None,
        messages: Sequence[MessageRead],
        *,
        resolve_uri: ResolveUri | None = None,
    ) -> dict[str, Any]:
        system_parts = [system_prompt] if system_prompt else []
        turns: list[dict[str, Any]] = []
        for message in messages:
            if message.role is Role.system:
                if message.content:
                    system_parts.append(message.content)
                continue
            blocks: list[dict[str, Any]] = []
            if message.role is Role.tool:
                role = "user"
                blocks.append(
                    {
                        "type": "tool_result",
                        "tool_use_id": message.tool_call_id,
                        "content": message.content,
                    }
                )
            else:
                role = message.role.value
                if message.content:
                    blocks.append({"type": "text", "text": message.content})
                blocks += [
                    {"type": "image", "source": {"type": "url", "url": p.uri}}
                    for p in message.parts
                    if isinstance(p, ImagePart)
                ]
                blocks += [
                    {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                    for call in message.tool_calls or ()
                ]
            if not blocks:
                continue
            if turns and turns[-1]["role"] == role:
                turns[-1]["content"].extend(blocks)
            else:
                turns.append({"role": role, "content": blocks})
        return {"system": "\n\n".join(system_parts), "messages": turns}

    def stream(self) -> Any:
        raise NotImplementedError


FORMAT = AnthropicFormat()
