"""Statements of the hot paths, built once with bound parameters.

Parameters are named ``p_<name>`` (see :func:`params`).

Building a SQLAlchemy statement costs more Python time than running a cached
one, so the statements every chat app runs all the time (append a message,
read a chat's newest page, walk a thread, page a chat list) are built here at
import and executed with a parameter dict: SQLAlchemy finds their compiled
form in its cache and only binds values.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from synergia_core.repositories.sql._orm import Spend
from synergia_core.repositories.sql._rows import (
    CHAT_COLUMNS,
    MESSAGE_COLUMNS,
    chats,
    messages,
)

__all__ = [
    "APPEND_GENERIC",
    "APPEND_POSTGRESQL",
    "APPEND_POSTGRESQL_SPENDING",
    "CHATS_AFTER",
    "CHATS_FIRST",
    "LIVE_MESSAGE",
    "MESSAGE_BY_ID",
    "NEWEST",
    "NEWEST_BEFORE",
    "THREAD",
    "live_chat",
    "param",
    "params",
]

spend: sa.Table = Spend.__table__  # type: ignore[assignment]

INSERT_COLUMNS = tuple(
    name for name in (column.name for column in messages.columns) if name != "parent_id"
)


def param(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
    """The bound parameter ``p_<name>``, typed as ``column``.

    Parameters are named ``p_<name>``: INSERT and UPDATE statements take
    column names for the values they set."""
    return sa.bindparam(f"p_{name}", type_=column.type)


_param = param


def params(**values: Any) -> dict[str, Any]:
    """Parameters for the statements here: each name prefixed with ``p_``."""
    return {f"p_{name}": value for name, value in values.items()}


def live_chat(chat_id: Any, user_id: Any) -> sa.ColumnElement[bool]:
    """``EXISTS`` a live chat with this id, owned by this user."""
    return sa.exists().where(
        chats.c.id == chat_id, chats.c.user_id == user_id, chats.c.deleted_at.is_(None)
    )


_CHAT = _param("chat_id", chats.c.id)
_USER = _param("user_id", chats.c.user_id)
_NOW = _param("now", chats.c.updated_at)
_OWNED_LIVE_CHAT = sa.and_(
    chats.c.id == _CHAT, chats.c.user_id == _USER, chats.c.deleted_at.is_(None)
)

# --------------------------------------------------------------------- append


def _append_generic(under_current_leaf: bool) -> sa.Insert:
    """The append on SQLite: one ``INSERT ... SELECT``.

    It reads the chat row it appends to: the next ``seq`` is the chat's
    ``last_seq + 1`` and the default parent its current leaf. SQLite
    runs the statement under its write lock, and the schema's trigger
    (:data:`~synergia_core.repositories.sql._orm.SQLITE_APPEND_TRIGGER`)
    updates the counters and the leaf within it.
    """
    parent = (
        chats.c.current_message_id
        if under_current_leaf
        else _param("parent_id", messages.c.parent_id)
    )
    values = [
        (chats.c.last_seq + 1).label("seq") if name == "seq" else _param(name, messages.c[name])
        for name in INSERT_COLUMNS
    ]
    return (
        sa.insert(messages)
        .from_select(
            [*INSERT_COLUMNS, "parent_id"], sa.select(*values, parent).where(_OWNED_LIVE_CHAT)
        )
        .returning(messages.c.seq, messages.c.parent_id)
    )


APPEND_GENERIC = {flag: _append_generic(flag) for flag in (True, False)}
"""The append on SQLite, by ``under_current_leaf``."""


def _spend_ctes(bump: Any, bounded: bool) -> tuple[Any, Any]:
    """Add the message's cost to the user's spend of its period, in the
    append's own statement, only when the append happened (both select from
    ``bump``): ``synergia_spend_added`` adds it to the period's row under
    its row lock; only when there is no row yet, ``synergia_spent`` creates
    it from the period's stored costs (the snapshot before this statement:
    the new message is not in it, its cost is added), or adds the cost to a
    row a concurrent writer created meanwhile. The sum over the period's
    messages thus runs once per period, not once per append."""
    user = _param("user_id", spend.c.user_id)
    period = _param("s_period", spend.c.period)
    start = _param("s_start", spend.c.period_start)
    cost = _param("cost", spend.c.amount)
    now = _param("now", spend.c.updated_at)
    added = (
        sa.update(spend)
        .where(
            spend.c.user_id == user,
            spend.c.period == period,
            spend.c.period_start == start,
            sa.exists(sa.select(bump.c.seq)),
        )
        .values(amount=spend.c.amount + cost, updated_at=now)
        .returning(spend.c.amount)
        .cte("synergia_spend_added")
    )
    window = [messages.c.user_id == user, messages.c.created_at >= start]
    if bounded:
        window.append(messages.c.created_at < _param("s_end", messages.c.created_at))
    before = sa.select(sa.func.coalesce(sa.func.sum(messages.c.cost), 0)).where(*window)
    statement = postgresql.insert(spend).from_select(
        ["user_id", "period", "period_start", "amount", "updated_at"],
        sa.select(
            sa.cast(user, spend.c.user_id.type),
            sa.cast(period, spend.c.period.type),
            sa.cast(start, spend.c.period_start.type),
            sa.cast(before.scalar_subquery() + cost, spend.c.amount.type),
            sa.cast(now, spend.c.updated_at.type),
        )
        .select_from(bump)
        .where(~sa.exists(sa.select(added.c.amount))),
    )
    created = (
        statement.on_conflict_do_update(
            index_elements=["user_id", "period", "period_start"],
            set_={"amount": spend.c.amount + cost, "updated_at": now},
        )
        .returning(spend.c.amount)
        .cte("synergia_spent")
    )
    return added, created


def _append_postgresql(under_current_leaf: bool, spending: bool | None = None) -> sa.Insert:
    """The whole append in one PostgreSQL statement.

    ``old`` locks the chat row (``FOR UPDATE``) and reads the current leaf;
    ``bump`` updates the same row from it, so its ``RETURNING`` can give the
    new ``seq`` with the *previous* leaf (PostgreSQL's usual way to return a
    value as it was before an update); the insert reads both. Concurrent
    appends wait on the row lock, then see the committed row. With
    ``spending`` (``True``: a period with an end; ``False``: ``"total"``),
    the statement also records the cost in the user's spend (see
    :func:`_spend_cte`).
    """
    old = (
        sa.select(chats.c.id, chats.c.current_message_id)
        .where(_OWNED_LIVE_CHAT)
        .with_for_update()
        .cte("synergia_old")
    )
    bump = (
        sa.update(chats)
        .where(chats.c.id == old.c.id)
        .values(
            message_count=chats.c.message_count + 1,
            last_seq=chats.c.last_seq + 1,
            last_message_at=_NOW,
            activity_at=_NOW,
            updated_at=_NOW,
            current_message_id=_param("id", messages.c.id),
        )
        .returning(chats.c.last_seq.label("seq"), old.c.current_message_id.label("leaf"))
        .cte("synergia_bump")
    )
    # Parameters in a SELECT list have no column to take their type from, so
    # each is cast to its column's type (NULLs included).
    parent = (
        bump.c.leaf
        if under_current_leaf
        else sa.cast(_param("parent_id", messages.c.parent_id), messages.c.parent_id.type)
    )
    values = [
        bump.c.seq
        if name == "seq"
        else sa.cast(_param(name, messages.c[name]), messages.c[name].type)
        for name in INSERT_COLUMNS
    ]
    statement = (
        sa.insert(messages)
        .from_select([*INSERT_COLUMNS, "parent_id"], sa.select(*values, parent).select_from(bump))
        .returning(messages.c.seq, messages.c.parent_id)
    )
    if spending is not None:
        statement = statement.add_cte(*_spend_ctes(bump, spending))
    return statement


APPEND_POSTGRESQL = {flag: _append_postgresql(flag) for flag in (True, False)}
"""The one-statement append, by ``under_current_leaf``."""
APPEND_POSTGRESQL_SPENDING = {
    (flag, bounded): _append_postgresql(flag, bounded)
    for flag in (True, False)
    for bounded in (True, False)
}
"""The same, recording the cost in the spend, by (``under_current_leaf``,
the period has an end)."""

# ---------------------------------------------------------------------- reads

_MESSAGE_CHAT = _param("chat_id", messages.c.chat_id)
_MESSAGE_USER = _param("user_id", messages.c.user_id)
_LIMIT = sa.bindparam("p_limit", type_=sa.Integer())

LIVE_MESSAGE = messages.c.deleted_at.is_(None)
"""The message is not deleted (``messages.delete``)."""

MESSAGE_BY_ID = sa.select(*MESSAGE_COLUMNS).where(
    messages.c.id == _param("message_id", messages.c.id),
    messages.c.user_id == _MESSAGE_USER,
    LIVE_MESSAGE,
    live_chat(messages.c.chat_id, _MESSAGE_USER),
)
"""A message of one of the user's live chats."""


