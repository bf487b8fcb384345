"""Model strings, keys from the environment, and the errors that say what to set."""

from __future__ import annotations

import re

import pytest

from playground import Agent, ConfigurationError, MissingAPIKeyError
from playground.providers.registry import available_providers, resolve_provider, split_model_string


@pytest.mark.parametrize(
    "model, variables",
    [
        ("openai:gpt-4.1-mini", "OPENAI_API_KEY"),
        ("openai-chat:gpt-4.1-mini", "OPENAI_API_KEY"),
        ("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
        ("gemini:gemini-2.5-flash", "GEMINI_API_KEY or GOOGLE_API_KEY"),
        ("google:gemini-2.5-flash", "GEMINI_API_KEY or GOOGLE_API_KEY"),
    ],
)
def test_missing_key_names_the_variable(model: str, variables: str) -> None:
    with pytest.raises(MissingAPIKeyError, match=f"set {variables} in the environment") as info:
        Agent(model=model).generate("hi")
    assert info.value.field == "api_key"


def test_keys_and_hosts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-from-env-0123456789")
    provider = resolve_provider("google:gemini-2.5-flash")
    assert provider.api_key == "AIza-from-env-0123456789" and provider.name == "gemini"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9999/v1")
    assert resolve_provider("openai-chat:m", api_key="sk-x").base_url == "http://127.0.0.1:9999/v1"
    assert resolve_provider("openai-chat:m", api_key="sk-x", base_url="http://h/v1").base_url == "http://h/v1"
    assert {e.prefix for e in available_providers()} >= {"demo", "gemini", "ollama", "openai-compatible"}
    assert "anthropic" not in {e.prefix for e in available_providers()}


def test_model_string_errors_say_how_to_write_it() -> None:
    assert split_model_string("demo") == ("demo", "demo-1")
    assert split_model_string("compatible:llama3") == ("openai-compatible", "llama3")
    with pytest.raises(ConfigurationError, match=re.escape("write it as PROVIDER:MODEL, e.g. 'openai:gpt-4'")):
        split_model_string("gpt-4")
    with pytest.raises(ConfigurationError, match="unknown provider 'nope'"):
        split_model_string("nope:x")
    with pytest.raises(ConfigurationError, match="needs base_url"):
        resolve_provider("openai-compatible:m")
