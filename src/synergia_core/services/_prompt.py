"""Model-ready context: the current thread as a provider's message list.

The selection is pure (no I/O) and shared by both formats: keep complete
messages only, group an assistant message that calls tools with the tool
results that answer it, then keep the newest whole groups that fit the token
budget after the system prompt, which is always kept.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, Literal, overload

from synergia_core.errors import ChatNotFound, InvalidInputError
from synergia_core.repositories.protocols import Repositories
from synergia_core.schemas import MessageRead, MessageStatus, Role
from synergia_core.services._base import Service
from synergia_core.services._checks import check_user_id, to_uuid
from synergia_core.tokens import MESSAGE_OVERHEAD_TOKENS, TokenCounter

__all__ = ["FETCH_BATCH", "PromptMethods", "select_context", "to_anthropic", "to_openai"]

FETCH_BATCH = 200
"""Messages fetched per step when walking a thread up to fill a budget."""

Format = Literal["openai", "anthropic"]


def message_tokens(message: MessageRead, counter: TokenCounter) -> int:
    """Tokens a message takes in a prompt (content, tool calls, overhead)."""
    tokens = MESSAGE_OVERHEAD_TOKENS + counter.count(message.content)
    for call in message.tool_calls or ():
        tokens += counter.count(call.name) + counter.count(json.dumps(call.arguments))
    if message.tool_call_id:
        tokens += counter.count(message.tool_call_id)
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
            start with a user turn (Anthropic). An assistant turn that
            called tools goes with the tool results that answer it.
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


def _images(message: MessageRead) -> list[str]:
    return [item.uri for item in message.attachments or () if item.kind == "image"]


def to_openai(system_prompt: str | None, messages: Sequence[MessageRead]) -> list[dict[str, Any]]:
    """OpenAI Chat Completions messages."""
    out: list[dict[str, Any]] = []
    if system_prompt:
        out.append({"role": "system", "content": system_prompt})
    for message in messages:
        if message.role is Role.tool:
            out.append(
                {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
            )
            continue
        content: Any = message.content
        images = _images(message)
        if images and message.role is Role.user:
            content = [{"type": "text", "text": message.content}] if message.content else []
            content += [{"type": "image_url", "image_url": {"url": uri}} for uri in images]
        item: dict[str, Any] = {"role": message.role.value, "content": content}
        if message.tool_calls:
            item["content"] = message.content or None
            item["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in message.tool_calls
            ]
        out.append(item)
    return out


def to_anthropic(system_prompt: str | None, messages: Sequence[MessageRead]) -> dict[str, Any]:
    """Anthropic Messages API: ``{"system": str, "messages": [...]}``.

    System messages of the thread join the system prompt; tool results become
    ``tool_result`` blocks of a user turn; consecutive turns of one role are
    merged so turns alternate, and the list starts with a user turn: leading
    assistant turns are dropped, and with them the tool results answering
    them (a ``tool_result`` whose ``tool_use`` is not in the list is refused
    by the API). :func:`select_context` with ``user_first=True`` drops such
    turns before the token budget is spent on them.
    """
    system_parts = [system_prompt] if system_prompt else []
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.system:
            if message.content:
                system_parts.append(message.content)
            continue
        blocks: list[dict[str, Any]] = []
        if message.role is Role.tool:
            if not turns:  # it answers a leading assistant turn, dropped below
                continue
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
                {"type": "image", "source": {"type": "url", "url": uri}} for uri in _images(message)
            ]
            blocks += [
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                for call in message.tool_calls or ()
            ]
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        elif turns or role == "user":
            turns.append({"role": role, "content": blocks})
    return {"system": "\n\n".join(system_parts), "messages": turns}


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
    ) -> list[dict[str, Any]]: ...

    @overload
    def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Literal["anthropic"],
    ) -> dict[str, Any]: ...

    def context(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        max_input_tokens: int | None = None,
        format: Format = "openai",
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """The chat's current thread, ready to send to a model.

        Complete messages only (a message being streamed, failed or cancelled
        is left out); the chat's system prompt first and always kept; then
        the newest whole messages that fit ``max_input_tokens``. An assistant
        message with tool calls and the tool results answering it are kept or
        dropped together, so the context never starts with an orphan tool
        result. Only the part of the thread needed to fill the budget is read.

        Args:
            chat_id: The chat.
            user_id: Its owner.
            max_input_tokens: The token budget; by default the chat model's
                context window minus its max output tokens, and no limit when
                those are unknown.
            format: ``"openai"`` (a list of Chat Completions messages) or
                ``"anthropic"`` (``{"system": ..., "messages": [...]}``).

        Raises:
            ChatNotFound: No live chat of this user has this id.
            InvalidInputError: Unknown ``format`` or a budget below 1.
        """
        chat_uuid = to_uuid(chat_id, "chat_id")
        check_user_id(user_id)
        if not isinstance(format, str) or format not in ("openai", "anthropic"):
            shown = f"{format!r:.40}" if isinstance(format, str) else f"a {type(format).__name__}"
            raise InvalidInputError(
                f"unknown context format {shown}; use 'openai' or 'anthropic'", field="format"
            )
        if max_input_tokens is not None and (
            isinstance(max_input_tokens, bool)
            or not isinstance(max_input_tokens, int)
            or max_input_tokens < 1
        ):
            raise InvalidInputError(
                "max_input_tokens must be a positive integer", "max_input_tokens"
            )
        counter = self._config.token_counter
        with self._scope(write=False) as repos:
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
            chat.system_prompt, thread, budget, counter, user_first=format == "anthropic"
        )
        if format == "anthropic":
            return to_anthropic(chat.system_prompt, selected)
        return to_openai(chat.system_prompt, selected)

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
