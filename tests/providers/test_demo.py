"""The demo model: real Chat Completions wire JSON, tools named by the user's words, sources, settings, errors."""

from __future__ import annotations

import json

import pytest

from agents.research import agent as research_agent
from agents.support import agent as support_agent
from agents.weather import agent as weather_agent
from playground import Agent, RateLimitError, TextDeltaEvent
from playground.providers.demo import DemoBrain, args_for_tool, instance_for_schema


def test_weather_agent_calls_its_tool_for_each_city() -> None:
    result = weather_agent.generate("What's the weather in Paris and Rome?")
    assert [c.args["city"] for c in result.tool_calls] == ["Paris", "Rome"]
    assert result.finish_reason == "stop" and "Paris" in result.text and "Rome" in result.text
    raw = result.steps[0].raw_response
    assert raw is not None and raw.body["object"] == "chat.completion"
    assert raw.body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert result.reasoning_text and "get_weather" in result.reasoning_text
    assert result.usage.input_tokens > 0 and result.usage.reasoning_tokens > 0


def test_support_agent_refund_needs_approval_and_lookup_does_not() -> None:
    looked = support_agent.generate("look up order 42")
    assert looked.finish_reason == "stop" and "Mechanical keyboard" in looked.text
    suspended = support_agent.generate("refund order 42")
    assert suspended.finish_reason == "suspended" and suspended.suspend_payload is not None
    assert suspended.suspend_payload.args == {"order_id": "42"}
    declined = support_agent.decline_tool_call(suspended.run_id, suspended.suspend_payload.tool_call_id, reason="no")
    assert "declined" in declined.text


def test_research_agent_answers_with_sources() -> None:
    result = research_agent.generate("What is retrieval augmented generation?")
    assert len(result.sources) == 2 and result.sources[0].url.startswith("https://en.wikipedia.org/wiki/")
    assert result.sources[0].title


def test_demo_streams_real_sse_and_honours_settings() -> None:
    agent = Agent(model="demo")
    run = agent.stream("Tell me about tide pools and coastal ecology please", max_output_tokens=40)
    text = "".join(e.text for e in run if isinstance(e, TextDeltaEvent))
    assert run.result is not None and run.result.finish_reason == "length"
    assert text == run.result.text and len(text) > 0
    raw = run.result.steps[0].raw_response
    assert raw is not None and raw.stream and raw.body[-1] == "[DONE]"
    assert json.loads(raw.body[-2])["usage"]["completion_tokens"] <= 40
    stopped = agent.generate("What is 2+2?", stop_sequences=["="])
    assert stopped.text.strip() == "2 + 2" and stopped.request.body["stop"] == ["="]


def test_demo_arithmetic_greeting_and_named_tool_choice() -> None:
    agent = Agent(model="demo", tools=weather_agent.tools)
    assert agent.generate("What is 12 * 3?").text == "12 * 3 = 36."
    forced = agent.generate("hello there", tool_choice={"type": "tool", "tool_name": "get_weather"}, max_steps=1)
    assert forced.tool_calls[0].tool_name == "get_weather"
    assert agent.generate("What is the weather in Oslo?", tool_choice="none").tool_calls == []


def test_demo_error_command() -> None:
    with pytest.raises(RateLimitError) as info:
        Agent(model="demo").generate("/error 429", max_retries=0)
    assert info.value.status == 429 and info.value.code == "rate_limit_exceeded"


def test_args_and_structured_values_come_from_the_message() -> None:
    tool = {
        "name": "refund",
        "parameters": {
            "type": "object",
            "required": ["order_id", "amount"],
            "properties": {
                "order_id": {"type": "string"},
                "amount": {"type": "number"},
                "currency": {"type": "string", "enum": ["usd", "eur"]},
            },
        },
    }
    assert args_for_tool(tool, "refund order 42 for 19.5 eur") == {"order_id": "42", "amount": 19.5, "currency": "eur"}
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    }
    value = instance_for_schema(schema, "Ada Lovelace is 36 years old")
    assert value["name"] == "Ada Lovelace" and value["age"] == 36 and isinstance(value["tags"], list)


