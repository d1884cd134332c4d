"""typed message parts, streamed reasoning, deleted messages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 17:00:00

* ``synergia_messages.parts``: the message's typed parts as JSON, ``NULL``
  when the message is just its text (most messages: nothing to decode on
  read). The classic ``tool_calls``, ``tool_call_id`` and ``attachments``
  columns move into it and are dropped; ``content`` stays, as the text view
  (what search and cheap reads use).
* ``synergia_messages.reasoning``: reasoning streamed into a reply
  (``append(kind="reasoning")``), until the reply is closed and it becomes
  a part.
* ``synergia_messages.deleted_at``: ``messages.delete``/``clear`` hide a
  branch from every view; usage reports still count it.
* ``synergia_chats.last_seq``: the last ``seq`` handed out, so that
  ``message_count`` can count live messages only and ``seq`` stays unique.
  The SQLite append trigger now bumps it too.

Downgrading brings deleted messages back into view and keeps of the parts
only what the classic columns hold (text, tool calls, the first tool
result's call id, images and files): reasoning, raw provider items and part
metadata are lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)
NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
CLASSIC = ("tool_calls", "tool_call_id", "attachments")

# Spelled out (not imported from the ORM) so these revisions keep doing the same.
TRIGGER_0003 = """
CREATE TRIGGER synergia_messages_append AFTER INSERT ON synergia_messages
BEGIN
    UPDATE synergia_chats
    SET message_count = message_count + 1,
        last_message_at = NEW.created_at,
        activity_at = NEW.created_at,
        updated_at = NEW.created_at,
        current_message_id = NEW.id
    WHERE id = NEW.chat_id;
END
"""
TRIGGER_0004 = """
CREATE TRIGGER synergia_messages_append AFTER INSERT ON synergia_messages
BEGIN
    UPDATE synergia_chats
    SET message_count = message_count + 1,
        last_seq = max(last_seq, NEW.seq),
        last_message_at = NEW.created_at,
        activity_at = NEW.created_at,
        updated_at = NEW.created_at,
        current_message_id = NEW.id
    WHERE id = NEW.chat_id;
END
"""


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _parts(role: str, content: str, calls: Any, call_id: Any, attachments: Any) -> list[Any]:
    """The parts of a message stored with the classic columns (0003)."""
    if role == "tool":
        return [{"type": "tool_result", "call_id": call_id or "", "output": content}]
    parts: list[Any] = [{"type": "text", "text": content}] if content else []
    for call in _loaded(calls) or ():
        parts.append(
            {
                "type": "tool_call",
                "id": call["id"],
                "name": call["name"],
                "arguments": call.get("arguments", {}),
            }
        )
    for item in _loaded(attachments) or ():
        kind = "image" if item["kind"] == "image" else "file"
        part = {"type": kind, "uri": item["uri"], "mime_type": item["mime_type"]}
        for key in ("name", "size_bytes"):
            if item.get(key) is not None:
                part[key] = item[key]
        parts.append(part)
    return parts


def _classic(parts: list[Any]) -> tuple[Any, Any, Any]:
    """What the classic columns hold of a message's parts (for downgrades)."""
    calls = [
        {"id": p["id"], "name": p["name"], "arguments": p.get("arguments", {})}
        for p in parts
        if p["type"] == "tool_call"
    ]
    call_id = next((p["call_id"] for p in parts if p["type"] == "tool_result"), None)
    attachments = []
    for p in parts:
        if p["type"] in ("image", "file"):
            kind = "audio" if p["mime_type"].startswith("audio/") else "file"
            item = {"kind": "image" if p["type"] == "image" else kind}
            item.update(uri=p["uri"], mime_type=p["mime_type"])
            item.update({k: p[k] for k in ("name", "size_bytes") if p.get(k) is not None})
            attachments.append(item)
    return calls or None, call_id, attachments or None


def _sqlite_drop_columns() -> bool:
    """Whether this SQLite drops columns itself (3.35+); older ones rebuild."""
    version = op.get_bind().exec_driver_sql("SELECT sqlite_version()").scalar_one()
    return tuple(int(x) for x in str(version).split(".")[:2]) >= (3, 35)


