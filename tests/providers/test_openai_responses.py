"""OpenAI Responses adapter on pure inputs: request mapping, warnings, stream errors, embeddings, models."""

from __future__ import annotations

import json

import pytest

from playground.errors import StreamError
from playground.messages import FilePart, ImagePart, Message, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from playground.providers.base import ModelCall, ResponseFormat, SSEEvent, ToolDefinition
from playground.providers.openai_responses import OpenAIResponsesProvider
from playground.settings import ModelSettings, NamedToolChoice

TOOL = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}}, True)
SEARCH = ToolDefinition("web_search", "", {}, provider_metadata={"openai": {"type": "web_search"}})


def build(model: str = "gpt-4.1", **kwargs: object) -> tuple[dict, list[str], object]:
    provider = OpenAIResponsesProvider(model, api_key="sk-secret")
    messages = kwargs.pop("messages", [Message.user("Hi")])
    spec = provider.build_request(ModelCall(model, messages, **kwargs))  # type: ignore[arg-type]
    return spec.json, spec.warnings, spec


def test_url_headers_and_instructions() -> None:
    body, warnings, spec = build(messages=[Message.system("Be brief."), Message.user("Hi")])
    assert spec.url == "https://api.openai.com/v1/responses"  # type: ignore[attr-defined]
    assert spec.headers["Authorization"] == "Bearer sk-secret"  # type: ignore[attr-defined]
    assert body == {"model": "gpt-4.1", "input": [{"role": "user", "content": "Hi"}], "instructions": "Be brief."}
    assert warnings == []


def test_tools_builtin_tools_and_choices() -> None:
    body, _, _ = build(tools=[TOOL, SEARCH], tool_choice=NamedToolChoice(tool_name="get_weather"))
    assert body["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Weather",
            "parameters": TOOL.parameters,
            "strict": True,
        },
        {"type": "web_search"},
    ]
    assert body["tool_choice"] == {"type": "function", "name": "get_weather"}
    assert build(tools=[TOOL], tool_choice="required")[0]["tool_choice"] == "required"
    body, warnings, _ = build(tool_choice="required")
    assert "tool_choice" not in body and "no tools are active" in warnings[0]


def test_images_and_files() -> None:
    msg = Message(
        role="user",
        content=[
            TextPart(text="Look"),
            ImagePart(url="https://x/cat.png"),
            ImagePart(data="AAAA", media_type="image/jpeg", detail="high"),
            FilePart(data="JVBE", media_type="application/pdf", filename="a.pdf"),
            FilePart(url="https://x/doc.pdf"),
        ],
    )
    content = build(messages=[msg])[0]["input"][0]["content"]
    assert content == [
        {"type": "input_text", "text": "Look"},
        {"type": "input_image", "image_url": "https://x/cat.png", "detail": "auto"},
        {"type": "input_image", "image_url": "data:image/jpeg;base64,AAAA", "detail": "high"},
        {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
        {"type": "input_file", "file_url": "https://x/doc.pdf"},
    ]


def test_settings_and_warnings() -> None:
    settings = ModelSettings(temperature=0.2, top_p=0.5, max_output_tokens=99, top_k=3, seed=1, stop_sequences=["x"])
    body, warnings, _ = build(settings=settings)
    assert (body["temperature"], body["top_p"], body["max_output_tokens"]) == (0.2, 0.5, 99)
    assert [w.split()[0] for w in warnings] == ["top_k", "seed", "stop_sequences"]


def test_reasoning_models_reject_sampling_settings() -> None:
    body, warnings, _ = build("o4-mini", settings=ModelSettings(temperature=0.2, max_output_tokens=50))
    assert "temperature" not in body and body["max_output_tokens"] == 50
    assert warnings == ["temperature was not sent: reasoning model 'o4-mini' does not accept it"]


def test_reasoning_options_and_store_false_include_encrypted_content() -> None:
    body, _, _ = build(
        "gpt-5.2", provider_options={"openai": {"reasoning_effort": "low", "reasoning_summary": "auto", "store": False}}
    )
    assert body["reasoning"] == {"effort": "low", "summary": "auto"}
    assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]


