"""The Anthropic Messages format, against the real ``anthropic`` SDK, offline.

Replies are built with the SDK's own response classes (and as their
``model_dump()`` dicts); rendered requests are checked against the SDK's
request TypedDicts (pydantic plus a strict walk that refuses unknown keys)
and sent through ``client.messages.create`` over an ``httpx.MockTransport``;
streams are fed the SDK's event classes and what the SDK's own streaming
API yields from a canned SSE body.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any

import anthropic
import pytest
from anthropic.types import (
    CitationCharLocation,
    CitationsDelta,
    CitationsWebSearchResultLocation,
    ContainerUploadBlock,
    InputJSONDelta,
    Message,
    MessageDeltaUsage,
    MessageParam,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawContentBlockStopEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    RawMessageStreamEvent,
    RedactedThinkingBlock,
    ServerToolUseBlock,
    SignatureDelta,
    TextBlock,
    TextDelta,
    ThinkingBlock,
    ThinkingDelta,
    ToolUseBlock,
    WebSearchResultBlock,
    WebSearchToolResultBlock,
)
from anthropic.types import Usage as AnthropicUsage
from anthropic.types.raw_message_delta_event import Delta

from synergia_core import ChatCreate, MessageCreate, ModelCreate, ModelRead, Synergia, Usage
from synergia_core.parts import (
    FilePart,
    ImagePart,
    Part,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    dump_parts,
    parts_adapter,
    parts_text,
)
from synergia_core.providers import get_format
from synergia_core.providers.anthropic import FORMAT, AnthropicStream, usage_from_anthropic
from synergia_core.schemas import MessageRead, classic_views
from synergia_core.services._prompt import select_context
from synergia_core.tokens import EstimatingCounter
from tests.facades import BlockingAsync
from tests.providers._strict import assert_conforms, mismatches

MODEL = "claude-sonnet-5"
SIGNATURE = "EqQBCkYIBxgCKkCz/+= sig\u00e9 \u2603 with spaces and unicode=="
REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"
PNG = b"\x89PNG\r\n\x1a\n fake png bytes"
PDF = b"%PDF-1.4 fake pdf bytes"
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
PDF_URI = "data:application/pdf;base64," + base64.b64encode(PDF).decode()

http: Any = importlib.import_module(
    next(
        cls.__module__.partition(".")[0]
        for cls in anthropic.DefaultHttpxClient.__mro__
        if cls.__module__.startswith("httpx")
    )
)
"""The HTTP package the SDK is built on (``httpx``; ``httpx2`` from anthropic
2.x on), for its ``MockTransport``."""


# ---------------------------------------------------------------------------- helpers


def usage(**counts: int) -> AnthropicUsage:
    return AnthropicUsage.model_validate({"input_tokens": 0, "output_tokens": 0, **counts})


def reply(*content: Any, stop_reason: str = "end_turn", **usage_counts: int) -> Message:
    return Message(
        id="msg_01",
        type="message",
        role="assistant",
        model=MODEL,
        content=list(content),
        stop_reason=stop_reason,
        stop_sequence=None,
        usage=usage(**usage_counts),
    )


def read(role: str, parts: list[Any], *, seq: int = 0) -> MessageRead:
    """A stored message as the repository reads it back: the parts through
    their stored JSON form, the classic views computed."""
    stored = parts_adapter.validate_python(json.loads(json.dumps(dump_parts(parts))))
    tool_calls, tool_call_id, attachments = classic_views(stored)
    now = dt.datetime.now(dt.timezone.utc)
    return MessageRead.model_validate(
        {
            "id": uuid.uuid4(),
            "chat_id": uuid.UUID(int=1),
            "parent_id": None,
            "seq": seq,
            "role": role,
            "content": parts_text(stored),
            "parts": stored,
            "status": "complete",
            "model_id": None,
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "reasoning_tokens": 0,
            "cost": Decimal(0),
            "error": None,
            "tool_calls": tool_calls,
            "tool_call_id": tool_call_id,
            "attachments": attachments,
            "metadata": {},
            "created_at": now,
            "updated_at": now,
        }
    )


def stored(message: MessageCreate) -> MessageRead:
    return read(message.role.value, message.all_parts())


def check_request(rendered: dict[str, Any]) -> None:
    """The request is made of the SDK's param types, no unknown key anywhere."""
    assert set(rendered) == {"system", "messages"}
    assert isinstance(rendered["system"], str)
    assert_conforms(list[MessageParam], rendered["messages"])


def client(handler: Callable[[Any], Any]) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="test",
        base_url="http://test",
        max_retries=0,
        http_client=http.Client(transport=http.MockTransport(handler)),
    )


def send(rendered: dict[str, Any]) -> dict[str, Any]:
    """Send the request through the SDK; return the JSON body it posted."""
    captured: list[dict[str, Any]] = []

    def handler(request: Any) -> Any:
        assert request.url.path == "/v1/messages"
        captured.append(json.loads(request.content))
        return http.Response(200, json=reply(TextBlock(type="text", text="ok")).model_dump())

    answer = client(handler).messages.create(
        model=MODEL,
        max_tokens=1024,
        system=rendered["system"],
        messages=rendered["messages"],
    )
    assert answer.content[0].type == "text"
    (body,) = captured
    return body


# ------------------------------------------------------------------------- replies in


