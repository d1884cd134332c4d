"""synergia_core.pricing: the genai-prices catalog, priced as genai-prices prices it.

The heart of the file: for every model genai-prices has with a price per
token (flat or tiered), ``message_cost`` of the converted model equals
``genai_prices.calc_price`` for the same usage, to the last decimal. Usages
are random (hypothesis) with input sizes around every tier threshold, at
several instants (dated prices, DeepSeek's hours). Our ``Usage`` maps to
genai-prices' field for field: both count cache reads and writes inside
``input_tokens``, one-hour writes inside the cache writes (the rest are
five-minute writes) and reasoning inside ``output_tokens``.

Where the two differ by design, the test says so and checks the difference
exactly (see ``expected_difference``):

* a price per request (Perplexity's ``requests_kcount``) is not charged: we
  are cheaper by exactly that price;
* reasoning tokens priced apart from the output (``output_reasoning_mtok``)
  are charged at the output price: we differ by exactly the reasoning tokens
  times the price gap;
* a price with more than 10 decimal places (a float artefact in the data,
  ``0.18000000000000002``) is held rounded to 10 places: we differ by less
  than half a unit of the 10th place per million tokens.

Other prices (web searches, audio and image tokens ...) cost nothing here
and nothing there: our usage reports none of those units.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.metadata
import logging
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import genai_prices as gp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synergia_core import (
    ChatCreate,
    InvalidInputError,
    MessageCreate,
    ModelCreate,
    ModelRead,
    Synergia,
    Usage,
)
from synergia_core.pricing import (
    GENAI_PRICES_MIN_VERSION,
    SOURCE,
    PriceList,
    SkippedModel,
    genai_prices,
)
from synergia_core.repositories.protocols import ModelPricing
from synergia_core.schemas import MAX_TOKENS, SyncReport
from synergia_core.services._cost import message_cost

UTC = dt.timezone.utc
NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
EVENING = dt.datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
INSTANTS = (
    NOON,
    EVENING,  # DeepSeek's other hours
    dt.datetime(2026, 11, 30, 2, 0, tzinfo=UTC),  # DeepSeek's 01:00-04:00 window
    dt.datetime(2025, 3, 1, 12, 0, tzinfo=UTC),  # older dated prices
)
EXAMPLES = 20  # per provider: every example prices every model of the provider

SNAPSHOT = gp.data_snapshot.get_snapshot()
PROVIDERS = {provider.id: provider for provider in SNAPSHOT.providers}
GENAI_MODELS = {
    (provider.id, model.id): model for provider in SNAPSHOT.providers for model in provider.models
}
UNREACHABLE = {
    (provider.id, model.id)
    for provider in SNAPSHOT.providers
    for model in provider.models
    if provider.find_model(model.id) is not model
}
"""Models genai-prices itself cannot find by their own id (AWS's
``regional.*`` entries, matched only by patterns on other names): their
price is checked with ``ModelInfo.calc_price``, what ``calc_price`` runs
once it has found a model."""


@functools.cache
def converted(at: dt.datetime) -> PriceList:
    return genai_prices(at=at)


@functools.cache
def priced(at: dt.datetime) -> dict[str, list[tuple[ModelCreate, ModelPricing]]]:
    """The converted models at ``at`` with their pricing, by provider."""
    found: dict[str, list[tuple[ModelCreate, ModelPricing]]] = {}
    for model in converted(at):
        found.setdefault(model.provider, []).append((model, pricing_of(model)))
    return found


def pricing_of(model: ModelCreate) -> ModelPricing:
    return ModelPricing(
        id=uuid.uuid4(),
        is_enabled=True,
        is_deleted=False,
        input_price_per_million=model.input_price_per_million,
        output_price_per_million=model.output_price_per_million,
        cache_read_price_per_million=model.cache_read_price_per_million,
        cache_write_price_per_million=model.cache_write_price_per_million,
        context_window=model.context_window,
        max_output_tokens=model.max_output_tokens,
        cache_write_1h_price_per_million=model.cache_write_1h_price_per_million,
        tiers=tuple(model.tiers),
    )


def to_genai(usage: Usage) -> gp.Usage:
    """The same usage in genai-prices' terms (field for field: see the module docstring)."""
    return gp.Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_5m_tokens=usage.cache_write_tokens - usage.cache_write_1h_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_reasoning_tokens=usage.reasoning_tokens,
    )


