"""Gemini adapter on pure inputs: URLs and key header, request mapping, ids, signatures, streams, embeddings."""

from __future__ import annotations

import json
from typing import Any

from playground.messages import ImagePart, Message, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from playground.providers.base import ModelCall, ResponseFormat, SSEEvent, ToolDefinition
from playground.providers.gemini import GeminiProvider, synthesize_call_id
from playground.providers.registry import resolve_provider
from playground.settings import ModelSettings, NamedToolChoice

KEY = "AIza-secret"
TOOL = ToolDefinition("get_weather", "Weather", {"type": "object", "properties": {"city": {"type": "string"}}})
NO_ARGS = ToolDefinition("now", "Time", {"type": "object", "properties": {}})
SEARCH = ToolDefinition("google_search", "", {}, provider_metadata={"gemini": {"google_search": {}}})


def build(**kwargs: Any) -> Any:
    provider = GeminiProvider("gemini-2.5-flash", api_key=KEY, stream_format=kwargs.pop("fmt", "sse"))
    messages = kwargs.pop("messages", [Message.user("Hi")])
    return provider.build_request(ModelCall("gemini-2.5-flash", messages, **kwargs))


def test_urls_and_key_header() -> None:
    base = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
    whole, sse, array = build(), build(stream=True), build(stream=True, fmt="json-array")
    assert whole.url == f"{base}:generateContent"
    assert sse.url == f"{base}:streamGenerateContent?alt=sse"
    assert array.url == f"{base}:streamGenerateContent"
    for spec in (whole, sse, array):
        assert spec.headers["x-goog-api-key"] == KEY and KEY not in spec.url


def test_registry_passes_the_json_array_variant_through() -> None:
    provider = resolve_provider("gemini:gemini-2.5-flash", api_key=KEY, stream_format="json-array")
    assert isinstance(provider, GeminiProvider) and provider.stream_format == "json-array"


def test_system_tools_choice_and_settings() -> None:
    settings = ModelSettings(
        temperature=0.1,
        top_p=0.2,
        top_k=3,
        max_output_tokens=40,
        seed=9,
        stop_sequences=["a", "b", "c", "d", "e", "f"],
        presence_penalty=0.5,
    )
    spec = build(
        messages=[Message.system("Be brief."), Message.user("Hi")],
        tools=[TOOL, NO_ARGS, SEARCH],
        tool_choice=NamedToolChoice(tool_name="get_weather"),
        settings=settings,
    )
    body = spec.json
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "Weather", "parametersJsonSchema": TOOL.parameters},
                {"name": "now", "description": "Time"},
            ]
        },
        {"google_search": {}},
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert body["generationConfig"] == {
        "temperature": 0.1,
        "topP": 0.2,
        "topK": 3,
        "maxOutputTokens": 40,
        "presencePenalty": 0.5,
        "seed": 9,
        "stopSequences": ["a", "b", "c", "d", "e"],
    }
    assert spec.warnings == ["Gemini accepts at most 5 stop sequences; the rest were not sent"]
    assert build(tools=[TOOL], tool_choice="none").json["toolConfig"] == {"functionCallingConfig": {"mode": "NONE"}}
    assert "toolConfig" not in build(tools=[TOOL]).json


def test_structured_output_and_thinking_options() -> None:
    rf = ResponseFormat({"type": "object", "properties": {"city": {"type": "string"}}})
    body = build(
        response_format=rf,
        provider_options={"gemini": {"thinkingConfig": {"includeThoughts": True}, "cachedContent": "c/1"}},
    ).json
    assert body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": rf.schema,
        "thinkingConfig": {"includeThoughts": True},
    }
    assert body["cachedContent"] == "c/1"


