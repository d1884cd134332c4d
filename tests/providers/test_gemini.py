"""The Gemini format (``format="gemini"``), exercised with the google-genai SDK, offline.

Replies are built with the SDK's own types (and their dict dumps, and the
camelCase REST JSON); rendered requests are validated against the SDK's
``ContentDict``/``Content`` types and sent through the SDK's real
``generate_content`` call over an ``httpx.MockTransport``; streams are fed
the SDK's chunks, including those of its real ``generate_content_stream``
reading a canned SSE body.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import httpx
import pydantic
import pytest
from google import genai
from google.genai import types

from synergia_core import ChatCreate, MessageCreate, MessageRead, Role, Synergia, Usage
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
from synergia_core.providers.gemini import FORMAT, GeminiStream, usage_from_gemini
from synergia_core.schemas import classic_views
from synergia_core.services._prompt import select_context
from synergia_core.tokens import EstimatingCounter
from tests.helpers import make_model

SIG = bytes(range(256))
"""A thought signature holding every byte value (its base64 has ``+`` and ``/``)."""
SIG2 = b"\xfb\xff\xbf-sig-2"
SIG3 = b"\x00\x01\x02"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
MODEL = "gemini-2.5-pro"
ALICE = "alice"
STRICT = pydantic.ConfigDict(extra="forbid")
CONTENTS = pydantic.TypeAdapter(list[types.ContentDict], config=STRICT)
"""The SDK's request contents, refusing unknown keys at every level."""
OPAQUE = {"args", "response", "part_metadata"}
BINARY = {"thought_signature", "data"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def data_uri(mime_type: str, data: bytes) -> str:
    return f"data:{mime_type};base64,{b64(data)}"


# ------------------------------------------------------------------------ helpers


def reply() -> types.GenerateContentResponse:
    """A reply with every part kind Gemini sends."""
    return types.GenerateContentResponse(
        response_id="resp-1",
        model_version=MODEL,
        candidates=[
            types.Candidate(
                finish_reason=types.FinishReason.STOP,
                content=types.Content(
                    role="model",
                    parts=[
                        types.Part(
                            text="The user wants weather.", thought=True, thought_signature=SIG
                        ),
                        types.Part(text="Checking both cities.", thought_signature=SIG2),
                        types.Part(
                            function_call=types.FunctionCall(name="weather", args={"city": "Rome"}),
                            thought_signature=SIG3,
                        ),
                        types.Part(
                            function_call=types.FunctionCall(
                                name="weather", args={"city": "Paris", "days": [1, 2]}
                            )
                        ),
                        types.Part(
                            function_call=types.FunctionCall(id="call-9", name="clock", args={})
                        ),
                        types.Part(inline_data=types.Blob(mime_type="image/png", data=PNG)),
                        types.Part(
                            file_data=types.FileData(
                                mime_type="application/pdf", file_uri="gs://bucket/report.pdf"
                            )
                        ),
                        types.Part(
                            executable_code=types.ExecutableCode(
                                code="print(1 + 1)", language=types.Language.PYTHON
                            )
                        ),
                        types.Part(
                            code_execution_result=types.CodeExecutionResult(
                                outcome=types.Outcome.OUTCOME_OK, output="2\n"
                            )
                        ),
                    ],
                ),
            )
        ],
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=1200,
            cached_content_token_count=1000,
            candidates_token_count=80,
            thoughts_token_count=300,
            tool_use_prompt_token_count=20,
            total_token_count=1600,
        ),
    )


def stored(parts: Sequence[Part]) -> list[Part]:
    """Parts as the database gives them back (through their stored JSON)."""
    return parts_adapter.validate_python(json.loads(json.dumps(dump_parts(parts))))


