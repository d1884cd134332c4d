"""index messages by model and time, for usage reports per model

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:05:00

`usage.totals(model_id=...)` and `usage.breakdown("day", model_id=...)`
select one model's messages in a time window; without this index they scan
every message.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_synergia_messages_model_created", "synergia_messages", ["model_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_synergia_messages_model_created", table_name="synergia_messages")
