"""The Responses API format (``format="openai-responses"``), against the OpenAI SDK.

Responses and streams come from the real SDK over a mock transport
(tests/providers/openai_mock.py); rendered input is validated against the
SDK's ``ResponseInputParam`` with unknown keys refused, and sent through
``responses.create``.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from typing import Any

import pytest
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from synergia_core import ChatCreate, MessageCreate, Synergia, Usage
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
from synergia_core.providers.openai_responses import FORMAT, ResponsesStream
from tests.helpers import make_model
from tests.providers.openai_mock import RESPONSE_INPUT, MockOpenAI, sse, stored

SUMMARY = ["**Plan**\n\nLook the weather up.", "Then answer."]
ENCRYPTED = "gAAAAABo" + "x" * 40
CITATION: dict[str, Any] = {
    "type": "url_citation",
    "url": "https://w.example",
    "title": "W",
    "start_index": 0,
    "end_index": 4,
}
REASONING: dict[str, Any] = {
    "type": "reasoning",
    "id": "rs_1",
    "summary": [{"type": "summary_text", "text": text} for text in SUMMARY],
    "encrypted_content": ENCRYPTED,
}
MESSAGE: dict[str, Any] = {
    "type": "message",
    "id": "msg_1",
    "role": "assistant",
    "status": "completed",
    "phase": "final_answer",
    "content": [{"type": "output_text", "text": "Rome is sunny.", "annotations": [CITATION]}],
}
FUNCTION_CALL: dict[str, Any] = {
    "type": "function_call",
    "id": "fc_1",
    "call_id": "call_1",
    "name": "weather",
    "arguments": '{"city": "Rome"}',
    "status": "completed",
}
CUSTOM_CALL: dict[str, Any] = {
    "type": "custom_tool_call",
    "id": "ctc_1",
    "call_id": "call_2",
    "name": "sql",
    "input": "SELECT 1",
}
OTHER_ITEMS: list[dict[str, Any]] = [
    {
        "type": "web_search_call",
        "id": "ws_1",
        "status": "completed",
        "action": {"type": "search", "query": "weather Rome"},
    },
    {
        "type": "file_search_call",
        "id": "fs_1",
        "status": "completed",
        "queries": ["q"],
        "results": None,
    },
    {
        "type": "computer_call",
        "id": "cu_1",
        "call_id": "call_3",
        "status": "completed",
        "pending_safety_checks": [],
        "action": {"type": "screenshot"},
    },
    {
        "type": "mcp_call",
        "id": "mcp_1",
        "server_label": "deepwiki",
        "name": "ask",
        "arguments": "{}",
        "output": "42",
        "error": None,
        "status": "completed",
    },
    {
        "type": "image_generation_call",
        "id": "ig_1",
        "status": "completed",
        "result": "iVBORw0KGgo=",
    },
    {
        "type": "code_interpreter_call",
        "id": "ci_1",
        "status": "completed",
        "code": "print(1)",
        "container_id": "cntr_1",
        "outputs": [{"type": "logs", "logs": "1\n"}],
    },
]
OUTPUT: list[dict[str, Any]] = [REASONING, MESSAGE, FUNCTION_CALL, CUSTOM_CALL, *OTHER_ITEMS]
USAGE: dict[str, Any] = {
    "input_tokens": 1200,
    "input_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 0},
    "output_tokens": 300,
    "output_tokens_details": {"reasoning_tokens": 128},
    "total_tokens": 1500,
}


def response(output: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A ``response`` body as the API sends it."""
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1_700_000_000,
        "model": "gpt-5-2025-08-07",
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "output": output,
        "usage": USAGE,
        **fields,
    }


BODY = response(OUTPUT)


def create(body: dict[str, Any]) -> Response:
    """``body`` as the SDK returns it from ``responses.create``."""
    return MockOpenAI(body).client.responses.create(model="gpt-5", input="Weather in Rome?")


# ------------------------------------------------------------------------- replies


