"""Provider formats: one module per wire format, behind one small protocol.

Each module converts that provider's replies into a
:class:`~synergia_core.MessageCreate` (``from_*``) and its usage into a
:class:`~synergia_core.Usage`, renders a thread back in the provider's
request format (``context(format=...)``), and accumulates its stream events
into a reply (``record_stream(format=...)``). The services only see
:class:`ProviderFormat`.

==================== ========================================== ===============================
format               module                                     wire format
==================== ========================================== ===============================
``openai``           :mod:`synergia_core.providers.openai_chat`  Chat Completions
``openai-responses`` :mod:`~synergia_core.providers.openai_responses` Responses API
``anthropic``        :mod:`~synergia_core.providers.anthropic`   Messages API
``gemini``           :mod:`~synergia_core.providers.gemini`      ``generateContent``
==================== ========================================== ===============================

Adding a fifth provider is one new module exposing ``FORMAT`` and one line
in :data:`MODULES`. The modules import no provider SDK: they read SDK objects
through their ``model_dump()`` (or their attributes) and plain dicts alike.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import JsonValue

if TYPE_CHECKING:
    from synergia_core.parts import Part
    from synergia_core.schemas import MessageCreate, MessageRead, Usage

__all__ = [
    "MODULES",
    "ProviderFormat",
    "ResolveUri",
    "StreamAccumulator",
    "as_mapping",
    "get_format",
]

ResolveUri = Callable[[str], tuple[bytes, str]]
"""Turns a reference a provider cannot fetch (``s3://...``, a private URL)
into its bytes and MIME type, so the renderer can inline it."""

MODULES: Mapping[str, str] = {
    "openai": "synergia_core.providers.openai_chat",
    "openai-responses": "synergia_core.providers.openai_responses",
    "anthropic": "synergia_core.providers.anthropic",
    "gemini": "synergia_core.providers.gemini",
}
"""The registry: format name -> module whose ``FORMAT`` implements it."""


class StreamAccumulator(Protocol):
    """Assembles one streamed reply from a provider's events, in order."""

    def feed(self, event: Any) -> tuple[str, str]:
        """Take one event; return the (text, reasoning) it adds, for the
        live view (either may be empty)."""
        ...

    def parts(self) -> list[Part]:
        """The whole reply so far as parts, in the provider's order
        (reasoning with its signature, text, tool calls with their
        assembled arguments)."""
        ...

    def usage(self) -> Usage | None:
        """The usage reported so far (split reports merged), if any."""
        ...

    def metadata(self) -> dict[str, JsonValue]:
        """What the stream said about the reply besides its parts (response
        id, model name, finish reason), for the message's metadata."""
        ...

    def error(self) -> str | None:
        """Why the reply failed, when the stream said so in an event rather
        than by raising (a Responses ``response.failed``); else ``None``."""
        ...


class ProviderFormat(Protocol):
    """One provider's wire format (see the module docstring)."""

    name: str
    """The format's name, as ``format=`` takes it."""

    user_first: bool
    """Whether a request must start with a user turn (then trimming never
    leaves an assistant turn first)."""

    def message(self, payload: Any) -> MessageCreate:
        """A reply (SDK object or dict) as a message to store, usage included."""
        ...

    def usage(self, payload: Any) -> Usage:
        """A usage report (SDK object or dict) as :class:`~synergia_core.Usage`."""
        ...

    def render(
        self,
        system_prompt: str | None,
        messages: Sequence[MessageRead],
        *,
        resolve_uri: ResolveUri | None = None,
    ) -> Any:
        """The messages (already selected and trimmed) in the request format."""
        ...

    def stream(self) -> StreamAccumulator:
        """A new accumulator for one streamed reply."""
        ...


def get_format(name: str) -> ProviderFormat:
    """The format registered as ``name``.

    Raises:
        KeyError: No format has this name.
    """
    module = importlib.import_module(MODULES[name])
    provider: ProviderFormat = module.FORMAT
    return provider


def as_mapping(payload: Any) -> Mapping[str, Any]:
    """A provider payload as a mapping: dicts as they are, SDK (pydantic)
    objects through ``model_dump()``, other objects through their public
    attributes; ``None`` as ``{}``.

    Raises:
        TypeError: The payload is none of these.
    """
    if payload is None:
        return {}
    if isinstance(payload, Mapping):
        return payload
    dump = getattr(payload, "model_dump", None)
    if callable(dump):
        result = dump()
        if isinstance(result, Mapping):
            return result
    if hasattr(payload, "__dict__"):
        return {k: v for k, v in vars(payload).items() if not k.startswith("_")}
    raise TypeError(f"expected a mapping or an SDK object, got {type(payload).__name__}")
