"""Which adapter replays which recorded file, and how (a helper for test_conformance and benchmarks/streaming.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.providers.anthropic import AnthropicProvider
from playground.providers.base import ModelCall, ModelResponse, StreamFormat
from playground.providers.compatible import OllamaProvider, OpenAICompatibleProvider
from playground.providers.gemini import GeminiProvider
from playground.providers.openai_chat import OpenAIChatProvider
from playground.providers.openai_responses import OpenAIResponsesProvider

from .replay import Interaction, stream_events

KEY = "sk-test-not-a-real-key"


def provider_for(path: Path, it: Interaction) -> Any:
    """The adapter a recorded file was made with: by folder, then by server for the OpenAI-compatible ones."""
    folder = path.parent.name
    if folder == "openai_chat":
        return OpenAIChatProvider("gpt-4o", api_key=KEY)
    if folder == "openai_responses":
        return OpenAIResponsesProvider("gpt-5.2", api_key=KEY)
    if folder == "anthropic":
        return AnthropicProvider("claude-haiku-4-5", api_key=KEY)
    if folder == "gemini":
        fmt: StreamFormat = "json-array" if stream_format(it) == "json-array" else "sse"
        return GeminiProvider("gemini-2.5-flash", api_key=KEY, stream_format=fmt)
    if "ollama" in path.name or "11434" in it.uri or "OLLAMA" in it.uri:
        return OllamaProvider("qwen3")
    return OpenAICompatibleProvider("qwen3", base_url="http://127.0.0.1:8000/v1")


def is_stream(path: Path, it: Interaction) -> bool:
    if path.suffix == ".txt" or "streamGenerateContent" in it.uri:
        return True
    body = it.request_json if it.request_body else None
    return bool(isinstance(body, dict) and body.get("stream")) or it.is_sse


def stream_format(it: Interaction) -> str:
    if "streamGenerateContent" in it.uri and "alt=sse" not in it.uri:
        return "json-array"
    return "sse"


@dataclass
class Replayed:
    response: ModelResponse
    events: list[Any]


def replay(path: Path, it: Interaction, status: int | None = None) -> Replayed:
    """Parse one recorded 2xx response with its adapter, streamed or whole as it was recorded."""
    provider = provider_for(path, it)
    if is_stream(path, it):
        parser = provider.stream_parser(ModelCall(provider.model, []))
        events: list[Any] = []
        for ev in stream_events(it.response_body, stream_format(it)):
            events += parser.feed(ev)
        return Replayed(parser.finish(), events)
    return Replayed(provider.parse_response(status or it.status, it.response_headers, it.response_body), [])