def test_a_response_as_a_message() -> None:
    message = MessageCreate.from_responses(create(BODY))

    assert message.role.value == "assistant"
    assert message.parts == [
        ReasoningPart(
            text="\n\n".join(SUMMARY),
            encrypted=ENCRYPTED,
            provider="openai",
            id="rs_1",
            meta={"summary": SUMMARY},  # two summaries: the joined text cannot give them back
        ),
        TextPart(
            text="Rome is sunny.",
            meta={
                "id": "msg_1",
                "status": "completed",
                "phase": "final_answer",
                "annotations": [CITATION],
            },
        ),
        ToolCallPart(
            id="call_1",
            name="weather",
            arguments={"city": "Rome"},
            meta={"id": "fc_1", "status": "completed"},
        ),
        ToolCallPart(
            id="call_2", name="sql", arguments="SELECT 1", meta={"id": "ctc_1", "custom": True}
        ),
        *(RawPart(provider="openai", data=item) for item in OTHER_ITEMS),
    ]
    assert message.usage == Usage(
        input_tokens=1200, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=128
    )
    assert message.metadata == {
        "openai": {"id": "resp_1", "model": "gpt-5-2025-08-07", "status": "completed"}
    }


def test_the_sdk_object_and_the_json_it_came_from_give_the_same_message() -> None:
    assert MessageCreate.from_responses(create(BODY)) == MessageCreate.from_responses(BODY)


def test_a_model_dump_adds_the_sdk_nulls_to_raw_items() -> None:
    # model_dump() fills every unset optional field with None; the SDK
    # object itself (or to_dict()) gives the items exactly as the API sent them.
    reply = create(BODY)
    exact = MessageCreate.from_responses(reply).all_parts()
    dumped = MessageCreate.from_responses(reply.model_dump()).all_parts()

    assert [p for p in dumped if not isinstance(p, RawPart)] == [
        p for p in exact if not isinstance(p, RawPart)
    ]
    assert MessageCreate.from_responses(reply.to_dict()).all_parts() == exact
    raw = [p.data for p in dumped if isinstance(p, RawPart)]
    assert [without_nulls(item) for item in raw] == [without_nulls(item) for item in OTHER_ITEMS]


def without_nulls(value: object) -> object:
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def test_every_output_item_goes_back_as_the_api_sent_it() -> None:
    message = MessageCreate.from_responses(create(BODY))

    rendered = FORMAT.render(None, [stored(message)])

    assert rendered == {"instructions": None, "input": OUTPUT}
    RESPONSE_INPUT.validate_python(rendered["input"])


def test_a_message_item_with_text_and_a_refusal_goes_back_as_one_item() -> None:
    item = {
        "type": "message",
        "id": "msg_2",
        "role": "assistant",
        "status": "incomplete",
        "content": [
            {"type": "output_text", "text": "Part of it: ", "annotations": []},
            {"type": "refusal", "refusal": "the rest I cannot do."},
        ],
    }
    message = MessageCreate.from_responses(create(response([item])))
    assert message.parts == [
        TextPart(text="Part of it: ", meta={"id": "msg_2", "status": "incomplete"}),
        TextPart(
            text="the rest I cannot do.",
            meta={"id": "msg_2", "status": "incomplete", "refusal": True},
        ),
    ]
    assert FORMAT.render(None, [stored(message)])["input"] == [item]


def test_two_message_items_stay_two_items() -> None:
    first = {**MESSAGE, "id": "msg_a", "phase": "commentary"}
    second = {**MESSAGE, "id": "msg_b"}
    message = MessageCreate.from_responses(response([first, second]))
    assert FORMAT.render(None, [stored(message)])["input"] == [first, second]


