"""ModelService on both backends."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from synergia_core import (
    InvalidInputError,
    ModelAlreadyExists,
    ModelCreate,
    ModelNotFound,
    ModelUpdate,
    Synergia,
)
from tests.helpers import make_model


def test_create_and_read_back_exact_prices(sy: Synergia) -> None:
    model = make_model(
        sy,
        input_price="0.0000000001",
        output_price="75.1234567890",
        cache_read_price_per_million=Decimal("0.30"),
        context_window=200_000,
        max_output_tokens=8192,
        metadata={"family": "gpt-4"},
    )
    assert model.id.version == 7
    again = sy.models.get(model.id)
    assert again == model
    assert again.input_price_per_million == Decimal("0.0000000001")
    assert str(again.output_price_per_million) == "75.1234567890"
    assert again.cache_read_price_per_million == Decimal("0.30")
    assert again.cache_write_price_per_million is None
    assert again.metadata == {"family": "gpt-4"}
    assert again.created_at == again.updated_at
    assert again.created_at.tzinfo is not None


def test_duplicate_live_model_is_refused(sy: Synergia) -> None:
    make_model(sy)
    with pytest.raises(ModelAlreadyExists) as caught:
        make_model(sy, output_price="99")
    assert (caught.value.provider, caught.value.name) == ("openai", "gpt-4o")
    assert len(sy.models.list()) == 1


def test_same_name_under_another_provider_is_fine(sy: Synergia) -> None:
    make_model(sy)
    make_model(sy, provider="azure")
    assert [m.provider for m in sy.models.list()] == ["azure", "openai"]


def test_deleted_model_name_can_be_reused(sy: Synergia) -> None:
    first = make_model(sy)
    sy.models.delete(first.id)
    second = make_model(sy)
    assert second.id != first.id
    assert sy.models.get_by_name("openai", "gpt-4o") == second
    with pytest.raises(ModelNotFound):
        sy.models.get(first.id)


def test_duplicate_inside_a_transaction_leaves_it_usable(sy: Synergia) -> None:
    make_model(sy)
    with sy.transaction() as tx:
        with pytest.raises(ModelAlreadyExists):
            tx.models.create(
                ModelCreate.model_validate(
                    {"provider": "openai", "name": "gpt-4o", "price_per_million_tokens": 1}
                )
            )
        other = tx.models.create(
            ModelCreate.model_validate(
                {"provider": "openai", "name": "o3", "price_per_million_tokens": 1}
            )
        )
    assert sy.models.get(other.id).name == "o3"


def test_price_shorthand(sy: Synergia) -> None:
    model = sy.models.create(
        ModelCreate.model_validate(
            {"provider": "OpenAI", "name": "GPT-4", "price_per_million_tokens": 10.0}
        )
    )
    assert model.input_price_per_million == model.output_price_per_million == Decimal("10.0")


def test_list_filters(sy: Synergia) -> None:
    gpt = make_model(sy)
    make_model(sy, "claude", provider="anthropic")
    sy.models.disable(gpt.id)
    assert [m.name for m in sy.models.list()] == ["claude", "gpt-4o"]
    assert [m.name for m in sy.models.list(enabled_only=True)] == ["claude"]
    assert [m.name for m in sy.models.list(provider="openai")] == ["gpt-4o"]
    assert sy.models.list(provider="nobody") == []


def test_update_changes_only_given_fields(sy: Synergia) -> None:
    model = make_model(sy, display_name="GPT-4o", context_window=128_000)
    updated = sy.models.update(
        model.id, ModelUpdate(output_price_per_million=Decimal("12"), display_name=None)
    )
    assert updated.output_price_per_million == Decimal("12")
    assert updated.display_name is None
    assert updated.input_price_per_million == Decimal("2.50")
    assert updated.context_window == 128_000
    assert updated.updated_at >= model.updated_at
    assert sy.models.get(model.id) == updated


def test_update_keeps_max_output_within_the_window(sy: Synergia) -> None:
    model = make_model(sy, context_window=1000, max_output_tokens=500)
    with pytest.raises(InvalidInputError, match="max_output_tokens"):
        sy.models.update(model.id, ModelUpdate(max_output_tokens=2000))
    assert sy.models.get(model.id).max_output_tokens == 500


def test_enable_disable(sy: Synergia) -> None:
    model = make_model(sy, is_enabled=False)
    assert not model.is_enabled
    assert sy.models.enable(model.id).is_enabled
    assert not sy.models.disable(model.id).is_enabled


def test_missing_and_deleted_models(sy: Synergia) -> None:
    missing = uuid.uuid4()
    for call in (
        lambda: sy.models.get(missing),
        lambda: sy.models.update(missing, ModelUpdate(display_name="x")),
        lambda: sy.models.enable(missing),
        lambda: sy.models.disable(missing),
        lambda: sy.models.delete(missing),
    ):
        with pytest.raises(ModelNotFound) as caught:
            call()
        assert caught.value.id == missing
    model = make_model(sy)
    sy.models.delete(model.id)
    with pytest.raises(ModelNotFound):
        sy.models.delete(model.id)
    with pytest.raises(ModelNotFound):
        sy.models.get_by_name("openai", "gpt-4o")


def test_ids_as_strings_and_bad_ids(sy: Synergia) -> None:
    model = make_model(sy)
    assert sy.models.get(str(model.id)) == model
    with pytest.raises(InvalidInputError, match="not a UUID"):
        sy.models.get("not-a-uuid")


def test_nul_characters_are_refused(sy: Synergia) -> None:
    with pytest.raises(InvalidInputError, match="NUL"):
        make_model(sy, "bad\x00name")
    with pytest.raises(InvalidInputError, match="NUL"):
        make_model(sy, metadata={"k": "v\x00"})
    assert sy.models.list() == []


def test_rename_keeps_live_names_unique(sy: Synergia) -> None:
    model = make_model(sy)
    make_model(sy, "o3")
    renamed = sy.models.update(model.id, ModelUpdate(name="gpt-4o-2024-08-06"))
    assert (renamed.provider, renamed.name) == ("openai", "gpt-4o-2024-08-06")
    with pytest.raises(ModelAlreadyExists):
        sy.models.update(model.id, ModelUpdate(name="o3"))
    assert sy.models.update(model.id, ModelUpdate(provider="azure", name="o3")).provider == "azure"
    with pytest.raises(InvalidInputError, match="NUL"):
        sy.models.update(model.id, ModelUpdate(name="x\x00"))
    assert sy.models.get(model.id).name == "o3"
