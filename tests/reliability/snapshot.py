"""Whole-database snapshots, to prove a refused call changed nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from synergia_core.db import create_engine

TABLES = ("synergia_models", "synergia_chats", "synergia_messages")


def sync_url(url: str | sa.URL) -> sa.URL:
    """The sync-driver form of a (possibly asyncio) URL."""
    parsed = sa.make_url(url) if isinstance(url, str) else url
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed


def snapshot(url: str | sa.URL) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every synergia table, as sorted tuples of strings."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            result: dict[str, list[tuple[str, ...]]] = {}
            for table in TABLES:
                rows = connection.exec_driver_sql(f"SELECT * FROM {table}").all()
                result[table] = sorted(tuple(_text(value) for value in row) for row in rows)
            return result
    finally:
        engine.dispose()


def fingerprint(connection: sa.Connection) -> tuple[Any, ...]:
    """A cheap summary that any write to the tables changes."""
    per_table = [
        tuple(connection.exec_driver_sql(f"SELECT count(*), max(updated_at) FROM {table}").one())
        for table in TABLES
    ]
    counters = connection.exec_driver_sql(
        "SELECT coalesce(sum(message_count), 0) FROM synergia_chats"
    ).scalar_one()
    text = connection.exec_driver_sql(
        "SELECT coalesce(sum(length(content)), 0) FROM synergia_messages"
    ).scalar_one()
    return (*per_table, counters, text)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