def read(role: str, parts: Sequence[Part], seq: int = 1) -> MessageRead:
    """A stored message of these parts."""
    kept = stored(parts)
    tool_calls, tool_call_id, attachments = classic_views(kept)
    now = dt.datetime.now(dt.timezone.utc)
    return MessageRead.model_validate(
        {
            "id": uuid.uuid4(),
            "chat_id": uuid.uuid4(),
            "parent_id": None,
            "seq": seq,
            "role": role,
            "content": parts_text(kept),
            "parts": kept,
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


def thread(*messages: tuple[str, Sequence[Part]]) -> list[MessageRead]:
    return [read(role, parts, seq) for seq, (role, parts) in enumerate(messages, 1)]


def check_request(rendered: dict[str, Any]) -> None:
    """The rendered request is what the SDK's request types accept, exactly:
    no unknown key anywhere, binary fields as bytes."""
    assert set(rendered) == {"system_instruction", "contents"}
    contents = rendered["contents"]
    system = rendered["system_instruction"]
    for items in (contents, [system] if system is not None else []):
        assert CONTENTS.validate_python(items) == items
        for content in items:
            types.Content.model_validate(content)  # extra="forbid" in the SDK's models
        assert_binary_as_bytes(items)
    for content in contents:
        assert content["role"] in {"user", "model"}
        assert content["parts"]


def assert_binary_as_bytes(value: Any, key: str | None = None) -> None:
    if key in BINARY:
        assert isinstance(value, bytes), (key, value)
    elif isinstance(value, dict) and key not in OPAQUE:
        for k, v in value.items():
            assert_binary_as_bytes(v, k)
    elif isinstance(value, list):
        for item in value:
            assert_binary_as_bytes(item)


def wire(value: Any, key: str | None = None) -> Any:
    """JSON as the API sees it: snake_case keys (the caller's JSON left
    alone), binary fields as standard base64 (the SDK sends URL-safe base64),
    so a request and our rendering compare."""
    if key in BINARY:
        if isinstance(value, str):
            value = base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_"))
        return b64(value)
    if isinstance(value, dict):
        if key in OPAQUE:
            return value
        snake = {
            "".join("_" + c.lower() if c.isupper() else c for c in k): v for k, v in value.items()
        }
        return {k: wire(v, k) for k, v in snake.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler) -> genai.Client:
    """A real SDK client whose HTTP requests go to ``handler``."""
    return genai.Client(
        api_key="test",
        http_options=types.HttpOptions(
            base_url="http://test",
            httpx_client=httpx.Client(transport=httpx.MockTransport(handler)),
        ),
    )


def send(rendered: dict[str, Any]) -> dict[str, Any]:
    """Send a rendered request through ``generate_content``; the JSON body sent."""
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "candidates": [
                    {
                        "content": {"role": "model", "parts": [{"text": "ok"}]},
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 1},
                "modelVersion": MODEL,
                "responseId": "resp-ok",
            },
        )

    response = client(handler).models.generate_content(
        model=MODEL,
        contents=rendered["contents"],
        config=types.GenerateContentConfig(system_instruction=rendered["system_instruction"]),
    )
    assert response.text == "ok"
    assert len(bodies) == 1
    return bodies[0]


def assert_sent_unchanged(rendered: dict[str, Any]) -> dict[str, Any]:
    body = send(rendered)
    assert wire(body["contents"]) == wire(rendered["contents"])
    if rendered["system_instruction"] is None:
        assert "systemInstruction" not in body
    else:
        assert wire(body["systemInstruction"]) == wire(rendered["system_instruction"])
    return body


# ------------------------------------------------------------------------ message()


def test_registered() -> None:
    assert get_format("gemini") is FORMAT
    assert FORMAT.name == "gemini"
    assert FORMAT.user_first is True


def test_message_every_part_kind_in_order() -> None:
    message = MessageCreate.from_gemini(reply())
    assert message.role is Role.assistant
    parts = message.parts
    assert parts is not None
    assert parts[0] == ReasoningPart(
        text="The user wants weather.", encrypted=b64(SIG), provider="google"
    )
    assert parts[1] == TextPart(text="Checking both cities.", meta={"thought_signature": b64(SIG2)})
    first, second, third = parts[2], parts[3], parts[4]
    assert isinstance(first, ToolCallPart)
    assert isinstance(second, ToolCallPart)
    assert (first.name, first.arguments) == ("weather", {"city": "Rome"})
    assert first.meta == {"thought_signature": b64(SIG3), "generated_id": True}
    assert (second.name, second.arguments) == ("weather", {"city": "Paris", "days": [1, 2]})
    assert second.meta == {"generated_id": True}
    assert first.id != second.id
    assert first.id.startswith("call_")
    assert third == ToolCallPart(id="call-9", name="clock", arguments={})
    assert parts[5] == ImagePart(uri=data_uri("image/png", PNG), mime_type="image/png")
    assert parts[6] == FilePart(uri="gs://bucket/report.pdf", mime_type="application/pdf")
    assert parts[7] == RawPart(
        provider="google", data={"executable_code": {"code": "print(1 + 1)", "language": "PYTHON"}}
    )
    assert parts[8] == RawPart(
        provider="google",
        data={"code_execution_result": {"outcome": "OUTCOME_OK", "output": "2\n"}},
    )
    assert len(parts) == 9
    assert message.usage == Usage(
        input_tokens=1220,
        output_tokens=380,
        cache_read_tokens=1000,
        reasoning_tokens=300,
    )
    assert message.metadata == {
        "google": {"response_id": "resp-1", "model_version": MODEL, "finish_reason": "STOP"}
    }


def test_generated_ids_are_stable() -> None:
    ids = [
        [
            p.id
            for p in MessageCreate.from_gemini(reply()).parts or ()
            if isinstance(p, ToolCallPart)
        ]
        for _ in range(2)
    ]
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 3
    other = reply().model_copy(update={"response_id": "resp-2"})
    other_ids = [
        p.id for p in MessageCreate.from_gemini(other).parts or () if isinstance(p, ToolCallPart)
    ]
    assert other_ids[:2] != ids[0][:2]  # another reply, other ids
    assert other_ids[2] == "call-9"  # Gemini's own ids are kept


def rest_json() -> dict[str, Any]:
    """The reply as the REST API sends it: camelCase keys, standard base64."""
    return {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "text": "The user wants weather.",
                            "thought": True,
                            "thoughtSignature": b64(SIG),
                        },
                        {"text": "Checking both cities.", "thoughtSignature": b64(SIG2)},
                        {
                            "functionCall": {"name": "weather", "args": {"city": "Rome"}},
                            "thoughtSignature": b64(SIG3),
                        },
                        {
                            "functionCall": {
                                "name": "weather",
                                "args": {"city": "Paris", "days": [1, 2]},
                            }
                        },
                        {"functionCall": {"id": "call-9", "name": "clock", "args": {}}},
                        {"inlineData": {"mimeType": "image/png", "data": b64(PNG)}},
                        {
                            "fileData": {
                                "mimeType": "application/pdf",
                                "fileUri": "gs://bucket/report.pdf",
                            }
                        },
                        {"executableCode": {"code": "print(1 + 1)", "language": "PYTHON"}},
                        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "2\n"}},
                    ],
                },
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 1200,
            "cachedContentTokenCount": 1000,
            "candidatesTokenCount": 80,
            "thoughtsTokenCount": 300,
            "toolUsePromptTokenCount": 20,
            "totalTokenCount": 1600,
        },
        "modelVersion": MODEL,
        "responseId": "resp-1",
    }


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda: reply().model_dump(), id="model_dump"),
        pytest.param(lambda: reply().model_dump(exclude_none=True), id="model_dump-exclude_none"),
        pytest.param(lambda: reply().model_dump(mode="json"), id="model_dump-json"),
        pytest.param(lambda: reply().model_dump(mode="json", by_alias=True), id="camelCase"),
        pytest.param(rest_json, id="rest-json"),
        pytest.param(
            lambda: types.GenerateContentResponse.model_validate(rest_json()), id="sdk-from-rest"
        ),
    ],
)
def test_message_from_dicts(payload: Callable[[], Any]) -> None:
    assert MessageCreate.from_gemini(payload()) == MessageCreate.from_gemini(reply())


