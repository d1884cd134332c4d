"""ModelService: the catalog of AI models and their prices."""

from __future__ import annotations

import uuid
from typing import Any

from synergia_core.errors import InvalidInputError, ModelAlreadyExists, ModelNotFound
from synergia_core.ids import uuid7
from synergia_core.repositories.protocols import NewModel
from synergia_core.schemas import ModelCreate, ModelRead, ModelUpdate
from synergia_core.services._base import Service
from synergia_core.services._checks import check_json, check_text, to_uuid

__all__ = ["ModelService"]


class ModelService(Service):
    """Create, read, update, enable, disable and soft-delete models.

    A model's (provider, name) is unique among live models; a deleted model's
    name can be reused. Messages keep pointing at deleted models.
    """

    def create(self, data: ModelCreate) -> ModelRead:
        """Add a model to the catalog.

        Raises:
            ModelAlreadyExists: A live model has this provider and name.
            InvalidInputError: A text holds a NUL character.
        """
        for field in ("provider", "name", "display_name"):
            check_text(getattr(data, field), field)
        check_json(data.metadata, "metadata", max_chars=self._config.max_content_chars)
        model = NewModel(
            id=uuid7(),
            provider=data.provider,
            name=data.name,
            display_name=data.display_name,
            input_price_per_million=data.input_price_per_million,
            output_price_per_million=data.output_price_per_million,
            cache_read_price_per_million=data.cache_read_price_per_million,
            cache_write_price_per_million=data.cache_write_price_per_million,
            context_window=data.context_window,
            max_output_tokens=data.max_output_tokens,
            is_enabled=data.is_enabled,
            metadata=data.metadata,
            created_at=self._config.clock(),
        )
        with self._scope(write=True) as repos:
            created = repos.models.insert(model)
            if created is None:
                raise ModelAlreadyExists(data.provider, data.name)
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
        """
        check_text(provider, "provider")
        check_text(name, "name")
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
            InvalidInputError: ``provider`` holds a NUL character.
        """
        check_text(provider, "provider")
        with self._scope(write=False) as repos:
            return repos.models.list(enabled_only=enabled_only, provider=provider)

    def update(self, id: uuid.UUID | str, data: ModelUpdate) -> ModelRead:
        """Change the fields given in ``data`` (``None`` clears a nullable one).

        Raises:
            ModelNotFound: No live model has this id.
            ModelAlreadyExists: The new provider and name are another live
                model's.
            InvalidInputError: A text holds a NUL character, or the change
                would make ``max_output_tokens`` exceed ``context_window``.
        """
        model_id = to_uuid(id, "id")
        values: dict[str, Any] = data.model_dump(include=data.model_fields_set)
        for field in ("provider", "name", "display_name"):
            check_text(values.get(field), field)
        if "metadata" in values:
            check_json(values["metadata"], "metadata", max_chars=self._config.max_content_chars)
        renaming = "provider" in values or "name" in values
        # A rename checks the new name under a lock on it, in a transaction,
        # so two renames (or a rename and a create) racing for one name end
        # in ModelAlreadyExists, never in a unique violation that would
        # abort the caller's transaction on PostgreSQL.
        with self._scope(write=True, atomic=renaming) as repos:
            current = repos.models.get(model_id)
            if current is None:
                raise ModelNotFound(model_id)
            window = values.get("context_window", current.context_window)
            max_output = values.get("max_output_tokens", current.max_output_tokens)
            if window is not None and max_output is not None and max_output > window:
                raise InvalidInputError(
                    "max_output_tokens cannot exceed context_window", field="max_output_tokens"
                )
            provider = values.get("provider", current.provider)
            name = values.get("name", current.name)
            if (provider, name) != (current.provider, current.name):
                repos.models.lock_name(provider, name)
                holder = repos.models.get_by_name(provider, name)
                if holder is not None:
                    raise ModelAlreadyExists(provider, name)
            updated = repos.models.update(model_id, values, self._config.clock())
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
            if not repos.models.soft_delete(model_id, self._config.clock()):
                raise ModelNotFound(model_id)