def their_price(
    provider: Any, info: Any, usage: Usage, at: dt.datetime, *, reachable: bool = True
) -> Decimal:
    """``genai_prices.calc_price`` of the usage (for the unreachable few: the model's own)."""
    if reachable:
        calculation = gp.calc_price(
            to_genai(usage), info.id, provider_id=provider.id, genai_request_timestamp=at
        )
        assert calculation.model is info
    else:
        calculation = info.calc_price(to_genai(usage), provider, genai_request_timestamp=at)
    total: Decimal = calculation.total_price
    return total


def expected_difference(
    model: ModelCreate, info: Any, usage: Usage, at: dt.datetime
) -> Decimal | None:
    """How much genai-prices charges more than we do, by design: an exact
    amount, or ``None`` when it is a rounding (checked against a bound)."""
    if model.metadata.get("rounded_prices"):
        return None
    prices = vars(info.get_prices(at))
    difference = Decimal(0)
    if prices.get("requests_kcount") is not None:
        difference += prices["requests_kcount"] / 1000  # one request
    if prices.get("output_reasoning_mtok") is not None:
        reasoning, output = prices["output_reasoning_mtok"], prices["output_mtok"]
        assert isinstance(reasoning, Decimal), "a tiered reasoning price: update this test"
        assert isinstance(output, Decimal), "a tiered output price: update this test"
        difference += usage.reasoning_tokens * (reasoning - output) / 1_000_000
    return difference


def rounding_bound(usage: Usage) -> Decimal:
    """The most a rounding of each price to 10 places can change a cost."""
    tokens = usage.input_tokens + usage.output_tokens
    return tokens * Decimal("0.00000000005") / 1_000_000


def check(
    model: ModelCreate,
    pricing: ModelPricing,
    usage: Usage,
    at: dt.datetime,
    provider: Any = None,
    info: Any = None,
) -> None:
    """Our cost equals genai-prices' (bundled data unless ``provider`` and ``info``)."""
    key = (model.provider, model.name)
    if info is None:
        provider, info = PROVIDERS[model.provider], GENAI_MODELS[key]
    ours = message_cost(usage, pricing)
    theirs = their_price(provider, info, usage, at, reachable=key not in UNREACHABLE)
    difference = expected_difference(model, info, usage, at)
    where = f"{model.provider}/{model.name} at {at.isoformat()} for {usage!r}"
    if difference is None:
        assert abs(theirs - ours) <= rounding_bound(usage), where
    else:
        assert theirs - ours == difference, f"{where}: ours {ours}, theirs {theirs}"


@dataclasses.dataclass(frozen=True)
class Case:
    """A usage shape, made concrete for each model (around its own tiers)."""

    at: dt.datetime
    near_tier: bool
    tier: int
    delta: int
    input_tokens: int
    read: int  # per mille of the input
    write: int  # per mille of the rest
    one_hour: int  # per mille of the writes
    output_tokens: int
    reasoning: int  # per mille of the output

    def usage_for(self, pricing: ModelPricing) -> Usage:
        starts = sorted(tier.above_input_tokens for tier in pricing.tiers)
        input_tokens = self.input_tokens
        if self.near_tier and starts:
            input_tokens = min(max(0, starts[self.tier % len(starts)] + self.delta), MAX_TOKENS)
        cache_read = input_tokens * self.read // 1000
        cache_write = (input_tokens - cache_read) * self.write // 1000
        return Usage(
            input_tokens=input_tokens,
            output_tokens=self.output_tokens,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cache_write_1h_tokens=cache_write * self.one_hour // 1000,
            reasoning_tokens=self.output_tokens * self.reasoning // 1000,
        )


per_mille = st.integers(0, 1000)
cases = st.builds(
    Case,
    at=st.sampled_from(INSTANTS),
    near_tier=st.booleans(),
    tier=st.integers(0, 31),
    delta=st.integers(-3, 3),
    input_tokens=st.one_of(st.integers(0, 2_000_000), st.integers(0, MAX_TOKENS)),
    read=per_mille,
    write=per_mille,
    one_hour=per_mille,
    output_tokens=st.one_of(st.integers(0, 200_000), st.integers(0, MAX_TOKENS)),
    reasoning=per_mille,
)


