"""Full-text search: ranking, paging, scoping, deleted data never found,
any query string safe, and the revision that adds the index (every backend,
sync and async)."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.pool import NullPool

from synergia_core import (
    ChatCreate,
    ChatService,
    ChatUpdate,
    InvalidInputError,
    MessageCreate,
    MessageService,
    Role,
    ServiceConfig,
    Synergia,
    current_revision,
    downgrade,
    head_revision,
    migrate,
)
from synergia_core.db import create_engine
from synergia_core.repositories.sql._fts_query import fts_expression, websearch_text
from synergia_core.services.search import MAX_QUERY_CHARS
from tests.conftest import FacadeFactory, PostgresServer
from tests.helpers import make_model

DATA = Path(__file__).resolve().parent / "data"

NASTY = [
    "",
    " ",
    "\t\n",
    '"',
    '""',
    '"""',
    '"rome',
    'rome"',
    '"rome" "',
    "-",
    "--",
    "-rome",
    "- rome",
    "-rome -day",
    "or",
    "OR",
    "or or or",
    "rome or",
    "or rome",
    "rome or or day",
    "rome OR -day",
    "and",
    "AND NOT",
    "NOT rome",
    "rome NOT day",
    "NEAR(rome day)",
    "NEAR/2",
    "rome*",
    "*",
    "^rome",
    "content:rome",
    "owner:rome",
    "{content}:rome",
    "title : rome",
    "(rome",
    "rome)",
    "()",
    "[rome]",
    "rome & day | !x",
    "rome <-> day",
    "'rome'",
    "rome's",
    "\\",
    '\\"',
    "%",
    "_",
    "%rome%",
    "; DROP TABLE synergia_messages; --",
    "' OR 1=1 --",
    "🍕",
    "🍕 rome",
    "👩‍👩‍👧",
    "café",
    "CAFÉ",
    "Ⅻ",
    "東京",
    "ﷺ",
    "\u200b",
    "\u202erome",
    "a" * 3000,
    "rome " * 199,
    '"' * 999,
    "-" * 999,
    "x" * MAX_QUERY_CHARS,
    "or " * 333,
    "rome " * 2000,  # 10,000 characters
    '"rome day' * 1250,
]


def seed(sy: Synergia) -> tuple[uuid.UUID, uuid.UUID]:
    """Alice's chat about Rome and bob's."""
    alice = sy.chats.create(ChatCreate(user_id="alice", title="Trip to Rome"))
    bob = sy.chats.create(ChatCreate(user_id="bob", title="Rome, by bob"))
    for text in (
        "Plan three days in Rome, with café stops",
        "Day 1: the Colosseum. Day 2: the Vatican. Rome is lovely in May.",
        "What should I pack?",
    ):
        sy.messages.add(alice.id, MessageCreate(role="user", content=text), user_id="alice")
    sy.messages.add(bob.id, MessageCreate(role="user", content="Rome rome rome"), user_id="bob")
    return alice.id, bob.id


def texts(sy: Synergia, query: str, user: str = "alice", **kwargs: object) -> list[str]:
    page = sy.search.messages(query, user_id=user, limit=100, **kwargs)  # type: ignore[arg-type]
    return [hit.snippet.replace("[", "").replace("]", "") for hit in page.items]


def test_finds_marks_and_describes_matches(sy: Synergia) -> None:
    chat_id, _ = seed(sy)
    page = sy.search.messages("COLOSSEUM", user_id="alice")
    assert len(page.items) == 1
    assert page.next_cursor is None
    hit = page.items[0]
    assert hit.chat_id == chat_id
    assert hit.chat_title == "Trip to Rome"
    assert hit.role is Role.user
    assert "[Colosseum]" in hit.snippet
    message = sy.messages.get(hit.message_id, user_id="alice")
    assert message.created_at == hit.created_at
    assert message.content.startswith("Day 1")


def test_query_syntax(sy: Synergia) -> None:
    seed(sy)
    assert len(texts(sy, "rome")) == 2
    assert len(texts(sy, "rome day")) == 1  # ANDed
    assert len(texts(sy, '"three days"')) == 1  # a phrase
    assert texts(sy, '"days three"') == []
    assert len(texts(sy, "rome -vatican")) == 1
    assert len(texts(sy, "vatican or pack")) == 2
    assert len(texts(sy, "-vatican")) == 2  # only exclusions: everything else
    assert texts(sy, "nothing-like-this") == []


def test_marks_are_configurable(facade: FacadeFactory) -> None:
    sy = facade(ServiceConfig(search_marks=("<b>", "</b>"), search_snippet_words=5))
    seed(sy)
    hit = sy.search.messages("vatican", user_id="alice").items[0]
    assert "<b>Vatican</b>" in hit.snippet
    assert len(hit.snippet.split()) < 12


