"""SQL full-text search of messages and chat titles.

PostgreSQL matches ``websearch_to_tsquery`` against the stored
``synergia_messages.search_vector`` (GIN-indexed) and ranks with
``ts_rank_cd``; chat titles, few per user, are matched without a stored
vector. SQLite matches the FTS5 tables of revision 0006, whose ``owner``
column restricts a query to one user's entries before anything is ranked,
and ranks with ``bm25`` (negated: higher is better on both).

Either way the page is ranked, cut and keyset-filtered in an inner query;
the snippets (``ts_headline``, FTS5's ``snippet``) are built outside it,
for the rows of the page only. Scoping (the user, live chats, undeleted
messages) is part of every statement.
"""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from synergia_core.db import PREBUILT
from synergia_core.repositories.protocols import SearchKey, SearchOptions
from synergia_core.repositories.sql._fts_query import fts_expression, websearch_text
from synergia_core.repositories.sql._rows import CHAT_COLUMNS, chat_from_tuple, chats
from synergia_core.repositories.sql._types import UTCDateTime, UuidKey
from synergia_core.schemas import ChatRead, Role, SearchHit

__all__ = ["SqlSearchRepository"]

_MESSAGE_SCOPE = (
    "m.user_id = :user_id AND m.deleted_at IS NULL "
    "AND c.user_id = :user_id AND c.deleted_at IS NULL"
)

# ------------------------------------------------------------------- SQLite

_SQLITE_SCORE = "-bm25(synergia_search_messages, 1.0, 0.0)"
_SQLITE_MESSAGES = """
SELECT p.id, m.chat_id, c.title, m.role, m.created_at, p.score,
       snippet(synergia_search_messages, 0, :open_mark, :close_mark, '…', :words) AS snippet
FROM (
    SELECT m.rowid AS row_id, m.id AS id, {score} AS score
    FROM synergia_search_messages
    JOIN synergia_messages AS m ON m.rowid = synergia_search_messages.rowid
    JOIN synergia_chats AS c ON c.id = m.chat_id
    WHERE synergia_search_messages MATCH :expression AND {scope}{chat}{after}
    ORDER BY score DESC, m.id DESC
    LIMIT :limit
) AS p
JOIN synergia_search_messages ON synergia_search_messages.rowid = p.row_id
JOIN synergia_messages AS m ON m.rowid = p.row_id
JOIN synergia_chats AS c ON c.id = m.chat_id
WHERE synergia_search_messages MATCH :expression
ORDER BY p.score DESC, p.id DESC
"""
_SQLITE_CHAT_SCORE = "-bm25(synergia_search_chats, 1.0, 0.0)"
_SQLITE_CHATS = """
SELECT c.id AS id, {score} AS score
FROM synergia_search_chats
JOIN synergia_chats AS c ON c.rowid = synergia_search_chats.rowid
WHERE synergia_search_chats MATCH :expression
  AND c.user_id = :user_id AND c.deleted_at IS NULL{after}
ORDER BY score DESC, c.id DESC
LIMIT :limit
"""

# --------------------------------------------------------------- PostgreSQL

_PG_QUERY = "websearch_to_tsquery(__CONFIG__, :query)"
_PG_SCORE = f"ts_rank_cd(m.search_vector, {_PG_QUERY})::float8"
_PG_MESSAGES = f"""
SELECT p.id, p.chat_id, p.title, p.role, p.created_at, p.score,
       ts_headline(__CONFIG__, p.content, {_PG_QUERY}, :headline) AS snippet
FROM (
    SELECT m.id, m.chat_id, c.title, m.role, m.created_at, m.content, {{score}} AS score
    FROM synergia_messages AS m
    JOIN synergia_chats AS c ON c.id = m.chat_id
    WHERE m.search_vector @@ {_PG_QUERY} AND {{scope}}{{chat}}{{after}}
    ORDER BY score DESC, m.id DESC
    LIMIT :limit
) AS p
ORDER BY p.score DESC, p.id DESC
"""
_PG_TITLE = "to_tsvector(__CONFIG__, c.title)"
_PG_CHAT_SCORE = f"ts_rank_cd({_PG_TITLE}, {_PG_QUERY})::float8"
_PG_CHATS = f"""
SELECT c.id AS id, {{score}} AS score
FROM synergia_chats AS c
WHERE c.user_id = :user_id AND c.deleted_at IS NULL AND c.title IS NOT NULL
  AND {_PG_TITLE} @@ {_PG_QUERY}{{after}}
ORDER BY score DESC, c.id DESC
LIMIT :limit
"""

