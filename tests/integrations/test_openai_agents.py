"""``integrations.openai_agents``: the Agents SDK's ``Session`` on a chat.

Every test runs on SQLite and PostgreSQL, through the sync and the async
facade (``mode``). The SDK's own ``SQLiteSession`` is the oracle: fed the
same items, ours gives back the same ones, their JSON byte for byte.
"""

from __future__ import annotations

import inspect
import json
import runpy
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner, SessionSettings
from agents.memory import Session
from agents.memory.sqlite_session import SQLiteSession
from agents.run_context import RunContextWrapper

from synergia_core import (
    AsyncSynergia,
    BudgetExceededError,
    ChatCreate,
    ChatNotFound,
    InvalidInputError,
    MessageCreate,
    MessageRead,
    Synergia,
    ToolCall,
)
from synergia_core.integrations.openai_agents import SynergiaSession
from synergia_core.parts import (
    FilePart,
    ImagePart,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from tests.integrations.openai_agents_support import (
    CORPUS,
    LONG,
    PDF,
    PNG,
    CannedModel,
    Env,
    as_items,
    run_sync,
    tool_turns,
    usage,
    weather,
)

ROOT = Path(__file__).resolve().parents[2]
NO_TRACING = RunConfig(tracing_disabled=True)


def dumped(items: object) -> str:
    return json.dumps(items)


def create(env: Env, user_id: str = "alice", **kwargs: Any) -> SynergiaSession:
    return env.run(SynergiaSession.create(env.sy, user_id=user_id, **kwargs))


def thread(env: Env, session: SynergiaSession) -> list[MessageRead]:
    messages: list[MessageRead] = env.call(
        env.sy.messages.thread(session.chat_id, user_id=session.user_id)
    )
    return messages


# ------------------------------------------------------------------- the runner


def test_runs_with_a_tool_accumulate_like_the_sdks_own_session(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        gpt = env.gpt()
        session = create(env, title="Weather", model="gpt-4o-2024-08-06")
        oracle = SQLiteSession("oracle")
        assert isinstance(session, Session)
        history: list[Any] = []
        for n, (city, answer) in enumerate([("Rome", "Sunny in Rome."), ("Oslo", "Rain.")]):
            model = CannedModel(tool_turns(city, answer, n))
            reference = CannedModel(tool_turns(city, answer, n))
            agent = Agent(name="forecaster", model=model, tools=[weather])
            question = f"Weather in {city}?"
            if mode == "sync" and n == 0:
                result = run_sync(agent, question, session=session)
            else:  # the async runner, on either facade
                result = env.run(
                    Runner.run(agent, question, session=session, run_config=NO_TRACING)
                )
            env.run(
                Runner.run(
                    agent.clone(model=reference), question, session=oracle, run_config=NO_TRACING
                )
            )
            assert result.final_output == answer
            # The model saw the whole conversation so far, then its own tool loop.
            assert model.inputs == reference.inputs
            assert model.inputs[0] == [*history, {"content": question, "role": "user"}]
            items = env.run(session.get_items())
            assert dumped(items) == dumped(env.run(oracle.get_items()))
            assert len(items) == len(history) + 5
            history = items
        oracle.close()

        messages = thread(env, session)
        assert [m.role.value for m in messages] == [
            "user",
            "assistant",
            "assistant",
            "tool",
            "assistant",
        ] * 2
        reasoning, call, result_part = (
            messages[1].parts[0],
            messages[2].parts[0],
            messages[3].parts[0],
        )
        assert isinstance(reasoning, ReasoningPart)
        assert reasoning.encrypted == "gAAAAABo0" + "Zm9vYmFy" * 40
        assert (reasoning.id, reasoning.provider, reasoning.text) == (
            "rs_0",
            "openai",
            "Look the weather up in Rome.",
        )
        assert isinstance(call, ToolCallPart)
        assert (call.id, call.name, call.arguments) == ("call_0", "weather", {"city": "Rome"})
        assert isinstance(result_part, ToolResultPart)
        assert (result_part.call_id, result_part.output, result_part.name) == (
            "call_0",
            "sunny, 24 C in Rome",
            "weather",
        )
        assert messages[4].content == "Sunny in Rome."

        # Each response's usage sits on its last item, priced through the
        # catalog's gpt-4o (named by its dated alias).
        # (900 * 2.50 + 100 * 1.25 + 200 * 10) / 1e6 and (1300 * 2.50 + 40 * 10) / 1e6
        assert [m.cost for m in messages] == [0, 0, Decimal("0.004375"), 0, Decimal("0.00365")] * 2
        assert [m.model_id for m in messages if m.cost] == [gpt.id] * 4
        assert [(m.input_tokens, m.cache_read_tokens, m.reasoning_tokens) for m in messages][2] == (
            1000,
            100,
            50,
        )
        assert messages[2].metadata["openai_agents"]["model"] == "gpt-4o-2024-08-06"
        assert env.call(env.sy.usage.totals(user_id="alice")).cost == Decimal("0.01605")
        chat = env.call(env.sy.chats.get(session.chat_id, user_id="alice"))
        assert (chat.title, chat.model_id) == ("Weather", gpt.id)


def test_streamed_runs_store_and_price_the_same(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        env.gpt()
        session = create(env, model="gpt-4o")
        oracle = SQLiteSession("oracle")
        for n, city in enumerate(["Rome", "Oslo"]):
            for target in (session, oracle):
                model = CannedModel(tool_turns(city, f"Answer {n}.", n))
                agent = Agent(name="forecaster", model=model, tools=[weather])

                async def stream(agent: Agent[Any], question: str, target: Any) -> object:
                    result = Runner.run_streamed(
                        agent, question, session=target, run_config=NO_TRACING
                    )
                    async for _ in result.stream_events():
                        pass
                    return result.final_output

                assert env.run(stream(agent, f"And {city}?", target)) == f"Answer {n}."
        items = env.run(session.get_items())
        assert dumped(items) == dumped(env.run(oracle.get_items()))
        oracle.close()
        assert [m.cost for m in thread(env, session)] == [
            0,
            0,
            Decimal("0.004375"),
            0,
            Decimal("0.00365"),
        ] * 2


def test_session_settings_and_the_runs_override(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        session = create(env, session_settings=SessionSettings(limit=2))
        assert session.session_settings == SessionSettings(limit=2)
        env.run(session.add_items([{"content": f"Turn {i}", "role": "user"} for i in range(5)]))
        assert env.run(session.get_items()) == [
            {"content": "Turn 3", "role": "user"},
            {"content": "Turn 4", "role": "user"},
        ]
        assert len(env.run(session.get_items(limit=4))) == 4
        as_dict = SynergiaSession(
            env.sy, session.chat_id, user_id="alice", session_settings={"limit": 1}
        )
        assert env.run(as_dict.get_items()) == [{"content": "Turn 4", "role": "user"}]
        assert SynergiaSession(env.sy, session.chat_id, user_id="a").session_settings == (
            SessionSettings()
        )

        model = CannedModel(
            [
                (
                    [
                        {
                            "type": "message",
                            "id": "m",
                            "role": "assistant",
                            "status": "completed",
                            "content": [{"type": "output_text", "text": "ok", "annotations": []}],
                        }
                    ],
                    usage(5, 1),
                )
            ]
        )
        config = RunConfig(tracing_disabled=True, session_settings=SessionSettings(limit=1))
        env.run(Runner.run(Agent(name="a", model=model), "New", session=session, run_config=config))
        assert model.inputs == [
            [{"content": "Turn 4", "role": "user"}, {"content": "New", "role": "user"}]
        ]


# ------------------------------------------------------------- items, exactly


def test_every_item_kind_round_trips_like_sqlite_session(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        session = create(env)
        oracle = SQLiteSession("oracle")
        for batch in (CORPUS[:5], CORPUS[5:14], CORPUS[14:]):
            env.run(session.add_items(batch))
            env.run(oracle.add_items(as_items(batch)))

        def same(ours: object, theirs: object) -> None:
            assert ours == theirs
            assert dumped(ours) == dumped(theirs)  # key order and all

        same(env.run(session.get_items()), CORPUS)
        same(env.run(session.get_items()), env.run(oracle.get_items()))
        for limit in range(len(CORPUS) + 2):
            same(env.run(session.get_items(limit)), env.run(oracle.get_items(limit)))
        for _ in range(5):
            same(env.run(session.pop_item()), env.run(oracle.pop_item()))
        same(env.run(session.get_items()), env.run(oracle.get_items()))
        for batch in (CORPUS[3:4], CORPUS[9:12]):
            env.run(session.add_items(batch))
            env.run(oracle.add_items(as_items(batch)))
        same(env.run(session.get_items()), env.run(oracle.get_items()))
        same(env.run(session.get_items(3)), env.run(oracle.get_items(3)))
        if mode == "sync":
            same(session.get_items_sync(2), env.run(oracle.get_items(2)))

        env.run(session.clear_session())
        env.run(oracle.clear_session())
        same(env.run(session.get_items()), [])
        same(env.run(session.pop_item()), env.run(oracle.pop_item()))
        env.run(session.add_items(CORPUS[-3:]))
        env.run(oracle.add_items(as_items(CORPUS[-3:])))
        same(env.run(session.get_items()), env.run(oracle.get_items()))
        # A fresh session object reads the same chat.
        again = SynergiaSession(env.sy, session.session_id, user_id="alice")
        same(env.run(again.get_items()), CORPUS[-3:])
        oracle.close()


def test_items_map_onto_parts_and_views(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        session = create(env)
        env.run(session.add_items(CORPUS))
        messages = thread(env, session)
        assert len(messages) == len(CORPUS)
        by_item = dict(zip(range(len(CORPUS)), messages, strict=True))

        assert by_item[0].parts == [TextPart(text="Hello")]
        assert by_item[0].metadata == {}  # plain text: nothing but the text is stored
        assert by_item[5].role.value == by_item[6].role.value == "system"  # developer too
        assert by_item[6].content == "Use metric units."
        assert by_item[7].parts == [
            TextPart(text="Compare the picture with the report. " + LONG),
            ImagePart(uri=PNG, mime_type="image/png", detail="low"),
            ImagePart(uri="https://example.com/map.jpg", mime_type="image/jpeg", detail="auto"),
            ImagePart(uri="file-id:openai:file-img123", mime_type="image/*", detail="high"),
            FilePart(uri=PDF, mime_type="application/pdf", name="report.pdf"),
            FilePart(uri="https://example.com/annex.pdf", mime_type="application/pdf"),
            FilePart(uri="file-id:openai:file-doc456", mime_type="application/octet-stream"),
        ]
        assert [a.kind for a in by_item[7].attachments or ()] == ["image"] * 3 + ["file"] * 3
        # Long strings are stored once, in the parts; metadata refers to them.
        assert PNG not in json.dumps(by_item[7].metadata)
        assert PDF not in json.dumps(by_item[7].metadata)

        text, refusal = by_item[9].parts
        assert isinstance(text, TextPart)
        assert text.meta["id"] == "msg_out1"
        assert text.meta["phase"] == "final_answer"
        assert text.meta["annotations"] == CORPUS[9]["content"][0]["annotations"]
        assert refusal == TextPart(
            text="I cannot share the exact address.",
            meta={
                "id": "msg_out1",
                "status": "completed",
                "phase": "final_answer",
                "refusal": True,
            },
        )

        reasoning = by_item[10].parts[0]
        assert isinstance(reasoning, ReasoningPart)
        assert reasoning.encrypted == CORPUS[10]["encrypted_content"]
        assert reasoning.text == (
            "First, the user wants the weather.\n\nThen call the weather tool for Rome."
        )
        assert CORPUS[10]["encrypted_content"] not in json.dumps(by_item[10].metadata)
        assert by_item[11].parts[0] == ReasoningPart(
            text="Plain reasoning text. " + LONG,
            id="rs_2",
            provider="openai",
            meta={"content": CORPUS[11]["content"]},
        )
        assert by_item[13].tool_calls == [
            ToolCall(id="call_1", name="weather", arguments={"city": "Rome"})
        ]
        assert by_item[14].parts == [
            ToolResultPart(call_id="call_1", output="sunny, 24 C", name="weather")
        ]
        assert by_item[15].tool_calls == [
            ToolCall(id="call_2", name="weather", arguments={"city": "Oslo", "units": ["c", "f"]})
        ]
        assert by_item[16].tool_calls == [
            ToolCall(id="call_3", name="weather", arguments="not json at all")
        ]
        assert by_item[17].parts == [
            ToolResultPart(
                call_id="call_2",
                name="weather",
                output=[
                    TextPart(text="Oslo: rain. " + LONG),
                    ImagePart(uri=PNG, mime_type="image/png", detail="auto"),
                ],
            )
        ]
        custom = by_item[19].parts[0]
        assert isinstance(custom, ToolCallPart)
        assert (custom.name, custom.arguments, custom.meta) == (
            "sql",
            "SELECT 1; " + LONG,
            {"custom": True},
        )
        assert by_item[20].parts == [ToolResultPart(call_id="call_c", output="1")]
        for index in [*range(21, 36), 39]:
            assert by_item[index].role.value == "assistant"
            assert by_item[index].parts == [RawPart(provider="openai", data=CORPUS[index])]
        assert by_item[36].parts == [
            ToolResultPart(call_id="call_json", output=CORPUS[36]["output"])
        ]
        assert by_item[37].parts == [
            ToolResultPart(call_id="call_audio", output=CORPUS[37]["output"])
        ]
        assert by_item[38].role.value == "user"
        assert by_item[38].parts == [RawPart(provider="openai", data=CORPUS[38])]

        # The library's own views read the session's messages.
        request = env.call(
            env.sy.messages.context(session.chat_id, user_id="alice", format="openai-responses")
        )
        sent = request["input"]
        assert {
            "type": "reasoning",
            "id": "rs_1",
            "encrypted_content": CORPUS[10]["encrypted_content"],
            "summary": CORPUS[10]["summary"],
            "status": "completed",
        } in sent
        assert CORPUS[21] in sent  # a web search call goes back as it came
        calls = [item for item in sent if item.get("type") == "function_call"]
        assert [call.get("call_id") for call in calls] == ["call_1", "call_2", "call_3", None]
        chat_request = env.call(env.sy.messages.context(session.chat_id, user_id="alice"))
        assert {"role": "user", "content": "Hello"} in chat_request


def test_messages_written_by_other_code_are_read_as_items(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        gpt = env.gpt()
        session = create(env)
        add = env.sy.messages.add
        env.call(
            add(session.chat_id, MessageCreate(role="user", content="Weather?"), user_id="alice")
        )
        env.call(
            add(
                session.chat_id,
                MessageCreate(
                    role="assistant",
                    content="Checking.",
                    tool_calls=[ToolCall(id="c1", name="weather", arguments={"city": "Rome"})],
                ),
                user_id="alice",
            )
        )
        env.call(
            add(
                session.chat_id,
                MessageCreate(
                    role="tool", parts=[ToolResultPart(call_id="c1", output={"sky": "clear"})]
                ),
                user_id="alice",
            )
        )
        env.call(
            add(
                session.chat_id,
                MessageCreate(
                    role="user",
                    parts=[
                        TextPart(text="And here?"),
                        ImagePart(uri="https://x.test/a.png", mime_type="image/png"),
                    ],
                ),
                user_id="alice",
            )
        )
        env.call(env.sy.messages.start(session.chat_id, user_id="alice", model_id=gpt.id))

        expected = [
            {"content": "Weather?", "role": "user"},
            {"content": "Checking.", "role": "assistant"},
            {
                "arguments": '{"city":"Rome"}',
                "call_id": "c1",
                "name": "weather",
                "type": "function_call",
            },
            {"call_id": "c1", "output": '{"sky":"clear"}', "type": "function_call_output"},
            {
                "content": [
                    {"type": "input_text", "text": "And here?"},
                    {"type": "input_image", "detail": "auto", "image_url": "https://x.test/a.png"},
                ],
                "role": "user",
            },
        ]
        assert env.run(session.get_items()) == expected  # the streaming reply is no item yet
        assert env.run(session.get_items(3)) == expected[2:]
        assert env.run(session.get_items(1)) == expected[4:]
        env.run(session.pop_item())  # the streaming reply and the user message
        env.run(session.pop_item())  # the tool message
        # One message held two items: popping it returns the last and removes both.
        assert env.run(session.pop_item()) == expected[2]
        assert env.run(session.get_items()) == expected[:1]


def test_an_edited_message_reads_its_new_text(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        session = create(env)
        env.run(
            session.add_items(
                [
                    {"role": "user", "content": "Hi"},
                    {
                        "type": "message",
                        "role": "user",
                        "content": [
                            {"type": "input_text", "text": "What is the weather in Rome right now?"}
                        ],
                    },
                ]
            )
        )
        first, second = thread(env, session)
        env.call(env.sy.messages.edit(second.id, "And in Oslo?", user_id="alice"))
        assert env.run(session.get_items()) == [
            {"role": "user", "content": "Hi"},
            {"content": "And in Oslo?", "role": "user"},
        ]
        env.call(env.sy.messages.edit(first.id, "Hello", user_id="alice"))
        assert env.run(session.get_items()) == [{"content": "Hello", "role": "user"}]


# -------------------------------------------------------------------- usage


def test_usage_of_a_model_not_in_the_catalog_is_kept_unpriced(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        for name in ("gpt-9", None):
            session = create(env, model=name)
            model = CannedModel(tool_turns("Rome", "Sunny.", 1))
            env.run(
                Runner.run(
                    Agent(name="a", model=model, tools=[weather]),
                    "Weather?",
                    session=session,
                    run_config=NO_TRACING,
                )
            )
            messages = thread(env, session)
            assert [m.cost for m in messages] == [0] * 5
            assert all(m.model_id is None and m.input_tokens == 0 for m in messages)
            entry = messages[2].metadata["openai_agents"]
            assert entry["usage"] == {
                "input_tokens": 1000,
                "output_tokens": 200,
                "total_tokens": 1200,
                "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 50},
            }
            assert entry.get("model") == name
            assert messages[4].metadata["openai_agents"]["usage"]["input_tokens"] == 1300
            assert "usage" not in messages[1].metadata.get("openai_agents", {})
            chat = env.call(env.sy.chats.get(session.chat_id, user_id="alice"))
            assert chat.model_id is None


def test_each_response_is_recorded_once(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        env.gpt()
        session = create(env, model="gpt-4o")
        call = CORPUS[13]
        answer = {
            "type": "message",
            "id": "m1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Sunny.", "annotations": []}],
        }
        run: RunContextWrapper[None] = RunContextWrapper(context=None)
        run.usage.add(usage(1000, 100))
        env.run(session.add_items([call, CORPUS[14]], wrapper=run))
        env.run(session.add_items([answer], wrapper=run))  # no new response since
        run.usage.add(usage(2000, 10))
        env.run(session.add_items([{"content": "Thanks", "role": "user"}], wrapper=run))
        env.run(session.add_items([answer], wrapper=run))
        # A run resumed elsewhere: its context holds responses recorded before;
        # the batch holds one response's items, so only the last is recorded.
        resumed: RunContextWrapper[None] = RunContextWrapper(context=None)
        for spent in (usage(1000, 100), usage(2000, 10), usage(3000, 1)):
            resumed.usage.add(spent)
        env.run(session.add_items([CORPUS[10], answer], wrapper=resumed))
        tokens = [(m.input_tokens, m.output_tokens) for m in thread(env, session)]
        assert tokens == [(1000, 100), (0, 0), (0, 0), (0, 0), (2000, 10), (0, 0), (3000, 1)]


def test_a_finished_runs_items_added_by_hand_carry_its_usage(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        gpt = env.gpt()
        session = create(env, model="gpt-4o")
        agent = Agent(name="a", model=CannedModel(tool_turns("Rome", "Sunny.", 1)), tools=[weather])
        result = env.run(Runner.run(agent, "Weather?", run_config=NO_TRACING))  # no session
        env.run(session.add_items(result.to_input_list(), wrapper=result.context_wrapper))
        messages = thread(env, session)
        assert [m.cost for m in messages] == [0, 0, Decimal("0.004375"), 0, Decimal("0.00365")]
        assert {m.model_id for m in messages if m.cost} == {gpt.id}
        assert env.run(session.get_items()) == result.to_input_list()


def test_a_user_over_budget_stops_the_run(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        env.gpt()
        env.call(env.sy.budgets.set("alice", Decimal("0"), period="total"))
        session = create(env, model="gpt-4o")
        model = CannedModel(tool_turns("Rome", "Sunny.", 1))
        with pytest.raises(BudgetExceededError):
            env.run(
                Runner.run(
                    Agent(name="a", model=model, tools=[weather]),
                    "Weather?",
                    session=session,
                    run_config=NO_TRACING,
                )
            )
        # The question was saved before the model answered; the priced batch was not.
        assert env.run(session.get_items()) == [{"content": "Weather?", "role": "user"}]


# ------------------------------------------------------------------- errors


def test_another_users_chat_is_not_found(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        session = create(env)
        env.run(session.add_items([{"content": "secret", "role": "user"}]))
        for chat_id in (session.chat_id, uuid.uuid4()):
            theirs = SynergiaSession(env.sy, chat_id, user_id="mallory")
            with pytest.raises(ChatNotFound):
                env.run(theirs.get_items())
            with pytest.raises(ChatNotFound):
                env.run(theirs.add_items([{"content": "hi", "role": "user"}]))
            with pytest.raises(ChatNotFound):
                env.run(theirs.pop_item())
            with pytest.raises(ChatNotFound):
                env.run(theirs.clear_session())
        assert env.run(session.get_items()) == [{"content": "secret", "role": "user"}]


def test_bad_arguments_are_typed_errors(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        session = create(env)
        with pytest.raises(InvalidInputError, match="Synergia or an AsyncSynergia"):
            SynergiaSession(db_url, session.chat_id, user_id="alice")  # type: ignore[arg-type]
        for bad in ({"chat_id": "nope"}, {"user_id": ""}, {"model": 5}, {"provider": ""}):
            arguments: dict[str, Any] = {"chat_id": session.chat_id, "user_id": "alice", **bad}
            with pytest.raises(InvalidInputError):
                SynergiaSession(env.sy, **arguments)
        for limit in (-1, "2", True, 1.5):
            with pytest.raises(InvalidInputError, match="limit"):
                env.run(session.get_items(limit))  # type: ignore[arg-type]
        for items in (
            "text",
            {"content": "x", "role": "user"},
            [1],
            [{"x": object()}],
            [{"x": float("nan")}],
        ):
            with pytest.raises(InvalidInputError, match="items"):
                env.run(session.add_items(items))  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="NUL"):
            env.run(session.add_items([{"content": "a\x00b", "role": "user"}]))
        assert env.run(session.get_items()) == []

        if mode == "async":
            asy = env.sy
            assert isinstance(asy, AsyncSynergia)
            with pytest.raises(TypeError, match=r"await session\.get_items\("):
                session.get_items_sync()
            with pytest.raises(TypeError, match=r"await session\.add_items\("):
                session.add_items_sync([])
            with pytest.raises(TypeError, match=r"await session\.pop_item\("):
                session.pop_item_sync()
            with pytest.raises(TypeError, match=r"await session\.clear_session\("):
                session.clear_session_sync()
            with pytest.raises(TypeError, match=r"await SynergiaSession\.create\("):
                SynergiaSession.create_sync(asy, user_id="a")  # type: ignore[arg-type]
        else:
            assert isinstance(env.sy, Synergia)
            other = AsyncSynergia(db_url)
            with pytest.raises(TypeError, match=r"await SynergiaSession\.create\("):
                SynergiaSession.create_sync(other, user_id="a")  # type: ignore[arg-type]
            env.run(other.close())
            created = SynergiaSession.create_sync(env.sy, user_id="bob", title="Sync")
            created.add_items_sync([{"content": "hi", "role": "user"}])
            assert created.pop_item_sync() == {"content": "hi", "role": "user"}
            assert created.pop_item_sync() is None
            created.clear_session_sync()
            with pytest.raises(ChatNotFound):
                SynergiaSession(env.sy, uuid.uuid4(), user_id="bob").get_items_sync()


def test_the_session_opts_into_the_runners_context() -> None:
    for name in ("get_items", "add_items", "pop_item", "clear_session"):
        parameter = inspect.signature(getattr(SynergiaSession, name)).parameters["wrapper"]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY


# ------------------------------------------------------------------ example


def test_the_example_runs(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = runpy.run_path(str(ROOT / "examples" / "openai_agents_chat.py"))
    namespace["main"](db_url)
    out = capsys.readouterr().out
    assert "> Which city did I ask about?\nYou asked about Rome." in out
    assert "  assistant tool_call    $0.0035\n  tool      tool_result  $0\n" in out
    assert out.endswith("cost: $0.0105\n")


def test_chats_made_elsewhere_hold_sessions(db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        chat = env.call(env.sy.chats.create(ChatCreate(user_id="alice", title="From the UI")))
        session = SynergiaSession(env.sy, str(chat.id), user_id="alice")
        assert session.session_id == str(chat.id)
        env.run(session.add_items(CORPUS[:2]))
        assert env.run(session.get_items()) == CORPUS[:2]
        assert repr(session) == f"SynergiaSession(chat_id={str(chat.id)!r}, user_id='alice')"