def _drop_classic_columns(sqlite: bool) -> None:
    if not sqlite:
        for name in CLASSIC:
            op.drop_column("synergia_messages", name)
    elif _sqlite_drop_columns():
        for name in CLASSIC:
            op.execute(f"ALTER TABLE synergia_messages DROP COLUMN {name}")
    else:  # pragma: no cover - SQLite before 3.35 (2021)
        with op.batch_alter_table("synergia_messages") as batch:
            for name in CLASSIC:
                batch.drop_column(name)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("synergia_messages", sa.Column("parts", NULLABLE_JSON, nullable=True))
    op.add_column("synergia_messages", sa.Column("reasoning", sa.Text(), nullable=True))
    op.add_column("synergia_messages", sa.Column("deleted_at", TIME, nullable=True))
    if "last_seq" not in {c["name"] for c in sa.inspect(bind).get_columns("synergia_chats")}:
        # (an old SQLite keeps it across a downgrade: see there)
        op.add_column(
            "synergia_chats",
            sa.Column("last_seq", sa.Integer(), nullable=False, server_default=sa.text("0")),
        )
    op.execute("UPDATE synergia_chats SET last_seq = message_count")

    messages = sa.table(
        "synergia_messages",
        sa.column("id", sa.Uuid()),
        sa.column("role", sa.String()),
        sa.column("content", sa.Text()),
        sa.column("parts", NULLABLE_JSON),
        *(sa.column(name, NULLABLE_JSON) for name in ("tool_calls", "attachments")),
        sa.column("tool_call_id", sa.String()),
    )
    rows = bind.execute(
        sa.select(
            messages.c.id,
            messages.c.role,
            messages.c.content,
            messages.c.tool_calls,
            messages.c.tool_call_id,
            messages.c.attachments,
        ).where(
            sa.or_(
                messages.c.tool_calls.is_not(None),
                messages.c.tool_call_id.is_not(None),
                messages.c.attachments.is_not(None),
                messages.c.role == "tool",
            )
        )
    ).all()
    for row in rows:
        parts = _parts(row.role, row.content, row.tool_calls, row.tool_call_id, row.attachments)
        bind.execute(sa.update(messages).where(messages.c.id == row.id).values(parts=parts))

    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS synergia_messages_append")
    _drop_classic_columns(sqlite)
    if sqlite:
        op.execute(TRIGGER_0004)


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS synergia_messages_append")
    op.add_column("synergia_messages", sa.Column("tool_calls", NULLABLE_JSON, nullable=True))
    op.add_column(
        "synergia_messages", sa.Column("tool_call_id", sa.String(length=255), nullable=True)
    )
    op.add_column("synergia_messages", sa.Column("attachments", NULLABLE_JSON, nullable=True))
    messages = sa.table(
        "synergia_messages",
        sa.column("id", sa.Uuid()),
        sa.column("parts", NULLABLE_JSON),
        *(sa.column(name, NULLABLE_JSON) for name in ("tool_calls", "attachments")),
        sa.column("tool_call_id", sa.String()),
    )
    rows = bind.execute(
        sa.select(messages.c.id, messages.c.parts).where(messages.c.parts.is_not(None))
    ).all()
    for row in rows:
        calls, call_id, attachments = _classic(_loaded(row.parts))
        bind.execute(
            sa.update(messages)
            .where(messages.c.id == row.id)
            .values(tool_calls=calls, tool_call_id=call_id, attachments=attachments)
        )
    # Deleted messages come back into view: the old schema cannot hide them.
    op.execute(
        "UPDATE synergia_chats SET message_count = (SELECT count(*) FROM synergia_messages m "
        "WHERE m.chat_id = synergia_chats.id)"
    )
    added = ("parts", "reasoning", "deleted_at")
    if not sqlite:
        for name in added:
            op.drop_column("synergia_messages", name)
        op.drop_column("synergia_chats", "last_seq")
    elif _sqlite_drop_columns():
        for name in added:
            op.execute(f"ALTER TABLE synergia_messages DROP COLUMN {name}")
        op.execute("ALTER TABLE synergia_chats DROP COLUMN last_seq")
    else:  # pragma: no cover - SQLite before 3.35 (2021)
        with op.batch_alter_table("synergia_messages") as batch:
            for name in added:
                batch.drop_column(name)
        # Rebuilding synergia_chats would cascade to every message: the
        # column stays (unused by 0003, with its default).
    if sqlite:
        op.execute(TRIGGER_0003)
