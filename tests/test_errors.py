"""The error tree: relations, typed attributes, pickling."""

from __future__ import annotations

import datetime as dt
import pickle
import uuid
from decimal import Decimal

import pytest

from synergia_core import errors
from synergia_core.errors import (
    BudgetExceededError,
    ChatNotFound,
    ConcurrentUpdateError,
    ConflictError,
    CorruptImportError,
    DatabaseUnavailableError,
    ImportConflictError,
    InvalidInputError,
    InvalidStateError,
    MessageNotFound,
    ModelAlreadyExists,
    ModelNotFound,
    ModelUnavailableError,
    NotFoundError,
    SchemaOutOfDateError,
    StatementTimeoutError,
    SynergiaError,
)

ID = uuid.UUID("0190a000-0000-7000-8000-000000000001")

INSTANCES: list[SynergiaError] = [
    ModelNotFound(ID),
    ChatNotFound(ID),
    MessageNotFound(ID, "custom text"),
    ModelAlreadyExists("openai", "gpt-4o"),
    InvalidStateError("message", ID, "complete"),
    ConcurrentUpdateError("chat", ID),
    InvalidInputError("text contains a NUL character", field="content"),
    ModelUnavailableError(ID, "disabled"),
    SchemaOutOfDateError(None, "0001"),
    DatabaseUnavailableError("connection refused"),
    StatementTimeoutError("canceling statement due to statement timeout"),
    ConflictError("refused"),
    BudgetExceededError("alice", Decimal(5), Decimal("5.25"), None),
    ImportConflictError("chat", ID),
    CorruptImportError("seq must increase within a chat", 4, "seq"),
    SynergiaError("base"),
]


def test_tree() -> None:
    for cls in (ModelNotFound, ChatNotFound, MessageNotFound):
        assert issubclass(cls, NotFoundError)
    for conflict in (
        ModelAlreadyExists,
        InvalidStateError,
        ConcurrentUpdateError,
        BudgetExceededError,
        ImportConflictError,
    ):
        assert issubclass(conflict, ConflictError)
    assert issubclass(CorruptImportError, InvalidInputError)
    for base in (
        NotFoundError,
        ConflictError,
        InvalidInputError,
        ModelUnavailableError,
        SchemaOutOfDateError,
        DatabaseUnavailableError,
    ):
        assert issubclass(base, SynergiaError)
    assert issubclass(StatementTimeoutError, DatabaseUnavailableError)
    assert set(errors.__all__) == {cls.__name__ for cls in {type(e) for e in INSTANCES}} | {
        "NotFoundError"
    }


@pytest.mark.parametrize("error", INSTANCES, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling(error: SynergiaError) -> None:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert vars(clone) == vars(error)


def test_typed_attributes() -> None:
    not_found = ChatNotFound(ID)
    assert (not_found.entity, not_found.id) == ("chat", ID)
    assert str(ID) in str(not_found)
    duplicate = ModelAlreadyExists("openai", "gpt-4o")
    assert (duplicate.provider, duplicate.name) == ("openai", "gpt-4o")
    outdated = SchemaOutOfDateError("0000", "0001")
    assert (outdated.current, outdated.expected) == ("0000", "0001")
    assert "synergia-core db upgrade" in str(outdated)
    unavailable = ModelUnavailableError(ID, "deleted")
    assert (unavailable.model_id, unavailable.reason) == (ID, "deleted")
    state = InvalidStateError("message", ID, "complete")
    assert (state.entity, state.id, state.state) == ("message", ID, "complete")
    assert InvalidInputError("bad", field="title").field == "title"
    end = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    over = BudgetExceededError("alice", Decimal(5), Decimal("5.25"), end)
    assert (over.user_id, over.limit, over.spent, over.period_end) == (
        "alice",
        Decimal(5),
        Decimal("5.25"),
        end,
    )
    assert "2026-12-01" in str(over)
    assert "resets" not in str(BudgetExceededError("alice", Decimal(5), Decimal(5), None))
