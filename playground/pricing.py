"""What a step, a run and a session cost, from `genai-prices` (per provider and model, with cached-token and tiered
prices), or from prices you give (`Agent(prices=...)` or `agent.generate(..., prices=...)`) for private deployments.

A model the price data does not know costs `None`, never a guessed number; the demo model costs 0.

`prices=` is either one price set for every model of the call, or a mapping of model strings to price sets:

    prices={"input_mtok": 0.5, "output_mtok": 1.5, "cache_read_mtok": 0.05}        # USD per million tokens
    prices={"openai-compatible:my-llama": {"input_mtok": 0.2, "output_mtok": 0.2, "currency": "EUR"}}

Price keys are genai-prices' (`input_mtok`, `output_mtok`, `cache_read_mtok`, `cache_write_mtok`, ...).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from .errors import OptionsError

if TYPE_CHECKING:
    from .result import Usage

DEMO_SOURCE = "demo model (simulated, free)"
OVERRIDE_SOURCE = "prices= override"
_ZERO = Decimal(0)

# our provider prefix -> genai-prices provider id (None: find it from the base URL, e.g. OpenRouter)
_PROVIDER_IDS: dict[str, str | None] = {
    "openai": "openai",
    "openai-chat": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "google": "google",
    "openai-compatible": None,
    "ollama": None,
}


class Cost(BaseModel):
    """What one step (or a sum of steps) cost: `input`, `output` and `total` in `currency`, and where the prices
    came from (`source`: "genai-prices X.Y.Z", "prices= override" or the demo model)."""
    model_config = ConfigDict(defer_build=True)

    input: Decimal = _ZERO
    output: Decimal = _ZERO
    total: Decimal = _ZERO
    currency: str = "USD"
    source: str = ""
    model: str | None = None
    """The model the price was found for (genai-prices' id, or the model string of an override)."""

    def __add__(self, other: Cost) -> Cost:
        if other.currency != self.currency:
            raise ValueError(f"cannot add costs in {self.currency} and {other.currency}")
        sources = [s for s in dict.fromkeys([*self.source.split(" + "), *other.source.split(" + ")]) if s]
        models = {m for m in (self.model, other.model) if m}
        return Cost(
            input=self.input + other.input,
            output=self.output + other.output,
            total=self.total + other.total,
            currency=self.currency,
            source=" + ".join(sources),
            model=models.pop() if len(models) == 1 else None,
        )

    def __str__(self) -> str:
        return format_cost(self)


def format_cost(cost: Cost | None) -> str:
    """"$0.000412", "0.0012 EUR", "$0 (demo)", or "unknown" when the price is not known."""
    if cost is None:
        return "unknown"
    amount = cost.total
    if amount == 0:
        text = "0"
    elif abs(amount) >= Decimal("0.01"):
        text = f"{amount:.4f}".rstrip("0").rstrip(".")
    else:
        text = f"{amount:.8f}".rstrip("0").rstrip(".")
    shown = f"${text}" if cost.currency == "USD" else f"{text} {cost.currency}"
    if cost.source == DEMO_SOURCE:
        shown += " (demo)"
    return shown


def total_cost(costs: Iterable[Cost | None]) -> Cost | None:
    """The sum of several costs; None if any is unknown (a partial sum would understate the bill) or none given."""
    out: Cost | None = None
    for c in costs:
        if c is None:
            return None
        out = c if out is None else out + c
    return out


# ----------------------------------------------------------------------------------------------------------------
# Overrides


def parse_prices(value: Any, field: str = "prices") -> dict[str, dict[str, Any]] | None:
    """Validate a `prices=` value into {model string or "*": {price key: Decimal, "currency": str}}."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise OptionsError(
            f"{field}: expected a dict of prices such as {{'input_mtok': 0.5, 'output_mtok': 1.5}} "
            f"(USD per million tokens) or {{model string: such a dict}}, got {type(value).__name__}",
            field=field,
        )
    if not value:
        return None
    if all(isinstance(v, Mapping) for v in value.values()):
        return {str(model): _price_set(spec, f"{field}[{model!r}]") for model, spec in value.items()}
    return {"*": _price_set(value, field)}


def _price_set(spec: Mapping[str, Any], field: str) -> dict[str, Any]:
    from genai_prices.units import _get_registry  # pyright: ignore[reportPrivateUsage]

    registry = _get_registry()
    out: dict[str, Any] = {"currency": "USD"}
    for key, raw in spec.items():
        if key == "currency":
            if not isinstance(raw, str) or not raw.strip():
                raise OptionsError(f"{field}.currency: expected a currency code such as 'USD'", field="prices")
            out["currency"] = raw.strip().upper()
            continue
        try:
            registry.unit_for_price_key(key)
        except KeyError:
            raise OptionsError(
                f"{field}.{key}: unknown price key; use input_mtok, output_mtok, cache_read_mtok, cache_write_mtok "
                "(per million tokens) or another genai-prices price key",
                field="prices",
            ) from None
        try:
            price = Decimal(str(raw))
        except (ArithmeticError, ValueError):
            raise OptionsError(f"{field}.{key}: expected a number, got {raw!r}", field="prices") from None
        if price < 0 or not price.is_finite():
            raise OptionsError(f"{field}.{key}: expected a price >= 0, got {raw!r}", field="prices")
        out[key] = price
    if len(out) == 1:
        raise OptionsError(f"{field}: no prices given; e.g. {{'input_mtok': 0.5, 'output_mtok': 1.5}}", field="prices")
    return out


# ----------------------------------------------------------------------------------------------------------------
# Costing


def _genai_usage(usage: Usage, web_searches: int = 0) -> Any:
    from genai_prices import Usage as GUsage

    values: dict[str, int] = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
    if usage.cached_input_tokens:
        values["cache_read_tokens"] = usage.cached_input_tokens
    if usage.cache_creation_input_tokens:
        values["cache_write_tokens"] = usage.cache_creation_input_tokens
    if web_searches:
        values["web_searches"] = web_searches  # server-side tools are billed per call
    return GUsage(**values)


def web_searches(raw_body: Any) -> int:
    """Server-side web searches a response reports (Anthropic's `usage.server_tool_use.web_search_requests`, in a
    whole body or in a stream's events; the last count reported wins)."""
    found = 0
    items = raw_body if isinstance(raw_body, Sequence) and not isinstance(raw_body, (str, bytes)) else [raw_body]
    for item in items:
        if isinstance(item, str):  # a stream's event as received (RawEvents or a list of str): only the ones counting
            if "web_search_requests" not in item:
                continue
            try:
                item = json.loads(item)
            except ValueError:
                continue
        if not isinstance(item, dict):
            continue
        usage = item.get("usage") or (item.get("message") or {}).get("usage") or {}
        stu = usage.get("server_tool_use") if isinstance(usage, dict) else None
        if isinstance(stu, dict) and isinstance(stu.get("web_search_requests"), int):
            found = stu["web_search_requests"]
    return found


_lock = threading.Lock()
_models: dict[tuple[str | None, str | None, str], Any] = {}


def _find_model(provider_id: str | None, api_url: str | None, model_ref: str) -> Any:
    """(provider, model info) from genai-prices, or None; misses are remembered (the lookup is a scan)."""
    key = (provider_id, api_url, model_ref)
    found: Any = _models.get(key, _models)  # written under the lock, read without it (one dict read is atomic)
    if found is not _models:
        return found
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    try:
        found = snapshot.find_provider_model(model_ref, None, provider_id, None if provider_id else api_url)
    except LookupError:
        found = None
    with _lock:
        _models[key] = found
    return found


def _source() -> str:
    from genai_prices import __version__

    return f"genai-prices {__version__}"


def price_usage(
    usage: Usage,
    *,
    provider: str,
    model: str,
    response_model: str | None = None,
    base_url: str | None = None,
    prices: Mapping[str, Mapping[str, Any]] | None = None,
    when: datetime | None = None,
    searches: int = 0,
) -> Cost | None:
    """The cost of `usage` on `provider:model` (our provider prefix and model name). None when no price is known."""
    model_string = f"{provider}:{model}"
    if prices:
        spec = prices.get(model_string) or prices.get(model) or prices.get("*")
        if spec is not None:
            return _override_cost(usage, spec, model_string, searches)
    if provider == "demo":
        return Cost(source=DEMO_SOURCE, model="demo")
    provider_id = _PROVIDER_IDS.get(provider, provider)
    if provider_id is None and not base_url:
        return None
    for ref in dict.fromkeys(r for r in (response_model, model) if r):
        found = _find_model(provider_id, base_url, ref)
        if found is None:
            continue
        gprovider, ginfo = found
        try:
            calc = ginfo.calc_price(_genai_usage(usage, searches), gprovider, genai_request_timestamp=when)
        except (ValueError, LookupError):
            return None
        return Cost(
            input=calc.input_price,
            output=calc.output_price,
            total=calc.total_price,
            source=_source(),
            model=f"{gprovider.id}:{ginfo.id}",
        )
    return None


def _override_cost(usage: Usage, spec: Mapping[str, Any], model_string: str, searches: int = 0) -> Cost:
    from genai_prices.types import ModelPrice

    price = ModelPrice(**{k: v for k, v in spec.items() if k != "currency"})
    calc = price.calc_price(_genai_usage(usage, searches if "web_searches_kcount" in spec else 0))
    return Cost(
        input=calc["input_price"],
        output=calc["output_price"],
        total=calc["total_price"],
        currency=str(spec.get("currency", "USD")),
        source=OVERRIDE_SOURCE,
        model=model_string,
    )


def price_step(provider: Any, step: Any, prices: Mapping[str, Mapping[str, Any]] | None) -> Cost | None:
    """The cost of one step (its usage, the provider that answered it, the model it reported)."""
    name = getattr(provider, "name", "")
    if name == "demo" and not prices:
        return Cost(source=DEMO_SOURCE, model="demo")
    return price_usage(
        step.usage,
        provider=name,
        model=getattr(provider, "model", ""),
        response_model=step.response.model_id,
        base_url=getattr(provider, "base_url", None),
        prices=prices,
        when=step.started_at,
        searches=web_searches(step.raw_response.body) if step.raw_response is not None and name == "anthropic" else 0,
    )