def test_message_keeps_function_arguments_verbatim() -> None:
    args = {"camelCase": {"nestedKey": None}, "list": [{"innerKey": 1}], "x": None}
    response = types.GenerateContentResponse(
        candidates=[
            types.Candidate(
                content=types.Content(
                    role="model",
                    parts=[types.Part(function_call=types.FunctionCall(name="f", args=args))],
                )
            )
        ]
    )
    for payload in (response, response.model_dump(mode="json", by_alias=True)):
        parts = MessageCreate.from_gemini(payload).parts or []
        assert isinstance(parts[0], ToolCallPart)
        assert parts[0].arguments == args


def test_message_candidate_content_and_fields() -> None:
    candidate = reply().candidates[0]  # type: ignore[index]
    from_candidate = MessageCreate.from_gemini(candidate)
    # without a response id, generated call ids are seeded by the reply alone
    assert [p.model_dump(exclude={"id"}) for p in from_candidate.parts or ()] == [
        p.model_dump(exclude={"id"}) for p in MessageCreate.from_gemini(reply()).parts or ()
    ]
    assert from_candidate.parts == MessageCreate.from_gemini(candidate.model_dump()).parts
    assert from_candidate.metadata == {"google": {"finish_reason": "STOP"}}
    assert from_candidate.usage is None
    from_content = MessageCreate.from_gemini(candidate.content)
    assert from_content.metadata == {}
    assert len(from_content.parts or ()) == 9
    model_id = uuid.uuid4()
    with_fields = MessageCreate.from_gemini(reply(), model_id=model_id, metadata={"trace": "t1"})
    assert with_fields.model_id == model_id
    assert with_fields.metadata["trace"] == "t1"
    assert with_fields.metadata["google"] == {
        "response_id": "resp-1",
        "model_version": MODEL,
        "finish_reason": "STOP",
    }


def test_message_metadata_extras_and_blocked_prompt() -> None:
    response = types.GenerateContentResponse(
        response_id="r",
        candidates=[
            types.Candidate(
                finish_reason=types.FinishReason.MAX_TOKENS,
                finish_message="too long",
                content=types.Content(role="model", parts=[types.Part(text="Rome is")]),
                grounding_metadata=types.GroundingMetadata(
                    web_search_queries=["rome weather"],
                    grounding_chunks=[
                        types.GroundingChunk(
                            web=types.GroundingChunkWeb(uri="https://example.com", title="Ex")
                        )
                    ],
                ),
            )
        ],
    )
    message = MessageCreate.from_gemini(response)
    assert message.metadata == {
        "google": {
            "response_id": "r",
            "finish_reason": "MAX_TOKENS",
            "finish_message": "too long",
            "grounding_metadata": {
                "web_search_queries": ["rome weather"],
                "grounding_chunks": [{"web": {"uri": "https://example.com", "title": "Ex"}}],
            },
        }
    }
    blocked = types.GenerateContentResponse(
        prompt_feedback=types.GenerateContentResponsePromptFeedback(
            block_reason=types.BlockedReason.SAFETY
        ),
        usage_metadata=types.GenerateContentResponseUsageMetadata(prompt_token_count=7),
    )
    message = MessageCreate.from_gemini(blocked)
    assert message.parts == []
    assert message.usage == Usage(input_tokens=7, output_tokens=0)
    assert message.metadata == {"google": {"prompt_feedback": {"block_reason": "SAFETY"}}}


def test_message_signature_and_extras_on_other_parts() -> None:
    parts = [
        types.Part(text="", thought_signature=SIG),  # a signature on an empty text part
        types.Part(text="only a signature", thought=True),
        types.Part(
            inline_data=types.Blob(mime_type="audio/wav", data=b"RIFF"), thought_signature=SIG2
        ),
        types.Part(
            file_data=types.FileData(file_uri="https://example.com/v.mp4", mime_type="video/mp4"),
            video_metadata=types.VideoMetadata(start_offset="1s", end_offset="5s"),
        ),
        types.Part(thought_signature=SIG3),  # no data at all: kept raw
    ]
    response = types.GenerateContentResponse(
        candidates=[types.Candidate(content=types.Content(role="model", parts=parts))]
    )
    got = MessageCreate.from_gemini(response).parts
    assert got == [
        TextPart(text="", meta={"thought_signature": b64(SIG)}),
        ReasoningPart(text="only a signature", provider="google"),
        FilePart(
            uri=data_uri("audio/wav", b"RIFF"),
            mime_type="audio/wav",
            meta={"thought_signature": b64(SIG2)},
        ),
        FilePart(
            uri="https://example.com/v.mp4",
            mime_type="video/mp4",
            meta={"video_metadata": {"start_offset": "1s", "end_offset": "5s"}},
        ),
        RawPart(provider="google", data={"thought_signature": b64(SIG3)}),
    ]
    rendered = FORMAT.render(None, thread(("user", [TextPart(text="hi")]), ("assistant", got)))
    check_request(rendered)
    sent = types.Content.model_validate(rendered["contents"][1])
    assert sent.parts == parts  # every field back, bytes for bytes