def test_reply_with_thinking_text_and_parallel_tool_calls() -> None:
    message = reply(
        ThinkingBlock(type="thinking", thinking="Two cities: call twice.", signature=SIGNATURE),
        RedactedThinkingBlock(type="redacted_thinking", data=REDACTED),
        TextBlock(
            type="text",
            text="Checking both.",
            citations=[
                CitationCharLocation(
                    type="char_location",
                    cited_text="Rome is warm",
                    document_index=0,
                    document_title=None,
                    start_char_index=0,
                    end_char_index=12,
                    file_id=None,
                )
            ],
        ),
        ToolUseBlock(type="tool_use", id="toolu_1", name="weather", input={"city": "Rome"}),
        ToolUseBlock(
            type="tool_use", id="toolu_2", name="weather", input={"city": "Oslo", "days": [1, 2]}
        ),
        stop_reason="tool_use",
        input_tokens=100,
        output_tokens=50,
        cache_read_input_tokens=1_000,
        cache_creation_input_tokens=200,
    )
    created = MessageCreate.from_anthropic(message)
    assert created.role.value == "assistant"
    assert created.parts == [
        ReasoningPart(text="Two cities: call twice.", signature=SIGNATURE, provider="anthropic"),
        ReasoningPart(encrypted=REDACTED, redacted=True, provider="anthropic"),
        TextPart(
            text="Checking both.",
            meta={
                "citations": [
                    {
                        "type": "char_location",
                        "cited_text": "Rome is warm",
                        "document_index": 0,
                        "document_title": None,
                        "start_char_index": 0,
                        "end_char_index": 12,
                    }
                ]
            },
        ),
        ToolCallPart(id="toolu_1", name="weather", arguments={"city": "Rome"}),
        ToolCallPart(id="toolu_2", name="weather", arguments={"city": "Oslo", "days": [1, 2]}),
    ]
    assert created.usage == Usage(
        input_tokens=1_300, output_tokens=50, cache_read_tokens=1_000, cache_write_tokens=200
    )
    assert created.metadata == {
        "anthropic": {
            "id": "msg_01",
            "model": MODEL,
            "stop_reason": "tool_use",
            "stop_sequence": None,
        }
    }
    # the same reply as plain dicts, in Python and in JSON mode
    assert MessageCreate.from_anthropic(message.model_dump()) == created
    assert MessageCreate.from_anthropic(json.loads(message.model_dump_json())) == created
    assert get_format("anthropic").message(message) == created


def test_reply_fields_and_metadata_merge() -> None:
    model_id = uuid.uuid4()
    message = reply(TextBlock(type="text", text="Hi"), input_tokens=3, output_tokens=1)
    created = MessageCreate.from_anthropic(message, model_id=model_id, metadata={"trace": "t1"})
    assert created.model_id == model_id
    assert created.parts == [TextPart(text="Hi")]
    assert created.metadata["trace"] == "t1"
    assert created.metadata["anthropic"] == {
        "id": "msg_01",
        "model": MODEL,
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }


def test_reply_with_stop_sequence_container_and_no_content() -> None:
    message = reply(stop_reason="stop_sequence", input_tokens=5, output_tokens=0)
    data = message.model_dump()
    data["stop_sequence"] = "END"
    data["container"] = {"id": "container_1", "expires_at": "2025-01-01T00:00:00Z"}
    created = MessageCreate.from_anthropic(Message.model_validate(data))
    assert created.parts == []
    assert created.metadata["anthropic"] == {
        "id": "msg_01",
        "model": MODEL,
        "stop_reason": "stop_sequence",
        "stop_sequence": "END",
        "container": {"id": "container_1", "expires_at": "2025-01-01T00:00:00Z"},
    }
    assert created.usage == Usage(input_tokens=5, output_tokens=0)


def test_server_tool_blocks_are_raw_parts() -> None:
    message = reply(
        ServerToolUseBlock(
            type="server_tool_use", id="srvtoolu_1", name="web_search", input={"query": "rome"}
        ),
        WebSearchToolResultBlock(
            type="web_search_tool_result",
            tool_use_id="srvtoolu_1",
            content=[
                WebSearchResultBlock(
                    type="web_search_result",
                    url="https://rome.example",
                    title="Rome",
                    encrypted_content="EqgfCioIARgBIiQ3YTAw",
                    page_age=None,
                )
            ],
        ),
        TextBlock(
            type="text",
            text="Rome is warm.",
            citations=[
                CitationsWebSearchResultLocation(
                    type="web_search_result_location",
                    url="https://rome.example",
                    title="Rome",
                    encrypted_index="Eo8BCioIAhgBIiQyYjQ0",
                    cited_text="Rome is warm",
                )
            ],
        ),
        ContainerUploadBlock(type="container_upload", file_id="file_9"),
        input_tokens=10,
        output_tokens=5,
    )
    created = MessageCreate.from_anthropic(message)
    assert created.parts is not None
    assert created.parts[0] == RawPart(
        provider="anthropic",
        data={
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {"query": "rome"},
        },
    )
    assert created.parts[1] == RawPart(
        provider="anthropic",
        data={
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": [
                {
                    "type": "web_search_result",
                    "url": "https://rome.example",
                    "title": "Rome",
                    "encrypted_content": "EqgfCioIARgBIiQ3YTAw",
                }
            ],
        },
    )
    assert isinstance(created.parts[2], TextPart)
    assert created.parts[3] == RawPart(
        provider="anthropic", data={"type": "container_upload", "file_id": "file_9"}
    )
    assert MessageCreate.from_anthropic(message.model_dump()) == created
    # sent back as they came: the SDK's own param form of the reply
    rendered = FORMAT.render(None, [read("user", [TextPart(text="rome?")]), stored(created)])
    check_request(rendered)
    expected = [block.model_dump(exclude_none=True) for block in message.content]
    assert rendered["messages"][1]["content"] == expected


def test_beta_blocks_and_unparseable_arguments_from_dicts() -> None:
    """Blocks the SDK's ``Message`` does not know (MCP, beta) and tool input
    that is not an object come as plain dicts; nothing is dropped."""
    created = MessageCreate.from_anthropic(
        {
            "id": "msg_2",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [
                {
                    "type": "mcp_tool_use",
                    "id": "mcptoolu_1",
                    "name": "search",
                    "server_name": "docs",
                    "input": {"q": "x"},
                },
                {
                    "type": "mcp_tool_result",
                    "tool_use_id": "mcptoolu_1",
                    "is_error": False,
                    "content": [{"type": "text", "text": "found"}],
                },
                {"type": "tool_use", "id": "toolu_9", "name": "f", "input": '{"a": 1'},
                {"type": "tool_use", "id": "toolu_10", "name": "g", "input": '{"b": 2}'},
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 2},
        }
    )
    assert created.parts is not None
    assert [type(p).__name__ for p in created.parts] == [
        "RawPart",
        "RawPart",
        "ToolCallPart",
        "ToolCallPart",
    ]
    assert created.parts[0] == RawPart(
        provider="anthropic",
        data={
            "type": "mcp_tool_use",
            "id": "mcptoolu_1",
            "name": "search",
            "server_name": "docs",
            "input": {"q": "x"},
        },
    )
    assert created.parts[2] == ToolCallPart(id="toolu_9", name="f", arguments='{"a": 1')
    assert created.parts[3] == ToolCallPart(id="toolu_10", name="g", arguments={"b": 2})


