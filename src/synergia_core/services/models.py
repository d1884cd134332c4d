"""ModelService: the catalog of AI models and their prices."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from synergia_core.errors import InvalidInputError, ModelAlreadyExists, ModelNotFound
from synergia_core.ids import uuid7
from synergia_core.repositories.protocols import NewModel
from synergia_core.schemas import MAX_TOKENS, ModelCreate, ModelRead, ModelUpdate
from synergia_core.services._base import Service
from synergia_core.services._checks import (
    SizeBudget,
    as_schema,
    check_bool,
    check_int,
    check_metadata,
    check_price,
    check_str,
    check_text,
    fields_given,
    to_uuid,
)
from synergia_core.services._context import ServiceConfig

__all__ = ["ModelService"]

Check = Callable[[object, str], object]


def _optional(check: Check) -> Check:
    def optional(value: object, field: str) -> object:
        return None if value is None else check(value, field)

    return optional


def _text(low: int, high: int) -> Check:
    return lambda value, field: check_str(value, field, min_chars=low, max_chars=high)


def _window(value: object, field: str) -> int:
    return check_int(value, field, low=1, high=MAX_TOKENS)


# Every column a caller sets, with the check of its value (the schemas'
# constraints, as cheap isinstance and range checks).
_COLUMNS: dict[str, Check] = {
    "provider": _text(1, 100),
    "name": _text(1, 200),
    "display_name": _optional(_text(1, 200)),
    "input_price_per_million": check_price,
    "output_price_per_million": check_price,
    "cache_read_price_per_million": _optional(check_price),
    "cache_write_price_per_million": _optional(check_price),
    "context_window": _optional(_window),
    "max_output_tokens": _optional(_window),
    "is_enabled": check_bool,
}
_REQUIRED = frozenset(
    {"provider", "name", "input_price_per_million", "output_price_per_million", "is_enabled"}
)


def _checked(values: Mapping[str, Any], config: ServiceConfig) -> dict[str, Any]:
    """The column values of a model, each checked (``None`` clears an optional one)."""
    checked: dict[str, Any] = {}
    for field, value in values.items():
        if field == "metadata":
            budget = SizeBudget(config.max_content_chars, "metadata")
            checked[field] = check_metadata(value, field, budget)
        elif value is None and field in _REQUIRED:
            raise InvalidInputError(f"{field} cannot be cleared", field=field)
        else:
            checked[field] = _COLUMNS[field](value, field)
    return checked


def _check_windows(window: int | None, max_output: int | None) -> None:
    if window is not None and max_output is not None and max_output > window:
        raise InvalidInputError(
            "max_output_tokens cannot exceed context_window", field="max_output_tokens"
        )


class ModelService(Service):
    """Create, read, update, enable, disable and soft-delete models.

    A model's (provider, name) is unique among live models; a deleted model's
    name can be reused. Messages keep pointing at deleted models.
    """

    def create(self, data: ModelCreate | Mapping[str, Any]) -> ModelRead:
        """Add a model to the catalog.

        Args:
            data: The model; a ``dict`` is validated into a :class:`ModelCreate`.

        Raises:
            ModelAlreadyExists: A live model has this provider and name.
            InvalidInputError: A text holds a NUL character, the metadata is
                larger than ``max_content_chars``, or ``data`` is not a
                :class:`ModelCreate` (or holds invalid values).
            pydantic.ValidationError: ``data`` is a dict that is not a valid
                :class:`ModelCreate`.
        """
        data = as_schema(data, ModelCreate, "data")
        values = _checked(
            {field: getattr(data, field) for field in (*_COLUMNS, "metadata")}, self._config
        )
        _check_windows(values["context_window"], values["max_output_tokens"])
        model = NewModel(id=uuid7(), created_at=self._config.now(), **values)
        with self._scope(write=True) as repos:
            created = repos.models.insert(model)
            if created is None:
                raise ModelAlreadyExists(model.provider, model.name)
            return created

    def get(self, id: uuid.UUID | str) -> ModelRead:
        """A live model by id.

        Raises:
            ModelNotFound: No live model has this id.
            InvalidInputError: ``id`` is not a UUID.
        """
        model_id = to_uuid(id, "id")
        with self._scope(write=False) as repos:
            model = repos.models.get(model_id)
        if model is None:
            raise ModelNotFound(model_id)
        return model

    def get_by_name(self, provider: str, name: str) -> ModelRead:
        """The live model with this provider and name.

        Raises:
            ModelNotFound: No live model has them.
            InvalidInputError: ``provider`` or ``name`` is not a string, or
                holds a NUL character.
        """
        check_str(provider, "provider")
        check_str(name, "name")
        with self._scope(write=False) as repos:
            model = repos.models.get_by_name(provider, name)
        if model is None:
            raise ModelNotFound(f"{provider}/{name}")
        return model

    def list(self, *, enabled_only: bool = False, provider: str | None = None) -> list[ModelRead]:
        """Live models, ordered by provider then name.

        Args:
            enabled_only: Leave disabled models out.
            provider: Only this provider's models.

        Raises:
            InvalidInputError: ``enabled_only`` is not a bool, or ``provider``
                is not a string or holds a NUL character.
        """
        check_bool(enabled_only, "enabled_only")
        check_text(provider, "provider")
        with self._scope(write=False) as repos:
            return repos.models.list(enabled_only=enabled_only, provider=provider)

    def update(self, id: uuid.UUID | str, data: ModelUpdate | Mapping[str, Any]) -> ModelRead:
        """Change the fields given in ``data`` (``None`` clears a nullable one).

        Args:
            id: The model.
            data: The change; a ``dict`` is validated into a :class:`ModelUpdate`.

        Raises:
            ModelNotFound: No live model has this id.
            ModelAlreadyExists: The new provider and name are another live
                model's.
            InvalidInputError: A text holds a NUL character, the change
                would make ``max_output_tokens`` exceed ``context_window``, or
                ``data`` is not a :class:`ModelUpdate` (or holds invalid values).
            pydantic.ValidationError: ``data`` is a dict that is not a valid
                :class:`ModelUpdate`.
        """
        model_id = to_uuid(id, "id")
        data = as_schema(data, ModelUpdate, "data")
        values = _checked(fields_given(data, "data"), self._config)
        renaming = "provider" in values or "name" in values
        # A rename checks the new name under a lock on it, in a transaction,
        # so two renames (or a rename and a create) racing for one name end
        # in ModelAlreadyExists, never in a unique violation that would
        # abort the caller's transaction on PostgreSQL.
        with self._scope(write=True, atomic=renaming) as repos:
            current = repos.models.get(model_id)
            if current is None:
                raise ModelNotFound(model_id)
            _check_windows(
                values.get("context_window", current.context_window),
                values.get("max_output_tokens", current.max_output_tokens),
            )
            provider = values.get("provider", current.provider)
            name = values.get("name", current.name)
            if (provider, name) != (current.provider, current.name):
                repos.models.lock_name(provider, name)
                holder = repos.models.get_by_name(provider, name)
                if holder is not None:
                    raise ModelAlreadyExists(provider, name)
            updated = repos.models.update(model_id, values, self._config.now())
            if updated is None:  # deleted concurrently
                raise ModelNotFound(model_id)
            return updated

    def enable(self, id: uuid.UUID | str) -> ModelRead:
        """Let new messages and chats use the model.

        Raises:
            ModelNotFound: No live model has this id.
        """
        return self.update(id, ModelUpdate(is_enabled=True))

    def disable(self, id: uuid.UUID | str) -> ModelRead:
        """Refuse the model to new messages and chats (existing ones keep it).

        Raises:
            ModelNotFound: No live model has this id.
        """
        return self.update(id, ModelUpdate(is_enabled=False))

    def delete(self, id: uuid.UUID | str) -> None:
        """Soft-delete a model: it leaves the catalog, its name becomes free,
        and messages that used it keep pointing at it.

        Raises:
            ModelNotFound: No live model has this id.
        """
        model_id = to_uuid(id, "id")
        with self._scope(write=True) as repos:
            if not repos.models.soft_delete(model_id, self._config.now()):
                raise ModelNotFound(model_id)
