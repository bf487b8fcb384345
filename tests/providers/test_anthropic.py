"""Anthropic adapter on pure inputs: request mapping, required max_tokens, sampler rules, thinking, stream quirks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from playground.errors import StreamError
from playground.messages import FilePart, ImagePart, Message, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from playground.providers.anthropic import AnthropicProvider
from playground.providers.base import ModelCall, ResponseFormat, SSEEvent, ToolDefinition
from playground.settings import ModelSettings, NamedToolChoice

TOOL = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
SEARCH = ToolDefinition(
    "web_search",
    "",
    {},
    provider_metadata={"anthropic": {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}},
)


def build(model: str = "claude-3-5-haiku-latest", **kwargs: Any) -> tuple[dict[str, Any], list[str]]:
    provider = AnthropicProvider(model, api_key="sk-ant-secret")
    messages = kwargs.pop("messages", [Message.user("Hi")])
    spec = provider.build_request(ModelCall(model, messages, **kwargs))
    assert spec.url == "https://api.anthropic.com/v1/messages"
    assert spec.headers["x-api-key"] == "sk-ant-secret" and spec.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in spec.headers
    return spec.json, spec.warnings


def test_max_tokens_is_defaulted_with_a_warning() -> None:
    body, warnings = build()
    assert body["max_tokens"] == 4096
    assert warnings == ["max_tokens is required by Anthropic; sent 4096 (set max_output_tokens)"]
    body, warnings = build(settings=ModelSettings(max_output_tokens=100))
    assert body["max_tokens"] == 100 and warnings == []


def test_system_messages_become_the_system_field() -> None:
    body, _ = build(messages=[Message.system("A"), Message.user("Hi"), Message.system("B")])
    assert body["system"] == "A\n\nB"
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


@pytest.mark.parametrize(
    ("model", "sends_top_p"),
    [
        ("claude-sonnet-4-5", False),
        ("claude-haiku-4-5-20251001", False),
        ("claude-opus-4-1", False),
        ("claude-3-5-haiku-latest", True),
        ("claude-sonnet-4-0", True),
    ],
)
def test_temperature_and_top_p_together(model: str, sends_top_p: bool) -> None:
    body, warnings = build(model, settings=ModelSettings(temperature=0.5, top_p=0.9, max_output_tokens=10))
    assert body["temperature"] == 0.5
    assert ("top_p" in body) is sends_top_p
    assert (warnings == [f"top_p was not sent: {model} accepts temperature or top_p, not both"]) is not sends_top_p


def test_unsupported_settings_warn_and_supported_ones_map() -> None:
    settings = ModelSettings(max_output_tokens=5, top_k=4, stop_sequences=["END"], seed=3, presence_penalty=0.1)
    body, warnings = build(settings=settings)
    assert (body["top_k"], body["stop_sequences"]) == (4, ["END"])
    assert warnings == [
        "presence_penalty is not supported by Anthropic and was not sent",
        "seed is not supported by Anthropic and was not sent",
    ]


def test_thinking_drops_temperature_and_top_k() -> None:
    body, warnings = build(
        settings=ModelSettings(max_output_tokens=2000, temperature=0.3, top_k=5),
        provider_options={"anthropic": {"thinking": {"type": "enabled", "budget_tokens": 1024}}},
    )
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert "temperature" not in body and "top_k" not in body
    assert len(warnings) == 2 and "extended thinking" in warnings[0]


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", None),
        ("required", {"type": "any"}),
        (NamedToolChoice(tool_name="get_weather"), {"type": "tool", "name": "get_weather"}),
        ("none", {"type": "none"}),
    ],
)
def test_tool_choice(choice: Any, wire: Any) -> None:
    body, _ = build(tools=[TOOL, SEARCH], tool_choice=choice)
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather", "input_schema": TOOL.parameters},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
    ]
    assert body.get("tool_choice") == wire


def test_images_documents_and_tool_round_trip() -> None:
    messages = [
        Message(
            role="user",
            content=[
                TextPart(text="See"),
                ImagePart(data="AAAA", media_type="image/png"),
                ImagePart(url="https://x/cat.jpg"),
                FilePart(data="JVBE", media_type="application/pdf"),
                FilePart(data="aGVsbG8=", media_type="text/plain"),
            ],
        ),
        Message(
            role="assistant",
            content=[
                ReasoningPart(text="hmm", signature="SIG"),
                ReasoningPart(text="", signature="REDACTED-DATA", redacted=True),
                ReasoningPart(text="not signed: another provider's"),
                TextPart(text="Checking"),
                ToolCallPart(tool_call_id="toolu_1", tool_name="get_weather", args={"city": "Paris"}),
            ],
        ),
        Message(
            role="tool",
            content=[
                ToolResultPart(tool_call_id="toolu_1", tool_name="get_weather", result="21C"),
                ToolResultPart(tool_call_id="toolu_2", tool_name="x", result="bad", is_error=True),
            ],
        ),
        Message.user("And tomorrow?"),
    ]
    body, _ = build(messages=messages)
    user, assistant, results = body["messages"]
    assert user["content"][1:] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
        {"type": "image", "source": {"type": "url", "url": "https://x/cat.jpg"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hello"}},
    ]
    assert assistant["content"] == [
        {"type": "thinking", "thinking": "hmm", "signature": "SIG"},
        {"type": "redacted_thinking", "data": "REDACTED-DATA"},
        {"type": "text", "text": "Checking"},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
    ]
    # tool results and the next user text merge into one user turn, as the API requires alternation
    assert results == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "21C"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "bad", "is_error": True},
            {"type": "text", "text": "And tomorrow?"},
        ],
    }


def test_structured_output_goes_through_the_prompt_with_a_warning() -> None:
    body, warnings = build(response_format=ResponseFormat({"type": "object", "properties": {"a": {"type": "integer"}}}))
    assert '"a": {"type": "integer"}' in body["system"]
    assert "through the prompt" in warnings[-1]


def _stream(events: list[tuple[str, str]]) -> Any:
    parser = AnthropicProvider("c", api_key="k").stream_parser(ModelCall("c", []))
    out = []
    for name, data in events:
        out += parser.feed(SSEEvent(data, name))
    return parser.finish(), out


def test_stream_with_pings_padding_redacted_thinking_and_tool_json() -> None:
    resp, events = _stream(
        [
            (
                "message_start",
                '{"type":"message_start","message":{"id":"msg_1","model":"claude-x","usage":'
                '{"input_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":7,'
                '"output_tokens":1}}}',
            ),
            ("ping", '{"type": "ping"}'),
            (
                "content_block_start",
                '{"type":"content_block_start","index":0,"content_block":'
                '{"type":"redacted_thinking","data":"OPAQUE"}           }',
            ),
            (
                "content_block_start",
                '{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}',
            ),
            (
                "content_block_delta",
                '{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi"}   }',
            ),
            (
                "content_block_start",
                '{"type":"content_block_start","index":2,"content_block":'
                '{"type":"tool_use","id":"toolu_9","name":"f","input":{}}}',
            ),
            (
                "content_block_delta",
                '{"type":"content_block_delta","index":2,"delta":'
                '{"type":"input_json_delta","partial_json":"{\\"a\\": "}}',
            ),
            (
                "content_block_delta",
                '{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"1}"}}',
            ),
            (
                "message_delta",
                '{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}',
            ),
            ("message_stop", '{"type":"message_stop"}'),
        ]
    )
    assert resp.reasoning[0].redacted and resp.reasoning[0].signature == "OPAQUE"
    assert resp.text == "Hi" and [(t.tool_call_id, t.args) for t in resp.tool_calls] == [("toolu_9", {"a": 1})]
    assert (resp.usage.input_tokens, resp.usage.cached_input_tokens, resp.usage.cache_creation_input_tokens) == (
        112,
        100,
        7,
    )
    assert (resp.usage.output_tokens, resp.usage.total_tokens, resp.finish_reason) == (30, 142, "tool-calls")
    assert [e.type for e in events] == ["text-delta", "tool-call-delta", "tool-call-delta"]


def test_overloaded_error_event_is_a_retryable_stream_error() -> None:
    parser = AnthropicProvider("c", api_key="k").stream_parser(ModelCall("c", []))
    with pytest.raises(StreamError) as info:
        parser.feed(SSEEvent('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', "error"))
    assert (info.value.code, info.value.status, info.value.retryable) == ("overloaded_error", 529, True)


def test_list_models() -> None:
    provider = AnthropicProvider("c", api_key="k")
    assert provider.build_list_models_request().url == "https://api.anthropic.com/v1/models?limit=1000"
    body = {"data": [{"id": "claude-sonnet-4-5", "type": "model"}, {"id": "claude-haiku-4-5", "type": "model"}]}
    assert provider.parse_list_models(200, {}, json.dumps(body).encode()) == ["claude-haiku-4-5", "claude-sonnet-4-5"]
    assert not hasattr(provider, "build_embed_request") and provider.capabilities.embeddings is False
