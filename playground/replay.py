"""Record and replay: demos that cannot fail on stage.

Record an agent's wire traffic into a *cassette* (`Agent(..., record="demo.cassette")`, `playground record ...`), then
serve it back with `model="replay:demo.cassette"` (optionally `replay:demo.cassette?speed=4`, or the environment
variable `PLAYGROUND_REPLAY_SPEED`). Both work at the httpx2 transport level, under `providers/transport.py`: a replay
goes through the same transport, provider parser and step loop as a live call, so every panel shows the recorded wire
data, tools run, approvals pause as they did and streams arrive at their recorded pace (or `speed` times faster).

A request that does not match the recording raises `ReplayMismatchError` (a `ProviderError`) naming what changed
(`body.messages[1].content: recorded 'Paris', now 'Rome'`), never a silent wrong answer.

Cassette format (version 1): one UTF-8 JSON object, written one interaction per line so it stays small and diffable:

```
{"format": "playground-cassette", "version": 1,
 "recorded_at": "2026-12-01T15:00:00Z",        # UTC, when recording started
 "model": "openai-chat:gpt-4.1-mini",           # the model string recorded (replay builds this provider, keyless)
 "base_url": "http://127.0.0.1:8000/v1",        # the provider's base URL (credentials masked), or null
 "interactions": [
  {"request": {"method": "POST", "url": "...", "headers": {...}, "body": <JSON value or text>},
   "response": {"status": 200, "headers": {...}, "chunks": [[12.5, "data: {...}\\n\\n"], [40.1, "..."]]}}
 ]}
```

- `chunks` is the response body as received (content-encoding already decoded, so `content-encoding` and
  `content-length` are not kept), each chunk with its arrival time in milliseconds after the request was sent. A whole
  (non-streamed) answer is usually one chunk; a stream is one chunk per server flush (SSE events, NDJSON lines ...).
  A chunk that is not UTF-8 is stored as `{"base64": "..."}` in place of the text.
- Every secret is masked through `playground.masking`: credential headers (Authorization, x-api-key, cookies ...),
  URL credentials, and the provider's key wherever it appears in a URL, header or body. No key is ever written.
- Readers refuse another `format` or a newer `version` with a clear error; version 1 readers ignore unknown keys.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .errors import ConfigurationError, ProviderError
from .masking import is_secret_header, mask_headers, mask_text, mask_value

if TYPE_CHECKING:
    import httpx2

    from .providers.base import HttpRequestSpec

CASSETTE_FORMAT = "playground-cassette"
CASSETTE_VERSION = 1
SPEED_ENV = "PLAYGROUND_REPLAY_SPEED"
_DROPPED_RESPONSE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_MAX_DIFFERENCES = 8


class ReplayMismatchError(ProviderError):
    """A request a cassette has no recording for; `differences` names each changed message or setting."""

    def __init__(self, message: str, *, differences: list[str] | None = None, cassette: str | None = None) -> None:
        super().__init__(message, provider="replay", retryable=False)
        self.differences = list(differences or [])
        self.cassette = cassette


# ----------------------------------------------------------------------------------------------------------------
# The cassette


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Cassette:
    """A recorded session: the model it talked to and every request/response pair, in order."""

    model: str = ""
    base_url: str | None = None
    recorded_at: str = field(default_factory=_now)
    interactions: list[dict[str, Any]] = field(default_factory=list)
    path: str | None = None

    def to_json(self) -> str:
        head = {
            "format": CASSETTE_FORMAT,
            "version": CASSETTE_VERSION,
            "recorded_at": self.recorded_at,
            "model": self.model,
            "base_url": self.base_url,
        }
        lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "interactions": [']
        body = [json.dumps(i, ensure_ascii=False, separators=(",", ":")) for i in self.interactions]
        lines.append(",\n".join(body))
        lines.append("]}")
        return "\n".join(lines) + "\n"

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        target = Path(path or self.path or "")
        if not str(target):
            raise ConfigurationError("record: no cassette path given", field="record")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(target)
        return target

    @classmethod
    def loads(cls, text: str, path: str | None = None) -> Cassette:
        where = path or "the cassette"
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigurationError(
                f"model: {where} is not a cassette (not JSON: {exc}); record one with `playground record` or "
                "Agent(..., record=PATH)",
                field="model",
            ) from None
        if not isinstance(data, dict) or data.get("format") != CASSETTE_FORMAT:
            raise ConfigurationError(
                f"model: {where} is not a playground cassette (no \"format\": \"{CASSETTE_FORMAT}\")", field="model"
            )
        version = data.get("version")
        if not isinstance(version, int) or version > CASSETTE_VERSION:
            raise ConfigurationError(
                f"model: {where} is cassette version {version!r}; this playground reads version {CASSETTE_VERSION} "
                "and older. Upgrade the playground, or record the cassette again.",
                field="model",
            )
        interactions = data.get("interactions")
        if not isinstance(interactions, list) or not all(
            isinstance(i, dict) and isinstance(i.get("request"), dict) and isinstance(i.get("response"), dict)
            for i in interactions
        ):
            raise ConfigurationError(
                f"model: {where} has no valid \"interactions\" list (each needs a request and a response)",
                field="model",
            )
        return cls(
            model=str(data.get("model") or ""),
            base_url=data.get("base_url"),
            recorded_at=str(data.get("recorded_at") or ""),
            interactions=list(interactions),
            path=path,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Cassette:
        p = Path(path).expanduser()
        if not p.is_file():
            raise ConfigurationError(
                f"model: no cassette at {str(p)!r}; record one first: Agent(..., record={str(p)!r}) or "
                f"`playground record {p} ...`",
                field="model",
            )
        return cls.loads(p.read_text(encoding="utf-8"), str(p))


def _chunk_out(data: bytes) -> str | dict[str, str]:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def _chunk_in(value: Any) -> bytes:
    if isinstance(value, dict):
        return base64.b64decode(str(value.get("base64", "")))
    return str(value).encode("utf-8")


def _body_value(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(content).decode("ascii")}


# ----------------------------------------------------------------------------------------------------------------
# Recording


class Recorder:
    """Collects interactions for one cassette file and rewrites it after each one (a crash keeps what came before)."""

    def __init__(self, path: str | os.PathLike[str], *, model: str = "", base_url: str | None = None) -> None:
        self.path = Path(path).expanduser()
        self.cassette = Cassette(model=model, base_url=base_url, path=str(self.path))
        self.secrets: set[str] = set()
        self._lock = threading.Lock()

    def add_secrets(self, secrets: Iterable[str | None]) -> None:
        self.secrets.update(s for s in secrets if s)

    def _mask_chunk(self, chunk: bytes) -> str | dict[str, str]:
        out = _chunk_out(chunk)
        return mask_text(out, self.secrets) if isinstance(out, str) else out

    def add(self, request: httpx2.Request, status: int, headers: list[tuple[str, str]],
            chunks: list[tuple[float, bytes]], complete: bool) -> None:
        secrets = self.secrets
        raw_headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw}
        interaction: dict[str, Any] = {
            "request": {
                "method": request.method,
                "url": mask_text(str(request.url), secrets),
                "headers": mask_headers(raw_headers, secrets),
                "body": mask_value(_body_value(request.content), secrets),
            },
            "response": {
                "status": status,
                "headers": mask_headers(dict(headers), secrets),
                "chunks": [[round(t, 1), self._mask_chunk(c)] for t, c in chunks],
            },
        }
        if not complete:
            interaction["response"]["complete"] = False
        with self._lock:
            self.cassette.interactions.append(interaction)
            self.cassette.save(self.path)


def _kept_headers(response: httpx2.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROPPED_RESPONSE_HEADERS]


def _ms_since(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _recording_transports() -> tuple[type, type]:
    import httpx2

    class SyncRecordingStream(httpx2.SyncByteStream):
        def __init__(self, decoded: httpx2.Response, done: Any, t0: float) -> None:
            self.decoded, self.done, self.t0 = decoded, done, t0
            self.chunks: list[tuple[float, bytes]] = []
            self.complete = False

        def __iter__(self) -> Iterator[bytes]:
            for chunk in self.decoded.iter_bytes():
                self.chunks.append((_ms_since(self.t0), chunk))
                yield chunk
            self.complete = True

        def close(self) -> None:
            if self.done is not None:
                done, self.done = self.done, None
                self.decoded.close()
                done(self.chunks, self.complete)

    class AsyncRecordingStream(httpx2.AsyncByteStream):
        def __init__(self, decoded: httpx2.Response, done: Any, t0: float) -> None:
            self.decoded, self.done, self.t0 = decoded, done, t0
            self.chunks: list[tuple[float, bytes]] = []
            self.complete = False

        async def __aiter__(self) -> AsyncIterator[bytes]:
            async for chunk in self.decoded.aiter_bytes():
                self.chunks.append((_ms_since(self.t0), chunk))
                yield chunk
            self.complete = True

        async def aclose(self) -> None:
            if self.done is not None:
                done, self.done = self.done, None
                await self.decoded.aclose()
                done(self.chunks, self.complete)

    class RecordingTransport(httpx2.BaseTransport):
        """Passes each request to `inner` and records it with its response, chunk by chunk, into a Recorder."""

        def __init__(self, inner: httpx2.BaseTransport, recorder: Recorder) -> None:
            self.inner, self.recorder = inner, recorder

        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            request.read()
            t0 = time.perf_counter()
            response = self.inner.handle_request(request)
            decoded = httpx2.Response(response.status_code, headers=response.headers, stream=response.stream,
                                      request=request)
            kept = _kept_headers(response)

            def done(chunks: list[tuple[float, bytes]], complete: bool) -> None:
                self.recorder.add(request, response.status_code, kept, chunks, complete)

            return httpx2.Response(response.status_code, headers=kept,
                                   stream=SyncRecordingStream(decoded, done, t0), extensions=response.extensions)

        def close(self) -> None:
            self.inner.close()

    class AsyncRecordingTransport(httpx2.AsyncBaseTransport):
        def __init__(self, inner: httpx2.AsyncBaseTransport, recorder: Recorder) -> None:
            self.inner, self.recorder = inner, recorder

        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            await request.aread()
            t0 = time.perf_counter()
            response = await self.inner.handle_async_request(request)
            decoded = httpx2.Response(response.status_code, headers=response.headers, stream=response.stream,
                                      request=request)
            kept = _kept_headers(response)

            def done(chunks: list[tuple[float, bytes]], complete: bool) -> None:
                self.recorder.add(request, response.status_code, kept, chunks, complete)

            return httpx2.Response(response.status_code, headers=kept,
                                   stream=AsyncRecordingStream(decoded, done, t0), extensions=response.extensions)

        async def aclose(self) -> None:
            await self.inner.aclose()

    return RecordingTransport, AsyncRecordingTransport


def recording_clients(
    recorder: Recorder,
    provider: Any,
    model: str,
    client: httpx2.Client | httpx2.AsyncClient | None,
    async_client: httpx2.AsyncClient | None,
) -> tuple[httpx2.Client | None, httpx2.AsyncClient | None]:
    """Clients that send through the given ones (or fresh network clients) and record every exchange."""
    import httpx2

    from .providers.transport import _default_timeout

    recorder.add_secrets(provider.secrets())
    if not recorder.cassette.model:
        recorder.cassette.model = model
        base = getattr(provider, "base_url", None)
        recorder.cassette.base_url = mask_text(base, recorder.secrets) if isinstance(base, str) else None
    sync_cls, async_cls = _recording_transports()
    sync_client = client if isinstance(client, httpx2.Client) else None
    aclient = async_client or (client if isinstance(client, httpx2.AsyncClient) else None)
    out_sync: httpx2.Client | None = None
    out_async: httpx2.AsyncClient | None = None
    if sync_client is not None or aclient is None:
        inner = sync_client._transport if sync_client is not None else httpx2.HTTPTransport()
        hooks = sync_client.event_hooks if sync_client is not None else None  # e.g. the session's attempt counter
        out_sync = httpx2.Client(transport=sync_cls(inner, recorder), timeout=_default_timeout(),
                                 follow_redirects=True, event_hooks=hooks)
    if aclient is not None or sync_client is None:
        ainner = aclient._transport if aclient is not None else httpx2.AsyncHTTPTransport()
        ahooks = aclient.event_hooks if aclient is not None else None
        out_async = httpx2.AsyncClient(transport=async_cls(ainner, recorder), timeout=_default_timeout(),
                                       follow_redirects=True, event_hooks=ahooks)
    return out_sync, out_async


def check_record(record: Any) -> Recorder | None:
    """`Agent(record=...)`: a path (str or PathLike) to write the cassette to, or None."""
    if record is None or record is False:
        return None
    if isinstance(record, Recorder):
        return record
    if not isinstance(record, str | os.PathLike) or not str(record).strip():
        raise ConfigurationError(
            f"record: expected a cassette file path such as 'demo.cassette', got {record!r}", field="record"
        )
    path = Path(str(record)).expanduser()
    if path.is_dir():
        raise ConfigurationError(f"record: {str(path)!r} is a folder; give a file path such as "
                                 f"'{path / 'demo.cassette'}'", field="record")
    return Recorder(path)


# ----------------------------------------------------------------------------------------------------------------
# Replay


def parse_replay_model(name: str) -> tuple[str, float]:
    """`"demo.cassette?speed=4"` -> ("demo.cassette", 4.0). Speed: the query, else PLAYGROUND_REPLAY_SPEED, else 1."""
    path, _, query = name.partition("?")
    speed_text: str | None = os.environ.get(SPEED_ENV) or None
    where = SPEED_ENV
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "speed":
            speed_text, where = value, "replay:...?speed="
        else:
            raise ConfigurationError(
                f"model: unknown replay option {key!r} in 'replay:{name}'; the only option is speed, "
                "e.g. 'replay:demo.cassette?speed=4'",
                field="model",
            )
    speed = 1.0
    if speed_text is not None:
        try:
            speed = float(speed_text)
        except ValueError:
            speed = -1.0
        if not speed > 0:
            raise ConfigurationError(
                f"model: replay speed {speed_text!r} (from {where}) is not a positive number; use 1 for the recorded "
                "pace, 4 for four times faster, inf for no waiting",
                field="model",
            )
    if not path.strip():
        raise ConfigurationError("model: 'replay:' needs a cassette path, e.g. 'replay:demo.cassette'", field="model")
    return path.strip(), speed


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= 90 else text[:87] + "..."


def differences(recorded: Any, now: Any, where: str = "body") -> list[str]:
    """Where two JSON values differ, as `path: recorded X, now Y` lines (first differences first)."""
    out: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if len(out) >= _MAX_DIFFERENCES or a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in list(a) + [k for k in b if k not in a]:
                sub = f"{path}.{k}"
                if k not in b:
                    out.append(f"{sub}: recorded {_short(a[k])}, now not sent")
                elif k not in a:
                    out.append(f"{sub}: not recorded, now {_short(b[k])}")
                else:
                    walk(a[k], b[k], sub)
            return
        if isinstance(a, list) and isinstance(b, list):
            for i in range(min(len(a), len(b))):
                walk(a[i], b[i], f"{path}[{i}]")
            if len(a) != len(b):
                extra = b[len(a):] if len(b) > len(a) else a[len(b):]
                what = "the last one now" if len(b) > len(a) else "the last one recorded"
                out.append(f"{path}: recorded {len(a)} items, now {len(b)} ({what}: {_short(extra[-1])})")
            return
        out.append(f"{path}: recorded {_short(a)}, now {_short(b)}")

    walk(recorded, now, where)
    return out[:_MAX_DIFFERENCES]


def _url_key(url: str) -> tuple[str, str, list[tuple[str, str]]]:
    parts = urlsplit(mask_text(url))
    return parts.path, parts.netloc, sorted(parse_qsl(parts.query, keep_blank_values=True))


def _request_differences(recorded: Mapping[str, Any], method: str, url: str, body: Any) -> list[str]:
    out: list[str] = []
    if str(recorded.get("method", "")).upper() != method.upper():
        out.append(f"method: recorded {recorded.get('method')}, now {method}")
    if _url_key(str(recorded.get("url", ""))) != _url_key(url):
        out.append(f"url: recorded {mask_text(str(recorded.get('url')))}, now {mask_text(url)}")
    out.extend(differences(recorded.get("body"), body))
    return out[:_MAX_DIFFERENCES]


def _replay_transport_cls() -> type:
    import httpx2

    class SyncReplayStream(httpx2.SyncByteStream):
        def __init__(self, chunks: list[Any], speed: float, t0: float) -> None:
            self.chunks, self.speed, self.t0 = chunks, speed, t0

        def __iter__(self) -> Iterator[bytes]:
            for at, chunk in self.chunks:
                wait = self.t0 + float(at) / 1000 / self.speed - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                yield _chunk_in(chunk)

    class AsyncReplayStream(httpx2.AsyncByteStream):
        def __init__(self, chunks: list[Any], speed: float, t0: float) -> None:
            self.chunks, self.speed, self.t0 = chunks, speed, t0

        async def __aiter__(self) -> AsyncIterator[bytes]:
            import asyncio

            for at, chunk in self.chunks:
                wait = self.t0 + float(at) / 1000 / self.speed - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                yield _chunk_in(chunk)

    class ReplayTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
        """Serves a cassette's responses to matching requests, at the recorded pace divided by `speed`."""

        def __init__(self, cassette: Cassette, speed: float = 1.0) -> None:
            self.cassette, self.speed = cassette, speed
            self.used: set[int] = set()
            self._lock = threading.Lock()

        def _find(self, request: httpx2.Request) -> dict[str, Any]:
            body = _body_value(request.content)
            method, url = request.method, str(request.url)
            items = self.cassette.interactions
            with self._lock:
                for round_ in (0, 1):
                    for i, inter in enumerate(items):
                        if i not in self.used and not _request_differences(inter["request"], method, url, body):
                            self.used.add(i)
                            return inter
                    if round_ == 0 and any(not _request_differences(inter["request"], method, url, body)
                                           for inter in items):
                        self.used.clear()  # the whole recording again (a demo shown twice)
                best: tuple[int, int, list[str]] | None = None
                for i, inter in enumerate(items):
                    diff = _request_differences(inter["request"], method, url, body)
                    key = (len(diff) + (0 if i not in self.used else 100), i)
                    if best is None or key < best[:2]:
                        best = (*key, diff)
            name = self.cassette.path or "the cassette"
            if best is None:
                msg = f"Replay: {name} holds no recorded requests; record it again."
                raise ReplayMismatchError(msg, cassette=self.cassette.path)
            diff = best[2]
            lines = "\n  ".join(diff)
            msg = (
                f"Replay: this request does not match the recording in {name} (closest: request {best[1] + 1} "
                f"of {len(items)}, recorded for {self.cassette.model or 'a model'}). What changed:\n  {lines}\n"
                "A replay serves only what was recorded: send the same messages and settings, or record the "
                "cassette again."
            )
            raise ReplayMismatchError(msg, differences=diff, cassette=self.cassette.path)

        def _response(self, inter: Mapping[str, Any], stream: Any) -> httpx2.Response:
            resp = inter["response"]
            headers = [(str(k), str(v)) for k, v in (resp.get("headers") or {}).items()]
            return httpx2.Response(int(resp.get("status", 200)), headers=headers, stream=stream)

        def handle_request(self, request: httpx2.Request) -> httpx2.Response:
            t0 = time.perf_counter()
            request.read()
            inter = self._find(request)
            chunks = inter["response"].get("chunks") or []
            return self._response(inter, SyncReplayStream(chunks, self.speed, t0))

        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            t0 = time.perf_counter()
            await request.aread()
            inter = self._find(request)
            chunks = inter["response"].get("chunks") or []
            return self._response(inter, AsyncReplayStream(chunks, self.speed, t0))

    return ReplayTransport


