"""ModelService: the catalog of AI models and their prices."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from synergia_core.errors import InvalidInputError, ModelAlreadyExists, ModelNotFound
from synergia_core.ids import uuid7
from synergia_core.repositories.protocols import NewModel, Repositories
from synergia_core.schemas import (
    MAX_TOKENS,
    ModelCreate,
    ModelRead,
    ModelUpdate,
    PriceTier,
    SyncReport,
)
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


def _tiers(value: object, field: str) -> list[PriceTier]:
    if not isinstance(value, list):
        raise InvalidInputError(f"{field} must be a list of PriceTier", field=field)
    try:
        tiers = [PriceTier.model_validate(tier) for tier in value]  # re-validates instances
    except ValidationError as exc:
        raise InvalidInputError(f"invalid {field}: {exc.errors()[0]['msg']}", field) from None
    if len({tier.above_input_tokens for tier in tiers}) != len(tiers):
        raise InvalidInputError("two price tiers have the same above_input_tokens", field)
    return tiers


def _aliases(value: object, field: str) -> list[str]:
    if not isinstance(value, list):
        raise InvalidInputError(f"{field} must be a list of names", field=field)
    for alias in value:
        check_str(alias, field, min_chars=1, max_chars=200)
    if len(set(value)) != len(value) or len(value) > 100:
        raise InvalidInputError(f"{field} repeat themselves or are more than 100", field)
    return list(value)


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
    "cache_write_1h_price_per_million": _optional(check_price),
    "tiers": _tiers,
    "aliases": _aliases,
    "context_window": _optional(_window),
    "max_output_tokens": _optional(_window),
    "is_enabled": check_bool,
}
_REQUIRED = frozenset(
    {
        "provider",
        "name",
        "input_price_per_million",
        "output_price_per_million",
        "is_enabled",
        "tiers",
        "aliases",
    }
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
        values = _create_values(data, self._config)
        model = NewModel(
            id=uuid7(),
            created_at=self._config.now(),
            **{**values, "tiers": tuple(values["tiers"]), "aliases": tuple(values["aliases"])},
        )
        with self._scope(write=True, atomic=True) as repos:
            _claim_names(repos, model.provider, [model.name, *model.aliases], besides=None)
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
        """The live model with this provider and name, or with this name
        among its aliases (``gpt-4o-2024-08-06`` finds ``gpt-4o``).

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
            ModelAlreadyExists: The new provider and name (or an alias) are
                another live model's name or alias.
            InvalidInputError: A text holds a NUL character, the change
                would make ``max_output_tokens`` exceed ``context_window``, or
                ``data`` is not a :class:`ModelUpdate` (or holds invalid values).
            pydantic.ValidationError: ``data`` is a dict that is not a valid
                :class:`ModelUpdate`.
        """
        model_id = to_uuid(id, "id")
        data = as_schema(data, ModelUpdate, "data")
        values = _checked(fields_given(data, "data"), self._config)
        renaming = "provider" in values or "name" in values or "aliases" in values
        # A rename checks the new names under a lock on each, in a
        # transaction, so two renames (or a rename and a create) racing for
        # one name end in ModelAlreadyExists, never in a unique violation
        # that would abort the caller's transaction on PostgreSQL.
        with self._scope(write=True, atomic=renaming) as repos:
            current = repos.models.get(model_id)
            if current is None:
                raise ModelNotFound(model_id)
            _check_windows(
                values.get("context_window", current.context_window),
                values.get("max_output_tokens", current.max_output_tokens),
            )
            if renaming:
                provider = values.get("provider", current.provider)
                names = [values.get("name", current.name), *values.get("aliases", current.aliases)]
                if len(set(names)) != len(names):
                    raise InvalidInputError("a model's name is not one of its aliases", "aliases")
                _claim_names(repos, provider, names, besides=model_id)
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

    def upsert(self, data: ModelCreate | Mapping[str, Any]) -> ModelRead:
        """Create the model, or update the live one with its provider and
        name, so that notebook cells and seeding scripts run again safely.

        An update changes the fields ``data`` sets (its prices always), and
        leaves the others (a model disabled since, say) as they are.

        Raises:
            ModelAlreadyExists: The name, or an alias, is another live
                model's alias (or name).
            InvalidInputError: As :meth:`create`.
            pydantic.ValidationError: ``data`` is a dict that is not a valid
                :class:`ModelCreate`.
        """
        data = as_schema(data, ModelCreate, "data")
        values = _create_values(data, self._config)
        with self._scope(write=True, atomic=True) as repos:
            model, _ = self._upsert(repos, data, values)
            return model

    def sync(
        self,
        models: Iterable[ModelCreate | Mapping[str, Any]],
        *,
        progress: Callable[[int], object] | None = None,
    ) -> SyncReport:
        """Bring the catalog in line with ``models`` (a price list: see
        :func:`synergia_core.pricing.genai_prices`), in one transaction: each
        is created, updated (the fields it sets) or left as it is.

        Args:
            models: The models; dicts are validated into :class:`ModelCreate`.
            progress: Called with the number of models done so far, after each.

        Returns:
            How many were created, updated and unchanged.

        Raises:
            ModelAlreadyExists: A name or alias is another live model's.
            InvalidInputError: ``models`` is not an iterable, or a model
                breaks a rule (nothing is written).
        """
        if progress is not None and not callable(progress):
            raise InvalidInputError("progress must be callable", field="progress")
        given: object = models  # a caller's value, whatever the annotation says
        if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
            raise InvalidInputError(
                f"models must be an iterable of models, not a {type(models).__name__}",
                field="models",
            )
        checked = []
        for item in models:
            data = as_schema(item, ModelCreate, "models")
            checked.append((data, _create_values(data, self._config)))
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        with self._scope(write=True, atomic=True) as repos:
            for done, (data, values) in enumerate(checked, start=1):
                _, outcome = self._upsert(repos, data, values)
                counts[outcome] += 1
                if progress is not None:
                    progress(done)
        return SyncReport(**counts)

    def resolve(self, name: str, *, provider: str | None = None) -> ModelRead:
        """The live model a provider's reply names: by name or alias, of
        ``provider`` when given, else of whichever provider has it (a name
        over an alias).

        Raises:
            ModelNotFound: No live model has this name or alias.
            InvalidInputError: Several providers have it and ``provider`` was
                not given; or an argument is not a string.
        """
        check_str(name, "name")
        if provider is not None:
            return self.get_by_name(provider, name)
        with self._scope(write=False) as repos:
            found = repos.models.resolve(name)
        exact = [model for model in found if model.name == name] or found
        if not exact:
            raise ModelNotFound(name)
        if len({model.provider for model in exact}) > 1:
            providers = ", ".join(sorted({model.provider for model in exact}))
            raise InvalidInputError(
                f"model {name!r} is in several providers' catalogs ({providers}); give provider",
                field="provider",
            )
        return exact[0]

    def _upsert(
        self, repos: Repositories, data: ModelCreate, values: dict[str, Any]
    ) -> tuple[ModelRead, str]:
        """Create or update one model (the caller holds a transaction);
        ``created``, ``updated`` or ``unchanged``."""
        names = [data.name, *values["aliases"]]
        for name in names:
            repos.models.lock_name(data.provider, name)
        current = repos.models.get_by_name(data.provider, data.name)
        if current is None or current.name != data.name:
            _claim_names(repos, data.provider, names, besides=None)
            model = NewModel(
                id=uuid7(),
                created_at=self._config.now(),
                **{**values, "tiers": tuple(values["tiers"]), "aliases": tuple(values["aliases"])},
            )
            created = repos.models.insert(model)
            if created is None:  # pragma: no cover - the name is locked
                raise ModelAlreadyExists(data.provider, data.name)
            return created, "created"
        given = {field: values[field] for field in _given(data)}
        changed = {
            field: value for field, value in given.items() if getattr(current, field) != value
        }
        if not changed:
            return current, "unchanged"
        _check_windows(
            changed.get("context_window", current.context_window),
            changed.get("max_output_tokens", current.max_output_tokens),
        )
        if "aliases" in changed:
            _claim_names(repos, data.provider, names, besides=current.id)
        updated = repos.models.update(current.id, changed, self._config.now())
        if updated is None:  # pragma: no cover - the row is locked by its name
            raise ModelNotFound(current.id)
        return updated, "updated"


def _create_values(data: ModelCreate, config: ServiceConfig) -> dict[str, Any]:
    """The checked column values of a model to create."""
    values = _checked({field: getattr(data, field) for field in (*_COLUMNS, "metadata")}, config)
    _check_windows(values["context_window"], values["max_output_tokens"])
    if values["name"] in values["aliases"]:
        raise InvalidInputError("a model's name is not one of its aliases", field="aliases")
    return values


def _given(data: ModelCreate) -> list[str]:
    """The columns an upsert updates: those ``data`` sets, and the prices."""
    fields = set(data.model_fields_set) - {"price_per_million_tokens", "provider", "name"}
    fields |= {"input_price_per_million", "output_price_per_million"}
    return [field for field in (*_COLUMNS, "metadata") if field in fields]


def _claim_names(
    repos: Repositories, provider: str, names: Sequence[str], *, besides: uuid.UUID | None
) -> None:
    """Lock ``names`` and refuse them when another live model of the provider
    has one as its name or alias.

    Raises:
        ModelAlreadyExists: One is taken.
    """
    for name in names:
        repos.models.lock_name(provider, name)
    taken = repos.models.names_taken(provider, names, besides=besides)
    if taken:
        raise ModelAlreadyExists(provider, taken[0])
