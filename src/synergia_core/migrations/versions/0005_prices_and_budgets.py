"""prices that match the bills (one-hour cache writes, tiers, aliases) and budgets

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 18:00:00

* ``synergia_models``: ``cache_write_1h_price_per_million``, ``tiers``
  (long-context prices, JSON with decimal strings) and ``aliases`` (other
  names of the model, JSON), ``NULL`` when there are none.
* ``synergia_messages.cache_write_1h_tokens``: the part of the cache writes
  that went to a one-hour cache.
* ``synergia_budgets``: a spending limit per user and period.
* ``synergia_spend``: what a user spent in a period, kept in its own row and
  updated under its row lock in the transaction that records a cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric().with_variant(sa.String(), "sqlite")
TIME = sa.DateTime(timezone=True)
NULLABLE_JSON = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)
PERIODS = "period IN ('day', 'week', 'month', 'total')"


def upgrade() -> None:
    op.add_column(
        "synergia_models", sa.Column("cache_write_1h_price_per_million", MONEY, nullable=True)
    )
    op.add_column("synergia_models", sa.Column("tiers", NULLABLE_JSON, nullable=True))
    op.add_column("synergia_models", sa.Column("aliases", NULLABLE_JSON, nullable=True))
    op.add_column(
        "synergia_messages",
        sa.Column(
            "cache_write_1h_tokens", sa.BigInteger(), nullable=False, server_default=sa.text("0")
        ),
    )
    op.create_table(
        "synergia_budgets",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("spend_limit", MONEY, nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_synergia_budgets")),
        sa.CheckConstraint(PERIODS, name=op.f("ck_synergia_budgets_period")),
    )
    op.create_table(
        "synergia_spend",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("period_start", TIME, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "period", "period_start", name=op.f("pk_synergia_spend")
        ),
        sa.CheckConstraint(PERIODS, name=op.f("ck_synergia_spend_period")),
    )


def downgrade() -> None:
    op.drop_table("synergia_spend")
    op.drop_table("synergia_budgets")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops columns itself (rebuilding these tables would
        # cascade to every message).
        op.execute("ALTER TABLE synergia_messages DROP COLUMN cache_write_1h_tokens")
        for name in ("aliases", "tiers", "cache_write_1h_price_per_million"):
            op.execute(f"ALTER TABLE synergia_models DROP COLUMN {name}")
        return
    op.drop_column("synergia_messages", "cache_write_1h_tokens")
    for name in ("aliases", "tiers", "cache_write_1h_price_per_million"):
        op.drop_column("synergia_models", name)
