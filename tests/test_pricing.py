"""Cost per step and per result from genai-prices: equal to genai-prices' own reading of recorded responses (cached
tokens included), None for a model it does not know, 0 for the demo model, and overridable per agent or call."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx2
import pytest
from genai_prices import extract_usage

from playground import Agent, Cost, OptionsError
from playground.pricing import format_cost, total_cost
from tests.providers.replay import fixture, load, needs_fixtures
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-pricing-0123456789abcdef"


def _replay(rel: str) -> tuple[httpx2.Client, list[Any]]:
    recorded = [it for it in load(fixture(rel)) if it.status == 200]
    served: list[Any] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        it = recorded[len(served)]
        served.append(it.response_json)
        return httpx2.Response(200, content=it.response_body, headers={"content-type": "application/json"})

    return httpx2.Client(transport=httpx2.MockTransport(handler)), served


RECORDED = [
    # (recorded file, our model string, genai-prices provider id, api flavor, calls to make)
    (
        "anthropic/ruby_llm__chat_prompt_cache_round-trip_anthropic_claude-haiku-4-5_writes_then_reads_the_prompt_cache"
        ".yml",
        "anthropic:claude-haiku-4-5",
        "anthropic",
        "default",
        2,
    ),
    (
        "openai_responses/ruby_llm__chat_prompt_cache_round-trip_openai_gpt-5_2_reuses_the_prompt_cache_with_a_shared_"
        "key.yml",
        "openai:gpt-5.2",
        "openai",
        "responses",
        2,
    ),
    ("gemini/pydantic-ai__test_google_model.yaml", "gemini:gemini-2.5-flash", "google", "default", 1),
    ("gemini/pydantic-ai__test_google_model_thinking_part.yaml", "gemini:gemini-3-pro-preview", "google", "default", 2),
    # a server-side web search is billed per search on top of the tokens
    ("anthropic/pydantic-ai__test_anthropic_web_search_tool.yaml", "anthropic:claude-sonnet-4-0", "anthropic",
     "default", 2),
]


@needs_fixtures
@pytest.mark.parametrize(("rel", "model", "provider_id", "flavor", "calls"), RECORDED)
def test_cost_equals_genai_prices_on_recorded_responses(
    rel: str, model: str, provider_id: str, flavor: str, calls: int
) -> None:
    client, served = _replay(rel)
    agent = Agent(model=model, api_key="sk-test", http_client=client)
    for _ in range(calls):
        result = agent.generate("the recorded prompt")
        body = served[-1]
        expected = extract_usage(body, provider_id=provider_id, api_flavor=flavor).calc_price()
        step = result.steps[-1]
        assert step.cost is not None, f"{model}: no price found"
        assert step.cost.total == expected.total_price
        assert step.cost.input == expected.input_price
        assert step.cost.output == expected.output_price
        assert step.cost.currency == "USD"
        assert step.cost.source.startswith("genai-prices ")
        assert result.cost is not None and result.cost.total == expected.total_price


@needs_fixtures
def test_cached_tokens_are_priced_as_cache_reads_and_writes() -> None:
    client, _ = _replay(RECORDED[0][0])
    agent = Agent(model="anthropic:claude-haiku-4-5", api_key="sk-test", http_client=client)
    write = agent.generate("first").steps[0]
    read = agent.generate("second").steps[0]
    assert write.usage.cache_creation_input_tokens == 7351 and read.usage.cached_input_tokens == 7351
    assert write.cost is not None and read.cost is not None
    assert read.cost.input < write.cost.input  # a cache read costs a tenth of the input price; a write more than it


def test_demo_model_costs_zero() -> None:
    result = Agent(model="demo").generate("hello")
    assert result.cost is not None and result.cost.total == 0
    assert all(s.cost is not None and s.cost.total == 0 for s in result.steps)
    assert format_cost(result.cost) == "$0 (demo)"


def test_unknown_model_costs_none_never_a_guess() -> None:
    script = Scripted(completion("hi", usage=(1000, 100)))
    agent = Agent(model="openai-chat:my-private-finetune-xyz", api_key=KEY, http_client=script.client())
    result = agent.generate("hi")
    assert result.steps[0].cost is None and result.cost is None
    assert format_cost(result.cost) == "unknown"


def test_a_run_with_one_unknown_step_has_no_total() -> None:
    assert total_cost([Cost(total=Decimal(1)), None]) is None
    assert total_cost([Cost(total=Decimal(1), input=Decimal(1)), Cost(total=Decimal(2), output=Decimal(2))]) == Cost(
        total=Decimal(3), input=Decimal(1), output=Decimal(2)
    )


def test_prices_override_per_agent_and_per_call() -> None:
    script = Scripted(*[completion("hi", usage=(1_000_000, 500_000)) for _ in range(3)])
    agent = Agent(
        model="openai-chat:my-private-finetune-xyz",
        api_key=KEY,
        http_client=script.client(),
        prices={"input_mtok": 1, "output_mtok": 2},
    )
    cost = agent.generate("hi").cost
    assert cost is not None
    assert (cost.input, cost.output, cost.total) == (Decimal(1), Decimal(1), Decimal(2))
    assert cost.source == "prices= override"

    per_model = {"openai-chat:my-private-finetune-xyz": {"input_mtok": "0.5", "output_mtok": 0, "currency": "eur"}}
    cost = agent.generate("hi", prices=per_model).cost
    assert cost is not None and cost.total == Decimal("0.5") and cost.currency == "EUR"
    assert format_cost(cost) == "0.5 EUR"

    # an override for another model leaves this one to the agent's own prices
    cost = agent.generate("hi", prices={"openai:gpt-4.1": {"input_mtok": 9}}).cost
    assert cost is not None and cost.total == Decimal(2)


def test_override_prices_cached_tokens_with_cache_read_mtok() -> None:
    body = completion("hi", usage=(1_000_000, 0))
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": 400_000}
    agent = Agent(
        model="openai-chat:private", api_key=KEY, http_client=Scripted(body).client(),
        prices={"input_mtok": 1, "cache_read_mtok": 0.1, "output_mtok": 1},
    )
    cost = agent.generate("hi").cost
    assert cost is not None and cost.input == Decimal("0.6") + Decimal("0.04")


def test_known_openai_model_is_priced_from_the_data() -> None:
    script = Scripted(completion("hi", usage=(1000, 100)))
    script.replies[0]["model"] = "gpt-4.1-mini-2025-04-14"
    agent = Agent(model="openai-chat:gpt-4.1-mini", api_key=KEY, http_client=script.client())
    cost = agent.generate("hi").cost
    assert cost is not None and cost.total > 0 and cost.model == "openai:gpt-4.1-mini"


def test_bad_prices_name_the_field() -> None:
    with pytest.raises(OptionsError, match=r"prices\.input_per_token: unknown price key"):
        Agent(model="demo", prices={"input_per_token": 1})
    with pytest.raises(OptionsError, match=r"prices\.input_mtok: expected a price >= 0"):
        Agent(model="demo").generate("hi", prices={"input_mtok": -1})
    with pytest.raises(OptionsError, match="prices: expected a dict"):
        Agent(model="demo", prices=3)  # type: ignore[arg-type]


def test_embedding_cost() -> None:
    result = Agent(model="demo").embed("hello").embed_now()
    assert result.cost is not None and result.cost.total == 0
    priced = Agent(model="demo").embed("hello", prices={"input_mtok": 1_000_000}).embed_now()
    assert priced.cost is not None and priced.cost.total == Decimal(priced.usage.input_tokens)


@needs_fixtures
def test_a_streamed_web_search_is_billed_like_a_whole_response() -> None:
    """Anthropic reports server-side searches in the stream's message_delta usage: the step's cost counts them (the
    stream's events are kept as received, as text), the same as a non-streamed answer's cost does."""
    from playground.pricing import price_usage, web_searches

    recorded = [it for it in load(fixture("anthropic/llm-anthropic__test_web_search.yaml")) if it.status == 200]
    assert recorded and recorded[0].is_sse

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=recorded[0].response_body, headers={"content-type": "text/event-stream"})

    agent = Agent(model="anthropic:claude-opus-4-1", api_key="sk-test",
                  http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))
    run = agent.stream("What is the current weather in San Francisco?")
    for _ in run.text_stream():
        pass
    assert run.result is not None
    step = run.result.steps[-1]
    assert step.raw_response is not None
    assert web_searches(step.raw_response.body) == 1
    without_search = price_usage(step.usage, provider="anthropic", model="claude-opus-4-1",
                                 response_model=step.response.model_id, searches=0)
    assert step.cost is not None and without_search is not None
    assert step.cost.total > without_search.total  # the search is billed on top of the tokens