# ----------------------------------------------------------------- equal prices


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=cases)
def test_every_model_costs_what_genai_prices_says(provider: str, case: Case) -> None:
    for model, pricing in priced(case.at).get(provider, []):
        check(model, pricing, case.usage_for(pricing), case.at)


def tier_cases() -> Iterator[tuple[ModelCreate, ModelPricing, int]]:
    for model, pricing in (pair for pairs in priced(NOON).values() for pair in pairs):
        for tier in model.tiers:
            for delta in (-1, 0, 1):
                yield model, pricing, tier.above_input_tokens + delta


def test_every_tier_threshold_of_every_model() -> None:
    """At one token below, at, and one token above each threshold: the tier
    applies when the input tokens exceed it (cached tokens counted)."""
    checked = set()
    for model, pricing, input_tokens in tier_cases():
        for read, write in ((0, 0), (input_tokens // 2, input_tokens // 4)):
            usage = Usage(
                input_tokens=input_tokens,
                output_tokens=1234,
                cache_read_tokens=read,
                cache_write_tokens=write,
                cache_write_1h_tokens=write // 3,
                reasoning_tokens=100,
            )
            check(model, pricing, usage, NOON)
        checked.add((model.provider, model.name))
    assert checked == {(model.provider, model.name) for model in converted(NOON) if model.tiers}


def test_every_model_is_converted_or_skipped() -> None:
    for at in INSTANTS:
        models = converted(at)
        names = [(model.provider, model.name) for model in models]
        skipped = [(item.provider, item.model) for item in models.skipped]
        assert sorted(names + skipped) == sorted(GENAI_MODELS)
        assert all(model.metadata["source"] == SOURCE for model in models)


def test_the_differences_by_design_are_few_and_named_in_metadata() -> None:
    """The models whose cost differs from genai-prices' (see the module
    docstring) are few, and their metadata says why."""
    differing = 0
    for model in converted(NOON):
        prices = vars(GENAI_MODELS[model.provider, model.name].get_prices(NOON))
        not_charged = model.metadata.get("not_charged", {})
        assert isinstance(not_charged, dict)
        for key in ("requests_kcount", "output_reasoning_mtok"):
            assert (prices.get(key) is not None) == (key in not_charged)
        rounded = model.metadata.get("rounded_prices", {})
        assert isinstance(rounded, dict)
        assert set(rounded) <= set(prices)
        differing += bool(rounded) or "requests_kcount" in not_charged
        differing += "output_reasoning_mtok" in not_charged
    assert differing < len(converted(NOON)) / 50


def test_providers_filter() -> None:
    models = genai_prices(["anthropic", "openai"], at=NOON)
    assert {model.provider for model in models} == {"anthropic", "openai"}
    assert isinstance(models, list)
    assert len(models) + len(models.skipped) == sum(
        provider in ("anthropic", "openai") for provider, _ in GENAI_MODELS
    )
    assert genai_prices([], at=NOON) == []


def test_bad_arguments() -> None:
    with pytest.raises(InvalidInputError, match="unknown provider 'opnai'") as info:
        genai_prices(["opnai"])
    assert info.value.field == "providers"
    with pytest.raises(InvalidInputError, match="not 'openai'"):
        genai_prices("openai")
    with pytest.raises(InvalidInputError, match="provider ids"):
        genai_prices([1])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="timezone-aware") as info:
        genai_prices(at=dt.datetime(2026, 1, 1))
    assert info.value.field == "at"


def test_without_genai_prices_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "genai_prices", None)
    with pytest.raises(ImportError, match=r"pip install 'synergia-core\[pricing\]'"):
        genai_prices()


def test_an_old_genai_prices_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.version

    def version(name: str) -> str:
        return "0.0.50" if name == "genai-prices" else real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    with pytest.raises(ImportError, match=r"genai-prices>=0\.1\.0, found 0\.0\.50"):
        genai_prices()
    assert GENAI_PRICES_MIN_VERSION == (0, 1, 0)


# ----------------------------------------------------------------- the database


def stored_fields(model: ModelCreate | ModelRead) -> dict[str, Any]:
    return model.model_dump(
        include={
            "input_price_per_million",
            "output_price_per_million",
            "cache_read_price_per_million",
            "cache_write_price_per_million",
            "cache_write_1h_price_per_million",
            "tiers",
            "aliases",
            "context_window",
            "display_name",
            "metadata",
        }
    )


