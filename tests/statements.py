"""Which SQL statements are scoped by user: the distribution-readiness check.

Distributed by ``user_id`` (Citus), a per-user table can answer a statement
from one shard only when the statement says which user it is for. A
statement *touching* a per-user table (naming it after ``FROM``, ``JOIN``,
``UPDATE``, ``INTO``) is scoped when, for every such table reference:

* it is the target of an ``INSERT`` whose column list carries ``user_id``; or
* the statement compares that reference's ``user_id`` (``<table or alias>.user_id =``
  or ``IN``), which a Citus router query needs (a join on ``user_id``
  between two per-user tables counts: the tables are colocated).

Two kinds of statement are exceptions, reading every shard by design (a
multi-shard query under Citus): usage reports across users
(:data:`CROSS_USER_REPORT`: aggregates with no user asked for), and an
import's check that the ids it keeps are not another user's
(:data:`ID_CONFLICT_CHECK`: a lookup by primary key alone, on import with
``keep_ids=True``; docs/scaling.md lists both).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "CROSS_USER_REPORT",
    "ID_CONFLICT_CHECK",
    "PER_USER_TABLES",
    "is_scoped",
    "unscoped_statements",
]

PER_USER_TABLES = (
    "synergia_chats",
    "synergia_messages",
    "synergia_budgets",
    "synergia_spend",
    "synergia_search",
)
"""The tables distributed by ``user_id`` (a search table, once it exists, too)."""

_TABLE = "|".join(PER_USER_TABLES)
_REFERENCE = re.compile(
    rf"\b(FROM|JOIN|UPDATE|INTO)\s+({_TABLE})\w*(?:\s+(?:AS\s+)?(?!WHERE\b|SET\b|ON\b|JOIN\b|"
    rf"LEFT\b|INNER\b|GROUP\b|ORDER\b|LIMIT\b|FOR\b|VALUES\b|SELECT\b|RETURNING\b|USING\b)"
    rf"([a-z_][a-z0-9_]*))?",
    re.IGNORECASE,
)
_INSERT_COLUMNS = re.compile(rf"\bINSERT\s+INTO\s+({_TABLE})\s*\(([^)]*)\)", re.IGNORECASE)
CROSS_USER_REPORT = re.compile(
    r"^\s*SELECT\s+(?:[^;]*?\s+AS\s+\"?key\"?,\s+)?count\(\*\)\s+AS\s+message_count,"
    r"\s+coalesce\(sum\(",
    re.IGNORECASE,
)
"""The usage reports' aggregate (``sy.usage.totals``/``breakdown``), which may
span users."""
ID_CONFLICT_CHECK = re.compile(
    r"^\s*SELECT\s+(synergia_chats\.id,\s+synergia_chats\.user_id\s+FROM\s+synergia_chats"
    r"|synergia_messages\.id\s+FROM\s+synergia_messages)\s+WHERE\s+"
    r"synergia_(chats|messages)\.id\s+IN\s+\(.*\)\s*$",
    re.IGNORECASE,
)
"""An import's lookup of the ids it keeps, by primary key alone: are they
another user's (``import_chats(keep_ids=True)``)."""


def _compares_user(statement: str, qualifier: str) -> bool:
    pattern = rf"\b{re.escape(qualifier)}\.user_id\s*(=|IN\b)"
    return re.search(pattern, statement, re.IGNORECASE) is not None


def is_scoped(statement: str) -> bool:
    """Whether ``statement`` is scoped by user (see the module)."""
    text = " ".join(statement.split())
    if CROSS_USER_REPORT.search(text) or ID_CONFLICT_CHECK.search(text):
        return True
    inserted = {
        match.group(1).lower()
        for match in _INSERT_COLUMNS.finditer(text)
        if "user_id" in {column.strip().strip('"').lower() for column in match.group(2).split(",")}
    }
    for match in _REFERENCE.finditer(text):
        keyword, table, alias = match.group(1).upper(), match.group(2).lower(), match.group(3)
        if keyword == "INTO":
            if table not in inserted:
                return False
            continue
        qualifiers = {table} if alias is None else {alias, table}
        single = len(_REFERENCE.findall(text)) == 1
        if not any(_compares_user(text, name) for name in qualifiers) and not (
            single and re.search(r"(?<![.\w])user_id\s*(=|IN\b)", text, re.IGNORECASE)
        ):
            return False
    return True


def unscoped_statements(statements: Iterable[str]) -> list[str]:
    """The distinct statements of ``statements`` that are not scoped by user."""
    found: dict[str, None] = {}
    for statement in statements:
        if statement not in found and not is_scoped(statement):
            found[statement] = None
    return list(found)