_AFTER = " AND ({score} < :after_score OR ({score} = :after_score AND {id} < :after_id))"
_CHAT = " AND m.chat_id = :chat_id"

_BINDS = (
    sa.bindparam("user_id", type_=sa.String()),
    sa.bindparam("limit", type_=sa.Integer()),
)
_PG_BINDS = (sa.bindparam("query", type_=sa.String()),)
_CHAT_BIND = sa.bindparam("chat_id", type_=UuidKey())
_AFTER_BINDS = (
    sa.bindparam("after_score", type_=sa.Float()),
    sa.bindparam("after_id", type_=UuidKey()),
)
_HIT_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "id": UuidKey(),
    "chat_id": UuidKey(),
    "title": sa.String(),
    "role": sa.String(),
    "created_at": UTCDateTime(),
    "score": sa.Float(),
    "snippet": sa.String(),
}


_CONFIG_NAME = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*")


def _with_config(sql: str, config: str) -> str:
    """The PostgreSQL statement with its text search configuration as a
    constant: a bound name would be looked up again for every row scanned
    (a cast to ``regconfig`` is not immutable); a constant is resolved once,
    when the statement is parsed. ``config`` is a checked identifier
    (``ServiceConfig``), so it cannot break out of the literal."""
    if config and not _CONFIG_NAME.fullmatch(config):
        raise ValueError(f"not a text search configuration name: {config!r:.80}")
    return sql.replace("__CONFIG__", f"'{config}'::regconfig")


@functools.lru_cache(maxsize=64)
def _message_statement(dialect: str, in_chat: bool, after: bool, config: str) -> sa.TextualSelect:
    sqlite = dialect == "sqlite"
    score = _SQLITE_SCORE if sqlite else _PG_SCORE
    sql = (_SQLITE_MESSAGES if sqlite else _PG_MESSAGES).format(
        score=score,
        scope=_MESSAGE_SCOPE,
        chat=_CHAT if in_chat else "",
        after=_AFTER.format(score=score, id="m.id") if after else "",
    )
    sql = _with_config(sql, config)
    binds = [
        *_BINDS,
        *(() if sqlite else (*_PG_BINDS, sa.bindparam("headline", type_=sa.String()))),
    ]
    if in_chat:
        binds.append(_CHAT_BIND)
    if after:
        binds.extend(_AFTER_BINDS)
    return sa.text(sql).bindparams(*binds).columns(**_HIT_COLUMNS)


@functools.lru_cache(maxsize=64)
def _chat_statement(dialect: str, after: bool, config: str) -> Any:
    sqlite = dialect == "sqlite"
    score = _SQLITE_CHAT_SCORE if sqlite else _PG_CHAT_SCORE
    sql = (_SQLITE_CHATS if sqlite else _PG_CHATS).format(
        score=score, after=_AFTER.format(score=score, id="c.id") if after else ""
    )
    sql = _with_config(sql, config)
    binds = [*_BINDS, *(() if sqlite else _PG_BINDS), *(_AFTER_BINDS if after else ())]
    ranked = (
        sa.text(sql).bindparams(*binds).columns(id=UuidKey(), score=sa.Float()).subquery("ranked")
    )
    return (
        sa.select(*CHAT_COLUMNS, ranked.c.score)
        .join_from(chats, ranked, chats.c.id == ranked.c.id)
        # The owner again, outside: every statement says whose rows it reads
        # (a table distributed by user_id answers it from one shard).
        .where(chats.c.user_id == _BINDS[0])
        .order_by(ranked.c.score.desc(), ranked.c.id.desc())
    )


_CONFIG_EXISTS = sa.text(
    "SELECT EXISTS (SELECT FROM pg_catalog.pg_ts_config AS c "
    "JOIN pg_catalog.pg_namespace AS n ON n.oid = c.cfgnamespace "
    "WHERE c.cfgname = :name AND (n.nspname = :schema "
    "OR (:schema = '' AND pg_catalog.pg_ts_config_is_visible(c.oid))))"
).bindparams(sa.bindparam("name", type_=sa.String()), sa.bindparam("schema", type_=sa.String()))