def test_message_rejects_a_signature_that_is_not_base64() -> None:
    payload = rest_json()
    payload["candidates"][0]["content"]["parts"][0]["thoughtSignature"] = "not base64!"
    with pytest.raises(ValueError, match="not base64"):
        MessageCreate.from_gemini(payload)


# ------------------------------------------------------------------------ usage


def test_usage_from_gemini() -> None:
    report = types.GenerateContentResponseUsageMetadata(
        prompt_token_count=1000,
        cached_content_token_count=600,
        candidates_token_count=50,
        thoughts_token_count=150,
        tool_use_prompt_token_count=30,
        total_token_count=1230,
    )
    expected = Usage(
        input_tokens=1030, output_tokens=200, cache_read_tokens=600, reasoning_tokens=150
    )
    assert Usage.from_gemini(report) == expected
    assert Usage.from_gemini(report.model_dump()) == expected
    assert Usage.from_gemini(report.model_dump(mode="json", by_alias=True)) == expected
    assert FORMAT.usage(report) == usage_from_gemini(report) == expected
    # Gemini leaves zero counts out.
    assert Usage.from_gemini({"promptTokenCount": 12}) == Usage(input_tokens=12, output_tokens=0)
    assert Usage.from_gemini(
        types.GenerateContentResponseUsageMetadata(prompt_token_count=5, candidates_token_count=2)
    ) == Usage(input_tokens=5, output_tokens=2)


def test_usage_inconsistent_counts_fail() -> None:
    with pytest.raises(pydantic.ValidationError):
        Usage.from_gemini({"prompt_token_count": 10, "cached_content_token_count": 11})
    with pytest.raises(pydantic.ValidationError):
        Usage.from_gemini({"prompt_token_count": -1})
    with pytest.raises(pydantic.ValidationError):
        Usage.from_gemini({"prompt_token_count": "many"})


# ------------------------------------------------------------------------ render()


def test_round_trip_gives_the_reply_back_byte_for_byte() -> None:
    """A reply converted, stored and rendered is the content Gemini sent."""
    original = reply()
    message = MessageCreate.from_gemini(original)
    rendered = FORMAT.render(
        "Be brief.",
        thread(
            ("user", [TextPart(text="Weather in Rome and Paris?")]),
            ("assistant", message.parts or []),
        ),
    )
    check_request(rendered)
    assert rendered["system_instruction"] == {"parts": [{"text": "Be brief."}]}
    model_turn = rendered["contents"][1]
    assert model_turn["role"] == "model"
    candidate = original.candidates[0]  # type: ignore[index]
    expected = candidate.content.model_copy(deep=True)  # type: ignore[union-attr]
    for part in expected.parts or ():
        if part.function_call is not None and part.function_call.id is None:
            part.function_call.id = None  # generated ids are never sent
    assert types.Content.model_validate(model_turn) == expected
    assert model_turn["parts"][0]["thought_signature"] == SIG
    assert model_turn["parts"][1]["thought_signature"] == SIG2
    assert model_turn["parts"][2]["thought_signature"] == SIG3
    assert "id" not in model_turn["parts"][2]["function_call"]
    assert model_turn["parts"][4]["function_call"]["id"] == "call-9"
    assert_sent_unchanged(rendered)


def test_tool_call_turn_round_trip() -> None:
    """Calls, then their results (one tool message each), then the user again."""
    message = MessageCreate.from_gemini(reply())
    calls = [p for p in message.parts or () if isinstance(p, ToolCallPart)]
    messages = thread(
        ("user", [TextPart(text="Weather in Rome and Paris?")]),
        ("assistant", message.parts or []),
        ("tool", [ToolResultPart(call_id=calls[0].id, output="sunny, 24C")]),
        ("tool", [ToolResultPart(call_id=calls[1].id, output="lookup failed", is_error=True)]),
        ("tool", [ToolResultPart(call_id="call-9", output={"time": "12:00"})]),
        ("user", [TextPart(text="And tomorrow?")]),
    )
    rendered = FORMAT.render(None, messages)
    check_request(rendered)
    assert rendered["system_instruction"] is None
    assert [c["role"] for c in rendered["contents"]] == ["user", "model", "user"]
    assert rendered["contents"][2]["parts"] == [
        {"function_response": {"name": "weather", "response": {"output": "sunny, 24C"}}},
        {"function_response": {"name": "weather", "response": {"error": "lookup failed"}}},
        {"function_response": {"name": "clock", "response": {"time": "12:00"}, "id": "call-9"}},
        {"text": "And tomorrow?"},
    ]
    assert_sent_unchanged(rendered)


