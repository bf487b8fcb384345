"""The only network code: send a built request with httpx2, retry, time out, abort, decode streams, mask secrets.

An `httpx2.Client` / `httpx2.AsyncClient` is injected (`Agent(http_client=...)`), which is how tests pass
`httpx2.MockTransport` or replay recorded traffic. Nothing that leaves this module carries an API key unmasked.
"""

from __future__ import annotations

import functools
import json
import random
import re
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import (
    RETRYABLE_STATUSES,
    AbortedError,
    ConfigurationError,
    ConnectionFailedError,
    MalformedResponseError,
    TimeoutError_,
)
from ..masking import SECRET_HEADERS as SECRET_HEADERS
from ..masking import contains_secret as contains_secret
from ..masking import guard_library_logs
from ..masking import mask_headers as mask_headers
from ..masking import mask_secret as mask_secret
from ..masking import mask_text as mask_text
from ..masking import mask_value as mask_value
from ..settings import AbortSignal
from .base import HttpRequestSpec, SSEEvent, StreamFormat

if TYPE_CHECKING:
    import httpx2
else:

    class _LazyHttpx2:
        """httpx2 takes ~150 ms to import; load it on the first request, not on `import playground`."""

        def __getattr__(self, name: str) -> Any:
            import httpx2 as module

            globals()["httpx2"] = module
            return getattr(module, name)

    httpx2 = _LazyHttpx2()

RETRY_STATUSES = RETRYABLE_STATUSES
"""Statuses retried before an error is raised (408, 409, 429, 5xx but 501/505); `ProviderError.retryable` agrees."""
DEFAULT_TIMEOUT_SECONDS = 120.0
"""Read (and write/pool) timeout: the longest a server may stay silent, between connecting and each chunk."""
DEFAULT_CONNECT_TIMEOUT_SECONDS = 10.0
MAX_RETRY_WAIT_SECONDS = 60.0
"""A Retry-After (or Gemini's RetryInfo) longer than this is not waited out: the error is raised with `retry_after`."""

# ----------------------------------------------------------------------------------------------------------------
# Masking (written once in playground/masking.py; re-exported here for the modules that import it from the transport)


def masked_request(spec: HttpRequestSpec, secrets: Iterable[str]) -> dict[str, Any]:
    secrets = tuple(secrets)
    body = spec.json
    if secrets and contains_secret(spec.body_bytes(), secrets):
        body = mask_value(body, secrets)
    url, headers = _masked_url_and_headers(spec.url, tuple(spec.headers.items()), secrets)
    return {"method": spec.method, "url": url, "headers": dict(headers), "body": body}


@functools.lru_cache(maxsize=256)
def _masked_url_and_headers(
    url: str, items: tuple[tuple[str, str], ...], secrets: tuple[str, ...]
) -> tuple[str, dict[str, str]]:
    """A provider sends to the same URL with the same headers on every call: mask them once (callers copy the
    headers)."""
    return mask_text(url, secrets), mask_headers(dict(items), secrets)


# ----------------------------------------------------------------------------------------------------------------
# Stream decoding (SSE via httpx2's EventSource; JSON-array and NDJSON for Gemini and Ollama)


