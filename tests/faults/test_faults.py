"""Fault injection: every provider (OpenAI Chat, OpenAI Responses, Anthropic, Gemini, OpenAI-compatible) through
generate, generate_async, stream and the async stream, against every fault: statuses 400-529 with and without
Retry-After, a connection reset, timeouts, malformed bodies, truncated streams and in-stream errors.

Each case asserts the error class, the number of requests sent (retries), the output kept from before the fault, that
`.result` serialises, and that the planted key appears nowhere (error, result, events, DEBUG logs). Retry sleeps are
patched (recorded, not waited), so the whole matrix runs in seconds.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx2
import pytest

from playground import (
    AuthenticationError,
    ConflictError,
    ConnectionFailedError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    StreamError,
    TimeoutError_,
)
from playground.providers.guard import CUT_SHORT_WARNING
from playground.providers.transport import RETRY_STATUSES
from tests.faults.harness import (
    MAX_RETRIES,
    MODES,
    STREAM_MODES,
    WHOLE_MODES,
    Outcome,
    assert_no_key,
    json_response,
    run,
    sse_response,
    stream_text,
)
from tests.faults.wire import KEY, PARTIAL_TEXT, WIRES, FailingStream, Wire

WIRE_IDS = [w.name for w in WIRES]
STATUSES = [400, 401, 402, 403, 404, 405, 408, 409, 410, 413, 422, 429, 500, 501, 502, 503, 504, 520, 529]
EXPECTED_CLASS: dict[int, type[ProviderError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: ProviderError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: ProviderError,
    410: ProviderError,
    501: ServerError,
    520: ServerError,
    408: RequestTimeoutError,
    409: ConflictError,
    413: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
    500: ServerError,
    502: ServerError,
    503: ServerError,
    504: ServerError,
    529: ServerError,
}


def is_stream(mode: str) -> bool:
    return mode.startswith("stream")


def good(wire: Wire, mode: str) -> httpx2.Response:
    if is_stream(mode):
        return sse_response([*wire.partial(), *wire.finish()])
    return json_response(200, wire.whole(PARTIAL_TEXT))


def assert_serialisable_partial(out: Outcome) -> None:
    partial = out.partial
    assert partial is not None, "a failed run keeps a .result"
    json.loads(partial.model_dump_json())  # stays serialisable, error included


# ---------------------------------------------------------------------------------------------------------------
# The control: every provider and mode succeeds against a well-behaved server (so the faults below are the cause)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_control_well_behaved_server(
    wire: Wire, mode: str, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture
) -> None:
    def handler(request: httpx2.Request, attempt: int) -> httpx2.Response:
        response = good(wire, mode)
        response.headers["set-cookie"] = f"sid={KEY}; HttpOnly"  # a server echoing a credential in a header
        response.headers["x-echo-api-key"] = KEY
        return response

    out = run(wire, mode, handler, monkeypatch)
    assert out.error is None, out.error
    assert out.result is not None and out.result.text.strip() == PARTIAL_TEXT.strip()
    assert out.result.finish_reason == "stop" and len(out.requests) == 1
    assert CUT_SHORT_WARNING not in out.result.warnings
    assert_no_key(out, debug_logs)


# ---------------------------------------------------------------------------------------------------------------
# HTTP statuses 400-529, with and without Retry-After


@pytest.mark.parametrize("retry_after", ["none", "short", "long"])
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_status(
    wire: Wire,
    mode: str,
    status: int,
    retry_after: str,
    monkeypatch: pytest.MonkeyPatch,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    headers = {"none": {}, "short": {"retry-after": "1"}, "long": {"retry-after": "3600"}}[retry_after]
    body = wire.error_body(status, f"Incorrect API key provided: {KEY}. Fault {status}.")

    out = run(wire, mode, lambda request, attempt: json_response(status, body, **headers), monkeypatch)

    err = out.error
    assert isinstance(err, EXPECTED_CLASS[status]), f"{type(err).__name__}: {err}"
    assert err.status == status and err.provider == wire.name
    retried = status in RETRY_STATUSES
    assert err.retryable is retried  # classified as the transport treats it
    if retried and retry_after != "long":
        assert len(out.requests) == MAX_RETRIES + 1 and err.attempts == MAX_RETRIES + 1
        assert len(out.sleeps) == MAX_RETRIES
        if retry_after == "short":
            assert out.sleeps == [1.0] * MAX_RETRIES  # Retry-After honoured, not backoff
    else:
        assert len(out.requests) == 1 and out.sleeps == []
    if retry_after == "long":
        assert err.retry_after == 3600  # beyond the cap: raised at once, carrying how long to wait
        if retried:
            assert "retry after 3600 s" in str(err)
    assert f"Fault {status}" in str(err)
    assert_serialisable_partial(out)
    assert out.partial is not None and out.partial.finish_reason == "error"
    assert_no_key(out, debug_logs)


# ---------------------------------------------------------------------------------------------------------------
# The network: a reset connection, a read timeout, a refused connection, a connect timeout


NETWORK_FAULTS = ["reset", "read-timeout", "refused", "connect-timeout"]


@pytest.mark.parametrize("fault", NETWORK_FAULTS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_network(
    wire: Wire, mode: str, fault: str, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture
) -> None:
    def handler(request: httpx2.Request, attempt: int) -> httpx2.Response:
        if fault == "refused":
            raise httpx2.ConnectError(f"[Errno 111] Connection refused (auth {KEY})")
        if fault == "connect-timeout":
            raise httpx2.ConnectTimeout("timed out connecting")
        exc: Exception = (
            httpx2.ReadError("Connection reset by peer") if fault == "reset" else httpx2.ReadTimeout("read timed out")
        )
        chunks = wire.partial() if is_stream(mode) else [json.dumps(wire.whole(PARTIAL_TEXT)).encode()[:40]]
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=FailingStream(chunks, exc))

    out = run(wire, mode, handler, monkeypatch)

    err = out.error
    timeout = fault in ("read-timeout", "connect-timeout")
    assert isinstance(err, TimeoutError_ if timeout else ConnectionFailedError), f"{type(err).__name__}: {err}"
    assert err.provider == wire.name and wire.name in str(err)
    assert err.retryable is True and "retry may help" in str(err)
    midstream = is_stream(mode) and fault in ("reset", "read-timeout")
    if midstream:
        # the stream had begun: not re-sent (the caller already saw text), and what arrived is kept
        assert len(out.requests) == 1
        assert stream_text(out) == PARTIAL_TEXT
        assert out.partial is not None and out.partial.text == PARTIAL_TEXT
        assert out.partial.steps[-1].finish_reason == "error"
    else:
        assert len(out.requests) == MAX_RETRIES + 1 and len(out.sleeps) == MAX_RETRIES
    assert_serialisable_partial(out)
    assert_no_key(out, debug_logs)


# ---------------------------------------------------------------------------------------------------------------
# A 200 that is not what the protocol promises


def _gzipped(content_type: str, data: bytes) -> httpx2.Response:
    """A response whose body is decoded only when read (as on the wire), so a bad gzip fails in the client."""
    headers = {"content-type": content_type, "content-encoding": "gzip"}
    return httpx2.Response(200, headers=headers, stream=httpx2.ByteStream(data))


def _bad_gzip() -> httpx2.Response:
    return _gzipped("application/json", b"\x1f\x8bnot gzip")


WHOLE_MALFORMED: dict[str, Any] = {
    "html": lambda w: httpx2.Response(
        200, headers={"content-type": "text/html"}, content=f"<html><body>Bad gateway {KEY}</body></html>".encode()
    ),
    "truncated-json": lambda w: httpx2.Response(200, content=json.dumps(w.whole(PARTIAL_TEXT)).encode()[:25]),
    "empty-body": lambda w: httpx2.Response(200, content=b""),
    "empty-object": lambda w: json_response(200, {}),
    "json-array": lambda w: json_response(200, [{"unexpected": True}]),
    "json-string": lambda w: json_response(200, "ok"),
    "wrong-types": lambda w: json_response(200, {"choices": 3, "content": 3, "candidates": 3, "output": 3}),
    "bad-gzip": lambda w: _bad_gzip(),
}


@pytest.mark.parametrize("kind", list(WHOLE_MALFORMED))
@pytest.mark.parametrize("mode", WHOLE_MODES)
@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_malformed_whole_body(
    wire: Wire, mode: str, kind: str, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture
) -> None:
    out = run(wire, mode, lambda request, attempt: WHOLE_MALFORMED[kind](wire), monkeypatch)
    err = out.error
    assert isinstance(err, MalformedResponseError), f"{type(err).__name__}: {err}"
    assert err.provider == wire.name and err.status == 200 and err.retryable is False
    assert wire.name in str(err) and "HTTP 200" in str(err)
    assert len(out.requests) == 1
    assert_serialisable_partial(out)
    assert_no_key(out, debug_logs)


STREAM_MALFORMED: dict[str, Any] = {
    "garbage-line": lambda w: sse_response([*w.partial(), b"data: {this is not json\n\n", *w.finish()]),
    "html": lambda w: httpx2.Response(
        200, headers={"content-type": "text/html"}, content=f"<html><body>Bad gateway {KEY}</body></html>".encode()
    ),
    "empty-body": lambda w: sse_response([]),
    "only-comments": lambda w: sse_response([b": keep-alive\n\n", b": keep-alive\n\n"]),
    "json-array-event": lambda w: sse_response([*w.partial(), b"data: [1, 2, 3]\n\n"]),
    "bad-gzip": lambda w: _gzipped("text/event-stream", b"\x1f\x8bnot gzip"),
    "gzip-cut": lambda w: _gzipped("text/event-stream", gzip.compress(b"".join([*w.partial(), *w.finish()]))[:-12]),
}


@pytest.mark.parametrize("kind", list(STREAM_MALFORMED))
@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_malformed_stream(
    wire: Wire, mode: str, kind: str, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture
) -> None:
    out = run(wire, mode, lambda request, attempt: STREAM_MALFORMED[kind](wire), monkeypatch)
    err = out.error
    if kind == "json-array-event" and wire.name == "gemini":
        # Gemini streams may batch chunks in one array; numbers in it are still not chunks
        assert isinstance(err, MalformedResponseError), f"{type(err).__name__}: {err}"
    assert isinstance(err, MalformedResponseError), f"{type(err).__name__}: {err}"
    assert err.provider == wire.name and err.status == 200 and wire.name in str(err)
    assert len(out.requests) == 1
    if kind in ("garbage-line", "json-array-event"):
        assert out.partial is not None and out.partial.text == PARTIAL_TEXT  # kept from before the bad line
    assert_serialisable_partial(out)
    assert_no_key(out, debug_logs)


# ---------------------------------------------------------------------------------------------------------------
# Streams cut short, and errors inside a stream


@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_stream_without_finish_marker(
    wire: Wire, mode: str, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture
) -> None:
    out = run(wire, mode, lambda request, attempt: sse_response(wire.partial()), monkeypatch)
    assert out.error is None and out.result is not None
    assert out.result.finish_reason == "unknown" and out.result.text == PARTIAL_TEXT
    assert CUT_SHORT_WARNING in out.result.warnings
    assert_no_key(out, debug_logs)


@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_error_inside_a_stream(
    wire: Wire, mode: str, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture
) -> None:
    out = run(wire, mode, lambda request, attempt: sse_response([*wire.partial(), wire.stream_error()]), monkeypatch)
    err = out.error
    assert isinstance(err, StreamError), f"{type(err).__name__}: {err}"
    assert err.provider == wire.name and len(out.requests) == 1
    assert stream_text(out) == PARTIAL_TEXT
    partial = out.partial
    assert partial is not None and partial.text == PARTIAL_TEXT and partial.finish_reason == "error"
    assert partial.steps[-1].raw_response is not None and partial.steps[-1].raw_response.stream
    assert_serialisable_partial(out)
    assert_no_key(out, debug_logs)


@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_error_object_as_the_only_stream_event(
    wire: Wire, mode: str, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture
) -> None:
    out = run(wire, mode, lambda request, attempt: sse_response([wire.stream_error()]), monkeypatch)
    assert isinstance(out.error, StreamError), f"{type(out.error).__name__}: {out.error}"
    assert out.partial is not None and out.partial.finish_reason == "error"
    assert_no_key(out, debug_logs)


@pytest.mark.parametrize("mode", WHOLE_MODES)
@pytest.mark.parametrize("wire", WIRES, ids=WIRE_IDS)
def test_error_object_in_a_200_body(
    wire: Wire, mode: str, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture
) -> None:
    out = run(wire, mode, lambda request, attempt: json_response(200, wire.error_object_200()), monkeypatch)
    err = out.error
    assert isinstance(err, ProviderError) and not isinstance(err, MalformedResponseError), f"{type(err)}: {err}"
    assert "boom" in str(err) and err.provider == wire.name and len(out.requests) == 1
    assert_serialisable_partial(out)
    assert_no_key(out, debug_logs)


# ---------------------------------------------------------------------------------------------------------------
# Reasoning and tool calls streamed before a failure are kept too


def _chat_reasoning_and_tool_call() -> list[bytes]:
    from tests.faults.wire import frame

    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test"}
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": '}}
    rest = {"index": 0, "function": {"arguments": '"x"}'}}
    return [
        frame({**base, "choices": [{"index": 0, "delta": {"reasoning_content": "Thinking it over. "}}]}),
        frame({**base, "choices": [{"index": 0, "delta": {"content": PARTIAL_TEXT}}]}),
        frame({**base, "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}),
        frame({**base, "choices": [{"index": 0, "delta": {"tool_calls": [rest]}}]}),
    ]


def _anthropic_reasoning_and_tool_call() -> list[bytes]:
    from tests.faults.wire import ANTHROPIC, frame

    start = ANTHROPIC.partial()[:1]
    return [
        *start,
        frame({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        frame({"type": "content_block_delta", "index": 0,
               "delta": {"type": "thinking_delta", "thinking": "Thinking it over. "}}),
        frame({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        frame({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": PARTIAL_TEXT}}),
        frame({"type": "content_block_start", "index": 2,
               "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}}),
        frame({"type": "content_block_delta", "index": 2,
               "delta": {"type": "input_json_delta", "partial_json": '{"q": "x"}'}}),
    ]


@pytest.mark.parametrize("fault", ["reset", "read-timeout", "in-stream-error"])
@pytest.mark.parametrize("mode", STREAM_MODES)
@pytest.mark.parametrize("wire_name", ["openai-chat", "anthropic"])
def test_reasoning_and_tool_calls_before_a_failure_are_kept(
    wire_name: str, mode: str, fault: str, monkeypatch: pytest.MonkeyPatch, debug_logs: pytest.LogCaptureFixture
) -> None:
    wire = next(w for w in WIRES if w.name == wire_name)
    chunks = _chat_reasoning_and_tool_call() if wire_name == "openai-chat" else _anthropic_reasoning_and_tool_call()

    def handler(request: httpx2.Request, attempt: int) -> httpx2.Response:
        if fault == "in-stream-error":
            return sse_response([*chunks, wire.stream_error()])
        exc = httpx2.ReadError("reset") if fault == "reset" else httpx2.ReadTimeout("timed out")
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=FailingStream(chunks, exc))

    out = run(wire, mode, handler, monkeypatch)
    assert isinstance(out.error, ProviderError)
    partial = out.partial
    assert partial is not None and partial.text == PARTIAL_TEXT
    assert partial.reasoning_text == "Thinking it over. "
    assert [(c.tool_name, c.args) for c in partial.tool_calls] == [("lookup", {"q": "x"})]
    assert partial.tool_results == []  # nothing was run from a failed answer
    json.loads(partial.model_dump_json())
    assert_no_key(out, debug_logs)
