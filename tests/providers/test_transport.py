"""Transport: retries with backoff and Retry-After, max_retries, connection errors, timeouts, masking."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from playground import (
    Agent,
    ConfigurationError,
    ConnectionFailedError,
    MissingAPIKeyError,
    RateLimitError,
    ServerError,
)
from playground.providers.base import HttpRequestSpec
from playground.providers.transport import RetryPolicy, Transport, mask_headers, mask_text, mask_value
from tests.scripted import Scripted, completion

KEY = "sk-proj-LEAKCHECK-0123456789abcdefghij"


def agent_for(script: Scripted, **kw: Any) -> Agent:
    return Agent(model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), **kw)


def test_429_then_500_then_success_is_retried_honouring_retry_after() -> None:
    script = Scripted(
        (429, {"error": {"message": "slow down", "code": "rate_limit_exceeded"}}, {"retry-after": "0"}),
        (503, {"error": {"message": "busy"}}, {"retry-after-ms": "1"}),
        completion("finally"),
    )
    result = agent_for(script).generate("x")
    assert result.text == "finally" and len(script.requests) == 3 and result.steps[0].attempts == 3


def test_max_retries_zero_raises_rate_limit_error_with_details() -> None:
    script = Scripted(
        (429, {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}, {"x-request-id": "req_9"})
    )
    with pytest.raises(RateLimitError) as info:
        agent_for(script).generate("x", max_retries=0)
    err = info.value
    assert err.status == 429 and err.code == "rate_limit_exceeded" and err.request_id == "req_9"
    assert err.raw_body["error"]["message"] == "Rate limit reached"
    assert len(script.requests) == 1


def test_server_errors_exhaust_retries() -> None:
    script = Scripted(*[(500, {"error": {"message": "oops"}}, {"retry-after": "0"})] * 3)
    with pytest.raises(ServerError):
        agent_for(script).generate("x", max_retries=2)
    assert len(script.requests) == 3


def test_connection_error_is_clear_and_retried() -> None:
    script = Scripted(httpx2.ConnectError("refused"), completion("ok"))
    transport = Transport(script.client())
    spec = HttpRequestSpec("POST", "http://127.0.0.1:9/v1/x", {}, {"a": 1})
    result = transport.send(spec, retry=RetryPolicy(max_retries=1, base_delay=0.001))
    assert result.status == 200
    script = Scripted(httpx2.ConnectError("refused"))
    with pytest.raises(ConnectionFailedError, match=r"Could not reach http://127\.0\.0\.1:9/v1/x"):
        Transport(script.client()).send(spec, retry=RetryPolicy(max_retries=0))


def test_key_never_leaks_into_errors_or_views() -> None:
    body = {"error": {"message": f"Incorrect API key provided: {KEY}.", "code": "invalid_api_key"}}
    script = Scripted((401, body))
    with pytest.raises(Exception) as info:
        agent_for(script).generate("x")
    err = info.value
    assert KEY not in str(err) and KEY not in json.dumps(err.raw_body) and KEY not in repr(err.args)  # type: ignore[attr-defined]
    assert "sk-...ghij" in str(err)
    ok = Scripted(completion("fine"))
    result = agent_for(ok).generate("x")
    assert KEY not in result.model_dump_json()
    assert KEY not in json.dumps(agent_for(ok).prompt("x").request_preview())


def test_masking_helpers() -> None:
    headers = mask_headers({"Authorization": f"Bearer {KEY}", "x-api-key": KEY, "x-goog-api-key": KEY, "a": "b"})
    assert KEY not in json.dumps(headers) and headers["a"] == "b"
    assert mask_text("https://x/y?key=AIzaSECRET&alt=sse", []) == "https://x/y?key=****&alt=sse"


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        time.sleep(1.0)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_timeout_against_a_real_local_server(slow_server: str) -> None:
    transport = Transport(httpx2.Client(), timeout=0.2)
    spec = HttpRequestSpec("POST", f"{slow_server}/chat/completions", {}, {"model": "m"})
    with pytest.raises(ConnectionFailedError, match="timed out"):
        transport.send(spec, retry=RetryPolicy(max_retries=0))


def test_server_that_is_down() -> None:
    agent = Agent(model="openai-chat:m", api_key=KEY, base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ConnectionFailedError, match="Is the server running"):
        agent.generate("x", max_retries=0)


# ---------------------------------------------------------------------------------------------------------------
# Issue 9: a key belongs to a provider and a host; masking covers every place a secret hides; defaults that bound a call


OTHER_KEY = "sk-ant-OTHERPROVIDER-abcdefghijklmnop"


def _router(seen: list[httpx2.Request]) -> httpx2.Client:
    """One mock server for every host: OpenAI Chat answers, Anthropic answers, embeddings answer."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.host == "api.anthropic.com":
            return httpx2.Response(
                200,
                json={
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-test",
                    "content": [{"type": "text", "text": '{"answer": "4"}'}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 1, "output_tokens": 1},
                },
            )
        if request.url.path.endswith("/embeddings"):
            return httpx2.Response(200, json={"data": [{"index": 0, "embedding": [0.1, 0.2]}], "model": "e"})
        return httpx2.Response(200, json=completion("4"))

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def _keys_sent(seen: list[httpx2.Request]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in seen:
        sent = {v for k, v in r.headers.items() if k.lower() in ("authorization", "x-api-key", "x-goog-api-key")}
        out.setdefault(r.url.host, set()).update(sent)
    return out


def test_prepare_step_model_of_another_provider_never_gets_the_agents_key(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx2.Request] = []
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, http_client=_router(seen))
    with pytest.raises(MissingAPIKeyError, match="ANTHROPIC_API_KEY"):
        agent.generate("x", prepare_step=lambda: {"model": "anthropic:claude-test"})
    assert seen == []  # nothing was sent anywhere with the wrong key
    monkeypatch.setenv("ANTHROPIC_API_KEY", OTHER_KEY)
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, http_client=_router(seen))
    agent.generate("x", prepare_step=lambda: {"model": "anthropic:claude-test"})
    assert _keys_sent(seen) == {"api.anthropic.com": {OTHER_KEY}}


