"""Who is calling: THE place where a host plugs in its own authentication.

synergia-core does not know your users; every chat and message call takes a
``user_id`` and keeps users apart (another user's chat is simply "not
found"). This example trusts an ``X-User-Id`` request header, which is fine
behind a gateway that authenticates and sets it, and nowhere else.

To use real authentication, replace the body of :func:`current_user` (and,
if you like, the ``user_id_header`` scheme) with your own: verify a session
cookie, an OAuth2 bearer token, a JWT ... and return the user's stable id.
Every route depends on :data:`CurrentUser`, so nothing else changes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import APIKeyHeader

__all__ = ["USER_HEADER", "CurrentUser", "current_user", "user_id_header"]

USER_HEADER = "X-User-Id"

user_id_header = APIKeyHeader(
    name=USER_HEADER,
    scheme_name="UserId",
    description="The caller's user id (stand-in for real authentication).",
    auto_error=False,
)
"""Documents the header as a security scheme: Swagger UI's "Authorize" button."""


async def current_user(user_id: Annotated[str | None, Security(user_id_header)]) -> str:
    """The id of the calling user, from the ``X-User-Id`` header.

    Replace this function to plug in your authentication; return the user's
    stable id (at most 255 characters).

    Raises:
        HTTPException: 401 when the header is missing or blank.
    """
    if user_id is None or not user_id.strip():
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=f"missing {USER_HEADER} header: say who is calling",
        )
    return user_id


CurrentUser = Annotated[str, Depends(current_user)]
"""The calling user's id, for route signatures: ``user: CurrentUser``."""
