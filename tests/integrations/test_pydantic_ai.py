"""PydanticAI message histories on synergia-core, in PydanticAI's own runner, offline.

Every test runs on SQLite and PostgreSQL (``db_url``), through a
:class:`~synergia_core.Synergia` (``agent.run_sync``, plain ``load``/``save``)
and through an :class:`~synergia_core.AsyncSynergia` (``await agent.run``,
``await history.load()``), on one event loop per test. The oracle of every
round trip is PydanticAI's own serializer: ``ModelMessagesTypeAdapter.dump_python``
of what ``load()`` returns equals that of what was saved.
"""

from __future__ import annotations

import asyncio
import base64
import runpy
import subprocess
import sys
from collections.abc import Coroutine, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic_ai import Agent, AgentRunResult
from pydantic_ai.messages import (
    BinaryContent,
    DocumentUrl,
    ImageUrl,
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolReturnPart,
    UserContent,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from synergia_core import (
    AsyncSynergia,
    BudgetExceededError,
    ChatCreate,
    ChatNotFound,
    InvalidInputError,
    MessageCreate,
    MessageRead,
    ModelCreate,
    ModelUnavailableError,
    Synergia,
)
from synergia_core.integrations.pydantic_ai import SynergiaMessageHistory
from synergia_core.parts import ImagePart, RawPart, ReasoningPart, ToolResultPart
from synergia_core.parts import TextPart as OurText
from synergia_core.parts import ToolCallPart as OurCall
from tests.integrations.pydantic_ai_samples import PDF, PNG, WAV, at, histories

T = TypeVar("T")
SIGNATURE = "EqQBCkYIBxgCKkCz+/8=\x01"  # byte for byte, control character included


def dumps(messages: Sequence[ModelMessage]) -> list[dict[str, Any]]:
    """The oracle: PydanticAI's own dump."""
    dumped: list[dict[str, Any]] = ModelMessagesTypeAdapter.dump_python(list(messages))
    return dumped


class Store:
    """One test's database: a sync facade for setting up and checking, and the
    facade under test (sync or async), driven in its own shape."""

    def __init__(self, mode: str, url: str) -> None:
        self.mode = mode
        self.admin = Synergia(url)
        self.gpt = self.admin.models.create(
            ModelCreate(
                provider="openai",
                name="gpt-4o",
                aliases=["gpt-4o-2024-08-06"],
                input_price_per_million=Decimal("2.50"),
                output_price_per_million=Decimal("10"),
                cache_read_price_per_million=Decimal("1.25"),
            )
        )
        self.chat = self.admin.chats.create(ChatCreate(user_id="alice", model_id=self.gpt.id))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sync: Synergia | None = None
        self._async: AsyncSynergia | None = None
        # run_sync drives the thread's current event loop (making one if none
        # is set) and leaves it open: the test owns it, and closes it.
        self._run_sync_loop = asyncio.new_event_loop()
        if mode == "sync":
            self._sync = Synergia(url)
        else:
            self._loop = asyncio.new_event_loop()
            self._async = AsyncSynergia(url)

    def wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return self._loop.run_until_complete(coroutine)

    def load(self, chat_id: Any = None, user_id: str = "alice") -> list[ModelMessage]:
        chat_id = self.chat.id if chat_id is None else chat_id
        if self._async is not None:
            return self.wait(SynergiaMessageHistory(self._async, chat_id, user_id=user_id).load())
        assert self._sync is not None
        return SynergiaMessageHistory(self._sync, chat_id, user_id=user_id).load()

    def save(
        self, messages: Sequence[ModelMessage], chat_id: Any = None, user_id: str = "alice"
    ) -> list[MessageRead]:
        chat_id = self.chat.id if chat_id is None else chat_id
        if self._async is not None:
            history = SynergiaMessageHistory(self._async, chat_id, user_id=user_id)
            return self.wait(history.save(messages))
        assert self._sync is not None
        return SynergiaMessageHistory(self._sync, chat_id, user_id=user_id).save(messages)

    def run(
        self, agent: Agent[None, str], prompt: str | Sequence[UserContent]
    ) -> AgentRunResult[str]:
        """A run of ``agent`` on the chat's history (``run_sync`` or ``await run``)."""
        history = self.load()
        if self._loop is not None:
            return self.wait(agent.run(prompt, message_history=history))
        asyncio.set_event_loop(self._run_sync_loop)
        return agent.run_sync(prompt, message_history=history)

    def thread(self) -> list[MessageRead]:
        return self.admin.messages.thread(self.chat.id, user_id="alice")

    def close(self) -> None:
        if self._async is not None:
            self.wait(self._async.close())
        if self._loop is not None:
            self._loop.close()
        if self._sync is not None:
            self._sync.close()
        asyncio.set_event_loop(None)
        self._run_sync_loop.close()
        self.admin.close()


@pytest.fixture(params=["sync", "async"])
def store(request: pytest.FixtureRequest, db_url: str) -> Iterator[Store]:
    opened = Store(str(request.param), db_url)
    yield opened
    opened.close()


class WeatherModel:
    """A model that thinks and calls the weather tool, then answers; it
    records every history it is sent."""

    def __init__(self) -> None:
        self.seen: list[list[ModelMessage]] = []

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.seen.append(list(messages))
        last = messages[-1]
        assert isinstance(last, ModelRequest)
        if any(isinstance(part, ToolReturnPart) for part in last.parts):
            return ModelResponse(
                parts=[TextPart("Sunny, 24 C.", id="msg_2")],
                usage=RequestUsage(input_tokens=1000, output_tokens=20, cache_read_tokens=800),
                provider_name="openai",
                provider_response_id=f"resp_{len(self.seen)}",
                finish_reason="stop",
            )
        return ModelResponse(
            parts=[
                ThinkingPart("The user wants the weather.", signature=SIGNATURE, id="rs_1"),
                ToolCallPart("weather", {"city": "Rome"}, tool_call_id=f"call_{len(self.seen)}"),
            ],
            usage=RequestUsage(input_tokens=400, output_tokens=100, output_reasoning_tokens=60),
            provider_name="openai",
            provider_details={"service_tier": "default"},
            finish_reason="tool_call",
        )


def weather_agent(model: WeatherModel) -> Agent[None, str]:
    agent = Agent(
        FunctionModel(model, model_name="gpt-4o-2024-08-06"),
        system_prompt="You are a weather bot.",
        instructions="Answer in English.",
    )

    @agent.tool_plain
    def weather(city: str) -> dict[str, Any]:
        """The weather in a city."""
        return {"city": city, "sky": "clear", "celsius": 24.5}

    return agent


PROMPT: list[UserContent] = [
    "What is on this map, in this report and in this recording?",
    BinaryContent(PNG, media_type="image/png"),
    BinaryContent(PDF, media_type="application/pdf"),
    BinaryContent(WAV, media_type="audio/wav"),
    ImageUrl("https://example.com/map.png"),
    DocumentUrl("https://example.com/report.pdf"),
]


# ------------------------------------------------------------------- the runner


def test_agent_runs_round_trip_and_continue(store: Store) -> None:
    model = WeatherModel()
    agent = weather_agent(model)
    assert store.load() == []

    first = store.run(agent, PROMPT)
    stored = store.save(first.new_messages())
    loaded = store.load()
    assert dumps(loaded) == dumps(first.all_messages())
    assert [m.role.value for m in stored] == ["system", "user", "assistant", "tool", "assistant"]

    # What the issue names, one by one, on the loaded objects.
    request, call, returned, answer = loaded
    assert isinstance(request, ModelRequest)
    prompt = request.parts[1]
    assert isinstance(prompt, UserPromptPart)
    assert not isinstance(prompt.content, str)
    image = prompt.content[1]
    assert isinstance(image, BinaryContent)
    assert image.data == PNG
    assert image.media_type == "image/png"
    assert isinstance(call, ModelResponse)
    assert isinstance(answer, ModelResponse)
    thinking = call.parts[0]
    assert isinstance(thinking, ThinkingPart)
    assert thinking.signature == SIGNATURE
    assert call.model_name == "gpt-4o-2024-08-06"
    original = first.all_messages()[1]
    assert isinstance(original, ModelResponse)
    assert call.usage == original.usage  # PydanticAI's own cost estimate included
    assert (call.usage.input_tokens, call.usage.output_reasoning_tokens) == (400, 60)
    assert call.timestamp == original.timestamp
    assert isinstance(returned, ModelRequest)
    tool_return = returned.parts[0]
    assert isinstance(tool_return, ToolReturnPart)
    assert tool_return.tool_name == "weather"
    assert tool_return.content == {"city": "Rome", "sky": "clear", "celsius": 24.5}
    assert answer.provider_response_id == "resp_2"

    # Usage recorded and priced through the alias the framework named.
    priced = [m for m in store.thread() if m.role.value == "assistant"]
    assert [m.model_id for m in priced] == [store.gpt.id, store.gpt.id]
    assert [(m.input_tokens, m.output_tokens, m.reasoning_tokens) for m in priced] == [
        (400, 100, 60),
        (1000, 20, 0),
    ]
    # (400 x 2.50 + 100 x 10) / 1e6 and (200 x 2.50 + 800 x 1.25 + 20 x 10) / 1e6
    assert [m.cost for m in priced] == [Decimal("0.002"), Decimal("0.0017")]

    # The loaded history feeds a second run, which sees the first one.
    second = store.run(agent, "And tomorrow?")
    assert dumps(model.seen[2][:4]) == dumps(first.all_messages())
    added = store.save(second.all_messages())  # all of them: only the new ones are stored
    assert [m.role.value for m in added] == ["user", "assistant", "tool", "assistant"]
    assert dumps(store.load()) == dumps(second.all_messages())
    assert store.save(second.all_messages()) == []
    assert store.save(first.all_messages()) == []  # an older run's messages are stored too


def test_context_renders_saved_runs_for_providers(store: Store) -> None:
    store.save(store.run(weather_agent(WeatherModel()), PROMPT).new_messages())
    anthropic = store.admin.messages.context(store.chat.id, user_id="alice", format="anthropic")
    assert anthropic["system"] == "You are a weather bot."
    blocks = [[block["type"] for block in turn["content"]] for turn in anthropic["messages"]]
    assert blocks == [
        ["text", "image", "document", "image", "document"],
        ["tool_use"],  # thinking of provider "openai" is not sent to Anthropic
        ["tool_result"],
        ["text"],
    ]
    chat = store.admin.messages.context(store.chat.id, user_id="alice", format="openai")
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "tool", "assistant"]
    assert chat[1]["content"][1]["image_url"]["url"] == (
        f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    )
    assert chat[2]["tool_calls"][0]["function"] == {
        "name": "weather",
        "arguments": '{"city": "Rome"}',
    }


