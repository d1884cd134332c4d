"""The Agents SDK's own session tests, adapted to run on ``SynergiaSession``.

The scenarios restate the behaviour checked by ``tests/memory/test_session.py``
and ``tests/memory/test_session_limit.py`` of openai/openai-agents-python
(memory across runs of ``run``, ``run_sync`` and ``run_streamed``, separate
sessions, list input, ``session_input_callback``, ``SessionSettings`` limits,
``pop_item``, ``get_items(limit)``, unicode and SQL-looking text, concurrent
writers, a failing ``add_items`` in a streamed run). Each runs on the SDK's
``SQLiteSession`` (the reference the scenarios were written for) and on
``SynergiaSession`` over both facades and both databases. ``run_sync`` runs
in a thread with a loop of its own, as the SDK's tests do, so it is used
with the sync facade (an ``AsyncSynergia`` belongs to its own loop).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, cast

import pytest
from agents import Agent, RunConfig, Runner, SessionSettings
from agents.memory import Session
from agents.memory.sqlite_session import SQLiteSession
from agents.result import RunResultBase
from agents.testing import ScriptedModel, assistant_message

from synergia_core.integrations.openai_agents import SynergiaSession
from tests.integrations.openai_agents_support import Env, as_items

NO_TRACING = RunConfig(tracing_disabled=True)


class Store:
    """Makes the scenario's sessions: SQLiteSession, or SynergiaSession on a
    facade (each new session a new chat)."""

    def __init__(self, env: Env | None) -> None:
        self.env = env
        self.opened: list[SQLiteSession] = []

    @property
    def threads_allowed(self) -> bool:
        """Whether sessions may be used from other threads and loops."""
        return self.env is None or self.env.mode == "sync"

    @property
    def methods(self) -> tuple[str, ...]:
        if self.threads_allowed:
            return ("run", "run_sync", "run_streamed")
        return ("run", "run_streamed")

    async def new(self, settings: SessionSettings | dict[str, Any] | None = None) -> Session:
        if self.env is None:
            reference = SQLiteSession(f"s{len(self.opened)}", session_settings=settings)
            self.opened.append(reference)
            return reference
        return await SynergiaSession.create(
            self.env.sy, user_id="tester", session_settings=settings
        )

    def close(self) -> None:
        for session in self.opened:
            session.close()


def _run_sync_in_thread(agent: Agent[Any], data: Any, kwargs: dict[str, Any]) -> RunResultBase:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return Runner.run_sync(agent, data, **kwargs)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


async def run_agent(method: str, agent: Agent[Any], data: Any, **kwargs: Any) -> RunResultBase:
    """Run ``agent`` with one of the runner's three entry points."""
    kwargs.setdefault("run_config", NO_TRACING)
    if method == "run":
        return await Runner.run(agent, data, **kwargs)
    if method == "run_sync":
        return await asyncio.to_thread(_run_sync_in_thread, agent, data, kwargs)
    result = Runner.run_streamed(agent, data, **kwargs)
    async for _ in result.stream_events():
        pass
    return result


def contents(items: list[Any]) -> list[Any]:
    return [item.get("content") for item in items]


# ---------------------------------------------------------------- scenarios


async def memory_across_runs(store: Store, method: str) -> None:
    session = await store.new()
    model = ScriptedModel()
    agent = Agent(name="test", model=model)
    model.enqueue([assistant_message("San Francisco")])
    first = await run_agent(
        method, agent, "What city is the Golden Gate Bridge in?", session=session
    )
    assert first.final_output == "San Francisco"
    model.enqueue([assistant_message("California")])
    second = await run_agent(method, agent, "What state is it in?", session=session)
    assert second.final_output == "California"
    sent = cast(list[Any], model.calls[-1].input)
    assert len(sent) == 3  # the first question, its answer, the new question
    assert sent[0] == {"content": "What city is the Golden Gate Bridge in?", "role": "user"}
    assert sent[-1] == {"content": "What state is it in?", "role": "user"}


async def sessions_are_separate(store: Store, method: str) -> None:
    model = ScriptedModel()
    agent = Agent(name="test", model=model)
    cats, dogs = await store.new(), await store.new()
    model.enqueue([assistant_message("I like cats")])
    await run_agent(method, agent, "I like cats", session=cats)
    model.enqueue([assistant_message("I like dogs")])
    await run_agent(method, agent, "I like dogs", session=dogs)
    model.enqueue([assistant_message("Yes, you mentioned cats")])
    result = await run_agent(method, agent, "What did I say I like?", session=cats)
    assert result.final_output == "Yes, you mentioned cats"
    sent = repr(model.calls[-1].input)
    assert "I like cats" in sent
    assert "I like dogs" not in sent


async def list_input_is_appended(store: Store, method: str) -> None:
    session = await store.new()
    history = as_items(
        [
            {"role": "user", "content": "Earlier message"},
            {"role": "assistant", "content": "Saved reply"},
        ]
    )
    await session.add_items(history)
    new_input = [{"role": "user", "content": "Test message"}]
    model = ScriptedModel()
    model.enqueue([assistant_message("This should run")])
    await run_agent(method, Agent(name="test", model=model), new_input, session=session)
    assert model.calls[-1].input == history + new_input


