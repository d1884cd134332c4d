"""The Chat Completions format (``format="openai"``), against the OpenAI SDK.

Replies come from the real SDK over a mock transport (tests/providers/
openai_mock.py); rendered messages are validated against the SDK's
``ChatCompletionMessageParam`` with unknown keys refused, and sent through
``chat.completions.create``.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, cast

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam

from synergia_core import MessageCreate, Usage
from synergia_core.parts import (
    FilePart,
    ImagePart,
    RawPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from synergia_core.providers import get_format
from synergia_core.providers.openai_chat import FORMAT, ChatStream
from tests.providers.openai_mock import CHAT_MESSAGES, MockOpenAI, sse, stored

USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "prompt_tokens_details": {"cached_tokens": 100, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 10, "audio_tokens": 0},
}
ANNOTATION = {
    "type": "url_citation",
    "url_citation": {"url": "https://w.example", "title": "W", "start_index": 0, "end_index": 3},
}


def completion(message: dict[str, Any], finish_reason: str = "stop") -> dict[str, Any]:
    """A ``chat.completion`` body around one assistant message."""
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_1",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "logprobs": None,
                "message": {"role": "assistant", "content": None, "refusal": None, **message},
            }
        ],
        "usage": USAGE,
    }


TOOL_CALLS = completion(
    {
        "content": "Let me check.",
        "annotations": [ANNOTATION],
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo", "days": [1, 2]}'},
            },
        ],
    },
    finish_reason="tool_calls",
)


def create(body: dict[str, Any]) -> ChatCompletion:
    """``body`` as the SDK returns it from ``chat.completions.create``."""
    mock = MockOpenAI(body)
    return mock.client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Weather?"}]
    )


# ------------------------------------------------------------------------- replies


def test_a_completion_with_parallel_tool_calls() -> None:
    message = MessageCreate.from_openai(create(TOOL_CALLS))

    assert message.role.value == "assistant"
    assert message.parts == [
        TextPart(text="Let me check.", meta={"annotations": [ANNOTATION]}),
        ToolCallPart(id="call_a", name="weather", arguments={"city": "Rome"}),
        ToolCallPart(id="call_b", name="weather", arguments={"city": "Oslo", "days": [1, 2]}),
    ]
    assert message.usage == Usage(
        input_tokens=120, output_tokens=30, cache_read_tokens=100, reasoning_tokens=10
    )
    assert message.metadata == {
        "openai": {
            "id": "chatcmpl-1",
            "model": "gpt-4o-2024-08-06",
            "system_fingerprint": "fp_1",
            "finish_reason": "tool_calls",
        }
    }


def test_sdk_objects_and_dicts_give_the_same_message() -> None:
    reply = create(TOOL_CALLS)
    whole = MessageCreate.from_openai(reply)

    assert MessageCreate.from_openai(reply.model_dump()) == whole
    assert MessageCreate.from_openai(TOOL_CALLS) == whole
    # The message alone: the same parts, without the completion's usage and ids.
    for alone in (reply.choices[0].message, reply.choices[0].message.model_dump()):
        message = MessageCreate.from_openai(alone)
        assert message.parts == whole.parts
        assert message.usage is None
        assert message.metadata == {}


def test_from_openai_sets_the_fields_given() -> None:
    model_id, parent_id = uuid.uuid4(), uuid.uuid4()
    message = MessageCreate.from_openai(
        create(TOOL_CALLS), model_id=model_id, parent_id=parent_id, metadata={"trace": "t1"}
    )
    assert (message.model_id, message.parent_id) == (model_id, parent_id)
    assert message.metadata["trace"] == "t1"
    assert message.metadata["openai"]["id"] == "chatcmpl-1"  # type: ignore[index,call-overload]


def test_arguments_that_do_not_parse_are_kept_as_emitted() -> None:
    body = completion(
        {
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1'}},
                {"id": "c2", "type": "function", "function": {"name": "g", "arguments": "[1, 2]"}},
                {"id": "c3", "type": "function", "function": {"name": "h", "arguments": ""}},
            ]
        }
    )
    parts = MessageCreate.from_openai(create(body)).all_parts()
    assert [part.arguments for part in parts if isinstance(part, ToolCallPart)] == [
        '{"a": 1',
        "[1, 2]",
        {},
    ]


def test_a_custom_tool_call_keeps_its_free_form_input() -> None:
    body = completion(
        {
            "tool_calls": [
                {
                    "id": "call_c",
                    "type": "custom",
                    "custom": {"name": "sql", "input": '{"not": "parsed"}'},
                }
            ]
        }
    )
    message = MessageCreate.from_openai(create(body))
    call = ToolCallPart(
        id="call_c", name="sql", arguments='{"not": "parsed"}', meta={"custom": True}
    )
    assert message.parts == [call]

    rendered = FORMAT.render(None, [stored(message)])
    CHAT_MESSAGES.validate_python(rendered)
    assert rendered[0]["tool_calls"] == [
        {"id": "call_c", "type": "custom", "custom": {"name": "sql", "input": '{"not": "parsed"}'}}
    ]


def test_a_refusal() -> None:
    message = MessageCreate.from_openai(create(completion({"refusal": "I can't help with that."})))
    assert message.parts == [TextPart(text="I can't help with that.", meta={"refusal": True})]

    rendered = FORMAT.render(None, [stored(message)])
    assert rendered == [{"role": "assistant", "content": "", "refusal": "I can't help with that."}]
    CHAT_MESSAGES.validate_python(rendered)


def test_reasoning_content_of_compatible_servers() -> None:
    # DeepSeek and vLLM add ``reasoning_content`` beside ``content``;
    # OpenRouter calls it ``reasoning``. The SDK keeps the extra field.
    for field in ("reasoning_content", "reasoning"):
        body = completion({"content": "4", field: "2 + 2 is 4."})
        message = MessageCreate.from_openai(create(body))
        assert message.parts == [
            ReasoningPart(text="2 + 2 is 4.", provider="openai"),
            TextPart(text="4"),
        ]


def test_an_audio_reply_keeps_its_transcript_as_text() -> None:
    audio = {"id": "audio_1", "data": "UklGRg==", "expires_at": 1_700_003_600, "transcript": "Hi!"}
    message = MessageCreate.from_openai(create(completion({"audio": audio})))
    assert message.parts == [
        TextPart(text="Hi!"),
        RawPart(provider="openai", data={"audio": audio}),
    ]
    rendered = FORMAT.render(None, [stored(message)])
    assert rendered == [{"role": "assistant", "content": "Hi!"}]


def test_usage_counts_cache_writes_as_part_of_the_prompt() -> None:
    usage = Usage.from_openai(
        {
            "prompt_tokens": 2000,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 512},
        }
    )
    assert (usage.input_tokens, usage.cache_read_tokens, usage.cache_write_tokens) == (
        2000,
        1024,
        512,
    )


def test_the_registry_serves_this_module() -> None:
    assert get_format("openai") is FORMAT
    assert FORMAT.user_first is False


# ------------------------------------------------------------------------- context

PDF = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.7").decode()
WAV = "data:audio/wav;base64," + base64.b64encode(b"RIFF").decode()
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()


def resolve(uri: str) -> tuple[bytes, str]:
    """A host's resolver: every reference is a small PNG (``.png``) or PDF."""
    return (b"\x89PNG", "image/png") if uri.endswith(".png") else (b"%PDF-1.7", "application/pdf")


