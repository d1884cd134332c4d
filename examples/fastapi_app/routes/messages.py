"""Messages of a chat: history, new messages, edits, branches and streamed replies."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from examples.fastapi_app.auth import CurrentUser
from examples.fastapi_app.dependencies import Replier, Sy
from examples.fastapi_app.errors import error_responses
from examples.fastapi_app.streaming import SSE_RESPONSE, reply_stream
from synergia_core import ChatRead, MessageCreate, MessageRead, Page

__all__ = ["Conversation", "MessageEdit", "ReplyRequest", "ThreadEntry", "router"]

router = APIRouter(tags=["messages"], responses=error_responses(401, 422, 503))


class MessageEdit(BaseModel):
    """The new content of an edited message."""

    model_config = ConfigDict(extra="forbid")

    content: str


class ReplyRequest(BaseModel):
    """Which model answers; by default the chat's (or, on regenerate, the old answer's)."""

    model_config = ConfigDict(extra="forbid")

    model_id: uuid.UUID | None = None


class ThreadEntry(BaseModel):
    """A message of the current thread, with the alternatives a chat UI switches between."""

    message: MessageRead
    sibling_ids: list[uuid.UUID]
    """The message and its siblings (edits, regenerations) in creation order; the
    message's place in it is the ``2`` of a ``< 2/3 >`` switcher."""


class Conversation(BaseModel):
    """What a chat page shows: the chat, and its current thread with the siblings."""

    chat: ChatRead
    messages: list[ThreadEntry]


@router.get(
    "/chats/{chat_id}/messages", responses=error_responses(404), response_model=Page[MessageRead]
)
async def list_messages(
    chat_id: uuid.UUID,
    user: CurrentUser,
    sy: Sy,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: str | None = None,
) -> Page[MessageRead]:
    """Every message of the chat, all branches, a page at a time.

    The first page holds the newest ``limit`` messages in ascending ``seq``;
    ``next_cursor`` walks toward older ones.
    """
    return await sy.messages.list(chat_id, user_id=user, limit=limit, cursor=cursor)


@router.post(
    "/chats/{chat_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 404, 409),
    response_model=MessageRead,
)
async def add_message(
    chat_id: uuid.UUID, data: MessageCreate, user: CurrentUser, sy: Sy
) -> MessageRead:
    """Add a complete message, by default under the chat's current leaf.

    An assistant message may carry ``usage``: it is priced with its model.
    """
    return await sy.messages.add(chat_id, data, user_id=user)


