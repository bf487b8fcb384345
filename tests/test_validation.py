# pyright: reportArgumentType=false
"""Every public argument is checked where it enters, with an error naming the field (issue 10, Core).

Each case is something a new user typed; before the fix it crashed deep inside (AttributeError, TypeError from httpx)
or was silently accepted (timeout="10", max_steps=True, run_id="", telemetry=...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from playground import Agent, ConfigurationError, Message, tool
from playground.messages import normalize_messages


def _no_tool(a: int, /, b: int) -> int:
    return a + b


@pytest.mark.parametrize(
    ("build", "field", "words"),
    [
        (lambda: Agent(model=None), "model", "model string"),
        (lambda: Agent(model=123), "model", "model string"),
        (lambda: Agent(model="openai:"), "model", "names no model"),
        (lambda: Agent(model=""), "model", "empty model string"),
        (lambda: Agent(headers={"X-Team": 1}), "headers", "string"),
        (lambda: Agent(headers=["X-Team"]), "headers", "dict"),
        (lambda: Agent(api_key=12345), "api_key", "string"),
        (lambda: Agent(base_url=8080), "base_url", "string"),
        (lambda: Agent(storage="runs.db"), "storage", "save()"),
        (lambda: Agent(timeout="10"), "timeout", "number of seconds"),
        (lambda: Agent(timeout=-5), "timeout", "greater than 0"),
        (lambda: Agent(timeout=True), "timeout", "number of seconds"),
        (lambda: Agent(name=5), "name", "non-empty string"),
        (lambda: Agent(instructions=5), "instructions", "expected a string or a system message"),
        (lambda: Agent(instructions=["Be brief.", 7]), "instructions", "expected a string or a system message"),
        (lambda: Agent(description=["a"]), "description", "expected a string"),
        (lambda: Agent(tools=5), "tools", "list of tools"),
        (lambda: Agent(always_approve="refund"), "always_approve", "list of tool names"),
        (lambda: Agent(max_processor_retries=True), "max_processor_retries", "whole number"),
        (lambda: Agent(input_processors=[object()]), "input_processors", "none of the hooks"),
        (lambda: Agent(output_processors=[lambda chunk: chunk]), "output_processors", "none of the hooks"),
        (lambda: Agent(input_processors=5), "input_processors", "list of processors"),
        (lambda: Agent().embed(None), "input", "non-empty string"),
        (lambda: Agent().embed([]), "input", "non-empty string"),
        (lambda: tool(_no_tool), "tools", "positional-only"),
    ],
)
def test_agent_arguments_are_checked_at_construction(build: Any, field: str, words: str) -> None:
    with pytest.raises(ConfigurationError, match=field) as info:
        build()
    assert info.value.field == field
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("options", "field", "words"),
    [
        ({"timeout": "10"}, "timeout", "expected a number"),
        ({"timeout": -5}, "timeout", "greater than 0"),
        ({"max_steps": True}, "max_steps", "expected a number"),
        ({"max_steps": 0}, "max_steps", "greater than or equal to 1"),
        ({"temperature": True}, "model_settings", "temperature: expected a number"),
        ({"max_output_tokens": "200"}, "model_settings", "max_output_tokens: expected a number"),
        ({"model_settings": {"seed": False}}, "model_settings", "seed: expected a number"),
        ({"tool_call_concurrency": True}, "tool_call_concurrency", "expected a number"),
        ({"run_id": ""}, "run_id", "non-empty string"),
        ({"run_id": 7}, "run_id", "non-empty string"),
        ({"client_tools": 5}, "client_tools", "list of tools"),
        ({"output_processors": [5]}, "output_processors", "none of the hooks"),
        ({"input_processors": "PIIRedactor"}, "input_processors", "list of processors"),
    ],
)
def test_call_options_are_checked_before_anything_is_sent(options: dict[str, Any], field: str, words: str) -> None:
    agent = Agent(model="demo")
    with pytest.raises(ConfigurationError) as info:
        agent.prompt("hi", **options)
    assert info.value.field == field
    assert words in str(info.value)
    assert "Value error" not in str(info.value)


def test_required_tool_choice_without_tools_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="tool_choice='required'") as info:
        Agent(model="demo").generate("hi", tool_choice="required")
    assert info.value.field == "tool_choice"


def test_telemetry_is_checked_not_silently_ignored() -> None:
    """telemetry= is read by tracing (tracing.py): a wrong value is an error naming the field."""
    with pytest.raises(ConfigurationError) as info:
        Agent(model="demo").prompt("hi", telemetry={"isEnabled": True, "sample_rate": 2})
    assert info.value.field == "telemetry"
    result = Agent(model="demo").generate("hi", telemetry={"record_inputs": True})
    assert not any("telemetry" in w for w in result.warnings)


# -- messages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("empty", [None, "", "   ", [], ()])
def test_generate_with_nothing_to_send_is_an_error(empty: Any) -> None:
    with pytest.raises(ConfigurationError, match="messages") as info:
        Agent(model="demo").generate(empty)
    assert info.value.field == "messages"


@pytest.mark.parametrize(
    "message",
    [
        {"role": "user", "content": ""},
        {"role": "user", "content": []},
        {"role": "user"},
        {"id": "m1", "role": "user", "parts": []},
        {"id": "m1", "role": "user", "parts": [{"type": "step-start"}]},
    ],
)
def test_a_message_that_normalises_to_nothing_is_an_error(message: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=r"messages\[1\]: the message has no content"):
        Agent(model="demo").prompt(["Hello", message])


def test_mastra_ui_messages_are_accepted() -> None:
    ui = [
        {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Weather in Paris?"}]},
        {
            "id": "a1",
            "role": "assistant",
            "parts": [
                {"type": "step-start"},
                {"type": "reasoning", "text": "I should call the tool."},
                {
                    "type": "tool-get_weather",
                    "toolCallId": "call_1",
                    "state": "output-available",
                    "input": {"city": "Paris"},
                    "output": {"temp_c": 21},
                },
                {"type": "text", "text": "It is 21 C in Paris."},
            ],
        },
        {
            "id": "u2",
            "role": "user",
            "parts": [
                {"type": "text", "text": "And this picture?"},
                {"type": "file", "mediaType": "image/png", "url": "https://example.com/a.png"},
            ],
        },
    ]
    msgs = normalize_messages(ui)
    assert [m.role for m in msgs] == ["user", "assistant", "tool", "user"]
    assert msgs[1].tool_calls[0].tool_name == "get_weather" and msgs[1].tool_calls[0].args == {"city": "Paris"}
    assert msgs[1].text == "It is 21 C in Paris." and msgs[1].reasoning[0].text == "I should call the tool."
    assert msgs[2].tool_results[0].tool_call_id == "call_1" and msgs[2].tool_results[0].result == {"temp_c": 21}
    assert msgs[3].content[1].type == "image"
    # and the model receives them as its own wire shape
    result = Agent(model="demo").generate(ui)
    sent = result.steps[0].raw_request.body["messages"]  # type: ignore[index]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_mastra_stored_format_2_messages_are_accepted() -> None:
    stored = {"id": "m", "role": "user", "content": {"format": 2, "parts": [{"type": "text", "text": "Hi there"}]}}
    assert normalize_messages([stored])[0].text == "Hi there"


@pytest.mark.parametrize(
    ("output", "value", "is_error"),
    [
        ({"type": "json", "value": {"temp_c": 21}}, {"temp_c": 21}, False),
        ({"type": "text", "value": "sunny"}, "sunny", False),
        ({"type": "error-text", "value": "city not found"}, "city not found", True),
        ({"type": "content", "value": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, "ab", False),
    ],
)
def test_v5_tool_result_output_envelope_is_unwrapped(output: dict[str, Any], value: Any, is_error: bool) -> None:
    msgs = normalize_messages(
        [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [{"type": "tool-call", "toolCallId": "c1", "toolName": "w", "input": {}}]},
            {
                "role": "tool",
                "content": [{"type": "tool-result", "toolCallId": "c1", "toolName": "w", "output": output}],
            },
        ]
    )
    part = msgs[2].tool_results[0]
    assert part.result == value and part.is_error is is_error


def test_message_objects_pass_through_unchanged() -> None:
    m = Message.user("hello")
    assert normalize_messages([m]) == [m]


# -- nothing written outside the test's folders -------------------------------------------------------------------


def test_agents_built_at_import_write_where_playground_home_points_at_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "at_import"))
    agent = Agent(name="support", model="demo", tools=[_refund])  # as agents/*.py do when imported
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "at_use"))
    result = agent.generate("refund order 42")
    assert result.finish_reason == "suspended"
    assert (tmp_path / "at_use" / "runs.sqlite3").exists()
    assert not (tmp_path / "at_import").exists()


@tool(requires_approval=True)
def _refund(order_id: str) -> str:
    """Refund an order."""
    return f"refunded {order_id}"
