"""Shared by the OpenAI Agents SDK tests: a facade per mode, a canned model,
and a corpus of Responses input items of every kind."""

from __future__ import annotations

import asyncio
import copy
import inspect
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar, cast

from agents import Agent, RunConfig, Runner, RunResult, function_tool
from agents.agent_output import AgentOutputSchemaBase
from agents.handoffs import Handoff
from agents.items import ModelResponse, TResponseInputItem, TResponseStreamEvent
from agents.model_settings import ModelSettings
from agents.models.interface import Model, ModelTracing
from agents.tool import Tool
from agents.usage import Usage as AgentsUsage
from openai.types.responses import Response, ResponseCompletedEvent, ResponseOutputItem
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import ResponseUsage
from pydantic import TypeAdapter

from synergia_core import AsyncSynergia, ModelCreate, ModelRead, Synergia

T = TypeVar("T")

_OUTPUT: TypeAdapter[ResponseOutputItem] = TypeAdapter(ResponseOutputItem)
_USAGE: TypeAdapter[AgentsUsage] = TypeAdapter(AgentsUsage)


class Env:
    """One facade of the test's mode on the test's database, and the event
    loop its coroutines run on."""

    def __init__(self, mode: str, url: str) -> None:
        self.mode = mode
        self.loop = asyncio.new_event_loop()
        self.sy: Synergia | AsyncSynergia = Synergia(url) if mode == "sync" else AsyncSynergia(url)

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run a coroutine (of either facade, or of the SDK) to its end."""

        async def wrapped() -> T:
            return await awaitable

        return self.loop.run_until_complete(wrapped())

    def call(self, value: Any) -> Any:
        """A facade call's result (awaited on the async facade)."""
        return self.run(value) if inspect.isawaitable(value) else value

    def gpt(self, **extra: Any) -> ModelRead:
        """The catalog's gpt-4o, with a dated alias and a cache price."""
        model: ModelRead = self.call(
            self.sy.models.create(
                ModelCreate(
                    provider="openai",
                    name="gpt-4o",
                    input_price_per_million=Decimal("2.50"),
                    output_price_per_million=Decimal("10"),
                    cache_read_price_per_million=Decimal("1.25"),
                    aliases=["gpt-4o-2024-08-06"],
                    **extra,
                )
            )
        )
        return model

    def close(self) -> None:
        self.call(self.sy.close())
        self.loop.close()

    def __enter__(self) -> Env:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def as_items(items: Sequence[dict[str, Any]]) -> list[TResponseInputItem]:
    """JSON items, typed as the SDK's input items."""
    return cast(list[TResponseInputItem], list(items))


def run_sync(agent: Agent[Any], text: str, **kwargs: Any) -> RunResult:
    """``Runner.run_sync`` on a loop of its own, closed afterwards (the SDK
    leaves the default loop it makes open)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return Runner.run_sync(agent, text, run_config=RunConfig(tracing_disabled=True), **kwargs)
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny, 24 C in {city}"


def usage(
    input_tokens: int, output_tokens: int, cached: int = 0, reasoning: int = 0
) -> AgentsUsage:
    """One response's usage, as a model reports it."""
    return _USAGE.validate_python(
        {
            "requests": 1,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": reasoning},
        }
    )


class CannedModel(Model):
    """A ``Model`` answering each request with the next canned output (JSON
    output items) and usage, recording what it was sent."""

    def __init__(self, turns: Sequence[tuple[list[dict[str, Any]], AgentsUsage]]) -> None:
        self.turns = deque(turns)
        self.inputs: list[list[TResponseInputItem]] = []

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        self.inputs.append(
            copy.deepcopy(input)
            if isinstance(input, list)
            else [{"content": input, "role": "user"}]
        )
        output, spent = self.turns.popleft()
        return ModelResponse(
            output=[_OUTPUT.validate_python(item) for item in output],
            usage=spent,
            response_id=f"resp_{len(self.inputs)}",
        )

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        response = await self.get_response(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            tracing,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            prompt=prompt,
        )
        spent = response.usage
        yield ResponseCompletedEvent(
            type="response.completed",
            sequence_number=0,
            response=Response(
                id=response.response_id or "resp",
                object="response",
                created_at=0,
                model="gpt-4o-2024-08-06",
                output=response.output,
                parallel_tool_calls=True,
                tool_choice="auto",
                tools=[],
                usage=ResponseUsage.model_validate(
                    {
                        "input_tokens": spent.input_tokens,
                        "output_tokens": spent.output_tokens,
                        "total_tokens": spent.total_tokens,
                        "input_tokens_details": spent.input_tokens_details.model_dump(),
                        "output_tokens_details": spent.output_tokens_details.model_dump(),
                    }
                ),
            ),
        )


