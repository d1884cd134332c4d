"""Schema validation: what is refused at construction, and the conversions."""

from __future__ import annotations

import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from synergia_core import (
    Attachment,
    ChatCreate,
    ChatUpdate,
    MessageCreate,
    ModelCreate,
    ModelUpdate,
    Role,
    ToolCall,
    Usage,
)
from synergia_core.schemas import MAX_TOKENS

BASE_MODEL: dict[str, Any] = {
    "provider": "openai",
    "name": "gpt-4o",
    "input_price_per_million": "2.50",
    "output_price_per_million": "10",
}


def test_model_prices_are_exact_decimals() -> None:
    model = ModelCreate.model_validate(BASE_MODEL)
    assert model.input_price_per_million == Decimal("2.50")
    assert isinstance(model.output_price_per_million, Decimal)
    assert model.cache_read_price_per_million is None


def test_price_shorthand_sets_input_and_output() -> None:
    model = ModelCreate.model_validate(
        {"provider": "OpenAI", "name": "GPT-4", "price_per_million_tokens": 10.0}
    )
    assert model.input_price_per_million == Decimal("10.0")
    assert model.output_price_per_million == Decimal("10.0")
    assert "price_per_million_tokens" not in model.model_dump()


def test_shorthand_does_not_override_an_explicit_price() -> None:
    model = ModelCreate.model_validate(
        {**BASE_MODEL, "output_price_per_million": None, "price_per_million_tokens": "3"}
    )
    assert model.input_price_per_million == Decimal("2.50")
    assert model.output_price_per_million == Decimal("3")


def test_missing_prices_are_refused() -> None:
    with pytest.raises(ValidationError, match="input_price_per_million is required"):
        ModelCreate.model_validate({"provider": "a", "name": "b"})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("input_price_per_million", "-1"),
        ("input_price_per_million", "0.00000000001"),  # 11 decimal places
        ("input_price_per_million", "NaN"),
        ("input_price_per_million", "Infinity"),
        ("provider", ""),
        ("name", "x" * 201),
        ("context_window", 0),
        ("unknown_field", 1),
    ],
)
def test_model_create_refuses(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        ModelCreate.model_validate({**BASE_MODEL, field: value})


def test_max_output_cannot_exceed_the_context_window() -> None:
    with pytest.raises(ValidationError, match="max_output_tokens"):
        ModelCreate.model_validate({**BASE_MODEL, "context_window": 10, "max_output_tokens": 11})


def test_model_update_cannot_clear_required_fields() -> None:
    with pytest.raises(ValidationError, match="cannot be cleared"):
        ModelUpdate(input_price_per_million=None)
    assert ModelUpdate(display_name=None).model_fields_set == {"display_name"}


def test_chat_schemas() -> None:
    chat = ChatCreate(user_id="alice")
    assert chat.metadata == {}
    with pytest.raises(ValidationError):
        ChatCreate(user_id="")
    with pytest.raises(ValidationError):
        ChatCreate(user_id="alice", title="x" * 501)
    with pytest.raises(ValidationError, match="cannot be None"):
        ChatUpdate(is_pinned=None)
    assert ChatUpdate(title=None).model_fields_set == {"title"}


def test_usage_parts_cannot_exceed_their_totals() -> None:
    Usage(input_tokens=10, output_tokens=5, cache_read_tokens=6, cache_write_tokens=4)
    with pytest.raises(ValidationError, match="cannot exceed input_tokens"):
        Usage(input_tokens=10, output_tokens=5, cache_read_tokens=6, cache_write_tokens=5)
    with pytest.raises(ValidationError, match="cannot exceed output_tokens"):
        Usage(input_tokens=10, output_tokens=5, reasoning_tokens=6)
    with pytest.raises(ValidationError):
        Usage(input_tokens=-1, output_tokens=0)
    with pytest.raises(ValidationError):
        Usage(input_tokens=MAX_TOKENS + 1, output_tokens=0)
    assert Usage(input_tokens=3, output_tokens=4).total_tokens == 7


def test_usage_from_openai_chat_completions() -> None:
    usage = Usage.from_openai(
        {
            "prompt_tokens": 1200,
            "completion_tokens": 300,
            "total_tokens": 1500,
            "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 128},
        }
    )
    assert usage == Usage(
        input_tokens=1200, output_tokens=300, cache_read_tokens=1000, reasoning_tokens=128
    )


def test_usage_from_openai_responses_api_object() -> None:
    payload = SimpleNamespace(
        input_tokens=50,
        output_tokens=20,
        input_tokens_details=SimpleNamespace(cached_tokens=10),
        output_tokens_details=SimpleNamespace(reasoning_tokens=5),
    )
    usage = Usage.from_openai(payload)
    assert (usage.input_tokens, usage.cache_read_tokens, usage.reasoning_tokens) == (50, 10, 5)


def test_usage_from_openai_without_details() -> None:
    usage = Usage.from_openai({"prompt_tokens": 5, "completion_tokens": 7})
    assert usage == Usage(input_tokens=5, output_tokens=7)


def test_usage_from_anthropic_adds_cache_counts_to_the_prompt() -> None:
    usage = Usage.from_anthropic(
        {
            "input_tokens": 20,
            "output_tokens": 400,
            "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 300,
        }
    )
    assert usage == Usage(
        input_tokens=1320, output_tokens=400, cache_read_tokens=1000, cache_write_tokens=300
    )
    bare = Usage.from_anthropic(
        {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": None}
    )
    assert bare == Usage(input_tokens=3, output_tokens=4)


def test_usage_from_a_bad_payload() -> None:
    with pytest.raises(ValidationError):
        Usage.from_anthropic({"output_tokens": 1})
    # Regression: a payload that is no mapping raised a raw TypeError.
    for payload in (42, "usage", [1, 2]):
        with pytest.raises(ValidationError):
            Usage.from_openai(payload)
        with pytest.raises(ValidationError):
            Usage.from_anthropic(payload)
    with pytest.raises(ValidationError):
        Usage.from_openai({"prompt_tokens": 3, "completion_tokens": 1, "prompt_tokens_details": 7})


def test_message_tool_rules() -> None:
    call = ToolCall(id="call_1", name="weather", arguments={"city": "Rome"})
    MessageCreate(role=Role.assistant, content="", tool_calls=[call])
    MessageCreate(role="tool", content="22C", tool_call_id="call_1")
    with pytest.raises(ValidationError, match="only on assistant"):
        MessageCreate(role=Role.user, content="x", tool_calls=[call])
    with pytest.raises(ValidationError, match="need a tool_call_id"):
        MessageCreate(role=Role.tool, content="22C")
    with pytest.raises(ValidationError, match="only on tool messages"):
        MessageCreate(role=Role.user, content="x", tool_call_id="call_1")
    with pytest.raises(ValidationError):
        MessageCreate(role="robot", content="x")


def test_attachments_are_references() -> None:
    attachment = Attachment(kind="image", uri="s3://bucket/cat.png", mime_type="image/png")
    assert attachment.size_bytes is None
    with pytest.raises(ValidationError):
        Attachment(kind="video", uri="x", mime_type="video/mp4")
    with pytest.raises(ValidationError):
        Attachment(kind="file", uri="x", mime_type="text/plain", size_bytes=-1)


def test_schemas_forbid_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        MessageCreate.model_validate({"role": "user", "content": "x", "chat_id": str(uuid.uuid4())})