# ----------------------------------------------------------------- every field


@pytest.mark.parametrize("name", list(histories()))
def test_every_message_type_round_trips(store: Store, name: str) -> None:
    saved = histories()[name]
    store.save(saved)
    loaded = store.load()
    assert dumps(loaded) == dumps(saved)
    assert store.save(saved) == []
    if name != "legacy-retry":  # PydanticAI itself translates the deprecated part on loading
        own = ModelMessagesTypeAdapter.validate_json(ModelMessagesTypeAdapter.dump_json(saved))
        assert dumps(loaded) == dumps(own)


def test_parts_are_typed_where_they_fit(store: Store) -> None:
    store.save(histories()["multimodal"] + histories()["tools"])
    system, user, reply, tools, feedback, answer, empty, interrupted = store.thread()
    assert system.content == "You are a weather bot."
    assert [part.type for part in user.parts] == [
        "text", "text", "text", "image", "file", "file", "file",
        "image", "image", "file", "file", "file", "file", "image", "raw",
    ]  # fmt: skip
    assert user.parts[1] == OurText(text="with metadata", meta=user.parts[1].meta)
    assert user.parts[3] == ImagePart(
        uri=f"data:image/png;base64,{base64.b64encode(PNG).decode()}",
        mime_type="image/png",
        detail="high",
        meta=user.parts[3].meta,
    )
    assert [(a.kind, a.uri) for a in user.attachments or []][1:4] == [
        ("file", f"data:application/pdf;base64,{base64.b64encode(PDF).decode()}"),
        ("audio", f"data:audio/wav;base64,{base64.b64encode(WAV).decode()}"),
        ("file", "data:application/x-unknown;base64,AAE="),
    ]
    assert [a.uri for a in user.attachments or []][9:] == [
        "file-id:anthropic:file-abc",
        "file-id:openai:f2",
    ]
    cache_point = user.parts[-1]
    assert isinstance(cache_point, RawPart)
    assert cache_point.provider == "pydantic-ai"
    thinking = reply.parts[0]
    assert isinstance(thinking, ReasoningPart)
    assert (thinking.signature, thinking.provider, thinking.id) == (
        "EqQBCkYIBxgCKkCz+/==",
        "anthropic",
        "rs_1",
    )
    assert [part.type for part in reply.parts] == [
        "reasoning", "reasoning", "text", "tool_call", "tool_call", "tool_call",
        "raw", "raw", "image", "raw",
    ]  # fmt: skip
    assert reply.tool_calls is not None
    assert [(c.id, c.arguments) for c in reply.tool_calls] == [
        ("toolu_1", {"city": "Rome", "days": [1, 2]}),
        ("toolu_2", '{"tz": "CET"'),
        ("toolu_3", {}),
    ]
    results = [part for part in tools.parts if isinstance(part, ToolResultPart)]
    assert [(r.call_id, r.name, r.is_error) for r in results] == [
        ("toolu_1", "weather", False),
        ("toolu_2", "clock", True),
        ("toolu_3", "noop", False),
        ("toolu_4", "count", False),
        ("toolu_5", "pictures", False),
        ("toolu_6", "shapes", False),
        ("toolu_7", "weather", True),
    ]
    assert results[0].output == {"sky": "clear", "celsius": 24.5, "hours": [1, 2], "note": None}
    assert feedback.role.value == "user"
    assert "one sentence" in feedback.content
    assert feedback.content.endswith("And tomorrow?")
    assert answer.content == "Sunny, 24.5 °C."
    assert (empty.role.value, empty.parts, interrupted.role.value) == ("assistant", [], "user")
    # Our parts carry PydanticAI's fields they have no place for, and nothing else.
    assert reply.parts[2].meta["pydantic_ai"] == {
        "start": {
            "id": "msg_1",
            "provider_name": "openai",
            "provider_details": {"phase": "commentary"},
            "citations": [
                {
                    "sources": [
                        {"url": "https://x.test", "title": "X", "excerpts": [], "kind": "web"}
                    ],
                    "anchor": None,
                }
            ],
            "part_kind": "text",
        }
    }


