"""The exceptions synergia-core raises.

Every error a caller can cause is one of these; no raw SQLAlchemy or driver
exception escapes the public API for such a condition. The tree::

    SynergiaError
    ├── NotFoundError                 .entity, .id
    │   ├── ModelNotFound
    │   ├── ChatNotFound
    │   └── MessageNotFound
    ├── ConflictError
    │   ├── ModelAlreadyExists        .provider, .name
    │   ├── InvalidStateError         .entity, .id, .state
    │   ├── ConcurrentUpdateError     .entity, .id
    │   ├── BudgetExceededError       .user_id, .limit, .spent, .period_end
    │   └── ImportConflictError       .entity, .id
    ├── InvalidInputError             .field
    │   └── CorruptImportError        .line
    ├── ModelUnavailableError         .model_id, .reason
    ├── SchemaOutOfDateError          .current, .expected
    └── DatabaseUnavailableError
        └── StatementTimeoutError

Schemas raise pydantic's ``ValidationError`` at construction; the errors here
are for input that is well-formed but breaks a rule, and for state the
database is in.

All errors carry typed attributes besides their message and survive
``pickle`` (they cross process boundaries in worker pools).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BudgetExceededError",
    "ChatNotFound",
    "ConcurrentUpdateError",
    "ConflictError",
    "CorruptImportError",
    "DatabaseUnavailableError",
    "ImportConflictError",
    "InvalidInputError",
    "InvalidStateError",
    "MessageNotFound",
    "ModelAlreadyExists",
    "ModelNotFound",
    "ModelUnavailableError",
    "NotFoundError",
    "SchemaOutOfDateError",
    "StatementTimeoutError",
    "SynergiaError",
]


class SynergiaError(Exception):
    """Base class of every error raised by synergia-core.

    Subclasses store their constructor arguments so that an instance can be
    rebuilt by ``pickle`` with the same attributes and message.
    """

    def __init__(self, message: str, *args: Any) -> None:
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._init_kwargs()))

    def _init_kwargs(self) -> dict[str, Any]:
        return {"message": self.message}


def _rebuild(cls: type[SynergiaError], kwargs: dict[str, Any]) -> SynergiaError:
    return cls(**kwargs)


class NotFoundError(SynergiaError):
    """A row does not exist, is soft-deleted, or belongs to another user.

    Attributes:
        entity: What was looked for: ``"model"``, ``"chat"`` or ``"message"``.
        id: The identifier that was looked up.
    """

    entity: str = "object"

    def __init__(self, id: object, message: str | None = None) -> None:
        super().__init__(message or f"{self.entity} {id} not found")
        self.id = id

    def _init_kwargs(self) -> dict[str, Any]:
        return {"id": self.id, "message": self.message}


class ModelNotFound(NotFoundError):
    """No live model has this id (or this provider and name)."""

    entity = "model"


class ChatNotFound(NotFoundError):
    """No live chat with this id belongs to the calling user."""

    entity = "chat"


class MessageNotFound(NotFoundError):
    """No message with this id belongs to the calling user's live chats."""

    entity = "message"


class ConflictError(SynergiaError):
    """The request conflicts with the current state of the data."""


class ModelAlreadyExists(ConflictError):
    """A live model with the same provider and name already exists.

    Attributes:
        provider: The provider of the duplicate.
        name: The name of the duplicate.
    """

    def __init__(self, provider: str, name: str, message: str | None = None) -> None:
        super().__init__(message or f"model {provider}/{name} already exists")
        self.provider = provider
        self.name = name

    def _init_kwargs(self) -> dict[str, Any]:
        return {"provider": self.provider, "name": self.name, "message": self.message}


class InvalidStateError(ConflictError):
    """An operation is not allowed in the object's current state.

    For example finishing a message that is not streaming.

    Attributes:
        entity: ``"message"`` or ``"chat"``.
        id: The identifier of the object.
        state: The state the object is in.
    """

    def __init__(self, entity: str, id: object, state: str, message: str | None = None) -> None:
        super().__init__(message or f"{entity} {id} is {state}")
        self.entity = entity
        self.id = id
        self.state = state

    def _init_kwargs(self) -> dict[str, Any]:
        return {"entity": self.entity, "id": self.id, "state": self.state, "message": self.message}


class ConcurrentUpdateError(ConflictError):
    """Another writer changed the object first; the call may be retried.

    Attributes:
        entity: ``"message"`` or ``"chat"``.
        id: The identifier of the object.
    """

    def __init__(self, entity: str, id: object, message: str | None = None) -> None:
        super().__init__(message or f"{entity} {id} was changed concurrently; retry")
        self.entity = entity
        self.id = id

    def _init_kwargs(self) -> dict[str, Any]:
        return {"entity": self.entity, "id": self.id, "message": self.message}


