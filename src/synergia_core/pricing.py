"""Catalog data from price lists: :func:`genai_prices` converts the
`genai-prices <https://github.com/pydantic/genai-prices>`_ package's data into
:class:`~synergia_core.schemas.ModelCreate` objects, ready for
:meth:`ModelService.sync <synergia_core.services.models.ModelService.sync>`.

``genai-prices`` is an optional dependency: ``pip install
'synergia-core[pricing]'``. Only the data the package carries is read (or a
snapshot the host installed itself with ``genai_prices.UpdatePrices``): this
module never fetches anything over the network.

What the conversion keeps, so that :func:`~synergia_core.services._cost.message_cost`
prices a call exactly as ``genai_prices.calc_price`` does (the tests check it
for every model, to the last decimal):

* the prices per million tokens: input, output, cache read, cache write
  (its five-minute price when genai-prices has one) and one-hour cache
  write, as exact decimals. A price genai-prices does not give is charged as
  genai-prices charges it: a cache price falls back to the input price (a
  one-hour write to the cache write price), a missing input or output price
  is zero;
* tiered prices (``TieredPrices``) as :class:`~synergia_core.schemas.PriceTier`
  objects: genai-prices prices the whole request at the highest tier whose
  start the request's ``input_tokens`` (cached tokens included) exceed, and
  so does :func:`message_cost`. Each field may have its own tiers; the
  conversion makes one tier per start of any field, holding every field's
  price at that start;
* of several dated prices (``ConditionalPrice``), the one genai-prices applies
  at ``at``;
* ``context_window``, the display name, and as ``aliases`` the exact names of
  the model's match rule (see :func:`genai_prices`).

What it cannot represent is kept in ``metadata`` and never charged (see
:func:`genai_prices`), and a model priced only in units other than tokens is
skipped (:attr:`PriceList.skipped`).
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.metadata
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple

from pydantic import JsonValue, ValidationError

from synergia_core.errors import InvalidInputError
from synergia_core.schemas import MAX_PRICE_PLACES, MAX_TOKENS, ModelCreate, PriceTier

__all__ = ["GENAI_PRICES_MIN_VERSION", "SOURCE", "PriceList", "SkippedModel", "genai_prices"]

logger = logging.getLogger(__name__)

SOURCE = "genai-prices"
"""``metadata["source"]`` of every model :func:`genai_prices` returns."""

GENAI_PRICES_MIN_VERSION = (0, 1, 0)
"""The oldest genai-prices release whose pricing :func:`genai_prices` reproduces:
0.1.0 is the first with one-hour cache write prices. Older ones price
differently besides (0.0.50 charged cached tokens without a cache price
nothing; 0.0.40 priced each band of tokens at its own tier)."""

_EXTRA_HINT = "pip install 'synergia-core[pricing]'"

# The token prices message_cost charges, by genai-prices price key.
_INPUT = "input_mtok"
_OUTPUT = "output_mtok"
_CACHE_READ = "cache_read_mtok"
_CACHE_WRITE = "cache_write_mtok"
_CACHE_WRITE_5M = "cache_write_5m_mtok"
_CACHE_WRITE_1H = "cache_write_1h_mtok"
_TOKEN_KEYS = frozenset(
    {_INPUT, _OUTPUT, _CACHE_READ, _CACHE_WRITE, _CACHE_WRITE_5M, _CACHE_WRITE_1H}
)

_QUANTUM = Decimal(1).scaleb(-MAX_PRICE_PLACES)
_MAX_ALIASES = 100


class SkippedModel(NamedTuple):
    """A model of the price list that :func:`genai_prices` could not convert."""

    provider: str
    """The genai-prices provider id."""
    model: str
    """The genai-prices model id."""
    reason: str
    """Why, in a few words."""


class PriceList(list[ModelCreate]):
    """The models :func:`genai_prices` converted (a plain ``list`` of
    :class:`~synergia_core.schemas.ModelCreate`), with the ones it skipped."""

    skipped: list[SkippedModel]
    """Models priced only in units a catalog entry cannot hold (characters,
    audio hours, pages, requests ...), or whose data is invalid."""

    def __init__(self, models: Iterable[ModelCreate] = (), skipped: Iterable[SkippedModel] = ()):
        super().__init__(models)
        self.skipped = list(skipped)


def genai_prices(
    providers: Iterable[str] | None = None, *, at: dt.datetime | None = None
) -> PriceList:
    """The models of the ``genai-prices`` package, as catalog entries.

    Each model becomes a :class:`~synergia_core.schemas.ModelCreate` with
    ``provider`` the genai-prices provider id, ``name`` the model id,
    ``display_name`` the model's name, its prices per million tokens (as
    genai-prices charges them, tiers included), ``context_window`` when
    known, and ``aliases``: the names the model's match rule lists exactly
    (``equals`` clauses, alone or in an ``or``) that genai-prices resolves to
    this model, so that ``gpt-4o-2024-08-06`` finds ``gpt-4o``. Pattern
    clauses (``starts_with``, ``ends_with``, ``contains``, ``regex``, ``and``)
    match open-ended families of names and give no alias: a snapshot they
    match (``claude-3-5-sonnet-20241022``) is found by the model's own name
    only. Names are kept as genai-prices writes them; genai-prices matches
    them ignoring case, the catalog does not.

    ``metadata`` holds ``{"source": "genai-prices"}`` and, only when there are
    some, what the catalog cannot charge (kept so that nothing is lost; none
    of it is charged):

    * ``"not_charged"``: the other prices (per request, per web search,
      audio, image and video tokens, reasoning tokens priced apart from the
      output, characters, audio hours ...), by genai-prices price key, as
      strings (tiered: ``{"base": ..., "tiers": [{"start": ..., "price": ...}]}``);
    * ``"price_variants"``: prices that replace these for some requests
      (a service tier, batch processing): ``[{"when": {...}, "prices": {...}}]``;
    * ``"time_of_day_prices"``: for a price that depends on the hour
      (DeepSeek's peak and off-peak hours), every window's prices and those
      of the other hours: ``{"hours": [{"start": "HH:MM:SS", "end":
      "HH:MM:SS", "prices": {...}}], "other_hours": {...}}``, in UTC. The
      converted prices are those that apply at ``at``, hour included, as
      genai-prices would price a request made then;
    * ``"rounded_prices"``: the exact genai-prices value (tiers included) of
      a price with more than 10 decimal places (a floating-point artefact
      such as ``0.18000000000000002``), which the catalog holds rounded
      half-even to 10 places;
    * ``"deprecated": true`` when genai-prices says so.

    A model genai-prices lists with no price at all is free there (every call
    costs 0) and is converted with zero prices. A model priced in other
    units but with neither an input nor an output token price (speech,
    transcription, OCR ...) is skipped: its calls cost money that a token
    price cannot carry. Skipped models are in the result's
    :attr:`PriceList.skipped` and logged in one warning.

    A provider's fallback to another provider's models (Azure to OpenAI ...)
    is not copied: sync the other provider too.

    Args:
        providers: Only these provider ids (``["openai", "anthropic"]``);
            ``None``: every provider.
        at: When the prices should apply, a timezone-aware datetime
            (default: now). It picks among dated prices and hours of the day
            as genai-prices does for a request made at that moment.

    Returns:
        The converted models, in genai-prices order, with
        :attr:`PriceList.skipped`.

    Raises:
        ImportError: genai-prices is not installed (``pip install
            'synergia-core[pricing]'``) or older than
            :data:`GENAI_PRICES_MIN_VERSION`.
        InvalidInputError: ``providers`` names a provider genai-prices does
            not have, or is a string; ``at`` is not a timezone-aware datetime.
    """
    if isinstance(providers, (str, bytes)):
        raise InvalidInputError(
            "providers is a list of provider ids: give ['openai'], not 'openai'",
            field="providers",
        )
    wanted = None if providers is None else list(providers)
    if wanted is not None and not all(isinstance(item, str) for item in wanted):
        raise InvalidInputError("providers must be provider ids (strings)", field="providers")
    when = _aware(dt.datetime.now(dt.timezone.utc) if at is None else at)
    snapshot = _load().data_snapshot.get_snapshot()
    known = [provider.id for provider in snapshot.providers]
    if wanted is not None:
        unknown = [item for item in wanted if item not in known]
        if unknown:
            raise InvalidInputError(
                f"unknown provider {unknown[0]!r} (genai-prices has: {', '.join(sorted(known))})",
                field="providers",
            )
    result = PriceList()
    for provider in snapshot.providers:
        if wanted is not None and provider.id not in wanted:
            continue
        ids = {model.id for model in provider.models}
        for model in provider.models:
            converted = _convert(provider, model, ids, when)
            if isinstance(converted, str):
                result.skipped.append(SkippedModel(provider.id, model.id, converted))
            else:
                result.append(converted)
    if result.skipped:
        logger.warning(
            "genai-prices: skipped %d model(s) a catalog entry cannot price: %s",
            len(result.skipped),
            ", ".join(f"{item.provider}/{item.model} ({item.reason})" for item in result.skipped),
        )
    logger.info("genai-prices: converted %d model(s)", len(result))
    return result


def _aware(value: object) -> dt.datetime:
    """``value``, a timezone-aware datetime, in UTC."""
    offset = value.utcoffset() if isinstance(value, dt.datetime) else None
    if offset is None:
        raise InvalidInputError("at must be a timezone-aware datetime", field="at")
    assert isinstance(value, dt.datetime)
    return value.astimezone(dt.timezone.utc)


# ----------------------------------------------------------------------- loading


def _load() -> Any:
    """The ``genai_prices`` package, checked to be recent enough."""
    try:
        module = importlib.import_module("genai_prices")
    except ImportError as exc:
        raise ImportError(
            f"synergia_core.pricing needs the genai-prices package: {_EXTRA_HINT}"
        ) from exc
    version = importlib.metadata.version("genai-prices")
    if _version_tuple(version) < GENAI_PRICES_MIN_VERSION:
        minimum = ".".join(map(str, GENAI_PRICES_MIN_VERSION))
        raise ImportError(
            f"synergia_core.pricing needs genai-prices>={minimum}, found {version}: {_EXTRA_HINT}"
        )
    importlib.import_module("genai_prices.data_snapshot")
    return module


def _version_tuple(version: str) -> tuple[int, ...]:
    """The leading numbers of a version string (``0.1.0rc1`` -> ``(0, 1, 0)``)."""
    numbers: list[int] = []
    for part in version.split("."):
        match = re.match(r"\d+", part)
        if match is None:
            break
        numbers.append(int(match.group()))
        if match.end() != len(part):
            break
    return tuple(numbers)


# -------------------------------------------------------------------- conversion


def _convert(provider: Any, model: Any, ids: set[str], at: dt.datetime) -> ModelCreate | str:
    """One genai-prices model as a :class:`ModelCreate`, or why it cannot be one."""
    prices = {
        key: value
        for key, value in vars(model.get_prices(at)).items()
        if not key.startswith("_") and value is not None
    }
    if prices and _INPUT not in prices and _OUTPUT not in prices:
        return f"no input or output token price, only {', '.join(sorted(prices))}"
    rounded: dict[str, JsonValue] = {}
    try:
        fields, tiers = _token_prices(prices, rounded)
    except ValueError as exc:
        return str(exc)
    metadata: dict[str, JsonValue] = {"source": SOURCE}
    not_charged = {
        key: _price_json(value) for key, value in prices.items() if key not in _TOKEN_KEYS
    }
    if not_charged:
        metadata["not_charged"] = not_charged
    variants = _variants(model, at)
    if variants:
        metadata["price_variants"] = variants
    time_of_day = _time_of_day_prices(model, at)
    if time_of_day:
        metadata["time_of_day_prices"] = time_of_day
    if rounded:
        metadata["rounded_prices"] = rounded
    if getattr(model, "deprecated", None):
        metadata["deprecated"] = True
    try:
        return ModelCreate(
            provider=provider.id,
            name=model.id,
            display_name=(model.name or "").strip() or None,
            **fields,
            tiers=tiers,
            aliases=_aliases(provider, model, ids),
            context_window=_window(model.context_window),
            metadata=metadata,
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return f"invalid {where}: {error['msg']}"


def _window(value: object) -> int | None:
    """A context window the catalog can hold, else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_TOKENS:
        return value
    return None


def _token_prices(
    prices: Mapping[str, Any], rounded: dict[str, JsonValue]
) -> tuple[dict[str, Decimal | None], list[PriceTier]]:
    """The base price fields and the tiers of a model's token prices.

    Raises:
        ValueError: The tiers cannot be represented.
    """
    token_prices = {key: value for key, value in prices.items() if key in _TOKEN_KEYS}
    starts = sorted(
        {
            tier.start
            for value in token_prices.values()
            if not isinstance(value, Decimal)
            for tier in value.tiers
            if tier.start < MAX_TOKENS  # no request has more input tokens than that
        }
    )

    def at_start(start: int | None) -> dict[str, Decimal | None]:
        def price(key: str) -> Decimal | None:
            value = token_prices.get(key)
            if value is None:
                return None
            if not isinstance(value, Decimal):
                # A tiered price applies its highest tier whose start the
                # request's input tokens exceed: for requests between this
                # start and the next one, the last tier starting at or below it.
                chosen = value.base
                if start is not None:
                    for tier in sorted(value.tiers, key=lambda tier: tier.start):
                        if tier.start <= start:
                            chosen = tier.price
                value = chosen
            exact = _exact(value)
            if exact != value:
                rounded[key] = _price_json(token_prices[key])
            return exact

        return _fields(price)

    base = at_start(None)
    tiers = []
    for start in starts:
        values = at_start(start)
        tiers.append(
            PriceTier(
                above_input_tokens=start,
                input_price_per_million=values["input_price_per_million"] or Decimal(0),
                output_price_per_million=values["output_price_per_million"] or Decimal(0),
                cache_read_price_per_million=values["cache_read_price_per_million"],
                cache_write_price_per_million=values["cache_write_price_per_million"],
                cache_write_1h_price_per_million=values["cache_write_1h_price_per_million"],
            )
        )
    if len(tiers) > 32:
        raise ValueError(f"{len(tiers)} price tiers (at most 32)")
    base["input_price_per_million"] = base["input_price_per_million"] or Decimal(0)
    base["output_price_per_million"] = base["output_price_per_million"] or Decimal(0)
    return base, tiers


def _fields(price: Callable[[str], Decimal | None]) -> dict[str, Decimal | None]:
    """Our price fields from genai-prices' token prices (``price(key)``).

    genai-prices charges each token once, at the most specific price it
    has: a cache read at ``cache_read_mtok``, else as input; a cache write
    at its TTL's price (``cache_write_5m_mtok`` or ``cache_write_1h_mtok``),
    else at ``cache_write_mtok``, else as input; input and output tokens
    without a price cost nothing. The writes that are not one-hour writes
    are five-minute writes (our ``Usage``'s convention).
    """
    input_price = price(_INPUT)
    write = price(_CACHE_WRITE)
    write_5m = price(_CACHE_WRITE_5M)
    write_1h = price(_CACHE_WRITE_1H)
    if write_1h is None and write_5m is not None:
        # A one-hour write falls back to cache_write_mtok (or the input
        # price), not to the five-minute price our cache write price holds.
        write_1h = write if write is not None else (input_price or Decimal(0))
    return {
        "input_price_per_million": input_price,
        "output_price_per_million": price(_OUTPUT),
        "cache_read_price_per_million": price(_CACHE_READ),
        "cache_write_price_per_million": write_5m if write_5m is not None else write,
        "cache_write_1h_price_per_million": write_1h,
    }


def _exact(value: Decimal) -> Decimal:
    """``value``, rounded half-even to the catalog's 10 decimal places when it has more."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PRICE_PLACES:
        value = value.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN).normalize()
        if value.as_tuple().exponent > 0:  # type: ignore[operator]  # 1E+1 -> 10
            value = value.quantize(Decimal(1))
    return value


def _price_json(value: Any) -> JsonValue:
    """A genai-prices price (a ``Decimal`` or ``TieredPrices``) as JSON."""
    if isinstance(value, Decimal):
        return str(value)
    return {
        "base": str(value.base),
        "tiers": [{"start": tier.start, "price": str(tier.price)} for tier in value.tiers],
    }


def _prices_json(model_price: Any) -> dict[str, JsonValue]:
    return {
        key: _price_json(value)
        for key, value in vars(model_price).items()
        if not key.startswith("_") and value is not None
    }


def _variants(model: Any, at: dt.datetime) -> list[JsonValue]:
    """The request-specific price variants in force at ``at``."""
    variants: list[JsonValue] = []
    for variant in getattr(model, "price_variants", None) or ():
        if variant.constraint is not None and not variant.constraint.active(at):
            continue
        prices = _prices_json(variant.prices)
        if prices:
            variants.append({"when": dict(variant.when), "prices": prices})
    return variants


def _time_of_day_prices(model: Any, at: dt.datetime) -> dict[str, JsonValue]:
    """The prices of a model whose price depends on the hour: those of each
    window of hours genai-prices would apply on ``at``'s day, and those of
    the other hours."""
    if not isinstance(model.prices, list):
        return {}
    hours: list[JsonValue] = []
    other = None
    for conditional in reversed(model.prices):  # the last active price wins
        constraint = conditional.constraint
        if constraint is not None and hasattr(constraint, "start_time"):
            hours.insert(
                0,
                {
                    "start": _utc_time(constraint.start_time),
                    "end": _utc_time(constraint.end_time),
                    "prices": _prices_json(conditional.prices),
                },
            )
        elif constraint is None or constraint.active(at):
            other = conditional.prices
            break
    if not hours:
        return {}
    if other is None:  # genai-prices' choice when no price applies
        other = model.prices[0].prices
    return {"hours": hours, "other_hours": _prices_json(other)}


def _utc_time(value: dt.time) -> str:
    if value.tzinfo is not None:
        value = dt.datetime.combine(dt.date(1970, 1, 1), value).astimezone(dt.timezone.utc).time()
    return value.replace(tzinfo=None).isoformat()


def _aliases(provider: Any, model: Any, ids: set[str]) -> list[str]:
    """The exact names of ``model``'s match rule that genai-prices resolves to
    it, other than the provider's model ids."""
    aliases: list[str] = []
    for name in _exact_names(model.match):
        if name in ids or name in aliases or not 1 <= len(name) <= 200:
            continue
        if provider.find_model(name) is not model:  # an earlier model claims it
            continue
        aliases.append(name)
    if len(aliases) > _MAX_ALIASES:
        logger.info(
            "genai-prices: %s/%s has %d exact names; kept the first %d as aliases",
            provider.id,
            model.id,
            len(aliases),
            _MAX_ALIASES,
        )
    return aliases[:_MAX_ALIASES]


def _exact_names(clause: Any) -> list[str]:
    """The names an ``equals`` clause, or an ``or`` of them, matches exactly."""
    if hasattr(clause, "equals"):
        return [clause.equals]
    if hasattr(clause, "or_"):
        return [name for sub in clause.or_ for name in _exact_names(sub)]
    return []