def replay_transport(cassette: Cassette, speed: float = 1.0) -> Any:
    """An httpx2 transport (sync and async) serving `cassette`: `httpx2.Client(transport=replay_transport(c))`."""
    return _replay_transport_cls()(cassette, speed)


_HIDDEN = frozenset({"build_list_models_request", "parse_list_models"})


class ReplayProvider:
    """`model="replay:demo.cassette[?speed=N]"`: the recorded model's own provider (no key), served by the cassette.

    Everything but the HTTP client is the recorded provider's (translation, parsing, capabilities, prices), so
    the panels of a replay are those of the recorded run.
    """

    is_replay = True
    """Served by its cassette only: an injected HTTP client is never used for it (agent.py)."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> None:
        from .providers.registry import PROVIDERS, split_model_string

        path, speed = parse_replay_model(model)
        cassette = Cassette.load(path)
        if not cassette.model:
            raise ConfigurationError(f"model: {path} names no recorded model; record it again", field="model")
        prefix, name = split_model_string(cassette.model)
        if prefix == "replay":
            raise ConfigurationError(f"model: {path} is a recording of a replay; record the real model", field="model")
        entry = PROVIDERS[prefix]
        import importlib

        cls = getattr(importlib.import_module(entry.module), entry.cls)
        url = cassette.base_url or base_url
        self._inner = cls(name, api_key=None, base_url=url, headers=headers)
        self._cassette = cassette
        self._speed = speed
        self.cassette_path = path
        self.replay_speed = speed
        self._secret_headers = self._recorded_secret_headers()

    def _recorded_secret_headers(self) -> dict[str, str]:
        for inter in self._cassette.interactions:
            found = {k: str(v) for k, v in (inter["request"].get("headers") or {}).items() if is_secret_header(k)}
            if found:
                return found
        return {}

    def __getattr__(self, name: str) -> Any:
        if name in _HIDDEN or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"ReplayProvider({self.cassette_path!r}, recorded={self._cassette.model!r}, speed={self._speed})"

    def secrets(self) -> list[str]:
        return []

    def _with_recorded_headers(self, spec: HttpRequestSpec) -> HttpRequestSpec:
        """Credential headers as recorded (masked), so the raw request panel reads as in the recorded run."""
        if self._secret_headers:
            lower = {k.lower(): k for k in spec.headers}
            for name, value in self._secret_headers.items():
                spec.headers[lower.get(name.lower(), name)] = value
        return spec

    def build_request(self, *args: Any, **kwargs: Any) -> HttpRequestSpec:
        return self._with_recorded_headers(self._inner.build_request(*args, **kwargs))

    def build_embed_request(self, *args: Any, **kwargs: Any) -> HttpRequestSpec:
        return self._with_recorded_headers(self._inner.build_embed_request(*args, **kwargs))

    def default_http_clients(self) -> tuple[httpx2.Client, httpx2.AsyncClient]:
        import httpx2

        transport = replay_transport(self._cassette, self._speed)
        return httpx2.Client(transport=transport), httpx2.AsyncClient(transport=transport)