def _newest(before: bool) -> sa.Select[Any]:
    query = sa.select(*MESSAGE_COLUMNS).where(
        messages.c.chat_id == _MESSAGE_CHAT,
        messages.c.user_id == _MESSAGE_USER,
        LIVE_MESSAGE,
        live_chat(_MESSAGE_CHAT, _MESSAGE_USER),
    )
    if before:
        query = query.where(messages.c.seq < sa.bindparam("p_before_seq", type_=sa.Integer()))
    return query.order_by(messages.c.seq.desc()).limit(_LIMIT)


NEWEST = _newest(False)
"""The newest ``limit`` messages of a live chat, highest ``seq`` first."""
NEWEST_BEFORE = _newest(True)
"""The same, below ``before_seq``."""


def _thread(from_current_leaf: bool, limited: bool) -> sa.Select[Any]:
    if from_current_leaf:
        start: Any = (
            sa.select(chats.c.current_message_id)
            .where(
                chats.c.id == _MESSAGE_CHAT,
                chats.c.user_id == _MESSAGE_USER,
                chats.c.deleted_at.is_(None),
            )
            .scalar_subquery()
        )
    else:
        start = _param("leaf_id", messages.c.id)
    anchor = sa.select(
        messages.c.id, messages.c.parent_id, sa.literal(1, sa.Integer).label("depth")
    ).where(
        messages.c.id == start,
        messages.c.chat_id == _MESSAGE_CHAT,
        messages.c.user_id == _MESSAGE_USER,
        LIVE_MESSAGE,  # (the ancestors of a live message are live)
        live_chat(_MESSAGE_CHAT, _MESSAGE_USER),
    )
    path = anchor.cte("synergia_path", recursive=True)
    step = sa.select(messages.c.id, messages.c.parent_id, path.c.depth + 1).join(
        path, messages.c.id == path.c.parent_id
    )
    if limited:
        step = step.where(path.c.depth < _LIMIT)
    path = path.union_all(step)
    return (
        sa.select(*MESSAGE_COLUMNS)
        .select_from(messages.join(path, path.c.id == messages.c.id))
        .order_by(path.c.depth.desc())
    )


