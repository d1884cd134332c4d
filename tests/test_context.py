"""messages.context(): provider-ready history, trimmed to a token budget."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from synergia_core import (
    Attachment,
    ChatCreate,
    ChatNotFound,
    InvalidInputError,
    MessageCreate,
    MessageRead,
    ServiceConfig,
    Synergia,
    ToolCall,
)
from synergia_core.tokens import MESSAGE_OVERHEAD_TOKENS
from tests.conftest import FacadeFactory
from tests.helpers import chain, make_model


class CharCounter:
    """One token per character: budgets become plain arithmetic."""

    def count(self, text: str) -> int:
        return len(text)


@pytest.fixture
def csy(facade: FacadeFactory) -> Synergia:
    return facade(ServiceConfig(token_counter=CharCounter()))


def add(sy: Synergia, chat_id: uuid.UUID, role: str, text: str, **extra: Any) -> MessageRead:
    data = MessageCreate.model_validate({"role": role, "content": text, **extra})
    return sy.messages.add(chat_id, data, user_id="alice")


def cost(text: str) -> int:
    return MESSAGE_OVERHEAD_TOKENS + len(text)


def test_openai_format_with_the_system_prompt_first(csy: Synergia) -> None:
    chat = csy.chats.create(ChatCreate(user_id="alice", system_prompt="Be brief."))
    add(csy, chat.id, "user", "Hi")
    add(csy, chat.id, "assistant", "Hello!")
    add(
        csy,
        chat.id,
        "user",
        "Look",
        attachments=[{"kind": "image", "uri": "https://x/y.png", "mime_type": "image/png"}],
    )
    assert csy.messages.context(chat.id, user_id="alice") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
        },
    ]


def test_only_complete_messages_of_the_current_thread(csy: Synergia) -> None:
    model = make_model(csy)
    chat = csy.chats.create(ChatCreate(user_id="alice"))
    question = add(csy, chat.id, "user", "q")
    add(csy, chat.id, "assistant", "old answer")
    csy.messages.edit(question.id, "q2", user_id="alice")  # a new branch
    failed = csy.messages.start(chat.id, user_id="alice", model_id=model.id)
    csy.messages.append(failed.id, "partial", user_id="alice")
    csy.messages.fail(failed.id, "boom", user_id="alice")
    add(csy, chat.id, "user", "retry please")
    streaming = csy.messages.start(chat.id, user_id="alice", model_id=model.id)
    csy.messages.append(streaming.id, "typing...", user_id="alice")
    context = csy.messages.context(chat.id, user_id="alice")
    assert [m["content"] for m in context] == ["q2", "retry please"]


def test_trimming_at_the_boundary(csy: Synergia) -> None:
    chat = csy.chats.create(ChatCreate(user_id="alice", system_prompt="SYS"))
    texts = ["first message", "second", "third one", "fourth!!"]
    for i, text in enumerate(texts):
        add(csy, chat.id, "user" if i % 2 == 0 else "assistant", text)
    system = cost("SYS")
    last_two = cost("third one") + cost("fourth!!")
    exact = csy.messages.context(chat.id, user_id="alice", max_input_tokens=system + last_two)
    assert [m["content"] for m in exact] == ["SYS", "third one", "fourth!!"]
    short = csy.messages.context(chat.id, user_id="alice", max_input_tokens=system + last_two - 1)
    assert [m["content"] for m in short] == ["SYS", "fourth!!"]
    tiny = csy.messages.context(chat.id, user_id="alice", max_input_tokens=1)
    assert [m["content"] for m in tiny] == ["SYS"]  # the system prompt is always kept


def test_a_tool_call_and_its_results_stay_together(csy: Synergia) -> None:
    chat = csy.chats.create(ChatCreate(user_id="alice"))
    add(csy, chat.id, "user", "weather in Rome and Oslo?")
    calls = [
        ToolCall(id="c1", name="weather", arguments={"city": "Rome"}),
        ToolCall(id="c2", name="weather", arguments={"city": "Oslo"}),
    ]
    assistant = add(csy, chat.id, "assistant", "", tool_calls=calls)
    add(csy, chat.id, "tool", "22C", tool_call_id="c1")
    add(csy, chat.id, "tool", "3C", tool_call_id="c2")
    add(csy, chat.id, "assistant", "Rome 22C, Oslo 3C.")
    full = csy.messages.context(chat.id, user_id="alice")
    assert full[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "weather", "arguments": json.dumps({"city": "Rome"})},
            },
            {
                "id": "c2",
                "type": "function",
                "function": {"name": "weather", "arguments": json.dumps({"city": "Oslo"})},
            },
        ],
    }
    assert full[2] == {"role": "tool", "tool_call_id": "c1", "content": "22C"}
    group = (
        cost("")  # the assistant message, plus its calls' names and arguments
        + sum(len(c.name) + len(json.dumps(c.arguments)) for c in calls)
        + cost("22C")
        + len("c1")  # each tool result, plus the id it answers
        + cost("3C")
        + len("c2")
    )
    final = cost("Rome 22C, Oslo 3C.")
    kept = csy.messages.context(chat.id, user_id="alice", max_input_tokens=final + group)
    assert [m["role"] for m in kept] == ["assistant", "tool", "tool", "assistant"]
    cut = csy.messages.context(chat.id, user_id="alice", max_input_tokens=final + group - 1)
    assert [m["role"] for m in cut] == ["assistant"]  # never an orphan tool result
    assert assistant.tool_calls == calls


def test_orphan_tool_results_are_left_out(csy: Synergia) -> None:
    chat = csy.chats.create(ChatCreate(user_id="alice"))
    add(csy, chat.id, "user", "q")
    add(csy, chat.id, "tool", "stray result", tool_call_id="nobody")
    add(csy, chat.id, "assistant", "a")
    assert [m["role"] for m in csy.messages.context(chat.id, user_id="alice")] == [
        "user",
        "assistant",
    ]


def test_anthropic_format(csy: Synergia) -> None:
    chat = csy.chats.create(ChatCreate(user_id="alice", system_prompt="Be brief."))
    add(csy, chat.id, "assistant", "I speak first")  # dropped: Anthropic starts with a user
    add(csy, chat.id, "user", "weather?")
    add(csy, chat.id, "system", "Use Celsius.")
    add(
        csy,
        chat.id,
        "assistant",
        "Checking.",
        tool_calls=[ToolCall(id="c1", name="weather", arguments={"city": "Rome"})],
    )
    add(csy, chat.id, "tool", "22", tool_call_id="c1")
    add(csy, chat.id, "user", "and tomorrow?")
    add(
        csy,
        chat.id,
        "user",
        "",
        attachments=[Attachment(kind="image", uri="https://x/map.png", mime_type="image/png")],
    )
    result = csy.messages.context(chat.id, user_id="alice", format="anthropic")
    assert result == {
        "system": "Be brief.\n\nUse Celsius.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "c1", "name": "weather", "input": {"city": "Rome"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "c1", "content": "22"},
                    {"type": "text", "text": "and tomorrow?"},
                    {"type": "image", "source": {"type": "url", "url": "https://x/map.png"}},
                ],
            },
        ],
    }


def test_default_budget_is_the_window_minus_max_output(csy: Synergia) -> None:
    model = make_model(csy, context_window=100, max_output_tokens=60)  # 40 tokens of input
    chat = csy.chats.create(ChatCreate(user_id="alice", model_id=model.id))
    for text in ("a" * 16, "b" * 16, "c" * 16):  # 20 tokens each with the overhead
        add(csy, chat.id, "user", text)
    assert [m["content"] for m in csy.messages.context(chat.id, user_id="alice")] == [
        "b" * 16,
        "c" * 16,
    ]
    unlimited = csy.chats.create(ChatCreate(user_id="alice"))
    add(csy, unlimited.id, "user", "x" * 10_000)
    assert len(csy.messages.context(unlimited.id, user_id="alice")) == 1


def test_only_the_needed_tail_is_read(csy: Synergia) -> None:
    chat = csy.chats.create(ChatCreate(user_id="alice"))
    chain(csy, chat.id, "alice", 5_000)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(csy.engine, "before_cursor_execute", record)
    try:
        context = csy.messages.context(chat.id, user_id="alice", max_input_tokens=200)
    finally:
        sa.event.remove(csy.engine, "before_cursor_execute", record)
    assert [m["content"] for m in context][-1] == "message 5000"
    assert sum(cost(m["content"]) for m in context) <= 200
    recursive = [s for s in statements if "RECURSIVE" in s.upper()]
    assert len(recursive) == 1  # one batch of 200 messages, not 5,000


def test_bad_arguments(csy: Synergia) -> None:
    chat = csy.chats.create(ChatCreate(user_id="alice"))
    with pytest.raises(ChatNotFound):
        csy.messages.context(chat.id, user_id="bob")
    with pytest.raises(InvalidInputError, match="format"):
        csy.messages.context(chat.id, user_id="alice", format="cohere")  # type: ignore[call-overload]
    with pytest.raises(InvalidInputError, match="max_input_tokens"):
        csy.messages.context(chat.id, user_id="alice", max_input_tokens=0)
    assert csy.messages.context(chat.id, user_id="alice") == []
    assert csy.messages.context(chat.id, user_id="alice", format="anthropic") == {
        "system": "",
        "messages": [],
    }


def assert_openai_wellformed(context: list[dict[str, Any]]) -> None:
    """Every tool message answers a call of the assistant message it follows."""
    open_calls: set[str] = set()
    for item in context:
        if item["role"] == "tool":
            assert item["tool_call_id"] in open_calls, f"orphan tool message: {context}"
        elif item["role"] == "assistant":
            open_calls = {call["id"] for call in item.get("tool_calls", [])}
        else:
            open_calls = set()


def assert_anthropic_wellformed(context: dict[str, Any]) -> None:
    """Turns alternate, the first is a user turn, and every tool_result
    answers a tool_use of the assistant turn right before it."""
    turns = context["messages"]
    if not turns:
        return
    assert turns[0]["role"] == "user", f"starts with an assistant turn: {turns}"
    previous_calls: set[str] = set()
    for index, turn in enumerate(turns):
        if index:
            assert turn["role"] != turns[index - 1]["role"], "turns do not alternate"
        for block in turn["content"]:
            if block["type"] == "tool_result":
                assert turn["role"] == "user"
                assert block["tool_use_id"] in previous_calls, f"orphan tool_result: {turns}"
        previous_calls = {b["id"] for b in turn["content"] if b["type"] == "tool_use"}


def test_no_budget_ever_leaves_an_orphan_tool_result_or_a_leading_assistant_turn(
    csy: Synergia,
) -> None:
    """Regression: trimming that landed just after an assistant tool-call turn
    gave Anthropic a context starting with the orphan tool_result (the
    leading assistant turn was dropped, its results kept)."""
    chat = csy.chats.create(ChatCreate(user_id="alice", system_prompt="S"))

    def call(call_id: str) -> list[ToolCall]:
        return [ToolCall(id=call_id, name="f", arguments={"q": call_id})]

    add(csy, chat.id, "user", "first question")
    add(csy, chat.id, "assistant", "", tool_calls=call("a"))
    add(csy, chat.id, "tool", "result a", tool_call_id="a")
    add(csy, chat.id, "assistant", "", tool_calls=call("b"))  # a call right after a result
    add(csy, chat.id, "tool", "result b", tool_call_id="b")
    add(csy, chat.id, "assistant", "answer one")
    add(csy, chat.id, "system", "be terse")
    add(csy, chat.id, "user", "second")
    add(csy, chat.id, "assistant", "thinking", tool_calls=call("c"))
    add(csy, chat.id, "tool", "result c", tool_call_id="c")
    add(csy, chat.id, "assistant", "answer two")
    full = sum(
        cost(m["content"] or "") + 40 for m in csy.messages.context(chat.id, user_id="alice")
    )
    starts = set()
    for budget in range(1, full):
        openai = csy.messages.context(chat.id, user_id="alice", max_input_tokens=budget)
        assert_openai_wellformed(openai)
        anthropic = csy.messages.context(
            chat.id, user_id="alice", max_input_tokens=budget, format="anthropic"
        )
        assert_anthropic_wellformed(anthropic)
        if anthropic["messages"]:
            starts.add(json.dumps(anthropic["messages"][0]))
    # The sweep went through the tool-call turns: after them, Anthropic's
    # context starts at the next user message, never at a tool_result.
    assert any("second" in start for start in starts)
    assert not any("tool_result" in start for start in starts)


def test_anthropic_trimmed_right_after_a_tool_call_turn(csy: Synergia) -> None:
    chat = csy.chats.create(ChatCreate(user_id="alice"))
    add(csy, chat.id, "user", "x" * 100)
    add(csy, chat.id, "assistant", "", tool_calls=[ToolCall(id="c1", name="f")])
    add(csy, chat.id, "tool", "22C", tool_call_id="c1")
    add(csy, chat.id, "assistant", "It is 22C.")
    add(csy, chat.id, "user", "thanks")
    budget = 100  # the long question does not fit; everything after it does
    anthropic = csy.messages.context(
        chat.id, user_id="alice", max_input_tokens=budget, format="anthropic"
    )
    assert anthropic["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "thanks"}]}
    ]
    openai = csy.messages.context(chat.id, user_id="alice", max_input_tokens=budget)
    assert [m["role"] for m in openai] == ["assistant", "tool", "assistant", "user"]
