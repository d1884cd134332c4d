"""The public surface: names pinned, documented, typed, versioned."""

from __future__ import annotations

import importlib.metadata
import inspect
from pathlib import Path

import synergia_core

EXPECTED = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert synergia_core.__all__ == EXPECTED
    assert sorted(synergia_core.__all__) == synergia_core.__all__


def test_every_public_name_is_importable_and_documented() -> None:
    for name in synergia_core.__all__:
        value = getattr(synergia_core, name)
        if name == "__version__":
            continue
        assert inspect.getdoc(value), f"{name} has no docstring"


def test_public_methods_are_documented() -> None:
    for name in synergia_core.__all__:
        value = getattr(synergia_core, name)
        if not inspect.isclass(value) or value.__module__.startswith("pydantic"):
            continue
        for attr, member in vars(value).items():
            if attr.startswith("_") or not callable(member):
                continue
            assert inspect.getdoc(member), f"{name}.{attr} has no docstring"


def test_version_is_the_installed_distribution_version() -> None:
    assert synergia_core.__version__ == importlib.metadata.version("synergia-core")


def test_package_is_typed() -> None:
    assert (Path(synergia_core.__file__).parent / "py.typed").is_file()