def test_render_every_part_kind() -> None:
    def resolve(uri: str) -> tuple[bytes, str]:
        if uri == "file-id:openai:file-xyz":  # another provider's file: Gemini cannot read it
            return PDF, "application/pdf"
        assert uri == "s3://bucket/scan.png"
        return PNG, ""  # no type known: the part's is used

    messages = thread(
        ("system", [TextPart(text="Answer in French.")]),
        (
            "user",
            [
                TextPart(text="Look at these:"),
                ImagePart(uri="https://example.com/cat.jpg", mime_type="image/jpeg", detail="high"),
                ImagePart(uri=data_uri("image/png", PNG), mime_type="image/png", name="x.png"),
                ImagePart(uri="s3://bucket/scan.png", mime_type="image/png"),
                FilePart(uri=data_uri("application/pdf", PDF), mime_type="application/pdf"),
                FilePart(uri="gs://bucket/talk.mp3", mime_type="audio/mpeg"),
                FilePart(uri="data:audio/wav;base64," + b64(b"RIFF"), mime_type="audio/wav"),
                FilePart(uri="file-id:google:files/abc123", mime_type="application/pdf"),
                FilePart(uri="file-id:openai:file-xyz", mime_type="application/pdf"),
                FilePart(uri="data:text/plain,caf%C3%A9%20au%20lait", mime_type="text/plain"),
                TextPart(text=""),
            ],
        ),
        (
            "assistant",
            [
                ReasoningPart(text="anthropic thinking", signature="sig-a", provider="anthropic"),
                ReasoningPart(encrypted="gAAAA", provider="openai", id="rs_1"),
                ReasoningPart(text="gemini thought", encrypted=b64(SIG), provider="google"),
                ReasoningPart(text="", provider="google"),
                TextPart(text="Voici."),
                RawPart(provider="openai", data={"type": "web_search_call", "id": "ws_1"}),
                RawPart(
                    provider="google",
                    data={"executable_code": {"code": "print(2)", "language": "PYTHON"}},
                ),
                ToolCallPart(id="call_1", name="describe", arguments={"image": 1}),
                ToolCallPart(id="call_2", name="broken", arguments='{"a": '),
            ],
        ),
        (
            "tool",
            [
                ToolResultPart(
                    call_id="call_1",
                    output=[
                        TextPart(text="a chart"),
                        ImagePart(uri=data_uri("image/png", PNG), mime_type="image/png"),
                        FilePart(uri="gs://bucket/data.pdf", mime_type="application/pdf"),
                        ImagePart(uri="s3://bucket/scan.png", mime_type="image/png"),
                    ],
                ),
                ToolResultPart(call_id="call_2", output=[1, 2, 3], name="ignored"),
            ],
        ),
        ("system", [TextPart(text="Be kind.")]),
        ("tool", [ToolResultPart(call_id="call_unknown", output={"error": "boom"}, is_error=True)]),
        ("tool", [ToolResultPart(call_id="call_x", output={"bad": 1}, is_error=True, name="t")]),
    )
    rendered = FORMAT.render("You are a helpful assistant.", messages, resolve_uri=resolve)
    check_request(rendered)
    assert rendered["system_instruction"] == {
        "parts": [
            {"text": "You are a helpful assistant."},
            {"text": "Answer in French."},
            {"text": "Be kind."},
        ]
    }
    user, model, results = rendered["contents"]
    assert user == {
        "role": "user",
        "parts": [
            {"text": "Look at these:"},
            {"file_data": {"file_uri": "https://example.com/cat.jpg", "mime_type": "image/jpeg"}},
            {"inline_data": {"mime_type": "image/png", "data": PNG}},
            {"inline_data": {"mime_type": "image/png", "data": PNG}},
            {"inline_data": {"mime_type": "application/pdf", "data": PDF}},
            {"file_data": {"file_uri": "gs://bucket/talk.mp3", "mime_type": "audio/mpeg"}},
            {"inline_data": {"mime_type": "audio/wav", "data": b"RIFF"}},
            {
                "file_data": {
                    "file_uri": "https://generativelanguage.googleapis.com/v1beta/files/abc123",
                    "mime_type": "application/pdf",
                }
            },
            {"inline_data": {"mime_type": "application/pdf", "data": PDF}},
            {"inline_data": {"mime_type": "text/plain", "data": "café au lait".encode()}},
        ],
    }
    assert model == {
        "role": "model",
        "parts": [
            {"text": "gemini thought", "thought": True, "thought_signature": SIG},
            {"text": "Voici."},
            {"executable_code": {"code": "print(2)", "language": "PYTHON"}},
            {"function_call": {"name": "describe", "args": {"image": 1}, "id": "call_1"}},
            {"function_call": {"name": "broken", "args": {"arguments": '{"a": '}, "id": "call_2"}},
        ],
    }
    assert results == {
        "role": "user",
        "parts": [
            {
                "function_response": {
                    "name": "describe",
                    "response": {"output": "a chart"},
                    "id": "call_1",
                    "parts": [
                        {"inline_data": {"mime_type": "image/png", "data": PNG}},
                        {
                            "file_data": {
                                "file_uri": "gs://bucket/data.pdf",
                                "mime_type": "application/pdf",
                            }
                        },
                        {"inline_data": {"mime_type": "image/png", "data": PNG}},
                    ],
                }
            },
            {
                "function_response": {
                    "name": "broken",
                    "response": {"output": [1, 2, 3]},
                    "id": "call_2",
                }
            },
            {
                "function_response": {
                    "name": "tool",
                    "response": {"error": "boom"},
                    "id": "call_unknown",
                }
            },
            {"function_response": {"name": "t", "response": {"error": {"bad": 1}}, "id": "call_x"}},
        ],
    }
    assert_sent_unchanged(rendered)


def test_render_without_resolve_uri_drops_what_gemini_cannot_fetch() -> None:
    messages = thread(
        (
            "user",
            [
                TextPart(text="See"),
                ImagePart(uri="s3://bucket/scan.png", mime_type="image/png"),
                FilePart(uri="file-id:anthropic:file_1", mime_type="application/pdf"),
                FilePart(
                    uri="file-id:google:https://example.com/files/f", mime_type="application/pdf"
                ),
            ],
        ),
    )
    rendered = FORMAT.render(None, messages)
    check_request(rendered)
    assert rendered["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "See"},
                {
                    "file_data": {
                        "file_uri": "https://example.com/files/f",
                        "mime_type": "application/pdf",
                    }
                },
            ],
        }
    ]