def test_structured_output_and_stream() -> None:
    rf = ResponseFormat({"type": "object", "properties": {}}, name="Out", description="d")
    body, _, spec = build(response_format=rf, stream=True)
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "Out", "schema": rf.schema, "strict": True, "description": "d"}
    }
    assert body["stream"] is True and spec.stream  # type: ignore[attr-defined]


def test_history_maps_to_items() -> None:
    reasoning = ReasoningPart(
        text="thought", provider_metadata={"openai": {"item_id": "rs_1", "encrypted_content": "E"}}
    )
    messages = [
        Message.user("Hi"),
        Message(
            role="assistant",
            content=[
                reasoning,
                TextPart(text="Let me check."),
                ToolCallPart(tool_call_id="call_1", tool_name="f", args={"a": 1}),
            ],
        ),
        Message(role="tool", content=[ToolResultPart(tool_call_id="call_1", tool_name="f", result={"ok": True})]),
    ]
    items = build(messages=messages)[0]["input"]
    assert items[1:] == [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "thought"}],
            "encrypted_content": "E",
        },
        {"role": "assistant", "content": "Let me check."},
        {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a": 1}'},
        {"type": "function_call_output", "call_id": "call_1", "output": '{"ok": true}'},
    ]


def test_foreign_reasoning_is_not_sent_and_said_so() -> None:
    messages = [Message.user("Hi"), Message(role="assistant", content=[ReasoningPart(text="x", signature="s")])]
    body, warnings, _ = build(messages=messages)
    assert all(item.get("type") != "reasoning" for item in body["input"])
    assert warnings == ["reasoning from another provider was not sent to the Responses API"]


def _feed(events: list[dict]) -> object:
    parser = OpenAIResponsesProvider("gpt-5").stream_parser(ModelCall("gpt-5", []))
    for ev in events:
        parser.feed(SSEEvent(json.dumps(ev), ev["type"]))
    return parser.finish()


def test_stream_error_event_raises_stream_error() -> None:
    parser = OpenAIResponsesProvider("gpt-5").stream_parser(ModelCall("gpt-5", []))
    with pytest.raises(StreamError) as info:
        parser.feed(SSEEvent(json.dumps({"type": "error", "code": "server_error", "message": "boom"}), "error"))
    assert (info.value.code, info.value.message, info.value.retryable) == ("server_error", "boom", True)


def test_stream_response_failed_raises_stream_error() -> None:
    failed = {
        "type": "response.failed",
        "response": {"id": "r", "status": "failed", "error": {"code": "rate_limit_exceeded", "message": "slow"}},
    }
    parser = OpenAIResponsesProvider("gpt-5").stream_parser(ModelCall("gpt-5", []))
    with pytest.raises(StreamError, match="slow"):
        parser.feed(SSEEvent(json.dumps(failed)))


def test_incomplete_response_is_length_and_parallel_calls_parse() -> None:
    data = {
        "id": "r",
        "model": "gpt-5",
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [
            {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "a", "arguments": '{"x":1}'},
            {"type": "function_call", "id": "fc_2", "call_id": "c2", "name": "b", "arguments": "{}"},
        ],
        "usage": {
            "input_tokens": 5,
            "output_tokens": 7,
            "total_tokens": 12,
            "output_tokens_details": {"reasoning_tokens": 3},
        },
    }
    resp = OpenAIResponsesProvider("gpt-5").parse_response(200, {}, json.dumps(data).encode())
    assert [(t.tool_call_id, t.args) for t in resp.tool_calls] == [("c1", {"x": 1}), ("c2", {})]
    assert (resp.finish_reason, resp.raw_finish_reason, resp.usage.reasoning_tokens) == (
        "length",
        "max_output_tokens",
        3,
    )


