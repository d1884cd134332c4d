"""PydanticAI histories for the round-trip tests: every message and part type
of the installed version, with every field set somewhere.

``histories()`` builds them fresh (timestamps fixed); ``legacy_json()`` holds
stored JSON in older shapes, like the cases PydanticAI's own
``tests/test_messages.py`` round-trips (1.x ``vendor_*`` fields and usage
names, usage with fields of its own, tool results holding dicts shaped like
files, nested multimodal tool content, uploaded files).
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

from pydantic_ai.messages import (
    AudioUrl,
    BinaryContent,
    BinaryImage,
    CachePoint,
    Citation,
    CompactionPart,
    DocumentUrl,
    FilePart,
    ImageUrl,
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelResponse,
    NativeToolCallPart,
    NativeToolReturnPart,
    RetryFeedbackPart,
    RetryInfo,
    RetryPromptPart,
    StructuredContent,
    SystemPromptPart,
    TextContent,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolReturnPart,
    UploadedFile,
    UserPromptPart,
    VideoUrl,
    WebCitationSource,
)
from pydantic_ai.usage import RequestUsage

T0 = dt.datetime(2025, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc)

# Bytes whose base64 holds '+' and '/' (URL-safe: '-' and '_'), and padding.
PNG = b"\x89PNG\r\n\x1a\n\xfb\xff\xfe\x00\x01"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
WAV = b"RIFF$\x00\x00\x00WAVEfmt \x10\x00"


def at(seconds: float) -> dt.datetime:
    """A fixed timestamp, ``seconds`` after :data:`T0`."""
    return T0 + dt.timedelta(seconds=seconds)


def multimodal_turn() -> list[ModelMessage]:
    """A request with a system prompt and every kind of user content, and a
    reply with every kind of response part."""
    request = ModelRequest(
        parts=[
            SystemPromptPart(
                "You are a weather bot.", timestamp=at(0), dynamic_ref="prompt", metadata={"v": 2}
            ),
            UserPromptPart(
                [
                    "Compare these:",
                    TextContent("with metadata", metadata={"source": "ui"}),
                    StructuredContent({"city": "Rome", "days": 3}),
                    BinaryContent(PNG, media_type="image/png", vendor_metadata={"detail": "high"}),
                    BinaryContent(PDF, media_type="application/pdf", identifier="report"),
                    BinaryContent(WAV, media_type="audio/wav"),
                    BinaryContent(b"\x00\x01", media_type="application/x-unknown"),
                    ImageUrl("https://example.com/map.png", force_download=True),
                    ImageUrl("https://example.com/no-extension", media_type="image/webp"),
                    DocumentUrl("https://example.com/doc.pdf"),
                    AudioUrl("https://example.com/a.mp3"),
                    VideoUrl("https://example.com/v.mp4"),
                    UploadedFile(file_id="file-abc", provider_name="anthropic"),
                    UploadedFile(file_id="f2", provider_name="openai", media_type="image/png"),
                    CachePoint(ttl="1h"),
                ],
                timestamp=at(1),
            ),
        ],
        timestamp=at(2),
        instructions="Answer in English.",
        run_id="run-1",
        conversation_id="conv-1",
        metadata={"trace": "t1"},
    )
    response = ModelResponse(
        parts=[
            ThinkingPart(
                "The user wants the weather.",
                id="rs_1",
                signature="EqQBCkYIBxgCKkCz+/==",
                provider_name="anthropic",
                provider_details={"k": 1},
            ),
            ThinkingPart("", id="redacted_thinking", signature="opaque", provider_name="anthropic"),
            TextPart(
                "Let me check.",
                id="msg_1",
                provider_name="openai",
                provider_details={"phase": "commentary"},
                citations=[Citation(sources=[WebCitationSource("https://x.test", title="X")])],
            ),
            ToolCallPart(
                "weather",
                {"city": "Rome", "days": [1, 2]},
                tool_call_id="toolu_1",
                id="fc_1",
                provider_name="openai",
                provider_details={"status": "completed"},
            ),
            ToolCallPart("clock", '{"tz": "CET"', tool_call_id="toolu_2"),
            ToolCallPart("noop", None, tool_call_id="toolu_3"),
            NativeToolCallPart(
                "web_search", {"query": "rome"}, tool_call_id="srv_1", provider_name="anthropic"
            ),
            NativeToolReturnPart(
                "web_search",
                [{"url": "https://x.test", "title": "X"}],
                tool_call_id="srv_1",
                provider_name="anthropic",
            ),
            FilePart(BinaryImage(PNG, media_type="image/png"), id="img_1", provider_name="openai"),
            CompactionPart("Earlier: the user asked about Rome.", provider_name="anthropic"),
        ],
        usage=RequestUsage(
            input_tokens=1200,
            output_tokens=300,
            cache_read_tokens=1000,
            cache_write_tokens=100,
            cache_write_1h_tokens=40,
            output_reasoning_tokens=120,
            details={"thoughts": 7},
        ),
        model_name="claude-sonnet-5-20260101",
        timestamp=at(3),
        provider_name="anthropic",
        provider_details={"stop_sequence": None, "nested": {"a": [1, 2.5, True]}},
        provider_response_id="msg_01",
        finish_reason="tool_call",
        run_id="run-1",
        conversation_id="conv-1",
        metadata={"m": [1, "x"]},
    )
    return [request, response]


def tool_turn() -> list[ModelMessage]:
    """Tool returns of every content shape, retries, and the final answer."""
    request = ModelRequest(
        parts=[
            ToolReturnPart(
                "weather",
                {"sky": "clear", "celsius": 24.5, "hours": [1, 2], "note": None},
                tool_call_id="toolu_1",
                metadata={"cached": True},
                timestamp=at(4),
            ),
            ToolReturnPart(
                "clock",
                "invalid JSON arguments",
                tool_call_id="toolu_2",
                outcome="failed",
                timestamp=at(4),
            ),
            ToolReturnPart("noop", None, tool_call_id="toolu_3", timestamp=at(4)),
            ToolReturnPart("count", 42, tool_call_id="toolu_4", timestamp=at(4)),
            ToolReturnPart(
                "pictures",
                [
                    "a caption",
                    ImageUrl("https://example.com/p.png"),
                    BinaryImage(PNG, media_type="image/png"),
                ],
                tool_call_id="toolu_5",
                timestamp=at(4),
            ),
            ToolReturnPart(
                "shapes",
                [{"type": "text", "text": "looks like a part of ours"}],
                tool_call_id="toolu_6",
                timestamp=at(4),
            ),
            ToolReturnPart(
                "weather",
                "Fix the city name.",
                tool_call_id="toolu_7",
                outcome="retried",
                retry=RetryInfo("model_retry", attempt=1, max_retries=3),
                timestamp=at(4),
            ),
            RetryFeedbackPart(
                "Please answer in one sentence.",
                retry=RetryInfo("model_retry", attempt=2),
                timestamp=at(4.5),
            ),
            UserPromptPart("And tomorrow?", timestamp=at(4.6)),
        ],
        timestamp=at(5),
        instructions="Answer in English.",
        run_id="run-1",
    )
    response = ModelResponse(
        parts=[TextPart("Sunny, 24.5 °C.")],
        usage=RequestUsage(input_tokens=10, output_tokens=5),
        model_name="an-unknown-model",
        timestamp=at(6),
        finish_reason="stop",
        state="complete",
    )
    empty = ModelResponse(parts=[], timestamp=at(7), state="incomplete")
    interrupted = ModelRequest(parts=[], timestamp=at(8), state="interrupted")
    return [request, response, empty, interrupted]


def legacy_retry_turn() -> list[ModelMessage]:
    """The deprecated ``RetryPromptPart``, for a tool and for no tool."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts: list[Any] = [
            RetryPromptPart("bad city", tool_name="weather", tool_call_id="c1", timestamp=at(9)),
            RetryPromptPart(
                [{"type": "missing", "loc": ("city",), "msg": "Field required", "input": {}}],
                timestamp=at(9),
                tool_call_id="c2",
            ),
        ]
    return [ModelRequest(parts=parts, timestamp=at(10))]