def test_structured_output_model_of_another_provider_uses_its_own_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", OTHER_KEY)
    seen: list[httpx2.Request] = []
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, http_client=_router(seen))
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    result = agent.generate("2+2?", structured_output={"schema": schema, "model": "anthropic:claude-test"})
    assert result.object == {"answer": "4"}
    assert _keys_sent(seen) == {"api.openai.com": {f"Bearer {KEY}"}, "api.anthropic.com": {OTHER_KEY}}


def test_embed_with_another_provider_fails_clearly_or_uses_its_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx2.Request] = []
    agent = Agent(model="anthropic:claude-test", api_key=OTHER_KEY, http_client=_router(seen))
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY") as info:
        agent.embed("hello", model="openai-chat:text-embedding-3-small").embed_now()
    assert OTHER_KEY not in str(info.value) and seen == []
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    agent = Agent(model="anthropic:claude-test", api_key=OTHER_KEY, http_client=_router(seen))
    agent.embed("hello", model="openai-chat:text-embedding-3-small").embed_now()
    assert _keys_sent(seen) == {"api.openai.com": {f"Bearer {KEY}"}}


def test_same_provider_family_keeps_the_agents_key_and_host() -> None:
    seen: list[httpx2.Request] = []
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, http_client=_router(seen))
    agent.generate("x", prepare_step=lambda: {"model": "openai-chat:gpt-other"})
    assert _keys_sent(seen) == {"api.openai.com": {f"Bearer {KEY}"}}


def test_custom_base_url_and_headers_stay_with_the_agents_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", OTHER_KEY)
    seen: list[httpx2.Request] = []
    agent = Agent(
        model="openai-compatible:local",
        api_key=KEY,
        base_url="http://10.0.0.5:8000/v1",
        headers={"X-Team-Token": "team-secret-123"},
        http_client=_router(seen),
    )
    agent.generate("x", prepare_step=lambda: {"model": "anthropic:claude-test"})
    anthropic = [r for r in seen if r.url.host == "api.anthropic.com"]
    assert anthropic and all("x-team-token" not in r.headers for r in anthropic)
    assert all(KEY not in str(r.headers) for r in anthropic)


@pytest.mark.parametrize("bad", [KEY + "\n", " " + KEY, KEY + " ", KEY + "\r\n", "sk-a\nb-0123456789abcdefghijkl"])
def test_key_with_whitespace_or_newline_is_refused_showing_only_its_masked_form(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="whitespace or a line break") as info:
        Agent(model="openai-chat:gpt-test", api_key=bad)
    assert info.value.field == "api_key"
    message = str(info.value)
    assert bad.strip() not in message and "LEAKCHECK" not in message


def test_key_from_the_environment_with_a_newline_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\n")
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY") as info:
        Agent(model="openai-chat:gpt-test").generate("x")
    assert KEY not in str(info.value) and "sk-...ghij" in str(info.value)


