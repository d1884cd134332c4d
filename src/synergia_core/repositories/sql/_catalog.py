"""SQL storage of the model catalog."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from synergia_core.repositories.protocols import ModelPricing, NewModel
from synergia_core.repositories.sql._rows import MODEL_COLUMNS, model_from_row, models, shallow_dict
from synergia_core.schemas import ModelRead

__all__ = ["SqlModelRepository"]

_LIVE = models.c.deleted_at.is_(None)
_PRICING_COLUMNS = (
    models.c.id,
    models.c.is_enabled,
    models.c.deleted_at,
    models.c.input_price_per_million,
    models.c.output_price_per_million,
    models.c.cache_read_price_per_million,
    models.c.cache_write_price_per_million,
    models.c.context_window,
    models.c.max_output_tokens,
)


# Advisory lock space of model names: (this key, hashtext of the name).
_NAME_LOCK_SPACE = 0x5359_4E4D  # "SYNM"


def _name_lock(provider: str, name: str) -> sa.ColumnElement[Any]:
    key = sa.func.hashtext(sa.literal(provider) + "\x1f" + sa.literal(name))
    return sa.func.pg_advisory_xact_lock(sa.literal(_NAME_LOCK_SPACE), key)


class SqlModelRepository:
    """:class:`~synergia_core.repositories.protocols.ModelRepository` on SQLAlchemy Core.

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def insert(self, model: NewModel) -> ModelRead | None:
        """Insert a model; ``None`` when a live model has its provider and name."""
        values = shallow_dict(model)
        values["updated_at"] = model.created_at
        values["deleted_at"] = None
        dialect = self._connection.dialect.name
        statement: Any
        if dialect == "postgresql":
            # ON CONFLICT on the partial unique index: a duplicate is reported as
            # "no row", without an IntegrityError that would abort a PostgreSQL
            # transaction the caller may still want to use. The name's lock
            # (see lock_name), taken in the same statement, makes a rename
            # racing for the name wait and then see this row.
            lock = sa.select(_name_lock(model.provider, model.name).label("locked")).subquery()
            columns = list(values)
            statement = (
                postgresql.insert(models)
                .from_select(
                    columns,
                    sa.select(
                        *(sa.literal(values[c], models.c[c].type) for c in columns)
                    ).select_from(lock),
                )
                .on_conflict_do_nothing(index_elements=["provider", "name"], index_where=_LIVE)
            )
        elif dialect == "sqlite":
            statement = (
                sqlite.insert(models)
                .values(values)
                .on_conflict_do_nothing(index_elements=["provider", "name"], index_where=_LIVE)
            )
        else:  # pragma: no cover - only PostgreSQL and SQLite are supported
            statement = sa.insert(models).values(values)
        inserted = self._connection.execute(statement.returning(*MODEL_COLUMNS)).mappings().first()
        return None if inserted is None else model_from_row(inserted)

    def get(self, model_id: uuid.UUID) -> ModelRead | None:
        """A live model by id."""
        row = (
            self._connection.execute(
                sa.select(*MODEL_COLUMNS).where(models.c.id == model_id, _LIVE)
            )
            .mappings()
            .first()
        )
        return None if row is None else model_from_row(row)

    def get_by_name(self, provider: str, name: str) -> ModelRead | None:
        """The live model with this provider and name."""
        row = (
            self._connection.execute(
                sa.select(*MODEL_COLUMNS).where(
                    models.c.provider == provider, models.c.name == name, _LIVE
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else model_from_row(row)

    def list(self, *, enabled_only: bool, provider: str | None) -> list[ModelRead]:
        """Live models ordered by provider then name."""
        query = sa.select(*MODEL_COLUMNS).where(_LIVE)
        if enabled_only:
            query = query.where(models.c.is_enabled.is_(True))
        if provider is not None:
            query = query.where(models.c.provider == provider)
        query = query.order_by(models.c.provider, models.c.name, models.c.id)
        return [model_from_row(row) for row in self._connection.execute(query).mappings().all()]

    def update(
        self, model_id: uuid.UUID, values: Mapping[str, Any], now: dt.datetime
    ) -> ModelRead | None:
        """Change columns of a live model; ``None`` when there is none."""
        statement = (
            sa.update(models)
            .where(models.c.id == model_id, _LIVE)
            .values({**values, "updated_at": now})
            .returning(*MODEL_COLUMNS)
        )
        row = self._connection.execute(statement).mappings().first()
        return None if row is None else model_from_row(row)

    def soft_delete(self, model_id: uuid.UUID, now: dt.datetime) -> bool:
        """Mark a live model deleted; ``False`` when there is none."""
        statement = (
            sa.update(models)
            .where(models.c.id == model_id, _LIVE)
            .values(deleted_at=now, updated_at=now)
            .returning(models.c.id)
        )
        return self._connection.execute(statement).first() is not None

    def lock_name(self, provider: str, name: str) -> None:
        """On PostgreSQL, a transaction-scoped advisory lock on the name
        (SQLite has one writer at a time: nothing to do)."""
        if self._connection.dialect.name == "postgresql":
            self._connection.execute(sa.select(_name_lock(provider, name)))

    def pricing(self, model_id: uuid.UUID) -> ModelPricing | None:
        """Prices and state of a model, deleted ones included."""
        row = self._connection.execute(
            sa.select(*_PRICING_COLUMNS).where(models.c.id == model_id)
        ).first()
        if row is None:
            return None
        return ModelPricing(
            id=row.id,
            is_enabled=row.is_enabled,
            is_deleted=row.deleted_at is not None,
            input_price_per_million=row.input_price_per_million,
            output_price_per_million=row.output_price_per_million,
            cache_read_price_per_million=row.cache_read_price_per_million,
            cache_write_price_per_million=row.cache_write_price_per_million,
            context_window=row.context_window,
            max_output_tokens=row.max_output_tokens,
        )
