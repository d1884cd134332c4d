"""Dependencies the routes share: the library facade and the reply model."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from examples.fastapi_app.echo import EchoModel
from examples.fastapi_app.settings import Settings
from synergia_core import AsyncSynergia

__all__ = ["AppSettings", "Replier", "Sy", "get_reply_model", "get_settings", "get_synergia"]


def get_synergia(request: Request) -> AsyncSynergia:
    """The app's :class:`~synergia_core.AsyncSynergia`, opened by the lifespan."""
    synergia: AsyncSynergia = request.app.state.synergia
    return synergia


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_reply_model(request: Request) -> EchoModel:
    """The model that writes streamed replies (the built-in echo model)."""
    model: EchoModel = request.app.state.reply_model
    return model


Sy = Annotated[AsyncSynergia, Depends(get_synergia)]
"""The library facade, for route signatures: ``sy: Sy``."""

Replier = Annotated[EchoModel, Depends(get_reply_model)]
"""The reply model, for route signatures: ``model: Replier``."""

AppSettings = Annotated[Settings, Depends(get_settings)]
"""The app's settings, for route signatures: ``settings: AppSettings``."""
