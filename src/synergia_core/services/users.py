"""UserService: what concerns a user as a whole (erasure)."""

from __future__ import annotations

import logging

from synergia_core.schemas import PurgeReport
from synergia_core.services._base import Service
from synergia_core.services._checks import check_user_id

__all__ = ["UserService"]

logger = logging.getLogger(__name__)


class UserService(Service):
    """Operations on every row of one user."""

    def purge(self, user_id: str) -> PurgeReport:
        """Erase a user for good: every chat (live or soft-deleted) and
        message, the budget and the spend rows, in one transaction. Other
        users' rows and the model catalog are untouched; usage reports no
        longer count the user's messages.

        Returns:
            How many rows of each kind were deleted (zeros for a user with none).

        Raises:
            InvalidInputError: ``user_id`` is not a valid user id.
        """
        check_user_id(user_id)
        with self._scope(write=True, atomic=True, user_id=user_id) as repos:
            counts = repos.transfer.purge_user(user_id)
        logger.info("purged a user: %s", counts)
        return PurgeReport(**counts)