def _headline_option(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _headline(options: SearchOptions) -> str:
    """``ts_headline``'s options: the marks, and about as many words as
    FTS5's ``snippet`` gives."""
    words = options.snippet_words
    return (
        f"StartSel={_headline_option(options.open_mark)}, "
        f"StopSel={_headline_option(options.close_mark)}, "
        f"MaxWords={words}, MinWords={max(1, words // 2)}, ShortWord=0, "
        'MaxFragments=1, FragmentDelimiter=" … "'
    )


def _owner(user_id: str) -> str:
    """The FTS5 token of a user (what SQLite's ``hex(user_id)`` gives)."""
    return user_id.encode("utf-8").hex().upper()


class SqlSearchRepository:
    """:class:`~synergia_core.repositories.protocols.SearchRepository` in SQL.

    Args:
        connection: The connection whose transaction the queries run in.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._sqlite = connection.dialect.name == "sqlite"

    def _bound(
        self, query: str, user_id: str, limit: int, after: SearchKey | None, column: str
    ) -> dict[str, Any] | None:
        """The parameters of a search, or ``None`` when it cannot match."""
        bound: dict[str, Any] = {"user_id": user_id, "limit": limit}
        if self._sqlite:
            expression = fts_expression(query, _owner(user_id), column)
            if expression is None:
                return None
            bound["expression"] = expression
        else:
            text = websearch_text(query)
            if text is None:
                return None
            bound["query"] = text
        if after is not None:
            bound.update(after_score=after.score, after_id=after.id)
        return bound

    def messages(
        self,
        query: str,
        *,
        user_id: str,
        chat_id: uuid.UUID | None,
        limit: int,
        after: SearchKey | None,
        options: SearchOptions,
    ) -> list[tuple[SearchHit, float]]:
        """Matching messages, best first (see the protocol)."""
        bound = self._bound(query, user_id, limit, after, "content")
        if bound is None:
            return []
        if chat_id is not None:
            bound["chat_id"] = chat_id
        if self._sqlite:
            bound.update(
                open_mark=options.open_mark,
                close_mark=options.close_mark,
                words=options.snippet_words,
            )
        else:
            bound["headline"] = _headline(options)
        dialect = "sqlite" if self._sqlite else "postgresql"
        config = "" if self._sqlite else options.config
        statement = _message_statement(dialect, chat_id is not None, after is not None, config)
        rows = self._connection.execute(statement, bound).all()
        return [
            (
                SearchHit.model_construct(
                    chat_id=chat,
                    chat_title=title,
                    message_id=message,
                    role=Role(role),
                    snippet=snippet,
                    created_at=created_at,
                ),
                score,
            )
            for message, chat, title, role, created_at, score, snippet in rows
        ]

    def chats(
        self,
        query: str,
        *,
        user_id: str,
        limit: int,
        after: SearchKey | None,
        options: SearchOptions,
    ) -> list[tuple[ChatRead, float]]:
        """Live chats whose title matches, best first (see the protocol)."""
        bound = self._bound(query, user_id, limit, after, "title")
        if bound is None:
            return []
        dialect = "sqlite" if self._sqlite else "postgresql"
        config = "" if self._sqlite else options.config
        statement = _chat_statement(dialect, after is not None, config)
        rows = self._connection.execute(statement, bound).all()
        return [(chat_from_tuple(row[:-1]), row[-1]) for row in rows]

    def config_exists(self, config: str) -> bool:
        """Whether PostgreSQL knows the text search configuration ``config``
        (looked up once per engine: an unknown name in the search itself
        would be an error that aborts the caller's transaction)."""
        if self._sqlite:
            return True
        # The engine's dictionary of prebuilt statements doubles as the
        # cache: it lives as long as the engine (absent on a host's engine).
        cache: dict[Any, Any] | None = self._connection.get_execution_options().get(PREBUILT)
        key = ("synergia_search_config", config)
        if cache is not None and cache.get(key):
            return True
        schema, _dot, name = config.rpartition(".")
        found = bool(
            self._connection.execute(_CONFIG_EXISTS, {"name": name, "schema": schema}).scalar()
        )
        if found and cache is not None:
            cache[key] = True
        return found
