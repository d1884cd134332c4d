"""synergia-core: the data layer of a multi-model AI chat product, as a library.

A catalog of AI models with prices, per-user chats, and message histories
with branches, streaming replies, token usage and cost, on SQLite (embedded
default) or PostgreSQL, with the migrations shipped inside the package::

    from synergia_core import Synergia

    with Synergia("sqlite:///chats.db") as sy:
        sy.migrate()
        print(sy.health())

Everything public is importable from here and listed in ``__all__``.
"""

import logging
from typing import TYPE_CHECKING, Any

from synergia_core._migration import (
    current_revision,
    downgrade,
    head_revision,
    include_object,
    migrate,
)
from synergia_core._version import __version__
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
from synergia_core.parts import (
    FilePart,
    ImagePart,
    Part,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from synergia_core.schemas import (
    Attachment,
    Budget,
    BudgetRule,
    BudgetStatus,
    ChatCreate,
    ChatRead,
    ChatUpdate,
    Health,
    MessageCreate,
    MessageRead,
    MessageStatus,
    ModelCreate,
    ModelRead,
    ModelUpdate,
    Page,
    PriceTier,
    PurgeReport,
    ReplicaHealth,
    Role,
    SearchHit,
    SyncReport,
    ToolCall,
    TransferReport,
    Usage,
    UsageRow,
    UsageTotals,
)
from synergia_core.services import (
    BudgetService,
    ChatService,
    MessageService,
    ModelService,
    SearchService,
    ServiceConfig,
    TransferService,
    UsageService,
    UserService,
)
from synergia_core.store import Synergia, Transaction
from synergia_core.tokens import TokenCounter

if TYPE_CHECKING:
    from synergia_core._async_store import AsyncSynergia, AsyncTransaction
    from synergia_core.services._async import (
        AsyncBudgetService,
        AsyncChatService,
        AsyncMessageService,
        AsyncModelService,
        AsyncSearchService,
        AsyncUsageService,
        AsyncUserService,
    )

# A library adds no handler but this one: without it, a warning logged while
# the host has configured no logging (health() on a dead database) would be
# printed to stderr by Python's last-resort handler. The host decides where
# synergia_core's records go.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AsyncBudgetService",
    "AsyncChatService",
    "AsyncMessageService",
    "AsyncModelService",
    "AsyncSearchService",
    "AsyncSynergia",
    "AsyncTransaction",
    "AsyncUsageService",
    "AsyncUserService",
    "Attachment",
    "Budget",
    "BudgetExceededError",
    "BudgetRule",
    "BudgetService",
    "BudgetStatus",
    "ChatCreate",
    "ChatNotFound",
    "ChatRead",
    "ChatService",
    "ChatUpdate",
    "ConcurrentUpdateError",
    "ConflictError",
    "CorruptImportError",
    "DatabaseUnavailableError",
    "FilePart",
    "Health",
    "ImagePart",
    "ImportConflictError",
    "InvalidInputError",
    "InvalidStateError",
    "MessageCreate",
    "MessageNotFound",
    "MessageRead",
    "MessageService",
    "MessageStatus",
    "ModelAlreadyExists",
    "ModelCreate",
    "ModelNotFound",
    "ModelRead",
    "ModelService",
    "ModelUnavailableError",
    "ModelUpdate",
    "NotFoundError",
    "Page",
    "Part",
    "PriceTier",
    "PurgeReport",
    "RawPart",
    "ReasoningPart",
    "ReplicaHealth",
    "Role",
    "SchemaOutOfDateError",
    "SearchHit",
    "SearchService",
    "ServiceConfig",
    "StatementTimeoutError",
    "SyncReport",
    "Synergia",
    "SynergiaError",
    "TextPart",
    "TokenCounter",
    "ToolCall",
    "ToolCallPart",
    "ToolResultPart",
    "Transaction",
    "TransferReport",
    "TransferService",
    "Usage",
    "UsageRow",
    "UsageService",
    "UsageTotals",
    "UserService",
    "__version__",
    "current_revision",
    "downgrade",
    "head_revision",
    "include_object",
    "migrate",
]

# The asyncio names are imported on first use: they need the 'async' extra
# (greenlet), which the sync API does not.
_ASYNC = {
    "AsyncBudgetService": "synergia_core.services._async",
    "AsyncSynergia": "synergia_core._async_store",
    "AsyncTransaction": "synergia_core._async_store",
    "AsyncChatService": "synergia_core.services._async",
    "AsyncMessageService": "synergia_core.services._async",
    "AsyncModelService": "synergia_core.services._async",
    "AsyncSearchService": "synergia_core.services._async",
    "AsyncUsageService": "synergia_core.services._async",
    "AsyncUserService": "synergia_core.services._async",
}


def __getattr__(name: str) -> Any:
    module = _ASYNC.get(name)
    if module is None:
        raise AttributeError(f"module 'synergia_core' has no attribute {name!r}")
    from importlib import import_module

    from synergia_core.db import require_asyncio

    require_asyncio()
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
