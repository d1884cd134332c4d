"""Streamed replies as Server-Sent Events.

A reply is streamed as named events, each with a JSON ``data`` line::

    event: start    data: MessageRead   the new assistant message (status "streaming")
    event: delta    data: {"content": " word"}   one chunk, in order
    event: done     data: MessageRead   the finished message, with usage and cost
    event: error    data: {"error": code, "detail": message}   the reply failed
    event: cancelled  data: MessageRead   stopped through POST /messages/{id}/cancel

Errors found before the reply starts (unknown chat, disabled model ...) are
ordinary JSON error responses; once the stream is open, an ``error`` event
ends it and the message is marked ``failed`` (its partial text kept). A
client that disconnects leaves the message ``cancelled``; one that stops the
reply with ``/cancel`` (a stop button) gets a last ``cancelled`` event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Mapping, Sequence
from typing import Any

import anyio
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from examples.fastapi_app.echo import EchoModel
from examples.fastapi_app.errors import error_code
from synergia_core import (
    AsyncSynergia,
    InvalidStateError,
    MessageRead,
    MessageStatus,
    SynergiaError,
)

__all__ = [
    "SSE_RESPONSE",
    "ReplyDelta",
    "ReplyStream",
    "reply_events",
    "reply_stream",
    "sse_event",
]

logger = logging.getLogger(__name__)

MAX_STORED_ERROR = 1000
"""The longest error text kept on a failed reply (the library accepts up to 10,000)."""


class ReplyDelta(BaseModel):
    """The data of a ``delta`` event: the next chunk of the reply."""

    content: str


def _event_schema(event: str, content_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["event", "data"],
        "properties": {
            "event": {"const": event},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": content_schema,
            },
        },
    }


SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": (
            "The reply, as Server-Sent Events: start, delta..., done (or error, or cancelled)."
        ),
        "content": {
            "text/event-stream": {
                "itemSchema": {
                    "oneOf": [
                        _event_schema("start", {"$ref": "#/components/schemas/MessageRead"}),
                        _event_schema("delta", ReplyDelta.model_json_schema()),
                        _event_schema("done", {"$ref": "#/components/schemas/MessageRead"}),
                        _event_schema("error", {"$ref": "#/components/schemas/ErrorBody"}),
                        _event_schema("cancelled", {"$ref": "#/components/schemas/MessageRead"}),
                    ]
                }
            }
        },
    }
}
"""OpenAPI ``responses=`` entry of a streamed reply (OpenAPI 3.2 ``itemSchema``)."""


def sse_event(event: str, data: BaseModel | Mapping[str, Any]) -> str:
    """One Server-Sent Event: ``event: <name>`` and a one-line JSON ``data``."""
    payload = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data)
    return f"event: {event}\ndata: {payload}\n\n"


async def _settle(action: Awaitable[MessageRead], what: str) -> None:
    """Close a reply that cannot finish; shielded, so it runs even when cancelled."""
    with anyio.CancelScope(shield=True):
        try:
            await action
        except SynergiaError as exc:  # the chat was deleted meanwhile, the database is gone ...
            logger.warning("could not mark the reply %s: %s", what, exc)


async def _cancelled_elsewhere(
    sy: AsyncSynergia, reply: MessageRead, user_id: str
) -> MessageRead | None:
    """The reply, if another request (``POST /messages/{id}/cancel``) cancelled it."""
    try:
        current = await sy.messages.get(reply.id, user_id=user_id)
    except SynergiaError:
        return None
    return current if current.status is MessageStatus.cancelled else None


async def reply_events(
    sy: AsyncSynergia,
    reply: MessageRead,
    prompt: Sequence[Mapping[str, Any]],
    model: EchoModel,
    user_id: str,
) -> AsyncGenerator[str, None]:
    """The events of a reply, as SSE text: ``start``, ``delta``..., then ``done``,
    ``error`` or ``cancelled``.

    Each chunk is stored (``append``) before it is sent; the reply is finished
    with the model's usage, failed (with an ``error`` event) when something
    goes wrong, and cancelled if the generator is closed early (the client
    went away). When another request cancels the reply meanwhile, the next
    write is refused; the events then end with ``cancelled`` and the message
    as it was stopped.
    """
    chunks: list[str] = []
    try:
        yield sse_event("start", reply)
        async for chunk in model.stream(prompt):
            await sy.messages.append(reply.id, chunk, user_id=user_id)
            chunks.append(chunk)
            yield sse_event("delta", ReplyDelta(content=chunk))
        usage = model.usage(prompt, "".join(chunks))
        done = await sy.messages.finish(reply.id, user_id=user_id, usage=usage)
    except Exception as exc:  # the chat was deleted meanwhile, a chunk was refused, a bug ...
        stopped = (
            await _cancelled_elsewhere(sy, reply, user_id)
            if isinstance(exc, InvalidStateError)
            else None
        )
        if stopped is not None:
            logger.info("reply %s stopped after %d chunks", reply.id, len(chunks))
            yield sse_event("cancelled", stopped)
            return
        code, detail = (
            (error_code(exc), exc.message)
            if isinstance(exc, SynergiaError)
            else ("internal_error", "internal server error")
        )
        logger.warning("reply %s failed: %s", reply.id, detail, exc_info=code == "internal_error")
        failure = sy.messages.fail(reply.id, detail[:MAX_STORED_ERROR], user_id=user_id)
        await _settle(failure, "failed")
        yield sse_event("error", {"error": code, "detail": detail})
        return
    except BaseException:  # closed early or cancelled: the client went away
        logger.info("reply %s cancelled after %d chunks", reply.id, len(chunks))
        await _settle(sy.messages.cancel(reply.id, user_id=user_id), "cancelled")
        raise
    logger.info("reply %s complete: %d chunks, cost %s", reply.id, len(chunks), done.cost)
    yield sse_event("done", done)


class ReplyStream(StreamingResponse):
    """The response of a streamed reply: its events as ``text/event-stream``.

    When the response ends, even early because the client went away, the
    events are closed at once, so the reply is marked ``cancelled`` now
    rather than whenever the abandoned generator is garbage-collected.
    """

    def __init__(self, events: AsyncGenerator[str, None]) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the events; close them however the sending ends."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._events.aclose()


def reply_stream(
    sy: AsyncSynergia,
    reply: MessageRead,
    prompt: Sequence[Mapping[str, Any]],
    model: EchoModel,
    user_id: str,
) -> ReplyStream:
    """Stream ``model``'s answer to ``prompt`` into the started ``reply``, as SSE.

    Args:
        sy: The library facade.
        reply: The assistant message, in ``streaming`` status, to fill.
        prompt: The conversation so far, as ``sy.messages.context`` returns it.
        model: Writes the answer.
        user_id: The owner of the chat.
    """
    return ReplyStream(reply_events(sy, reply, prompt, model, user_id))
