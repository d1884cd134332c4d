"""SQL storage of the model catalog (statements built once, at import)."""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from synergia_core.repositories.protocols import ModelPricing, NewModel
from synergia_core.repositories.sql._rows import (
    MODEL_COLUMNS,
    model_from_row,
    models,
    shallow_dict,
    tiers_from_json,
    tiers_to_json,
)
from synergia_core.repositories.sql._statements import param, params
from synergia_core.schemas import ModelRead

__all__ = ["PRICING_COLUMNS", "SqlModelRepository", "pricing_from_row"]

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
    models.c.cache_write_1h_price_per_million,
    models.c.tiers,
)

# Advisory lock space of model names: (this key, hashtext of the name).
_NAME_LOCK_SPACE = 0x5359_4E4D  # "SYNM"
_PROVIDER = param("provider", models.c.provider)
_NAME = param("name", models.c.name)
_ID = param("id", models.c.id)


def _name_lock() -> sa.ColumnElement[Any]:
    """``pg_advisory_xact_lock`` on the (provider, name) being bound."""
    key = sa.func.hashtext(sa.func.concat(_PROVIDER, "\x1f", _NAME))
    return sa.func.pg_advisory_xact_lock(sa.literal(_NAME_LOCK_SPACE), key)


_INSERT_COLUMNS = tuple(column.name for column in models.columns)
_ON_LIVE_NAME: dict[str, Any] = {"index_elements": ["provider", "name"], "index_where": _LIVE}


def _insert_postgresql() -> Any:
    # ON CONFLICT on the partial unique index: a duplicate is reported as
    # "no row", without an IntegrityError that would abort a PostgreSQL
    # transaction the caller may still want to use. The name's lock (see
    # lock_name), taken in the same statement, makes a rename racing for the
    # name wait and then see this row.
    lock = sa.select(_name_lock().label("locked")).subquery()
    values = [
        sa.cast(param(name, models.c[name]), models.c[name].type)
        if name not in ("provider", "name")
        else param(name, models.c[name])
        for name in _INSERT_COLUMNS
    ]
    return (
        postgresql.insert(models)
        .from_select(list(_INSERT_COLUMNS), sa.select(*values).select_from(lock))
        .on_conflict_do_nothing(**_ON_LIVE_NAME)
        .returning(*MODEL_COLUMNS)
    )


_INSERT = {
    "postgresql": _insert_postgresql(),
    "sqlite": sqlite.insert(models)
    .values({name: param(name, models.c[name]) for name in _INSERT_COLUMNS})
    .on_conflict_do_nothing(**_ON_LIVE_NAME)
    .returning(*MODEL_COLUMNS),
}
_GET = sa.select(*MODEL_COLUMNS).where(models.c.id == _ID, _LIVE)


def _has_alias(name: Any, dialect: str) -> sa.ColumnElement[bool]:
    """The model has ``name`` among its aliases (a JSON array of strings)."""
    if dialect == "postgresql":
        return sa.func.jsonb_exists(
            sa.func.coalesce(models.c.aliases, sa.text("'[]'::jsonb")), name
        )
    each = sa.func.json_each(models.c.aliases).table_valued("value")
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == name))


def _named(name: Any, dialect: str) -> sa.ColumnElement[bool]:
    return sa.or_(models.c.name == name, _has_alias(name, dialect))


_DIALECTS = ("postgresql", "sqlite")
_GET_BY_NAME = {
    dialect: sa.select(*MODEL_COLUMNS)
    .where(models.c.provider == _PROVIDER, _named(_NAME, dialect), _LIVE)
    .order_by((models.c.name == _NAME).desc(), models.c.id)
    .limit(1)
    for dialect in _DIALECTS
}
_RESOLVE = {
    dialect: sa.select(*MODEL_COLUMNS)
    .where(_named(_NAME, dialect), _LIVE)
    .order_by((models.c.name == _NAME).desc(), models.c.provider, models.c.id)
    .limit(20)
    for dialect in _DIALECTS
}


def _taken(dialect: str) -> sa.Select[Any]:
    """Live models of a provider, but one, with a name or alias among ``p_names``."""
    any_alias: sa.ColumnElement[bool]
    if dialect == "postgresql":
        names: Any = sa.bindparam("p_names", type_=postgresql.ARRAY(sa.String()))
        in_names = models.c.name == sa.func.any(names)
        any_alias = sa.func.jsonb_exists_any(
            sa.func.coalesce(models.c.aliases, sa.text("'[]'::jsonb")), names
        )
    else:
        names = sa.bindparam("p_names", expanding=True)
        in_names = models.c.name.in_(names)
        each = sa.func.json_each(models.c.aliases).table_valued("value")
        any_alias = sa.exists(
            sa.select(sa.literal(1)).select_from(each).where(each.c.value.in_(names))
        )
    return sa.select(models.c.name, models.c.aliases).where(
        models.c.provider == _PROVIDER,
        _LIVE,
        sa.or_(_ID.is_(None), models.c.id != _ID),
        sa.or_(in_names, any_alias),
    )


