"""UsageService: tokens and money spent, summed by the database."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any, Literal, overload

from synergia_core._frames import frame_library, usage_frame
from synergia_core.errors import InvalidInputError
from synergia_core.repositories.protocols import UsageFilter
from synergia_core.schemas import UsageRow, UsageTotals
from synergia_core.services._base import Service
from synergia_core.services._checks import check_time, check_user_id, optional_uuid

if TYPE_CHECKING:
    import pandas
    import polars

__all__ = ["BREAKDOWN_KEYS", "UsageService"]

BREAKDOWN_KEYS = ("model", "day", "user", "chat")
"""What :meth:`UsageService.breakdown` can group by."""


class UsageService(Service):
    """Usage and cost reports over stored messages.

    Sums are computed in SQL and exact (``Decimal``) on every backend.
    Messages of soft-deleted chats still count (the money was spent); purged
    chats' messages are gone.
    """

    def totals(
        self,
        *,
        user_id: str | None = None,
        chat_id: uuid.UUID | str | None = None,
        model_id: uuid.UUID | str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> UsageTotals:
        """Message count, the five token counts and the cost, summed.

        Every filter given applies; ``since`` is inclusive and ``until``
        exclusive, on the message's ``created_at``. Zeros when nothing matches.

        Times are compared in UTC; one whose UTC equivalent is beyond what a
        ``datetime`` holds (``datetime.min`` east of UTC, ``datetime.max``
        west of it) bounds nothing, or everything, as it would if it fit.

        Raises:
            InvalidInputError: An id is not a UUID, or a time is naive.
        """
        where = self._filter(user_id, chat_id, model_id, since, until)
        with self._scope(write=False, user_id=user_id) as repos:
            return repos.usage.totals(where)

    def breakdown(
        self,
        by: Literal["model", "day", "user", "chat"],
        *,
        user_id: str | None = None,
        chat_id: uuid.UUID | str | None = None,
        model_id: uuid.UUID | str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> list[UsageRow]:
        """The totals grouped by model, UTC day, user or chat, ordered by key.

        Each row is a :class:`~synergia_core.schemas.UsageTotals` with a
        ``key``: the model id (``None`` for messages without a model), the
        UTC date, the user id or the chat id. Filters as in :meth:`totals`.

        Raises:
            InvalidInputError: ``by`` is not one of "model", "day", "user",
                "chat"; an id is not a UUID; a time is naive.
        """
        if not isinstance(by, str) or by not in BREAKDOWN_KEYS:
            shown = f"{by!r:.40}" if isinstance(by, str) else f"a {type(by).__name__}"
            raise InvalidInputError(
                f"cannot break usage down by {shown}; use one of {', '.join(BREAKDOWN_KEYS)}",
                field="by",
            )
        where = self._filter(user_id, chat_id, model_id, since, until)
        with self._scope(write=False, user_id=user_id) as repos:
            return repos.usage.breakdown(by, where)

    @overload
    def frame(
        self,
        by: Literal["model", "day", "user", "chat"],
        *,
        user_id: str | None = ...,
        chat_id: uuid.UUID | str | None = ...,
        model_id: uuid.UUID | str | None = ...,
        since: dt.datetime | None = ...,
        until: dt.datetime | None = ...,
        library: Literal["pandas"] = ...,
    ) -> pandas.DataFrame: ...

    @overload
    def frame(
        self,
        by: Literal["model", "day", "user", "chat"],
        *,
        user_id: str | None = ...,
        chat_id: uuid.UUID | str | None = ...,
        model_id: uuid.UUID | str | None = ...,
        since: dt.datetime | None = ...,
        until: dt.datetime | None = ...,
        library: Literal["polars"],
    ) -> polars.DataFrame: ...

    def frame(
        self,
        by: Literal["model", "day", "user", "chat"],
        *,
        user_id: str | None = None,
        chat_id: uuid.UUID | str | None = None,
        model_id: uuid.UUID | str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        library: Literal["pandas", "polars"] = "pandas",
    ) -> Any:
        """:meth:`breakdown` as a DataFrame, for a notebook (the ``frames`` extra).

        One row per key, ordered by key. The columns: the key (``model_id``,
        ``day``, ``user_id`` or ``chat_id``; ids as strings, ``day`` a date
        column), ``label`` (see :class:`~synergia_core.schemas.UsageRow`),
        ``message_count``, the six token counts, and ``cost``, exact: a
        ``Decimal`` column in polars; in pandas, which has no exact decimal
        dtype, an ``object`` column of ``Decimal`` values (``.sum()`` stays
        exact; ``.astype(float)`` rounds, for a chart). Filters as in
        :meth:`totals`.

        Args:
            by: "model", "day", "user" or "chat".
            user_id: Only this user's messages.
            chat_id: Only this chat's messages.
            model_id: Only this model's messages.
            since: Messages created at or after this (aware) time.
            until: Messages created before this (aware) time.
            library: "pandas" (the default) or "polars".

        Returns:
            A ``pandas.DataFrame`` or a ``polars.DataFrame``.

        Raises:
            InvalidInputError: ``by`` or ``library`` is not one of those named;
                an id is not a UUID; a time is naive.
            ImportError: The library is not installed
                (``pip install 'synergia-core[frames]'``).
        """
        module = frame_library(library)
        rows = self.breakdown(
            by, user_id=user_id, chat_id=chat_id, model_id=model_id, since=since, until=until
        )
        return usage_frame(rows, by, module)

    @staticmethod
    def _filter(
        user_id: str | None,
        chat_id: uuid.UUID | str | None,
        model_id: uuid.UUID | str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
    ) -> UsageFilter:
        return UsageFilter(
            user_id=None if user_id is None else check_user_id(user_id),
            chat_id=optional_uuid(chat_id, "chat_id"),
            model_id=optional_uuid(model_id, "model_id"),
            since=check_time(since, "since"),
            until=check_time(until, "until"),
        )
