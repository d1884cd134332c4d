"""Usage breakdowns as DataFrames (pandas or polars: the ``frames`` extra).

One row per key. The columns, in order: the key (``model_id``, ``day``,
``user_id`` or ``chat_id``, after the breakdown), ``label``, ``message_count``,
the six token counts, and ``cost``.

Money stays exact. In polars, ``cost`` is a ``Decimal`` column whose scale is
the largest any value needs (nothing is rounded). pandas has no exact decimal
dtype, so there ``cost`` is an ``object`` column of :class:`~decimal.Decimal`
values: ``sum()`` on it is exact, and ``df["cost"].astype(float)`` is the
explicit, rounding way to a float column for a chart.

Ids (model and chat) are strings; ``day`` is a date column (polars ``Date``,
pandas ``datetime64`` at midnight). The libraries are imported only when a
frame is asked for.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Sequence
from decimal import Decimal
from types import ModuleType
from typing import Any, Literal

from synergia_core.errors import InvalidInputError
from synergia_core.schemas import UsageRow

__all__ = ["FRAME_LIBRARIES", "KEY_COLUMNS", "frame_library", "usage_frame"]

FrameLibrary = Literal["pandas", "polars"]
FRAME_LIBRARIES: tuple[FrameLibrary, ...] = ("pandas", "polars")
"""The DataFrame libraries :meth:`UsageService.frame` can build."""
KEY_COLUMNS = {"model": "model_id", "day": "day", "user": "user_id", "chat": "chat_id"}
"""The name of the key column, by breakdown."""
_COUNTS = (
    "message_count",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cache_write_1h_tokens",
)
_POLARS_MAX_PRECISION = 38


def frame_library(library: object) -> ModuleType:
    """The DataFrame library named ``library``, imported.

    Raises:
        InvalidInputError: ``library`` is not "pandas" or "polars".
        ImportError: The library is not installed (the ``frames`` extra).
    """
    if not isinstance(library, str) or library not in FRAME_LIBRARIES:
        shown = f"{library!r:.40}" if isinstance(library, str) else f"a {type(library).__name__}"
        raise InvalidInputError(
            f"no DataFrame library {shown}; use one of {', '.join(FRAME_LIBRARIES)}",
            field="library",
        )
    try:
        return importlib.import_module(library)
    except ImportError as exc:
        raise ImportError(
            f"usage frames with {library} need it installed: "
            f"pip install 'synergia-core[frames]' ({exc})"
        ) from exc


def _key_value(key: object) -> object:
    if key is None or isinstance(key, (str, dt.date)):
        return key
    return str(key)  # a UUID


def usage_frame(rows: Sequence[UsageRow], by: str, library: ModuleType) -> Any:
    """``rows`` (a breakdown by ``by``) as a DataFrame of ``library``."""
    key_column = KEY_COLUMNS[by]
    columns: dict[str, list[Any]] = {
        key_column: [_key_value(row.key) for row in rows],
        "label": [row.label for row in rows],
    }
    for name in _COUNTS:
        columns[name] = [getattr(row, name) for row in rows]
    costs = [row.cost for row in rows]
    if library.__name__ == "polars":
        return _polars(library, columns, key_column, by, costs)
    return _pandas(library, columns, key_column, by, costs)


def _polars(
    pl: ModuleType, columns: dict[str, list[Any]], key_column: str, by: str, costs: list[Decimal]
) -> Any:
    schema: dict[str, Any] = {
        key_column: pl.Date if by == "day" else pl.String,
        "label": pl.String,
        **dict.fromkeys(_COUNTS, pl.Int64),
        "cost": pl.Decimal(_POLARS_MAX_PRECISION, _scale(costs)),
    }
    return pl.DataFrame({**columns, "cost": costs}, schema=schema)


def _scale(costs: list[Decimal]) -> int:
    """The decimal places the costs need: the polars column's scale, so none rounds."""
    scale = 0
    for cost in costs:
        exponent = cost.as_tuple().exponent
        if isinstance(exponent, int):
            scale = max(scale, -exponent)
    return min(scale, _POLARS_MAX_PRECISION)


def _pandas(
    pd: ModuleType, columns: dict[str, list[Any]], key_column: str, by: str, costs: list[Decimal]
) -> Any:
    frame = pd.DataFrame(columns)
    if by == "day":
        frame[key_column] = pd.to_datetime(pd.Series(columns[key_column], dtype=object))
    else:
        frame[key_column] = pd.Series(columns[key_column], dtype=object)
    frame["label"] = pd.Series(columns["label"], dtype=object)
    for name in _COUNTS:
        frame[name] = pd.Series(columns[name], dtype="int64")
    frame["cost"] = pd.Series(costs, dtype=object)
    return frame