def test_tool_use_caller_round_trips() -> None:
    block = {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "query_db",
        "input": {"sql": "select 1"},
        "caller": {"type": "code_execution_20250825", "tool_id": "srvtoolu_2"},
    }
    message = reply(ToolUseBlock.model_validate(block), stop_reason="tool_use")
    created = MessageCreate.from_anthropic(message)
    assert created.parts == [
        ToolCallPart(
            id="toolu_1",
            name="query_db",
            arguments={"sql": "select 1"},
            meta={"caller": {"type": "code_execution_20250825", "tool_id": "srvtoolu_2"}},
        )
    ]
    rendered = FORMAT.render(None, [read("user", [TextPart(text="go")]), stored(created)])
    check_request(rendered)
    assert rendered["messages"][1]["content"] == [block]


def test_usage() -> None:
    sdk = usage(
        input_tokens=40,
        output_tokens=300,
        cache_read_input_tokens=2_000,
        cache_creation_input_tokens=500,
        output_tokens_details={"thinking_tokens": 120},  # type: ignore[arg-type]
    )
    expected = Usage(
        input_tokens=2_540,
        output_tokens=300,
        cache_read_tokens=2_000,
        cache_write_tokens=500,
        reasoning_tokens=120,
    )
    assert Usage.from_anthropic(sdk) == expected
    assert Usage.from_anthropic(sdk.model_dump()) == expected
    assert usage_from_anthropic({"input_tokens": 7, "output_tokens": 3}) == Usage(
        input_tokens=7, output_tokens=3
    )
    assert usage_from_anthropic(
        {
            "input_tokens": 7,
            "output_tokens": 3,
            "cache_read_input_tokens": None,
            "cache_creation_input_tokens": None,
        }
    ) == Usage(input_tokens=7, output_tokens=3)
    # thinking_tokens is an estimate: never more than the output it is part of
    assert usage_from_anthropic(
        {"input_tokens": 7, "output_tokens": 3, "output_tokens_details": {"thinking_tokens": 5}}
    ) == Usage(input_tokens=7, output_tokens=3, reasoning_tokens=3)


# ----------------------------------------------------------------------- rendering out


def weather_thread() -> list[MessageRead]:
    """Every part kind, in a thread as the selection gives it."""
    return [
        read(
            "user",
            [
                TextPart(text="What does this show?"),
                ImagePart(uri="https://example.com/map.png", mime_type="image/png"),
                ImagePart(uri=PNG_URI, mime_type="image/png"),
                ImagePart(uri="file-id:anthropic:file_img", mime_type="image/png"),
                ImagePart(uri="s3://bucket/private.png", mime_type="image/png"),  # dropped
                ImagePart(uri="data:image/svg+xml;base64,PHN2Zz4=", mime_type="image/svg+xml"),
                FilePart(uri=PDF_URI, mime_type="application/pdf", name="report.pdf"),
                FilePart(uri="https://example.com/paper.pdf", mime_type="application/pdf"),
                FilePart(uri="file-id:anthropic:file_doc", mime_type="application/pdf"),
                FilePart(uri="data:text/plain;base64,TGluZSAx", mime_type="text/plain"),
                FilePart(uri="data:text/plain,caf%C3%A9", mime_type="text/plain", name="n.txt"),
                FilePart(uri="data:audio/wav;base64,UklGRg==", mime_type="audio/wav"),  # dropped
                FilePart(uri="file-id:openai:file_x", mime_type="application/pdf"),  # dropped
                RawPart(
                    provider="anthropic",
                    data={
                        "type": "search_result",
                        "source": "https://kb.example/1",
                        "title": "KB",
                        "content": [{"type": "text", "text": "kb says"}],
                    },
                ),
            ],
        ),
        read("system", [TextPart(text="Use Celsius.")]),
        read(
            "assistant",
            [
                ReasoningPart(text="Need weather.", signature=SIGNATURE, provider="anthropic"),
                ReasoningPart(encrypted=REDACTED, redacted=True, provider="anthropic"),
                ReasoningPart(text="openai summary", encrypted="gAAAA", provider="openai"),
                ReasoningPart(text="no signature", provider="anthropic"),
                TextPart(
                    text="A map. Checking the weather.",
                    meta={
                        "citations": [
                            {
                                "type": "page_location",
                                "cited_text": "map",
                                "document_index": 0,
                                "start_page_number": 1,
                                "end_page_number": 2,
                                "file_id": "file_doc",
                            },
                            {"type": "unknown_location", "cited_text": "?"},
                        ]
                    },
                ),
                TextPart(text=""),
                ImagePart(uri="https://example.com/drawn.png", mime_type="image/png"),
                RawPart(provider="openai", data={"type": "web_search_call", "id": "ws_1"}),
                RawPart(provider="google", data={"thought": True}),
                ToolCallPart(id="toolu_1", name="weather", arguments={"city": "Rome"}),
                ToolCallPart(id="toolu_2", name="chart", arguments="{broken"),
            ],
        ),
        read("tool", [ToolResultPart(call_id="toolu_1", output="22 C")]),
        read(
            "tool",
            [
                ToolResultPart(
                    call_id="toolu_2",
                    output=[
                        TextPart(text="chart failed, partial render:"),
                        ImagePart(uri=PNG_URI, mime_type="image/png"),
                        FilePart(uri=PDF_URI, mime_type="application/pdf"),
                    ],
                    is_error=True,
                )
            ],
        ),
        read("user", [TextPart(text="Thanks!")]),
        read("assistant", [TextPart(text="You're welcome.")]),
        read("user", [TextPart(text="And JSON?")]),
        read(
            "assistant",
            [ToolCallPart(id="toolu_3", name="lookup", arguments={})],
        ),
        read("tool", [ToolResultPart(call_id="toolu_3", output={"rows": [1, 2]})]),
    ]