def test_render_merges_turns_and_never_starts_with_the_model() -> None:
    messages = thread(
        ("assistant", [TextPart(text="Hello! How can I help?")]),
        ("assistant", [ToolCallPart(id="c1", name="f", arguments={})]),
        ("tool", [ToolResultPart(call_id="c1", output="x")]),
        ("user", [ImagePart(uri="s3://private/x.png", mime_type="image/png")]),  # renders empty
        ("user", [TextPart(text="first")]),
        ("user", [TextPart(text="second")]),
        ("assistant", [TextPart(text="one")]),
        ("assistant", [ReasoningPart(text="other", provider="anthropic", signature="s")]),
        ("assistant", [TextPart(text="two")]),
    )
    rendered = FORMAT.render(None, messages)
    check_request(rendered)
    assert rendered["contents"] == [
        {"role": "user", "parts": [{"text": "first"}, {"text": "second"}]},
        {"role": "model", "parts": [{"text": "one"}, {"text": "two"}]},
    ]
    assert FORMAT.render(None, []) == {"system_instruction": None, "contents": []}
    only_model = FORMAT.render("sys", thread(("assistant", [TextPart(text="hi")])))
    assert only_model == {"system_instruction": {"parts": [{"text": "sys"}]}, "contents": []}


def test_selection_then_render_starts_with_a_user_turn() -> None:
    """What ``context()`` selects for Gemini renders with a user turn first,
    and never an orphan function response."""
    messages = thread(
        ("assistant", [TextPart(text="Welcome!")]),
        ("assistant", [ToolCallPart(id="c0", name="f", arguments={})]),
        ("tool", [ToolResultPart(call_id="c0", output="early")]),
        ("user", [TextPart(text="Question " * 50)]),
        ("assistant", [ToolCallPart(id="c1", name="f", arguments={"q": 1})]),
        ("tool", [ToolResultPart(call_id="c1", output="late")]),
        ("assistant", [TextPart(text="Answer")]),
        ("user", [TextPart(text="Thanks")]),
    )
    counter = EstimatingCounter()
    for budget in (None, 10_000, 60, 30):
        selected = select_context(None, messages, budget, counter, user_first=FORMAT.user_first)
        rendered = FORMAT.render(None, selected)
        check_request(rendered)
        contents = rendered["contents"]
        assert contents[0]["role"] == "user"
        assert not any("function_response" in p for p in contents[0]["parts"])
        answered = {
            p["function_call"]["id"] for c in contents for p in c["parts"] if "function_call" in p
        }
        responses = {
            p["function_response"]["id"]
            for c in contents
            for p in c["parts"]
            if "function_response" in p
        }
        assert responses <= answered


def test_render_goes_through_the_sdk_for_every_part_kind() -> None:
    """The whole every-kind request is also accepted by the SDK's call."""
    message = MessageCreate.from_gemini(reply())
    calls = [p for p in message.parts or () if isinstance(p, ToolCallPart)]
    messages = thread(
        (
            "user",
            [TextPart(text="q"), ImagePart(uri=data_uri("image/png", PNG), mime_type="image/png")],
        ),
        ("assistant", message.parts or []),
        *(("tool", [ToolResultPart(call_id=call.id, output={"ok": True})]) for call in calls),
    )
    rendered = FORMAT.render("sys", messages)
    check_request(rendered)
    body = assert_sent_unchanged(rendered)
    sent = body["contents"][1]["parts"][0]["thoughtSignature"]
    assert base64.urlsafe_b64decode(sent.replace("+", "-").replace("/", "_")) == SIG


# ------------------------------------------------------------------------ stream()


def chunk(
    *parts: types.Part,
    finish: types.FinishReason | None = None,
    usage: types.GenerateContentResponseUsageMetadata | None = None,
) -> types.GenerateContentResponse:
    return types.GenerateContentResponse(
        response_id="resp-s",
        model_version=MODEL,
        candidates=[
            types.Candidate(
                content=types.Content(role="model", parts=list(parts)), finish_reason=finish
            )
        ],
        usage_metadata=usage,
    )


def stream_chunks() -> list[types.GenerateContentResponse]:
    """Thoughts, text ending on a signed empty piece, parallel calls, usage."""
    return [
        chunk(
            types.Part(text="Let me ", thought=True),
            usage=types.GenerateContentResponseUsageMetadata(prompt_token_count=900),
        ),
        chunk(types.Part(text="think.", thought=True)),
        chunk(types.Part(text="The weather")),
        chunk(types.Part(text=" is")),
        chunk(types.Part(text=" sunny."), types.Part(text="", thought_signature=SIG)),
        chunk(
            types.Part(
                function_call=types.FunctionCall(name="weather", args={"city": "Rome"}),
                thought_signature=SIG2,
            ),
            types.Part(function_call=types.FunctionCall(name="weather", args={"city": "Paris"})),
        ),
        chunk(
            types.Part(text="Done"),
            finish=types.FinishReason.STOP,
            usage=types.GenerateContentResponseUsageMetadata(
                prompt_token_count=900,
                cached_content_token_count=512,
                candidates_token_count=40,
                thoughts_token_count=64,
                total_token_count=1004,
            ),
        ),
    ]


def check_stream_result(acc: GeminiStream) -> None:
    parts = acc.parts()
    assert parts[0] == ReasoningPart(text="Let me think.", provider="google")
    assert parts[1] == TextPart(text="The weather is sunny.", meta={"thought_signature": b64(SIG)})
    rome, paris = parts[2], parts[3]
    assert isinstance(rome, ToolCallPart)
    assert isinstance(paris, ToolCallPart)
    assert (rome.name, rome.arguments) == ("weather", {"city": "Rome"})
    assert rome.meta == {"thought_signature": b64(SIG2), "generated_id": True}
    assert (paris.name, paris.arguments, paris.meta) == (
        "weather",
        {"city": "Paris"},
        {"generated_id": True},
    )
    assert rome.id != paris.id
    assert parts[4] == TextPart(text="Done")
    assert len(parts) == 5
    assert acc.usage() == Usage(
        input_tokens=900, output_tokens=104, cache_read_tokens=512, reasoning_tokens=64
    )
    assert acc.metadata() == {
        "google": {"response_id": "resp-s", "model_version": MODEL, "finish_reason": "STOP"}
    }


