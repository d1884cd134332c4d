"""The base every service shares, and rules more than one service applies."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from typing_extensions import Self

from synergia_core.errors import InvalidInputError, ModelNotFound, ModelUnavailableError
from synergia_core.repositories.protocols import ModelPricing, Repositories
from synergia_core.services._context import Scope, ServiceConfig, bind_scope

__all__ = ["Service", "check_config", "check_usable", "usable_model"]


def check_config(config: object) -> ServiceConfig:
    """``config``, or the default settings for ``None``.

    Raises:
        InvalidInputError: ``config`` is not a :class:`ServiceConfig`.
    """
    if config is None:
        return ServiceConfig()
    if not isinstance(config, ServiceConfig):
        raise InvalidInputError(
            f"config must be a ServiceConfig, not {type(config).__name__}", field="config"
        )
    return config


class Service:
    """Holds the scope a service opens its units of work with, and its settings.

    Args:
        scope: Opens a unit of work (see :class:`~synergia_core.services.Scope`).
        config: Clock and limits; the defaults when omitted.
    """

    def __init__(self, scope: Scope, config: ServiceConfig | None = None) -> None:
        self._scope = scope
        self._config = check_config(config)

    @classmethod
    def from_session(
        cls, session: Session | Connection, config: ServiceConfig | None = None
    ) -> Self:
        """A service working in a host's session (or connection).

        It takes part in the host's transaction and never commits: the host
        decides. A call that raises a :class:`~synergia_core.errors.SynergiaError`
        writes nothing, so the transaction stays usable.

        Raises:
            InvalidInputError: ``session`` is not a SQLAlchemy ``Session`` or
                ``Connection``, or ``config`` is not a :class:`ServiceConfig`.
        """
        if not isinstance(session, (Session, Connection)):
            raise InvalidInputError(
                f"session must be a SQLAlchemy Session or Connection, not {type(session).__name__}",
                field="session",
            )
        return cls(bind_scope(session), config)


def usable_model(repos: Repositories, model_id: uuid.UUID) -> ModelPricing:
    """The pricing of a model that exists, is not deleted and is enabled.

    Raises:
        ModelNotFound: No model has this id.
        ModelUnavailableError: The model is deleted or disabled.
    """
    return check_usable(repos.models.pricing(model_id), model_id)


def check_usable(pricing: ModelPricing | None, model_id: uuid.UUID) -> ModelPricing:
    """``pricing`` (read for ``model_id``), if its model is usable.

    Raises:
        ModelNotFound: ``pricing`` is ``None`` (no model has this id).
        ModelUnavailableError: The model is deleted or disabled.
    """
    if pricing is None:
        raise ModelNotFound(model_id)
    if pricing.is_deleted:
        raise ModelUnavailableError(model_id, "deleted")
    if not pricing.is_enabled:
        raise ModelUnavailableError(model_id, "disabled")
    return pricing