EXPECTED_MESSAGES: list[dict[str, Any]] = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "What does this show?"},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/map.png"}},
            {
                "type": "image",
                "source": {
                    "type": "base64",
                    "media_type": "image/png",
                    "data": base64.b64encode(PNG).decode(),
                },
            },
            {"type": "image", "source": {"type": "file", "file_id": "file_img"}},
            {
                "type": "document",
                "source": {
                    "type": "base64",
                    "media_type": "application/pdf",
                    "data": base64.b64encode(PDF).decode(),
                },
                "title": "report.pdf",
            },
            {
                "type": "document",
                "source": {"type": "url", "url": "https://example.com/paper.pdf"},
            },
            {"type": "document", "source": {"type": "file", "file_id": "file_doc"}},
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "Line 1"},
            },
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "caf\u00e9"},
                "title": "n.txt",
            },
            {
                "type": "search_result",
                "source": "https://kb.example/1",
                "title": "KB",
                "content": [{"type": "text", "text": "kb says"}],
            },
        ],
    },
    {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Need weather.", "signature": SIGNATURE},
            {"type": "redacted_thinking", "data": REDACTED},
            {
                "type": "text",
                "text": "A map. Checking the weather.",
                "citations": [
                    {
                        "type": "page_location",
                        "cited_text": "map",
                        "document_index": 0,
                        "document_title": None,
                        "end_page_number": 2,
                        "start_page_number": 1,
                    }
                ],
            },
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Rome"}},
            {"type": "tool_use", "id": "toolu_2", "name": "chart", "input": {}},
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "22 C"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": [
                    {"type": "text", "text": "chart failed, partial render:"},
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": base64.b64encode(PNG).decode(),
                        },
                    },
                    {
                        "type": "document",
                        "source": {
                            "type": "base64",
                            "media_type": "application/pdf",
                            "data": base64.b64encode(PDF).decode(),
                        },
                    },
                ],
                "is_error": True,
            },
            {"type": "text", "text": "Thanks!"},
        ],
    },
    {"role": "assistant", "content": [{"type": "text", "text": "You're welcome."}]},
    {"role": "user", "content": [{"type": "text", "text": "And JSON?"}]},
    {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_3", "name": "lookup", "input": {}}],
    },
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_3", "content": '{"rows":[1,2]}'}],
    },
]


def test_render_every_part_kind() -> None:
    rendered = FORMAT.render("Be brief.", weather_thread())
    assert rendered["system"] == "Be brief.\n\nUse Celsius."
    assert rendered["messages"] == EXPECTED_MESSAGES
    check_request(rendered)
    body = send(rendered)
    assert body["messages"] == rendered["messages"]
    assert body["system"] == rendered["system"]


def test_strict_check_refuses_what_the_api_would() -> None:
    """The strict walk catches what pydantic lets through."""
    bad_key = [{"role": "user", "content": [{"type": "text", "text": "x", "detail": "low"}]}]
    assert mismatches(list[MessageParam], bad_key)
    bad_media = [
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/svg", "data": ""},
                }
            ],
        }
    ]
    assert mismatches(list[MessageParam], bad_media)
    no_signature = [{"role": "assistant", "content": [{"type": "thinking", "thinking": "x"}]}]
    assert mismatches(list[MessageParam], no_signature)


def test_resolve_uri_inlines_references() -> None:
    calls: list[str] = []
    objects = {
        "s3://bucket/photo.jpg": (b"\xff\xd8 jpeg", "image/jpeg"),
        "s3://bucket/doc.pdf": (PDF, "application/pdf"),
        "https://intranet.example/notes.txt": ("notes \u2603".encode(), "text/plain"),
        "file-id:openai:file_x": (PDF, ""),
    }

    def resolve(uri: str) -> tuple[bytes, str]:
        calls.append(uri)
        return objects[uri]

    thread = [
        read(
            "user",
            [
                ImagePart(uri="s3://bucket/photo.jpg", mime_type="image/jpeg"),
                ImagePart(uri="https://example.com/public.png", mime_type="image/png"),
                FilePart(uri="s3://bucket/doc.pdf", mime_type="application/pdf"),
                FilePart(uri="https://intranet.example/notes.txt", mime_type="text/plain"),
                FilePart(uri="file-id:openai:file_x", mime_type="application/pdf"),
            ],
        )
    ]
    rendered = FORMAT.render(None, thread, resolve_uri=resolve)
    assert calls == [
        "s3://bucket/photo.jpg",
        "s3://bucket/doc.pdf",
        "https://intranet.example/notes.txt",
        "file-id:openai:file_x",
    ]
    pdf = base64.b64encode(PDF).decode()
    assert rendered["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": "image/jpeg",
                        "data": base64.b64encode(b"\xff\xd8 jpeg").decode(),
                    },
                },
                {
                    "type": "image",
                    "source": {"type": "url", "url": "https://example.com/public.png"},
                },
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": pdf},
                },
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "notes \u2603"},
                },
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": pdf},
                },
            ],
        }
    ]
    check_request(rendered)
    assert send(rendered)["messages"] == rendered["messages"]
    # without a resolver the references the API cannot fetch are left out
    plain = FORMAT.render(None, thread)
    assert plain["messages"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "url", "url": "https://example.com/public.png"},
                }
            ],
        }
    ]


def test_thinking_goes_before_its_tool_use() -> None:
    thread = [
        read("user", [TextPart(text="go")]),
        read(
            "assistant",
            [
                TextPart(text="Calling."),
                ToolCallPart(id="toolu_1", name="f", arguments={}),
                ReasoningPart(text="first", signature="s1", provider="anthropic"),
                ToolCallPart(id="toolu_2", name="f", arguments={}),
                ReasoningPart(encrypted="r2", redacted=True, provider="anthropic"),
            ],
        ),
    ]
    content = FORMAT.render(None, thread)["messages"][1]["content"]
    assert [block["type"] for block in content] == [
        "text",
        "thinking",
        "redacted_thinking",
        "tool_use",
        "tool_use",
    ]