def test_stream_sdk_chunks() -> None:
    acc = FORMAT.stream()
    assert acc.parts() == []
    assert acc.usage() is None
    assert acc.metadata() == {}
    deltas = [acc.feed(c) for c in stream_chunks()]
    assert deltas == [
        ("", "Let me "),
        ("", "think."),
        ("The weather", ""),
        (" is", ""),
        (" sunny.", ""),
        ("", ""),
        ("Done", ""),
    ]
    check_stream_result(acc)
    # parts() is the whole reply each time it is asked, not what is new
    assert acc.parts() == acc.parts()


@pytest.mark.parametrize("dump", ["python", "json", "camel"])
def test_stream_dict_chunks(dump: str) -> None:
    acc = FORMAT.stream()
    for c in stream_chunks():
        if dump == "python":
            acc.feed(c.model_dump())
        elif dump == "json":
            acc.feed(c.model_dump(mode="json", exclude_none=True))
        else:
            acc.feed(c.model_dump(mode="json", by_alias=True, exclude_none=True))
    check_stream_result(acc)


def test_stream_signature_ends_the_part_it_lands_on() -> None:
    acc = FORMAT.stream()
    for c in [
        chunk(types.Part(text="A", thought=True, thought_signature=SIG)),
        chunk(types.Part(text="B", thought=True)),
        chunk(types.Part(text="C", thought=True, thought_signature=SIG2)),
        chunk(types.Part(text="x", thought_signature=SIG3)),
        chunk(types.Part(text="y")),
        chunk(types.Part(text="z")),
        chunk(types.Part(inline_data=types.Blob(mime_type="image/png", data=PNG))),
        chunk(types.Part(text="after")),
        chunk(types.Part(executable_code=types.ExecutableCode(code="1", language="PYTHON"))),
    ]:
        acc.feed(c)
    assert acc.parts() == [
        ReasoningPart(text="A", encrypted=b64(SIG), provider="google"),
        ReasoningPart(text="BC", encrypted=b64(SIG2), provider="google"),
        TextPart(text="x", meta={"thought_signature": b64(SIG3)}),
        TextPart(text="yz"),
        ImagePart(uri=data_uri("image/png", PNG), mime_type="image/png"),
        TextPart(text="after"),
        RawPart(provider="google", data={"executable_code": {"code": "1", "language": "PYTHON"}}),
    ]


def test_stream_chunks_without_candidates() -> None:
    acc = FORMAT.stream()
    assert acc.feed(types.GenerateContentResponse(response_id="r")) == ("", "")
    assert acc.feed({"candidates": [{"finishReason": "STOP"}]}) == ("", "")
    assert acc.parts() == []
    assert acc.metadata() == {"google": {"response_id": "r", "finish_reason": "STOP"}}
    assert acc.error() is None


def test_stream_error_when_gemini_gives_no_reply() -> None:
    blocked = FORMAT.stream()
    blocked.feed(
        types.GenerateContentResponse(
            prompt_feedback=types.GenerateContentResponsePromptFeedback(
                block_reason=types.BlockedReason.PROHIBITED_CONTENT,
                block_reason_message="not allowed",
            ),
            usage_metadata=types.GenerateContentResponseUsageMetadata(prompt_token_count=7),
        )
    )
    assert blocked.error() == "the prompt was blocked (PROHIBITED_CONTENT): not allowed"
    assert blocked.usage() == Usage(input_tokens=7, output_tokens=0)
    refused = FORMAT.stream()
    refused.feed({"candidates": [{"finishReason": "RECITATION"}], "responseId": "r"})
    assert refused.error() == "no reply (finish reason RECITATION)"
    refused.feed({"candidates": [{"finishReason": "SAFETY", "finishMessage": "unsafe"}]})
    assert refused.error() == "no reply (finish reason SAFETY): unsafe"
    cut_short = FORMAT.stream()
    cut_short.feed(chunk(types.Part(text="Partial")))
    cut_short.feed(chunk(finish=types.FinishReason.SAFETY))
    assert cut_short.error() is None  # a reply, stopped: complete, its reason in the metadata
    assert cut_short.metadata()["google"] == {
        "response_id": "resp-s",
        "model_version": MODEL,
        "finish_reason": "SAFETY",
    }
    full = FORMAT.stream()
    for c in stream_chunks():
        full.feed(c)
    assert full.error() is None


def sse(chunks: Sequence[dict[str, Any]]) -> bytes:
    return "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()


def rest_stream() -> list[dict[str, Any]]:
    """What ``streamGenerateContent?alt=sse`` sends for :func:`stream_chunks`."""
    return [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in stream_chunks()]


def sdk_stream(body: bytes) -> Iterator[types.GenerateContentResponse]:
    urls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        urls.append(str(request.url))
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    yield from client(handler).models.generate_content_stream(model=MODEL, contents="Weather?")
    assert len(urls) == 1  # one request, the SSE flavour of streamGenerateContent
    assert urls[0].endswith(f"/models/{MODEL}:streamGenerateContent?alt=sse")


def test_stream_through_the_sdk() -> None:
    acc = FORMAT.stream()
    deltas = [acc.feed(c) for c in sdk_stream(sse(rest_stream()))]
    assert "".join(d[0] for d in deltas) == "The weather is sunny.Done"
    assert "".join(d[1] for d in deltas) == "Let me think."
    check_stream_result(acc)