THREAD = {
    (current, limited): _thread(current, limited)
    for current in (True, False)
    for limited in (True, False)
}
"""The root-to-leaf walk, by (from the current leaf, limited)."""

# ----------------------------------------------------------------- chat lists


def _chats(after: bool, archived: bool, pinned: bool | None) -> sa.Select[Any]:
    query = sa.select(*CHAT_COLUMNS).where(chats.c.user_id == _USER, chats.c.deleted_at.is_(None))
    if not archived:
        query = query.where(chats.c.is_archived.is_(False))
    if pinned is not None:
        query = query.where(chats.c.is_pinned.is_(pinned))
    if after:
        query = query.where(
            sa.tuple_(chats.c.activity_at, chats.c.id)
            < sa.tuple_(_param("after_at", chats.c.activity_at), _param("after_id", chats.c.id))
        )
    return query.order_by(chats.c.activity_at.desc(), chats.c.id.desc()).limit(_LIMIT)


_FILTERS = [(archived, pinned) for archived in (True, False) for pinned in (None, True, False)]
CHATS_FIRST = {key: _chats(False, *key) for key in _FILTERS}
"""A user's first page of live chats, by (include archived, pinned filter)."""
CHATS_AFTER = {key: _chats(True, *key) for key in _FILTERS}
"""The pages after a (activity, id) key, by the same filters."""
