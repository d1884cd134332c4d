"""Quickstart: a tour of synergia-core on the embedded SQLite default.

Run with ``make demo`` (a new ``.demo/synergia.db``), or
``python examples/quickstart.py [DATABASE_URL]``.
"""

from __future__ import annotations

import sys
from decimal import Decimal

from synergia_core import (
    ChatCreate,
    MessageCreate,
    ModelCreate,
    Synergia,
    Usage,
)

CATALOG = [
    # provider, name, input, output, cache read, context window, max output
    ("openai", "gpt-4o", "2.50", "10.00", "1.25", 128_000, 16_384),
    ("anthropic", "claude-sonnet-4", "3.00", "15.00", "0.30", 200_000, 64_000),
    ("google", "gemini-2.5-flash", "0.30", "2.50", "0.075", 1_048_576, 65_536),
]


def main(url: str | None = None) -> None:
    """Run the tour on ``url`` (default: the embedded SQLite file)."""
    with Synergia(url) as sy:
        sy.migrate()
        health = sy.health()
        print(f"synergia-core {health.version} on {health.database}, schema {health.revision}")

        models = {}
        for provider, name, price_in, price_out, price_cached, window, max_out in CATALOG:
            models[name] = sy.models.create(
                ModelCreate(
                    provider=provider,
                    name=name,
                    input_price_per_million=Decimal(price_in),
                    output_price_per_million=Decimal(price_out),
                    cache_read_price_per_million=Decimal(price_cached),
                    context_window=window,
                    max_output_tokens=max_out,
                )
            )
        print(f"\ncatalog: {', '.join(sorted(models))}")

        gpt, claude = models["gpt-4o"], models["claude-sonnet-4"]
        rome = sy.chats.create(
            ChatCreate(user_id="alice", title="Three days in Rome", model_id=gpt.id)
        )
        sy.messages.add(
            rome.id, MessageCreate(role="user", content="Plan 3 days in Rome."), user_id="alice"
        )
        sy.messages.add(
            rome.id,
            MessageCreate(
                role="assistant",
                content="Day 1: Colosseum and Forum. Day 2: Vatican. Day 3: Trastevere.",
                model_id=gpt.id,
                usage=Usage(input_tokens=12, output_tokens=420),
            ),
            user_id="alice",
        )
        sy.messages.add(
            rome.id, MessageCreate(role="user", content="Make day 3 lazier."), user_id="alice"
        )
        sy.messages.add(
            rome.id,
            MessageCreate(
                role="assistant",
                content="Day 3: a late breakfast in Trastevere, then the Gianicolo at sunset.",
                model_id=gpt.id,
                usage=Usage.from_openai(
                    {
                        "prompt_tokens": 460,
                        "completion_tokens": 96,
                        "prompt_tokens_details": {"cached_tokens": 384},
                    }
                ),
            ),
            user_id="alice",
        )

        # Alice changes her mind: the edit is a new branch, the old one stays.
        lazier = sy.messages.list(rome.id, user_id="alice").items[2]
        food = sy.messages.edit(lazier.id, "Make day 3 about food.", user_id="alice")
        # The reply streams in, chunk by chunk, then is priced when it finishes.
        reply = sy.messages.start(rome.id, user_id="alice", model_id=gpt.id)
        for chunk in ("Day 3: ", "cacio e pepe in Testaccio, ", "gelato at Fatamorgana."):
            sy.messages.append(reply.id, chunk, user_id="alice")
        sy.messages.finish(
            reply.id, user_id="alice", usage=Usage(input_tokens=480, output_tokens=64)
        )

        with sy.transaction() as tx:  # one unit of work
            code = tx.chats.create(
                ChatCreate(user_id="bob", title="Fix my SQL", model_id=claude.id)
            )
            tx.messages.add(
                code.id, MessageCreate(role="user", content="Why is my query slow?"), user_id="bob"
            )
            tx.messages.add(
                code.id,
                MessageCreate(
                    role="assistant",
                    content="It scans the whole table: add an index on (user_id, created_at).",
                    model_id=claude.id,
                    usage=Usage.from_anthropic(
                        {
                            "input_tokens": 25,
                            "output_tokens": 180,
                            "cache_read_input_tokens": 1_200,
                        }
                    ),
                ),
                user_id="bob",
            )

        print(f"\ntranscript of {rome.title!r} (the current branch):")
        for message in sy.messages.thread(rome.id, user_id="alice"):
            versions = sy.messages.siblings(message.id, user_id="alice")
            switch = (
                f" <{versions.index(message) + 1}/{len(versions)}>" if len(versions) > 1 else ""
            )
            cost = f"  (${message.cost})" if message.cost else ""
            print(f"  {message.seq}. {message.role.value:>9}{switch}: {message.content}{cost}")
        edited_from = sy.messages.siblings(food.id, user_id="alice")[0]
        print(f"  (the earlier branch, {edited_from.content!r}, is kept)")

        context = sy.messages.context(rome.id, user_id="alice", format="openai")
        print(f"\nready for the model: {len(context)} messages, last {context[-1]['role']!r}")

        for user in ("alice", "bob"):
            print(f"\n{user}'s chats:")
            for chat in sy.chats.list(user_id=user).items:
                totals = sy.usage.totals(chat_id=chat.id)
                print(
                    f"  {chat.title:<20} {chat.message_count} messages, "
                    f"{totals.input_tokens + totals.output_tokens} tokens, ${totals.cost}"
                )
        print("\ncost by model:")
        names: dict[object, str] = {model.id: model.name for model in models.values()}
        for row in sy.usage.breakdown("model"):
            if row.key is not None:
                print(f"  {names[row.key]:<18} {row.output_tokens:>5} output tokens  ${row.cost}")
        print(f"\ntotal spent: ${sy.usage.totals().cost}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