def test_sync_of_the_whole_catalog(db_url: str) -> None:
    models = converted(NOON)
    done: list[int] = []
    with Synergia(db_url) as sy:
        assert sy.models.sync(models, progress=done.append) == SyncReport(created=len(models))
        assert done == list(range(1, len(models) + 1))
        assert sy.models.sync(models) == SyncReport(unchanged=len(models))

        stored = {(model.provider, model.name): model for model in sy.models.list()}
        assert len(stored) == len(models)
        for model in models:
            assert stored_fields(stored[model.provider, model.name]) == stored_fields(model)

        gpt = sy.models.get_by_name("openai", "gpt-4o-2024-08-06")
        assert gpt.name == "gpt-4o"
        assert sy.models.resolve("gpt-4o-2024-08-06", provider="openai").id == gpt.id

        # A reply on a stored tiered model costs what genai-prices says.
        model = next(
            model
            for model in models
            if model.tiers
            and not model.metadata.get("not_charged")
            and not model.metadata.get("rounded_prices")
        )
        stored_model = sy.models.get_by_name(model.provider, model.name)
        threshold = model.tiers[0].above_input_tokens
        usage = Usage(
            input_tokens=threshold + 1,
            output_tokens=2_000,
            cache_read_tokens=threshold // 2,
            cache_write_tokens=1_000,
            cache_write_1h_tokens=400,
        )
        chat = sy.chats.create(ChatCreate(user_id="u", model_id=stored_model.id))
        sy.messages.add(chat.id, MessageCreate(role="user", content="hi"), user_id="u")
        reply = sy.messages.add(
            chat.id,
            MessageCreate(role="assistant", content="...", model_id=stored_model.id, usage=usage),
            user_id="u",
        )
        info = GENAI_MODELS[model.provider, model.name]
        assert reply.cost == their_price(PROVIDERS[model.provider], info, usage, NOON)

        # The evening's prices: only models priced by the hour may change.
        evening = converted(EVENING)
        changes = [
            after
            for before, after in zip(models, evening, strict=True)
            if stored_fields(before) != stored_fields(after)
        ]
        by_the_hour = [model for model in models if "time_of_day_prices" in model.metadata]
        assert len(changes) <= len(by_the_hour)
        assert {(m.provider, m.name) for m in changes} <= {
            (m.provider, m.name) for m in by_the_hour
        }
        report = sy.models.sync(evening)
        assert report == SyncReport(updated=len(changes), unchanged=len(models) - len(changes))
        for after in changes:
            now = sy.models.get_by_name(after.provider, after.name)
            assert now.input_price_per_million == after.input_price_per_million


# ------------------------------------------- price shapes the bundled data lacks

T = gp.types


def tiered(base: str, *tiers: tuple[int, str]) -> Any:
    return T.TieredPrices(
        base=Decimal(base),
        tiers=[T.Tier(start=start, price=Decimal(price)) for start, price in tiers],
    )


def flat(**prices: str) -> Any:
    return T.ModelPrice(**{key: Decimal(value) for key, value in prices.items()})


def synthetic(model_id: str, prices: Any, *names: str) -> Any:
    match = T.ClauseOr(or_=[T.ClauseEquals(equals=name) for name in (model_id, *names)])
    return T.ModelInfo(id=model_id, match=match, name=model_id.title(), prices=prices)


