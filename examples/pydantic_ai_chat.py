"""A PydanticAI agent whose conversation lives in synergia-core.

Three turns of a chat with a tool, on an ``AsyncSynergia``: each turn loads
the chat's history, runs the agent on it and saves the new messages, which
are priced from the catalog. PydanticAI's ``FunctionModel`` stands in for a
real model here; pass ``"openai:gpt-4o"`` to ``Agent`` (and set an API key)
to talk to one.

Run with ``python examples/pydantic_ai_chat.py [DATABASE_URL]`` (the
``pydantic-ai`` and ``async`` extras).
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal

from pydantic_ai import Agent
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel
from pydantic_ai.usage import RequestUsage

from synergia_core import AsyncSynergia, ChatCreate, ModelCreate
from synergia_core.integrations.pydantic_ai import SynergiaMessageHistory


def forecaster(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Stands in for the model: asks the tool about the city of the last
    prompt, then says what it answered. It reads the whole history it is
    sent, so its prompt grows turn by turn."""
    usage = RequestUsage(input_tokens=40 * len(messages), output_tokens=10)
    parts = messages[-1].parts
    for part in parts:
        if isinstance(part, ToolReturnPart):
            return ModelResponse(parts=[TextPart(f"{part.content}.")], usage=usage)
    city = next(str(p.content) for p in parts if isinstance(p, UserPromptPart))
    return ModelResponse(parts=[ToolCallPart("forecast", {"city": city})], usage=usage)


agent = Agent(FunctionModel(forecaster, model_name="gpt-4o-2024-08-06"), instructions="Be brief.")


@agent.tool_plain
def forecast(city: str) -> str:
    """Tomorrow's weather in a city."""
    return f"Tomorrow in {city}: sunny, 24 C"


async def chat(url: str | None) -> None:
    async with AsyncSynergia(url or "sqlite:///pydantic_ai_chat.db") as sy:
        await sy.migrate()
        await sy.models.upsert(
            ModelCreate(
                provider="openai",
                name="gpt-4o",
                aliases=["gpt-4o-2024-08-06"],
                input_price_per_million=Decimal("2.50"),
                output_price_per_million=Decimal("10"),
            )
        )
        conversation = await sy.chats.create(ChatCreate(user_id="alice", title="Forecasts"))
        history = SynergiaMessageHistory(sy, conversation.id, user_id="alice")
        for city in ("Rome", "Oslo", "Lisbon"):
            result = await agent.run(city, message_history=await history.load())
            await history.save(result.new_messages())
            print(result.output)
        stored = await sy.messages.thread(conversation.id, user_id="alice")
        spent = await sy.usage.totals(chat_id=conversation.id)
        print(f"{len(await history.load())} PydanticAI messages in {len(stored)} stored ones")
        print(f"{spent.input_tokens} input tokens, {spent.output_tokens} output, ${spent.cost}")


def main(url: str | None = None) -> None:
    """Run the chat on ``url`` (default: ``pydantic_ai_chat.db`` here)."""
    asyncio.run(chat(url))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