def test_ranking_puts_the_denser_match_first(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    filler = " ".join(f"word{i}" for i in range(60))
    for text in (f"rome {filler}", "rome rome rome", f"{filler} rome {filler}"):
        sy.messages.add(chat.id, MessageCreate(role="user", content=text), user_id="alice")
    assert texts(sy, "rome")[0] == "rome rome rome"


def test_pages_walk_every_hit_once(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    for i in range(23):
        content = "needle " * (1 + i % 3) + f"hay{i}"
        sy.messages.add(chat.id, MessageCreate(role="user", content=content), user_id="alice")
    seen: list[uuid.UUID] = []
    cursor = None
    pages = 0
    while True:
        page = sy.search.messages("needle", user_id="alice", limit=10, cursor=cursor)
        seen.extend(hit.message_id for hit in page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 23
    first = sy.search.messages("needle", user_id="alice", limit=10)
    assert first.next_cursor is not None
    for other in (
        {"query": "needle", "user_id": "bob"},
        {"query": "hay0", "user_id": "alice"},
        {"query": "needle", "user_id": "alice", "chat_id": chat.id},
    ):
        with pytest.raises(InvalidInputError):
            sy.search.messages(cursor=first.next_cursor, **other)
    with pytest.raises(InvalidInputError):
        sy.search.messages("needle", user_id="alice", cursor=first.next_cursor[:-2] + "AA")
    with pytest.raises(InvalidInputError):
        sy.search.chats("needle", user_id="alice", cursor=first.next_cursor)


def test_chat_pages(sy: Synergia) -> None:
    for i in range(5):
        sy.chats.create(ChatCreate(user_id="alice", title=f"Budget review {i}"))
    page = sy.search.chats("budget", user_id="alice", limit=2)
    found = [chat.id for chat in page.items]
    while page.next_cursor is not None:
        page = sy.search.chats("budget", user_id="alice", limit=2, cursor=page.next_cursor)
        found.extend(chat.id for chat in page.items)
    assert len(found) == len(set(found)) == 5


def test_other_users_data_is_never_found(sy: Synergia) -> None:
    alice_chat, bob_chat = seed(sy)
    assert all(text != "Rome rome rome" for text in texts(sy, "rome"))
    assert texts(sy, "rome", user="bob") == ["Rome rome rome"]
    assert texts(sy, "colosseum", user="bob") == []
    assert texts(sy, "rome", chat_id=bob_chat) == []  # alice searching bob's chat
    assert len(texts(sy, "rome", chat_id=alice_chat)) == 2
    assert [c.id for c in sy.search.chats("rome", user_id="bob").items] == [bob_chat]
    assert texts(sy, "rome", user="carol") == []
    # bob's user id, as the owner token it is indexed with, is only text
    assert texts(sy, "626F62") == []
    assert texts(sy, "bob") == []


def test_soft_deleted_chats_are_not_found_until_restored(sy: Synergia) -> None:
    chat_id, _ = seed(sy)
    sy.chats.delete(chat_id, user_id="alice")
    assert texts(sy, "rome") == []
    assert sy.search.chats("rome", user_id="alice").items == []
    sy.chats.restore(chat_id, user_id="alice")
    assert len(texts(sy, "rome")) == 2
    assert len(sy.search.chats("rome", user_id="alice").items) == 1


def test_archived_chats_are_found(sy: Synergia) -> None:
    chat_id, _ = seed(sy)
    sy.chats.update(chat_id, ChatUpdate(is_archived=True), user_id="alice")
    assert len(sy.search.chats("trip", user_id="alice").items) == 1
    assert len(texts(sy, "colosseum")) == 1


def test_deleted_messages_are_not_found(sy: Synergia) -> None:
    chat_id, _ = seed(sy)
    hit = sy.search.messages("colosseum", user_id="alice").items[0]
    sy.messages.delete(hit.message_id, user_id="alice")  # and what follows it
    assert texts(sy, "colosseum") == []
    assert texts(sy, "pack") == []
    assert len(texts(sy, "rome")) == 1
    sy.messages.clear(chat_id, user_id="alice")
    assert texts(sy, "rome") == []


def test_purged_chats_leave_no_entry(sy: Synergia) -> None:
    chat_id, bob_chat = seed(sy)
    sy.chats.purge(chat_id, user_id="alice")
    assert texts(sy, "rome") == []
    assert sy.search.chats("rome", user_id="alice").items == []
    assert texts(sy, "rome", user="bob") == ["Rome rome rome"]
    if sy.engine.dialect.name == "sqlite":  # the FTS entries went with the rows
        with sy.engine.connect() as connection:
            for table in ("synergia_search_messages", "synergia_search_chats"):
                rows = connection.exec_driver_sql(
                    f"SELECT count(*) FROM {table} WHERE {table} MATCH 'owner : \"616C696365\"'"
                ).scalar()
                assert rows == 0
    sy.chats.purge(bob_chat, user_id="bob")
    assert texts(sy, "rome", user="bob") == []


def test_edits_titles_and_streams_are_reindexed(sy: Synergia) -> None:
    chat_id, _ = seed(sy)
    question = sy.search.messages("pack", user_id="alice").items[0]
    edited = sy.messages.edit(question.message_id, "What should I wear?", user_id="alice")
    assert [h.message_id for h in sy.search.messages("wear", user_id="alice").items] == [edited.id]
    sy.chats.update(chat_id, ChatUpdate(title="Holiday in Naples"), user_id="alice")
    assert sy.search.chats("rome", user_id="alice").items == []
    assert len(sy.search.chats("naples", user_id="alice").items) == 1
    assert texts(sy, "naples") == []  # titles are not message text
    assert sy.search.messages("colosseum", user_id="alice").items[0].chat_title == (
        "Holiday in Naples"
    )
    model = make_model(sy)
    reply = sy.messages.start(chat_id, user_id="alice", model_id=model.id)
    sy.messages.append(reply.id, "Pompeii is close ", user_id="alice")
    assert texts(sy, "pompeii") == []  # still streaming
    sy.messages.append(reply.id, "to Vesuvius", user_id="alice")
    sy.messages.finish(reply.id, user_id="alice")
    assert texts(sy, "pompeii vesuvius") == ["Pompeii is close to Vesuvius"]
    failed = sy.messages.start(chat_id, user_id="alice", model_id=model.id)
    sy.messages.append(failed.id, "Amalfi coast", user_id="alice")
    sy.messages.fail(failed.id, "upstream error", user_id="alice")
    assert texts(sy, "amalfi") == ["Amalfi coast"]  # the partial text stays


def test_search_sees_its_own_transaction(sy: Synergia) -> None:
    with sy.transaction() as tx:
        chat = tx.chats.create(ChatCreate(user_id="alice", title="Draft"))
        tx.messages.add(chat.id, MessageCreate(role="user", content="zebra"), user_id="alice")
        assert len(tx.search.messages("zebra", user_id="alice").items) == 1
        assert len(tx.search.chats("draft", user_id="alice").items) == 1


def test_case_and_accents(sy: Synergia) -> None:
    seed(sy)
    assert len(texts(sy, "CAFÉ")) == 1
    if sy.engine.dialect.name == "sqlite":
        assert len(texts(sy, "cafe")) == 1


@pytest.mark.parametrize("query", NASTY)
def test_any_query_string_is_safe(sy: Synergia, query: str) -> None:
    seed(sy)
    for search in (sy.search.messages, sy.search.chats):
        if len(query) > MAX_QUERY_CHARS:  # the only error, for the only reason
            with pytest.raises(InvalidInputError, match="characters long"):
                search(query, user_id="alice")
        else:
            page = search(query, user_id="alice")
            assert all(item is not None for item in page.items)


@pytest.mark.parametrize(
    "query", [None, 5, b"rome", "rome\x00", "\ud800", "x" * (MAX_QUERY_CHARS + 1)]
)
def test_unusable_queries_are_invalid_input(sy: Synergia, query: object) -> None:
    seed(sy)
    for search in (sy.search.messages, sy.search.chats):
        with pytest.raises(InvalidInputError):
            search(query, user_id="alice")  # type: ignore[arg-type]
    assert len(texts(sy, "rome")) == 2  # the connection is still usable


def test_bad_arguments_are_invalid_input(sy: Synergia) -> None:
    for kwargs in (
        {"user_id": ""},
        {"user_id": "alice", "limit": 0},
        {"user_id": "alice", "limit": 1001},
        {"user_id": "alice", "chat_id": "not-a-uuid"},
        {"user_id": "alice", "cursor": "garbage"},
    ):
        with pytest.raises(InvalidInputError):
            sy.search.messages("rome", **kwargs)


def test_config_is_checked(facade: FacadeFactory) -> None:
    for bad in (
        {"search_config": "no such; thing"},
        {"search_marks": ("[",)},
        {"search_marks": ("\x00", "]")},
        {"search_snippet_words": 2},
    ):
        with pytest.raises(InvalidInputError):
            ServiceConfig(**bad)
    sy = facade(ServiceConfig(search_config="no_such_config"))
    seed(sy)
    if sy.engine.dialect.name == "postgresql":
        with pytest.raises(InvalidInputError):
            sy.search.messages("rome", user_id="alice")
        with sy.transaction() as tx:  # refused before any statement: still usable
            with pytest.raises(InvalidInputError):
                tx.search.chats("rome", user_id="alice")
            assert tx.chats.list(user_id="alice").items
    else:  # unused on SQLite
        assert len(texts(sy, "rome")) == 2


# ------------------------------------------------------- the FTS5 translation


def _fts_table() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE t USING fts5(content, owner, "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    connection.executemany(
        "INSERT INTO t VALUES (?, 'ABCD')",
        [("rome day one",), ("or and not near",), ('a "quoted" word',), ("café 東京",)],
    )
    return connection


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ab or-\"*():^{}NEAR/ 🍕é\\'\t,.+")), max_size=60))
def test_every_translation_is_a_valid_fts5_expression(query: str) -> None:
    connection = _fts_table()
    expression = fts_expression(query, "ABCD")
    if expression is not None:
        connection.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall()


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=80))
def test_every_unicode_translation_is_valid(query: str) -> None:
    connection = _fts_table()
    expression = fts_expression(query, "ABCD")
    if expression is not None:
        connection.execute("SELECT rowid FROM t WHERE t MATCH ?", (expression,)).fetchall()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=200))
