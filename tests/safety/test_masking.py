"""Secrets never shown: every credential header in any letter case, every credential query spelling, known keys inside
request bodies and error texts, short (4-character) keys, and the masked shape a person uses to tell keys apart."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from playground import Agent, ConnectionFailedError
from playground.providers.base import HttpRequestSpec
from playground.providers.transport import (
    RetryPolicy,
    Transport,
    contains_secret,
    mask_headers,
    mask_secret,
    mask_text,
    mask_value,
    masked_request,
)
from tests.scripted import Scripted, completion

KEY = "sk-proj-MASKCHECK-0123456789abcdefghij"
TOKEN = "tok-9f8e7d6c5b4a39281706"

CREDENTIAL_HEADERS = [
    "authorization",
    "Authorization",
    "AUTHORIZATION",
    "proxy-authorization",
    "Proxy-Authorization",
    "cookie",
    "Cookie",
    "x-api-key",
    "X-Api-Key",
    "X-API-KEY",
    "api-key",
    "Api-Key",
    "x-goog-api-key",
    "X-Goog-Api-Key",
]


def leaks(text: str, secret: str) -> bool:
    """The secret, or any 8 characters of it in a row, appears in `text`."""
    return any(secret[i : i + 8] in text for i in range(len(secret) - 7))


@pytest.mark.parametrize("name", CREDENTIAL_HEADERS)
@pytest.mark.parametrize("value", [f"Bearer {TOKEN}", TOKEN, f"session={TOKEN}", f"session={TOKEN}; theme=dark"])
def test_every_credential_header_is_masked_even_when_the_key_is_not_known(name: str, value: str) -> None:
    out = mask_headers({name: value, "content-type": "application/json", "x-request-id": "req_123"})
    assert not leaks(out[name], TOKEN), out
    assert out[name]  # masked, not dropped: a person still sees the header was sent
    assert out["content-type"] == "application/json" and out["x-request-id"] == "req_123"


@pytest.mark.parametrize("name", CREDENTIAL_HEADERS)
def test_credential_headers_with_the_known_key(name: str) -> None:
    out = mask_headers({name: f"Bearer {KEY}", "x-trace": f"call made with {KEY}"}, [KEY])
    assert not leaks(json.dumps(out), KEY), out


def test_ordinary_headers_stay_readable() -> None:
    headers = {"content-type": "application/json", "x-ratelimit-remaining-tokens": "9000", "user-agent": "pg/1"}
    assert mask_headers(headers) == headers
    assert mask_headers(headers, [KEY]) == headers


def test_bearer_scheme_is_kept_so_a_person_sees_what_was_sent() -> None:
    out = mask_headers({"Authorization": f"Bearer {KEY}"}, [KEY])
    assert out["Authorization"].startswith("Bearer ") and out["Authorization"].endswith("ghij")


QUERY_SPELLINGS = ["key", "KEY", "Key", "api_key", "API_KEY", "Api_Key", "apikey", "APIKEY", "access_token",
                   "ACCESS_TOKEN", "Access_Token"]


@pytest.mark.parametrize("name", QUERY_SPELLINGS)
@pytest.mark.parametrize("sep", ["?", "&"])
def test_credential_query_parameters_in_any_letter_case(name: str, sep: str) -> None:
    first = "?alt=sse&" if sep == "&" else "?"
    url = f"https://example.test/v1/models{first}{name}={TOKEN}&page=2"
    masked = mask_text(url, [])
    assert not leaks(masked, TOKEN), masked
    assert masked == f"https://example.test/v1/models{first}{name}=****&page=2"
    assert mask_text(f"GET {url} failed", [KEY]).startswith("GET https://example.test/v1/models")


def test_text_without_a_query_or_key_is_unchanged() -> None:
    for text in ("plain words", "a=b&c=d", "https://example.test/v1/chat?alt=sse", ""):
        assert mask_text(text, [KEY]) == text


def test_known_key_anywhere_in_text_is_masked_every_time() -> None:
    text = f"first {KEY} then {KEY}."
    masked = mask_text(text, [KEY])
    assert not leaks(masked, KEY) and masked == f"first {mask_secret(KEY)} then {mask_secret(KEY)}."
    assert mask_text(text, ["", KEY]) == masked  # an empty secret in the list changes nothing


@pytest.mark.parametrize("key", ["abcd", "k3y5", "pass1", "sk-12345"])
def test_short_keys_are_masked_too(key: str) -> None:
    text = f"the key is {key}, not {key[::-1]}x"
    masked = mask_text(text, [key])
    assert key not in masked and f"{key[::-1]}x" in masked
    body = mask_value({"messages": [{"role": "user", "content": f"use {key}"}]}, [key])
    assert key not in json.dumps(body)
    headers = mask_headers({"x-custom": f"t={key}", "Authorization": f"Bearer {key}"}, [key])
    assert key not in json.dumps(headers)
    assert contains_secret(f"..{key}..".encode(), [key])


def test_mask_shape_tells_keys_apart_and_shows_nothing_usable() -> None:
    assert mask_secret("sk-proj-abcdefghijklmnopwxyz") == "sk-...wxyz"
    assert mask_secret("x" * 18 + "9") == "...x9"  # medium length: the last two characters only
    assert mask_secret("a" * 9) == "...aa"
    assert mask_secret("12345678") == "****"
    assert mask_secret("abcd") == "****"
    assert mask_secret("a" * 20) == "aaa...aaaa"


def test_keys_inside_request_bodies_are_masked_at_any_depth() -> None:
    body: dict[str, Any] = {
        "model": "gpt-test",
        "user": KEY,
        "messages": [{"role": "user", "content": [{"type": "text", "text": f"my key is {KEY}"}]}],
        "metadata": {"nested": [[f"x{KEY}y"]], "count": 3, "flag": True, "none": None},
    }
    masked = mask_value(body, [KEY])
    assert not leaks(json.dumps(masked), KEY)
    assert masked["model"] == "gpt-test" and masked["metadata"]["count"] == 3 and masked["metadata"]["flag"] is True
    assert masked["metadata"]["none"] is None
    assert masked["messages"][0]["content"][0]["text"] == f"my key is {mask_secret(KEY)}"
    assert body["user"] == KEY  # the caller's value is not changed in place
    assert mask_value(body, []) == body
    assert mask_value(body, [""]) == body


def test_masked_request_masks_url_headers_and_body() -> None:
    spec = HttpRequestSpec(
        "POST",
        f"https://example.test/v1beta/models/m:generateContent?alt=sse&key={KEY}",
        {"x-goog-api-key": KEY, "content-type": "application/json", "Cookie": f"sid={TOKEN}"},
        {"contents": [{"parts": [{"text": f"key {KEY}"}]}], "generationConfig": {"temperature": 0}},
    )
    view = masked_request(spec, [KEY])
    text = json.dumps(view)
    assert not leaks(text, KEY) and not leaks(text, TOKEN), view
    assert view["method"] == "POST" and view["url"].startswith("https://example.test/v1beta/models/m:generateContent?")
    assert view["headers"]["content-type"] == "application/json"
    assert view["body"]["generationConfig"] == {"temperature": 0}
    assert spec.headers["x-goog-api-key"] == KEY  # what is sent is not changed
    clean = HttpRequestSpec("POST", "https://example.test/v1/chat", {"a": "b"}, {"x": [1, 2]})
    assert masked_request(clean, [KEY]) == {
        "method": "POST",
        "url": "https://example.test/v1/chat",
        "headers": {"a": "b"},
        "body": {"x": [1, 2]},
    }


def test_contains_secret_is_a_plain_lookup() -> None:
    assert contains_secret(f'{{"user": "{KEY}"}}'.encode(), [KEY])
    assert not contains_secret(b'{"user": "someone"}', [KEY])
    assert not contains_secret(KEY.encode(), [])


# -- what a person sees -----------------------------------------------------------------------------------------


def test_steps_show_masked_headers_and_bodies_for_custom_credential_headers() -> None:
    script = Scripted(completion("fine"))
    agent = Agent(
        model="openai-chat:gpt-test",
        api_key=KEY,
        http_client=script.client(),
        headers={"Cookie": f"sid={TOKEN}", "Proxy-Authorization": f"Basic {TOKEN}", "X-Team": "support"},
    )
    result = agent.generate("hello", provider_options={"openai": {"user": KEY}})
    raw = result.steps[0].raw_request
    assert raw is not None
    shown = json.dumps(raw.model_dump())
    assert not leaks(shown, KEY) and not leaks(shown, TOKEN), shown
    assert {k.lower(): v for k, v in raw.headers.items()}["x-team"] == "support"
    sent = script.requests[0]
    assert sent.headers["cookie"] == f"sid={TOKEN}" and KEY in sent.content.decode()  # the server got the real ones
    assert not leaks(result.model_dump_json(), KEY)  # the result (request body, steps) as saved or shown


def test_a_4_character_key_never_shows_in_a_step() -> None:
    script = Scripted(completion("fine"))
    agent = Agent(model="openai-chat:gpt-test", api_key="abcd", http_client=script.client())
    result = agent.generate("hello", provider_options={"openai": {"user": "abcd"}})
    raw = result.steps[0].raw_request
    assert raw is not None
    assert "abcd" not in json.dumps(raw.model_dump())
    assert script.requests[0].headers["authorization"] == "Bearer abcd"


def test_connection_errors_mask_the_key_in_url_and_message() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError(f"cannot connect to {request.url} (key {KEY})")

    spec = HttpRequestSpec("POST", f"http://127.0.0.1:9/v1/x?key={KEY}", {"x-api-key": KEY}, {"a": 1})
    transport = Transport(httpx2.Client(transport=httpx2.MockTransport(refuse)), secrets=[KEY])
    with pytest.raises(ConnectionFailedError) as info:
        transport.send(spec, retry=RetryPolicy(max_retries=0))
    message = str(info.value)
    assert not leaks(message, KEY), message
    assert "127.0.0.1:9/v1/x" in message and "cannot connect to" in message  # what went wrong, masked

    def slow(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout(f"timed out reading {request.url}")

    transport = Transport(httpx2.Client(transport=httpx2.MockTransport(slow)), secrets=[KEY])
    with pytest.raises(ConnectionFailedError) as info:
        transport.send(spec, retry=RetryPolicy(max_retries=0))
    assert "timed out" in str(info.value) and not leaks(str(info.value), KEY)


def test_the_masking_caches_stay_bounded_and_answer_as_before() -> None:
    """A server inventing header names, or many different key sets, cannot grow the caches for ever; the answers after
    a cache was emptied are the same."""
    from playground import masking

    for i in range(3000):
        assert masking.is_secret_header(f"x-invented-{i}") is False
        assert len(masking._header_verdicts) <= 1024
    assert masking.is_secret_header("Authorization") and masking.is_secret_header("x-api-key")
    for i in range(600):
        key = f"sk-test-cache-{i:06d}-abcdef"
        assert masking.mask_text(f"key {key}", [key]) == f"key {masking.mask_secret(key)}"
        assert len(masking._usable_sets) <= 256


def test_a_key_with_capital_letters_is_accepted_only_whitespace_and_control_characters_are_refused() -> None:
    from playground.errors import ConfigurationError
    from playground.masking import check_api_key

    assert check_api_key("sk-XXproj-ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "sk-XXproj-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for bad in ("sk-abc\n", " sk-abc", "sk-a\tbc", "sk-a\x00bc", "sk-a\rbc"):
        with pytest.raises(ConfigurationError, match="surrounding whitespace or a line break"):
            check_api_key(bad)