def test_history_with_signatures_images_and_function_responses() -> None:
    messages = [
        Message(
            role="user",
            content=[
                TextPart(text="Look"),
                ImagePart(data="AAAA", media_type="image/png"),
                ImagePart(url="gs://b/cat.png", media_type="image/png"),
            ],
        ),
        Message(
            role="assistant",
            content=[
                ReasoningPart(text="thinking...", signature="T-SIG"),
                ToolCallPart(
                    tool_call_id="call_x",
                    tool_name="get_weather",
                    args={"city": "Rome"},
                    provider_metadata={"gemini": {"thought_signature": "FC-SIG"}},
                ),
            ],
        ),
        Message(
            role="tool",
            content=[
                ToolResultPart(tool_call_id="call_x", tool_name="", result="sunny"),
                ToolResultPart(tool_call_id="call_y", tool_name="other", result={"k": 1}),
            ],
        ),
        Message(role="assistant", content=[ReasoningPart(text="", signature="TEXT-SIG"), TextPart(text="Sunny.")]),
    ]
    contents = build(messages=messages).json["contents"]
    assert contents[0]["parts"][1:] == [
        {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
        {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/cat.png"}},
    ]
    assert contents[1] == {
        "role": "model",
        "parts": [
            {"text": "thinking...", "thought": True, "thoughtSignature": "T-SIG"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}, "thoughtSignature": "FC-SIG"},
        ],
    }
    assert contents[2] == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}},
            {"functionResponse": {"name": "other", "response": {"k": 1}}},
        ],
    }
    assert contents[3] == {"role": "model", "parts": [{"text": "Sunny.", "thoughtSignature": "TEXT-SIG"}]}


def test_synthesised_ids_are_stable_and_distinct() -> None:
    chunk = {
        "responseId": "R1",
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": "a", "args": {}}},
                        {"functionCall": {"name": "a", "args": {"x": 1}}},
                    ],
                },
                "finishReason": "STOP",
            }
        ],
    }
    provider = GeminiProvider("g", api_key=KEY)
    first = provider.parse_response(200, {}, json.dumps(chunk).encode())
    again = provider.parse_response(200, {}, json.dumps(chunk).encode())
    ids = [t.tool_call_id for t in first.tool_calls]
    assert (
        ids
        == [t.tool_call_id for t in again.tool_calls]
        == [synthesize_call_id("R1", 0, "a"), synthesize_call_id("R1", 1, "a")]
    )
    assert ids[0] != ids[1] and first.finish_reason == "tool-calls"


def test_json_array_stream_split_anywhere_and_whole_array_body() -> None:
    chunks = [
        {"responseId": "R", "candidates": [{"content": {"parts": [{"text": "Hel"}]}}]},
        {
            "responseId": "R",
            "candidates": [{"content": {"parts": [{"text": "lo"}]}, "finishReason": "MAX_TOKENS"}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5},
        },
    ]
    provider = GeminiProvider("g", api_key=KEY, stream_format="json-array")
    parser = provider.stream_parser(ModelCall("g", []))
    events = []
    for chunk in chunks:
        events += parser.feed(SSEEvent(json.dumps(chunk)))
    streamed = parser.finish()
    whole = provider.parse_response(200, {}, json.dumps(chunks).encode())
    assert streamed.text == whole.text == "Hello"
    assert [e.text for e in events] == ["Hel", "lo"]
    assert streamed.finish_reason == whole.finish_reason == "length"
    assert streamed.usage == whole.usage and whole.usage.total_tokens == 5


def test_blocked_prompt_is_a_content_filter_finish() -> None:
    body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}}
    resp = GeminiProvider("g", api_key=KEY).parse_response(200, {}, json.dumps(body).encode())
    assert (resp.finish_reason, resp.raw_finish_reason, resp.text) == ("content-filter", "SAFETY", "")


def test_embeddings_and_models() -> None:
    provider = GeminiProvider("gemini-embedding-001", api_key=KEY)
    spec = provider.build_embed_request(["a", "b"], {"task_type": "RETRIEVAL_QUERY", "output_dimensionality": 8})
    assert spec.url.endswith("/models/gemini-embedding-001:batchEmbedContents") and KEY not in spec.url
    assert spec.json["requests"][1] == {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "b"}]},
        "taskType": "RETRIEVAL_QUERY",
        "outputDimensionality": 8,
    }
    resp = provider.parse_embed_response(200, {}, b'{"embeddings": [{"values": [1, 2]}, {"values": [3, 4]}]}')
    assert resp.vectors == [[1.0, 2.0], [3.0, 4.0]]
    models = provider.parse_list_models(
        200, {}, b'{"models": [{"name": "models/gemini-2.5-pro"}, {"name": "models/a"}]}'
    )
    assert models == ["a", "gemini-2.5-pro"]
    assert provider.build_list_models_request().headers["x-goog-api-key"] == KEY