def test_reasoning_text_without_a_summary() -> None:
    # Open-weight reasoning models (gpt-oss on compatible servers) send
    # their reasoning as ``reasoning_text`` content.
    item = {
        "type": "reasoning",
        "id": "rs_2",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "2 + 2 is 4."}],
        "status": "completed",
    }
    message = MessageCreate.from_responses(response([item]))
    assert message.parts == [
        ReasoningPart(
            text="2 + 2 is 4.",
            provider="openai",
            id="rs_2",
            meta={"content": item["content"], "status": "completed"},
        )
    ]
    rendered = FORMAT.render(None, [stored(message)])["input"]
    assert rendered == [item]
    RESPONSE_INPUT.validate_python(rendered)


@pytest.mark.parametrize(
    ("summary", "meta"),
    [([], {}), (["one"], {}), ([""], {"summary": [""]}), (["a", "b"], {"summary": ["a", "b"]})],
)
def test_a_summary_is_given_back_exactly(summary: list[str], meta: dict[str, Any]) -> None:
    item = {
        "type": "reasoning",
        "id": "rs_3",
        "summary": [{"type": "summary_text", "text": text} for text in summary],
    }
    message = MessageCreate.from_responses(response([item]))
    [part] = message.all_parts()
    assert part.meta == meta
    assert FORMAT.render(None, [stored(message)])["input"] == [item]


def test_a_message_item_with_unknown_content_is_kept_raw() -> None:
    item = {
        "type": "message",
        "id": "msg_3",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_audio", "data": "UklGRg==", "transcript": "hi"}],
    }
    message = MessageCreate.from_responses(response([item]))
    assert message.parts == [RawPart(provider="openai", data=item)]


def test_an_incomplete_response() -> None:
    body = response(
        [MESSAGE], status="incomplete", incomplete_details={"reason": "max_output_tokens"}
    )
    message = MessageCreate.from_responses(create(body))
    assert message.metadata == {
        "openai": {
            "id": "resp_1",
            "model": "gpt-5-2025-08-07",
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
        }
    }


def test_from_responses_sets_the_fields_given() -> None:
    model_id = uuid.uuid4()
    message = MessageCreate.from_responses(BODY, model_id=model_id, metadata={"trace": "t"})
    assert message.model_id == model_id
    assert message.metadata["trace"] == "t"
    assert message.metadata["openai"]["id"] == "resp_1"  # type: ignore[index,call-overload]


def test_usage_from_responses() -> None:
    assert Usage.from_responses(create(BODY).usage) == Usage(
        input_tokens=1200, output_tokens=300, cache_read_tokens=1024, reasoning_tokens=128
    )
    assert Usage.from_responses(
        {
            "input_tokens": 3000,
            "output_tokens": 5,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 2048},
        }
    ) == Usage(input_tokens=3000, output_tokens=5, cache_write_tokens=2048)


def test_a_response_without_usage_or_output() -> None:
    message = MessageCreate.from_responses({"id": "resp_2", "output": [], "usage": None})
    assert (message.parts, message.usage) == ([], None)
    with pytest.raises(TypeError):
        FORMAT.message(42)


def test_the_registry_serves_this_module() -> None:
    assert get_format("openai-responses") is FORMAT
    assert FORMAT.user_first is False


# ------------------------------------------------------------------------- context

PDF = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.7").decode()
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()
WAV = "data:audio/wav;base64," + base64.b64encode(b"RIFF").decode()


def resolve(uri: str) -> tuple[bytes, str]:
    """A host's resolver: every reference is a small PNG (``.png``) or PDF."""
    return (b"\x89PNG", "image/png") if uri.endswith(".png") else (b"%PDF-1.7", "application/pdf")


