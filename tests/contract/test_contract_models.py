"""Contract: the model catalog (``sy.models``), written from DESIGN.md only."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from synergia_core import (
    ChatCreate,
    InvalidInputError,
    MessageCreate,
    ModelAlreadyExists,
    ModelCreate,
    ModelNotFound,
    ModelRead,
    ModelUnavailableError,
    ModelUpdate,
    Synergia,
    Usage,
)


def model_create(**fields: Any) -> ModelCreate:
    data: dict[str, Any] = {
        "provider": "openai",
        "name": "gpt-4o",
        "input_price_per_million": Decimal("2.50"),
        "output_price_per_million": Decimal("10"),
    }
    data.update(fields)
    return ModelCreate.model_validate(data)


def add_model(sy: Synergia, **fields: Any) -> ModelRead:
    return sy.models.create(model_create(**fields))


def test_create_returns_everything_it_was_given(sy: Synergia) -> None:
    created = add_model(
        sy,
        display_name="GPT-4o",
        cache_read_price_per_million=Decimal("1.25"),
        cache_write_price_per_million=Decimal("3.125"),
        context_window=128_000,
        max_output_tokens=16_384,
        metadata={"family": "gpt-4", "tags": ["fast", "vision"], "n": 1},
    )
    assert isinstance(created.id, uuid.UUID)
    assert created.id.version == 7
    assert (created.provider, created.name, created.display_name) == ("openai", "gpt-4o", "GPT-4o")
    assert created.input_price_per_million == Decimal("2.50")
    assert created.output_price_per_million == Decimal("10")
    assert created.cache_read_price_per_million == Decimal("1.25")
    assert created.cache_write_price_per_million == Decimal("3.125")
    assert isinstance(created.input_price_per_million, Decimal)
    assert (created.context_window, created.max_output_tokens) == (128_000, 16_384)
    assert created.is_enabled is True
    assert created.metadata == {"family": "gpt-4", "tags": ["fast", "vision"], "n": 1}
    assert created.created_at.utcoffset() == timedelta(0)
    assert created.updated_at.utcoffset() == timedelta(0)
    assert sy.models.get(created.id) == created


def test_prices_with_ten_decimal_places_read_back_exactly(sy: Synergia) -> None:
    created = add_model(
        sy,
        input_price_per_million=Decimal("0.0000000001"),
        output_price_per_million=Decimal("123456.1234567891"),
        cache_read_price_per_million=Decimal("0.1234567891"),
    )
    fetched = sy.models.get(created.id)
    assert fetched.input_price_per_million == Decimal("0.0000000001")
    assert fetched.output_price_per_million == Decimal("123456.1234567891")
    assert fetched.cache_read_price_per_million == Decimal("0.1234567891")
    assert isinstance(fetched.output_price_per_million, Decimal)


def test_missing_cache_prices_read_back_as_none(sy: Synergia) -> None:
    created = add_model(sy)
    fetched = sy.models.get(created.id)
    assert fetched.cache_read_price_per_million is None
    assert fetched.cache_write_price_per_million is None


def test_price_per_million_tokens_shorthand_sets_input_and_output(sy: Synergia) -> None:
    created = sy.models.create(
        ModelCreate.model_validate(
            {"provider": "openai", "name": "gpt-4", "price_per_million_tokens": "30"}
        )
    )
    fetched = sy.models.get(created.id)
    assert fetched.input_price_per_million == Decimal("30")
    assert fetched.output_price_per_million == Decimal("30")


def test_get_unknown_model_raises_model_not_found(sy: Synergia) -> None:
    missing = uuid.uuid4()
    with pytest.raises(ModelNotFound) as caught:
        sy.models.get(missing)
    assert caught.value.id == missing


def test_get_by_name(sy: Synergia) -> None:
    created = add_model(sy)
    add_model(sy, provider="anthropic", name="gpt-4o")
    assert sy.models.get_by_name("openai", "gpt-4o") == created
    with pytest.raises(ModelNotFound):
        sy.models.get_by_name("openai", "gpt-5")
    with pytest.raises(ModelNotFound):
        sy.models.get_by_name("mistral", "gpt-4o")


def test_list_filters_by_enabled_and_provider(sy: Synergia) -> None:
    a = add_model(sy, provider="openai", name="a")
    b = add_model(sy, provider="openai", name="b", is_enabled=False)
    c = add_model(sy, provider="anthropic", name="c")
    assert {m.id for m in sy.models.list()} == {a.id, b.id, c.id}
    assert {m.id for m in sy.models.list(enabled_only=True)} == {a.id, c.id}
    assert {m.id for m in sy.models.list(provider="openai")} == {a.id, b.id}
    assert {m.id for m in sy.models.list(enabled_only=True, provider="openai")} == {a.id}
    assert sy.models.list(provider="nobody") == []


def test_list_on_an_empty_catalog(sy: Synergia) -> None:
    assert sy.models.list() == []


def test_update_changes_only_the_given_fields(sy: Synergia) -> None:
    created = add_model(sy, display_name="Old", context_window=1000)
    updated = sy.models.update(
        created.id,
        ModelUpdate(display_name="New", output_price_per_million=Decimal("12.5")),
    )
    assert updated.display_name == "New"
    assert updated.output_price_per_million == Decimal("12.5")
    assert updated.input_price_per_million == Decimal("2.50")
    assert updated.context_window == 1000
    assert updated.updated_at >= created.updated_at
    assert sy.models.get(created.id) == updated


def test_update_can_clear_an_optional_field(sy: Synergia) -> None:
    created = add_model(sy, display_name="Shown")
    updated = sy.models.update(created.id, ModelUpdate(display_name=None))
    assert updated.display_name is None
    assert sy.models.get(created.id).display_name is None


def test_update_unknown_model_raises_model_not_found(sy: Synergia) -> None:
    missing = uuid.uuid4()
    with pytest.raises(ModelNotFound) as caught:
        sy.models.update(missing, ModelUpdate(display_name="x"))
    assert caught.value.id == missing


def test_enable_and_disable(sy: Synergia) -> None:
    created = add_model(sy)
    disabled = sy.models.disable(created.id)
    assert disabled.is_enabled is False
    assert sy.models.get(created.id).is_enabled is False
    assert sy.models.list(enabled_only=True) == []
    enabled = sy.models.enable(created.id)
    assert enabled.is_enabled is True
    assert [m.id for m in sy.models.list(enabled_only=True)] == [created.id]


@pytest.mark.parametrize("method", ["enable", "disable", "delete"])
def test_lifecycle_calls_on_unknown_model_raise_model_not_found(sy: Synergia, method: str) -> None:
    missing = uuid.uuid4()
    with pytest.raises(ModelNotFound) as caught:
        getattr(sy.models, method)(missing)
    assert caught.value.id == missing


def test_duplicate_live_model_raises_model_already_exists(sy: Synergia) -> None:
    first = add_model(sy)
    with pytest.raises(ModelAlreadyExists) as caught:
        add_model(sy, display_name="again")
    assert (caught.value.provider, caught.value.name) == ("openai", "gpt-4o")
    assert [m.id for m in sy.models.list()] == [first.id]


def test_disabled_model_still_blocks_its_name(sy: Synergia) -> None:
    first = add_model(sy, is_enabled=False)
    with pytest.raises(ModelAlreadyExists):
        add_model(sy)
    assert [m.id for m in sy.models.list()] == [first.id]


def test_same_name_under_another_provider_is_fine(sy: Synergia) -> None:
    a = add_model(sy, provider="openai")
    b = add_model(sy, provider="azure")
    assert a.id != b.id


def test_a_deleted_models_name_is_reusable(sy: Synergia) -> None:
    old = add_model(sy)
    sy.models.delete(old.id)
    new = add_model(sy, input_price_per_million=Decimal("1"))
    assert new.id != old.id
    assert sy.models.get_by_name("openai", "gpt-4o").id == new.id
    with pytest.raises(ModelAlreadyExists):
        add_model(sy)


def test_messages_keep_pointing_at_a_deleted_model(sy: Synergia) -> None:
    model = add_model(sy)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    message = sy.messages.add(
        chat.id,
        MessageCreate(
            role="assistant",
            content="hi",
            model_id=model.id,
            usage=Usage(input_tokens=1_000_000, output_tokens=0),
        ),
        user_id="alice",
    )
    sy.models.delete(model.id)
    kept = sy.messages.get(message.id, user_id="alice")
    assert kept.model_id == model.id
    assert kept.cost == Decimal("2.50")
    assert sy.usage.totals(model_id=model.id).cost == Decimal("2.50")


@pytest.mark.parametrize("how", ["disabled", "deleted"])
def test_message_naming_an_unavailable_model_is_refused(sy: Synergia, how: str) -> None:
    model = add_model(sy)
    if how == "disabled":
        sy.models.disable(model.id)
    else:
        sy.models.delete(model.id)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    with pytest.raises(ModelUnavailableError) as caught:
        sy.messages.add(
            chat.id,
            MessageCreate(role="assistant", content="x", model_id=model.id),
            user_id="alice",
        )
    assert str(model.id) in str(caught.value)
    after = sy.chats.get(chat.id, user_id="alice")
    assert after.message_count == 0
    assert after.current_message_id is None
    assert sy.messages.list(chat.id, user_id="alice").items == []


def test_a_reenabled_model_can_be_used_again(sy: Synergia) -> None:
    model = add_model(sy)
    sy.models.disable(model.id)
    sy.models.enable(model.id)
    chat = sy.chats.create(ChatCreate(user_id="alice"))
    message = sy.messages.add(
        chat.id,
        MessageCreate(role="assistant", content="x", model_id=model.id),
        user_id="alice",
    )
    assert message.model_id == model.id


@pytest.mark.parametrize(
    "fields",
    [
        {"provider": "open\x00ai"},
        {"name": "gpt\x00-4o"},
        {"display_name": "GPT\x00"},
        {"metadata": {"note": "a\x00b"}},
        {"metadata": {"k\x00ey": "v"}},
        {"metadata": {"nested": ["ok", {"deep": "\x00"}]}},
    ],
    ids=["provider", "name", "display_name", "metadata-value", "metadata-key", "metadata-nested"],
)
def test_nul_characters_are_refused_on_create(sy: Synergia, fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        add_model(sy, **fields)
    assert sy.models.list() == []


@pytest.mark.parametrize(
    "update",
    [
        {"display_name": "x\x00"},
        {"metadata": {"a": "\x00"}},
    ],
    ids=["display_name", "metadata"],
)
def test_nul_characters_are_refused_on_update(sy: Synergia, update: dict[str, Any]) -> None:
    created = add_model(sy)
    with pytest.raises(InvalidInputError):
        sy.models.update(created.id, ModelUpdate.model_validate(update))
    assert sy.models.get(created.id) == created