THREAD = [
    stored(role="system", parts=[TextPart(text="Answer in French.")]),
    stored(
        role="user",
        parts=[
            TextPart(text="Look at these"),
            ImagePart(uri="https://x.example/a.png", mime_type="image/png", detail="high"),
            ImagePart(uri=PNG, mime_type="image/png"),
            ImagePart(uri="s3://bucket/b.png", mime_type="image/png"),
            FilePart(uri=PDF, mime_type="application/pdf", name="report.pdf"),
            FilePart(uri="file-id:openai:file-abc", mime_type="application/pdf"),
            FilePart(uri="s3://bucket/c.pdf", mime_type="application/pdf"),
            FilePart(uri=WAV, mime_type="audio/wav"),
            FilePart(uri="file-id:anthropic:file_x", mime_type="application/pdf"),
        ],
    ),
    stored(
        role="assistant",
        parts=[
            ReasoningPart(text="thinking", signature="sig", provider="anthropic"),
            TextPart(text="Je regarde."),
            ToolCallPart(id="call_a", name="weather", arguments={"city": "Rome"}),
            ToolCallPart(id="call_b", name="weather", arguments="{not json"),
            RawPart(provider="openai", data={"type": "web_search_call", "id": "ws_1"}),
        ],
    ),
    stored(role="tool", parts=[ToolResultPart(call_id="call_a", output="18°C")]),
    stored(
        role="tool",
        parts=[
            ToolResultPart(
                call_id="call_b",
                output=[
                    TextPart(text="see "),
                    ImagePart(uri="https://x.example/map.png", mime_type="image/png"),
                    TextPart(text="map"),
                ],
            )
        ],
    ),
    stored(
        role="tool", parts=[ToolResultPart(call_id="call_c", output={"ok": True}, is_error=True)]
    ),
    stored(role="assistant", parts=[TextPart(text="Il fait beau.")]),
]


