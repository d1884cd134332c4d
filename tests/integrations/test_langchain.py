"""The LangChain chat message history, in LangChain's own runner, on SQLite
and PostgreSQL, sync and async; LangChain's InMemoryChatMessageHistory is
the oracle."""

from __future__ import annotations

import asyncio
import logging
import runpy
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.chat_history import BaseChatMessageHistory, InMemoryChatMessageHistory
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableLambda
from langchain_core.runnables.history import RunnableWithMessageHistory

from synergia_core import (
    AsyncSynergia,
    BudgetExceededError,
    ChatCreate,
    ChatNotFound,
    InvalidInputError,
    MessageCreate,
    ModelCreate,
    ModelRead,
    Synergia,
    Usage,
)
from synergia_core.integrations.langchain import SynergiaChatMessageHistory
from synergia_core.parts import (
    FilePart,
    ImagePart,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

# LangChain deprecated BaseChatMessageHistory's in-memory implementation and
# RunnableWithMessageHistory (in favour of LangGraph); both still work until
# 2.0 and are what this integration is tested in and against.
pytestmark = pytest.mark.filterwarnings(
    "ignore::langchain_core._api.deprecation.LangChainDeprecationWarning"
)

T = TypeVar("T")
ALICE = "alice"
SIGNATURE = "EqQBCkYIBxgCKkCz+/=\u00e9"  # byte for byte, whatever it holds
PNG = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


# ---------------------------------------------------------------- helpers


@pytest.fixture
def store(db_url: str) -> Iterator[Synergia]:
    with Synergia(db_url) as sy:
        yield sy


def seed_models(sy: Synergia) -> dict[str, ModelRead]:
    """gpt-4o (dated alias), a Claude with cache prices, and a name two providers share."""
    return {
        "gpt": sy.models.create(
            ModelCreate(
                provider="openai",
                name="gpt-4o",
                aliases=["gpt-4o-2024-08-06"],
                input_price_per_million=Decimal("2.50"),
                output_price_per_million=Decimal("10"),
                cache_read_price_per_million=Decimal("1.25"),
            )
        ),
        "claude": sy.models.create(
            ModelCreate(
                provider="anthropic",
                name="claude-sonnet-5",
                input_price_per_million=Decimal("3"),
                output_price_per_million=Decimal("15"),
                cache_read_price_per_million=Decimal("0.30"),
                cache_write_price_per_million=Decimal("3.75"),
                cache_write_1h_price_per_million=Decimal("6"),
            )
        ),
        "twin-openai": sy.models.create(
            ModelCreate(provider="openai", name="twin", price_per_million_tokens=Decimal("1"))
        ),
        "twin-other": sy.models.create(
            ModelCreate(provider="other", name="twin", price_per_million_tokens=Decimal("2"))
        ),
    }


def new_chat(sy: Synergia, user: str = ALICE) -> uuid.UUID:
    return sy.chats.create(ChatCreate(user_id=user)).id


def run_async(db_url: str, body: Callable[[AsyncSynergia], Awaitable[T]]) -> T:
    async def main() -> T:
        sy = AsyncSynergia(db_url)
        try:
            return await body(sy)
        finally:
            await sy.close()

    return asyncio.run(main())


def oracle(messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """What LangChain's own in-memory history gives back for ``messages``."""
    memory = InMemoryChatMessageHistory()
    memory.add_messages(messages)
    return list(memory.messages)


def add_and_read(db_url: str, mode: str, messages: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Add ``messages`` to a new chat through the sync or async methods; read them back."""
    if mode == "sync":
        with Synergia(db_url) as sy:
            history = SynergiaChatMessageHistory(sy, new_chat(sy), user_id=ALICE)
            history.add_messages(messages)
            return history.messages

    async def body(sy: AsyncSynergia) -> list[BaseMessage]:
        chat = await sy.chats.create(ChatCreate(user_id=ALICE))
        history = SynergiaChatMessageHistory(sy, chat.id, user_id=ALICE)
        await history.aadd_messages(messages)
        return await history.aget_messages()

    return run_async(db_url, body)


def assert_same(got: Sequence[BaseMessage], want: Sequence[BaseMessage]) -> None:
    assert len(got) == len(want)
    for have, expected in zip(got, want, strict=True):
        assert type(have) is type(expected)
        assert have == expected, f"\n{have!r}\n!=\n{expected!r}"


def every_type() -> list[BaseMessage]:
    """One message of each kind, with every field set that LangChain has."""
    return [
        SystemMessage("You are a travel agent.", id="sys-1"),
        HumanMessage("Plan 3 days in Rome", id="h-1", name="alice"),
        HumanMessage(
            [
                {"type": "text", "text": "Is this map right?"},
                {"type": "image_url", "image_url": {"url": "https://x.test/map.png"}},
                {
                    "type": "image_url",
                    "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"},
                },
                {"type": "image_url", "image_url": "https://x.test/a.jpg"},
                {"type": "image", "base64": PNG, "mime_type": "image/png", "id": "blk-1"},
                {"type": "image", "url": "https://x.test/b.webp"},
                {"type": "file", "url": "https://x.test/plan.pdf", "mime_type": "application/pdf"},
                {
                    "type": "file",
                    "base64": "JVBERi0xLjQK",
                    "mime_type": "application/pdf",
                    "extras": {"filename": "plan.pdf"},
                },
                {"type": "audio", "base64": "UklGRg==", "mime_type": "audio/wav"},
                {"type": "image", "source_type": "url", "url": "https://x.test/v0.png"},
                {"type": "image", "file_id": "file-abc"},
                "a plain string item",
                {"type": "text", "text": "cite me", "annotations": [{"type": "citation"}]},
            ],
            id="h-2",
        ),
        AIMessage(
            [
                {"type": "thinking", "thinking": "Check the map.", "signature": SIGNATURE},
                {"type": "redacted_thinking", "data": "ENCRYPTED=="},
                {"type": "text", "text": "Let me look.", "citations": None},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}},
            ],
            tool_calls=[
                {"name": "weather", "args": {"city": "Rome", "days": [1, 2]}, "id": "toolu_1"},
                {"name": "clock", "args": {}, "id": None},
            ],
            invalid_tool_calls=[
                {
                    "name": "maps",
                    "args": "{not json",
                    "id": "call_bad",
                    "error": "bad JSON",
                    "type": "invalid_tool_call",
                }
            ],
            usage_metadata={
                "input_tokens": 1_200,
                "output_tokens": 300,
                "total_tokens": 1_500,
                "input_token_details": {
                    "cache_read": 1_000,
                    "cache_creation": 0,
                    "ephemeral_5m_input_tokens": 50,
                    "ephemeral_1h_input_tokens": 100,
                },
                "output_token_details": {"reasoning": 120},
            },
            response_metadata={
                "model_name": "claude-sonnet-5",
                "model_provider": "anthropic",
                "stop_reason": "tool_use",
            },
            additional_kwargs={"trace": {"n": 1}},
            id="msg_01",
        ),
        ToolMessage(
            "weather service down",
            tool_call_id="toolu_1",
            status="error",
            artifact={"http": 503, "retry": [1, 2.5, None]},
            name="weather",
            id="t-1",
        ),
        ToolMessage(
            [
                {"type": "text", "text": "Here is the chart"},
                {"type": "image", "base64": PNG, "mime_type": "image/png"},
            ],
            tool_call_id="call_chart",
            artifact=["raw", 1],
        ),
        ToolMessage(
            [{"type": "text", "text": "odd"}, {"type": "search_result", "source": "s"}],
            tool_call_id="call_odd",
        ),
        AIMessage(
            [
                {
                    "type": "reasoning",
                    "reasoning": "v1 reasoning",
                    "id": "rs_1",
                    "extras": {"signature": SIGNATURE, "other": 1},
                },
                {
                    "type": "reasoning",
                    "id": "rs_2",
                    "summary": [{"type": "summary_text", "text": "short"}],
                    "encrypted_content": "gAAAA",
                },
                {"type": "text", "text": "Day 1: Colosseum", "id": "txt_1"},
            ],
            usage_metadata={
                "input_tokens": 500,
                "output_tokens": 200,
                "total_tokens": 700,
                "input_token_details": {"cache_read": 100, "audio": 3},
                "output_token_details": {"reasoning": 150, "audio": 0},
            },
            response_metadata={"model_name": "gpt-4o-2024-08-06", "model_provider": "openai"},
            id="resp_1",
        ),
        AIMessage("", tool_calls=[{"name": "f", "args": {"x": None}, "id": "call_1"}]),
        ChatMessage(content="I disagree", role="critic", id="c-1"),
        ChatMessage(content="Assistant via role", role="assistant"),
        FunctionMessage(content="42", name="answer"),
        AIMessageChunk(content="partial", id="chunk-1", chunk_position="last"),
        AIMessageChunk(
            content="",
            tool_call_chunks=[
                {"name": "f", "args": '{"a": 1}', "id": "c9", "index": 0, "type": "tool_call_chunk"}
            ],
        ),
        HumanMessage("extra fields survive", custom_field={"k": [1, "v"]}),
        HumanMessage(""),
    ]


# ---------------------------------------------------------------- round trips


def test_every_message_type_round_trips_like_the_in_memory_history(db_url: str, mode: str) -> None:
    messages = every_type()
    expected = oracle(messages)
    assert_same(expected, messages)  # the oracle gives back what it was given
    assert_same(add_and_read(db_url, mode, messages), expected)


def test_the_stored_parts_are_typed(store: Synergia) -> None:
    seed_models(store)
    chat = new_chat(store)
    SynergiaChatMessageHistory(store, chat, user_id=ALICE).add_messages(every_type())
    thread = store.messages.thread(chat, user_id=ALICE)
    system, human, blocks, ai, tool_error, tool_blocks, tool_odd, ai_v1 = thread[:8]
    assert (system.role.value, system.content) == ("system", "You are a travel agent.")
    assert human.parts == [TextPart(text="Plan 3 days in Rome")]
    assert [part.type for part in blocks.parts] == [
        "text", "image", "image", "image", "image", "image", "file", "file", "file", "image",
        "raw", "text", "text",
    ]  # fmt: skip
    assert blocks.parts[1] == ImagePart(
        uri="https://x.test/map.png",
        mime_type="image/png",  # guessed from the URL, never sent back
        meta={"langchain": {"shape": "image_url"}},
    )
    data_image = blocks.parts[2]
    assert isinstance(data_image, ImagePart)
    assert (data_image.uri, data_image.mime_type, data_image.detail) == (
        f"data:image/png;base64,{PNG}",
        "image/png",
        "high",
    )
    assert blocks.parts[4].uri == f"data:image/png;base64,{PNG}"  # type: ignore[union-attr]
    pdf = blocks.parts[7]
    assert isinstance(pdf, FilePart)
    assert (pdf.uri, pdf.mime_type) == (
        "data:application/pdf;base64,JVBERi0xLjQK",
        "application/pdf",
    )
    assert blocks.parts[10] == RawPart(
        provider="langchain", data={"type": "image", "file_id": "file-abc"}
    )
    thinking, redacted, text, tool_use, call, idless = ai.parts
    assert thinking == ReasoningPart(
        text="Check the map.",
        signature=SIGNATURE,
        provider="anthropic",
        meta={"langchain": {"shape": "thinking"}},
    )
    assert isinstance(redacted, ReasoningPart)
    assert (redacted.encrypted, redacted.redacted) == ("ENCRYPTED==", True)
    assert isinstance(text, TextPart)
    assert isinstance(tool_use, RawPart)
    assert call == ToolCallPart(
        id="toolu_1", name="weather", arguments={"city": "Rome", "days": [1, 2]}
    )
    assert isinstance(idless, RawPart)
    assert [c.id for c in ai.tool_calls or []] == ["toolu_1"]
    assert ai.metadata["langchain"]["fields"]["id"] == "msg_01"
    (result,) = tool_error.parts
    assert result == ToolResultPart(
        call_id="toolu_1", output="weather service down", is_error=True, name="weather"
    )
    (chart,) = tool_blocks.parts
    assert isinstance(chart, ToolResultPart)
    assert isinstance(chart.output, list)
    assert [item.type for item in chart.output] == ["text", "image"]  # type: ignore[union-attr]
    (odd,) = tool_odd.parts
    assert isinstance(odd, ToolResultPart)
    assert (odd.output, tool_odd.content) == ("odd", "odd")
    first, second, _ = ai_v1.parts
    assert isinstance(first, ReasoningPart)
    assert isinstance(second, ReasoningPart)
    assert (first.text, first.signature, first.id, first.provider) == (
        "v1 reasoning",
        SIGNATURE,
        "rs_1",
        "openai",
    )
    assert (second.id, second.encrypted) == ("rs_2", "gAAAA")


def test_usage_is_priced_through_the_named_model(store: Synergia) -> None:
    models = seed_models(store)
    chat = new_chat(store)
    history = SynergiaChatMessageHistory(store, chat, user_id=ALICE)
    messages = every_type()
    history.add_messages(messages)
    thread = store.messages.thread(chat, user_id=ALICE)
    by_id = {m.metadata["langchain"].get("fields", {}).get("id"): m for m in thread}
    claude = by_id["msg_01"]
    # 1,200 in (1,000 cache reads, 150 cache writes of which 100 one-hour), 300 out (120 reasoning)
    assert (claude.model_id, claude.input_tokens, claude.output_tokens) == (
        models["claude"].id,
        1_200,
        300,
    )
    assert (claude.cache_read_tokens, claude.cache_write_tokens, claude.cache_write_1h_tokens) == (
        1_000,
        150,
        100,
    )
    assert claude.reasoning_tokens == 120
    uncached, reads, writes_5m, writes_1h, output = 50, 1_000, 50, 100, 300
    expected = (
        uncached * Decimal("3")
        + reads * Decimal("0.30")
        + writes_5m * Decimal("3.75")
        + writes_1h * Decimal("6")
        + output * Decimal("15")
    ) / 1_000_000
    assert claude.cost == expected
    gpt = by_id["resp_1"]  # the dated name resolves through the alias
    assert gpt.model_id == models["gpt"].id
    assert gpt.cost == (400 * Decimal("2.50") + 100 * Decimal("1.25") + 200 * Decimal("10")) / 10**6
    assert store.usage.totals(user_id=ALICE).cost == claude.cost + gpt.cost
    assert history.messages == messages  # usage_metadata is given back verbatim


def test_provider_hint_unknown_models_and_inconsistent_usage(store: Synergia) -> None:
    models = seed_models(store)
    chat = new_chat(store)
    history = SynergiaChatMessageHistory(store, chat, user_id=ALICE)
    usage: Any = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}

    def reply(text: str, name: str, provider: str | None = None, **fields: Any) -> AIMessage:
        hints = (
            {"model_name": name}
            if provider is None
            else {"model_name": name, "model_provider": provider}
        )
        return AIMessage(text, response_metadata=hints, **{"usage_metadata": usage, **fields})

    messages = [
        reply("a", "twin", "other"),  # the hint picks one of the two "twin"s
        reply("b", "twin"),  # two providers have it: not priced
        reply("c", "no-such-model"),
        reply("d", "gpt-4o", "azure"),  # a hint no catalog provider has: by name alone
        reply("e", "gpt-4o", usage_metadata={**usage, "input_token_details": {"cache_read": 99}}),
        reply("f", "gpt-4o", usage_metadata=None),  # a model, no usage
        reply("g", "gpt-4o", usage_metadata={**usage, "input_tokens": 10**15}),  # out of range
    ]
    history.add_messages(messages)
    a, b, c, d, e, f, g = store.messages.thread(chat, user_id=ALICE)
    assert (a.model_id, a.cost) == (models["twin-other"].id, Decimal("0.00003"))
    for unpriced in (b, c):
        assert (unpriced.model_id, unpriced.input_tokens, unpriced.cost) == (None, 0, Decimal(0))
    assert (d.model_id, d.cost) == (models["gpt"].id, Decimal("0.000075"))
    assert (e.input_tokens, e.cache_read_tokens, e.cost) == (10, 0, Decimal("0.000075"))
    for unused in (f, g):
        assert (unused.model_id, unused.input_tokens, unused.cost) == (
            models["gpt"].id,
            0,
            Decimal(0),
        )
    assert history.messages == messages


# ---------------------------------------------------------------- LangChain's runner


def turns() -> list[AIMessage]:
    meta = {"model_name": "gpt-4o-2024-08-06", "model_provider": "openai"}
    usage: Any = {"input_tokens": 20, "output_tokens": 10, "total_tokens": 30}
    return [
        AIMessage("Rome it is.", id="ai-1", usage_metadata=usage, response_metadata=meta),
        AIMessage(
            "",
            id="ai-2",
            tool_calls=[{"name": "weather", "args": {"city": "Rome"}, "id": "call_1"}],
            usage_metadata=usage,
            response_metadata=meta,
        ),
        AIMessage("Three days.", id="ai-3", usage_metadata=usage, response_metadata=meta),
    ]


def runner(
    histories: Callable[[str], BaseChatMessageHistory], seen: list[list[BaseMessage]]
) -> RunnableWithMessageHistory:
    def record(messages: list[BaseMessage]) -> list[BaseMessage]:
        seen.append(list(messages))
        return messages

    model = FakeMessagesListChatModel(responses=turns())
    return RunnableWithMessageHistory(RunnableLambda(record) | model, histories)


def test_runnable_with_message_history_over_several_turns(store: Synergia) -> None:
    models = seed_models(store)
    chats = [new_chat(store), new_chat(store)]
    seen: list[list[BaseMessage]] = []
    ours = runner(lambda chat: SynergiaChatMessageHistory(store, chat, user_id=ALICE), seen)
    memories: dict[str, InMemoryChatMessageHistory] = {}
    seen_oracle: list[list[BaseMessage]] = []
    reference = runner(
        lambda chat: memories.setdefault(chat, InMemoryChatMessageHistory()), seen_oracle
    )
    questions = ["Where to?", "Weather?", ToolMessage("sunny", tool_call_id="call_1"), "How long?"]
    for question in questions:
        config: Any = {"configurable": {"session_id": str(chats[0])}}
        got = ours.invoke(question, config)
        assert got == reference.invoke(question, config)
    other: Any = {"configurable": {"session_id": str(chats[1])}}
    ours.invoke("Another chat", other)
    reference.invoke("Another chat", other)
    assert seen == seen_oracle  # the model saw the same history each turn
    assert [len(inputs) for inputs in seen] == [1, 3, 5, 7, 1]
    for chat in chats:
        history = SynergiaChatMessageHistory(store, chat, user_id=ALICE)
        assert_same(history.messages, memories[str(chat)].messages)
    stored = store.messages.thread(chats[0], user_id=ALICE)
    assert [m.role.value for m in stored] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert {m.model_id for m in stored if m.role.value == "assistant"} == {models["gpt"].id}
    assert store.usage.totals(user_id=ALICE, chat_id=chats[0]).output_tokens == 40


def test_runnable_with_message_history_streams_and_keeps_the_chunk(store: Synergia) -> None:
    chat = new_chat(store)
    memory = InMemoryChatMessageHistory()
    config: Any = {"configurable": {"session_id": str(chat)}}
    for history in (SynergiaChatMessageHistory(store, chat, user_id=ALICE), memory):
        model = GenericFakeChatModel(messages=iter([AIMessage("hello there world", id="s-1")]))
        chain = RunnableWithMessageHistory(model, lambda _: history)  # noqa: B023
        chunks = list(chain.stream("hi", config))
        assert "".join(str(chunk.content) for chunk in chunks) == "hello there world"
    ours = SynergiaChatMessageHistory(store, chat, user_id=ALICE).messages
    assert isinstance(ours[-1], AIMessageChunk)
    assert_same(ours, memory.messages)


def test_runnable_with_message_history_async_on_async_synergia(db_url: str) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{question}")]
    )

    def chain(histories: Callable[[str], BaseChatMessageHistory]) -> RunnableWithMessageHistory:
        return RunnableWithMessageHistory(
            prompt | FakeMessagesListChatModel(responses=turns()),
            histories,
            input_messages_key="question",
            history_messages_key="history",
        )

    async def body(sy: AsyncSynergia) -> None:
        gpt = await sy.models.create(
            ModelCreate(
                provider="openai",
                name="gpt-4o",
                aliases=["gpt-4o-2024-08-06"],
                price_per_million_tokens=Decimal("10"),
            )
        )
        chat = (await sy.chats.create(ChatCreate(user_id=ALICE))).id
        config: Any = {"configurable": {"session_id": str(chat)}}
        ours = chain(lambda c: SynergiaChatMessageHistory(sy, c, user_id=ALICE))
        memory = InMemoryChatMessageHistory()
        reference = chain(lambda _: memory)
        for question in ("Where?", "When?", "Why?"):
            got = await ours.ainvoke({"question": question}, config)
            assert got == await reference.ainvoke({"question": question}, config)
        history = SynergiaChatMessageHistory(sy, chat, user_id=ALICE)
        assert_same(await history.aget_messages(), memory.messages)
        assert [type(m).__name__ for m in memory.messages] == ["HumanMessage", "AIMessage"] * 3
        with pytest.raises(TypeError, match=r"AsyncSynergia.*aget_messages"):
            ours.invoke({"question": "sync?"}, config)  # the sync runner on an async store
        assert len(await history.aget_messages()) == 6
        totals = await sy.usage.totals(user_id=ALICE, model_id=gpt.id)
        assert (totals.message_count, totals.output_tokens, totals.cost) == (
            3,
            30,
            Decimal("0.0009"),  # 3 x (20 + 10) tokens at 10 USD a million
        )

    run_async(db_url, body)


# ---------------------------------------------------------------- modes and errors


def test_sync_methods_on_an_async_store_raise_type_error(db_url: str) -> None:
    async def body(sy: AsyncSynergia) -> None:
        chat = (await sy.chats.create(ChatCreate(user_id=ALICE))).id
        history = SynergiaChatMessageHistory(sy, chat, user_id=ALICE)
        with pytest.raises(TypeError, match=r"await history\.aget_messages\(\)"):
            _ = history.messages
        with pytest.raises(TypeError, match=r"await history\.aadd_messages"):
            history.add_messages([HumanMessage("hi")])
        with pytest.raises(TypeError, match=r"await history\.aclear\(\)"):
            history.clear()
        with pytest.raises(TypeError, match="AsyncSynergia"):
            history.add_user_message("hi")
        assert await history.aget_messages() == []
        await history.aadd_messages([HumanMessage("hi")])
        await history.aclear()
        assert await history.aget_messages() == []

    run_async(db_url, body)


def test_async_methods_on_a_sync_store_run_the_sync_ones(store: Synergia) -> None:
    history = SynergiaChatMessageHistory(store, new_chat(store), user_id=ALICE)
    messages = [HumanMessage("hi", id="1"), AIMessage("hello", id="2")]

    async def body() -> list[BaseMessage]:
        await history.aadd_messages(messages)
        got = await history.aget_messages()
        await history.aclear()
        return got

    assert asyncio.run(body()) == messages
    assert history.messages == []


def test_clear_and_add_again_like_the_in_memory_history(store: Synergia) -> None:
    history = SynergiaChatMessageHistory(store, new_chat(store), user_id=ALICE)
    memory = InMemoryChatMessageHistory()
    for target in (history, memory):
        target.add_user_message("one")
        target.add_ai_message("two")
        target.add_message(SystemMessage("three"))
        target.add_messages([])
        target.clear()
        target.add_messages([HumanMessage("four"), AIMessage("five")])
    assert_same(history.messages, memory.messages)
    assert str(history) == str(memory) == "Human: four\nAI: five"


def test_a_chat_of_another_user_is_not_found(db_url: str, store: Synergia, mode: str) -> None:
    bobs = new_chat(store, user="bob")
    store.messages.add(bobs, MessageCreate(role="user", content="private"), user_id="bob")
    if mode == "sync":
        history = SynergiaChatMessageHistory(store, bobs, user_id=ALICE)
        with pytest.raises(ChatNotFound):
            _ = history.messages
        with pytest.raises(ChatNotFound):
            history.add_messages([HumanMessage("hi")])
        with pytest.raises(ChatNotFound):
            history.clear()
        missing = SynergiaChatMessageHistory(store, uuid.uuid4(), user_id=ALICE)
        with pytest.raises(ChatNotFound):
            _ = missing.messages
    else:

        async def body(sy: AsyncSynergia) -> None:
            history = SynergiaChatMessageHistory(sy, str(bobs), user_id=ALICE)
            with pytest.raises(ChatNotFound):
                await history.aget_messages()
            with pytest.raises(ChatNotFound):
                await history.aadd_messages([HumanMessage("hi")])
            with pytest.raises(ChatNotFound):
                await history.aclear()

        run_async(db_url, body)
    assert [m.content for m in store.messages.thread(bobs, user_id="bob")] == ["private"]


def test_bad_arguments_are_typed_errors(store: Synergia) -> None:
    chat = new_chat(store)
    with pytest.raises(InvalidInputError, match="Synergia or an AsyncSynergia") as error:
        SynergiaChatMessageHistory(object(), chat, user_id=ALICE)  # type: ignore[arg-type]
    assert error.value.field == "sy"
    with pytest.raises(InvalidInputError) as error:
        SynergiaChatMessageHistory(store, "not-a-uuid", user_id=ALICE)
    assert error.value.field == "chat_id"
    with pytest.raises(InvalidInputError) as error:
        SynergiaChatMessageHistory(store, chat, user_id="")
    assert error.value.field == "user_id"
    history = SynergiaChatMessageHistory(store, chat, user_id=ALICE)
    with pytest.raises(InvalidInputError, match="expected LangChain messages, got str"):
        history.add_messages(["hi"])  # type: ignore[list-item]

    class Custom(BaseMessage):
        type: str = "custom"

    with pytest.raises(InvalidInputError, match="of type 'custom'"):
        history.add_messages([Custom(content="x")])
    with pytest.raises(InvalidInputError, match=r"artifact is a object, which is not JSON"):
        history.add_messages(
            [HumanMessage("ok"), ToolMessage("x", tool_call_id="c", artifact=object())]
        )
    with pytest.raises(InvalidInputError, match=r"additional_kwargs\.raw is a bytes"):
        history.add_messages([AIMessage("x", additional_kwargs={"raw": b"\x00"})])
    with pytest.raises(InvalidInputError, match="tool_call_id of 1 to 1024"):
        history.add_messages([ToolMessage("x", tool_call_id="")])
    with pytest.raises(InvalidInputError, match="NUL"):
        history.add_messages([HumanMessage("fine"), HumanMessage("nul \x00 here")])
    with pytest.raises(InvalidInputError):
        SynergiaChatMessageHistory(store, chat, user_id=ALICE, limit=0).messages  # noqa: B018
    assert history.messages == []  # every refused call wrote nothing


def test_a_spent_budget_refuses_the_whole_call(
    store: Synergia, caplog: pytest.LogCaptureFixture
) -> None:
    seed_models(store)
    chat = new_chat(store)
    history = SynergiaChatMessageHistory(store, chat, user_id=ALICE)
    store.budgets.set(ALICE, 0, period="total")
    priced = AIMessage("hi", response_metadata={"model_name": "gpt-4o"})
    with pytest.raises(BudgetExceededError):
        history.add_messages([HumanMessage("hello"), priced])
    assert history.messages == []
    history.add_messages([HumanMessage("what the user typed is never refused")])
    # LangChain's runner saves in an end-of-run listener, whose errors its
    # callback manager logs instead of raising: the reply is returned, not stored.
    chain = RunnableWithMessageHistory(
        FakeMessagesListChatModel(responses=[priced]), lambda _: history
    )
    with caplog.at_level(logging.WARNING):
        assert chain.invoke("again", {"configurable": {"session_id": "x"}}) == priced
    assert "BudgetExceededError" in caplog.text
    assert len(history.messages) == 1


# ---------------------------------------------------------------- other writers, windows


def test_messages_other_writers_stored_read_as_langchain_messages(store: Synergia) -> None:
    models = seed_models(store)
    chat = new_chat(store)

    def add(role: str, *parts: Any, **fields: Any) -> uuid.UUID:
        message = MessageCreate(role=role, parts=list(parts), **fields)
        return store.messages.add(chat, message, user_id=ALICE).id

    user = add(
        "user",
        TextPart(text="Map?"),
        ImagePart(uri=f"data:image/png;base64,{PNG}", mime_type="image/png"),
        FilePart(uri="file-id:openai:file-1", mime_type="application/pdf"),
    )
    reply = add(
        "assistant",
        ReasoningPart(text="hm", signature="sig", provider="anthropic"),
        TextPart(text="Ok."),
        ToolCallPart(id="toolu_9", name="weather", arguments={"city": "Rome"}),
        ToolCallPart(id="toolu_10", name="maps", arguments="{broken"),
        RawPart(provider="openai", data={"type": "web_search_call"}),
        model_id=models["claude"].id,
        usage=Usage(input_tokens=30, output_tokens=20, cache_read_tokens=10, reasoning_tokens=5),
    )
    tool = add(
        "tool",
        ToolResultPart(call_id="toolu_9", output="sunny", name="weather"),
        ToolResultPart(call_id="toolu_10", output={"error": "no"}, is_error=True),
    )
    system = add("system", TextPart(text="Be brief."))
    history = SynergiaChatMessageHistory(store, chat, user_id=ALICE)
    history.add_messages([HumanMessage("and now?", id="lc-1")])
    image = {"type": "image", "base64": PNG, "mime_type": "image/png"}
    assert history.messages == [
        HumanMessage(
            [{"type": "text", "text": "Map?"}, image, {"type": "file", "file_id": "file-1"}],
            id=str(user),
        ),
        AIMessage(
            [
                {"type": "thinking", "thinking": "hm", "signature": "sig"},
                {"type": "text", "text": "Ok."},
                {"type": "non_standard", "value": {"type": "web_search_call"}},
            ],
            tool_calls=[{"name": "weather", "args": {"city": "Rome"}, "id": "toolu_9"}],
            invalid_tool_calls=[
                {"name": "maps", "args": "{broken", "id": "toolu_10", "error": None}
            ],
            usage_metadata={
                "input_tokens": 30,
                "output_tokens": 20,
                "total_tokens": 50,
                "input_token_details": {"cache_read": 10, "cache_creation": 0},
                "output_token_details": {"reasoning": 5},
            },
            id=str(reply),
        ),
        ToolMessage("sunny", tool_call_id="toolu_9", name="weather", id=f"{tool}:0"),
        ToolMessage('{"error": "no"}', tool_call_id="toolu_10", status="error", id=f"{tool}:1"),
        SystemMessage("Be brief.", id=str(system)),
        HumanMessage("and now?", id="lc-1"),
    ]


def test_limit_reads_the_last_messages_of_the_current_branch(store: Synergia) -> None:
    chat = new_chat(store)
    history = SynergiaChatMessageHistory(store, chat, user_id=ALICE)
    history.add_messages([HumanMessage(str(n), id=str(n)) for n in range(5)])
    window = SynergiaChatMessageHistory(store, chat, user_id=ALICE, limit=2)
    assert [m.content for m in window.messages] == ["3", "4"]
    third = store.messages.thread(chat, user_id=ALICE)[2]
    store.messages.edit(third.id, "2 edited", user_id=ALICE)  # a new branch, now current
    assert [m.content for m in history.messages] == ["0", "1", "2 edited"]
    history.add_messages([AIMessage("on the new branch")])
    assert [m.content for m in window.messages] == ["2 edited", "on the new branch"]


def test_the_history_warns_nothing_and_import_synergia_core_imports_no_langchain() -> None:
    import subprocess
    import sys

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SynergiaChatMessageHistory(Synergia("sqlite://"), uuid.uuid4(), user_id=ALICE)
    assert caught == []
    code = "import sys, synergia_core; assert 'langchain_core' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- any content, any fields

_TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8)
_KEYS = st.sampled_from(
    ["id", "extras", "index", "detail", "url", "mime_type", "x", "source_type", "signature"]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63 - 1), 2**63 - 1) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)
_EXTRA = st.dictionaries(_KEYS, _JSON, max_size=2)


def _block(shape: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {**extra, **shape}


_URL = st.sampled_from(
    ["https://x.test/a.png", "https://x.test/doc", f"data:image/png;base64,{PNG}", ""]
)
_DETAIL = st.sampled_from(["low", "high", "auto", "original"])
_IMAGE_URL = _URL | st.fixed_dictionaries({"url": _URL}, optional={"detail": _DETAIL})
_MEDIA = {
    "url": _URL,
    "base64": st.just(PNG),
    "mime_type": st.sampled_from(["image/png", "audio/wav"]),
    "source_type": st.sampled_from(["url", "base64", "id"]),
    "data": st.just(PNG),
}
_REASONING = {
    "thinking": _TEXT,
    "signature": _TEXT | st.none(),
    "reasoning": _TEXT,
    "data": _TEXT,
    "extras": st.dictionaries(st.sampled_from(["signature", "k"]), _JSON, max_size=2),
    "encrypted_content": _TEXT,
    "summary": _JSON,
}


def _shaped(kinds: list[str], required: dict[str, Any], optional: dict[str, Any]) -> Any:
    """Blocks of these types, with some of their keys and extra ones."""
    shape = st.fixed_dictionaries({"type": st.sampled_from(kinds), **required}, optional=optional)
    return st.builds(_block, shape, _EXTRA)


_BLOCKS = st.one_of(
    _TEXT,
    _shaped(["text"], {"text": _TEXT}, {}),
    _shaped(["image_url"], {"image_url": _IMAGE_URL}, {}),
    _shaped(["image", "file", "audio", "video"], {}, _MEDIA),
    _shaped(["thinking", "reasoning", "redacted_thinking"], {}, _REASONING),
    st.dictionaries(_TEXT, _JSON, max_size=3),
)
_CONTENT = _TEXT | st.lists(_BLOCKS, max_size=4)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "id": _TEXT,
        "name": _TEXT,
        "additional_kwargs": st.dictionaries(_TEXT, _JSON, max_size=2),
        "response_metadata": st.dictionaries(_TEXT, _JSON, max_size=2),
    },
)
_STATUS = st.sampled_from(["success", "error"])
_MESSAGES = st.lists(
    st.one_of(
        st.builds(lambda c, f: HumanMessage(content=c, **f), _CONTENT, _FIELDS),
        st.builds(lambda c, f: SystemMessage(content=c, **f), _CONTENT, _FIELDS),
        st.builds(lambda c, f: AIMessage(content=c, **f), _CONTENT, _FIELDS),
        st.builds(
            lambda c, f, s, a: ToolMessage(content=c, tool_call_id="c", status=s, artifact=a, **f),
            _CONTENT,
            _FIELDS,
            _STATUS,
            _JSON,
        ),
        st.builds(
            lambda c, r: ChatMessage(content=c, role=r), _CONTENT, st.sampled_from(["ai", "x"])
        ),
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(messages=_MESSAGES)
def test_any_content_and_fields_round_trip(store: Synergia, messages: list[BaseMessage]) -> None:
    history = SynergiaChatMessageHistory(store, new_chat(store), user_id=ALICE)
    history.add_messages(messages)
    assert_same(history.messages, oracle(messages))


def test_the_example_runs(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "langchain_chat.py"
    runpy.run_path(str(example))["main"](db_url)
    out = capsys.readouterr().out
    assert "> Budget?\nAbout 150 EUR a day.\n" in out
    assert "6 messages stored, 120 tokens out, $0.002475\n" in out
    assert "signatures kept: ['sig0', 'sig1', 'sig2']\n" in out
    assert out.endswith("async: 6 messages stored, $0.002475\n")
