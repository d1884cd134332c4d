"""LangChain on synergia-core: a travel agent whose history, reasoning and
costs are stored per user and chat, sync and async.

Run with ``python examples/langchain_chat.py [DATABASE_URL]`` (default: a new
``langchain_chat.db`` here). A fake chat model stands in for
``ChatAnthropic(model="claude-sonnet-5")``: the same messages, no network.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory

from synergia_core import AsyncSynergia, ChatCreate, ModelCreate, Synergia
from synergia_core.integrations.langchain import SynergiaChatMessageHistory

USER = "alice"
CLAUDE = ModelCreate(
    provider="anthropic",
    name="claude-sonnet-5",
    input_price_per_million=Decimal("3"),
    output_price_per_million=Decimal("15"),
    cache_read_price_per_million=Decimal("0.30"),
)
PROMPT = ChatPromptTemplate.from_messages(
    [("system", "You are a travel agent."), MessagesPlaceholder("history"), ("human", "{q}")]
)
TURNS = [
    ("Three days in Rome?", "Day 1: Colosseum. Day 2: Vatican. Day 3: Trastevere."),
    ("And the food?", "Cacio e pepe in Testaccio, supplì anywhere."),
    ("Budget?", "About 150 EUR a day."),
]


def fake_claude() -> FakeMessagesListChatModel:
    """Replies as ChatAnthropic gives them: thinking with its signature, text, usage."""
    replies = []
    for turn, (_, answer) in enumerate(TURNS):
        prompt = 200 + 100 * turn  # the history grows; most of it is read from the cache
        replies.append(
            AIMessage(
                [
                    {"type": "thinking", "thinking": "Keep it short.", "signature": f"sig{turn}"},
                    {"type": "text", "text": answer},
                ],
                usage_metadata={
                    "input_tokens": prompt,
                    "output_tokens": 40,
                    "total_tokens": prompt + 40,
                    "input_token_details": {"cache_read": prompt - 50},
                },
                response_metadata={"model_name": "claude-sonnet-5", "model_provider": "anthropic"},
                id=f"msg_{turn}",
            )
        )
    return FakeMessagesListChatModel(responses=replies)


def agent(histories: Callable[[str], BaseChatMessageHistory]) -> RunnableWithMessageHistory:
    """The prompt and model, with the history LangChain loads and saves each turn."""
    with warnings.catch_warnings():
        # LangChain deprecated RunnableWithMessageHistory for LangGraph; it works until 2.0.
        warnings.filterwarnings("ignore", message="RunnableWithMessageHistory is deprecated")
        return RunnableWithMessageHistory(
            PROMPT | fake_claude(),
            histories,
            input_messages_key="q",
            history_messages_key="history",
        )


def main(url: str = "sqlite:///langchain_chat.db") -> None:
    """Three turns with a sync ``Synergia``, then three with an ``AsyncSynergia``."""
    with Synergia(url, auto_migrate=True) as sy:
        sy.models.upsert(CLAUDE)
        chat = sy.chats.create(ChatCreate(user_id=USER, title="Rome"))
        bot = agent(lambda chat_id: SynergiaChatMessageHistory(sy, chat_id, user_id=USER))
        config: Any = {"configurable": {"session_id": str(chat.id)}}
        for question, _ in TURNS:
            print(f"> {question}\n{bot.invoke({'q': question}, config).text}")
        history = SynergiaChatMessageHistory(sy, chat.id, user_id=USER).messages
        totals = sy.usage.totals(user_id=USER, chat_id=chat.id)
        print(f"{len(history)} messages stored, {totals.output_tokens} tokens out, ${totals.cost}")
        print(f"signatures kept: {[m.content[0]['signature'] for m in history[1::2]]}")  # type: ignore[index]
    asyncio.run(amain(url))


async def amain(url: str) -> None:
    """The same agent on an ``AsyncSynergia``: ``ainvoke``, awaited natively."""
    async with AsyncSynergia(url, auto_migrate=True) as sy:
        chat = await sy.chats.create(ChatCreate(user_id=USER, title="Rome, async"))
        bot = agent(lambda chat_id: SynergiaChatMessageHistory(sy, chat_id, user_id=USER))
        config: Any = {"configurable": {"session_id": str(chat.id)}}
        for question, _ in TURNS:
            await bot.ainvoke({"q": question}, config)
        history = SynergiaChatMessageHistory(sy, chat.id, user_id=USER)
        totals = await sy.usage.totals(user_id=USER, chat_id=chat.id)
        print(f"async: {len(await history.aget_messages())} messages stored, ${totals.cost}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
