"""Recorded multi-turn tool conversations, end to end through Agent: our adapter, the transport and the step loop.

An httpx2.MockTransport serves the recorded responses in order; our tools return what the recorded tools returned.
The run must end with the recorded final answer, and every request the loop sent must carry the tool call ids the
recorded model issued.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from playground import Agent, tool

from .replay import fixture, load, needs_fixtures

pytestmark = [pytest.mark.fixtures, needs_fixtures]


def _serve(rel: str) -> tuple[httpx2.Client, list[dict[str, Any]]]:
    recorded = list(load(fixture(rel)))
    sent: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        it = recorded[len(sent) - 1]
        ctype = "text/event-stream" if it.is_sse else "application/json"
        return httpx2.Response(it.status, content=it.response_body, headers={"content-type": ctype})

    return httpx2.Client(transport=httpx2.MockTransport(handler)), sent


def test_anthropic_parallel_tool_calls_end_to_end() -> None:
    names = iter(["Charles", "Sammy"])

    @tool
    def pelican_name_generator() -> str:
        """Generate a name for a pet pelican."""
        return next(names)

    client, sent = _serve("anthropic/llm-anthropic__test_tools.yaml")
    agent = Agent(
        model="anthropic:claude-haiku-4-5-20251001",
        tools=[pelican_name_generator],
        api_key="sk-ant-test",
        http_client=client,
    )
    result = agent.stream("Two names for a pet pelican", max_output_tokens=8192).final_result()
    assert "Charles" in result.text and "Sammy" in result.text
    assert len(sent) == 2
    results = [b for b in sent[1]["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert [(b["tool_use_id"], b["content"]) for b in results] == [
        ("toolu_01LtHJmixrs9NcWQkK8hu8hj", "Charles"),
        ("toolu_01N8a4jWyf116qKTMqKKmjyt", "Sammy"),
    ]


def test_openai_responses_tool_call_end_to_end() -> None:
    @tool
    def multiply(a: int, b: int) -> int:
        """Multiply two numbers."""
        return a * b

    client, sent = _serve("openai_responses/llm__test_responses_tool_use_streaming.yaml")
    agent = Agent(model="openai:gpt-5.5", tools=[multiply], api_key="sk-test", http_client=client)
    result = agent.stream("What is 1231 * 2331? Use the multiply tool.").final_result()
    assert "2,869,461" in result.text
    assert result.tool_results[0].result == 2869461
    items = sent[1]["input"]
    assert {"type": "function_call_output", "call_id": "call_sVidsfFJ6zlzRpelrPkTPlpd", "output": "2869461"} in items
    assert (result.usage.input_tokens, result.usage.output_tokens) == (58 + 94, 23 + 18)


def test_gemini_function_call_with_thought_signature_end_to_end() -> None:
    @tool
    def weather(latitude: str, longitude: str) -> str:
        """Gets current weather for a location."""
        return f"Current weather at {latitude}, {longitude}: 15°C, Wind: 10 km/h"

    rel = (
        "gemini/ruby_llm__chat_function_calling_gemini_gemini-2_5-flash_"
        "can_use_tools_with_multi-turn_streaming_conversations.yml"
    )
    client, sent = _serve(rel)
    agent = Agent(model="gemini:gemini-2.5-flash", tools=[weather], api_key="AIza-test", http_client=client)
    result = agent.stream("What's the weather in Berlin? (52.5200, 13.4050)").final_result()
    assert result.text == "The weather in Berlin is 15°C with a wind of 10 km/h."
    model_turn = sent[1]["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"][0]["thoughtSignature"].startswith("CiQBEU0yD1hCYiUoRFyerO7xltRNYWnI")
    assert sent[1]["contents"][2]["parts"][0]["functionResponse"]["name"] == "weather"