def test_interleaved_thinking_with_server_tools_keeps_its_order() -> None:
    parts: list[Part] = [
        ReasoningPart(text="search first", signature="s1", provider="anthropic"),
        RawPart(
            provider="anthropic",
            data={"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}},
        ),
        RawPart(
            provider="anthropic",
            data={"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
        ),
        ReasoningPart(text="now answer", signature="s2", provider="anthropic"),
        TextPart(text="Answer."),
    ]
    rendered = FORMAT.render(None, [read("user", [TextPart(text="q")]), read("assistant", parts)])
    check_request(rendered)
    assert [block["type"] for block in rendered["messages"][1]["content"]] == [
        "thinking",
        "server_tool_use",
        "web_search_tool_result",
        "thinking",
        "text",
    ]


def test_the_selection_never_starts_with_an_assistant_turn() -> None:
    thread = [
        read("assistant", [TextPart(text="Hello, how can I help?")]),
        read("assistant", [ToolCallPart(id="toolu_0", name="f", arguments={})]),
        read("tool", [ToolResultPart(call_id="toolu_0", output="x")]),
        read("tool", [ToolResultPart(call_id="toolu_orphan", output="y")]),
        read("user", [TextPart(text="hi")]),
        read("assistant", [TextPart(text="hello")]),
    ]
    selected = select_context(None, thread, None, EstimatingCounter(), user_first=True)
    rendered = FORMAT.render(None, selected)
    assert rendered == {
        "system": "",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "hello"}]},
        ],
    }
    check_request(rendered)


def test_render_guards_turns_the_api_would_refuse() -> None:
    """A first user message with nothing to send (an unresolvable reference)
    leaves no leading assistant turn, nor tool results for calls not sent."""
    thread = [
        read("user", [ImagePart(uri="s3://bucket/x.png", mime_type="image/png")]),
        read("assistant", [ToolCallPart(id="toolu_1", name="f", arguments={})]),
        read("tool", [ToolResultPart(call_id="toolu_1", output="done")]),
        read("user", [TextPart(text="next")]),
        read("assistant", [ReasoningPart(text="gemini thought", provider="google")]),
        read("assistant", [TextPart(text="one")]),
        read("assistant", [TextPart(text="two")]),
    ]
    rendered = FORMAT.render(None, thread)
    assert rendered["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "next"}]},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        },
    ]
    check_request(rendered)


def test_a_reply_round_trips_byte_for_byte() -> None:
    """What the API returned is what it gets back: the SDK's own
    ``Message.to_param()`` form of the reply."""
    message = reply(
        ThinkingBlock(
            type="thinking", thinking="Let me think \u2014 carefully.", signature=SIGNATURE
        ),
        RedactedThinkingBlock(type="redacted_thinking", data=REDACTED),
        TextBlock(type="text", text="Calling the tool."),
        ToolUseBlock(type="tool_use", id="toolu_1", name="weather", input={"city": "Z\u00fcrich"}),
        stop_reason="tool_use",
        input_tokens=10,
        output_tokens=20,
    )
    thread = [
        read("user", [TextPart(text="weather in Zurich?")]),
        stored(MessageCreate.from_anthropic(message)),
        read("tool", [ToolResultPart(call_id="toolu_1", output="18 C")]),
    ]
    rendered = FORMAT.render(None, thread)
    check_request(rendered)
    param = message.to_param()
    assert rendered["messages"][1] == {
        "role": param["role"],
        "content": [block.model_dump(exclude_none=True) for block in message.content],
    }
    body = send(rendered)
    assert body["messages"][1]["content"][0]["signature"] == SIGNATURE
    assert body["messages"][1]["content"][1]["data"] == REDACTED
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C"}
    ]


# ------------------------------------------------------------------------------ streams


def start(**usage_counts: int) -> RawMessageStartEvent:
    return RawMessageStartEvent(
        type="message_start",
        message=Message(
            id="msg_s1",
            type="message",
            role="assistant",
            model=MODEL,
            content=[],
            stop_reason=None,
            stop_sequence=None,
            usage=usage(**usage_counts),
        ),
    )


def block_start(index: int, block: Any) -> RawContentBlockStartEvent:
    return RawContentBlockStartEvent(type="content_block_start", index=index, content_block=block)


def delta(index: int, value: Any) -> RawContentBlockDeltaEvent:
    return RawContentBlockDeltaEvent(type="content_block_delta", index=index, delta=value)


def stop(index: int) -> RawContentBlockStopEvent:
    return RawContentBlockStopEvent(type="content_block_stop", index=index)


def message_delta(stop_reason: str, **usage_counts: Any) -> RawMessageDeltaEvent:
    return RawMessageDeltaEvent(
        type="message_delta",
        delta=Delta(stop_reason=stop_reason, stop_sequence=None),
        usage=MessageDeltaUsage.model_validate(usage_counts),
    )


def text(index: int, value: str) -> RawContentBlockDeltaEvent:
    return delta(index, TextDelta(type="text_delta", text=value))


def thinking(index: int, value: str) -> RawContentBlockDeltaEvent:
    return delta(index, ThinkingDelta(type="thinking_delta", thinking=value))


def signature(index: int, value: str) -> RawContentBlockDeltaEvent:
    return delta(index, SignatureDelta(type="signature_delta", signature=value))


def json_piece(index: int, value: str) -> RawContentBlockDeltaEvent:
    return delta(index, InputJSONDelta(type="input_json_delta", partial_json=value))


def tool_events() -> list[RawMessageStreamEvent]:
    """Thinking, text, then two parallel tool calls, usage split in two."""
    return [
        start(input_tokens=50, output_tokens=1, cache_read_input_tokens=1_000),
        block_start(0, ThinkingBlock(type="thinking", thinking="", signature="")),
        thinking(0, "Two cities, "),
        thinking(0, "two calls."),
        signature(0, SIGNATURE),
        stop(0),
        block_start(1, TextBlock(type="text", text="")),
        text(1, "Checking "),
        text(1, "both."),
        stop(1),
        block_start(2, ToolUseBlock(type="tool_use", id="toolu_1", name="weather", input={})),
        json_piece(2, ""),
        json_piece(2, '{"city": '),
        json_piece(2, '"Rome"}'),
        stop(2),
        block_start(3, ToolUseBlock(type="tool_use", id="toolu_2", name="weather", input={})),
        json_piece(3, '{"city": "Os'),
        json_piece(3, 'lo", "days": [1, 2]}'),
        stop(3),
        message_delta("tool_use", output_tokens=200, output_tokens_details={"thinking_tokens": 80}),
        RawMessageStopEvent(type="message_stop"),
    ]


