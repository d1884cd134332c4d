"""messages.record_stream(): a provider stream recorded as a reply while it
is handed through (every backend, sync and async; the provider formats'
own stream tests are under tests/providers/)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from openai.types.chat import ChatCompletionChunk

from synergia_core import (
    ChatCreate,
    ChatNotFound,
    InvalidInputError,
    MessageCreate,
    Synergia,
)
from synergia_core.parts import ReasoningPart, TextPart, ToolCallPart
from tests.helpers import make_model

ALICE = "alice"


def chunk(
    *,
    content: str | None = None,
    reasoning: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
) -> ChatCompletionChunk:
    """A real ``ChatCompletionChunk`` of the openai SDK."""
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning  # what OpenAI-compatible servers send
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    choices = [] if usage is not None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return ChatCompletionChunk.model_validate(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-2024-08-06",
            "choices": choices,
            "usage": usage,
        }
    )


def tool_stream() -> list[ChatCompletionChunk]:
    """Reasoning, text, then two parallel tool calls whose arguments arrive
    in pieces, then the usage chunk."""
    return [
        chunk(reasoning="The user wants "),
        chunk(reasoning="the weather."),
        chunk(content="Let me "),
        chunk(content="check."),
        chunk(
            tool_calls=[
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "weather"}},
            ]
        ),
        chunk(
            tool_calls=[
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "time"}},
                {"index": 0, "function": {"arguments": '{"city": '}},
            ]
        ),
        chunk(tool_calls=[{"index": 1, "function": {"arguments": '{"tz": "CET"}'}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '"Rome"}'}}]),
        chunk(finish="tool_calls"),
        chunk(
            usage={
                "prompt_tokens": 1000,
                "completion_tokens": 200,
                "total_tokens": 1200,
                "prompt_tokens_details": {"cached_tokens": 400},
                "completion_tokens_details": {"reasoning_tokens": 50},
            }
        ),
    ]


def setup(sy: Synergia) -> tuple[uuid.UUID, uuid.UUID]:
    model = make_model(sy)  # 2.50 in, 10 out
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id))
    sy.messages.add(chat.id, MessageCreate(role="user", content="Weather?"), user_id=ALICE)
    return chat.id, model.id


def test_a_stream_is_handed_through_and_recorded(sy: Synergia) -> None:
    chat, model = setup(sy)
    events = tool_stream()
    seen = list(
        sy.messages.record_stream(chat, events, user_id=ALICE, model_id=model, format="openai")
    )
    assert seen == events  # handed through unchanged, the same objects
    reply = sy.messages.thread(chat, user_id=ALICE)[-1]
    assert reply.status.value == "complete"
    assert reply.parts == [
        ReasoningPart(text="The user wants the weather.", provider="openai"),
        TextPart(text="Let me check."),
        ToolCallPart(id="call_a", name="weather", arguments={"city": "Rome"}),
        ToolCallPart(id="call_b", name="time", arguments={"tz": "CET"}),
    ]
    assert reply.content == "Let me check."
    assert (reply.input_tokens, reply.output_tokens) == (1000, 200)
    assert (reply.cache_read_tokens, reply.reasoning_tokens) == (400, 50)
    # 600 x 2.50 + 400 x 2.50 (no cache price: the input price) + 200 x 10, per million
    assert reply.cost == Decimal("0.0045")
    assert reply.metadata == {
        "openai": {
            "id": "chatcmpl-1",
            "model": "gpt-4o-2024-08-06",
            "finish_reason": "tool_calls",
        }
    }
    # what the next request needs: the calls, then their results
    for call_id in ("call_a", "call_b"):
        sy.messages.add(
            chat, MessageCreate(role="tool", content="ok", tool_call_id=call_id), user_id=ALICE
        )
    context = sy.messages.context(chat, user_id=ALICE)
    assert [m["role"] for m in context] == ["user", "assistant", "tool", "tool"]
    assert [c["function"]["arguments"] for c in context[1]["tool_calls"]] == [
        '{"city": "Rome"}',
        '{"tz": "CET"}',
    ]


def test_plain_dict_events_work_too(sy: Synergia) -> None:
    chat, model = setup(sy)
    events = [event.model_dump() for event in tool_stream()]
    assert (
        list(
            sy.messages.record_stream(chat, events, user_id=ALICE, model_id=model, format="openai")
        )
        == events
    )
    reply = sy.messages.thread(chat, user_id=ALICE)[-1]
    assert [type(part).__name__ for part in reply.parts] == [
        "ReasoningPart",
        "TextPart",
        "ToolCallPart",
        "ToolCallPart",
    ]


def test_hundreds_of_chunks_cost_a_handful_of_statements(sy: Synergia) -> None:
    chat, model = setup(sy)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]).split()[0].upper())

    words = [chunk(content=f"w{i} ") for i in range(400)]
    engine = sy.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        recorded = sy.messages.record_stream(
            chat, words, user_id=ALICE, model_id=model, format="openai", flush_interval=60
        )
        for _ in recorded:
            pass
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    reply = sy.messages.thread(chat, user_id=ALICE)[-1]
    assert reply.content == "".join(f"w{i} " for i in range(400))
    writes = [s for s in statements if s in ("INSERT", "UPDATE", "WITH")]
    # start, one flush per 2,048 characters (about 2,000 streamed here), finish
    assert len(writes) <= 4, statements
    assert len(statements) <= 12, statements


def test_the_flush_settings_bound_the_writes(sy: Synergia) -> None:
    chat, model = setup(sy)
    words = [chunk(content="abcd") for _ in range(50)]  # 200 characters
    appended: list[int] = []
    messages = sy.messages
    for _ in messages.record_stream(
        chat,
        words,
        user_id=ALICE,
        model_id=model,
        format="openai",
        flush_interval=60,
        flush_chars=40,
    ):
        live = messages.thread(chat, user_id=ALICE)[-1]
        appended.append(len(live.content))
    # the live text grew in steps of 40 characters, never per chunk
    assert sorted(set(appended)) == [0, 40, 80, 120, 160, 200][: len(set(appended))]
    assert messages.thread(chat, user_id=ALICE)[-1].content == "abcd" * 50


class Broken(Exception):
    pass


def failing_stream() -> Iterator[ChatCompletionChunk]:
    yield chunk(reasoning="hmm")
    yield chunk(content="The answer is ")
    raise Broken("connection reset by peer")


def test_an_exception_from_the_stream_fails_the_reply_and_is_reraised(sy: Synergia) -> None:
    chat, model = setup(sy)
    with pytest.raises(Broken):
        for _ in sy.messages.record_stream(
            chat, failing_stream(), user_id=ALICE, model_id=model, format="openai"
        ):
            pass
    reply = sy.messages.thread(chat, user_id=ALICE)[-1]
    assert reply.status.value == "failed"
    assert reply.error == "Broken: connection reset by peer"
    assert reply.parts == [ReasoningPart(text="hmm"), TextPart(text="The answer is ")]


def test_a_consumer_that_stops_early_cancels_the_reply(sy: Synergia) -> None:
    chat, model = setup(sy)
    recorded = sy.messages.record_stream(
        chat, tool_stream(), user_id=ALICE, model_id=model, format="openai"
    )
    for index, _ in enumerate(recorded):
        if index == 3:  # "Let me check." has been streamed
            break
    recorded.close()  # the client went away
    reply = sy.messages.thread(chat, user_id=ALICE)[-1]
    assert reply.status.value == "cancelled"
    assert reply.parts == [
        ReasoningPart(text="The user wants the weather."),
        TextPart(text="Let me check."),
    ]


def test_bad_arguments_fail_at_the_call_and_at_the_first_event(sy: Synergia) -> None:
    chat, model = setup(sy)
    with pytest.raises(InvalidInputError, match="format"):
        sy.messages.record_stream(chat, [], user_id=ALICE, model_id=model, format="cohere")
    with pytest.raises(InvalidInputError, match="flush_chars"):
        sy.messages.record_stream(
            chat, [], user_id=ALICE, model_id=model, format="openai", flush_chars=0
        )
    with pytest.raises(ChatNotFound):
        next(
            iter(
                sy.messages.record_stream(
                    chat, tool_stream(), user_id="bob", model_id=model, format="openai"
                )
            )
        )


def test_a_stream_that_reports_its_failure_in_an_event_fails_the_reply(sy: Synergia) -> None:
    """The OpenAI SDK hands a Responses ``error`` event through instead of
    raising: the reply is failed with its message, the events all pass."""
    chat, model = setup(sy)
    events: list[dict[str, Any]] = [
        {"type": "error", "code": "rate_limit_exceeded", "message": "Slow down.", "param": None}
    ]
    seen = list(
        sy.messages.record_stream(
            chat, events, user_id=ALICE, model_id=model, format="openai-responses"
        )
    )
    assert seen == events
    reply = sy.messages.thread(chat, user_id=ALICE)[-1]
    assert (reply.status.value, reply.error) == ("failed", "Slow down.")
