"""Write ``tests/data/synergia-<revision>.sqlite``: a database at a released
schema revision, holding real rows, for the upgrade tests.

Run once when a revision is released (``python tools/make_revision_fixture.py
0001``) and commit the file: later revisions must upgrade it with its rows
intact. The rows are written through the services on a connection (which do
not check the schema revision), so they are laid out exactly as that release
wrote them.
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

from synergia_core import (
    ChatCreate,
    ChatService,
    MessageCreate,
    MessageService,
    ModelCreate,
    ModelService,
    ServiceConfig,
    ToolCall,
    Usage,
    migrate,
)
from synergia_core.db import create_engine

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: make_revision_fixture.py REVISION", file=sys.stderr)
        return 2
    revision = sys.argv[1]
    target = ROOT / "tests" / "data" / f"synergia-{revision}.sqlite"
    target.unlink(missing_ok=True)
    url = f"sqlite:///{target}"
    migrate(url, revision)
    moments = iter(
        dt.datetime(2026, 11, 1, 12, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=n)
        for n in range(10_000)
    )
    config = ServiceConfig(clock=lambda: next(moments))
    engine = create_engine(url)
    with engine.begin() as connection:
        models = ModelService.from_session(connection, config)
        chats = ChatService.from_session(connection, config)
        messages = MessageService.from_session(connection, config)
        gpt = models.create(
            ModelCreate(
                provider="openai",
                name="gpt-4o",
                input_price_per_million=Decimal("2.50"),
                output_price_per_million=Decimal("10"),
                cache_read_price_per_million=Decimal("1.25"),
                context_window=128_000,
                max_output_tokens=16_384,
            )
        )
        for user in ("alice", "bob"):
            chat = chats.create(
                ChatCreate(
                    user_id=user,
                    title=f"{user}'s chat",
                    model_id=gpt.id,
                    system_prompt="Be brief.",
                    metadata={"tags": ["fixture"]},
                )
            )
            for turn in range(5):
                question = messages.add(
                    chat.id, MessageCreate(role="user", content=f"question {turn} ✨"), user_id=user
                )
                messages.add(
                    chat.id,
                    MessageCreate(
                        role="assistant",
                        content=f"answer {turn}",
                        model_id=gpt.id,
                        usage=Usage(
                            input_tokens=1000 + turn, output_tokens=200, cache_read_tokens=500
                        ),
                        tool_calls=[ToolCall(id=f"c{turn}", name="lookup", arguments={"q": turn})],
                    ),
                    user_id=user,
                )
            messages.edit(question.id, "question 4, edited", user_id=user)
            reply = messages.start(chat.id, user_id=user, model_id=gpt.id)
            messages.append(reply.id, "partial", user_id=user)
            messages.fail(reply.id, "upstream error", user_id=user)
        chats.delete(chat.id, user_id="bob")
    engine.dispose()
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