TOOL_PARTS: list[Part] = [
    ReasoningPart(text="Two cities, two calls.", signature=SIGNATURE, provider="anthropic"),
    TextPart(text="Checking both."),
    ToolCallPart(id="toolu_1", name="weather", arguments={"city": "Rome"}),
    ToolCallPart(id="toolu_2", name="weather", arguments={"city": "Oslo", "days": [1, 2]}),
]
TOOL_USAGE = Usage(
    input_tokens=1_050, output_tokens=200, cache_read_tokens=1_000, reasoning_tokens=80
)
TOOL_METADATA = {
    "anthropic": {
        "id": "msg_s1",
        "model": MODEL,
        "stop_reason": "tool_use",
        "stop_sequence": None,
    }
}


def feed_all(stream: AnthropicStream, events: list[Any]) -> list[tuple[str, str]]:
    return [d for event in events if (d := stream.feed(event)) != ("", "")]


def test_stream_of_thinking_text_and_parallel_tool_calls() -> None:
    stream = get_format("anthropic").stream()
    assert isinstance(stream, AnthropicStream)
    assert stream.usage() is None
    assert stream.metadata() == {}
    assert stream.parts() == []
    deltas = feed_all(stream, tool_events()[:5])
    assert deltas == [("", "Two cities, "), ("", "two calls.")]
    assert stream.usage() == Usage(input_tokens=1_050, output_tokens=1, cache_read_tokens=1_000)
    assert stream.metadata()["anthropic"] == {
        "id": "msg_s1",
        "model": MODEL,
        "stop_reason": None,
        "stop_sequence": None,
    }
    deltas = feed_all(stream, tool_events()[5:])
    assert deltas == [("Checking ", ""), ("both.", "")]
    assert stream.parts() == TOOL_PARTS
    assert stream.usage() == TOOL_USAGE
    assert stream.metadata() == TOOL_METADATA


def test_stream_of_dicts_gives_the_same_reply() -> None:
    stream = FORMAT.stream()
    feed_all(stream, [json.loads(event.model_dump_json()) for event in tool_events()])
    assert stream.parts() == TOOL_PARTS
    assert stream.usage() == TOOL_USAGE
    assert stream.metadata() == TOOL_METADATA


def test_stream_with_interleaved_thinking_keeps_the_order() -> None:
    events = [
        start(input_tokens=10, output_tokens=1),
        block_start(0, ThinkingBlock(type="thinking", thinking="", signature="")),
        thinking(0, "search"),
        signature(0, "s1"),
        stop(0),
        block_start(1, ToolUseBlock(type="tool_use", id="toolu_1", name="lookup", input={})),
        json_piece(1, '{"q": "x"}'),
        stop(1),
        block_start(2, ThinkingBlock(type="thinking", thinking="", signature="")),
        thinking(2, "answer"),
        signature(2, "s2"),
        stop(2),
        block_start(3, TextBlock(type="text", text="")),
        text(3, "Done."),
        stop(3),
        message_delta("end_turn", output_tokens=30),
    ]
    stream = FORMAT.stream()
    assert feed_all(stream, events) == [("", "search"), ("", "answer"), ("Done.", "")]
    assert stream.parts() == [
        ReasoningPart(text="search", signature="s1", provider="anthropic"),
        ToolCallPart(id="toolu_1", name="lookup", arguments={"q": "x"}),
        ReasoningPart(text="answer", signature="s2", provider="anthropic"),
        TextPart(text="Done."),
    ]


def test_stream_of_server_tools_citations_and_redacted_thinking() -> None:
    result = WebSearchToolResultBlock(
        type="web_search_tool_result",
        tool_use_id="srvtoolu_1",
        content=[
            WebSearchResultBlock(
                type="web_search_result",
                url="https://rome.example",
                title="Rome",
                encrypted_content="Eqgf",
                page_age="2 days",
            )
        ],
    )
    citation = CitationsWebSearchResultLocation(
        type="web_search_result_location",
        url="https://rome.example",
        title="Rome",
        encrypted_index="Eo8B",
        cited_text="Rome is warm",
    )
    events = [
        start(input_tokens=10, output_tokens=1),
        block_start(0, RedactedThinkingBlock(type="redacted_thinking", data=REDACTED)),
        stop(0),
        block_start(
            1,
            ServerToolUseBlock(
                type="server_tool_use", id="srvtoolu_1", name="web_search", input={}
            ),
        ),
        json_piece(1, '{"query": '),
        json_piece(1, '"rome weather"}'),
        stop(1),
        block_start(2, result),
        stop(2),
        block_start(3, TextBlock(type="text", text="")),
        delta(3, CitationsDelta(type="citations_delta", citation=citation)),
        text(3, "Rome is warm."),
        stop(3),
        # the server tools' input counts come with the final delta
        message_delta(
            "end_turn",
            output_tokens=40,
            input_tokens=900,
            cache_read_input_tokens=None,
            server_tool_use={"web_search_requests": 1, "web_fetch_requests": 0},
        ),
    ]
    stream = FORMAT.stream()
    assert feed_all(stream, events) == [("Rome is warm.", "")]
    parts = stream.parts()
    assert parts == [
        ReasoningPart(encrypted=REDACTED, redacted=True, provider="anthropic"),
        RawPart(
            provider="anthropic",
            data={
                "type": "server_tool_use",
                "id": "srvtoolu_1",
                "name": "web_search",
                "input": {"query": "rome weather"},
            },
        ),
        RawPart(provider="anthropic", data=result.model_dump(exclude_none=True)),
        TextPart(
            text="Rome is warm.",
            meta={"citations": [citation.model_dump(exclude_none=True)]},
        ),
    ]
    assert stream.usage() == Usage(input_tokens=900, output_tokens=40)
    # rendered back as the blocks they were
    rendered = FORMAT.render(None, [read("user", [TextPart(text="q")]), read("assistant", parts)])
    check_request(rendered)
    assert rendered["messages"][1]["content"][1:3] == [
        {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {"query": "rome weather"},
        },
        result.model_dump(exclude_none=True),
    ]