def test_streamed_reasoning_summary_parts_and_encrypted_content() -> None:
    resp = _feed(
        [
            {"type": "response.created", "response": {"id": "r1", "model": "o3", "created_at": 1}},
            {"type": "response.output_item.added", "output_index": 0, "item": {"id": "rs_9", "type": "reasoning"}},
            {"type": "response.reasoning_summary_text.delta", "item_id": "rs_9", "summary_index": 0, "delta": "One"},
            {"type": "response.reasoning_summary_text.delta", "item_id": "rs_9", "summary_index": 1, "delta": "Two"},
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "item": {
                    "id": "rs_9",
                    "type": "reasoning",
                    "encrypted_content": "ENC",
                    "summary": [{"type": "summary_text", "text": "One"}, {"type": "summary_text", "text": "Two"}],
                },
            },
            {
                "type": "response.completed",
                "response": {
                    "id": "r1",
                    "status": "completed",
                    "output": [],
                    "usage": {"input_tokens": 1, "output_tokens": 2},
                },
            },
        ]
    )
    (part,) = resp.reasoning  # type: ignore[attr-defined]
    assert part.text == "One\n\nTwo"
    assert part.provider_metadata["openai"]["encrypted_content"] == "ENC"
    assert resp.usage.total_tokens == 3 and resp.id == "r1"  # type: ignore[attr-defined]


def test_embeddings_and_models() -> None:
    provider = OpenAIResponsesProvider("text-embedding-3-small", api_key="k")
    spec = provider.build_embed_request(["a", "b"], {"dimensions": 8, "bogus": 1})
    assert spec.url.endswith("/embeddings")
    assert spec.json == {
        "model": "text-embedding-3-small",
        "input": ["a", "b"],
        "encoding_format": "float",
        "dimensions": 8,
    }
    assert spec.warnings == ["embedding option 'bogus' is not known to the embeddings API and was not sent"]
    body = {
        "data": [{"index": 1, "embedding": [3, 4]}, {"index": 0, "embedding": [1, 2]}],
        "model": "m",
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    resp = provider.parse_embed_response(200, {}, json.dumps(body).encode())
    assert resp.vectors == [[1.0, 2.0], [3.0, 4.0]] and resp.usage.input_tokens == 4
    assert provider.build_list_models_request().url == "https://api.openai.com/v1/models"
    models = provider.parse_list_models(200, {}, b'{"data": [{"id": "gpt-5"}, {"id": "gpt-4.1"}]}')
    assert models == ["gpt-4.1", "gpt-5"]


def test_web_search_call_sources_and_citations() -> None:
    search = {
        "id": "ws_1",
        "type": "web_search_call",
        "status": "completed",
        "action": {
            "type": "search",
            "query": "q",
            "sources": [{"type": "url", "url": "https://a.example/"}, {"type": "url", "url": "https://b.example/"}],
        },
    }
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [
            {
                "type": "output_text",
                "text": "A [a]",
                "annotations": [{"type": "url_citation", "url": "https://a.example/", "title": "A", "start_index": 2}],
            }
        ],
    }
    data = {"id": "r", "status": "completed", "output": [search, message]}
    whole = OpenAIResponsesProvider("gpt-5").parse_response(200, {}, json.dumps(data).encode())
    streamed = _feed(
        [
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {"id": "ws_1", "type": "web_search_call"},
            },
            {"type": "response.output_item.done", "output_index": 0, "item": search},
            {"type": "response.output_item.added", "output_index": 1, "item": {"id": "msg_1", "type": "message"}},
            {"type": "response.output_text.delta", "item_id": "msg_1", "delta": "A [a]"},
            {"type": "response.output_text.annotation.added", "annotation": message["content"][0]["annotations"][0]},
            {"type": "response.completed", "response": {"id": "r", "status": "completed"}},
        ]
    )
    for resp in (whole, streamed):
        assert [s.url for s in resp.sources] == ["https://a.example/", "https://b.example/"]  # type: ignore[attr-defined]
        assert resp.provider_metadata["openai"]["server_tool_calls"][0]["id"] == "ws_1"  # type: ignore[attr-defined]
