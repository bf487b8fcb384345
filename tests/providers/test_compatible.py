"""OpenAI-compatible servers and Ollama: think tags (across chunk boundaries), quirks, host, embeddings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from playground.messages import Message
from playground.providers.base import ModelCall, SSEEvent, ToolDefinition
from playground.providers.compatible import (
    OllamaProvider,
    OpenAICompatibleProvider,
    ThinkTagSplitter,
    ollama_host,
    split_think_tags,
)
from playground.providers.openai_chat import OpenAIChatProvider
from playground.settings import ModelSettings, NamedToolChoice

TOOL = ToolDefinition("f", "F", {"type": "object", "properties": {}})
CONTENT = "<think>\nI should add.\n</think>\n\nThe answer is <b>4</b> < 5."


def _join(runs: list[tuple[str, str]]) -> tuple[str, str]:
    return "".join(t for k, t in runs if k == "reasoning"), "".join(t for k, t in runs if k == "text")


@pytest.mark.parametrize("cut", range(1, len(CONTENT)))
def test_think_tags_split_at_every_chunk_boundary(cut: int) -> None:
    splitter = ThinkTagSplitter()
    runs = splitter.feed(CONTENT[:cut]) + splitter.feed(CONTENT[cut:]) + splitter.flush()
    assert _join(runs) == ("\nI should add.\n", "The answer is <b>4</b> < 5.")


def test_think_tags_one_character_at_a_time() -> None:
    splitter = ThinkTagSplitter()
    runs = [r for ch in CONTENT for r in splitter.feed(ch)] + splitter.flush()
    assert _join(runs) == ("\nI should add.\n", "The answer is <b>4</b> < 5.")


def test_unclosed_think_and_plain_text() -> None:
    assert split_think_tags("<think>still thinking") == ("still thinking", "")
    assert split_think_tags("no tags <here>") == ("", "no tags <here>")
    splitter = ThinkTagSplitter()
    assert splitter.feed("a <thin") == [("text", "a ")]
    assert splitter.flush() == [("text", "<thin")]  # a prefix that never became a tag is text


def _chunk(content: Any = None, **delta: Any) -> str:
    d = {"content": content, **delta}
    return json.dumps({"id": "c1", "model": "qwen3", "choices": [{"index": 0, "delta": d, "finish_reason": None}]})


def test_stream_splits_think_tags_and_finishes_without_done() -> None:
    provider = OpenAICompatibleProvider("qwen3", base_url="http://h:1/v1")
    parser = provider.stream_parser(ModelCall("qwen3", []))
    events = []
    for piece in ["<thi", "nk>plan", " it</th", "ink>\n\n", "Hello", "", None]:
        events += parser.feed(SSEEvent(_chunk(piece)))
    resp = parser.finish()  # no [DONE], no finish_reason: still a complete response
    assert [(p.type, getattr(p, "text", None)) for p in resp.parts] == [("reasoning", "plan it"), ("text", "Hello")]
    assert [(e.type, e.text) for e in events] == [
        ("reasoning-delta", "plan"),
        ("reasoning-delta", " it"),
        ("text-delta", "Hello"),
    ]
    assert (resp.finish_reason, resp.raw_finish_reason, parser.done) == ("stop", None, False)


def test_whole_response_with_think_block_and_empty_vs_null_content() -> None:
    provider = OpenAICompatibleProvider("qwen3", base_url="http://h:1/v1")
    body = {
        "id": "x",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": CONTENT}}],
    }
    resp = provider.parse_response(200, {}, json.dumps(body).encode())
    assert (resp.reasoning[0].text, resp.text) == ("I should add.", "The answer is <b>4</b> < 5.")
    for content in ("", None):
        body["choices"][0]["message"] = {
            "role": "assistant",
            "content": content,
            "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": ""}}],
        }
        resp = provider.parse_response(200, {}, json.dumps(body).encode())
        assert [p.type for p in resp.parts] == ["tool-call"] and resp.tool_calls[0].args == {}


def test_reasoning_fields_from_both_server_families() -> None:
    for key in ("reasoning", "reasoning_content"):
        parser = OpenAICompatibleProvider("m", base_url="http://h/v1").stream_parser(ModelCall("m", []))
        parser.feed(SSEEvent(_chunk("", **{key: "why"})))
        parser.feed(SSEEvent(_chunk("because")))
        resp = parser.finish()
        assert (resp.reasoning[0].text, resp.text) == ("why", "because")


def test_compatible_request_quirks() -> None:
    provider = OpenAICompatibleProvider("qwen3", base_url="http://h:8000/v1")
    spec = provider.build_request(
        ModelCall(
            "qwen3",
            [Message.user("Hi")],
            tools=[TOOL],
            tool_choice="required",
            settings=ModelSettings(max_output_tokens=9, temperature=0.2),
        )
    )
    assert spec.url == "http://h:8000/v1/chat/completions" and "Authorization" not in spec.headers
    assert spec.json["max_tokens"] == 9 and "max_completion_tokens" not in spec.json
    assert spec.json["temperature"] == 0.2 and spec.json["tool_choice"] == "required"
    assert spec.warnings == [
        "tool_choice 'required' was sent, but some OpenAI-compatible servers ignore it; check the response"
    ]


def test_ollama_drops_tool_choice_it_ignores() -> None:
    provider = OllamaProvider("qwen3")
    spec = provider.build_request(
        ModelCall("qwen3", [Message.user("Hi")], tools=[TOOL], tool_choice=NamedToolChoice(tool_name="f"))
    )
    assert "tool_choice" not in spec.json
    assert spec.warnings == [
        "tool_choice {'type': 'function', 'function': {'name': 'f'}} was not sent: ollama ignores it"
    ]


@pytest.mark.parametrize(
    ("value", "env", "host"),
    [
        (None, None, "http://127.0.0.1:11434"),
        (None, "0.0.0.0", "http://127.0.0.1:11434"),
        (None, "gpu-box:9999", "http://gpu-box:9999"),
        (None, "https://ollama.example.com", "https://ollama.example.com"),
        (None, "http://0.0.0.0:8080", "http://127.0.0.1:8080"),
        ("http://localhost:11434/v1/", "ignored:1", "http://localhost:11434"),
    ],
)
def test_ollama_host(monkeypatch: pytest.MonkeyPatch, value: str | None, env: str | None, host: str) -> None:
    if env is None:
        monkeypatch.delenv("OLLAMA_HOST", raising=False)
    else:
        monkeypatch.setenv("OLLAMA_HOST", env)
    assert ollama_host(value) == host
    assert OllamaProvider("m", base_url=value).base_url == f"{host}/v1"


def test_ollama_embeddings_use_the_native_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    provider = OllamaProvider("nomic-embed-text")
    spec = provider.build_embed_request(["a", "b"], {"truncate": True, "dimensions": 4, "user": "x"})
    assert spec.url == "http://127.0.0.1:11434/api/embed"
    assert spec.json == {"model": "nomic-embed-text", "input": ["a", "b"], "truncate": True, "dimensions": 4}
    assert spec.warnings == ["embedding option 'user' is not known to Ollama and was not sent"]
    body = {"model": "nomic-embed-text", "embeddings": [[0.1, 0.2], [0.3, 0.4]], "prompt_eval_count": 6}
    resp = provider.parse_embed_response(200, {}, json.dumps(body).encode())
    assert resp.vectors == [[0.1, 0.2], [0.3, 0.4]] and resp.usage.input_tokens == 6


def test_chat_completions_embeddings_models_and_reasoning_model_settings() -> None:
    chat = OpenAIChatProvider("o3-mini", api_key="sk-x")
    spec = chat.build_request(
        ModelCall(
            "o3-mini", [Message.user("Hi")], settings=ModelSettings(temperature=0.5, top_p=0.5, max_output_tokens=7)
        )
    )
    assert "temperature" not in spec.json and "top_p" not in spec.json
    assert spec.json["max_completion_tokens"] == 7 and len(spec.warnings) == 2
    embed = chat.build_embed_request(["x"], {})
    assert embed.url == "https://api.openai.com/v1/embeddings" and embed.json["input"] == ["x"]
    assert chat.parse_embed_response(200, {}, b'{"data": [{"index": 0, "embedding": [1]}]}').vectors == [[1.0]]
    assert chat.parse_list_models(200, {}, b'{"object": "list", "data": [{"id": "b"}, {"id": "a"}]}') == ["a", "b"]


def test_proxy_repeating_the_tool_name_in_every_chunk() -> None:
    parser = OpenAICompatibleProvider("m", base_url="http://h/v1").stream_parser(ModelCall("m", []))
    for args in ("", "{}"):
        tc = [{"index": 0, "id": "0", "type": "function", "function": {"name": "llm_version", "arguments": args}}]
        parser.feed(SSEEvent(_chunk(None, tool_calls=tc)))
    resp = parser.finish()
    assert [(t.tool_call_id, t.tool_name, t.args) for t in resp.tool_calls] == [("0", "llm_version", {})]
    assert resp.finish_reason == "tool-calls"


def test_capabilities_table() -> None:
    from playground.providers.anthropic import AnthropicProvider
    from playground.providers.gemini import GeminiProvider
    from playground.providers.openai_responses import OpenAIResponsesProvider

    table = {
        cls.__name__: (
            c.tools,
            c.reasoning,
            c.structured_output,
            c.images,
            c.embeddings,
            c.sources,
            c.tool_choice_required,
        )
        for cls in (
            OpenAIChatProvider,
            OpenAIResponsesProvider,
            AnthropicProvider,
            GeminiProvider,
            OpenAICompatibleProvider,
            OllamaProvider,
        )
        for c in [cls.capabilities]
    }
    assert table == {
        "OpenAIChatProvider": (True, True, "native", True, True, True, True),
        "OpenAIResponsesProvider": (True, True, "native", True, True, True, True),
        "AnthropicProvider": (True, True, "prompt", True, False, True, True),
        "GeminiProvider": (True, True, "native", True, True, True, True),
        "OpenAICompatibleProvider": (True, True, "native", True, True, False, True),
        "OllamaProvider": (True, True, "native", True, True, False, False),
    }
    for cls in (OpenAIChatProvider, OpenAIResponsesProvider, GeminiProvider, OpenAICompatibleProvider, OllamaProvider):
        assert hasattr(cls, "build_embed_request") and hasattr(cls, "parse_embed_response")
