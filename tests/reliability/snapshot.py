"""Whole-database snapshots, to prove a refused call changed nothing."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from synergia_core.db import create_engine

TABLES = (
    "synergia_models",
    "synergia_chats",
    "synergia_messages",
    "synergia_budgets",
    "synergia_spend",
)


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


# Columns a later revision moved elsewhere, and columns it added: a logical
# snapshot compares what a message *is* across schema revisions.
_CLASSIC = ("tool_calls", "tool_call_id", "attachments")
_ADDED = {
    "synergia_chats": ("last_seq",),
    "synergia_messages": ("reasoning", "deleted_at", "cache_write_1h_tokens", "search_vector"),
    "synergia_models": ("cache_write_1h_price_per_million", "tiers", "aliases"),
}
_LOGICAL_TABLES = ("synergia_models", "synergia_chats", "synergia_messages")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _parts_of(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's parts, from its ``parts`` column (0004+) or, before, from
    its classic columns (an oracle written apart from the migration's)."""
    stored = _json(row.get("parts"))
    if stored is not None:
        return [dict(part) for part in stored]
    role, content = row["role"], row["content"]
    if role == "tool":
        return [{"type": "tool_result", "call_id": row.get("tool_call_id"), "output": content}]
    parts: list[dict[str, Any]] = [{"type": "text", "text": content}] if content else []
    for call in _json(row.get("tool_calls")) or ():
        parts.append({"type": "tool_call", **call})
    for item in _json(row.get("attachments")) or ():
        part = {k: v for k, v in item.items() if k != "kind" and v is not None}
        parts.append({"type": "image" if item["kind"] == "image" else "file", **part})
    return parts


def logical_snapshot(url: str | sa.URL) -> dict[str, list[str]]:
    """Every row of every synergia table as what it means, independent of
    the revision's storage: a message's parts instead of the columns that
    hold them, without the bookkeeping columns later revisions added."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            result: dict[str, list[str]] = {}
            for table in _LOGICAL_TABLES:
                rows = connection.exec_driver_sql(f"SELECT * FROM {table}").mappings().all()
                out = []
                for mapping in rows:
                    row = dict(mapping)
                    if table == "synergia_messages":
                        row["parts"] = _parts_of(row)
                        row["metadata"] = _json(row["metadata"])
                        for name in _CLASSIC:
                            row.pop(name, None)
                    for name in _ADDED.get(table, ()):
                        row.pop(name, None)
                    out.append(
                        json.dumps(
                            {
                                k: _text(v) if k not in ("parts", "metadata") else v
                                for k, v in sorted(row.items())
                            },
                            sort_keys=True,
                        )
                    )
                result[table] = sorted(out)
            return result
    finally:
        engine.dispose()