SYNTHETIC = [
    # Each field with its own tier starts: one tier per start (100, 200, 300).
    synthetic(
        "mixed",
        T.ModelPrice(
            input_mtok=tiered("1", (100, "2"), (300, "3")),
            output_mtok=tiered("5", (200, "6")),
            cache_read_mtok=tiered("0.1", (300, "0.3")),
            cache_write_mtok=Decimal("1.25"),
            cache_write_1h_mtok=tiered("2", (100, "4")),
        ),
    ),
    # Two tiers with one start (the later one wins, as in genai-prices), and
    # a tier no request can reach (above a billion input tokens).
    synthetic(
        "same-start",
        T.ModelPrice(
            input_mtok=tiered("1", (100, "2"), (100, "3"), (2_000_000_000, "9")),
            output_mtok=Decimal("4"),
        ),
    ),
    # Five-minute write prices: the writes of our Usage that are not one-hour
    # writes are five-minute writes. (genai-prices wants a cache write price
    # beside it: a price needs the prices of its broader units.)
    synthetic(
        "five-minutes-and-writes",
        flat(input_mtok="1", output_mtok="2", cache_write_mtok="1.5", cache_write_5m_mtok="1.25"),
    ),
    synthetic(
        "five-minutes-and-hour",
        flat(
            input_mtok="1",
            output_mtok="2",
            cache_write_mtok="1.5",
            cache_write_5m_mtok="1.25",
            cache_write_1h_mtok="2",
        ),
    ),
    synthetic(
        "tiered-five-minutes",
        T.ModelPrice(
            input_mtok=tiered("1", (1000, "2")),
            output_mtok=Decimal("2"),
            cache_write_mtok=Decimal("1.5"),
            cache_write_5m_mtok=tiered("1.25", (1000, "2.5")),
        ),
    ),
    # Only an output price: input tokens cost nothing, as in genai-prices.
    synthetic("output-only", flat(output_mtok="3")),
    # Dated prices with hours: the hours before the last dated price never apply.
    synthetic(
        "hours-shadowed",
        [
            T.ConditionalPrice(
                constraint=T.TimeOfDateConstraint(
                    start_time=dt.time(0, 0, tzinfo=UTC), end_time=dt.time(23, 0, tzinfo=UTC)
                ),
                prices=flat(input_mtok="7", output_mtok="7"),
            ),
            T.ConditionalPrice(
                constraint=T.StartDateConstraint(start_date=dt.date(2026, 1, 1)),
                prices=flat(input_mtok="1", output_mtok="2"),
            ),
        ],
    ),
]


@pytest.fixture
def install() -> Iterator[Any]:
    """Installs a custom genai-prices snapshot of one provider, ``acme``."""

    def install_models(*models: Any) -> Any:
        provider = T.Provider(
            id="acme", name="Acme", api_pattern=r"https://acme\.example", models=list(models)
        )
        gp.data_snapshot.set_custom_snapshot(
            gp.data_snapshot.DataSnapshot(providers=[provider], from_auto_update=False)
        )
        return provider

    yield install_models
    gp.data_snapshot.set_custom_snapshot(None)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(case=cases)
def test_price_shapes_the_data_lacks_cost_the_same(case: Case) -> None:
    provider = T.Provider(id="acme", name="Acme", api_pattern="x", models=list(SYNTHETIC))
    gp.data_snapshot.set_custom_snapshot(
        gp.data_snapshot.DataSnapshot(providers=[provider], from_auto_update=False)
    )
    try:
        models = genai_prices(at=case.at)
        assert [model.name for model in models] == [info.id for info in SYNTHETIC]
        for model, info in zip(models, SYNTHETIC, strict=True):
            pricing = pricing_of(model)
            check(model, pricing, case.usage_for(pricing), case.at, provider, info)
            for tier in model.tiers:
                for delta in (-1, 0, 1):
                    usage = dataclasses.replace(
                        case, near_tier=False, input_tokens=tier.above_input_tokens + delta
                    )
                    check(model, pricing, usage.usage_for(pricing), case.at, provider, info)
    finally:
        gp.data_snapshot.set_custom_snapshot(None)


def test_the_shapes_convert_as_documented(install: Any) -> None:
    install(*SYNTHETIC)
    models = {model.name: model for model in genai_prices(at=NOON)}
    mixed = models["mixed"]
    assert [
        (
            tier.above_input_tokens,
            tier.input_price_per_million,
            tier.output_price_per_million,
            tier.cache_read_price_per_million,
            tier.cache_write_price_per_million,
            tier.cache_write_1h_price_per_million,
        )
        for tier in mixed.tiers
    ] == [
        (100, Decimal(2), Decimal(5), Decimal("0.1"), Decimal("1.25"), Decimal(4)),
        (200, Decimal(2), Decimal(6), Decimal("0.1"), Decimal("1.25"), Decimal(4)),
        (300, Decimal(3), Decimal(6), Decimal("0.3"), Decimal("1.25"), Decimal(4)),
    ]
    assert [
        (tier.above_input_tokens, tier.input_price_per_million)
        for tier in models["same-start"].tiers
    ] == [(100, Decimal(3))]
    both = models["five-minutes-and-writes"]
    assert (both.cache_write_price_per_million, both.cache_write_1h_price_per_million) == (
        Decimal("1.25"),
        Decimal("1.5"),
    )
    assert models["output-only"].input_price_per_million == 0
    assert models["hours-shadowed"].input_price_per_million == 1
    assert "time_of_day_prices" not in models["hours-shadowed"].metadata


