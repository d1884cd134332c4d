"""Model-ready context: the current thread as a provider's request.

Selecting what to send is the same for every provider and is pure (no
I/O): keep complete messages only, group an assistant message that calls
tools with the tool results that answer it, then keep the newest whole
groups that fit the token budget after the system prompt, which is always
kept; for providers whose requests must start with a user turn (Anthropic,
Gemini), leading assistant groups go too. Rendering is the provider
module's (:mod:`synergia_core.providers`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Literal, overload

from synergia_core.errors import ChatNotFound, InvalidInputError
from synergia_core.parts import (
    FilePart,
    ImagePart,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    result_text,
)
from synergia_core.providers import MODULES, ResolveUri, get_format
from synergia_core.repositories.protocols import Repositories
from synergia_core.schemas import MessageRead, MessageStatus, Role
from synergia_core.services._base import Service
from synergia_core.services._checks import check_user_id, to_uuid
from synergia_core.tokens import MESSAGE_OVERHEAD_TOKENS, TokenCounter

__all__ = [
    "FETCH_BATCH",
    "FILE_TOKENS",
    "IMAGE_TOKENS",
    "Format",
    "PromptMethods",
    "message_tokens",
    "select_context",
]

FETCH_BATCH = 200
"""Messages fetched per step when walking a thread up to fill a budget."""

IMAGE_TOKENS = 1_000
"""What an image is counted as in a budget (providers bill roughly 85 to
1,600 tokens an image, by size and detail)."""

FILE_TOKENS = 3_000
"""What a file (a PDF page range, an audio clip) is counted as."""

Format = Literal["openai", "openai-responses", "anthropic", "gemini"]


def message_tokens(message: MessageRead, counter: TokenCounter) -> int:
    """Tokens a message takes in a prompt: every part, plus the overhead."""
    tokens = MESSAGE_OVERHEAD_TOKENS
    for part in message.parts:
        if isinstance(part, TextPart):
            tokens += counter.count(part.text)
        elif isinstance(part, ReasoningPart):
            tokens += counter.count(part.text) + counter.count(part.encrypted or "")
        elif isinstance(part, ToolCallPart):
            arguments = part.arguments
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            tokens += counter.count(part.name) + counter.count(raw)
        elif isinstance(part, ToolResultPart):
            tokens += counter.count(part.call_id) + counter.count(result_text(part.output))
            if isinstance(part.output, list):
                tokens += sum(
                    IMAGE_TOKENS if isinstance(item, ImagePart) else FILE_TOKENS
                    for item in part.output
                    if isinstance(item, (ImagePart, FilePart))
                )
        elif isinstance(part, ImagePart):
            tokens += IMAGE_TOKENS
        elif isinstance(part, FilePart):
            tokens += FILE_TOKENS
        elif isinstance(part, RawPart):
            tokens += counter.count(json.dumps(part.data))
    return tokens


def _groups(thread: Sequence[MessageRead]) -> list[list[MessageRead]]:
    """Complete messages in groups kept or dropped together, oldest first.

    An assistant message with tool calls forms one group with the tool
    results right after it that answer those calls; a tool result that
    answers nothing kept (an orphan) is left out.
    """
    complete = [m for m in thread if m.status is MessageStatus.complete]
    groups: list[list[MessageRead]] = []
    index = 0
    while index < len(complete):
        message = complete[index]
        index += 1
        if message.role is Role.tool:
            continue  # orphan: its assistant message is not in the thread
        group = [message]
        if message.role is Role.assistant and message.tool_calls:
            call_ids = {call.id for call in message.tool_calls}
            while (
                index < len(complete)
                and complete[index].role is Role.tool
                and complete[index].tool_call_id in call_ids
            ):
                group.append(complete[index])
                index += 1
        groups.append(group)
    return groups


def select_context(
    system_prompt: str | None,
    thread: Sequence[MessageRead],
    budget: int | None,
    counter: TokenCounter,
    *,
    user_first: bool = False,
) -> list[MessageRead]:
    """The newest whole groups of ``thread`` that fit ``budget`` with the prompt.

    The system prompt is always kept and counted first; groups are taken
    newest first and the walk stops at the first that does not fit, so the
    result is a contiguous, most recent part of the conversation. A group is
    never split, so the result never starts with a tool result whose call
    was left out.

    Args:
        user_first: Drop the groups before the first user message (system
            messages aside), whole: for providers whose conversations must
            start with a user turn (Anthropic, Gemini). An assistant turn
            that called tools goes with the tool results that answer it.
    """
    groups = _groups(thread)
    if budget is not None:
        used = counter.count(system_prompt) + MESSAGE_OVERHEAD_TOKENS if system_prompt else 0
        kept: list[list[MessageRead]] = []
        for group in reversed(groups):
            cost = sum(message_tokens(message, counter) for message in group)
            if used + cost > budget:
                break
            used += cost
            kept.append(group)
        kept.reverse()
        groups = kept
    if user_first:
        groups = _from_first_user_turn(groups)
    return [message for group in groups for message in group]


def _from_first_user_turn(groups: list[list[MessageRead]]) -> list[list[MessageRead]]:
    """``groups`` without the assistant groups before the first user message
    (system messages, which join the system prompt, are kept)."""
    out: list[list[MessageRead]] = []
    started = False
    for group in groups:
        role = group[0].role
        started = started or role is Role.user
        if started or role is Role.system:
            out.append(group)
    return out


class PromptMethods(Service):
    """Model-ready context (mixed into MessageService)."""

    @overload
    def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Literal["openai"] = "openai",
        resolve_uri: ResolveUri | None = None,
    ) -> list[dict[str, Any]]: ...

    @overload
    def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Literal["openai-responses", "anthropic", "gemini"],
        resolve_uri: ResolveUri | None = None,
    ) -> dict[str, Any]: ...

    def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Format = "openai",
        resolve_uri: ResolveUri | None = None,
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """The chat's current thread, ready to send to a model.

        Complete messages only (a message being streamed, failed or cancelled
        is left out); the chat's system prompt first and always kept; then
        the newest whole messages that fit ``max_input_tokens``. An assistant
        message with tool calls and the tool results answering it are kept or
        dropped together, so the context never starts with an orphan tool
        result, and for Anthropic and Gemini it never starts with an
        assistant turn. Only the part of the thread needed to fill the
        budget is read.

        Args:
            chat_id: The chat.
            user_id: Its owner.
            max_input_tokens: The token budget; by default the chat model's
                context window minus its max output tokens, and no limit when
                those are unknown.
            format: ``"openai"`` (a list of Chat Completions messages),
                ``"openai-responses"`` (``{"instructions", "input"}``),
                ``"anthropic"`` (``{"system", "messages"}``) or ``"gemini"``
                (``{"system_instruction", "contents"}``). Each provider
                module's docstring says what its format drops.
            resolve_uri: Turns a reference the provider cannot fetch into
                ``(bytes, mime_type)``, which the renderer inlines.

        Raises:
            ChatNotFound: No live chat of this user has this id.
            InvalidInputError: Unknown ``format`` or a budget below 1.
        """
        chat_uuid = to_uuid(chat_id, "chat_id")
        check_user_id(user_id)
        if not isinstance(format, str) or format not in MODULES:
            shown = f"{format!r:.40}" if isinstance(format, str) else f"a {type(format).__name__}"
            raise InvalidInputError(
                f"unknown context format {shown}; use one of {', '.join(MODULES)}",
                field="format",
            )
        if resolve_uri is not None and not callable(resolve_uri):
            raise InvalidInputError("resolve_uri must be callable", field="resolve_uri")
        if max_input_tokens is not None and (
            isinstance(max_input_tokens, bool)
            or not isinstance(max_input_tokens, int)
            or max_input_tokens < 1
        ):
            raise InvalidInputError(
                "max_input_tokens must be a positive integer", "max_input_tokens"
            )
        provider = get_format(format)
        counter = self._config.token_counter
        with self._scope(write=False, user_id=user_id) as repos:
            chat = repos.chats.get(chat_uuid, user_id=user_id)
            if chat is None:
                raise ChatNotFound(chat_uuid)
            budget = max_input_tokens
            if budget is None and chat.model_id is not None:
                pricing = repos.models.pricing(chat.model_id)
                if pricing is not None and pricing.context_window is not None:
                    budget = max(1, pricing.context_window - (pricing.max_output_tokens or 0))
            thread = self._tail(repos, chat_uuid, user_id, budget, counter)
        selected = select_context(
            chat.system_prompt, thread, budget, counter, user_first=provider.user_first
        )
        rendered: list[dict[str, Any]] | dict[str, Any] = provider.render(
            chat.system_prompt, selected, resolve_uri=resolve_uri
        )
        return rendered

    @staticmethod
    def _tail(
        repos: Repositories,
        chat_id: uuid.UUID,
        user_id: str,
        budget: int | None,
        counter: TokenCounter,
    ) -> list[MessageRead]:
        """The end of the current thread, long enough to fill ``budget``."""
        if budget is None:
            return repos.messages.thread(chat_id, user_id=user_id, leaf_id=None, limit=None)
        tail: list[MessageRead] = []
        tokens = 0
        leaf: uuid.UUID | None = None
        while True:
            batch = repos.messages.thread(chat_id, user_id=user_id, leaf_id=leaf, limit=FETCH_BATCH)
            tail[:0] = batch
            tokens += sum(
                message_tokens(message, counter)
                for message in batch
                if message.status is MessageStatus.complete
            )
            first = batch[0] if batch else None
            if first is None or first.parent_id is None or tokens > budget:
                return tail
            leaf = first.parent_id
