"""Small builders shared by the tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from synergia_core import ModelCreate, ModelRead, Synergia


def make_model(
    sy: Synergia,
    name: str = "gpt-4o",
    *,
    provider: str = "openai",
    input_price: str = "2.50",
    output_price: str = "10",
    **extra: Any,
) -> ModelRead:
    """Create a model with real-looking prices."""
    return sy.models.create(
        ModelCreate(
            provider=provider,
            name=name,
            input_price_per_million=Decimal(input_price),
            output_price_per_million=Decimal(output_price),
            **extra,
        )
    )


def chain(sy: Synergia, chat_id: object, user_id: str, count: int) -> None:
    """Give a chat ``count`` more messages in one linear chain, fast.

    Rows are written in bulk with SQLAlchemy Core (one statement per thousand
    rows) exactly as the library lays them out: gap-free ``seq``, each
    message's parent the one before it, the chat's counters and current leaf
    kept. Used to build large chats for tests that read them.
    """
    import uuid as uuid_module

    from sqlalchemy.pool import NullPool

    from synergia_core.db import create_engine

    chat_uuid = chat_id if isinstance(chat_id, uuid_module.UUID) else uuid_module.UUID(str(chat_id))
    url = sy.engine.url
    if url.drivername == "sqlite+aiosqlite":
        url = url.set(drivername="sqlite")
    engine = create_engine(url, poolclass=NullPool)
    try:
        _write_chain(engine, chat_uuid, user_id, count)
    finally:
        engine.dispose()


def _write_chain(engine: Any, chat_uuid: Any, user_id: str, count: int) -> None:
    import datetime as dt

    import sqlalchemy as sa

    from synergia_core.ids import uuid7
    from synergia_core.repositories.sql._rows import chats, messages

    with engine.begin() as connection:
        row = connection.execute(
            sa.select(chats.c.message_count, chats.c.last_seq, chats.c.current_message_id).where(
                chats.c.id == chat_uuid
            )
        ).one()
        live, seq, parent = row.message_count, row.last_seq, row.current_message_id
        now = dt.datetime.now(dt.timezone.utc)
        rows = []
        for _ in range(count):
            seq += 1
            message_id = uuid7()
            rows.append(
                {
                    "id": message_id,
                    "chat_id": chat_uuid,
                    "user_id": user_id,
                    "parent_id": parent,
                    "seq": seq,
                    "role": "user" if seq % 2 else "assistant",
                    "content": f"message {seq}",
                    "status": "complete",
                    "model_id": None,
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "cache_read_tokens": 0,
                    "cache_write_tokens": 0,
                    "reasoning_tokens": 0,
                    "cost": 0,
                    "error": None,
                    "parts": None,
                    "reasoning": None,
                    "deleted_at": None,
                    "metadata": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            parent = message_id
        for start in range(0, len(rows), 1000):
            connection.execute(sa.insert(messages), rows[start : start + 1000])
        connection.execute(
            sa.update(chats)
            .where(chats.c.id == chat_uuid)
            .values(
                message_count=live + count,
                last_seq=seq,
                current_message_id=parent,
                last_message_at=now,
                activity_at=now,
            )
        )