USER = stored(
    role="user",
    parts=[
        TextPart(text="Look at these"),
        ImagePart(uri="https://x.example/a.png", mime_type="image/png", detail="high"),
        ImagePart(uri=PNG, mime_type="image/png"),
        ImagePart(uri="file-id:openai:file-img", mime_type="image/png", detail="low"),
        ImagePart(uri="s3://bucket/b.png", mime_type="image/png"),
        FilePart(uri=PDF, mime_type="application/pdf", name="report.pdf"),
        FilePart(uri="https://x.example/c.pdf", mime_type="application/pdf"),
        FilePart(uri="file-id:openai:file-abc", mime_type="application/pdf"),
        FilePart(uri="s3://bucket/d.pdf", mime_type="application/pdf"),
        FilePart(uri=WAV, mime_type="audio/wav"),
    ],
)
USER_ITEM: dict[str, Any] = {
    "role": "user",
    "content": [
        {"type": "input_text", "text": "Look at these"},
        {"type": "input_image", "detail": "high", "image_url": "https://x.example/a.png"},
        {"type": "input_image", "detail": "auto", "image_url": PNG},
        {"type": "input_image", "detail": "low", "file_id": "file-img"},
        {"type": "input_file", "file_data": PDF, "filename": "report.pdf"},
        {"type": "input_file", "file_url": "https://x.example/c.pdf"},
        {"type": "input_file", "file_id": "file-abc"},
    ],
}
# A reply recorded in another format: no Responses item ids.
OTHER_REPLY = stored(
    role="assistant",
    parts=[
        ReasoningPart(text="from reasoning_content", provider="openai"),
        ReasoningPart(text="thinking", signature="sig", provider="anthropic"),
        TextPart(text="Let me ", meta={"annotations": [{"type": "url_citation"}]}),
        TextPart(text="check."),
        ToolCallPart(id="call_a", name="weather", arguments={"city": "Rome"}),
        ToolCallPart(id="call_b", name="lookup", arguments="{not json"),
        ToolCallPart(
            id="call_c",
            name="sql",
            arguments="SELECT 2",
            meta={"custom": True, "thought_signature": "gemini-only"},
        ),
        RawPart(provider="anthropic", data={"type": "server_tool_use", "id": "x"}),
        RawPart(provider="openai", data={"audio": {"id": "audio_1"}}),
    ],
)
RESULTS = [
    stored(role="tool", parts=[ToolResultPart(call_id="call_a", output="18°C")]),
    stored(
        role="tool",
        parts=[
            ToolResultPart(
                call_id="call_b",
                output=[
                    TextPart(text="see the map"),
                    ImagePart(uri="https://x.example/map.png", mime_type="image/png"),
                    FilePart(uri=PDF, mime_type="application/pdf"),
                ],
            )
        ],
    ),
    stored(
        role="tool", parts=[ToolResultPart(call_id="call_c", output={"rows": [2]}, is_error=True)]
    ),
]
THREAD = [
    stored(role="system", parts=[TextPart(text="Answer in French.")]),
    USER,
    OTHER_REPLY,
    *RESULTS,
]


def test_a_thread_recorded_in_other_formats() -> None:
    rendered = FORMAT.render("Be brief.", THREAD)

    RESPONSE_INPUT.validate_python(rendered["input"])
    assert rendered == {
        "instructions": "Be brief.",
        "input": [
            {"role": "system", "content": [{"type": "input_text", "text": "Answer in French."}]},
            USER_ITEM,
            {"role": "assistant", "content": "Let me check."},
            {
                "type": "function_call",
                "call_id": "call_a",
                "name": "weather",
                "arguments": '{"city": "Rome"}',
            },
            {
                "type": "function_call",
                "call_id": "call_b",
                "name": "lookup",
                "arguments": "{not json",
            },
            {"type": "custom_tool_call", "call_id": "call_c", "name": "sql", "input": "SELECT 2"},
            {"type": "function_call_output", "call_id": "call_a", "output": "18°C"},
            {
                "type": "function_call_output",
                "call_id": "call_b",
                "output": [
                    {"type": "input_text", "text": "see the map"},
                    {
                        "type": "input_image",
                        "detail": "auto",
                        "image_url": "https://x.example/map.png",
                    },
                    {"type": "input_file", "file_data": PDF, "filename": "file.pdf"},
                ],
            },
            {"type": "custom_tool_call_output", "call_id": "call_c", "output": '{"rows":[2]}'},
        ],
    }


