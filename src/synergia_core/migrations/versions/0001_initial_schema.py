"""initial schema: models, chats, messages

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:20:50

The column types are spelled out here rather than imported from the ORM, so
this revision keeps creating the same schema whatever later code does:
money is NUMERIC on PostgreSQL and TEXT (an exact decimal string) on SQLite,
times are TIMESTAMP WITH TIME ZONE (fixed-width UTC text on SQLite), JSON is
JSONB on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric().with_variant(sa.String(), "sqlite")
TIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "synergia_models",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("input_price_per_million", MONEY, nullable=False),
        sa.Column("output_price_per_million", MONEY, nullable=False),
        sa.Column("cache_read_price_per_million", MONEY, nullable=True),
        sa.Column("cache_write_price_per_million", MONEY, nullable=True),
        sa.Column("context_window", sa.Integer(), nullable=True),
        sa.Column("max_output_tokens", sa.Integer(), nullable=True),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("deleted_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_synergia_models")),
    )
    op.create_index(
        "uq_synergia_models_live_provider_name",
        "synergia_models",
        ["provider", "name"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )

    op.create_table(
        "synergia_chats",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("model_id", sa.Uuid(), nullable=True),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("is_pinned", sa.Boolean(), nullable=False),
        sa.Column("is_archived", sa.Boolean(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("current_message_id", sa.Uuid(), nullable=True),
        sa.Column("last_message_at", TIME, nullable=True),
        sa.Column("activity_at", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("deleted_at", TIME, nullable=True),
        sa.CheckConstraint(
            "message_count >= 0", name=op.f("ck_synergia_chats_message_count_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["synergia_models.id"],
            name=op.f("fk_synergia_chats_model_id_synergia_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_synergia_chats")),
    )
    op.create_index(
        "ix_synergia_chats_user_activity",
        "synergia_chats",
        ["user_id", "activity_at", "id"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )

    op.create_table(
        "synergia_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chat_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=True),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost", MONEY, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("tool_calls", NULLABLE_JSON, nullable=True),
        sa.Column("tool_call_id", sa.String(length=255), nullable=True),
        sa.Column("attachments", NULLABLE_JSON, nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(
            "role IN ('system', 'user', 'assistant', 'tool')",
            name=op.f("ck_synergia_messages_role"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'streaming', 'complete', 'failed', 'cancelled')",
            name=op.f("ck_synergia_messages_status"),
        ),
        sa.CheckConstraint(
            "input_tokens >= 0 AND output_tokens >= 0 AND cache_read_tokens >= 0 "
            "AND cache_write_tokens >= 0 AND reasoning_tokens >= 0",
            name=op.f("ck_synergia_messages_tokens_non_negative"),
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_synergia_messages_seq_positive")),
        sa.ForeignKeyConstraint(
            ["chat_id", "parent_id"],
            ["synergia_messages.chat_id", "synergia_messages.id"],
            name="fk_synergia_messages_parent_same_chat",
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["synergia_chats.id"],
            name=op.f("fk_synergia_messages_chat_id_synergia_chats"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["synergia_models.id"],
            name=op.f("fk_synergia_messages_model_id_synergia_models"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_synergia_messages")),
        sa.UniqueConstraint("chat_id", "id", name=op.f("uq_synergia_messages_chat_id_id")),
        sa.UniqueConstraint("chat_id", "seq", name=op.f("uq_synergia_messages_chat_id_seq")),
    )
    op.create_index(
        "ix_synergia_messages_chat_parent", "synergia_messages", ["chat_id", "parent_id", "seq"]
    )
    op.create_index(
        "ix_synergia_messages_user_created", "synergia_messages", ["user_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("synergia_messages")
    op.drop_table("synergia_chats")
    op.drop_table("synergia_models")
