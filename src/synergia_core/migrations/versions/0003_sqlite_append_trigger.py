"""single-statement appends on SQLite: a trigger keeps the chat row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 16:00:00

On SQLite a trigger bumps a chat's counters and moves its current leaf when
a message is inserted, so appending is one ``INSERT ... SELECT`` that needs
no transaction around it (PostgreSQL already appends in one statement, which
bumps the chat row itself). Nothing changes on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out (not imported from the ORM) so this revision keeps doing the same.
APPEND_TRIGGER = """
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


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(APPEND_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS synergia_messages_append")