class SSEDecoder:
    """Server-sent events from raw bytes, per the WHATWG event-stream rules.

    Written for speed rather than taken from httpx2's EventSource: streaming overhead is a product target. A network
    read is decoded and split in one pass (`feed_items`): when every event in it is one `data:` line (OpenAI, most
    servers) the events come out of one `str.split` with no per-event Python work at all, and only the first events
    are looked at before the first token goes out. Splitting on bytes is safe for UTF-8: a newline byte never occurs
    inside a multi-byte character.
    """

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed_items(self, chunk: bytes) -> list[str | SSEEvent]:
        """The events completed by `chunk`, in order: a plain event (one `data:` line, no name or id) as its data
        string, any other as an SSEEvent."""
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            keep_cr = buf.endswith(b"\r")  # a CRLF may be split across chunks
            if keep_cr:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if keep_cr:
                buf += b"\r"
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return []
        self._buf = buf[end + 2 :]
        text = buf[:end].decode("utf-8", "replace")
        if text[:6] == "data: ":
            items = text[6:].split("\n\ndata: ")
            # every newline of the text is one of the separators: each event is exactly one `data: ` line
            if text.count("\n") == 2 * len(items) - 2:
                return items  # type: ignore[return-value]  # list[str] is a list[str | SSEEvent] here
        return _blocks(text.split("\n\n"))

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """`feed_items` with every event as an SSEEvent."""
        return [SSEEvent(i) if i.__class__ is str else i for i in self.feed_items(chunk)]  # type: ignore[misc]

    def flush_items(self) -> list[str | SSEEvent]:
        rest, self._buf = self._buf.rstrip(b"\r"), b""
        if rest.strip():
            event = _parse_block(rest.strip(b"\n").decode("utf-8", "replace"))
            return [event] if event is not None else []
        return []

    def flush(self) -> list[SSEEvent]:
        return [SSEEvent(i) if i.__class__ is str else i for i in self.flush_items()]  # type: ignore[misc]


def _blocks(blocks: list[str]) -> list[str | SSEEvent]:
    out: list[str | SSEEvent] = []
    for block in blocks:
        if block[:6] == "data: " and "\n" not in block:
            out.append(block[6:])
        elif block[:7] == "event: " and (nl := block.find("\n")) > 0 and block.startswith("data: ", nl + 1) and (
            block.find("\n", nl + 1) < 0
        ):  # `event: name` then one `data: ` line (Anthropic, OpenAI Responses): no line-by-line parse
            out.append(SSEEvent(block[nl + 7 :], block[7:nl] or None))
        elif block:
            event = _parse_block(block)
            if event is not None:
                out.append(event.data if event.event is None and event.id is None else event)
    return out


def _parse_block(block: str) -> SSEEvent | None:
    data: list[str] = []
    event: str | None = None
    ident: str | None = None
    for line in block.split("\n"):
        if not line or line[0] == ":":
            continue
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value or None
        elif name == "id":
            ident = value
    if not data:
        return None
    return SSEEvent("\n".join(data), event, ident)


_ARRAY_GAP = re.compile(r"[ \r\n\t\[,\]]*")
"""What lies between two elements of a JSON-array stream (and before the first, after the last)."""


class _JSONArrayDecoder:
    """Elements of one JSON array written out in pieces (Gemini's streamGenerateContent without alt=sse)."""

    def __init__(self) -> None:
        self._buf = ""
        self._dec = json.JSONDecoder()

    def feed_items(self, chunk: str) -> list[str | SSEEvent]:
        """The elements completed so far, read by position (one copy of the unread rest per read, not per element)."""
        buf = self._buf + chunk if self._buf else chunk
        out: list[str | SSEEvent] = []
        pos, size = 0, len(buf)
        skip, decode = _ARRAY_GAP.match, self._dec.raw_decode
        while True:
            pos = skip(buf, pos).end()  # type: ignore[union-attr]  # the pattern matches the empty string too
            if pos >= size:
                break
            try:
                _, end = decode(buf, pos)
            except ValueError:
                break
            out.append(buf[pos:end])
            pos = end
        self._buf = buf[pos:]
        return out

    def flush_items(self) -> list[str | SSEEvent]:
        out = self.feed_items("")
        rest, self._buf = self._buf.strip(" \r\n\t[,]"), ""
        if rest:  # a cut-off or garbage element: handed on, so the parser reports it instead of dropping it silently
            out.append(rest)
        return out

    def feed(self, chunk: str) -> list[SSEEvent]:
        return [SSEEvent(i) for i in self.feed_items(chunk)]  # type: ignore[arg-type]

    def flush(self) -> list[SSEEvent]:
        return [SSEEvent(i) for i in self.flush_items()]  # type: ignore[arg-type]