def test_a_resolver_inlines_what_the_api_cannot_fetch() -> None:
    rendered = FORMAT.render(None, [USER], resolve_uri=resolve)

    RESPONSE_INPUT.validate_python(rendered["input"])
    content = rendered["input"][0]["content"]
    assert content[4] == {"type": "input_image", "detail": "auto", "image_url": PNG}
    assert content[-1] == {"type": "input_file", "file_data": PDF, "filename": "file.pdf"}
    assert len(content) == len(USER_ITEM["content"]) + 2  # the audio file is still left out


@pytest.mark.parametrize("prompt", [None, ""])
def test_no_system_prompt_means_no_instructions(prompt: str | None) -> None:
    assert FORMAT.render(prompt, [])["instructions"] is None


def test_a_user_message_whose_parts_were_all_dropped_is_left_out() -> None:
    message = stored(role="user", parts=[ImagePart(uri="s3://b/x.png", mime_type="image/png")])
    assert FORMAT.render(None, [message])["input"] == []


def test_a_raw_item_on_a_user_message_follows_it() -> None:
    approval = {
        "type": "mcp_approval_response",
        "approval_request_id": "mcpr_1",
        "approve": True,
    }
    message = stored(
        role="user",
        parts=[TextPart(text="yes"), RawPart(provider="openai", data=approval)],
    )
    rendered = FORMAT.render(None, [message])["input"]
    assert rendered == [
        {"role": "user", "content": [{"type": "input_text", "text": "yes"}]},
        approval,
    ]
    RESPONSE_INPUT.validate_python(rendered)


def test_the_sdk_sends_the_context_as_it_is() -> None:
    reply = stored(MessageCreate.from_responses(BODY))
    rendered = FORMAT.render("Be brief.", [*THREAD, reply], resolve_uri=resolve)
    mock = MockOpenAI(BODY)

    mock.client.responses.create(
        model="gpt-5", instructions=rendered["instructions"], input=rendered["input"]
    )

    sent = mock.requests[0]
    assert sent["instructions"] == "Be brief."
    assert sent["input"] == json.loads(json.dumps(rendered["input"]))


# -------------------------------------------------------------------------- streams


def events(*items: dict[str, Any]) -> list[dict[str, Any]]:
    """Stream events numbered in order."""
    return [{**item, "sequence_number": number} for number, item in enumerate(items)]


def in_progress() -> dict[str, Any]:
    return response([], status="in_progress", usage=None)


def text_delta(delta: str, index: int = 1) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": index,
        "content_index": 0,
        "delta": delta,
        "logprobs": [],
    }


def summary_delta(delta: str, summary_index: int) -> dict[str, Any]:
    return {
        "type": "response.reasoning_summary_text.delta",
        "item_id": "rs_1",
        "output_index": 0,
        "summary_index": summary_index,
        "delta": delta,
    }


def arguments_delta(delta: str) -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.delta",
        "item_id": "fc_1",
        "output_index": 2,
        "delta": delta,
    }


