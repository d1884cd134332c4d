"""Services: the business rules of models, chats, messages, usage, budgets and search.

Each service works on a *scope* that opens a unit of work: the
:class:`~synergia_core.Synergia` facade gives them one transaction per call
(or one for a whole ``sy.transaction()`` block); ``from_session(session)``
runs them inside a host's own SQLAlchemy session, which they never commit.
"""

from typing import TYPE_CHECKING, Any

from synergia_core.services._context import (
    Scope,
    ServiceConfig,
    bind_scope,
    connection_scope,
    transaction_scope,
)
from synergia_core.services.budgets import BudgetService
from synergia_core.services.chats import ChatService
from synergia_core.services.messages import MessageService
from synergia_core.services.models import ModelService
from synergia_core.services.search import SearchService
from synergia_core.services.transfer import TransferService
from synergia_core.services.usage import UsageService
from synergia_core.services.users import UserService

if TYPE_CHECKING:
    from synergia_core.services._async import (
        AsyncBudgetService,
        AsyncChatService,
        AsyncMessageService,
        AsyncModelService,
        AsyncSearchService,
        AsyncService,
        AsyncUsageService,
        AsyncUserService,
    )

__all__ = [
    "AsyncBudgetService",
    "AsyncChatService",
    "AsyncMessageService",
    "AsyncModelService",
    "AsyncSearchService",
    "AsyncService",
    "AsyncUsageService",
    "AsyncUserService",
    "BudgetService",
    "ChatService",
    "MessageService",
    "ModelService",
    "Scope",
    "SearchService",
    "ServiceConfig",
    "TransferService",
    "UsageService",
    "UserService",
    "bind_scope",
    "connection_scope",
    "transaction_scope",
]


_ASYNC = frozenset(
    {
        "AsyncBudgetService",
        "AsyncChatService",
        "AsyncMessageService",
        "AsyncModelService",
        "AsyncSearchService",
        "AsyncService",
        "AsyncUsageService",
        "AsyncUserService",
    }
)


def __getattr__(name: str) -> Any:
    # Imported on first use: they need the 'async' extra (greenlet).
    if name not in _ASYNC:
        raise AttributeError(f"module 'synergia_core.services' has no attribute {name!r}")
    from importlib import import_module

    from synergia_core.db import require_asyncio

    require_asyncio()
    value = getattr(import_module("synergia_core.services._async"), name)
    globals()[name] = value
    return value