def test_streamed_reply_renders_back() -> None:
    acc = FORMAT.stream()
    for c in sdk_stream(sse(rest_stream())):
        acc.feed(c)
    calls = [p for p in acc.parts() if isinstance(p, ToolCallPart)]
    messages = thread(
        ("user", [TextPart(text="Weather?")]),
        ("assistant", acc.parts()),
        *(("tool", [ToolResultPart(call_id=c.id, output="sunny")]) for c in calls),
    )
    rendered = FORMAT.render(None, messages)
    check_request(rendered)
    assert rendered["contents"][1]["parts"] == [
        {"text": "Let me think.", "thought": True},
        {"text": "The weather is sunny.", "thought_signature": SIG},
        {"function_call": {"name": "weather", "args": {"city": "Rome"}}, "thought_signature": SIG2},
        {"function_call": {"name": "weather", "args": {"city": "Paris"}}},
        {"text": "Done"},
    ]
    assert rendered["contents"][2]["parts"] == [
        {"function_response": {"name": "weather", "response": {"output": "sunny"}}},
        {"function_response": {"name": "weather", "response": {"output": "sunny"}}},
    ]
    assert_sent_unchanged(rendered)


# ------------------------------------------------------------------------ end to end


def test_record_stream_then_context(sy: Synergia) -> None:
    """A Gemini stream recorded through the SDK's real streaming call, its
    tool results added, then the context gives Gemini back the thoughts, the
    signed text and calls, and the function responses."""
    model = make_model(
        sy,
        MODEL,
        provider="google",
        input_price="1.25",
        output_price="10",
        cache_read_price_per_million=Decimal("0.3125"),
    )
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id, system_prompt="Be brief."))
    sy.messages.add(chat.id, MessageCreate(role="user", content="Weather?"), user_id=ALICE)
    events = list(sdk_stream(sse(rest_stream())))
    seen = list(
        sy.messages.record_stream(
            chat.id, events, user_id=ALICE, model_id=model.id, format="gemini"
        )
    )
    assert seen == events  # handed through unchanged
    reply = sy.messages.thread(chat.id, user_id=ALICE)[-1]
    assert reply.status.value == "complete"
    assert reply.content == "The weather is sunny.Done"
    calls = [p for p in reply.parts if isinstance(p, ToolCallPart)]
    assert reply.parts == [
        ReasoningPart(text="Let me think.", provider="google"),
        TextPart(text="The weather is sunny.", meta={"thought_signature": b64(SIG)}),
        ToolCallPart(
            id=calls[0].id,
            name="weather",
            arguments={"city": "Rome"},
            meta={"thought_signature": b64(SIG2), "generated_id": True},
        ),
        ToolCallPart(
            id=calls[1].id, name="weather", arguments={"city": "Paris"}, meta={"generated_id": True}
        ),
        TextPart(text="Done"),
    ]
    assert (reply.input_tokens, reply.output_tokens) == (900, 104)
    assert (reply.cache_read_tokens, reply.reasoning_tokens) == (512, 64)
    # 388 x 1.25 + 512 x 0.3125 + 104 x 10, per million
    assert reply.cost == Decimal("0.001685")
    assert reply.metadata == {
        "google": {"response_id": "resp-s", "model_version": MODEL, "finish_reason": "STOP"}
    }
    for call, output in zip(calls, ("sunny", "rainy"), strict=True):
        sy.messages.add(
            chat.id,
            MessageCreate(role="tool", parts=[ToolResultPart(call_id=call.id, output=output)]),
            user_id=ALICE,
        )
    context = sy.messages.context(chat.id, user_id=ALICE, format="gemini")
    check_request(context)
    assert context == {
        "system_instruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Weather?"}]},
            {
                "role": "model",
                "parts": [
                    {"text": "Let me think.", "thought": True},
                    {"text": "The weather is sunny.", "thought_signature": SIG},
                    {
                        "function_call": {"name": "weather", "args": {"city": "Rome"}},
                        "thought_signature": SIG2,
                    },
                    {"function_call": {"name": "weather", "args": {"city": "Paris"}}},
                    {"text": "Done"},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"function_response": {"name": "weather", "response": {"output": "sunny"}}},
                    {"function_response": {"name": "weather", "response": {"output": "rainy"}}},
                ],
            },
        ],
    }
    assert_sent_unchanged(context)


def test_record_stream_of_a_blocked_prompt_fails_the_reply(sy: Synergia) -> None:
    model = make_model(sy, MODEL, provider="google", input_price="1.25", output_price="10")
    chat = sy.chats.create(ChatCreate(user_id=ALICE, model_id=model.id))
    sy.messages.add(chat.id, MessageCreate(role="user", content="Something bad"), user_id=ALICE)
    blocked = {
        "promptFeedback": {"blockReason": "SAFETY"},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
        "modelVersion": MODEL,
        "responseId": "resp-b",
    }
    events = list(sdk_stream(sse([blocked])))
    seen = list(
        sy.messages.record_stream(
            chat.id, events, user_id=ALICE, model_id=model.id, format="gemini"
        )
    )
    assert seen == events
    reply = sy.messages.thread(chat.id, user_id=ALICE)[-1]
    assert reply.status.value == "failed"
    assert reply.error == "the prompt was blocked (SAFETY)"
    assert (reply.input_tokens, reply.output_tokens) == (8, 0)  # billed all the same
    assert reply.cost == Decimal("0.00001")
    context = sy.messages.context(chat.id, user_id=ALICE, format="gemini")
    assert context["contents"] == [{"role": "user", "parts": [{"text": "Something bad"}]}]
