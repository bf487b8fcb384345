"""Structured output: every accepted shape, native vs prompt-injected, tools in the same call, a structuring model,
error strategies, parsed_json, and the extractor example on the offline demo model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from playground import Agent, ConfigurationError, StructuredOutputError, tool
from playground.messages import Message, extract_json
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-structured-0123456789"


class Contact(BaseModel):
    name: str
    email: str
    age: int


CONTACT_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "email": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "email", "age"],
    "additionalProperties": False,
}


def scripted_agent(script: Scripted, **kw: Any) -> Agent:
    return Agent(model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), **kw)


def test_pydantic_model_on_the_demo_model_gives_a_validated_instance() -> None:
    result = Agent().generate("Ada Lovelace, ada@example.com, 36 years old", structured_output=Contact)
    assert isinstance(result.object, Contact)
    assert result.object.email == "ada@example.com" and result.object.age == 36
    assert json.loads(result.text) == result.object.model_dump()


def test_native_response_format_is_in_the_request_preview() -> None:
    preview = Agent().prompt("x", structured_output=Contact).request_preview()
    assert preview["body"]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Contact", "schema": CONTACT_SCHEMA, "strict": True},
    }


@pytest.mark.parametrize(
    "option",
    [
        CONTACT_SCHEMA,
        {"schema": CONTACT_SCHEMA},
        {"schema": CONTACT_SCHEMA, "errorStrategy": "strict"},
        {"type": "json_schema", "json_schema": {"name": "contact", "schema": CONTACT_SCHEMA}},
    ],
)
def test_json_schema_shapes_give_a_dict(option: dict[str, Any]) -> None:
    script = Scripted(completion('{"name": "Ada", "email": "ada@example.com", "age": 36}'))
    result = scripted_agent(script).generate("x", structured_output=option)
    assert result.object == {"name": "Ada", "email": "ada@example.com", "age": 36}
    assert script.bodies[0]["response_format"]["json_schema"]["schema"] == CONTACT_SCHEMA


def test_non_object_types_are_wrapped_for_the_provider_and_unwrapped_for_you() -> None:
    script = Scripted(completion('{"items": [3, 4]}'))
    result = scripted_agent(script).generate("x", structured_output=list[int])
    assert result.object == [3, 4]
    assert script.bodies[0]["response_format"]["json_schema"]["schema"]["required"] == ["items"]


def test_tools_and_structured_output_in_the_same_call() -> None:
    @tool
    def lookup_person(name: str) -> dict[str, Any]:
        """Find a person."""
        return {"name": name, "email": "ada@example.com", "age": 36}

    script = Scripted(
        completion(None, [("c1", "lookup_person", {"name": "Ada"})]),
        completion('{"name": "Ada", "email": "ada@example.com", "age": 36}'),
    )
    result = scripted_agent(script, tools=[lookup_person]).generate("who is Ada?", structured_output=Contact)
    assert result.object == Contact(name="Ada", email="ada@example.com", age=36)
    assert [b.get("response_format", {}).get("type") for b in script.bodies] == ["json_schema", "json_schema"]
    assert "tools" in script.bodies[0] and result.tool_results[0].result["email"] == "ada@example.com"


def test_json_prompt_injection_puts_the_schema_in_the_system_prompt() -> None:
    script = Scripted(completion('Sure! ```json\n{"name": "Ada", "email": "a@b.co", "age": 3}\n``` Anything else?'))
    result = scripted_agent(script, instructions="Be brief.").generate(
        "x", structured_output={"schema": Contact, "jsonPromptInjection": True}
    )
    body = script.bodies[0]
    assert "response_format" not in body
    system = [m["content"] for m in body["messages"] if m["role"] == "system"]
    assert system[0] == "Be brief." and "Answer with a single JSON value" in system[1]
    assert json.loads(system[1].split("JSON Schema:\n", 1)[1]) == CONTACT_SCHEMA
    assert result.object == Contact(name="Ada", email="a@b.co", age=3)


def test_prompt_capability_providers_get_the_schema_in_the_prompt() -> None:
    agent = Agent(model="anthropic:claude-test", api_key=KEY)
    assert agent.provider.capabilities.structured_output != "native"
    gen = agent.prompt("x", structured_output=Contact)
    assert "Answer with a single JSON value" in gen.instructions
    assert gen.model_call().response_format is None


def test_a_structuring_model_runs_after_the_agent_over_its_answer_and_tool_results() -> None:
    @tool
    def lookup_person(name: str) -> dict[str, Any]:
        """Find a person."""
        return {"email": "ada@example.com", "age": 36}

    script = Scripted(
        completion(None, [("c1", "lookup_person", {"name": "Ada"})]),
        completion("Ada is 36 and her email is ada@example.com.", usage=(20, 10)),
        completion('{"name": "Ada", "email": "ada@example.com", "age": 36}', usage=(30, 12)),
    )
    result = scripted_agent(script, tools=[lookup_person]).generate(
        "Tell me about Ada",
        structured_output={"schema": Contact, "model": "openai-chat:gpt-structurer", "instructions": "Names in full."},
    )
    assert result.text == "Ada is 36 and her email is ada@example.com."
    assert result.object == Contact(name="Ada", email="ada@example.com", age=36)
    main, structuring = script.bodies[1], script.bodies[2]
    assert "response_format" not in main
    assert structuring["model"] == "gpt-structurer" and structuring["response_format"]["type"] == "json_schema"
    assert "Names in full." in structuring["messages"][0]["content"]
    user = structuring["messages"][1]["content"]
    assert "Request:\nTell me about Ada" in user and "Answer:\nAda is 36" in user and '"age": 36' in user
    assert len(result.steps) == 3 and result.usage.input_tokens == 10 + 20 + 30


def test_strict_raises_naming_the_field() -> None:
    script = Scripted(completion('{"name": "Ada", "email": "a@b.co", "age": "old"}'))
    with pytest.raises(StructuredOutputError, match=r"age: Input should be a valid integer") as info:
        scripted_agent(script).generate("x", structured_output=Contact)
    assert info.value.errors == ["age: Input should be a valid integer, unable to parse string as an integer"]
    assert info.value.text == '{"name": "Ada", "email": "a@b.co", "age": "old"}'
    assert info.value.result.finish_reason == "error"  # type: ignore[attr-defined]


def test_warn_records_a_warning_and_fallback_returns_the_fallback() -> None:
    bad = '{"name": "Ada"}'
    warned = scripted_agent(Scripted(completion(bad))).generate(
        "x", structured_output={"schema": CONTACT_SCHEMA, "error_strategy": "warn"}
    )
    assert warned.object is None and warned.text == bad
    assert any("email: field required" in w and "age: field required" in w for w in warned.warnings)

    fallback = Contact(name="?", email="", age=0)
    fell = scripted_agent(Scripted(completion("no JSON here"))).generate(
        "x", structured_output={"schema": Contact, "errorStrategy": "fallback", "fallbackValue": fallback}
    )
    assert fell.object is fallback and any("used fallback_value" in w for w in fell.warnings)


def test_bad_options_name_the_key_and_the_fix() -> None:
    agent = Agent()
    with pytest.raises(ConfigurationError, match=r"structured_output: unknown keys \['shema_strategy'\]"):
        agent.prompt("x", structured_output={"schema": Contact, "shema_strategy": "x"})
    with pytest.raises(ConfigurationError, match="error_strategy: 'loose' is not one of"):
        agent.prompt("x", structured_output={"schema": Contact, "error_strategy": "loose"})
    with pytest.raises(ConfigurationError, match="fallback_value: error_strategy='fallback' needs a fallback_value"):
        agent.prompt("x", structured_output={"schema": Contact, "error_strategy": "fallback"})
    with pytest.raises(ConfigurationError, match="is not a JSON Schema"):
        agent.prompt("x", structured_output={"name": "str"})
    with pytest.raises(ConfigurationError, match="structured_output"):
        Agent(default_options={"structured_output": {"schema": Contact, "bogus": 1}})


def test_stream_result_carries_the_object() -> None:
    run = Agent().stream("Ada Lovelace ada@example.com 36", structured_output=Contact)
    text = "".join(run.text_stream())
    assert run.result is not None and isinstance(run.result.object, Contact)
    assert json.loads(text) == run.result.object.model_dump()


def test_parsed_json_the_active_agent_way() -> None:
    script = Scripted(completion('Here you go: {"a": 1, "b": [2, 3]} -- enjoy'))
    result = scripted_agent(script).generate("x")
    assert result.object is None
    assert result.parsed_json == {"a": 1, "b": [2, 3]} and result.message.parsed_json == {"a": 1, "b": [2, 3]}
    assert Message.assistant("no json").parsed_json is None
    assert extract_json("```json\n[1, 2]\n```") == [1, 2] and extract_json("{broken") is None


def test_structured_output_survives_suspension_in_another_agent() -> None:
    @tool(requires_approval=True)
    def lookup_person(name: str) -> dict[str, Any]:
        """Find a person."""
        return {"email": "ada@example.com", "age": 36}

    options = {"structured_output": Contact}
    script = Scripted(completion(None, [("c1", "lookup_person", {"name": "Ada"})]))
    first = scripted_agent(script, tools=[lookup_person], default_options=options).generate("Ada?")
    assert first.finish_reason == "suspended" and first.object is None
    script2 = Scripted(completion('{"name": "Ada", "email": "ada@example.com", "age": 36}'))
    second = scripted_agent(script2, tools=[lookup_person], default_options=options)
    resumed = second.approve_tool_call(first.run_id, "c1")
    assert resumed.object == Contact(name="Ada", email="ada@example.com", age=36)
    assert script2.bodies[0]["response_format"]["json_schema"]["name"] == "Contact"


def test_extractor_agent_runs_offline() -> None:
    from agents.extractor import Contact as ExtractorContact
    from agents.extractor import agent, private_agent

    result = agent.generate("Ada Lovelace can be reached at ada@example.com, she is 36")
    assert isinstance(result.object, ExtractorContact)
    assert result.object.email == "ada@example.com" and result.object.age == 36
    private = private_agent.generate("Ada Lovelace can be reached at ada@example.com, she is 36")
    sent = private.steps[0].raw_request.body["messages"][-1]["content"]  # type: ignore[union-attr]
    assert "ada@example.com" not in sent and "[EMAIL]" in sent