def test_aliases_are_the_exact_names_genai_prices_resolves_to_the_model(install: Any) -> None:
    first = T.ModelInfo(
        id="first",
        match=T.ClauseOr(
            or_=[T.ClauseEquals(equals="first"), T.ClauseStartsWith(starts_with="shared")]
        ),
        prices=flat(input_mtok="1", output_mtok="1"),
    )
    second = synthetic(
        "second",
        flat(input_mtok="2", output_mtok="2"),
        "second-2026-01-01",
        "shared-name",  # first's pattern claims it: genai-prices prices it as first
        "first",  # another model's name
        "second-2026-01-01",  # twice
        "x" * 201,  # longer than a name can be
    )
    third = T.ModelInfo(
        id="third",
        match=T.ClauseAnd(and_=[T.ClauseEquals(equals="third"), T.ClauseEquals(equals="third")]),
        prices=flat(input_mtok="3", output_mtok="3"),
    )
    install(first, second, third)
    models = {model.name: model for model in genai_prices(at=NOON)}
    assert models["first"].aliases == []
    assert models["second"].aliases == ["second-2026-01-01"]
    assert models["third"].aliases == []


def test_models_the_catalog_cannot_hold_are_skipped(install: Any) -> None:
    many = T.ModelPrice(
        input_mtok=tiered("1", *((1000 * n, "2") for n in range(1, 34))), output_mtok=Decimal(1)
    )
    install(
        synthetic("many-tiers", many),
        synthetic("y" * 201, flat(input_mtok="1", output_mtok="1")),
        synthetic("per-request", flat(requests_kcount="5")),
        synthetic("free", T.ModelPrice()),
    )
    models = genai_prices(at=NOON)
    assert [model.name for model in models] == ["free"]
    assert [(item.model[:10], item.reason) for item in models.skipped] == [
        ("many-tiers", "33 price tiers (at most 32)"),
        ("y" * 10, "invalid name: String should have at most 200 characters"),
        ("per-reques", "no input or output token price, only requests_kcount"),
    ]


def test_a_model_with_its_names_and_what_is_not_charged(install: Any) -> None:
    variants = []
    if hasattr(T, "PriceVariant"):  # genai-prices >= 0.1.13
        variants = [
            T.PriceVariant(when={"service_tier": "flex"}, prices=flat(input_mtok="1.25")),
            T.PriceVariant(
                when={"service_tier": "priority"},
                prices=flat(input_mtok="5"),
                constraint=T.StartDateConstraint(start_date=dt.date(2027, 1, 1)),  # not yet
            ),
        ]
    extra: dict[str, Any] = {"price_variants": variants} if variants else {}
    model = T.ModelInfo(
        id="gpt-9",
        name="GPT 9",
        context_window=128_000,
        deprecated=True,
        match=T.ClauseOr(
            or_=[
                T.ClauseEquals(equals="gpt-9"),
                T.ClauseEquals(equals="gpt-9-2026-01-01"),
                T.ClauseStartsWith(starts_with="gpt-9-"),
            ]
        ),
        prices=T.ModelPrice(
            input_mtok=Decimal("2.5"),
            output_mtok=Decimal("10"),
            cache_read_mtok=Decimal("1.25"),
            web_searches_kcount=Decimal("10"),
            output_audio_mtok=tiered("40", (1000, "80")),
        ),
        **extra,
    )
    install(model)
    [converted_model] = genai_prices(at=NOON)
    metadata: dict[str, Any] = {
        "source": "genai-prices",
        "not_charged": {
            "web_searches_kcount": "10",
            "output_audio_mtok": {"base": "40", "tiers": [{"start": 1000, "price": "80"}]},
        },
        "deprecated": True,
    }
    if variants:
        metadata["price_variants"] = [
            {"when": {"service_tier": "flex"}, "prices": {"input_mtok": "1.25"}}
        ]
    assert converted_model == ModelCreate(
        provider="acme",
        name="gpt-9",
        display_name="GPT 9",
        input_price_per_million=Decimal("2.5"),
        output_price_per_million=Decimal("10"),
        cache_read_price_per_million=Decimal("1.25"),
        aliases=["gpt-9-2026-01-01"],
        context_window=128_000,
        metadata=metadata,
    )