async def input_callback_filters_history(store: Store, method: str) -> None:
    session = await store.new()
    history = as_items(
        [
            {"role": "user", "content": "Hello there."},
            {"role": "assistant", "content": "Hi, I'm here to assist you."},
        ]
    )
    await session.add_items(history)

    def users_only(past: list[Any], new: list[Any]) -> list[Any]:
        return [item for item in past if item["role"] == "user"] + new

    new_input = [{"role": "user", "content": "What your name?"}]
    model = ScriptedModel()
    model.enqueue([assistant_message("I'm gpt-4o")])
    config = RunConfig(tracing_disabled=True, session_input_callback=users_only)
    await run_agent(
        method, Agent(name="test", model=model), new_input, session=session, run_config=config
    )
    assert model.calls[-1].input == [history[0], new_input[0]]


async def repeated_history_is_not_stored_again(store: Store, method: str) -> None:
    session = await store.new()

    def repeat_first(past: list[Any], new: list[Any]) -> list[Any]:
        return [*past, past[0], *new] if past else new

    model = ScriptedModel()
    agent = Agent(name="test", model=model)
    config = RunConfig(tracing_disabled=True, session_input_callback=repeat_first)
    for turn in range(3):
        model.enqueue([assistant_message(f"assistant {turn}")])
        await run_agent(method, agent, f"user {turn}", session=session, run_config=config)
    stored = await session.get_items()
    users = [item for item in stored if item.get("role") == "user"]
    assert contents(users) == ["user 0", "user 1", "user 2"]
    assert len(stored) == 6


async def run_limits(store: Store, method: str) -> None:
    for limit, kept in ((2, 2), (0, 0), (None, 4), (100, 4)):
        session = await store.new()
        history = as_items(
            [
                {"role": "user", "content": "Message 1"},
                {"role": "assistant", "content": "Reply 1"},
                {"role": "user", "content": "Message 2"},
                {"role": "assistant", "content": "Reply 2"},
            ]
        )
        await session.add_items(history)
        model = ScriptedModel()
        model.enqueue([assistant_message("ok")])
        config = RunConfig(tracing_disabled=True, session_settings=SessionSettings(limit=limit))
        await run_agent(
            method, Agent(name="test", model=model), "New", session=session, run_config=config
        )
        assert model.calls[-1].input == [
            *history[len(history) - kept :],
            {"content": "New", "role": "user"},
        ]


async def limit_drops_an_output_without_its_call(store: Store, method: str) -> None:
    session = await store.new()
    history = as_items(
        [
            {"role": "user", "content": "What is the weather?"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "It is sunny.", "annotations": []}],
            },
        ]
    )
    await session.add_items(history)
    assert await session.get_items(limit=2) == history[-2:]
    model = ScriptedModel()
    model.enqueue([assistant_message("Tomorrow is sunny too.")])
    config = RunConfig(tracing_disabled=True, session_settings=SessionSettings(limit=2))
    await run_agent(
        method,
        Agent(name="test", model=model),
        "What about tomorrow?",
        session=session,
        run_config=config,
    )
    assert model.calls[-1].input == [
        history[-1],
        {"role": "user", "content": "What about tomorrow?"},
    ]


async def failing_add_items_ends_a_streamed_run(store: Store) -> None:
    session = await store.new()

    async def failing(_items: list[Any]) -> None:
        raise RuntimeError("Simulated session.add_items failure")

    session.add_items = failing  # type: ignore[method-assign,assignment]
    model = ScriptedModel()
    model.enqueue([assistant_message("never reached")])
    result = Runner.run_streamed(
        Agent(name="test", model=model), "Hello", session=session, run_config=NO_TRACING
    )

    async def drain() -> None:
        async for _ in result.stream_events():
            pass

    with pytest.raises(RuntimeError, match=r"Simulated session\.add_items failure"):
        await asyncio.wait_for(drain(), timeout=10)


RUNNER_SCENARIOS: dict[str, Callable[[Store, str], Coroutine[Any, Any, None]]] = {
    "memory_across_runs": memory_across_runs,
    "sessions_are_separate": sessions_are_separate,
    "list_input_is_appended": list_input_is_appended,
    "input_callback_filters_history": input_callback_filters_history,
    "repeated_history_is_not_stored_again": repeated_history_is_not_stored_again,
    "run_limits": run_limits,
    "limit_drops_an_output_without_its_call": limit_drops_an_output_without_its_call,
}


