"""`provider_options` per provider: the seeds' camelCase keys translated to each wire's spelling, aliases of provider
names, and a warning for every option a provider does not know (never silently dropped, never sent raw).

`provider_options={"openai": {"reasoningEffort": "low"}}` reaches OpenAI as `reasoning.effort` (Responses) or
`reasoning_effort` (Chat Completions); `{"anthropic": {"thinking": {"type": "enabled", "budgetTokens": 1024}}}` as
`thinking.budget_tokens`; `{"google": {...}}` is the same as `{"gemini": {...}}`. Options addressed to another provider
are left alone (one call may carry options for several), but a namespace no provider answers to is a warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

NAMESPACE_ALIASES = {"google": "gemini", "openai-responses": "openai", "compatible": "openai-compatible"}
KNOWN_NAMESPACES = frozenset(
    {"openai", "openai-chat", "anthropic", "gemini", "ollama", "openai-compatible", "demo"} | set(NAMESPACE_ALIASES)
)


def snake(key: str) -> str:
    """`reasoningEffort` -> `reasoning_effort` (snake_case keys are kept)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()


def camel(key: str) -> str:
    """`thinking_budget` -> `thinkingBudget` (camelCase keys are kept)."""
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


@dataclass(frozen=True)
class OptionSpec:
    """The options one wire accepts, in its own spelling."""

    label: str
    case: Literal["snake", "camel"]
    known: frozenset[str]
    deep: frozenset[str] = field(default_factory=frozenset)
    """Options whose nested keys are wire keys too (translated); others (metadata, labels) are user data, kept."""

    def key(self, name: str) -> str:
        return snake(name) if self.case == "snake" else camel(name)


def _translate(value: Any, spec: OptionSpec) -> Any:
    if isinstance(value, Mapping):
        return {spec.key(str(k)): _translate(v, spec) for k, v in value.items()}
    if isinstance(value, list):
        return [_translate(v, spec) for v in value]
    return value


def pick_options(
    provider_options: Mapping[str, Any] | None, namespaces: Iterable[str], spec: OptionSpec, warnings: list[str]
) -> dict[str, Any]:
    """This provider's options, translated to its wire spelling. Unknown options and namespaces become warnings."""
    mine = set(namespaces)
    out: dict[str, Any] = {}
    for raw_ns, options in (provider_options or {}).items():
        ns = NAMESPACE_ALIASES.get(raw_ns, raw_ns)
        if ns not in mine:
            if raw_ns not in KNOWN_NAMESPACES:
                warnings.append(
                    f"provider_options.{raw_ns}: no provider is named {raw_ns!r}, so these options were not sent; "
                    f"use one of {', '.join(sorted(KNOWN_NAMESPACES - set(NAMESPACE_ALIASES)))}"
                )
            continue
        if not isinstance(options, Mapping):
            warnings.append(f"provider_options.{raw_ns}: expected a dict of options, got {type(options).__name__}")
            continue
        for name, value in options.items():
            key = spec.key(str(name))
            if key not in spec.known:
                warnings.append(
                    f"provider_options.{raw_ns}.{name} is not an option {spec.label} knows, so it was not sent; "
                    f"known: {', '.join(sorted(spec.known))}"
                )
                continue
            out[key] = _translate(value, spec) if key in spec.deep else value
    return out


OPENAI_CHAT = OptionSpec(
    "OpenAI Chat Completions",
    "snake",
    frozenset(
        {
            "reasoning_effort", "parallel_tool_calls", "user", "store", "metadata", "service_tier", "logit_bias",
            "logprobs", "top_logprobs", "max_completion_tokens", "prediction", "verbosity", "text_verbosity",
            "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "modalities", "audio",
            "web_search_options", "n", "seed",
        }
    ),
    frozenset({"prediction", "audio", "web_search_options"}),
)
OPENAI_RESPONSES = OptionSpec(
    "the OpenAI Responses API",
    "snake",
    frozenset(
        {
            "reasoning_effort", "reasoning_summary", "parallel_tool_calls", "user", "store", "metadata",
            "service_tier", "previous_response_id", "include", "instructions", "truncation", "max_tool_calls",
            "text_verbosity", "prompt_cache_key", "prompt_cache_retention", "safety_identifier", "top_logprobs",
            "background", "conversation", "prompt",
        }
    ),
    frozenset({"prompt"}),
)
ANTHROPIC = OptionSpec(
    "Anthropic",
    "snake",
    frozenset(
        {
            "thinking", "metadata", "service_tier", "container", "mcp_servers", "context_management",
            "disable_parallel_tool_use", "inference_geo",
        }
    ),
    frozenset({"thinking", "context_management"}),
)
GEMINI_GENERATION = frozenset(
    {
        "thinkingConfig", "responseModalities", "mediaResolution", "audioTimestamp", "imageConfig", "speechConfig",
        "responseLogprobs", "logprobs", "candidateCount",
    }
)
GEMINI = OptionSpec(
    "Gemini",
    "camel",
    frozenset({"safetySettings", "cachedContent", "labels", "toolConfig"} | GEMINI_GENERATION),
    frozenset({"thinkingConfig", "imageConfig", "speechConfig", "safetySettings", "toolConfig"}),
)
