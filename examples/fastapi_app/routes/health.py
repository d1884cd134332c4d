"""``GET /health``: is the service up, and can it reach its database?"""

from __future__ import annotations

import datetime as dt
import time
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel

from examples.fastapi_app.dependencies import AppSettings, Sy
from synergia_core import Health, __version__

__all__ = ["HealthReport", "router"]

router = APIRouter(tags=["health"])


class HealthReport(BaseModel):
    """The service's health: the original backend's payload plus the database check."""

    status: Literal["healthy", "unhealthy"]
    timestamp: dt.datetime
    version: str
    uptime: float
    """Seconds since the app started."""
    database: Health
    """What ``sy.health()`` reports: reachable, at the expected schema revision, latency."""


@router.get(
    "/health",
    response_model=HealthReport,
    responses={503: {"model": HealthReport, "description": "The database is unusable"}},
)
async def health(
    request: Request, response: Response, sy: Sy, settings: AppSettings
) -> HealthReport:
    """Report liveness and the database check; 503 when the database is unusable.

    No authentication: load balancers and orchestrators poll it.
    """
    database = await sy.health()
    if database.status != "healthy":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        if settings.ENVIRONMENT == "production":
            database = database.model_copy(update={"error": "database check failed"})
    started: float = request.app.state.started
    return HealthReport(
        status=database.status,
        timestamp=dt.datetime.now(dt.timezone.utc),
        version=__version__,
        uptime=round(time.monotonic() - started, 3),
        database=database,
    )
