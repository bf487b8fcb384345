"""Every provider's error bodies -> the right ProviderError subclass, with status, code, message, request id, body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from playground.errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    ServerError,
)
from playground.providers.anthropic import AnthropicProvider
from playground.providers.compatible import OllamaProvider, OpenAICompatibleProvider
from playground.providers.gemini import GeminiProvider
from playground.providers.openai_chat import OpenAIChatProvider
from playground.providers.openai_responses import OpenAIResponsesProvider

KEY = "sk-live-very-secret"


def openai_body(message: str, code: str | None, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def anthropic_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_body_1"}


def gemini_body(code: int, status: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status, "details": details or []}}


OPENAI_CASES = [
    (401, openai_body("Incorrect API key provided", "invalid_api_key"), AuthenticationError, "invalid_api_key"),
    (403, openai_body("Not allowed", None, "permission_error"), PermissionDeniedError, "permission_error"),
    (404, openai_body("The model `x` does not exist", "model_not_found"), NotFoundError, "model_not_found"),
    (429, openai_body("Rate limit reached", "rate_limit_exceeded", "requests"), RateLimitError, "rate_limit_exceeded"),
    (
        400,
        openai_body("This model's maximum context length is 128000 tokens", "context_length_exceeded"),
        ContextLengthError,
        "context_length_exceeded",
    ),
    (
        400,
        openai_body("Invalid 'temperature'", "decimal_above_max_value"),
        InvalidRequestError,
        "decimal_above_max_value",
    ),
    (500, openai_body("The server had an error", None, "server_error"), ServerError, "server_error"),
    (503, b"<html>upstream connect error</html>", ServerError, None),
]


@pytest.mark.parametrize("provider_cls", [OpenAIChatProvider, OpenAIResponsesProvider, OpenAICompatibleProvider])
@pytest.mark.parametrize(("status", "body", "cls", "code"), OPENAI_CASES)
def test_openai_shaped_errors(provider_cls: Any, status: int, body: Any, cls: type[ProviderError], code: str) -> None:
    provider = provider_cls("m", api_key=KEY, base_url="http://127.0.0.1:1/v1")
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    err = provider.parse_error(status, {"x-request-id": "req_123", "retry-after": "7"}, raw)
    assert type(err) is cls
    assert (err.status, err.code, err.request_id, err.provider) == (status, code, "req_123", provider.name)
    assert err.raw_body == (body if isinstance(body, dict) else body.decode())
    assert err.retryable is (status == 429 or status >= 500)
    assert err.retry_after == 7.0
    assert KEY not in str(err) and KEY not in json.dumps(err.to_dict())


ANTHROPIC_CASES = [
    (401, "authentication_error", "invalid x-api-key", AuthenticationError, False),
    (403, "permission_error", "no access", PermissionDeniedError, False),
    (404, "not_found_error", "model: claude-x", NotFoundError, False),
    (413, "request_too_large", "Request exceeds the maximum allowed number of bytes", ContextLengthError, False),
    (400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum", ContextLengthError, False),
    (400, "invalid_request_error", "max_tokens: field required", InvalidRequestError, False),
    (429, "rate_limit_error", "Number of request tokens has exceeded your rate limit", RateLimitError, True),
    (500, "api_error", "Internal server error", ServerError, True),
    (529, "overloaded_error", "Overloaded", ServerError, True),
]


@pytest.mark.parametrize(("status", "kind", "message", "cls", "retryable"), ANTHROPIC_CASES)
def test_anthropic_errors(status: int, kind: str, message: str, cls: type[ProviderError], retryable: bool) -> None:
    err = AnthropicProvider("claude-haiku-4-5", api_key=KEY).parse_error(
        status, {}, json.dumps(anthropic_body(kind, message)).encode()
    )
    assert type(err) is cls
    assert (err.status, err.code, err.message, err.request_id) == (status, kind, message, "req_body_1")
    assert err.retryable is retryable


def test_anthropic_request_id_header_wins_over_body() -> None:
    err = AnthropicProvider("c", api_key=KEY).parse_error(
        404, {"request-id": "req_hdr"}, json.dumps(anthropic_body("not_found_error", "nope")).encode()
    )
    assert err.request_id == "req_hdr"


RETRY_INFO = [
    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "x"}]},
    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"},
]
GEMINI_CASES = [
    (
        400,
        gemini_body(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
        ),
        AuthenticationError,
        "INVALID_ARGUMENT",
        None,
    ),
    (403, gemini_body(403, "PERMISSION_DENIED", "denied"), PermissionDeniedError, "PERMISSION_DENIED", None),
    (404, gemini_body(404, "NOT_FOUND", "models/x is not found"), NotFoundError, "NOT_FOUND", None),
    (
        429,
        gemini_body(429, "RESOURCE_EXHAUSTED", "Quota exceeded", RETRY_INFO),
        RateLimitError,
        "RESOURCE_EXHAUSTED",
        37.0,
    ),
    (
        400,
        gemini_body(400, "INVALID_ARGUMENT", "The input token count (2000000) exceeds the maximum number of tokens"),
        ContextLengthError,
        "INVALID_ARGUMENT",
        None,
    ),
    (500, gemini_body(500, "INTERNAL", "An internal error has occurred"), ServerError, "INTERNAL", None),
    (503, gemini_body(503, "UNAVAILABLE", "The model is overloaded"), ServerError, "UNAVAILABLE", None),
]


@pytest.mark.parametrize(("status", "body", "cls", "code", "delay"), GEMINI_CASES)
def test_gemini_errors(status: int, body: Any, cls: type[ProviderError], code: str, delay: float | None) -> None:
    provider = GeminiProvider("gemini-2.5-flash", api_key=KEY)
    raw = json.dumps(body).encode()
    err = provider.parse_error(status, {}, raw)
    assert type(err) is cls
    assert (err.status, err.code) == (status, code)
    assert err.message == body["error"]["message"]
    assert provider.retry_delay(status, {}, raw) == delay
    assert err.retry_after == delay


def test_gemini_error_inside_a_json_array_body() -> None:
    raw = json.dumps([gemini_body(404, "NOT_FOUND", "models/x is not found")]).encode()
    err = GeminiProvider("x", api_key=KEY).parse_error(404, {}, raw)
    assert type(err) is NotFoundError and err.code == "NOT_FOUND"


def test_ollama_error_without_code() -> None:
    body = {"error": {"message": "model 'qwen9' not found", "type": "api_error", "param": None, "code": None}}
    err = OllamaProvider("qwen9").parse_error(404, {}, json.dumps(body).encode())
    assert type(err) is NotFoundError and err.code == "api_error" and "qwen9" in err.message


# ---------------------------------------------------------------------------------------------------------------
# Issue 9: classification matches retrying; malformed bodies are ProviderErrors with provider and status


@pytest.mark.parametrize("status", [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529])
def test_retryable_is_exactly_what_the_transport_retries(status: int) -> None:
    from playground.errors import error_class_for_status
    from playground.providers.transport import RETRY_STATUSES

    err = error_class_for_status(status)("x", status=status)
    assert err.retryable is (status in RETRY_STATUSES)


def test_408_and_409_have_their_own_classes() -> None:
    from playground import ConflictError, RequestTimeoutError
    from playground.errors import error_class_for_status

    assert error_class_for_status(408) is RequestTimeoutError and error_class_for_status(409) is ConflictError


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"<html>502</html>", "HTML"),
        (b'{"data": [{"embedding": [0.1', "truncated or invalid JSON"),
        (b"[1, 2]", "JSON array"),
        (b'{"data": []}', "no vectors"),
        (b'{"data": [{"embedding": "x"}]}', "unexpected shape"),
    ],
)
def test_a_malformed_embeddings_answer_is_a_malformed_response_error(body: bytes, fragment: str) -> None:
    import httpx2

    from playground import Agent, MalformedResponseError

    client = httpx2.Client(transport=httpx2.MockTransport(lambda r: httpx2.Response(200, content=body)))
    agent = Agent(model="openai-chat:text-embedding-3-small", api_key=KEY, http_client=client)
    with pytest.raises(MalformedResponseError, match=fragment) as info:
        agent.embed("hello").embed_now()
    assert info.value.provider == "openai-chat" and info.value.status == 200