class _NDJSONDecoder:
    def __init__(self) -> None:
        self._buf = ""

    def feed_items(self, chunk: str) -> list[str | SSEEvent]:
        self._buf += chunk
        *lines, self._buf = self._buf.split("\n")
        return [line.strip() for line in lines if line.strip()]

    def flush_items(self) -> list[str | SSEEvent]:
        rest, self._buf = self._buf.strip(), ""
        return [rest] if rest else []

    def feed(self, chunk: str) -> list[SSEEvent]:
        return [SSEEvent(i) for i in self.feed_items(chunk)]  # type: ignore[arg-type]

    def flush(self) -> list[SSEEvent]:
        return [SSEEvent(i) for i in self.flush_items()]  # type: ignore[arg-type]


FIRST_READ_SPLIT = 4096
"""A first network read longer than this (a local server that writes a whole answer at once) is decoded in two parts:
the events in its first 2 KB go out before the rest is split, so the first token does not wait for the last."""


def _first_events(chunk: bytes) -> tuple[bytes, bytes]:
    """(the complete events at the start of a long first read, the rest); (b"", chunk) for a short one."""
    if len(chunk) <= FIRST_READ_SPLIT:
        return b"", chunk
    cut = chunk.rfind(b"\n\n", 0, FIRST_READ_SPLIT // 2)
    if cut < 0:
        return b"", chunk
    return chunk[: cut + 2], chunk[cut + 2 :]


def iter_stream_batches(response: httpx2.Response, fmt: StreamFormat) -> Iterator[list[str | SSEEvent]]:
    """The decoded events of a streaming response, one non-empty list per network read (see `SSEDecoder.feed_items`;
    SSE also when a server mislabels its content type), two for a long first read (`_first_events`)."""
    if fmt == "sse":
        sse = SSEDecoder()
        feed = sse.feed_items
        first = True
        for chunk in response.iter_bytes():
            if first:
                first = False
                head, chunk = _first_events(chunk)
                if head and (items := feed(head)):
                    yield items
            items = feed(chunk)
            if items:
                yield items
        items = sse.flush_items()
    else:
        decoder = _JSONArrayDecoder() if fmt == "json-array" else _NDJSONDecoder()
        for text in response.iter_text():
            items = decoder.feed_items(text)
            if items:
                yield items
        items = decoder.flush_items()
    if items:
        yield items


async def aiter_stream_batches(response: httpx2.Response, fmt: StreamFormat) -> AsyncIterator[list[str | SSEEvent]]:
    if fmt == "sse":
        sse = SSEDecoder()
        feed = sse.feed_items
        first = True
        async for chunk in response.aiter_bytes():
            if first:
                first = False
                head, chunk = _first_events(chunk)
                if head and (items := feed(head)):
                    yield items
            items = feed(chunk)
            if items:
                yield items
        items = sse.flush_items()
    else:
        decoder = _JSONArrayDecoder() if fmt == "json-array" else _NDJSONDecoder()
        async for text in response.aiter_text():
            items = decoder.feed_items(text)
            if items:
                yield items
        items = decoder.flush_items()
    if items:
        yield items


def iter_stream_events(response: httpx2.Response, fmt: StreamFormat) -> Iterator[SSEEvent]:
    """Decoded events of a streaming response, one at a time (the drivers read `iter_stream_batches`)."""
    for items in iter_stream_batches(response, fmt):
        for item in items:
            yield SSEEvent(item) if item.__class__ is str else item  # type: ignore[misc,arg-type]


# ----------------------------------------------------------------------------------------------------------------
# Sending


@dataclass(slots=True)
class HttpResult:
    """A whole response, as received."""

    status: int
    headers: dict[str, str]
    body: bytes
    attempts: int = 1
    elapsed_ms: float = 0.0
    retry_after: float | None = None
    """Set when the server asked for a wait longer than the retry cap, so the call was not retried."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(slots=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 20.0
    retry_delay: Callable[[int, Mapping[str, str], bytes], float | None] | None = None
    """Provider hook: a delay the body asks for (Gemini's RetryInfo); None to use Retry-After or backoff."""
    max_wait: float = MAX_RETRY_WAIT_SECONDS
    """The longest wait the server may ask for; beyond it the error is raised at once, carrying `retry_after`."""

    def asked(self, status: int | None, headers: Mapping[str, str], body: bytes) -> float | None:
        """The wait the server asked for (provider body hook first, then Retry-After / retry-after-ms), if any."""
        if status is not None and self.retry_delay is not None:
            try:
                asked = self.retry_delay(status, headers, body)
            except (ValueError, TypeError, AttributeError, KeyError):
                asked = None
            if asked is not None:
                return asked
        from .base import parse_retry_after

        return parse_retry_after(headers)

    def delay(self, attempt: int, status: int | None, headers: Mapping[str, str], body: bytes) -> float:
        asked = self.asked(status, headers, body)
        if asked is not None:
            return min(asked, self.max_wait)
        backoff = min(self.max_delay, self.base_delay * (2**attempt))
        return backoff * (0.75 + random.random() * 0.5)

    def plan(
        self, attempt: int, status: int, headers: Mapping[str, str], body: bytes
    ) -> tuple[float | None, float | None]:
        """(seconds to wait before the next try or None to stop, the server's too-long Retry-After or None)."""
        if status not in RETRY_STATUSES or attempt >= self.max_retries:
            return None, None
        asked = self.asked(status, headers, body)
        if asked is not None and asked > self.max_wait:
            return None, asked  # waiting less than asked would only be refused again
        return self.delay(attempt, status, headers, body), None


@dataclass
class StreamHandle:
    """An open streaming response. `events()` decodes it; the recorded raw events are kept for the raw view."""

    status: int
    headers: dict[str, str]
    attempts: int
    started: float
    response: httpx2.Response
    fmt: StreamFormat
    raw_events: list[str] = field(default_factory=list)
    first_chunk_at: float | None = None


def _who(provider: str | None) -> str:
    return f"{provider} " if provider else ""


def connection_error(
    exc: Exception, url: str, secrets: Iterable[str], provider: str | None = None, *, attempts: int | None = None
) -> ConnectionFailedError:
    """A transport exception as a ConnectionFailedError naming the provider, the (masked) URL and whether to retry."""
    where = mask_text(url, secrets)
    tried = f" after {attempts} attempts" if attempts and attempts > 1 else ""
    if isinstance(exc, httpx2.TimeoutException):
        kind = {
            "ConnectTimeout": "connecting",
            "ReadTimeout": "waiting for the answer",
            "WriteTimeout": "sending the request",
            "PoolTimeout": "waiting for a free connection",
        }.get(type(exc).__name__, "waiting")
        err: ConnectionFailedError = TimeoutError_(
            f"The request to {_who(provider)}at {where} timed out while {kind}{tried} ({type(exc).__name__}). "
            "A retry may help if the server is busy; raise timeout= for slow models.",
            provider=provider,
            retryable=True,
        )
    elif isinstance(exc, httpx2.UnsupportedProtocol | httpx2.InvalidURL | httpx2.LocalProtocolError):
        detail = mask_text(str(exc), secrets) or type(exc).__name__
        err = ConnectionFailedError(
            f"Could not reach {where} ({provider or 'provider'}): {detail}. A retry will not help: fix the base URL.",
            provider=provider,
            retryable=False,
        )
    else:
        detail = mask_text(str(exc), secrets) or type(exc).__name__
        err = ConnectionFailedError(
            f"Could not reach {where} ({provider or 'provider'}){tried}: {detail}. "
            "Is the server running and the base URL right? A retry may help if the connection was dropped "
            "or the server was briefly down.",
            provider=provider,
            retryable=True,
        )
    err.attempts = attempts
    return err


def _may_retry(exc: Exception) -> bool:
    """A refused, reset or timed-out connection may work next time; an unsupported scheme or a bad request never."""
    return not isinstance(exc, httpx2.UnsupportedProtocol | httpx2.LocalProtocolError)


def malformed_body_error(
    provider: str | None, status: int, what: str, secrets: Iterable[str], raw_body: Any = None
) -> MalformedResponseError:
    """A 2xx answer that breaks the protocol (bad gzip, HTML, truncated JSON ...), named with provider and status."""
    return MalformedResponseError(
        mask_text(
            f"{provider or 'The provider'} answered HTTP {status}, but the body is not what the protocol promises: "
            f"{what}.",
            secrets,
        ),
        status=status,
        provider=provider,
        raw_body=mask_value(raw_body, secrets) if raw_body is not None else None,
        retryable=False,
    )


DEFAULT_MAX_CONNECTIONS = 100
"""The shared clients' pool: up to 100 requests at once per process (httpx2's own default)."""
DEFAULT_MAX_KEEPALIVE = 100
"""...and, for a server on another machine, every one of those connections kept open for the next request (httpx2
keeps 20: a burst of 100 calls then closes 80 connections and opens them again for the next burst, each a TCP and TLS
handshake away from the provider)."""
DEFAULT_MAX_KEEPALIVE_LOCAL = 20
"""For a server on this machine (127.0.0.1, localhost, ::1: Ollama, vLLM, a test server) httpx2's own 20: reopening a
local connection costs microseconds, while the pool looks at every idle connection it keeps (a poll each) for every
request. Measured with benchmarks/fake_openai_server.py, bursts of 100 calls: 0.99 ms per call keeping 20, 1.10 keeping
32, 1.25 keeping 50, 1.46 keeping 100."""
_local_urls: dict[str, bool] = {}


def is_local_url(url: str) -> bool:
    """Whether `url` names a server on this machine: a loopback address, `localhost` or a `.localhost` name (answered
    once per host and port)."""
    parts = url.split("/", 3)
    head = (parts[2] if len(parts) > 2 else url).rpartition("@")[2]  # "http://127.0.0.1:11434/v1" -> "127.0.0.1:11434"
    local = _local_urls.get(head)
    if local is None:
        import ipaddress
        from urllib.parse import urlsplit

        host = (urlsplit(f"//{head}").hostname or "").lower()
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost" or host.endswith(".localhost")
        if len(_local_urls) >= 256:  # bounded: a process talking to many hosts
            _local_urls.clear()
        _local_urls[head] = local
    return local


def _default_limits(local: bool = False) -> httpx2.Limits:
    keep = DEFAULT_MAX_KEEPALIVE_LOCAL if local else DEFAULT_MAX_KEEPALIVE
    return httpx2.Limits(max_connections=DEFAULT_MAX_CONNECTIONS, max_keepalive_connections=keep)


def _default_timeout() -> httpx2.Timeout:
    return httpx2.Timeout(DEFAULT_TIMEOUT_SECONDS, connect=DEFAULT_CONNECT_TIMEOUT_SECONDS)


_shared_lock = threading.Lock()
_shared_sync: dict[bool, httpx2.Client] = {}


def shared_client(local: bool = False) -> httpx2.Client:
    """One pooled client per process for providers without an injected client (connection reuse matters): one for
    servers on this machine, one for the rest (their pools keep different numbers of idle connections)."""
    with _shared_lock:
        client = _shared_sync.get(local)
        if client is None or client.is_closed:
            client = httpx2.Client(timeout=_default_timeout(), limits=_default_limits(local), follow_redirects=True)
            _shared_sync[local] = client
        return client


_async_clients: dict[tuple[int, bool], httpx2.AsyncClient] = {}


def shared_async_client(local: bool = False) -> httpx2.AsyncClient:
    """One pooled async client per event loop (an AsyncClient cannot move between loops), local or not as above."""
    import asyncio

    loop = asyncio.get_running_loop()
    key = (id(loop), local)
    client = _async_clients.get(key)
    if client is None or client.is_closed:
        client = httpx2.AsyncClient(timeout=_default_timeout(), limits=_default_limits(local), follow_redirects=True)
        _async_clients[key] = client
    return client


def check_http_clients(client: Any, async_client: Any = None) -> None:
    """Refuse a client that is not an httpx2 client (an httpx, requests or aiohttp client would be silently replaced
    by a real network client otherwise, which is the opposite of what a test injecting one wants)."""
    if client is None and async_client is None:
        return  # nothing to check, and httpx2 stays unimported until the first request
    import httpx2 as real

    if client is not None and not isinstance(client, real.Client | real.AsyncClient):
        raise ConfigurationError(
            f"http_client: expected an httpx2.Client or httpx2.AsyncClient, got {type(client).__module__}."
            f"{type(client).__name__}; wrap your transport in httpx2.Client(transport=...) "
            "(httpx clients are not accepted: httpx2 is the HTTP library here).",
            field="http_client",
        )
    if async_client is not None and not isinstance(async_client, real.AsyncClient):
        raise ConfigurationError(
            f"async_http_client: expected an httpx2.AsyncClient, got {type(async_client).__module__}."
            f"{type(async_client).__name__}.",
            field="async_http_client",
        )


class Transport:
    """Sends `HttpRequestSpec`s. Holds an optional injected client (sync, async or both) and the secrets to mask."""

    def __init__(
        self,
        client: httpx2.Client | httpx2.AsyncClient | None = None,
        *,
        async_client: httpx2.AsyncClient | None = None,
        secrets: Iterable[str] = (),
        timeout: float | httpx2.Timeout | None = None,
        provider: str | None = None,
    ) -> None:
        check_http_clients(client, async_client)
        self._client = client if isinstance(client, httpx2.Client) else None
        self._async_client = async_client or (client if isinstance(client, httpx2.AsyncClient) else None)
        self.secrets = [s for s in secrets if s]
        self.timeout = timeout
        self.provider = provider
        """The provider's name, for errors that happen before it could answer (connection refused, timeouts)."""
        guard_library_logs(self.secrets)

    # -- helpers ----------------------------------------------------------------------------------------------------
    def _sync_client(self, url: str) -> httpx2.Client:
        if self._client is not None:
            return self._client
        if self._async_client is not None:
            raise ConfigurationError(
                "Only an httpx2.AsyncClient was given: use the async calls (generate_async, astream) "
                "or pass an httpx2.Client too.",
                field="http_client",
            )
        return shared_client(is_local_url(url))

    def _aclient(self, url: str) -> httpx2.AsyncClient | None:
        if self._async_client is not None:
            return self._async_client
        if self._client is not None:
            return None  # only a sync client: async calls run it in a worker thread
        return shared_async_client(is_local_url(url))

    def _build(self, client: httpx2.Client | httpx2.AsyncClient, spec: HttpRequestSpec, timeout: Any) -> httpx2.Request:
        guard_library_logs()  # cheap: re-scans only when new loggers appeared (httpcore2 loads its own lazily)
        kwargs: dict[str, Any] = {"headers": spec.headers}
        if spec.json is not None:
            kwargs["content"] = spec.body_bytes()
        t = timeout if timeout is not None else self.timeout
        if t is not None:
            kwargs["timeout"] = t
        return client.build_request(spec.method, spec.url, **kwargs)

    def _conn_error(self, exc: Exception, url: str, attempts: int) -> ConnectionFailedError:
        return connection_error(exc, url, self.secrets, self.provider, attempts=attempts)

    def _decode_error(self, status: int, exc: Exception) -> MalformedResponseError:
        return malformed_body_error(
            self.provider, status, f"the body could not be decoded ({type(exc).__name__}: {exc})", self.secrets
        )

    @staticmethod
    def _check_abort(abort: AbortSignal | None) -> None:
        if abort is not None and abort.aborted:
            raise AbortedError(abort.reason or "aborted")

    @staticmethod
    def _sleep(seconds: float, abort: AbortSignal | None) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            Transport._check_abort(abort)
            time.sleep(min(left, 0.05))
        Transport._check_abort(abort)

    @staticmethod
    async def _asleep(seconds: float, abort: AbortSignal | None) -> None:
        import asyncio

        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            Transport._check_abort(abort)
            await asyncio.sleep(min(left, 0.05))
        Transport._check_abort(abort)

    # -- whole responses ----------------------------------------------------------------------------------------------
    def send(
        self,
        spec: HttpRequestSpec,
        *,
        retry: RetryPolicy | None = None,
        abort: AbortSignal | None = None,
        timeout: Any = None,
    ) -> HttpResult:
        retry = retry or RetryPolicy()
        client = self._sync_client(spec.url)
        started = time.perf_counter()
        attempt = 0
        while True:
            self._check_abort(abort)
            status = 0
            try:
                response = client.send(self._build(client, spec, timeout), stream=True)
                status = response.status_code
                try:
                    body = response.read()
                finally:
                    response.close()
            except httpx2.TransportError as exc:
                if attempt < retry.max_retries and _may_retry(exc):
                    self._sleep(retry.delay(attempt, None, {}, b""), abort)
                    attempt += 1
                    continue
                raise self._conn_error(exc, spec.url, attempt + 1) from None
            except httpx2.DecodingError as exc:
                raise self._decode_error(status, exc) from None
            headers = dict(response.headers.items())  # O(n): dict(headers) looks each name up again
            wait, too_long = retry.plan(attempt, status, headers, body)
            if wait is not None:
                self._sleep(wait, abort)
                attempt += 1
                continue
            elapsed = (time.perf_counter() - started) * 1000
            return HttpResult(status, headers, body, attempt + 1, elapsed, too_long)

    async def send_async(
        self,
        spec: HttpRequestSpec,
        *,
        retry: RetryPolicy | None = None,
        abort: AbortSignal | None = None,
        timeout: Any = None,
    ) -> HttpResult:
        client = self._aclient(spec.url)
        if client is None:
            import asyncio

            return await asyncio.to_thread(self.send, spec, retry=retry, abort=abort, timeout=timeout)
        retry = retry or RetryPolicy()
        started = time.perf_counter()
        attempt = 0
        while True:
            self._check_abort(abort)
            status = 0
            try:
                response = await client.send(self._build(client, spec, timeout), stream=True)
                status = response.status_code
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
            except httpx2.TransportError as exc:
                if attempt < retry.max_retries and _may_retry(exc):
                    await self._asleep(retry.delay(attempt, None, {}, b""), abort)
                    attempt += 1
                    continue
                raise self._conn_error(exc, spec.url, attempt + 1) from None
            except httpx2.DecodingError as exc:
                raise self._decode_error(status, exc) from None
            headers = dict(response.headers.items())  # O(n): dict(headers) looks each name up again
            wait, too_long = retry.plan(attempt, status, headers, body)
            if wait is not None:
                await self._asleep(wait, abort)
                attempt += 1
                continue
            elapsed = (time.perf_counter() - started) * 1000
            return HttpResult(status, headers, body, attempt + 1, elapsed, too_long)

    # -- streams ------------------------------------------------------------------------------------------------------
    def open_stream(
        self,
        spec: HttpRequestSpec,
        fmt: StreamFormat,
        *,
        retry: RetryPolicy | None = None,
        abort: AbortSignal | None = None,
        timeout: Any = None,
    ) -> StreamHandle | HttpResult:
        """Open a stream, retrying before the first byte. A non-2xx answer comes back whole as an HttpResult."""
        retry = retry or RetryPolicy()
        client = self._sync_client(spec.url)
        started = time.perf_counter()
        attempt = 0
        while True:
            self._check_abort(abort)
            try:
                response = client.send(self._build(client, spec, timeout), stream=True)
            except httpx2.TransportError as exc:
                if attempt < retry.max_retries and _may_retry(exc):
                    self._sleep(retry.delay(attempt, None, {}, b""), abort)
                    attempt += 1
                    continue
                raise self._conn_error(exc, spec.url, attempt + 1) from None
            headers = dict(response.headers.items())  # O(n): dict(headers) looks each name up again
            if response.status_code >= 300:
                try:
                    body = response.read()
                except httpx2.TransportError as exc:
                    raise self._conn_error(exc, spec.url, attempt + 1) from None
                except httpx2.DecodingError:
                    body = b""
                finally:
                    response.close()
                wait, too_long = retry.plan(attempt, response.status_code, headers, body)
                if wait is not None:
                    self._sleep(wait, abort)
                    attempt += 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                return HttpResult(response.status_code, headers, body, attempt + 1, elapsed, too_long)
            return StreamHandle(response.status_code, headers, attempt + 1, started, response, fmt)

    def stream_batches(self, handle: StreamHandle) -> Generator[list[str | SSEEvent], None, None]:
        """The stream's events, one list per network read (a plain `data:` event as its data string, others as
        SSEEvent); transport failures become ConnectionFailedError / MalformedResponseError; the response is closed
        at the end, on an error and when the caller stops early. The drivers record the raw events and check abort."""
        response = handle.response
        try:
            for items in iter_stream_batches(response, handle.fmt):
                if handle.first_chunk_at is None:
                    handle.first_chunk_at = time.perf_counter()
                yield items
        except httpx2.TransportError as exc:
            raise self._conn_error(exc, str(response.request.url), handle.attempts) from None
        except httpx2.DecodingError as exc:
            raise self._decode_error(handle.status, exc) from None
        finally:
            response.close()

    async def open_stream_async(
        self,
        spec: HttpRequestSpec,
        fmt: StreamFormat,
        *,
        retry: RetryPolicy | None = None,
        abort: AbortSignal | None = None,
        timeout: Any = None,
    ) -> StreamHandle | HttpResult:
        client = self._aclient(spec.url)
        if client is None:
            import asyncio

            return await asyncio.to_thread(self.open_stream, spec, fmt, retry=retry, abort=abort, timeout=timeout)
        retry = retry or RetryPolicy()
        started = time.perf_counter()
        attempt = 0
        while True:
            self._check_abort(abort)
            try:
                response = await client.send(self._build(client, spec, timeout), stream=True)
            except httpx2.TransportError as exc:
                if attempt < retry.max_retries and _may_retry(exc):
                    await self._asleep(retry.delay(attempt, None, {}, b""), abort)
                    attempt += 1
                    continue
                raise self._conn_error(exc, spec.url, attempt + 1) from None
            headers = dict(response.headers.items())  # O(n): dict(headers) looks each name up again
            if response.status_code >= 300:
                try:
                    body = await response.aread()
                except httpx2.TransportError as exc:
                    raise self._conn_error(exc, spec.url, attempt + 1) from None
                except httpx2.DecodingError:
                    body = b""
                finally:
                    await response.aclose()
                wait, too_long = retry.plan(attempt, response.status_code, headers, body)
                if wait is not None:
                    await self._asleep(wait, abort)
                    attempt += 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                return HttpResult(response.status_code, headers, body, attempt + 1, elapsed, too_long)
            return StreamHandle(response.status_code, headers, attempt + 1, started, response, fmt)

    async def astream_batches(self, handle: StreamHandle) -> AsyncGenerator[list[str | SSEEvent], None]:
        """`stream_batches` for the async drivers."""
        response = handle.response
        if not isinstance(response.stream, httpx2.AsyncByteStream):
            # opened through a sync client in a worker thread: pull it in a thread too, one network read at a time
            import asyncio

            it = self.stream_batches(handle)
            sentinel: Any = object()
            while True:
                items = await asyncio.to_thread(next, it, sentinel)
                if items is sentinel:
                    return
                yield items
        try:
            async for items in aiter_stream_batches(response, handle.fmt):
                if handle.first_chunk_at is None:
                    handle.first_chunk_at = time.perf_counter()
                yield items
        except httpx2.TransportError as exc:
            raise self._conn_error(exc, str(response.request.url), handle.attempts) from None
        except httpx2.DecodingError as exc:
            raise self._decode_error(handle.status, exc) from None
        finally:
            await response.aclose()
