"""Pieces the OpenAI wire protocols share: embeddings, model listing, reasoning-model rules, image/file parts.

Used by Chat Completions, the Responses API and the OpenAI-compatible servers, so each lives here once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import ProviderError
from ..result import Usage
from ..settings import ModelSettings
from .base import EmbeddingResponse, HttpRequestSpec, loads_json

#: o1, o3, o4-mini, gpt-5 (not gpt-5-chat): reasoning models that reject sampling settings.
_REASONING_MODEL = re.compile(r"^(o\d|gpt-5(?!-chat)|codex)", re.I)


def is_reasoning_model(model: str) -> bool:
    return bool(_REASONING_MODEL.match(model.rsplit("/", 1)[-1]))


def drop_sampling_for_reasoning(model: str, settings: ModelSettings, warnings: list[str]) -> set[str]:
    """The setting names a reasoning model rejects that are set here; a warning is added for each."""
    if (
        settings.temperature is None
        and settings.top_p is None
        and settings.presence_penalty is None
        and settings.frequency_penalty is None
    ):
        return set()  # nothing to drop (the common call): no need to look at the model name
    if not is_reasoning_model(model):
        return set()
    dropped = {
        name
        for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty")
        if getattr(settings, name) is not None
    }
    for name in sorted(dropped):
        warnings.append(f"{name} was not sent: reasoning model {model!r} does not accept it")
    return dropped


def build_embed_request(
    base_url: str, headers: dict[str, str], model: str, inputs: list[str], options: Mapping[str, Any]
) -> HttpRequestSpec:
    """`POST /embeddings`. Options: `dimensions`, `user`, `encoding_format` (float by default: no base64 decoding)."""
    body: dict[str, Any] = {"model": options.get("model") or model, "input": list(inputs), "encoding_format": "float"}
    warnings: list[str] = []
    for key, value in options.items():
        if key in ("dimensions", "user", "encoding_format"):
            body[key] = value
        elif key != "model":
            warnings.append(f"embedding option {key!r} is not known to the embeddings API and was not sent")
    return HttpRequestSpec("POST", f"{base_url}/embeddings", headers, body, warnings=warnings)


def parse_embed_response(body: bytes) -> EmbeddingResponse:
    data = loads_json(body)
    items = sorted(data.get("data") or [], key=lambda d: d.get("index", 0))
    u = data.get("usage") or {}
    prompt = u.get("prompt_tokens") or 0
    return EmbeddingResponse(
        vectors=[list(map(float, d["embedding"])) for d in items],
        usage=Usage(input_tokens=prompt, total_tokens=u.get("total_tokens") or prompt),
        model_id=data.get("model"),
    )


def build_list_models_request(base_url: str, headers: dict[str, str]) -> HttpRequestSpec:
    return HttpRequestSpec("GET", f"{base_url}/models", headers)


def parse_list_models(body: bytes) -> list[str]:
    """`{"data": [{"id": ...}]}` (OpenAI, Anthropic, compatible servers) -> sorted ids."""
    data = loads_json(body)
    items = data.get("data") if isinstance(data, dict) else data
    return sorted(str(m["id"]) for m in items or [] if isinstance(m, dict) and m.get("id"))


class _OpenAIHost(Protocol):
    base_url: str
    model: str

    def headers(self) -> dict[str, str]: ...

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError: ...


class _Keyed(Protocol):
    api_key: str | None
    extra_headers: dict[str, str]


class OpenAIEndpoints:
    """What both OpenAI wire protocols (Chat Completions, Responses) share: headers, `/embeddings`, `/models`."""

    def headers(self: _Keyed) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        headers.update(self.extra_headers)
        return headers

    def build_embed_request(self: _OpenAIHost, inputs: list[str], options: dict[str, Any]) -> HttpRequestSpec:
        """`POST /embeddings` (options: dimensions, user, encoding_format)."""
        return build_embed_request(self.base_url, self.headers(), self.model, inputs, options)

    def parse_embed_response(
        self: _OpenAIHost, status: int, headers: Mapping[str, str], body: bytes
    ) -> EmbeddingResponse:
        if status >= 300:
            raise self.parse_error(status, headers, body)
        return parse_embed_response(body)

    def build_list_models_request(self: _OpenAIHost) -> HttpRequestSpec:
        return build_list_models_request(self.base_url, self.headers())

    def parse_list_models(self: _OpenAIHost, status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
        if status >= 300:
            raise self.parse_error(status, headers, body)
        return parse_list_models(body)
