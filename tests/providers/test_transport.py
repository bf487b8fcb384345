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

from playground import Agent, ConnectionFailedError, RateLimitError, ServerError
from playground.providers.base import HttpRequestSpec
from playground.providers.transport import RetryPolicy, Transport, mask_headers, mask_text
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
