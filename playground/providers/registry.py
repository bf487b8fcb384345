"""Model strings -> a provider instance. `"openai:gpt-4.1-mini"`, `"anthropic:claude-..."`, `"demo"`.

Keys and hosts come from `Agent(api_key=..., base_url=...)` or the environment. Provider modules are imported only
when their model string is used, so `import playground` stays light.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError, MissingAPIKeyError
from ..masking import check_api_key


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    prefix: str
    module: str
    cls: str
    label: str
    env_keys: tuple[str, ...] = ()
    key_required: bool = True
    env_base_url: str | None = None
    needs_base_url: bool = False


PROVIDERS: dict[str, ProviderEntry] = {
    "demo": ProviderEntry("demo", "playground.providers.demo", "DemoProvider", "Demo (simulated, offline)", (), False),
    "openai": ProviderEntry(
        "openai",
        "playground.providers.openai_responses",
        "OpenAIResponsesProvider",
        "OpenAI (Responses API)",
        ("OPENAI_API_KEY",),
        True,
        "OPENAI_BASE_URL",
    ),
    "openai-chat": ProviderEntry(
        "openai-chat",
        "playground.providers.openai_chat",
        "OpenAIChatProvider",
        "OpenAI (Chat Completions)",
        ("OPENAI_API_KEY",),
        True,
        "OPENAI_BASE_URL",
    ),
    "anthropic": ProviderEntry(
        "anthropic", "playground.providers.anthropic", "AnthropicProvider", "Anthropic", ("ANTHROPIC_API_KEY",)
    ),
    "gemini": ProviderEntry(
        "gemini", "playground.providers.gemini", "GeminiProvider", "Google Gemini", ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    ),
    "ollama": ProviderEntry(
        "ollama", "playground.providers.compatible", "OllamaProvider", "Ollama (local)", (), False, "OLLAMA_HOST"
    ),
    "openai-compatible": ProviderEntry(
        "openai-compatible",
        "playground.providers.compatible",
        "OpenAICompatibleProvider",
        "OpenAI-compatible server",
        ("OPENAI_COMPATIBLE_API_KEY",),
        False,
        None,
        True,
    ),
    "replay": ProviderEntry(
        "replay", "playground.replay", "ReplayProvider", "Replay (a recorded cassette)", (), False
    ),
}
ALIASES = {"google": "gemini", "openai-responses": "openai", "compatible": "openai-compatible"}


def split_model_string(model: str) -> tuple[str, str]:
    """`"openai:gpt-4.1"` -> ("openai", "gpt-4.1"); `"demo"` -> ("demo", "demo-1")."""
    model = model.strip()
    if not model:
        raise ConfigurationError("model: empty model string; use e.g. 'demo' or 'openai:gpt-4.1-mini'", field="model")
    prefix, sep, name = model.partition(":")
    prefix = ALIASES.get(prefix.lower(), prefix.lower())
    if not sep:
        if prefix == "demo":
            return "demo", "demo-1"
        raise ConfigurationError(
            f"model: {model!r} has no provider prefix; write it as PROVIDER:MODEL, e.g. 'openai:{model}'. "
            f"Providers: {', '.join(PROVIDERS)}",
            field="model",
        )
    if prefix not in PROVIDERS:
        raise ConfigurationError(
            f"model: unknown provider {prefix!r} in {model!r}; known providers: {', '.join(PROVIDERS)}", field="model"
        )
    if not name.strip() and prefix != "demo":
        raise ConfigurationError(
            f"model: {model!r} names no model after the provider; write it as PROVIDER:MODEL, e.g. "
            f"'{prefix}:MODEL_NAME'",
            field="model",
        )
    return prefix, name or ("demo-1" if prefix == "demo" else name)


def env_api_key(entry: ProviderEntry) -> str | None:
    for var in entry.env_keys:
        value = os.environ.get(var)
        if value:
            return check_api_key(value, provider=entry.prefix, field=var)
    return None


def key_family(provider: str) -> str:
    """Providers that share a key and a host (OpenAI's two APIs) form one family; every other provider is its own."""
    prefix = ALIASES.get(provider.lower(), provider.lower())
    entry = PROVIDERS.get(prefix)
    if entry is None:
        return prefix
    return entry.env_keys[0] if entry.env_keys else prefix


def same_key_owner(model_a: str, model_b: str) -> bool:
    """Whether a key given for `model_a`'s provider may be sent with `model_b` (same provider family)."""
    return key_family(split_model_string(model_a)[0]) == key_family(split_model_string(model_b)[0])


def resolve_provider(
    model: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    headers: dict[str, str] | None = None,
    **provider_kwargs: Any,
) -> Any:
    """A provider instance for a model string. Raises MissingAPIKeyError naming the variable to set."""
    prefix, name = split_model_string(model)
    entry = PROVIDERS[prefix]
    key = check_api_key(api_key, provider=prefix) or env_api_key(entry)
    if entry.key_required and not key:
        raise MissingAPIKeyError(prefix, list(entry.env_keys))
    url = base_url or (os.environ.get(entry.env_base_url) if entry.env_base_url else None)
    if entry.needs_base_url and not url:
        raise ConfigurationError(
            f"model {model!r}: an OpenAI-compatible server needs base_url=..., e.g. 'http://127.0.0.1:8000/v1'",
            field="base_url",
        )
    cls = getattr(importlib.import_module(entry.module), entry.cls)
    return cls(name, api_key=key, base_url=url, headers=headers, **provider_kwargs)


def available_providers() -> list[ProviderEntry]:
    """Providers usable right now: the demo, keyless local ones, and each whose key is set."""
    return [e for e in PROVIDERS.values() if not e.key_required or env_api_key(e)]