def histories() -> dict[str, list[ModelMessage]]:
    """Each sample history by name."""
    return {
        "multimodal": multimodal_turn(),
        "tools": tool_turn(),
        "legacy-retry": legacy_retry_turn(),
        "legacy-json": ModelMessagesTypeAdapter.validate_python(legacy_json()),
    }


def legacy_json() -> list[dict[str, Any]]:
    """Stored JSON in older and unusual shapes."""
    return [
        {
            "parts": [
                {
                    "content": "What is the capital of Mexico?",
                    "timestamp": "2025-09-01T10:00:00Z",
                    "part_kind": "user-prompt",
                }
            ],
            "instructions": None,
            "kind": "request",
        },
        {  # 1.x usage names and vendor_* fields
            "parts": [{"content": "Mexico City.", "part_kind": "text"}],
            "usage": {
                "requests": 1,
                "request_tokens": 13,
                "response_tokens": 76,
                "total_tokens": 89,
                "details": None,
            },
            "model_name": "gpt-5-2025-08-07",
            "timestamp": "2025-09-01T10:00:01Z",
            "kind": "response",
            "vendor_details": {"finish_reason": "STOP"},
            "vendor_id": "chatcmpl-1",
        },
        {  # usage with fields of its own
            "parts": [
                {
                    "tool_name": "lookup",
                    "args": "{}",
                    "tool_call_id": "call_1",
                    "part_kind": "tool-call",
                }
            ],
            "usage": {
                "input_tokens": 5,
                "details": {"reasoning_tokens": 3},
                "future_tokens": 42,
                "label": "x",
            },
            "model_name": "test",
            "timestamp": "2025-09-01T10:00:02Z",
            "kind": "response",
        },
        {  # tool content: a dict with a url stays a dict; kinds make files
            "parts": [
                {
                    "tool_name": "lookup",
                    "content": {
                        "items": [{"name": "Example", "url": "/some/path/12345"}],
                        "images": [{"url": "https://example.com/i.jpg", "kind": "image-url"}],
                        "documents": [{"url": "https://example.com/d.pdf", "kind": "document-url"}],
                    },
                    "tool_call_id": "call_1",
                    "timestamp": "2025-09-01T10:00:03Z",
                    "part_kind": "tool-return",
                }
            ],
            "kind": "request",
        },
        {
            "parts": [
                {
                    "content": [
                        "analyze this file",
                        {
                            "file_id": "file-abc123",
                            "provider_name": "anthropic",
                            "media_type": "image/png",
                            "identifier": "my-id",
                            "kind": "uploaded-file",
                        },
                    ],
                    "timestamp": "2025-09-01T10:00:04Z",
                    "part_kind": "user-prompt",
                }
            ],
            "kind": "request",
        },
    ]