def test_prices_by_the_hour_are_those_at_the_moment(install: Any) -> None:
    install(
        T.ModelInfo(
            id="deep",
            match=T.ClauseEquals(equals="deep"),
            prices=[
                T.ConditionalPrice(prices=flat(input_mtok="0.135", output_mtok="0.55")),
                T.ConditionalPrice(
                    constraint=T.TimeOfDateConstraint(
                        start_time=dt.time(1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
                        end_time=dt.time(16, 30, tzinfo=UTC),
                    ),
                    prices=flat(input_mtok="0.27", output_mtok="1.1"),
                ),
            ],
        )
    )
    [noon] = genai_prices(at=NOON)
    [evening] = genai_prices(at=EVENING)
    assert (noon.input_price_per_million, evening.input_price_per_million) == (
        Decimal("0.27"),
        Decimal("0.135"),
    )
    assert noon.metadata == evening.metadata
    assert noon.metadata["time_of_day_prices"] == {
        "hours": [
            {
                "start": "00:30:00",
                "end": "16:30:00",
                "prices": {"input_mtok": "0.27", "output_mtok": "1.1"},
            }
        ],
        "other_hours": {"input_mtok": "0.135", "output_mtok": "0.55"},
    }


def test_dated_prices_are_those_in_force_at_the_moment(install: Any) -> None:
    install(
        synthetic(
            "dated",
            [
                T.ConditionalPrice(prices=flat(input_mtok="1", output_mtok="2")),
                T.ConditionalPrice(
                    constraint=T.StartDateConstraint(start_date=dt.date(2026, 12, 1)),
                    prices=flat(input_mtok="3", output_mtok="4"),
                ),
            ],
        )
    )
    assert genai_prices(at=NOON)[0].input_price_per_million == 1
    later = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.timezone(-dt.timedelta(hours=1)))
    assert genai_prices(at=later)[0].input_price_per_million == 3  # December 1st in UTC


def test_free_and_priced_by_the_hour(install: Any, caplog: pytest.LogCaptureFixture) -> None:
    install(
        synthetic("free", T.ModelPrice()),
        synthetic("embedding", flat(input_mtok="0.02")),
        synthetic("whisper", flat(audio_hours="0.36", input_audio_hours="0.36")),
    )
    with caplog.at_level(logging.WARNING, logger="synergia_core.pricing"):
        models = genai_prices(at=NOON)
    free, embedding = models
    assert (free.input_price_per_million, free.output_price_per_million) == (Decimal(0),) * 2
    assert (embedding.input_price_per_million, embedding.output_price_per_million) == (
        Decimal("0.02"),
        Decimal(0),
    )
    assert models.skipped == [
        SkippedModel(
            "acme", "whisper", "no input or output token price, only audio_hours, input_audio_hours"
        )
    ]
    [record] = caplog.records
    assert record.getMessage() == (
        "genai-prices: skipped 1 model(s) a catalog entry cannot price: acme/whisper "
        "(no input or output token price, only audio_hours, input_audio_hours)"
    )


def test_prices_past_ten_places_are_rounded_and_kept_exact_in_metadata(install: Any) -> None:
    install(
        synthetic(
            "floaty",
            T.ModelPrice(
                input_mtok=Decimal("0.18000000000000002"),
                output_mtok=tiered("1.0399999999999998", (1000, "0.08333333333333334")),
            ),
        )
    )
    [model] = genai_prices(at=NOON)
    assert str(model.input_price_per_million) == "0.18"
    assert str(model.output_price_per_million) == "1.04"
    assert str(model.tiers[0].output_price_per_million) == "0.0833333333"
    assert model.metadata["rounded_prices"] == {
        "input_mtok": "0.18000000000000002",
        "output_mtok": {
            "base": "1.0399999999999998",
            "tiers": [{"start": 1000, "price": "0.08333333333333334"}],
        },
    }
