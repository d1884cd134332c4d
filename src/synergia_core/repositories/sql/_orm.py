"""The tables (private): SQLAlchemy 2 declarative classes.

The ORM classes exist to declare the schema (and for Alembic to compare
against); the repositories run Core statements on their ``__table__``.
Pydantic schemas are the public types.

Design notes:

* Every table is prefixed ``synergia_`` and every constraint is named by
  :data:`NAMING_CONVENTION`, so that error translation can go by constraint
  name and migrations are stable.
* ``synergia_messages.user_id`` duplicates the chat's owner: ownership checks
  and per-user usage reports never need a join, and it is the column a
  sharded PostgreSQL (Citus) would distribute by.
* ``(chat_id, parent_id)`` references ``(chat_id, id)``: the database itself
  refuses a parent in another chat. A parent must exist before its child and
  ``parent_id`` is never updated, so the tree cannot contain a cycle.
* ``synergia_chats.current_message_id`` has no foreign key: chats and
  messages would otherwise reference each other, which makes purges and
  SQLite batch migrations order-dependent. The services maintain it.
* ``synergia_chats.activity_at`` is the last message time, else the creation
  time: the sort key of chat lists, indexed with the owner for keyset pages.
* ``synergia_chats.message_count`` counts live messages;
  ``synergia_chats.last_seq`` is the last ``seq`` handed out (the next
  message gets ``last_seq + 1``), so deleting messages never reuses one.
* ``synergia_messages.parts`` holds a message's typed parts as JSON, or
  ``NULL`` when the message is just its text (``content``), which most are.
  ``content`` is always the text view. ``reasoning`` accumulates reasoning
  streamed into a reply until the reply is closed. ``deleted_at`` hides a
  deleted branch from every view; usage reports still count it.
* Reads select the ``metadata`` of chats and messages as ``NULLIF(metadata,
  '{}')``: most rows have none, and the database's ``NULL`` costs no JSON
  decoding (see ``_rows.py``).
* On SQLite a trigger (:data:`SQLITE_APPEND_TRIGGER`, created by migration
  0003) bumps a chat's counters and moves its current leaf when a message is
  inserted, so an append is a single ``INSERT`` there, atomic on its own.
  PostgreSQL does the same in the append's one statement instead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from synergia_core.repositories.sql._types import (
    JSONDocument,
    Money,
    NullableJSONDocument,
    UTCDateTime,
    UuidKey,
)

__all__ = [
    "NAMING_CONVENTION",
    "SQLITE_APPEND_TRIGGER",
    "Base",
    "Budget",
    "Chat",
    "Message",
    "Model",
    "Spend",
    "metadata",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_APPEND_TRIGGER = """
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
"""SQLite: what appending a message does to its chat, in the insert's own
statement. A migration that rebuilds ``synergia_messages`` on SQLite drops it
and must create it again (and must not rebuild ``synergia_chats`` with
foreign keys on: dropping it would cascade to every message)."""

ROLES = ("system", "user", "assistant", "tool")
STATUSES = ("pending", "streaming", "complete", "failed", "cancelled")
PERIODS = ("day", "week", "month", "total")