def test_stream_keeps_unparseable_tool_input_as_text() -> None:
    events = [
        start(input_tokens=1, output_tokens=1),
        block_start(0, ToolUseBlock(type="tool_use", id="toolu_1", name="f", input={})),
        json_piece(0, '{"a": '),
        json_piece(0, "[1, 2"),
        stop(0),
        block_start(1, ToolUseBlock(type="tool_use", id="toolu_2", name="g", input={})),
        stop(1),
        message_delta("max_tokens", output_tokens=9),
        {"type": "ping"},
    ]
    stream = FORMAT.stream()
    feed_all(stream, events)
    assert stream.parts() == [
        ToolCallPart(id="toolu_1", name="f", arguments='{"a": [1, 2'),
        ToolCallPart(id="toolu_2", name="g", arguments={}),
    ]
    assert stream.metadata() == {
        "anthropic": {
            "id": "msg_s1",
            "model": MODEL,
            "stop_reason": "max_tokens",
            "stop_sequence": None,
        }
    }
    assert stream.error() is None
    stream.feed({"type": "error", "error": {"type": "api_error", "message": "Internal"}})
    assert stream.error() == "api_error: Internal"


def sse(events: list[Any]) -> bytes:
    lines = []
    for event in events:
        data = event if isinstance(event, dict) else json.loads(event.model_dump_json())
        lines.append(f"event: {data['type']}\ndata: {json.dumps(data)}\n\n")
    return "".join(lines).encode()


@pytest.fixture
def streaming_client() -> Iterator[tuple[anthropic.Anthropic, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []

    def handler(request: Any) -> Any:
        bodies.append(json.loads(request.content))
        body = sse([*tool_events()[:1], {"type": "ping"}, *tool_events()[1:]])
        return http.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    with client(handler) as sdk:
        yield sdk, bodies


def test_stream_of_what_the_sdk_yields(
    streaming_client: tuple[anthropic.Anthropic, list[dict[str, Any]]],
) -> None:
    sdk, bodies = streaming_client
    accumulator = FORMAT.stream()
    texts: list[str] = []
    reasoning: list[str] = []
    with sdk.messages.create(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": "weather?"}],
        stream=True,
    ) as events:
        for event in events:
            text_delta, reasoning_delta = accumulator.feed(event)
            texts.append(text_delta)
            reasoning.append(reasoning_delta)
    assert bodies[0]["stream"] is True
    assert "".join(texts) == "Checking both."
    assert "".join(reasoning) == "Two cities, two calls."
    assert accumulator.parts() == TOOL_PARTS
    assert accumulator.usage() == TOOL_USAGE
    assert accumulator.metadata() == TOOL_METADATA


def test_stream_of_the_sdk_helper_events(
    streaming_client: tuple[anthropic.Anthropic, list[dict[str, Any]]],
) -> None:
    """``client.messages.stream()`` adds its own ``text``, ``thinking``,
    ``input_json`` ... events beside the raw ones: they count once."""
    sdk, _ = streaming_client
    accumulator = FORMAT.stream()
    with sdk.messages.stream(
        model=MODEL, max_tokens=1024, messages=[{"role": "user", "content": "weather?"}]
    ) as events:
        deltas = [d for event in events if (d := accumulator.feed(event)) != ("", "")]
        final = events.get_final_message()
    assert deltas == [
        ("", "Two cities, "),
        ("", "two calls."),
        ("Checking ", ""),
        ("both.", ""),
    ]
    assert accumulator.parts() == TOOL_PARTS
    assert accumulator.usage() == TOOL_USAGE
    # the SDK's own accumulated message converts to the same reply
    assert MessageCreate.from_anthropic(final).parts == TOOL_PARTS


def test_a_streamed_reply_renders_for_its_continuation() -> None:
    stream = FORMAT.stream()
    feed_all(stream, tool_events())
    reply_read = read("assistant", stream.parts())
    thread = [
        read("user", [TextPart(text="Rome and Oslo?")]),
        reply_read,
        read(
            "tool",
            [
                ToolResultPart(call_id="toolu_1", output="22 C"),
            ],
        ),
        read("tool", [ToolResultPart(call_id="toolu_2", output="3 C")]),
    ]
    rendered = FORMAT.render(None, thread)
    check_request(rendered)
    assert rendered["messages"][1]["content"][0] == {
        "type": "thinking",
        "thinking": "Two cities, two calls.",
        "signature": SIGNATURE,
    }
    assert [b["type"] for b in rendered["messages"][2]["content"]] == ["tool_result", "tool_result"]
    assert send(rendered)["messages"] == rendered["messages"]


# --------------------------------------------------------------------------- end to end


def record(sy: Synergia, chat_id: uuid.UUID, events: list[Any], **kwargs: Any) -> list[Any]:
    """Iterate ``record_stream`` to the end (the async facade takes an async
    iterator and is an async generator); return what it handed through."""
    facade: Any = sy  # the async facade behind its blocking proxy, or a Synergia
    if isinstance(facade, BlockingAsync):

        async def source() -> AsyncIterator[Any]:
            for event in events:
                yield event

        async def run() -> list[Any]:
            recorder = facade.inner.messages.record_stream(chat_id, source(), **kwargs)
            return [event async for event in recorder]

        return facade._wait(run())
    return list(sy.messages.record_stream(chat_id, iter(events), **kwargs))


def claude_model(sy: Synergia) -> ModelRead:
    return sy.models.create(
        ModelCreate(
            provider="anthropic",
            name=MODEL,
            input_price_per_million=Decimal("3"),
            output_price_per_million=Decimal("15"),
            cache_read_price_per_million=Decimal("0.30"),
        )
    )


def test_recorded_stream_gives_back_a_tool_use_continuation(sy: Synergia) -> None:
    claude = claude_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=claude.id, system_prompt="Brief."))
    sy.messages.add(chat.id, MessageCreate(role="user", content="Rome and Oslo?"), user_id="alice")
    events = tool_events()
    passed = record(sy, chat.id, events, user_id="alice", model_id=claude.id, format="anthropic")
    assert passed == events  # handed through unchanged
    *_, answer = sy.messages.thread(chat.id, user_id="alice")
    assert answer.role.value == "assistant"
    assert answer.status.value == "complete"
    assert answer.parts == TOOL_PARTS
    assert answer.content == "Checking both."
    assert (answer.input_tokens, answer.output_tokens) == (1_050, 200)
    assert (answer.cache_read_tokens, answer.reasoning_tokens) == (1_000, 80)
    assert answer.cost == Decimal("0.00345")  # 50 x 3 + 1,000 x 0.30 + 200 x 15, per million
    assert answer.metadata["anthropic"] == TOOL_METADATA["anthropic"]
    for call_id, output in (("toolu_1", "22 C"), ("toolu_2", "3 C")):
        sy.messages.add(
            chat.id,
            MessageCreate(role="tool", parts=[ToolResultPart(call_id=call_id, output=output)]),
            user_id="alice",
        )
    request = sy.messages.context(chat.id, user_id="alice", format="anthropic")
    check_request(request)
    assert request == {
        "system": "Brief.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Rome and Oslo?"}]},
            {
                "role": "assistant",
                "content": [
                    {
                        "type": "thinking",
                        "thinking": "Two cities, two calls.",
                        "signature": SIGNATURE,
                    },
                    {"type": "text", "text": "Checking both."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "weather",
                        "input": {"city": "Rome"},
                    },
                    {
                        "type": "tool_use",
                        "id": "toolu_2",
                        "name": "weather",
                        "input": {"city": "Oslo", "days": [1, 2]},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "22 C"},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "3 C"},
                ],
            },
        ],
    }
    assert send(request)["messages"] == request["messages"]