def test_request_parts_without_a_part_of_ours_stay_in_the_metadata(store: Store) -> None:
    empty_prompt = ModelRequest(parts=[UserPromptPart([], timestamp=at(1))], timestamp=at(2))
    tool = ModelRequest(
        parts=[
            ToolReturnPart("a", "1", tool_call_id="c1", timestamp=at(3)),
            UserPromptPart([], timestamp=at(4)),  # between two results
            ToolReturnPart("b", "2", tool_call_id="c2", timestamp=at(5)),
        ]
    )
    store.save([empty_prompt, tool])
    assert dumps(store.load()) == dumps([empty_prompt, tool])
    first, second = store.thread()
    assert (first.role.value, first.parts) == ("user", [])
    assert second.role.value == "tool"
    assert len(second.parts) == 2
    assert [index for index, _ in second.metadata["pydantic_ai"]["extra"]] == [1]


# ------------------------------------------------------------------------- usage


def reply(
    model_name: str | None,
    provider: str | None = None,
    *,
    second: int = 0,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
) -> ModelResponse:
    """A reply of ``model_name`` at a timestamp of its own."""
    usage = RequestUsage(
        input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cache_read_tokens
    )
    return ModelResponse(
        parts=[TextPart("ok")],
        usage=usage,
        model_name=model_name,
        provider_name=provider,
        timestamp=at(second),
    )