@router.get(
    "/chats/{chat_id}/thread", responses=error_responses(404), response_model=list[MessageRead]
)
async def get_thread(
    chat_id: uuid.UUID,
    user: CurrentUser,
    sy: Sy,
    leaf_id: uuid.UUID | None = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> list[MessageRead]:
    """The conversation as the user sees it: root to the current leaf (or ``leaf_id``).

    ``limit`` keeps only the last messages of the path.
    """
    return await sy.messages.thread(chat_id, user_id=user, leaf_id=leaf_id, limit=limit)


@router.get(
    "/chats/{chat_id}/conversation", responses=error_responses(404), response_model=Conversation
)
async def get_conversation(chat_id: uuid.UUID, user: CurrentUser, sy: Sy) -> Conversation:
    """The chat and its current thread, each message with its siblings' ids.

    One request for a chat page: ``thread`` plus ``siblings`` of each message.
    The library has no batched "siblings of a whole thread" call, so when the
    chat has branches this asks for the siblings message by message; a chat
    without branches (every message on the thread) needs no such query.
    """
    thread = await sy.messages.thread(chat_id, user_id=user)
    # Read after the thread: a message added in between can only make the count
    # larger, which costs the sibling queries, never a missed branch.
    chat = await sy.chats.get(chat_id, user_id=user)
    if chat.message_count <= len(thread):  # every message is on the thread: no branches
        return Conversation(
            chat=chat,
            messages=[ThreadEntry(message=message, sibling_ids=[message.id]) for message in thread],
        )
    entries = []
    for message in thread:
        siblings = await sy.messages.siblings(message.id, user_id=user)
        entries.append(ThreadEntry(message=message, sibling_ids=[s.id for s in siblings]))
    return Conversation(chat=chat, messages=entries)


@router.post(
    "/chats/{chat_id}/replies",
    response_class=StreamingResponse,
    responses={**SSE_RESPONSE, **error_responses(400, 404, 409)},
)
async def stream_reply(
    chat_id: uuid.UUID,
    user: CurrentUser,
    sy: Sy,
    model: Replier,
    data: ReplyRequest | None = None,
) -> StreamingResponse:
    """Answer the conversation with the built-in echo model, streamed as Server-Sent Events.

    Events: ``start`` (the new assistant message), ``delta`` (each chunk),
    then ``done`` (the complete message with usage and cost) or ``error``.
    The model is ``model_id``, else the chat's; 422 when there is none.
    """
    model_id = data.model_id if data is not None else None
    prompt = await sy.messages.context(chat_id, user_id=user)
    reply = await sy.messages.start(chat_id, user_id=user, model_id=model_id)
    return reply_stream(sy, reply, prompt, model, user)


@router.get("/messages/{message_id}", responses=error_responses(404), response_model=MessageRead)
async def get_message(message_id: uuid.UUID, user: CurrentUser, sy: Sy) -> MessageRead:
    """One message of the caller's chats."""
    return await sy.messages.get(message_id, user_id=user)


@router.get(
    "/messages/{message_id}/siblings",
    responses=error_responses(404),
    response_model=list[MessageRead],
)
async def list_siblings(message_id: uuid.UUID, user: CurrentUser, sy: Sy) -> list[MessageRead]:
    """The message and its alternatives (edits, regenerations), in creation order."""
    return await sy.messages.siblings(message_id, user_id=user)


@router.post(
    "/messages/{message_id}/edit",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(400, 404, 409),
    response_model=MessageRead,
)
async def edit_message(
    message_id: uuid.UUID, data: MessageEdit, user: CurrentUser, sy: Sy
) -> MessageRead:
    """Edit by branching: a new sibling with the new content becomes the current leaf.

    The original and everything under it stay (see ``/siblings``).
    """
    return await sy.messages.edit(message_id, data.content, user_id=user)


@router.post(
    "/messages/{message_id}/select", responses=error_responses(404), response_model=ChatRead
)
async def select_message(message_id: uuid.UUID, user: CurrentUser, sy: Sy) -> ChatRead:
    """Switch branches: the newest leaf under this message becomes the current leaf."""
    return await sy.messages.select(message_id, user_id=user)


@router.post(
    "/messages/{message_id}/regenerate",
    response_class=StreamingResponse,
    responses={**SSE_RESPONSE, **error_responses(400, 404, 409)},
)
async def regenerate_message(
    message_id: uuid.UUID,
    user: CurrentUser,
    sy: Sy,
    model: Replier,
    data: ReplyRequest | None = None,
) -> StreamingResponse:
    """Answer again in place of an assistant message, streamed like ``/replies``.

    The new answer is a sibling of the old one, which stays.
    """
    model_id = data.model_id if data is not None else None
    reply = await sy.messages.regenerate(message_id, user_id=user, model_id=model_id)
    prompt = await sy.messages.context(reply.chat_id, user_id=user)
    return reply_stream(sy, reply, prompt, model, user)


@router.post(
    "/messages/{message_id}/cancel", responses=error_responses(404, 409), response_model=MessageRead
)
async def cancel_message(message_id: uuid.UUID, user: CurrentUser, sy: Sy) -> MessageRead:
    """Stop a reply being streamed (a chat UI's stop button): it is kept, ``cancelled``,
    with the text streamed so far.

    The stream that was writing it ends with a ``cancelled`` event. 409
    ``invalid_state`` when the message is not streaming (already complete,
    failed or cancelled).
    """
    return await sy.messages.cancel(message_id, user_id=user)
