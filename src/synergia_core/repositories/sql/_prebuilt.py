"""The hottest statements, compiled once per engine and run as driver SQL.

``Connection.execute(statement, params)`` spends most of a short call's
client time on work that never changes between calls of a prebuilt
statement: it looks the compiled form up in its cache, builds the
parameters through the compiler, sets up type processing for the result
and wraps each row. For the calls that run thousands of times a second
(appends, the newest page, a thread, the chat list) the statement is
compiled once per engine here, its bind and result processors are taken
from that compiled form, and each call runs the SQL text with
``Connection.exec_driver_sql``, which keeps what matters: the engine's
events, SQLAlchemy's error wrapping (so our error translation applies) and
the invalidation of connections the server dropped.

The compiled forms live in a dictionary held by the engine's execution
options (:data:`PREBUILT`), set by the engines synergia-core configures;
on any other engine (a host's own) the statements run the usual way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

from synergia_core.db import PREBUILT
from synergia_core.repositories.sql._types import uuid_from_hex

__all__ = ["fetch_all", "fetch_first"]


Processor = Callable[[Any], Any]


@dataclass
class _Compiled:
    """One statement compiled for one engine's dialect."""

    sql: str
    positional: tuple[str, ...] | None  # the parameter order, for qmark drivers
    binds: Mapping[str, Processor]  # bind processors, by parameter name
    constants: Mapping[str, Any]  # the statement's own values, processed
    types: Sequence[Any]  # the result columns' types
    steps: list[tuple[int, Processor]] | None = field(default=None)  # set at first use


def _compile(statement: Any, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    binds: dict[str, Processor] = {}
    constants: dict[str, Any] = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            binds[name] = processor
        if not name.startswith("p_"):  # a value of the statement itself
            value = bind.effective_value
            constants[name] = value if processor is None or value is None else processor(value)
    positional = tuple(compiled.positiontup) if compiled.positional else None
    if isinstance(statement, sa.Select):
        types = [column.type for column in statement.selected_columns]
    else:  # INSERT, UPDATE or DELETE ... RETURNING
        types = [column["type"] for column in statement.returning_column_descriptions]
    return _Compiled(str(compiled), positional, binds, constants, types)


def _arguments(compiled: _Compiled, bound: Mapping[str, Any]) -> Any:
    binds = compiled.binds
    values = dict(compiled.constants)
    for name, value in bound.items():
        processor = binds.get(name)
        values[name] = value if processor is None or value is None else processor(value)
    if compiled.positional is None:
        return values
    return tuple(values[name] for name in compiled.positional)


def _steps(compiled: _Compiled, dialect: Dialect, description: Any) -> list[tuple[int, Processor]]:
    """The result columns that need a conversion, with their processors."""
    steps = []
    for index, (kind, column) in enumerate(zip(compiled.types, description, strict=True)):
        processor = kind.dialect_impl(dialect).result_processor(dialect, column[1])
        if processor is not None:
            steps.append((index, processor))
    return steps


def _run(connection: Connection, statement: Any, bound: Mapping[str, Any]) -> Any:
    cache: dict[Any, _Compiled] | None = connection.get_execution_options().get(PREBUILT)
    if cache is None:
        return None
    compiled = cache.get(statement)
    if compiled is None:
        compiled = cache[statement] = _compile(statement, connection.dialect)
    result = connection.exec_driver_sql(compiled.sql, _arguments(compiled, bound))
    if compiled.steps is None:
        compiled.steps = _steps(compiled, connection.dialect, result.cursor.description)
    return compiled.steps, result


def _processed(
    steps: Sequence[tuple[int, Processor]], rows: Sequence[Sequence[Any]]
) -> list[Sequence[Any]]:
    """``rows`` with the columns that need it converted. Ids repeat within a
    result (a page's chat, each message's parent is the row before it), so
    each distinct UUID text is converted once per result."""
    if not steps:
        return list(rows)
    seen: dict[Any, Any] = {}
    out: list[Sequence[Any]] = []
    for row in rows:
        values = list(row)
        for index, processor in steps:
            value = values[index]
            if value is None:
                continue
            if processor is uuid_from_hex:
                converted = seen.get(value)
                if converted is None:
                    converted = seen[value] = processor(value)
                values[index] = converted
            else:
                values[index] = processor(value)
        out.append(values)
    return out


def fetch_all(
    connection: Connection, statement: sa.Executable, bound: Mapping[str, Any]
) -> list[Sequence[Any]]:
    """Every row of ``statement`` (a SELECT, or DML with RETURNING), as tuples
    of the columns' Python values."""
    ran = _run(connection, statement, bound)
    if ran is None:
        return list(connection.execute(statement, dict(bound)).all())
    steps, result = ran
    rows = result.cursor.fetchall()
    result.close()
    return _processed(steps, rows)


def fetch_first(
    connection: Connection, statement: sa.Executable, bound: Mapping[str, Any]
) -> Sequence[Any] | None:
    """The first row of ``statement``, as :func:`fetch_all` gives rows;
    ``None`` when there is none."""
    ran = _run(connection, statement, bound)
    if ran is None:
        return connection.execute(statement, dict(bound)).first()
    steps, result = ran
    row = result.cursor.fetchone()
    result.close()
    if row is None:
        return None
    return _processed(steps, (row,))[0]