def test_usage_is_priced_through_the_named_model(store: Store) -> None:
    azure = store.admin.models.create(
        ModelCreate(
            provider="azure",
            name="gpt-4o",
            input_price_per_million=Decimal("5"),
            output_price_per_million=Decimal("20"),
        )
    )
    saved = [
        reply("gpt-4o", "azure", second=1, input_tokens=1000, output_tokens=10),
        reply("gpt-4o", "openai", second=2, input_tokens=1000, output_tokens=10),
        reply("gpt-4o-2024-08-06", "openai-chat", second=3, input_tokens=1000, output_tokens=10),
        reply("gpt-4o", "groq", second=4, input_tokens=1, output_tokens=1),
        reply("not-in-the-catalog", "openai", second=5, input_tokens=1000, output_tokens=10),
        reply(None, second=6, input_tokens=7, output_tokens=3),
    ]
    store.save(saved)
    rows = store.thread()
    assert [(m.model_id, m.cost) for m in rows] == [
        (azure.id, Decimal("0.0052")),  # azure's price, by the provider the reply names
        (store.gpt.id, Decimal("0.0026")),
        (store.gpt.id, Decimal("0.0026")),  # an alias; "openai-chat" is no provider: any
        (None, Decimal(0)),  # two providers have "gpt-4o", and neither is "groq"
        (None, Decimal(0)),  # not in the catalog
        (None, Decimal(0)),  # no model named
    ]
    assert [m.input_tokens for m in rows[3:]] == [0, 0, 0]  # unpriced: metadata only
    assert rows[4].metadata["pydantic_ai"]["message"]["usage"]["input_tokens"] == 1000
    assert dumps(store.load()) == dumps(saved)
    totals = store.admin.usage.totals(user_id="alice")
    assert (totals.input_tokens, totals.cost) == (3000, Decimal("0.0104"))


