"""An OpenAI Agents SDK agent whose memory is a synergia-core chat.

The agent calls a real function tool over two runs; the SDK's scripted
model (``agents.testing.ScriptedModel``) stands in for OpenAI, so this runs
offline. Every item the runner saves is a message of alice's chat, priced
through the catalog's ``gpt-4o`` (the model answers under its dated name).

Run with ``python examples/openai_agents_chat.py [DATABASE_URL]`` (needs the
``openai-agents`` and ``async`` extras).
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal

from agents import Agent, RunConfig, Runner, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call
from agents.usage import Usage as AgentsUsage

from synergia_core import AsyncSynergia, ModelCreate
from synergia_core.integrations.openai_agents import SynergiaSession


@function_tool
def weather(city: str) -> str:
    """Today's weather in a city."""
    return f"sunny, 24 C in {city}"


async def chat(url: str) -> None:
    """Two runs of a weather agent on one session, then the stored chat."""
    async with AsyncSynergia(url, auto_migrate=True) as sy:
        await sy.models.upsert(
            ModelCreate(
                provider="openai",
                name="gpt-4o",
                aliases=["gpt-4o-2024-08-06"],
                input_price_per_million=Decimal("2.50"),
                output_price_per_million=Decimal("10"),
            )
        )
        session = await SynergiaSession.create(
            sy, user_id="alice", title="Weather", model="gpt-4o-2024-08-06"
        )
        model = ScriptedModel(
            [
                [function_call("weather", {"city": "Rome"}, call_id="call_1")],
                [assistant_message("It is sunny in Rome.")],
                [assistant_message("You asked about Rome.")],
            ],
            default_usage=AgentsUsage(
                requests=1, input_tokens=1000, output_tokens=100, total_tokens=1100
            ),
        )
        agent = Agent(name="forecaster", instructions="Be brief.", model=model, tools=[weather])
        config = RunConfig(tracing_disabled=True)  # offline: no trace export
        for question in ("What is the weather in Rome?", "Which city did I ask about?"):
            result = await Runner.run(agent, question, session=session, run_config=config)
            print(f"> {question}\n{result.final_output}")

        print(f"\nchat {session.session_id}:")
        for message in await sy.messages.thread(session.chat_id, user_id="alice"):
            kinds = ", ".join(part.type for part in message.parts)
            print(f"  {message.role.value:<9} {kinds:<12} ${message.cost}")
        totals = await sy.usage.totals(user_id="alice")
        print(f"cost: ${totals.cost}")


def main(url: str | None = None) -> None:
    """Run the example on ``url`` (default: ``sqlite:///agents.db``)."""
    asyncio.run(chat(url or "sqlite:///agents.db"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
