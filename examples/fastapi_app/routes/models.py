"""The model catalog: ``/models``.

Any authenticated caller may edit the catalog here; a real host would keep
these writes for administrators (check a role in ``current_user``'s place).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from examples.fastapi_app.auth import current_user
from examples.fastapi_app.dependencies import Sy
from examples.fastapi_app.errors import error_responses
from synergia_core import ModelCreate, ModelRead, ModelUpdate

__all__ = ["router"]

router = APIRouter(
    prefix="/models",
    tags=["models"],
    dependencies=[Depends(current_user)],
    responses=error_responses(401, 422, 503),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 409),
    response_model=ModelRead,
)
async def create_model(data: ModelCreate, sy: Sy) -> ModelRead:
    """Add a model and its prices (USD per million tokens) to the catalog.

    409 ``model_already_exists`` when a live model has the same provider and name.
    """
    return await sy.models.create(data)


@router.get("", response_model=list[ModelRead])
async def list_models(
    sy: Sy, enabled_only: bool = False, provider: str | None = None
) -> list[ModelRead]:
    """The live models, optionally only the enabled ones or one provider's."""
    return await sy.models.list(enabled_only=enabled_only, provider=provider)


@router.get("/{model_id}", responses=error_responses(404), response_model=ModelRead)
async def get_model(model_id: uuid.UUID, sy: Sy) -> ModelRead:
    """One live model."""
    return await sy.models.get(model_id)


@router.patch("/{model_id}", responses=error_responses(400, 404, 409), response_model=ModelRead)
async def update_model(model_id: uuid.UUID, data: ModelUpdate, sy: Sy) -> ModelRead:
    """Change the fields given; messages already priced keep their cost."""
    return await sy.models.update(model_id, data)


@router.delete(
    "/{model_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def delete_model(model_id: uuid.UUID, sy: Sy) -> None:
    """Remove a model from the catalog (soft: messages keep pointing at it)."""
    await sy.models.delete(model_id)


@router.post("/{model_id}/enable", responses=error_responses(404), response_model=ModelRead)
async def enable_model(model_id: uuid.UUID, sy: Sy) -> ModelRead:
    """Allow new chats and messages to use the model."""
    return await sy.models.enable(model_id)


@router.post("/{model_id}/disable", responses=error_responses(404), response_model=ModelRead)
async def disable_model(model_id: uuid.UUID, sy: Sy) -> ModelRead:
    """Refuse the model to new chats and messages (409 ``model_unavailable``)."""
    return await sy.models.disable(model_id)