def test_inconsistent_usage_is_stored_unpriced(store: Store) -> None:
    saved = [reply("gpt-4o", "openai", input_tokens=10, cache_read_tokens=50, output_tokens=1)]
    store.save(saved)
    (row,) = store.thread()
    assert (row.model_id, row.input_tokens, row.cost) == (None, 0, Decimal(0))
    assert dumps(store.load()) == dumps(saved)


def test_budget_refuses_the_whole_save(store: Store) -> None:
    store.admin.budgets.set("alice", Decimal("0.003"), period="total")
    model = WeatherModel()
    first = store.run(weather_agent(model), "Weather in Rome?")
    store.save(first.new_messages())  # 0.0037 spent: over the limit afterwards
    second = store.run(weather_agent(model), "And in Oslo?")
    with pytest.raises(BudgetExceededError):
        store.save(second.new_messages())
    assert len(store.thread()) == 5  # not even the user's request of the refused save
    assert dumps(store.load()) == dumps(first.all_messages())


def test_a_disabled_model_refuses_the_save(store: Store) -> None:
    store.admin.models.disable(store.gpt.id)
    with pytest.raises(ModelUnavailableError):
        store.save([ModelRequest(parts=[UserPromptPart("hi", timestamp=at(0))]), reply("gpt-4o")])
    assert store.thread() == []


# ---------------------------------------------------------------------- history