class Base(DeclarativeBase):
    """Declarative base of synergia-core's tables."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this mapping
        uuid.UUID: UuidKey(),
        dt.datetime: UTCDateTime(),
        Decimal: Money(),
        str: sa.String(),
        int: sa.Integer(),
        bool: sa.Boolean(),
        dict[str, Any]: JSONDocument,
    }


metadata = Base.metadata


class Model(Base):
    """A model of the catalog (soft-deleted through ``deleted_at``)."""

    __tablename__ = "synergia_models"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    input_price_per_million: Mapped[Decimal]
    output_price_per_million: Mapped[Decimal]
    cache_read_price_per_million: Mapped[Decimal | None]
    cache_write_price_per_million: Mapped[Decimal | None]
    cache_write_1h_price_per_million: Mapped[Decimal | None]
    tiers: Mapped[list[dict[str, Any]] | None] = mapped_column(NullableJSONDocument)
    aliases: Mapped[list[str] | None] = mapped_column(NullableJSONDocument)
    context_window: Mapped[int | None]
    max_output_tokens: Mapped[int | None]
    is_enabled: Mapped[bool]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    deleted_at: Mapped[dt.datetime | None]

    __table_args__ = (
        sa.Index(
            "uq_synergia_models_live_provider_name",
            "provider",
            "name",
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
    )


class Chat(Base):
    """A chat of one user (soft-deleted through ``deleted_at``)."""

    __tablename__ = "synergia_chats"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.String(255))
    title: Mapped[str | None] = mapped_column(sa.String(500))
    model_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("synergia_models.id"))
    system_prompt: Mapped[str | None] = mapped_column(sa.Text())
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    is_pinned: Mapped[bool]
    is_archived: Mapped[bool]
    message_count: Mapped[int]
    last_seq: Mapped[int] = mapped_column(server_default=sa.text("0"))
    current_message_id: Mapped[uuid.UUID | None]
    last_message_at: Mapped[dt.datetime | None]
    activity_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    deleted_at: Mapped[dt.datetime | None]

    __table_args__ = (
        sa.CheckConstraint("message_count >= 0", name="message_count_non_negative"),
        sa.Index(
            "ix_synergia_chats_user_activity",
            "user_id",
            "activity_at",
            "id",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
    )


class Message(Base):
    """A message of a chat: one node of the chat's tree."""

    __tablename__ = "synergia_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    chat_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("synergia_chats.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(sa.String(255))
    parent_id: Mapped[uuid.UUID | None]
    seq: Mapped[int]
    role: Mapped[str] = mapped_column(sa.String(16))
    content: Mapped[str] = mapped_column(sa.Text())
    status: Mapped[str] = mapped_column(sa.String(16))
    model_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("synergia_models.id"))
    input_tokens: Mapped[int] = mapped_column(sa.BigInteger())
    output_tokens: Mapped[int] = mapped_column(sa.BigInteger())
    cache_read_tokens: Mapped[int] = mapped_column(sa.BigInteger())
    cache_write_tokens: Mapped[int] = mapped_column(sa.BigInteger())
    reasoning_tokens: Mapped[int] = mapped_column(sa.BigInteger())
    cache_write_1h_tokens: Mapped[int] = mapped_column(sa.BigInteger(), server_default=sa.text("0"))
    cost: Mapped[Decimal]
    error: Mapped[str | None] = mapped_column(sa.Text())
    parts: Mapped[list[dict[str, Any]] | None] = mapped_column(NullableJSONDocument)
    reasoning: Mapped[str | None] = mapped_column(sa.Text())
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    deleted_at: Mapped[dt.datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("chat_id", "seq"),
        sa.UniqueConstraint("chat_id", "id"),
        sa.ForeignKeyConstraint(
            ["chat_id", "parent_id"],
            ["synergia_messages.chat_id", "synergia_messages.id"],
            name="fk_synergia_messages_parent_same_chat",
        ),
        sa.CheckConstraint(f"role IN {ROLES!r}", name="role"),
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        sa.CheckConstraint(
            "input_tokens >= 0 AND output_tokens >= 0 AND cache_read_tokens >= 0 "
            "AND cache_write_tokens >= 0 AND reasoning_tokens >= 0",
            name="tokens_non_negative",
        ),
        sa.Index("ix_synergia_messages_chat_parent", "chat_id", "parent_id", "seq"),
        sa.Index("ix_synergia_messages_user_created", "user_id", "created_at"),
        sa.Index("ix_synergia_messages_model_created", "model_id", "created_at"),
    )


class Budget(Base):
    """A user's spending limit per period (``spend_limit`` in USD)."""

    __tablename__ = "synergia_budgets"

    user_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    spend_limit: Mapped[Decimal]
    period: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (sa.CheckConstraint(f"period IN {PERIODS!r}", name="period"),)


class Spend(Base):
    """What a user spent in one period (``period_start`` of ``"total"`` is
    1970-01-01): kept in its own row, locked and updated in the transaction
    that records a cost, so concurrent writers never lose a cent."""

    __tablename__ = "synergia_spend"

    user_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    period_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    amount: Mapped[Decimal]
    updated_at: Mapped[dt.datetime]

    __table_args__ = (sa.CheckConstraint(f"period IN {PERIODS!r}", name="period"),)