def tool_turns(city: str, answer: str, n: int) -> list[tuple[list[dict[str, Any]], AgentsUsage]]:
    """A run that calls ``weather`` (after reasoning about it), then answers."""
    return [
        (
            [
                {
                    "type": "reasoning",
                    "id": f"rs_{n}",
                    "summary": [
                        {"type": "summary_text", "text": f"Look the weather up in {city}."}
                    ],
                    "encrypted_content": f"gAAAAABo{n}" + "Zm9vYmFy" * 40,
                },
                {
                    "type": "function_call",
                    "id": f"fc_{n}",
                    "call_id": f"call_{n}",
                    "name": "weather",
                    "arguments": f'{{"city":"{city}"}}',
                    "status": "completed",
                },
            ],
            usage(1000, 200, cached=100, reasoning=50),
        ),
        (
            [
                {
                    "type": "message",
                    "id": f"msg_{n}",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": answer, "annotations": []}],
                }
            ],
            usage(1300, 40),
        ),
    ]


LONG = "A sentence long enough to be stored once, by reference. " * 3
PNG = (
    "data:image/png;base64,"
    + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8Dw" * 4
)
PDF = (
    "data:application/pdf;base64," + "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIKL0Zp" * 4
)

CORPUS: list[dict[str, Any]] = [
    # easy messages, string content, both key orders, empty text, unicode, SQL
    {"content": "Hello", "role": "user"},
    {"role": "user", "content": "How are you? " + LONG},
    {"content": "", "role": "user"},
    {"role": "assistant", "content": "😊👍 こんにちは Привет"},
    {"content": "Robert'); DROP TABLE students;--", "role": "user"},
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": [{"type": "input_text", "text": "Use metric units."}]},
    # a message item with every input content kind
    {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "Compare the picture with the report. " + LONG},
            {"type": "input_image", "image_url": PNG, "detail": "low"},
            {"type": "input_image", "image_url": "https://example.com/map.jpg", "detail": "auto"},
            {"type": "input_image", "file_id": "file-img123", "detail": "high"},
            {"type": "input_file", "file_data": PDF, "filename": "report.pdf"},
            {"type": "input_file", "file_url": "https://example.com/annex.pdf"},
            {"type": "input_file", "file_id": "file-doc456"},
        ],
    },
    {"type": "message", "role": "user", "content": [], "status": "completed"},
    # assistant output messages: annotations, logprobs, refusal, phase
    {
        "id": "msg_out1",
        "content": [
            {
                "annotations": [
                    {
                        "type": "url_citation",
                        "url": "https://example.com/weather",
                        "title": "Weather",
                        "start_index": 0,
                        "end_index": 5,
                    }
                ],
                "text": "Sunny " + LONG,
                "type": "output_text",
                "logprobs": [
                    {"token": "Sunny", "logprob": -0.0123456789, "bytes": [83], "top_logprobs": []}
                ],
            },
            {"refusal": "I cannot share the exact address.", "type": "refusal"},
        ],
        "role": "assistant",
        "status": "completed",
        "type": "message",
        "phase": "final_answer",
    },
    # reasoning: summaries, reasoning text, no id, encrypted content
    {
        "id": "rs_1",
        "summary": [
            {"text": "First, the user wants the weather.", "type": "summary_text"},
            {"text": "Then call the weather tool for Rome.", "type": "summary_text"},
        ],
        "type": "reasoning",
        "encrypted_content": "gAAAAABoEnCrYpTeD" + "c2VjcmV0IHJlYXNvbmluZw" * 30,
        "status": "completed",
    },
    {
        "id": "rs_2",
        "summary": [],
        "type": "reasoning",
        "content": [{"text": "Plain reasoning text. " + LONG, "type": "reasoning_text"}],
    },
    {
        "summary": [{"text": "No id: the SDK omitted it.", "type": "summary_text"}],
        "type": "reasoning",
        "encrypted_content": "gAAAAABoNoId" + "eA" * 40,
    },
    # function calls and their outputs
    {
        "arguments": '{"city":"Rome"}',
        "call_id": "call_1",
        "name": "weather",
        "type": "function_call",
        "id": "fc_1",
        "status": "completed",
    },
    {"call_id": "call_1", "output": "sunny, 24 C", "type": "function_call_output"},
    {
        "arguments": '{"city": "Oslo", "units": ["c", "f"]}',
        "call_id": "call_2",
        "name": "weather",
        "type": "function_call",
    },
    {
        "arguments": "not json at all",
        "call_id": "call_3",
        "name": "weather",
        "type": "function_call",
    },
    {
        "call_id": "call_2",
        "output": [
            {"type": "input_text", "text": "Oslo: rain. " + LONG},
            {"type": "input_image", "image_url": PNG, "detail": "auto"},
        ],
        "type": "function_call_output",
    },
    {
        "call_id": "call_3",
        "output": "",
        "type": "function_call_output",
        "id": "fco_3",
        "status": "completed",
    },
    # custom tools
    {"type": "custom_tool_call", "call_id": "call_c", "name": "sql", "input": "SELECT 1; " + LONG},
    {"type": "custom_tool_call_output", "call_id": "call_c", "output": "1"},
    # items no part describes
    {
        "id": "ws_1",
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": "weather in Rome today"},
    },
    {
        "id": "fs_1",
        "type": "file_search_call",
        "status": "completed",
        "queries": ["rome weather"],
        "results": [{"file_id": "file-1", "filename": "a.txt", "score": 0.87654321, "text": LONG}],
    },
    {
        "id": "cu_1",
        "type": "computer_call",
        "call_id": "call_cu",
        "status": "completed",
        "pending_safety_checks": [],
        "action": {"type": "click", "x": 10, "y": 20, "button": "left"},
    },
    {
        "type": "computer_call_output",
        "call_id": "call_cu",
        "output": {"type": "computer_screenshot", "image_url": PNG},
    },
    {
        "id": "mcpl_1",
        "type": "mcp_list_tools",
        "server_label": "deepwiki",
        "tools": [{"name": "ask", "input_schema": {"type": "object", "properties": {}}}],
    },
    {
        "id": "mcpr_1",
        "type": "mcp_approval_request",
        "server_label": "deepwiki",
        "name": "ask",
        "arguments": '{"q":"x"}',
    },
    {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True},
    {
        "id": "mcp_1",
        "type": "mcp_call",
        "server_label": "deepwiki",
        "name": "ask",
        "arguments": '{"q":"x"}',
        "output": LONG,
        "error": None,
    },
    {
        "id": "ig_1",
        "type": "image_generation_call",
        "status": "completed",
        "result": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ" * 5,
    },
    {
        "id": "ci_1",
        "type": "code_interpreter_call",
        "status": "completed",
        "code": "print(1 + 1)",
        "container_id": "cntr_1",
        "outputs": [{"type": "logs", "logs": "2"}],
    },
    {
        "id": "ls_1",
        "type": "local_shell_call",
        "call_id": "call_ls",
        "status": "completed",
        "action": {"type": "exec", "command": ["ls", "-la"], "env": {}},
    },
    {"id": "ls_1", "type": "local_shell_call_output", "output": "total 0"},
    {"type": "item_reference", "id": "msg_out1"},
    {"type": "compaction", "encrypted_content": "gAAAAABoCompact" + "Y29tcGFjdA" * 20},
    # a dict that looks like the session's own reference marker
    {
        "id": "ws_2",
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": "q", "sources": [{"$": [0, "text"]}]},
    },
    # outputs and items the Responses types do not foresee (SQLiteSession keeps them)
    {
        "call_id": "call_json",
        "output": {"zeta": 1, "alpha": [{"b": 2, "a": 1}], "text": LONG},
        "type": "function_call_output",
    },
    {
        "call_id": "call_audio",
        "output": [{"type": "input_audio", "input_audio": {"format": "wav", "data": "UklGR" * 9}}],
        "type": "function_call_output",
    },
    {"type": "message", "role": "user", "content": [{"type": "input_audio", "data": "UklGR"}]},
    {"type": "function_call", "name": "weather", "arguments": "{}"},
]
"""Items of every kind the Responses API takes as input (as JSON)."""
