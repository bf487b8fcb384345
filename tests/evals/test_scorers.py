"""Scorers: each built-in (pass, fail, error), any callable (sync, async, float, bool, Score), sampling, scorer data,
scores kept with the run, and that scoring never delays or breaks the answer."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from playground import Agent, ConfigurationError, GenerationResult, InMemoryRunStore, scorers
from playground.scorers import Score, ScoringCase, parse_scorers, scorer_from_spec
from playground.store.scores import scores_for

REPO = Path(__file__).resolve().parents[2]


def weather_agent() -> Agent:
    spec = importlib.util.spec_from_file_location("weather_for_scorers", REPO / "agents" / "weather.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    agent: Agent = module.agent
    agent.storage = InMemoryRunStore()
    return agent


def case(output: str = "", **kw: Any) -> ScoringCase:
    return ScoringCase(output=output, **kw)


# -- built-ins ---------------------------------------------------------------------------------------------------------
def test_exact_match() -> None:
    assert scorers.exact_match("Paris").score(case(" Paris\n")).passed
    s = scorers.exact_match().score(case("paris", expected="Paris"))
    assert not s.passed and "expected 'Paris'" in (s.reason or "")
    assert scorers.exact_match(ignore_case=True).score(case("paris", expected="Paris")).passed
    missing = scorers.exact_match().score(case("x"))
    assert missing.error and "expected value" in missing.error and missing.value == 0


def test_contains_all_and_any() -> None:
    assert scorers.contains("paris").score(case("It is sunny in Paris")).passed
    partial = scorers.contains(["Paris", "Rome"]).score(case("Paris only"))
    assert partial.value == 0.5 and not partial.passed and "Rome" in (partial.reason or "")
    assert scorers.contains(["Paris", "Rome"], all_of=False).score(case("Paris only")).passed
    assert scorers.contains().score(case("the answer is 42", expected=42)).passed


def test_regex() -> None:
    assert scorers.regex(r"\b\d{2}\b").score(case("it is 21 degrees")).passed
    assert not scorers.regex(r"^\d+$").score(case("no digits")).passed
    with pytest.raises(ConfigurationError, match="not valid"):
        scorers.regex("(")


def test_json_schema() -> None:
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    assert scorers.json_schema(schema).score(case('{"age": 3}')).passed
    bad = scorers.json_schema(schema).score(case('{"age": "three"}'))
    assert not bad.passed and "age" in (bad.reason or "")
    assert not scorers.json_schema(schema).score(case("not json")).passed

    class Person(BaseModel):
        name: str

    assert scorers.json_schema(Person).score(case(object={"name": "Ada"})).passed
    assert not scorers.json_schema(Person).score(case(object={"nom": "Ada"})).passed


def test_tool_called_with_args_and_times() -> None:
    calls = [{"tool_name": "get_weather", "args": {"city": "Paris"}},
             {"tool_name": "get_weather", "args": {"city": "Rome"}}]
    assert scorers.tool_called("get_weather").score(case(tool_calls=calls)).passed
    assert scorers.tool_called("get_weather", {"city": "Rome"}).score(case(tool_calls=calls)).passed
    assert not scorers.tool_called("get_weather", {"city": "Oslo"}).score(case(tool_calls=calls)).passed
    assert not scorers.tool_called("get_weather", times=1).score(case(tool_calls=calls)).passed
    assert "calls: none" in (scorers.tool_called("x").score(case()).reason or "")


def test_max_latency_and_cost() -> None:
    assert scorers.max_latency(100).score(case(latency_ms=50)).passed
    assert not scorers.max_latency(100).score(case(latency_ms=150)).passed
    assert scorers.max_latency(100).score(case()).error  # no latency measured: an error, not a pass
    assert scorers.max_cost(0.01).score(case(cost=0.001)).passed
    unknown = scorers.max_cost(0.01).score(case(cost=None))
    assert not unknown.passed and "not known" in (unknown.reason or "")


def test_llm_judge_on_the_demo_model_gives_a_valid_verdict() -> None:
    s = scorers.llm_judge(model="demo", rubric="Does the answer name a city?").score(
        case("It is sunny in Paris", input="Weather in Paris?"))
    assert s.error is None
    assert 0 <= s.value <= 1 and s.reason and s.scorer == "llm_judge:demo"
    with pytest.raises(ConfigurationError, match="rubric"):
        scorers.llm_judge(rubric="  ")


def test_any_callable_sync_async_and_bad_values() -> None:
    async def async_scorer(c: ScoringCase) -> float:
        return 0.75

    assert scorers.as_scorer(async_scorer).score(case()).value == 0.75
    assert scorers.as_scorer(lambda c: True).score(case()).passed
    assert scorers.as_scorer(lambda c: Score(value=0.2, reason="meh")).score(case()).reason == "meh"
    out_of_range = scorers.as_scorer(lambda c: 3).score(case())
    assert out_of_range.error and "0 to 1" in out_of_range.error
    raising = scorers.as_scorer(lambda c: 1 / 0).score(case())
    assert raising.error and "ZeroDivisionError" in raising.error and not raising.passed


def test_specs_and_bad_configuration() -> None:
    assert scorer_from_spec("contains:Paris").score(case("in Paris")).passed
    assert scorer_from_spec("max_latency:10").score(case(latency_ms=5)).passed
    assert scorer_from_spec("llm_judge@demo:Is it kind?").name == "llm_judge"
    for bad, field in (("nope", "unknown"), ("max_cost:abc", "not a number"), ("regex", "needs a value")):
        with pytest.raises(ConfigurationError, match=field):
            scorer_from_spec(bad)
    with pytest.raises(ConfigurationError, match="sampling"):
        parse_scorers({"x": {"scorer": scorers.contains("a"), "sampling": {"type": "ratio", "rate": 2}}})
    with pytest.raises(ConfigurationError, match="unknown key"):
        parse_scorers({"x": {"scorer": scorers.contains("a"), "every": 3}})
    with pytest.raises(ConfigurationError, match="not a scorer"):
        parse_scorers({"x": 5})


# -- on a run ----------------------------------------------------------------------------------------------------------
def test_scorers_on_generate_with_scorer_data_and_storage() -> None:
    agent = weather_agent()
    r = agent.generate(
        "Weather in Paris?",
        scorers={
            "mentions_city": {"scorer": scorers.contains("Paris"), "sampling": {"type": "ratio", "rate": 1.0}},
            "judge": scorers.llm_judge(model="demo", rubric="Is the answer grounded in the tool result?"),
            "tool": scorers.tool_called("get_weather", {"city": "Paris"}),
        },
        return_scorer_data=True,
    )
    assert set(r.scores) == {"mentions_city", "judge", "tool"}
    assert r.scores["mentions_city"].passed and r.scores["tool"].passed
    assert r.scores["judge"].error is None
    assert all(s.run_id == r.run_id for s in r.scores.values())
    assert r.scoring_data is not None
    assert r.scoring_data["input"] == "Weather in Paris?"
    assert r.scoring_data["tool_calls"][0]["tool_name"] == "get_weather"
    assert "Paris" in r.scoring_data["output"]
    stored = scores_for(r.run_id)  # kept with the run, readable from any process
    assert set(stored) == {"mentions_city", "judge", "tool"} and stored["tool"].passed
    again = GenerationResult.model_validate(json.loads(r.model_dump_json()))
    assert again.scores["mentions_city"].passed  # a result read back keeps its scores


def test_sampling_ratio_zero_never_scores_and_none_always() -> None:
    agent = weather_agent()
    r = agent.generate("Weather in Rome?", scorers={
        "never": {"scorer": scorers.contains("Rome"), "sampling": {"type": "ratio", "rate": 0}},
        "always": {"scorer": scorers.contains("Rome"), "sampling": {"type": "none"}},
    })
    assert set(r.scores) == {"always"}


def test_scorers_never_delay_the_answer() -> None:
    gate = threading.Event()

    def slow(c: ScoringCase) -> bool:
        gate.wait(10)
        return True

    agent = weather_agent()
    t0 = time.monotonic()
    r = agent.generate("Weather in Oslo?", scorers={"slow": slow})
    assert time.monotonic() - t0 < 5  # the answer came back while the scorer still waited
    assert r.text
    gate.set()
    assert r.scores["slow"].passed


def test_scorers_on_stream_and_async() -> None:
    import asyncio

    agent = weather_agent()
    run = agent.stream("Weather in Paris?", scorers={"city": scorers.contains("Paris")})
    for _ in run:
        pass
    assert run.final_result().scores["city"].passed

    async def go() -> Any:
        return await agent.generate_async("Weather in Rome?", scorers={"city": scorers.contains("Rome")})

    assert asyncio.run(go()).scores["city"].passed


def test_a_failing_scorer_never_breaks_the_run() -> None:
    agent = weather_agent()
    r = agent.generate("Weather in Paris?", scorers={"boom": lambda c: 1 / 0})
    assert r.text and r.finish_reason == "stop"
    assert r.scores["boom"].error and not r.scores["boom"].passed


def test_bad_scorers_fail_before_anything_is_sent() -> None:
    agent = weather_agent()
    with pytest.raises(ConfigurationError, match="scorers"):
        agent.generate("hi", scorers={"x": 5})
