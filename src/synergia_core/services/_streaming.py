"""Streaming replies of MessageService: start, append, finish, fail, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import ValidationError

from synergia_core.errors import (
    ChatNotFound,
    InvalidInputError,
    InvalidStateError,
    MessageNotFound,
)
from synergia_core.parts import Part, ReasoningPart, ToolCallPart, parts_adapter
from synergia_core.repositories.protocols import Repositories
from synergia_core.schemas import MessageRead, MessageStatus, Role, ToolCall, Usage
from synergia_core.services._base import Service
from synergia_core.services._checks import (
    check_json,
    check_str,
    check_usage,
    check_user_id,
    optional_uuid,
    to_uuid,
)
from synergia_core.services._cost import message_cost
from synergia_core.services._message_rows import body_of, closing_parts, new_message
from synergia_core.services._spending import guard_model, record_spend, rule_for
from synergia_core.services._tree import check_parent

__all__ = ["MAX_ERROR_CHARS", "StreamingMethods"]

MAX_ERROR_CHARS = 10_000
"""The longest error text :meth:`StreamingMethods.fail` stores."""


def _parts_argument(value: object, field: str) -> list[Part]:
    """Parts given as objects or as dicts, validated.

    Raises:
        InvalidInputError: Something that is not a list of parts.
    """
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidInputError(f"{field} must be a list of parts", field=field)
    try:
        return parts_adapter.validate_python(list(value))
    except ValidationError as exc:
        raise InvalidInputError(f"invalid {field}: {_first_error(exc)}", field=field) from None


def _tool_calls_argument(value: object) -> list[ToolCall]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidInputError("tool_calls must be a list of tool calls", field="tool_calls")
    try:
        return [
            item if isinstance(item, ToolCall) else ToolCall.model_validate(item) for item in value
        ]
    except ValidationError as exc:
        raise InvalidInputError(f"invalid tool_calls: {_first_error(exc)}", "tool_calls") from None


def _metadata_argument(value: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInputError("metadata must be a mapping", field="metadata")
    merged = dict(value)
    check_json(merged, "metadata")
    return merged


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(item) for item in error.get("loc", ()))
    return f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", ""))


class StreamingMethods(Service):
    """Assistant replies written while they stream (mixed into MessageService).

    A streamed reply goes ``streaming`` -> ``complete`` (``finish``),
    ``failed`` (``fail``, keeping the partial text) or ``cancelled``
    (``cancel``). Any other transition raises
    :class:`~synergia_core.errors.InvalidStateError`.
    """

    def start(
        self,
        chat_id: uuid.UUID | str,
        *,
        user_id: str,
        model_id: uuid.UUID | str | None = None,
        parent_id: uuid.UUID | str | None = None,
    ) -> MessageRead:
        """Create an empty assistant message in ``streaming`` status.

        It is placed like :meth:`add` places a message (under the current
        leaf, or under ``parent_id``) and becomes the current leaf.

        Args:
            chat_id: The chat.
            user_id: Its owner.
            model_id: The model that writes the reply; the chat's model when
                omitted.
            parent_id: Where to place the reply (default: the current leaf).

        Raises:
            ChatNotFound: No live chat of this user has this id.
            MessageNotFound: ``parent_id`` names no message of the user.
            InvalidInputError: ``parent_id`` is in another chat, or no model
                is given and the chat has none.
            ModelNotFound: ``model_id`` names no model.
            ModelUnavailableError: The model is disabled or deleted.
            BudgetExceededError: The user's spend in the budget's period has
                reached its limit.
        """
        chat_uuid = to_uuid(chat_id, "chat_id")
        model_uuid = optional_uuid(model_id, "model_id")
        parent_uuid = optional_uuid(parent_id, "parent_id")
        check_user_id(user_id)
        now = self._config.now()
        with self._scope(write=True, user_id=user_id) as repos:
            if model_uuid is None:
                chat = repos.chats.get(chat_uuid, user_id=user_id)
                if chat is None:
                    raise ChatNotFound(chat_uuid)
                if chat.model_id is None:
                    raise InvalidInputError(
                        "the chat has no model to reply with; pass model_id", field="model_id"
                    )
                model_uuid = chat.model_id
            guard_model(repos, model_uuid, user_id, self._config, now)
            if parent_uuid is not None:
                check_parent(repos, parent_uuid, chat_uuid, user_id)
            row = new_message(
                chat_id=chat_uuid,
                user_id=user_id,
                role=Role.assistant,
                body=("", None),
                status=MessageStatus.streaming,
                now=now,
                parent_id=parent_uuid,
                under_current_leaf=parent_uuid is None,
                model_id=model_uuid,
            )
            added = repos.messages.append(row, now=now)
            if added is None:
                raise ChatNotFound(chat_uuid)
            return added

    def append(
        self,
        id: uuid.UUID | str,
        chunk: str,
        *,
        user_id: str,
        kind: Literal["text", "reasoning"] = "text",
    ) -> None:
        """Append a chunk of text (or of reasoning) to a streaming message.

        One ``UPDATE`` that concatenates in the database: nothing is read
        back, so a chunk costs the same at any length. Streamed reasoning
        becomes the reply's first part (a
        :class:`~synergia_core.parts.ReasoningPart`) when it is closed.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidStateError: The message is not streaming.
            InvalidInputError: The chunk is not a string or holds a NUL
                character, ``kind`` is not ``"text"`` or ``"reasoning"``, or
                the message would grow past the configured limit.
        """
        if not isinstance(kind, str) or kind not in ("text", "reasoning"):
            raise InvalidInputError("kind must be 'text' or 'reasoning'", field="kind")
        text, reasoning = (chunk, "") if kind == "text" else ("", chunk)
        self._append(id, user_id, text, reasoning)

    def _append(self, id: uuid.UUID | str, user_id: str, text: str, reasoning: str) -> None:
        """Append text and reasoning to a streaming message in one statement."""
        message_id = to_uuid(id, "id")
        check_user_id(user_id)
        limit = self._config.max_content_chars
        check_str(text, "chunk", max_chars=limit)
        check_str(reasoning, "chunk", max_chars=limit)
        with self._scope(write=True, user_id=user_id) as repos:
            appended = repos.messages.append_content(
                message_id,
                user_id=user_id,
                chunk=text,
                reasoning=reasoning,
                max_chars=limit,
                now=self._config.now(),
            )
            if appended:
                return
            self._streaming(repos, message_id, user_id)
            raise InvalidInputError(
                f"content of message {message_id} would exceed {limit} characters", field="chunk"
            )

    def finish(
        self,
        id: uuid.UUID | str,
        *,
        user_id: str,
        usage: Usage | Mapping[str, Any] | None = None,
        parts: Sequence[Part] | None = None,
        tool_calls: Sequence[ToolCall] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> MessageRead:
        """Complete a streaming message, recording its usage and cost.

        A streamed reply can end with more than it streamed: ``parts`` and
        ``tool_calls`` are added after the streamed reasoning and text (in
        that order), and ``metadata`` is merged into the message's (its keys
        win). The cost is computed from the model's prices now, and stored.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidStateError: The message is not streaming.
            InvalidInputError: A part an assistant message cannot hold (a
                tool result), something that cannot be stored, a reply larger
                than the configured limit, or ``usage`` that is not a
                :class:`Usage`.
            pydantic.ValidationError: ``usage`` is a dict that is not a valid
                :class:`Usage`.
        """
        extra = _parts_argument(parts, "parts") + [
            ToolCallPart(id=call.id, name=call.name, arguments=call.arguments)
            for call in _tool_calls_argument(tool_calls)
        ]
        merged = None if metadata is None else _metadata_argument(metadata)
        return self._close(id, user_id, MessageStatus.complete, usage, {}, extra, merged)

    def fail(
        self,
        id: uuid.UUID | str,
        error: str,
        *,
        user_id: str,
        usage: Usage | Mapping[str, Any] | None = None,
    ) -> MessageRead:
        """Mark a streaming message failed, keeping its partial text and ``error``.

        ``usage``, when the provider reported some, is recorded and priced:
        a failed call can still cost money.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidStateError: The message is not streaming.
            InvalidInputError: ``error`` is not a string, holds a NUL
                character or is longer than 10,000 characters; ``usage`` is
                not a :class:`Usage`.
        """
        check_str(error, "error", max_chars=MAX_ERROR_CHARS)
        return self._close(id, user_id, MessageStatus.failed, usage, {"error": error})

    def cancel(
        self,
        id: uuid.UUID | str,
        *,
        user_id: str,
        usage: Usage | Mapping[str, Any] | None = None,
    ) -> MessageRead:
        """Mark a streaming message cancelled, keeping its partial text.

        Raises:
            MessageNotFound: No message of the user's live chats has this id.
            InvalidStateError: The message is not streaming.
        """
        return self._close(id, user_id, MessageStatus.cancelled, usage, {})

    def _close(
        self,
        id: uuid.UUID | str,
        user_id: str,
        status: MessageStatus,
        usage: object,
        values: dict[str, Any],
        extra: Sequence[Part] = (),
        metadata: Mapping[str, Any] | None = None,
        *,
        replace: bool = False,
    ) -> MessageRead:
        """Close a streaming message. Its row is locked from the read to the
        write, so no chunk lands in between and is lost from its parts."""
        message_id = to_uuid(id, "id")
        check_user_id(user_id)
        checked = check_usage(usage)
        with self._scope(write=True, atomic=True, user_id=user_id) as repos:
            message = repos.messages.streaming_for_update(message_id, user_id=user_id)
            if message is None:
                self._streaming(repos, message_id, user_id)  # raises the right error
                raise MessageNotFound(message_id)
            streamed_reasoning = bool(message.parts) and isinstance(message.parts[0], ReasoningPart)
            if extra or replace or metadata is not None or streamed_reasoning:
                merged = {**message.metadata, **(metadata or {})}
                parts = closing_parts(message, extra, replace=replace)
                content, stored = body_of(parts, merged, self._config)
                values.update(content=content, parts=stored, reasoning=None, metadata=merged)
            if checked is not None and message.model_id is not None:
                pricing = repos.models.pricing(message.model_id)
                values.update({name: getattr(checked, name) for name in type(checked).model_fields})
                if pricing is not None:
                    values["cost"] = message_cost(checked, pricing)
                    # What was spent is always recorded, even past the limit.
                    rule = rule_for(repos, user_id, self._config)
                    now = self._config.now()
                    record_spend(repos, user_id, rule, values["cost"], message.created_at, now)
            closed = repos.messages.finish_stream(
                message_id, user_id=user_id, status=status, values=values, now=self._config.now()
            )
            if closed is None:  # pragma: no cover - the row is locked
                raise MessageNotFound(message_id)
            return closed

    @staticmethod
    def _streaming(repos: Repositories, message_id: uuid.UUID, user_id: str) -> MessageRead:
        """The message, if it is streaming; else the error that says why not."""
        message = repos.messages.get(message_id, user_id=user_id)
        if message is None:
            raise MessageNotFound(message_id)
        if message.status is not MessageStatus.streaming:
            raise InvalidStateError("message", message_id, message.status.value)
        return message
