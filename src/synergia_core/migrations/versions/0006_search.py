"""full-text search of messages and chat titles

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 19:30:00

PostgreSQL:

* ``synergia_search``: a text search configuration, a copy of ``simple``
  (words case-folded, no stemming, no stop words), which also strips accents
  when the host has installed the ``unaccent`` extension in this database
  (creating a configuration needs no superuser; installing an extension
  does, so it is left to the host).
* ``synergia_messages.search_vector``: the message text as a ``tsvector``,
  a stored generated column (``NULL`` while the message is streaming, so
  streamed chunks cost nothing to index), with a GIN index. Adding it
  rewrites the table: existing messages are indexed by this revision.
  Chat titles are searched without a stored vector (a user's live chats
  are few, and the chat row is rewritten by every append).

SQLite:

* ``synergia_search_messages`` and ``synergia_search_chats``: FTS5 tables
  (tokenizer ``unicode61 remove_diacritics 2``) over the message text and
  the chat titles, holding no copy of the text (their content is read
  through the ``*_source`` views), with a second column, ``owner``, holding
  the owner's id (hex) as one token, so that a query only ever reads one
  user's entries. Triggers keep them in step with every insert, edit,
  status change and delete of the base rows, in the same statement: purges
  (of a chat, of a user) remove the entries with the rows. Soft deletes are
  filtered out at query time. The existing rows are indexed by this revision.

Downgrading drops all of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# --------------------------------------------------------------- PostgreSQL

PG_CONFIG = "synergia_search"
PG_WORD_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"
PG_COLUMN = (
    "ALTER TABLE synergia_messages ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (CASE WHEN status = 'streaming' THEN NULL "
    f"ELSE to_tsvector('{PG_CONFIG}'::regconfig, content) END) STORED"
)
PG_INDEX = "CREATE INDEX ix_synergia_messages_search ON synergia_messages USING gin (search_vector)"

# ------------------------------------------------------------------- SQLite

TOKENIZE = "unicode61 remove_diacritics 2"
INDEXED_MESSAGE = "{row}.status <> 'streaming' AND {row}.content <> ''"
INDEXED_CHAT = "{row}.title IS NOT NULL AND {row}.title <> ''"


def _sqlite_index(name: str, table: str, column: str, indexed: str) -> list[str]:
    """The view, the FTS5 table and the three triggers of one index."""
    new, old = indexed.format(row="NEW"), indexed.format(row="OLD")
    add = (
        f"INSERT INTO {name}(rowid, {column}, owner) "
        f"SELECT NEW.rowid, NEW.{column}, hex(NEW.user_id) WHERE {new};"
    )
    remove = (
        f"INSERT INTO {name}({name}, rowid, {column}, owner) "
        f"SELECT 'delete', OLD.rowid, OLD.{column}, hex(OLD.user_id) WHERE {old};"
    )
    changed = f"{column}, status" if column == "content" else column
    return [
        f"CREATE VIEW {name}_source AS SELECT rowid AS row_id, {column}, "
        f"hex(user_id) AS owner FROM {table} WHERE {indexed.format(row=table)}",
        f"CREATE VIRTUAL TABLE {name} USING fts5({column}, owner, content='{name}_source', "
        f"content_rowid='row_id', tokenize='{TOKENIZE}')",
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} WHEN {new} BEGIN {add} END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} WHEN {old} BEGIN {remove} END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {changed} ON {table} "
        f"WHEN ({old}) OR ({new}) BEGIN {remove} {add} END",
        f"INSERT INTO {name}({name}) VALUES ('rebuild')",  # the existing rows
    ]


SQLITE_INDEXES = {
    "synergia_search_messages": ("synergia_messages", "content", INDEXED_MESSAGE),
    "synergia_search_chats": ("synergia_chats", "title", INDEXED_CHAT),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name, (table, column, indexed) in SQLITE_INDEXES.items():
            for statement in _sqlite_index(name, table, column, indexed):
                op.execute(statement)
        return
    op.execute(f"CREATE TEXT SEARCH CONFIGURATION {PG_CONFIG} (COPY = pg_catalog.simple)")
    schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'unaccent'"
    ).scalar()
    if schema is not None:
        dictionary = '"' + str(schema).replace('"', '""') + '".unaccent'
        op.execute(
            f"ALTER TEXT SEARCH CONFIGURATION {PG_CONFIG} ALTER MAPPING FOR {PG_WORD_TOKENS} "
            f"WITH {dictionary}, pg_catalog.simple"
        )
    op.execute(PG_COLUMN)
    op.execute(PG_INDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_INDEXES:
            for trigger in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_{trigger}")
            op.execute(f"DROP TABLE IF EXISTS {name}")
            op.execute(f"DROP VIEW IF EXISTS {name}_source")
        return
    op.execute("DROP INDEX IF EXISTS ix_synergia_messages_search")
    op.execute("ALTER TABLE synergia_messages DROP COLUMN IF EXISTS search_vector")
    op.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {PG_CONFIG}")