def test_brain_answers_from_tool_results() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "weather in Lima"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": '{"city": "Lima", "temperature": 24}'},
        ]
    }
    reply = DemoBrain().respond(body)
    assert reply["content"] == "get_weather returned: city Lima, temperature 24." and reply["tool_calls"] == []


def test_demo_lists_its_models() -> None:
    provider = Agent(model="demo").provider
    assert provider.parse_list_models(200, {}, b'{"data": [{"id": "demo-1"}]}') == ["demo-1"]


def test_demo_structured_output_after_tools_and_by_prompt_injection() -> None:
    from pydantic import BaseModel

    class Report(BaseModel):
        city: str
        temperature: int
        conditions: str

    result = weather_agent.generate("What's the weather in Paris?", structured_output=Report)
    expected = weather_agent.tools["get_weather"].run({"city": "Paris"})
    assert result.tool_calls[0].args == {"city": "Paris"}
    assert result.object == Report(city="Paris", temperature=expected["temperature"], conditions=expected["conditions"])
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    injected = Agent(model="demo").generate(
        "Ada Lovelace is 36", structured_output={"schema": schema, "json_prompt_injection": True}
    )
    assert "response_format" not in injected.request.body
    assert injected.object == {"name": "Ada Lovelace", "age": 36}


# -- issue 10: the demo is what stakeholders see first ------------------------------------------------------------

ADA = "Reach Ada Lovelace at ada@example.com or +44 20 7946 0958, she is 36"


def test_extractor_gets_the_readme_example_right() -> None:
    from agents.extractor import agent as extractor

    contact = extractor.generate(ADA).object
    assert contact is not None
    assert (contact.name, contact.email, contact.phone, contact.age) == (
        "Ada Lovelace", "ada@example.com", "+44 20 7946 0958", 36
    )


def test_a_separate_structuring_model_reads_the_answer_not_its_prompt_headings() -> None:
    from agents.extractor import Contact

    result = Agent(model="demo").generate(ADA, structured_output={"schema": Contact, "model": "demo"})
    assert result.object is not None and result.object.name == "Ada Lovelace" and result.object.age == 36
    prompt = result.steps[-1].raw_request.body["messages"][-1]["content"]  # type: ignore[index]
    assert prompt.startswith("Request:\n") and "\n\nAnswer:\n" in prompt  # the headings were there to mislead


def test_structured_output_list_of_models_gives_one_item_per_person() -> None:
    from pydantic import BaseModel

    class Person(BaseModel):
        name: str
        email: str

    result = Agent(model="demo").generate(
        "Ada Lovelace (ada@example.com) and Grace Hopper (grace@navy.mil)", structured_output=list[Person]
    )
    assert result.object == [
        Person(name="Ada Lovelace", email="ada@example.com"),
        Person(name="Grace Hopper", email="grace@navy.mil"),
    ]


@pytest.mark.parametrize("limit", [1, 2, 5, 10, 20, 40])
@pytest.mark.parametrize("streamed", [False, True])
def test_max_output_tokens_never_gives_reasoning_without_text(limit: int, streamed: bool) -> None:
    agent = Agent(model="demo")
    prompt = "Tell me about tide pools and coastal ecology please"
    result = (
        agent.stream(prompt, max_output_tokens=limit).final_result()
        if streamed
        else agent.generate(prompt, max_output_tokens=limit)
    )
    assert result.text.strip(), (limit, result.reasoning_text)
    if result.finish_reason == "length":
        assert result.reasoning_text is None


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("Refund 10 dollars on order 42", {"order_id": "42", "amount": 10.0}),
        ("Please refund $5 for order #7", {"order_id": "7", "amount": 5.0}),
        ("refund order 42", {"order_id": "42"}),
    ],
)
def test_refund_asks_for_the_amount_said_not_the_order_total(message: str, args: dict[str, object]) -> None:
    suspended = support_agent.generate(message)
    assert suspended.suspend_payload is not None and suspended.suspend_payload.args == args
    done = support_agent.approve_tool_call(suspended.run_id, suspended.suspend_payload.tool_call_id)
    refunded = done.tool_results[-1].result["refunded"]  # type: ignore[index]
    assert refunded == args.get("amount", 89.0)