def test_a_thread_without_a_resolver() -> None:
    rendered = FORMAT.render("Be brief.", THREAD)

    CHAT_MESSAGES.validate_python(rendered)
    assert rendered == [
        {"role": "system", "content": "Be brief."},
        {"role": "system", "content": "Answer in French."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look at these"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://x.example/a.png", "detail": "high"},
                },
                {"type": "image_url", "image_url": {"url": PNG}},
                {"type": "file", "file": {"file_data": PDF, "filename": "report.pdf"}},
                {"type": "file", "file": {"file_id": "file-abc"}},
                {
                    "type": "input_audio",
                    "input_audio": {"data": WAV.split(",", 1)[1], "format": "wav"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": "Je regarde.",
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "weather", "arguments": "{not json"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": "18°C"},
        {"role": "tool", "tool_call_id": "call_b", "content": "see map"},
        {"role": "tool", "tool_call_id": "call_c", "content": '{"ok":true}'},
        {"role": "assistant", "content": "Il fait beau."},
    ]


def test_a_resolver_inlines_what_the_api_cannot_fetch() -> None:
    rendered = FORMAT.render(None, THREAD, resolve_uri=resolve)

    CHAT_MESSAGES.validate_python(rendered)
    content = rendered[1]["content"]
    assert content[3] == {"type": "image_url", "image_url": {"url": PNG}}  # s3://bucket/b.png
    inlined = [item["file"] for item in content if item["type"] == "file"]
    assert inlined == [
        {"file_data": PDF, "filename": "report.pdf"},
        {"file_id": "file-abc"},
        {"file_data": PDF, "filename": "file.pdf"},  # s3://bucket/c.pdf, named by its type
        {"file_data": PDF, "filename": "file.pdf"},  # another provider's file id
    ]


def test_a_user_message_whose_parts_were_all_dropped() -> None:
    message = stored(role="user", parts=[ImagePart(uri="s3://b/x.png", mime_type="image/png")])
    rendered = FORMAT.render(None, [message])
    assert rendered == [{"role": "user", "content": ""}]
    CHAT_MESSAGES.validate_python(rendered)


def test_the_sdk_sends_the_context_as_it_is() -> None:
    rendered = FORMAT.render("Be brief.", THREAD, resolve_uri=resolve)
    mock = MockOpenAI(TOOL_CALLS)

    mock.client.chat.completions.create(
        model="gpt-4o", messages=cast("list[ChatCompletionMessageParam]", rendered)
    )

    assert mock.requests[0]["messages"] == json.loads(json.dumps(rendered))


def test_a_reply_renders_back_as_it_came() -> None:
    reply = create(TOOL_CALLS)
    rendered = FORMAT.render(None, [stored(MessageCreate.from_openai(reply))])

    CHAT_MESSAGES.validate_python(rendered)
    original = reply.choices[0].message
    assert rendered == [
        {
            "role": "assistant",
            "content": original.content,
            "tool_calls": [
                call.model_dump(exclude_none=True) for call in original.tool_calls or ()
            ],
        }
    ]


# -------------------------------------------------------------------------- streams


def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
    return {
        "id": "chatcmpl-2",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_2",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def call_delta(index: int, **fields: Any) -> dict[str, Any]:
    return {"tool_calls": [{"index": index, **fields}]}


PARALLEL = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Checking "}),
    chunk({"content": "both."}),
    chunk(
        call_delta(0, id="call_a", type="function", function={"name": "weather", "arguments": ""})
    ),
    chunk(
        call_delta(1, id="call_b", type="function", function={"name": "weather", "arguments": ""})
    ),
    chunk(call_delta(0, function={"arguments": '{"city": '})),
    chunk(call_delta(1, function={"arguments": '{"city": "Oslo"}'})),
    chunk(call_delta(0, function={"arguments": '"Rome"}'})),
    chunk({}, finish="tool_calls"),
    {**chunk({}), "choices": [], "usage": USAGE},  # stream_options={"include_usage": True}
]


def stream(chunks: list[dict[str, Any]]) -> tuple[ChatStream, list[tuple[str, str]]]:
    """The chunks streamed by the SDK, fed to a new accumulator."""
    mock = MockOpenAI(sse(chunks, done=True))
    accumulator = FORMAT.stream()
    live = [
        accumulator.feed(event)
        for event in mock.client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "Weather?"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    ]
    assert mock.requests[0]["stream"] is True
    return accumulator, live


def test_a_stream_with_parallel_tool_calls_and_a_usage_chunk() -> None:
    accumulator, live = stream(PARALLEL)

    assert "".join(text for text, _ in live) == "Checking both."
    assert accumulator.parts() == [
        TextPart(text="Checking both."),
        ToolCallPart(id="call_a", name="weather", arguments={"city": "Rome"}),
        ToolCallPart(id="call_b", name="weather", arguments={"city": "Oslo"}),
    ]
    assert accumulator.usage() == Usage(
        input_tokens=120, output_tokens=30, cache_read_tokens=100, reasoning_tokens=10
    )
    assert accumulator.metadata() == {
        "openai": {
            "id": "chatcmpl-2",
            "model": "gpt-4o-2024-08-06",
            "system_fingerprint": "fp_2",
            "finish_reason": "tool_calls",
        }
    }


def test_a_stream_gives_the_message_the_reply_would_have_been() -> None:
    accumulator, _ = stream(PARALLEL)
    whole = MessageCreate.from_openai(
        completion(
            {
                "content": "Checking both.",
                "tool_calls": [
                    {
                        "id": "call_a",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Rome"}'},
                    },
                    {
                        "id": "call_b",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                    },
                ],
            }
        )
    )
    assert accumulator.parts() == whole.parts
    assert accumulator.usage() == whole.usage


def test_chunks_as_dicts_or_sdk_objects_alike() -> None:
    objects = FORMAT.stream()
    dicts = FORMAT.stream()
    for data in PARALLEL:
        assert objects.feed(ChatCompletionChunk.model_validate(data)) == dicts.feed(data)
    assert objects.parts() == dicts.parts()
    assert objects.usage() == dicts.usage()
    assert objects.metadata() == dicts.metadata()


def test_a_streamed_refusal() -> None:
    accumulator, live = stream(
        [
            chunk({"role": "assistant", "content": None, "refusal": ""}),
            chunk({"refusal": "I can't "}),
            chunk({"refusal": "help with that."}),
            chunk({}, finish="stop"),
        ]
    )
    assert live == [("", "")] * 4  # a refusal is no text of the reply
    assert accumulator.parts() == [TextPart(text="I can't help with that.", meta={"refusal": True})]
    assert accumulator.usage() is None  # the request did not ask for it


def test_streamed_reasoning_content_of_compatible_servers() -> None:
    accumulator, live = stream(
        [
            chunk({"role": "assistant", "content": None, "reasoning_content": "2 + 2 "}),
            chunk({"reasoning_content": "is 4."}),
            chunk({"content": "4"}),
            chunk({}, finish="stop"),
        ]
    )
    assert live == [("", "2 + 2 "), ("", "is 4."), ("4", ""), ("", "")]
    assert accumulator.parts() == [
        ReasoningPart(text="2 + 2 is 4.", provider="openai"),
        TextPart(text="4"),
    ]


def test_a_stream_of_several_choices_keeps_the_first() -> None:
    accumulator, live = stream(
        [
            chunk({"role": "assistant", "content": "A"}, index=0),
            chunk({"role": "assistant", "content": "B"}, index=1),
            chunk({"content": "a"}, index=0),
            chunk({"content": "b"}, finish="length", index=1),
            chunk({}, finish="stop", index=0),
        ]
    )
    assert [text for text, _ in live] == ["A", "", "a", "", ""]
    assert accumulator.parts() == [TextPart(text="Aa")]
    assert accumulator.metadata()["openai"]["finish_reason"] == "stop"  # type: ignore[index,call-overload]


def test_a_stream_cut_before_its_tool_call_ids() -> None:
    accumulator = FORMAT.stream()
    accumulator.feed(chunk(call_delta(0, function={"arguments": '{"q": 1}'})))
    assert accumulator.parts() == [ToolCallPart(id="call_0", name="unknown", arguments={"q": 1})]


def test_an_empty_stream() -> None:
    accumulator = FORMAT.stream()
    assert (accumulator.parts(), accumulator.usage(), accumulator.metadata()) == ([], None, {})


@pytest.mark.parametrize("event", [None, {}, {"choices": None}])
def test_events_without_a_choice_add_nothing(event: object) -> None:
    assert FORMAT.stream().feed(event) == ("", "")
