"""An OpenAI client that never leaves the process, and stored messages
built without a database, for the tests of the OpenAI formats.

The client is the real SDK (``openai.OpenAI``) over an
``httpx.MockTransport``: canned JSON or SSE bodies come back as the SDK's
own objects and streams, and every request body is kept for the test to read.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam
from openai.types.responses import ResponseInputParam
from pydantic import ConfigDict, TypeAdapter

from synergia_core import MessageCreate, MessageRead
from synergia_core.parts import Part, parts_text
from synergia_core.schemas import classic_views

__all__ = ["CHAT_MESSAGES", "RESPONSE_INPUT", "MockOpenAI", "sse", "stored"]

STRICT = ConfigDict(extra="forbid")
CHAT_MESSAGES: TypeAdapter[list[ChatCompletionMessageParam]] = TypeAdapter(
    list[ChatCompletionMessageParam], config=STRICT
)
"""Validates Chat Completions messages; unknown keys are errors."""
RESPONSE_INPUT: TypeAdapter[ResponseInputParam] = TypeAdapter(ResponseInputParam, config=STRICT)
"""Validates Responses input items; unknown keys are errors."""


def sse(events: Sequence[dict[str, Any]], *, done: bool = False, named: bool = False) -> str:
    """A Server-Sent Events body: one ``data:`` line per event (with an
    ``event:`` line naming its type when ``named``, as the Responses API
    sends), then ``data: [DONE]`` when ``done`` (as Chat Completions ends)."""
    lines = []
    for event in events:
        head = f"event: {event['type']}\n" if named else ""
        lines.append(f"{head}data: {json.dumps(event)}\n\n")
    if done:
        lines.append("data: [DONE]\n\n")
    return "".join(lines)


class MockOpenAI:
    """``openai.OpenAI`` answering every request with one canned body.

    Attributes:
        client: The SDK client.
        requests: The JSON body of every request sent, in order.
    """

    def __init__(self, body: dict[str, Any] | str) -> None:
        self.body = body
        self.requests: list[dict[str, Any]] = []
        http_client = httpx.Client(transport=httpx.MockTransport(self._handle))
        self.client = openai.OpenAI(
            api_key="test",
            base_url="http://test/v1",
            # Typed httpx2.Client from openai 3 on, which still takes an httpx
            # client: httpx works with every SDK version the dev extra allows.
            http_client=cast(Any, http_client),
            max_retries=0,
        )

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        if isinstance(self.body, str):
            return httpx.Response(
                200, text=self.body, headers={"content-type": "text/event-stream"}
            )
        return httpx.Response(200, json=self.body)


def stored(
    message: MessageCreate | None = None, *, role: str = "", parts: Sequence[Part] = ()
) -> MessageRead:
    """A complete stored message, as ``context()`` hands it to a renderer:
    ``message``'s role and parts, or ``role`` and ``parts``."""
    if message is not None:
        role, parts = message.role.value, message.all_parts()
    tool_calls, tool_call_id, attachments = classic_views(parts)
    now = dt.datetime.now(dt.timezone.utc)
    return MessageRead(
        id=uuid.uuid4(),
        chat_id=uuid.uuid4(),
        parent_id=None,
        seq=1,
        role=role,
        content=parts_text(parts),
        parts=list(parts),
        status="complete",
        model_id=None,
        input_tokens=0,
        output_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=0,
        reasoning_tokens=0,
        cost=Decimal(0),
        error=None,
        tool_calls=tool_calls,
        tool_call_id=tool_call_id,
        attachments=attachments,
        metadata={},
        created_at=now,
        updated_at=now,
    )