def test_an_http_client_that_is_not_httpx2_is_refused() -> None:
    class NotAClient:
        def send(self, request: Any) -> Any: ...

    with pytest.raises(ConfigurationError, match=r"httpx2\.Client") as info:
        Agent(model="openai-chat:gpt-test", api_key=KEY, http_client=NotAClient())  # type: ignore[arg-type]
    assert info.value.field == "http_client"
    httpx = pytest.importorskip("httpx")
    with pytest.raises(ConfigurationError, match=r"httpx\.Client"):
        Agent(model="openai-chat:gpt-test", api_key=KEY, http_client=httpx.Client())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="async_http_client"):
        Agent(model="openai-chat:gpt-test", api_key=KEY, async_http_client=httpx2.Client())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="http_client"):
        Transport(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "api-key",
        "x-goog-api-key",
        "X-Auth-Token",
        "x-amz-security-token",
        "X-Client-Secret",
        "x-db-password",
        "Ocp-Apim-Subscription-Key",
        "X-Session-Id",
    ],
)
def test_every_credential_looking_header_is_masked(name: str) -> None:
    masked = mask_headers({name: f"Bearer {KEY}", "x-ratelimit-remaining-tokens": "99", "content-type": "a/b"})
    assert KEY not in json.dumps(masked)
    assert masked["x-ratelimit-remaining-tokens"] == "99" and masked["content-type"] == "a/b"  # counts stay visible
    unknown = "tok-UNKNOWN-0123456789abcdef"  # a credential the library was not told about
    assert unknown not in json.dumps(mask_headers({name: unknown}))


@pytest.mark.parametrize(
    "url",
    [
        "https://x.test/v1?key=SECRETVALUE123&alt=sse",
        "https://x.test/v1?KEY=SECRETVALUE123",
        "https://x.test/v1?alt=sse&Api_Key=SECRETVALUE123",
        "https://x.test/v1?apikey=SECRETVALUE123",
        "https://x.test/v1?token=SECRETVALUE123",
        "https://x.test/v1?access_token=SECRETVALUE123#frag",
        "https://x.test/v1?secret=SECRETVALUE123",
        "https://x.test/v1?password=SECRETVALUE123",
        "https://x.test/blob?sv=2024&sig=SECRETVALUE123",
        "https://x.test/o?X-Amz-Signature=SECRETVALUE123",
        "https://user:SECRETVALUE123@x.test/v1",
        "error talking to http://admin:SECRETVALUE123@10.0.0.5:8000/v1 (refused)",
    ],
)
def test_url_credentials_are_masked_in_any_text(url: str) -> None:
    assert "SECRETVALUE123" not in mask_text(url, [])
    assert "x.test" in mask_text(url, []) or "10.0.0.5" in mask_text(url, [])


def test_short_keys_are_masked_too() -> None:
    assert mask_text("the key abcd was refused", ["abcd"]) == "the key **** was refused"
    assert "abcd" not in json.dumps(mask_value({"a": ["x abcd y"], "abcd": 1}, ["abcd"]))


def test_a_key_echoed_by_the_server_is_masked_in_body_text_and_metadata() -> None:
    body = completion(f"your key is {KEY}")
    body["echo"] = {"api_key": KEY}  # an unknown field: kept in provider_metadata
    result = agent_for(Scripted(body)).generate("x")
    dumped = result.model_dump_json()
    assert KEY not in dumped and KEY not in result.text and "sk-...ghij" in result.text
    assert KEY not in json.dumps(result.steps[0].provider_metadata)


def test_a_key_echoed_in_sse_events_is_masked_in_the_raw_stream_view() -> None:
    script = Scripted(completion(f"echo {KEY}"))
    run_ = agent_for(script).stream("x")
    for _ in run_:
        pass
    result = run_.final_result()
    assert KEY not in result.model_dump_json()
    raw = result.steps[0].raw_response
    assert raw is not None and raw.stream and KEY not in json.dumps(list(raw.body))


def test_default_timeouts_bound_a_silent_server() -> None:
    from playground.providers import transport as t

    timeout = t._default_timeout()
    assert timeout.connect == t.DEFAULT_CONNECT_TIMEOUT_SECONDS == 10.0
    assert timeout.read == t.DEFAULT_TIMEOUT_SECONDS == 120.0
    # worst case for a silent server with the default two retries: well under half an hour
    assert (t.DEFAULT_TIMEOUT_SECONDS + t.DEFAULT_CONNECT_TIMEOUT_SECONDS) * 3 + 2 * t.MAX_RETRY_WAIT_SECONDS < 1800