def test_every_normalized_query_is_read_by_postgresql(postgres: PostgresServer, query: str) -> None:
    text = websearch_text(query)
    if text is not None:
        engine = sa.create_engine(postgres.admin_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(
                    sa.text("SELECT websearch_to_tsquery('simple', :q)"), {"q": text}
                ).scalar()
        finally:
            engine.dispose()


def test_fts5_operators_in_a_query_are_words() -> None:
    connection = _fts_table()

    def match(query: str) -> int:
        expression = fts_expression(query, "ABCD")
        assert expression is not None
        return len(connection.execute("SELECT 1 FROM t WHERE t MATCH ?", (expression,)).fetchall())

    assert match("near not") == 1
    assert match("NEAR(rome day)") == 0
    assert match('"quoted"') == 1
    assert match("ABCD") == 0
    assert match("cafe") == 1
    assert match("rome -day") == 0


# -------------------------------------------------------------- the revision


def test_the_revision_indexes_a_stored_0005_database(tmp_path: Path) -> None:
    path = tmp_path / "stored.sqlite"
    shutil.copyfile(DATA / "synergia-0005.sqlite", path)
    url = f"sqlite:///{path}"
    assert current_revision(url) == "0005"
    migrate(url)
    with Synergia(url) as sy:
        assert len(sy.search.messages("question", user_id="alice").items) == 6
        assert len(sy.search.messages("edited", user_id="alice").items) == 1
        assert [h.snippet for h in sy.search.messages("partial", user_id="alice").items] == [
            "[partial]"
        ]
        assert sy.search.messages("question", user_id="bob").items == []  # soft-deleted chat
        assert len(sy.search.chats("chat", user_id="alice").items) == 1
    downgrade(url, "0005")
    migrate(url)
    with Synergia(url) as sy:
        assert len(sy.search.messages("answer", user_id="alice").items) == 5


def test_the_revision_back_fills_existing_messages(fresh_url: str) -> None:
    migrate(fresh_url, "0005")
    engine = create_engine(fresh_url, poolclass=NullPool)
    with engine.begin() as connection:  # written as 0005 did (services on a connection)
        chats, messages = (
            ChatService.from_session(connection),
            MessageService.from_session(connection),
        )
        chat = chats.create(ChatCreate(user_id="alice", title="Old chat"))
        for text in ("an old message about tulips", "and one about roses"):
            messages.add(chat.id, MessageCreate(role="user", content=text), user_id="alice")
    engine.dispose()
    migrate(fresh_url)
    assert current_revision(fresh_url) == head_revision()
    with Synergia(fresh_url) as sy:
        assert texts(sy, "tulips") == ["an old message about tulips"]
        assert len(sy.search.chats("old", user_id="alice").items) == 1
    downgrade(fresh_url, "0005")
    check = sa.create_engine(fresh_url, poolclass=NullPool)
    with check.connect() as connection:
        names = set(sa.inspect(connection).get_table_names())
        columns = {c["name"] for c in sa.inspect(connection).get_columns("synergia_messages")}
    check.dispose()
    assert not any(name.startswith("synergia_search") for name in names)
    assert "search_vector" not in columns
    migrate(fresh_url)
    with Synergia(fresh_url) as sy:
        assert texts(sy, "roses") == ["and one about roses"]


def test_any_user_id_is_scoped(sy: Synergia) -> None:
    users = ["🍕" * 255, "a b", 'x"y', "ALICE", "alice "]
    for user in users:
        chat = sy.chats.create(ChatCreate(user_id=user, title=f"notes of {user}"))
        sy.messages.add(chat.id, MessageCreate(role="user", content="shared words"), user_id=user)
    for user in users:
        hits = sy.search.messages("shared", user_id=user).items
        assert len(hits) == 1
        assert sy.messages.get(hits[0].message_id, user_id=user).content == "shared words"
        assert len(sy.search.chats("notes", user_id=user).items) == 1
