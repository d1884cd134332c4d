"""The distribution-readiness check itself: it flags what it must."""

from __future__ import annotations

import pytest

from tests.statements import is_scoped, unscoped_statements

SCOPED = (
    "SELECT * FROM synergia_messages WHERE synergia_messages.chat_id = ? "
    "AND synergia_messages.user_id = ?",
    "SELECT * FROM synergia_messages AS m WHERE m.chat_id = ? AND m.user_id = ?",
    "INSERT INTO synergia_chats (id, user_id) VALUES (?, ?)",
    "DELETE FROM synergia_budgets WHERE user_id = ?",
    "UPDATE synergia_spend SET amount = amount + ? WHERE synergia_spend.user_id IN (?)",
    "SELECT id FROM synergia_models",
    "SELECT pg_current_wal_lsn()",
    "SELECT synergia_messages.user_id AS key, count(*) AS message_count, "
    "coalesce(sum(synergia_messages.input_tokens), ?) AS input_tokens FROM synergia_messages",
)
UNSCOPED = (
    "SELECT * FROM synergia_messages WHERE synergia_messages.chat_id = ?",
    "SELECT * FROM synergia_messages AS m JOIN synergia_chats AS c ON c.id = m.chat_id "
    "WHERE m.user_id = ?",
    "INSERT INTO synergia_chats (id, title) VALUES (?, ?)",
    "UPDATE synergia_spend SET amount = 1 WHERE period = ?",
    # the siblings query before it was fixed: the joined table unscoped
    "SELECT synergia_messages.id FROM synergia_messages JOIN synergia_messages AS "
    "synergia_target ON synergia_messages.chat_id = synergia_target.chat_id "
    "WHERE synergia_target.id = ? AND synergia_target.user_id = ?",
)


@pytest.mark.parametrize("statement", SCOPED)
def test_scoped_statements_pass(statement: str) -> None:
    assert is_scoped(statement)


@pytest.mark.parametrize("statement", UNSCOPED)
def test_unscoped_statements_are_flagged(statement: str) -> None:
    assert not is_scoped(statement)


def test_each_unscoped_statement_is_reported_once() -> None:
    assert unscoped_statements([*SCOPED, *UNSCOPED, *UNSCOPED]) == list(UNSCOPED)


def test_an_imports_id_conflict_check_is_the_other_exception() -> None:
    """A lookup by primary key alone, as an import's check that kept ids are
    not another user's, reads every shard by design; by anything else, no."""
    for statement in (
        "SELECT synergia_chats.id, synergia_chats.user_id \nFROM synergia_chats \n"
        "WHERE synergia_chats.id IN (%(ids_1)s::UUID, %(ids_2)s::UUID)",
        "SELECT synergia_messages.id \nFROM synergia_messages \n"
        "WHERE synergia_messages.id IN (?, ?)",
    ):
        assert is_scoped(statement)
    assert not is_scoped(
        "SELECT synergia_messages.id FROM synergia_messages WHERE synergia_messages.chat_id IN (?)"
    )
    assert not is_scoped(
        "SELECT synergia_chats.id, synergia_chats.title FROM synergia_chats "
        "WHERE synergia_chats.id IN (?)"
    )