_TAKEN = {dialect: _taken(dialect) for dialect in _DIALECTS}
_ORDER = (models.c.provider, models.c.name, models.c.id)
_LIST = {
    (enabled_only, by_provider): sa.select(*MODEL_COLUMNS)
    .where(
        _LIVE,
        *((models.c.is_enabled.is_(True),) if enabled_only else ()),
        *((models.c.provider == _PROVIDER,) if by_provider else ()),
    )
    .order_by(*_ORDER)
    for enabled_only in (True, False)
    for by_provider in (True, False)
}
_UPDATE_LIVE = sa.update(models).where(models.c.id == _ID, _LIVE).returning(*MODEL_COLUMNS)
_SOFT_DELETE = sa.update(models).where(models.c.id == _ID, _LIVE).returning(models.c.id)
_LOCK_NAME = sa.select(_name_lock())
_PRICING = sa.select(*_PRICING_COLUMNS).where(models.c.id == _ID)


class SqlModelRepository:
    """:class:`~synergia_core.repositories.protocols.ModelRepository` on SQLAlchemy Core.

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _one(self, statement: Any, bound: Mapping[str, Any]) -> ModelRead | None:
        row = self._connection.execute(statement, bound).mappings().first()
        return None if row is None else model_from_row(row)

    def insert(self, model: NewModel) -> ModelRead | None:
        """Insert a model; ``None`` when a live model has its provider and name."""
        values = shallow_dict(model)
        values["updated_at"] = model.created_at
        values["deleted_at"] = None
        values["tiers"] = tiers_to_json(model.tiers)
        values["aliases"] = list(model.aliases) or None
        statement = _INSERT.get(self._connection.dialect.name)
        if statement is None:  # pragma: no cover - only PostgreSQL and SQLite are supported
            statement = sa.insert(models).returning(*MODEL_COLUMNS)
            return self._one(statement, values)
        return self._one(statement, params(**values))

    def get(self, model_id: uuid.UUID) -> ModelRead | None:
        """A live model by id."""
        return self._one(_GET, params(id=model_id))

    def _dialect(self) -> str:
        name = self._connection.dialect.name
        return name if name in _DIALECTS else "sqlite"

    def get_by_name(self, provider: str, name: str) -> ModelRead | None:
        """The live model with this provider and name (or alias)."""
        return self._one(_GET_BY_NAME[self._dialect()], params(provider=provider, name=name))

    def resolve(self, name: str) -> builtins.list[ModelRead]:
        """Live models of any provider named ``name`` or so aliased."""
        rows = self._connection.execute(_RESOLVE[self._dialect()], params(name=name)).mappings()
        return [model_from_row(row) for row in rows]

    def names_taken(
        self, provider: str, names: Sequence[str], *, besides: uuid.UUID | None
    ) -> builtins.list[str]:
        """Which of ``names`` another live model of ``provider`` uses."""
        if not names:
            return []
        bound = {**params(provider=provider, id=besides), "p_names": list(names)}
        used: set[str] = set()
        for row in self._connection.execute(_TAKEN[self._dialect()], bound):
            used.add(row.name)
            used.update(row.aliases or ())
        return [name for name in names if name in used]

    def list(self, *, enabled_only: bool, provider: str | None) -> list[ModelRead]:
        """Live models ordered by provider then name."""
        statement = _LIST[enabled_only, provider is not None]
        rows = self._connection.execute(statement, params(provider=provider)).mappings().all()
        return [model_from_row(row) for row in rows]

    def update(
        self, model_id: uuid.UUID, values: Mapping[str, Any], now: dt.datetime
    ) -> ModelRead | None:
        """Change columns of a live model; ``None`` when there is none."""
        stored = dict(values)
        if "tiers" in stored:
            stored["tiers"] = tiers_to_json(stored["tiers"])
        if "aliases" in stored:
            stored["aliases"] = list(stored["aliases"] or ()) or None
        return self._one(_UPDATE_LIVE, {**stored, "updated_at": now, **params(id=model_id)})

    def soft_delete(self, model_id: uuid.UUID, now: dt.datetime) -> bool:
        """Mark a live model deleted; ``False`` when there is none."""
        bound = {"deleted_at": now, "updated_at": now, **params(id=model_id)}
        return self._connection.execute(_SOFT_DELETE, bound).first() is not None

    def lock_name(self, provider: str, name: str) -> None:
        """On PostgreSQL, a transaction-scoped advisory lock on the name
        (SQLite has one writer at a time: nothing to do)."""
        if self._connection.dialect.name == "postgresql":
            self._connection.execute(_LOCK_NAME, params(provider=provider, name=name))

    def pricing(self, model_id: uuid.UUID) -> ModelPricing | None:
        """Prices and state of a model, deleted ones included."""
        row = self._connection.execute(_PRICING, params(id=model_id)).first()
        return None if row is None else pricing_from_row(row)


PRICING_COLUMNS = _PRICING_COLUMNS
"""The columns :func:`pricing_from_row` reads."""


def pricing_from_row(row: Any) -> ModelPricing:
    """A :class:`ModelPricing` from a row selected with :data:`PRICING_COLUMNS`."""
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
        cache_write_1h_price_per_million=row.cache_write_1h_price_per_million,
        tiers=tuple(tiers_from_json(row.tiers)),
    )