def test_save_appends_only_what_the_thread_lacks(store: Store) -> None:
    model = WeatherModel()
    agent = weather_agent(model)
    first = store.run(agent, "Rome?")
    assert len(store.save(first.new_messages())) == 5
    assert store.save(first.new_messages()) == []
    assert store.save(first.all_messages()) == []
    second = store.run(agent, "Oslo?")
    new = second.new_messages()
    assert len(store.save(new[:2])) == 2  # part of a run, then the whole of it
    assert len(store.save(second.all_messages())) == 2
    assert dumps(store.load()) == dumps(second.all_messages())


def test_messages_stored_by_other_means_load_and_continue(store: Store) -> None:
    png = f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
    chat, add = store.chat.id, store.admin.messages.add
    add(chat, MessageCreate(role="system", content="Be brief."), user_id="alice")
    add(
        chat,
        MessageCreate(
            role="user", parts=[OurText(text="Rome?"), ImagePart(uri=png, mime_type="image/png")]
        ),
        user_id="alice",
    )
    add(
        chat,
        MessageCreate(
            role="assistant",
            parts=[
                ReasoningPart(text="Check.", signature="sig", provider="anthropic"),
                OurCall(id="call_9", name="weather", arguments={"city": "Rome"}),
            ],
            model_id=store.gpt.id,
            usage={"input_tokens": 10, "output_tokens": 5},
        ),
        user_id="alice",
    )
    add(chat, MessageCreate(role="tool", content="sunny", tool_call_id="call_9"), user_id="alice")
    add(chat, MessageCreate(role="assistant", content="Sunny."), user_id="alice")
    loaded = store.load()
    request, call, result, answer = loaded  # consecutive requests merged, as PydanticAI does
    assert isinstance(request, ModelRequest)
    assert isinstance(call, ModelResponse)
    assert isinstance(result, ModelRequest)
    assert isinstance(answer, ModelResponse)
    system, prompt = request.parts
    assert isinstance(system, SystemPromptPart)
    assert system.content == "Be brief."
    assert isinstance(prompt, UserPromptPart)
    assert isinstance(prompt.content, list)
    assert prompt.content[0] == "Rome?"
    assert isinstance(prompt.content[1], BinaryContent)
    assert prompt.content[1].data == PNG
    thinking, tool_call = call.parts
    assert isinstance(thinking, ThinkingPart)
    assert thinking.signature == "sig"
    assert isinstance(tool_call, ToolCallPart)
    assert tool_call.args == {"city": "Rome"}
    assert (call.usage.input_tokens, call.usage.output_tokens) == (10, 5)
    tool_return = result.parts[0]
    assert isinstance(tool_return, ToolReturnPart)
    assert (tool_return.tool_name, tool_return.content) == ("weather", "sunny")
    assert answer.parts == [TextPart("Sunny.")]
    assert dumps(store.load()) == dumps(loaded)  # the same each time

    run = store.run(weather_agent(WeatherModel()), "And Oslo?")
    assert len(store.save(run.all_messages())) == 4  # the stored ones are recognized
    assert dumps(store.load()) == dumps(run.all_messages())


def test_an_edited_prompt_loads_on_its_branch(store: Store) -> None:
    first = store.run(weather_agent(WeatherModel()), PROMPT)
    store.save(first.new_messages())
    prompt = store.thread()[1]
    store.admin.messages.edit(prompt.id, "Only the map, please.", user_id="alice")
    (request,) = store.load()
    assert isinstance(request, ModelRequest)
    _system, user = request.parts
    assert isinstance(user, UserPromptPart)
    assert isinstance(user.content, list)
    assert user.content[0] == "Only the map, please."
    assert isinstance(user.content[1], BinaryContent)
    assert user.content[1].data == PNG
    as_sent = ModelRequest([UserPromptPart(PROMPT[1:], timestamp=at(0))])
    assert dumps([ModelRequest([UserPromptPart(user.content[1:], timestamp=at(0))])]) == dumps(
        [as_sent]
    )
    assert request.instructions == "Answer in English."
    run = store.run(weather_agent(WeatherModel()), "Thanks")
    assert len(store.save(run.all_messages())) == 4  # the edited request is recognized
    assert dumps(store.load()) == dumps(run.all_messages())