def added(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def done(index: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


STREAMED: list[dict[str, Any]] = [REASONING, MESSAGE, FUNCTION_CALL]
BEFORE_DONE = events(
    {"type": "response.created", "response": in_progress()},
    {"type": "response.in_progress", "response": in_progress()},
    added(0, {"type": "reasoning", "id": "rs_1", "summary": []}),
    {
        "type": "response.reasoning_summary_part.added",
        "item_id": "rs_1",
        "output_index": 0,
        "summary_index": 0,
        "part": {"type": "summary_text", "text": ""},
    },
    summary_delta("**Plan**\n\n", 0),
    summary_delta("Look the weather up.", 0),
    summary_delta("Then answer.", 1),
    added(
        1,
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        },
    ),
    {
        "type": "response.content_part.added",
        "item_id": "msg_1",
        "output_index": 1,
        "content_index": 0,
        "part": {"type": "output_text", "text": "", "annotations": []},
    },
    text_delta("Rome is "),
    text_delta("sunny."),
    added(2, {**FUNCTION_CALL, "arguments": "", "status": "in_progress"}),
    arguments_delta('{"city": '),
    arguments_delta('"Rome"}'),
)
WHOLE_STREAM = [
    *BEFORE_DONE,
    *events(
        done(0, REASONING),
        {
            "type": "response.output_text.done",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "text": "Rome is sunny.",
            "logprobs": [],
        },
        done(1, MESSAGE),
        done(2, FUNCTION_CALL),
        {"type": "response.completed", "response": response(STREAMED)},
    ),
]


def stream(body: list[dict[str, Any]]) -> tuple[ResponsesStream, list[tuple[str, str]]]:
    """The events streamed by the SDK, fed to a new accumulator."""
    mock = MockOpenAI(sse(body, named=True))
    accumulator = FORMAT.stream()
    live = [
        accumulator.feed(event)
        for event in mock.client.responses.create(model="gpt-5", input="Weather?", stream=True)
    ]
    assert mock.requests[0]["stream"] is True
    return accumulator, live


def test_a_whole_stream_gives_the_final_response() -> None:
    accumulator, live = stream(WHOLE_STREAM)

    assert "".join(text for text, _ in live) == "Rome is sunny."
    assert "".join(reasoning for _, reasoning in live) == "\n\n".join(SUMMARY)
    final = MessageCreate.from_responses(response(STREAMED))
    assert accumulator.parts() == final.parts
    assert accumulator.usage() == final.usage
    assert accumulator.metadata() == final.metadata
    assert accumulator.error() is None


def test_the_final_response_is_the_authority() -> None:
    # Deltas that disagree with the final items (a proxy that rewrote
    # them) lose: what the API says it produced is what is sent back.
    accumulator = FORMAT.stream()
    for event in BEFORE_DONE:
        accumulator.feed(event)
    accumulator.feed(text_delta(" (draft)"))
    accumulator.feed({"type": "response.completed", "response": response(STREAMED)})
    assert accumulator.parts() == MessageCreate.from_responses(response(STREAMED)).parts


def test_done_items_replace_what_the_deltas_built() -> None:
    accumulator = FORMAT.stream()
    for event in WHOLE_STREAM[:-1]:  # no response.completed
        accumulator.feed(event)
    parts = accumulator.parts()
    assert parts == MessageCreate.from_responses(response(STREAMED)).parts
    assert isinstance(parts[0], ReasoningPart)
    assert parts[0].encrypted == ENCRYPTED  # only output_item.done carries it
    assert accumulator.usage() is None
    assert accumulator.metadata()["openai"]["status"] == "in_progress"  # type: ignore[index,call-overload]


def test_a_stream_cut_short_keeps_what_arrived() -> None:
    accumulator = FORMAT.stream()
    for event in BEFORE_DONE:
        accumulator.feed(event)
    assert accumulator.parts() == [
        ReasoningPart(
            text="\n\n".join(SUMMARY), provider="openai", id="rs_1", meta={"summary": SUMMARY}
        ),
        TextPart(text="Rome is sunny.", meta={"id": "msg_1", "status": "in_progress"}),
        ToolCallPart(
            id="call_1",
            name="weather",
            arguments={"city": "Rome"},
            meta={"id": "fc_1", "status": "in_progress"},
        ),
    ]


def test_deltas_without_their_item_announced() -> None:
    accumulator = FORMAT.stream()
    assert accumulator.feed(text_delta("Hi", index=0)) == ("Hi", "")
    assert accumulator.feed(
        {
            "type": "response.refusal.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 1,
            "delta": "no.",
        }
    ) == ("", "")
    assert accumulator.feed(
        {
            "type": "response.reasoning_text.delta",
            "item_id": "rs_9",
            "output_index": 1,
            "content_index": 0,
            "delta": "hmm",
        }
    ) == ("", "hmm")
    accumulator.feed(
        {
            "type": "response.custom_tool_call_input.delta",
            "item_id": "ctc_9",
            "output_index": 2,
            "delta": "SELECT 1",
        }
    )
    assert accumulator.parts() == [
        TextPart(text="Hi", meta={"id": "msg_1", "status": "in_progress"}),
        TextPart(text="no.", meta={"id": "msg_1", "status": "in_progress", "refusal": True}),
        ReasoningPart(
            text="hmm",
            provider="openai",
            id="rs_9",
            meta={"content": [{"type": "reasoning_text", "text": "hmm"}]},
        ),
        ToolCallPart(
            id="ctc_9", name="unknown", arguments="SELECT 1", meta={"id": "ctc_9", "custom": True}
        ),
    ]


def test_a_failed_response() -> None:
    error = {"code": "server_error", "message": "The model crashed."}
    accumulator, _ = stream(
        [
            *BEFORE_DONE[:11],  # up to the text deltas
            *events(
                {
                    "type": "response.failed",
                    "response": response([], status="failed", error=error, usage=None),
                }
            ),
        ]
    )
    assert accumulator.error() == "The model crashed."
    assert accumulator.metadata() == {
        "openai": {"id": "resp_1", "model": "gpt-5-2025-08-07", "status": "failed", "error": error}
    }
    # The failed response holds no output: the parts are what streamed.
    assert [part.type for part in accumulator.parts()] == ["reasoning", "text"]


def test_an_error_event() -> None:
    accumulator, _ = stream(
        events(
            {"type": "response.created", "response": in_progress()},
            {
                "type": "error",
                "code": "rate_limit_exceeded",
                "message": "Slow down.",
                "param": None,
            },
        )
    )
    assert accumulator.error() == "Slow down."
    assert accumulator.metadata()["openai"]["error"] == {  # type: ignore[index,call-overload]
        "code": "rate_limit_exceeded",
        "message": "Slow down.",
    }


def test_events_as_dicts_or_sdk_objects_alike() -> None:
    adapter: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
    objects = FORMAT.stream()
    dicts = FORMAT.stream()
    for data in WHOLE_STREAM:
        assert objects.feed(adapter.validate_python(data)) == dicts.feed(copy.deepcopy(data))
    assert objects.parts() == dicts.parts()
    assert objects.usage() == dicts.usage()
    assert objects.metadata() == dicts.metadata()


@pytest.mark.parametrize(
    "event",
    [None, {}, {"type": 3}, {"type": "response.output_text.delta", "delta": ""}, {"type": "x"}],
)
def test_events_that_add_nothing(event: object) -> None:
    accumulator = FORMAT.stream()
    assert accumulator.feed(event) == ("", "")
    assert (accumulator.parts(), accumulator.usage(), accumulator.metadata()) == ([], None, {})


# ----------------------------------------------------------------- through the store


def test_a_stored_reply_goes_back_exactly(sy: Synergia) -> None:
    model = make_model(sy, "gpt-5")
    chat = sy.chats.create(ChatCreate(user_id="alice", system_prompt="Be brief."))
    sy.messages.add(
        chat.id, MessageCreate(role="user", content="Weather in Rome?"), user_id="alice"
    )
    reply = MessageCreate.from_responses(create(BODY), model_id=model.id)
    sy.messages.add(chat.id, reply, user_id="alice")
    for call_id, output in (("call_1", "18°C"), ("call_2", "[[1]]")):
        result = MessageCreate(role="tool", parts=[ToolResultPart(call_id=call_id, output=output)])
        sy.messages.add(chat.id, result, user_id="alice")

    context = sy.messages.context(chat.id, user_id="alice", format="openai-responses")

    assert context == {
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "Weather in Rome?"}]},
            *OUTPUT,
            {"type": "function_call_output", "call_id": "call_1", "output": "18°C"},
            {"type": "custom_tool_call_output", "call_id": "call_2", "output": "[[1]]"},
        ],
    }
    RESPONSE_INPUT.validate_python(context["input"])