class BudgetExceededError(ConflictError):
    """The user's spend in the current period has reached their budget.

    Raised by the calls that start new spending (``messages.add`` with a
    model, ``start``, ``edit``, ``regenerate``); a call accepted before that
    still records its whole cost, and ``finish`` always records what was spent.

    Attributes:
        user_id: Whose budget.
        limit: The budget's limit (USD, a ``Decimal``).
        spent: What the period's spend is (USD, a ``Decimal``).
        period_end: When the period ends and spending may resume (``None``
            for a ``"total"`` budget).
    """

    def __init__(
        self,
        user_id: str,
        limit: Any,
        spent: Any,
        period_end: Any,
        message: str | None = None,
    ) -> None:
        until = f"; it resets at {period_end.isoformat()}" if period_end is not None else ""
        super().__init__(
            message or f"user {user_id} has spent {spent} of a {limit} USD budget{until}"
        )
        self.user_id = user_id
        self.limit = limit
        self.spent = spent
        self.period_end = period_end

    def _init_kwargs(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "limit": self.limit,
            "spent": self.spent,
            "period_end": self.period_end,
            "message": self.message,
        }


class InvalidInputError(SynergiaError):
    """Input that is well-formed but breaks a rule.

    A parent from another chat, text containing a NUL character, a limit
    outside 1..1000, a tampered pagination cursor.

    Attributes:
        field: The name of the offending argument or field, when there is one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def _init_kwargs(self) -> dict[str, Any]:
        return {"message": self.message, "field": self.field}


class CorruptImportError(InvalidInputError):
    """An import's input is not what it claims to be: not JSON, not the
    format named, a record that breaks a rule, or a file cut short.

    Nothing of the chat being read is written (see ``docs/export.md`` for
    the chats before it).

    Attributes:
        line: The line (JSON Lines) or conversation (ChatGPT, counted from 1)
            where the problem was found; ``None`` when it is the file as a whole.
    """

    def __init__(self, message: str, line: int | None = None, field: str | None = None) -> None:
        where = f"line {line}: " if line is not None else ""
        super().__init__(f"{where}{message}", field)
        self.line = line
        self._reason = message

    def _init_kwargs(self) -> dict[str, Any]:
        return {"message": self._reason, "line": self.line, "field": self.field}


class ImportConflictError(ConflictError):
    """An import with ``keep_ids=True`` meets an id the database already
    gives to something else: a chat of another user, or a message of
    another chat. Import with ``keep_ids=False`` to give the rows new ids.

    Attributes:
        entity: ``"chat"`` or ``"message"``.
        id: The id in conflict.
    """

    def __init__(self, entity: str, id: object, message: str | None = None) -> None:
        super().__init__(
            message or f"{entity} {id} already exists elsewhere; import with keep_ids=False"
        )
        self.entity = entity
        self.id = id

    def _init_kwargs(self) -> dict[str, Any]:
        return {"entity": self.entity, "id": self.id, "message": self.message}


class ModelUnavailableError(SynergiaError):
    """The named model exists but is disabled or deleted.

    Attributes:
        model_id: The model's id.
        reason: ``"disabled"`` or ``"deleted"``.
    """

    def __init__(self, model_id: object, reason: str, message: str | None = None) -> None:
        super().__init__(message or f"model {model_id} is {reason}")
        self.model_id = model_id
        self.reason = reason

    def _init_kwargs(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "reason": self.reason, "message": self.message}


class SchemaOutOfDateError(SynergiaError):
    """The database schema is not at the revision this package expects.

    Attributes:
        current: The revision the database is at (``None``: never migrated).
        expected: The head revision shipped with this package.
    """

    def __init__(
        self, current: str | None, expected: str | None, message: str | None = None
    ) -> None:
        super().__init__(
            message
            or (
                f"database schema is at revision {current or '<none>'}, "
                f"synergia-core {_package_version()} expects {expected}; "
                "run `synergia-core db upgrade --url <URL>` (or Synergia(...).migrate(), "
                "or pass auto_migrate=True)"
            )
        )
        self.current = current
        self.expected = expected

    def _init_kwargs(self) -> dict[str, Any]:
        return {"current": self.current, "expected": self.expected, "message": self.message}


class DatabaseUnavailableError(SynergiaError):
    """The database could not be reached, or the connection was lost.

    The call wrote nothing; retrying it later is safe.
    """


def _package_version() -> str:
    from synergia_core._version import __version__

    return __version__


class StatementTimeoutError(DatabaseUnavailableError):
    """The database did not finish in time, so the call was abandoned.

    A PostgreSQL ``statement_timeout`` or ``lock_timeout`` fired (or the
    statement was cancelled), or SQLite's busy timeout ran out while another
    writer held the database. The call wrote nothing; retrying it is safe.
    """