# ------------------------------------------------------------------------ errors


def test_another_users_chat_is_not_found(store: Store) -> None:
    store.save([ModelRequest(parts=[UserPromptPart("secret", timestamp=at(0))])])
    with pytest.raises(ChatNotFound):
        store.load(user_id="bob")
    with pytest.raises(ChatNotFound):
        store.save([ModelRequest(parts=[UserPromptPart("mine", timestamp=at(1))])], user_id="bob")
    bobs = store.admin.chats.create(ChatCreate(user_id="bob"))
    with pytest.raises(ChatNotFound):
        store.load(chat_id=bobs.id)
    assert len(store.thread()) == 1


def test_bad_arguments_are_typed_errors(store: Store) -> None:
    with pytest.raises(InvalidInputError) as error:
        SynergiaMessageHistory(object(), store.chat.id, user_id="alice")  # type: ignore[type-var]
    assert error.value.field == "sy"
    with pytest.raises(InvalidInputError) as error:
        SynergiaMessageHistory(store.admin, "not-a-uuid", user_id="alice")
    assert error.value.field == "chat_id"
    with pytest.raises(InvalidInputError) as error:
        SynergiaMessageHistory(store.admin, store.chat.id, user_id="")
    assert error.value.field == "user_id"
    for bad in ("text", None, [ModelRequest(parts=[]), {"kind": "request"}]):
        with pytest.raises(InvalidInputError) as error:
            store.save(bad)  # type: ignore[arg-type]
        assert error.value.field == "messages"
    nul = ModelRequest(parts=[UserPromptPart("a\x00b", timestamp=at(0))])
    with pytest.raises(InvalidInputError):
        store.save([nul])
    assert store.thread() == []


def test_sync_and_async_shapes() -> None:
    """The two shapes, as the type checker and the runtime see them."""
    assert SynergiaMessageHistory.load.__doc__
    assert SynergiaMessageHistory.save.__doc__
    with Synergia("sqlite://", auto_migrate=True) as sy:
        chat = sy.chats.create(ChatCreate(user_id="alice"))
        history = SynergiaMessageHistory(sy, str(chat.id), user_id="alice")
        loaded: list[ModelMessage] = history.load()
        stored: list[MessageRead] = history.save(loaded)
        assert (loaded, stored) == ([], [])
        assert repr(history) == f"SynergiaMessageHistory(chat_id={chat.id}, user_id='alice')"

    async def main() -> None:
        async with AsyncSynergia("sqlite://", auto_migrate=True) as asy:
            chat = await asy.chats.create(ChatCreate(user_id="alice"))
            history = SynergiaMessageHistory(asy, chat.id, user_id="alice")
            pending = history.load()
            assert asyncio.iscoroutine(pending)
            loaded: list[ModelMessage] = await pending
            saved: list[MessageRead] = await history.save(loaded)
            assert (loaded, saved) == ([], [])

    asyncio.run(main())


def test_the_example_program_runs(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = runpy.run_path(str(Path(__file__).parents[2] / "examples" / "pydantic_ai_chat.py"))
    namespace["main"](db_url)
    assert capsys.readouterr().out.splitlines() == [
        "Tomorrow in Rome: sunny, 24 C.",
        "Tomorrow in Oslo: sunny, 24 C.",
        "Tomorrow in Lisbon: sunny, 24 C.",
        "12 PydanticAI messages in 12 stored ones",
        "1440 input tokens, 60 output, $0.0042",  # the prompt grows with the history
    ]


def test_importing_synergia_core_does_not_import_pydantic_ai() -> None:
    code = (
        "import sys, synergia_core, synergia_core.integrations; "
        "assert 'pydantic_ai' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
