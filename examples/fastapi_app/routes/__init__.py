"""The routes of the API, mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from examples.fastapi_app.routes import chats, health, messages, models, usage

__all__ = ["api_router"]

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(models.router)
api_router.include_router(chats.router)
api_router.include_router(messages.router)
api_router.include_router(usage.router)