def test_retry_after_beyond_the_cap_is_raised_not_waited(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(Transport, "_sleep", staticmethod(lambda s, a: slept.append(s)))
    script = Scripted((429, {"error": {"message": "slow down"}}, {"retry-after": "120"}), completion("never"))
    with pytest.raises(RateLimitError) as info:
        agent_for(script).generate("x")
    assert info.value.retry_after == 120 and slept == [] and len(script.requests) == 1
    assert "retry after 120 s" in str(info.value)


def test_credential_headers_given_to_the_agent_are_secrets_too() -> None:
    team = "team-token-0123456789abcdef"
    body = {"error": {"message": f"token {team} is not allowed here", "code": "forbidden"}}
    script = Scripted((403, body))
    headers = {"X-Team-Token": team}
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, headers=headers, http_client=script.client())
    assert team not in json.dumps(agent.prompt("x").request_preview())
    with pytest.raises(Exception) as info:
        agent.generate("x")
    assert team not in str(info.value) and team not in json.dumps(info.value.to_dict())  # type: ignore[attr-defined]
    assert script.requests[0].headers["x-team-token"] == team  # sent as given, only hidden from view


_GEMINI_FIRST = b'[{"candidates": [{"content": {"parts": [{"text": "Hel"}]}, "index": 0}]}, '


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(_GEMINI_FIRST + b'{"candidates": [{"cont', "invalid"), (_GEMINI_FIRST + b"<html>oops</html>]", "HTML")],
)
def test_gemini_json_array_stream_with_a_cut_or_garbage_element_is_malformed(body: bytes, fragment: str) -> None:
    from playground import MalformedResponseError
    from playground.providers.gemini import GeminiProvider

    client = httpx2.Client(
        transport=httpx2.MockTransport(lambda r: httpx2.Response(200, content=body, headers={"content-type": "x"}))
    )
    model = GeminiProvider("gemini-test", api_key=KEY, stream_format="json-array")
    agent = Agent(model=model, http_client=client)
    with pytest.raises(MalformedResponseError, match=fragment) as info:
        for _ in agent.stream("hi"):
            pass
    assert info.value.result.text == "Hel"  # type: ignore[attr-defined]  # what arrived before is kept


def test_connection_errors_name_the_provider_and_whether_a_retry_may_help() -> None:
    down = Agent(model="anthropic:claude-test", api_key=KEY, base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ConnectionFailedError) as info:
        down.generate("x", max_retries=0)
    assert info.value.provider == "anthropic" and "(anthropic)" in str(info.value)
    assert info.value.retryable is True and "retry may help" in str(info.value)
    wrong = Agent(model="openai-chat:gpt-test", api_key=KEY, base_url="ftp://127.0.0.1/v1")
    with pytest.raises(ConnectionFailedError) as info:
        wrong.generate("x", max_retries=3)  # not retried: a retry cannot help
    assert info.value.retryable is False and "will not help" in str(info.value) and KEY not in str(info.value)
    assert info.value.attempts == 1


# -- the shared clients' pools ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:11434/v1/chat/completions", True),
    ("http://localhost:8000/v1/chat/completions", True),
    ("http://[::1]:8000/v1", True),
    ("http://127.0.0.2/v1", True),
    ("http://user:pw@127.0.0.1:5/v1", True),
    ("http://app.localhost/v1", True),
    ("https://api.openai.com/v1/responses", False),
    ("https://127.0.0.1.example.com/v1", False),
    ("http://10.0.0.7:8000/v1", False),
])
def test_a_server_on_this_machine_is_told_apart_from_the_rest(url: str, local: bool) -> None:
    from playground.providers import transport

    assert transport.is_local_url(url) is local
    assert all("pw" not in head for head in transport._local_urls)  # userinfo is never kept


def _keepalive(client: httpx2.Client | httpx2.AsyncClient) -> int:
    return client._transport._pool._max_keepalive_connections  # type: ignore[attr-defined,union-attr]


def test_the_shared_pool_keeps_20_idle_connections_to_a_local_server_and_100_to_a_provider() -> None:
    """Reopening a local connection costs microseconds while the pool polls every idle connection it keeps on every
    request (bursts of 100 calls to a local server: 0.99 ms per call keeping 20, 1.46 keeping 100); a provider's
    connection is a TLS handshake away, so all 100 are kept."""
    local, remote = Transport(), Transport()
    a = local._sync_client("http://127.0.0.1:11434/v1/chat/completions")
    b = remote._sync_client("https://api.openai.com/v1/responses")
    assert a is not b and _keepalive(a) == 20 and _keepalive(b) == 100
    assert Transport()._sync_client("http://localhost:1/v1") is a  # one shared client of each kind per process

    async def both() -> tuple[httpx2.AsyncClient | None, httpx2.AsyncClient | None]:
        return local._aclient("http://127.0.0.1:1/v1"), remote._aclient("https://api.example.com/v1")

    import asyncio

    x, y = asyncio.run(both())
    assert x is not None and y is not None and _keepalive(x) == 20 and _keepalive(y) == 100