async def direct_add_get_clear(store: Store) -> None:
    session = await store.new()
    items = as_items(
        [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there!"}]
    )
    await session.add_items(items)
    assert await session.get_items() == items
    await session.clear_session()
    assert await session.get_items() == []


async def pop_in_order(store: Store) -> None:
    session = await store.new()
    assert await session.pop_item() is None
    items = as_items(
        [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi there!"},
            {"role": "user", "content": "How are you?"},
        ]
    )
    await session.add_items(items)
    assert len(await session.get_items()) == 3
    assert await session.pop_item() == items[2]
    assert contents(await session.get_items()) == ["Hello", "Hi there!"]
    assert await session.pop_item() == items[1]
    assert await session.pop_item() == items[0]
    assert await session.pop_item() is None
    assert await session.get_items() == []


async def pop_touches_one_session(store: Store) -> None:
    first, second = await store.new(), await store.new()
    await first.add_items(as_items([{"role": "user", "content": "Session 1 message"}]))
    await second.add_items(
        as_items(
            [
                {"role": "user", "content": "Session 2 message 1"},
                {"role": "user", "content": "Session 2 message 2"},
            ]
        )
    )
    popped = await second.pop_item()
    assert popped is not None
    assert popped.get("content") == "Session 2 message 2"
    assert contents(await first.get_items()) == ["Session 1 message"]
    assert contents(await second.get_items()) == ["Session 2 message 1"]


async def get_items_limit(store: Store) -> None:
    session = await store.new()
    texts = ["Message 1", "Response 1", "Message 2", "Response 2", "Message 3", "Response 3"]
    await session.add_items(
        as_items(
            [
                {"role": "user" if index % 2 == 0 else "assistant", "content": text}
                for index, text in enumerate(texts)
            ]
        )
    )
    assert contents(await session.get_items()) == texts
    assert contents(await session.get_items(limit=2)) == texts[-2:]
    assert contents(await session.get_items(limit=4)) == texts[-4:]
    assert contents(await session.get_items(limit=10)) == texts
    assert await session.get_items(limit=0) == []


async def unicode_and_sql_text(store: Store) -> None:
    session = await store.new()
    texts = [
        "こんにちは",
        "😊👍",
        "Привет",
        "O'Reilly",
        "DROP TABLE sessions;",
        '"SELECT * FROM users WHERE name = "admin";"',
        "Robert'); DROP TABLE students;--",
    ]
    await session.add_items(as_items([{"role": "user", "content": text} for text in texts]))
    assert contents(await session.get_items()) == texts


async def settings_defaults_and_limits(store: Store) -> None:
    plain = await store.new()
    assert isinstance(plain.session_settings, SessionSettings)
    assert plain.session_settings.limit is None
    assert (await store.new(SessionSettings(limit=5))).session_settings == SessionSettings(limit=5)
    from_dict = await store.new({"limit": 0})
    assert from_dict.session_settings == SessionSettings(limit=0)
    limited = await store.new(SessionSettings(limit=3))
    await limited.add_items(
        as_items([{"role": "user", "content": f"Message {i}"} for i in range(5)])
    )
    assert contents(await limited.get_items()) == ["Message 2", "Message 3", "Message 4"]
    assert contents(await limited.get_items(limit=2)) == ["Message 3", "Message 4"]
    with pytest.raises(TypeError, match="Unknown session settings: limitt"):
        await store.new({"limitt": 1})


async def concurrent_writers(store: Store) -> None:
    session = await store.new()
    items = [{"role": "user", "content": f"Message {i}"} for i in range(10)]
    if store.threads_allowed:

        def add(item: dict[str, Any]) -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(session.add_items(as_items([item])))
            finally:
                loop.close()

        with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
            list(pool.map(add, items))
    else:
        await asyncio.gather(*(session.add_items(as_items([item])) for item in items))
    assert sorted(contents(await session.get_items())) == sorted(contents(items))


DIRECT_SCENARIOS: dict[str, Callable[[Store], Coroutine[Any, Any, None]]] = {
    "direct_add_get_clear": direct_add_get_clear,
    "pop_in_order": pop_in_order,
    "pop_touches_one_session": pop_touches_one_session,
    "get_items_limit": get_items_limit,
    "unicode_and_sql_text": unicode_and_sql_text,
    "settings_defaults_and_limits": settings_defaults_and_limits,
    "concurrent_writers": concurrent_writers,
    "failing_add_items_ends_a_streamed_run": failing_add_items_ends_a_streamed_run,
}


async def _all_runner_methods(store: Store, name: str) -> None:
    for method in store.methods:
        await RUNNER_SCENARIOS[name](store, method)


# -------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", list(RUNNER_SCENARIOS))
def test_runner_scenarios_on_synergia(name: str, db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        env.run(_all_runner_methods(Store(env), name))


@pytest.mark.parametrize("name", list(DIRECT_SCENARIOS))
def test_direct_scenarios_on_synergia(name: str, db_url: str, mode: str) -> None:
    with Env(mode, db_url) as env:
        env.run(DIRECT_SCENARIOS[name](Store(env)))


@pytest.mark.parametrize("name", list(RUNNER_SCENARIOS))
def test_runner_scenarios_on_the_reference(name: str) -> None:
    store = Store(None)
    try:
        asyncio.run(_all_runner_methods(store, name))
    finally:
        store.close()


@pytest.mark.parametrize("name", list(DIRECT_SCENARIOS))
def test_direct_scenarios_on_the_reference(name: str) -> None:
    store = Store(None)
    try:
        asyncio.run(DIRECT_SCENARIOS[name](store))
    finally:
        store.close()
