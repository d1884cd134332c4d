"""Tokens and money spent by the calling user: ``/usage``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from fastapi import APIRouter

from examples.fastapi_app.auth import CurrentUser
from examples.fastapi_app.dependencies import Sy
from examples.fastapi_app.errors import error_responses
from synergia_core import UsageRow, UsageTotals

__all__ = ["router"]

router = APIRouter(prefix="/usage", tags=["usage"], responses=error_responses(401, 422, 503))


@router.get("", response_model=UsageTotals)
async def usage_totals(
    user: CurrentUser,
    sy: Sy,
    chat_id: uuid.UUID | None = None,
    model_id: uuid.UUID | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> UsageTotals:
    """The caller's message count, token counts and cost (USD), summed.

    ``since`` is inclusive and ``until`` exclusive; both need a time zone.
    Messages of deleted chats still count: the money was spent.
    """
    return await sy.usage.totals(
        user_id=user, chat_id=chat_id, model_id=model_id, since=since, until=until
    )


@router.get("/breakdown", response_model=list[UsageRow])
async def usage_breakdown(
    by: Literal["model", "day", "user", "chat"],
    user: CurrentUser,
    sy: Sy,
    chat_id: uuid.UUID | None = None,
    model_id: uuid.UUID | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[UsageRow]:
    """The caller's usage grouped by model, UTC day, user or chat, ordered by key.

    Scoped to the caller, so ``by=user`` has one row; an operator's view of
    every user would drop the ``user_id`` filter behind an admin check.
    """
    return await sy.usage.breakdown(
        by, user_id=user, chat_id=chat_id, model_id=model_id, since=since, until=until
    )
