"""Budget periods: where the current one starts and ends (UTC)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

__all__ = ["PERIODS", "TOTAL_START", "Period", "period_bounds"]

Period = Literal["day", "week", "month", "total"]
PERIODS: tuple[Period, ...] = ("day", "week", "month", "total")

_UTC = dt.timezone.utc
TOTAL_START = dt.datetime(1970, 1, 1, tzinfo=_UTC)
"""Where the spend of a ``"total"`` budget is kept (it has no period)."""


def period_bounds(period: Period, moment: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
    """The UTC period ``moment`` falls in: ``[start, end)``.

    ``"day"`` is the UTC calendar day, ``"week"`` the ISO week (Monday
    00:00 UTC), ``"month"`` the UTC calendar month; ``"total"`` starts at
    :data:`TOTAL_START` and never ends (``end`` is ``None``).
    """
    moment = moment.astimezone(_UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return midnight, midnight + dt.timedelta(days=1)
    if period == "week":
        start = midnight - dt.timedelta(days=midnight.weekday())
        return start, start + dt.timedelta(days=7)
    if period == "month":
        start = midnight.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
        return start, end
    return TOTAL_START, None
