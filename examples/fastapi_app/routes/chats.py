"""A user's chats: ``/chats``. Every route is scoped to the calling user."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from examples.fastapi_app.auth import CurrentUser
from examples.fastapi_app.dependencies import Sy
from examples.fastapi_app.errors import error_responses
from synergia_core import ChatCreate, ChatRead, ChatUpdate, Page

__all__ = ["NewChat", "router"]

router = APIRouter(prefix="/chats", tags=["chats"], responses=error_responses(401, 422, 503))


class NewChat(BaseModel):
    """A chat to create for the calling user (the library's ``ChatCreate``
    without ``user_id``, which comes from authentication)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    model_id: uuid.UUID | None = None
    system_prompt: str | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 404, 409),
    response_model=ChatRead,
)
async def create_chat(data: NewChat, user: CurrentUser, sy: Sy) -> ChatRead:
    """Start a chat, optionally with a model and a system prompt.

    The limits (title, prompt length ...) are the library's ``ChatCreate``'s;
    a value past them is a 422.
    """
    return await sy.chats.create(ChatCreate(user_id=user, **data.model_dump(exclude_unset=True)))


@router.get("", response_model=Page[ChatRead])
async def list_chats(
    user: CurrentUser,
    sy: Sy,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    cursor: str | None = None,
    include_archived: bool = False,
    pinned: bool | None = None,
) -> Page[ChatRead]:
    """The caller's chats, most recent activity first, a page at a time.

    Pass the page's ``next_cursor`` back as ``cursor`` for the next one;
    it is ``null`` on the last page.
    """
    return await sy.chats.list(
        user_id=user, limit=limit, cursor=cursor, include_archived=include_archived, pinned=pinned
    )


@router.get("/{chat_id}", responses=error_responses(404), response_model=ChatRead)
async def get_chat(chat_id: uuid.UUID, user: CurrentUser, sy: Sy) -> ChatRead:
    """One of the caller's chats (another user's chat is a 404)."""
    return await sy.chats.get(chat_id, user_id=user)


@router.patch("/{chat_id}", responses=error_responses(400, 404, 409), response_model=ChatRead)
async def update_chat(chat_id: uuid.UUID, data: ChatUpdate, user: CurrentUser, sy: Sy) -> ChatRead:
    """Rename, pin, archive, change the model or the system prompt (``null`` clears)."""
    return await sy.chats.update(chat_id, data, user_id=user)


@router.delete("/{chat_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def delete_chat(chat_id: uuid.UUID, user: CurrentUser, sy: Sy) -> None:
    """Delete a chat softly: gone from lists, restorable with ``/restore``."""
    await sy.chats.delete(chat_id, user_id=user)


@router.post("/{chat_id}/restore", responses=error_responses(404), response_model=ChatRead)
async def restore_chat(chat_id: uuid.UUID, user: CurrentUser, sy: Sy) -> ChatRead:
    """Bring a soft-deleted chat back (a live chat is returned unchanged)."""
    return await sy.chats.restore(chat_id, user_id=user)


@router.post(
    "/{chat_id}/purge", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404)
)
async def purge_chat(chat_id: uuid.UUID, user: CurrentUser, sy: Sy) -> None:
    """Remove a chat and its messages for good (live or soft-deleted)."""
    await sy.chats.purge(chat_id, user_id=user)