def test_stored_reply_gives_back_its_thinking(sy: Synergia) -> None:
    """``from_anthropic`` -> ``add`` -> ``context``, through the database."""
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    sy.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="alice")
    message = reply(
        ThinkingBlock(type="thinking", thinking="Greet back.", signature=SIGNATURE),
        RedactedThinkingBlock(type="redacted_thinking", data=REDACTED),
        TextBlock(type="text", text="Hello!"),
        input_tokens=5,
        output_tokens=7,
    )
    claude = claude_model(sy)
    sy.messages.add(
        chat.id, MessageCreate.from_anthropic(message, model_id=claude.id), user_id="alice"
    )
    request = sy.messages.context(chat.id, user_id="alice", format="anthropic")
    check_request(request)
    assert request["messages"][1] == {
        "role": "assistant",
        "content": [block.model_dump(exclude_none=True) for block in message.content],
    }


def test_records_what_the_sdk_streams(sy: Synergia) -> None:
    """The SDK's own stream object, passed straight to ``record_stream``."""
    claude = claude_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=claude.id))
    sy.messages.add(chat.id, MessageCreate(role="user", content="Rome and Oslo?"), user_id="alice")

    def handler(request: Any) -> Any:
        body = sse([*tool_events()[:1], {"type": "ping"}, *tool_events()[1:]])
        return http.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    with client(handler) as sdk:
        stream = sdk.messages.create(
            model=MODEL,
            max_tokens=1024,
            messages=sy.messages.context(chat.id, user_id="alice", format="anthropic")["messages"],
            stream=True,
        )
        handed = sy.messages.record_stream(
            chat.id, stream, user_id="alice", model_id=None, format="anthropic", flush_chars=5
        )
        kinds = [event.type for event in handed]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-1] == "message_stop"
    *_, answer = sy.messages.thread(chat.id, user_id="alice")
    assert answer.parts == TOOL_PARTS
    assert answer.model_id == claude.id
    assert (answer.input_tokens, answer.output_tokens) == (1_050, 200)


def test_a_broken_stream_keeps_its_partial_reply_out_of_the_context(sy: Synergia) -> None:
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=claude_model(sy).id))
    sy.messages.add(chat.id, MessageCreate(role="user", content="Rome and Oslo?"), user_id="alice")

    def broken() -> Iterator[Any]:
        yield from tool_events()[:8]  # thinking, then "Checking "
        raise RuntimeError("overloaded_error")

    with pytest.raises(RuntimeError, match="overloaded_error"):
        for _ in sy.messages.record_stream(
            chat.id, broken(), user_id="alice", model_id=None, format="anthropic"
        ):
            pass
    *_, answer = sy.messages.thread(chat.id, user_id="alice")
    assert answer.status.value == "failed"
    assert answer.content == "Checking "
    assert sy.messages.context(chat.id, user_id="alice", format="anthropic")["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Rome and Oslo?"}]}
    ]


def test_an_error_event_fails_the_reply(sy: Synergia) -> None:
    """A stream of dicts (a proxy, a replay) that carries the API's ``error``
    event: the reply fails with it, its partial text kept."""
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=claude_model(sy).id))
    sy.messages.add(chat.id, MessageCreate(role="user", content="Rome and Oslo?"), user_id="alice")
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    events = [json.loads(event.model_dump_json()) for event in tool_events()[:8]] + [error]
    for _ in sy.messages.record_stream(
        chat.id, events, user_id="alice", model_id=None, format="anthropic"
    ):
        pass
    *_, answer = sy.messages.thread(chat.id, user_id="alice")
    assert answer.status.value == "failed"
    assert answer.error == "overloaded_error: Overloaded"
    assert answer.content == "Checking "


def test_the_sdk_raises_on_an_error_event(sy: Synergia) -> None:
    """Over the wire the SDK itself raises on the ``error`` event: the reply
    fails with the SDK's exception."""
    chat = sy.chats.create(ChatCreate(user_id="alice", model_id=claude_model(sy).id))
    sy.messages.add(chat.id, MessageCreate(role="user", content="Rome and Oslo?"), user_id="alice")
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}

    def handler(request: Any) -> Any:
        body = sse([*tool_events()[:8], error])
        return http.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    with client(handler) as sdk:
        stream = sdk.messages.create(
            model=MODEL,
            max_tokens=1024,
            messages=[{"role": "user", "content": "Rome and Oslo?"}],
            stream=True,
        )
        with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
            for _ in sy.messages.record_stream(
                chat.id, stream, user_id="alice", model_id=None, format="anthropic"
            ):
                pass
    *_, answer = sy.messages.thread(chat.id, user_id="alice")
    assert answer.status.value == "failed"
    assert answer.content == "Checking "
    assert answer.error is not None
    assert "Overloaded" in answer.error
