"""The provider seam: pure translation between a `ModelCall` and one wire protocol. No I/O here.

A provider builds an `HttpRequestSpec` (so `request_preview()` shows exactly what will be sent), parses a whole response
body into a `ModelResponse`, and hands out a stateful stream parser that turns decoded stream events into our stream
events while accumulating the same `ModelResponse`. Error bodies become `ProviderError` subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic_core import from_json, to_json

from ..errors import ContextLengthError, ProviderError, error_class_for_status
from ..events import ReasoningDeltaEvent, SourceEvent, StreamEvent, TextDeltaEvent, ToolCallDeltaEvent
from ..messages import Message, ReasoningPart, SourcePart, TextPart, ToolCallPart, parts_message
from ..result import FinishReason, Usage, no_usage
from ..settings import ModelSettings, ToolChoice

StreamFormat = Literal["sse", "json-array", "ndjson"]


def loads_json(data: str | bytes) -> Any:
    """Parse JSON from the wire with pydantic-core's parser: the same values as `json.loads` at about a third of
    its cost, which matters once per stream chunk. Raises ValueError on bad JSON, as `json.loads` does."""
    return from_json(data)


@dataclass(slots=True)
class HttpRequestSpec:
    """One HTTP request, fully built. `json` is the body; `stream` says the response is a stream."""

    method: str
    url: str
    headers: dict[str, str]
    json: Any = None
    stream: bool = False
    warnings: list[str] = field(default_factory=list)
    """Settings the provider could not send, said out loud instead of dropped silently."""
    _body: bytes | None = field(default=None, repr=False, compare=False)

    def body_bytes(self) -> bytes:
        """The JSON body as sent, serialised once (the driver masks and previews from the same bytes), by
        pydantic-core: the bytes of `json.dumps(..., ensure_ascii=False, separators=(",", ":"))` (floats aside:
        `1e-7`, not `1e-07`) at a fifth of its cost, which a long history pays on every call."""
        if self._body is None:
            self._body = b"" if self.json is None else to_json(self.json)
        return self._body


@dataclass(slots=True)
class SSEEvent:
    """One decoded server-sent event (or one JSON element of a JSON-array / NDJSON stream, with event=None)."""

    data: str
    event: str | None = None
    id: str | None = None


@dataclass(slots=True)
class ToolDefinition:
    name: str
    description: str
    parameters: dict[str, Any]
    strict: bool | None = None
    provider_metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class ResponseFormat:
    """Structured output requested natively from the provider."""

    schema: dict[str, Any]
    name: str = "output"
    description: str | None = None
    strict: bool = True


@dataclass
class ModelCall:
    """Everything one model request needs, provider-neutral. System messages lead `messages`."""

    model: str
    messages: list[Message]
    tools: list[ToolDefinition] = field(default_factory=list)
    tool_choice: ToolChoice = "auto"
    settings: ModelSettings = field(default_factory=ModelSettings)
    provider_options: dict[str, Any] = field(default_factory=dict)
    response_format: ResponseFormat | None = None
    stream: bool = False


@dataclass
class ModelResponse:
    """One model answer, provider-neutral. `parts` keeps the order the model produced (reasoning, text, tool calls)."""

    parts: list[Any] = field(default_factory=list)
    usage: Usage = field(default_factory=no_usage)
    finish_reason: FinishReason = "unknown"
    raw_finish_reason: str | None = None
    id: str | None = None
    model_id: str | None = None
    created: int | None = None
    provider_metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def reasoning(self) -> list[ReasoningPart]:
        return [p for p in self.parts if isinstance(p, ReasoningPart)]

    @property
    def tool_calls(self) -> list[ToolCallPart]:
        return [p for p in self.parts if isinstance(p, ToolCallPart)]

    @property
    def sources(self) -> list[SourcePart]:
        return [p for p in self.parts if isinstance(p, SourcePart)]

    def message(self) -> Message:
        """The assistant message to append to the conversation (sources are kept out: they are not sent back)."""
        content = [p for p in self.parts if not isinstance(p, SourcePart)]
        return parts_message("assistant", content)


@dataclass
class EmbeddingResponse:
    """One embeddings answer, provider-neutral: a vector per input, in input order."""

    vectors: list[list[float]]
    usage: Usage = field(default_factory=Usage)
    model_id: str | None = None
    provider_metadata: dict[str, Any] = field(default_factory=dict)


class StreamParser(Protocol):
    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        """Consume one decoded event; return the stream events it produced."""
        ...

    def finish(self) -> ModelResponse:
        """The accumulated response once the stream has ended."""
        ...

    @property
    def done(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Capabilities:
    tools: bool = True
    tool_choice_required: bool = True
    streaming: bool = True
    reasoning: bool = False
    structured_output: Literal["native", "tool", "prompt", "none"] = "native"
    images: bool = True
    files: bool = False
    embeddings: bool = False
    sources: bool = False
    list_models: bool = True


@runtime_checkable
class Provider(Protocol):
    """Pure translation for one wire protocol and one model."""

    name: str
    model: str
    capabilities: Capabilities
    stream_format: StreamFormat

    def build_request(self, call: ModelCall) -> HttpRequestSpec: ...

    def parse_response(self, status: int, headers: Mapping[str, str], body: bytes) -> ModelResponse: ...

    def stream_parser(self, call: ModelCall) -> StreamParser: ...

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError: ...

    def secrets(self) -> list[str]: ...

    # Optional, where the API has them (check with hasattr / capabilities):
    #   build_embed_request(inputs: list[str], options: dict) -> HttpRequestSpec
    #   parse_embed_response(status, headers, body) -> EmbeddingResponse
    #   build_list_models_request() -> HttpRequestSpec
    #   parse_list_models(status, headers, body) -> list[str]
    #   retry_delay(status, headers, body) -> float | None   (a delay the error body asks for, e.g. Gemini RetryInfo)


class BaseProvider:
    """Shared plumbing for HTTP providers: key, base URL, extra headers, error classification."""

    name: ClassVar[str] = "base"
    default_base_url: ClassVar[str] = ""
    env_key: ClassVar[tuple[str, ...]] = ()
    capabilities: Capabilities = Capabilities()
    stream_format: StreamFormat = "sse"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.extra_headers = dict(headers or {})

    @property
    def model_string(self) -> str:
        return f"{self.name}:{self.model}"

    def secrets(self) -> list[str]:
        """The key, and the value of every credential-looking extra header (masked wherever they would show)."""
        from ..masking import is_secret_header

        out = [self.api_key] if self.api_key else []
        for name, value in self.extra_headers.items():
            if is_secret_header(name) and value:
                scheme, sep, token = str(value).partition(" ")
                out.append(token if sep and token and scheme.isalpha() else str(value))
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r}, base_url={self.base_url!r})"

    # -- errors ---------------------------------------------------------------------------------------------------
    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        """Generic error parsing for `{"error": {"message", "type", "code"}}` bodies; providers refine it."""
        payload = _loads_or_text(body)
        message, code = _error_fields(payload)
        return make_provider_error(
            status=status,
            message=message or f"HTTP {status}",
            code=code,
            provider=self.name,
            headers=headers,
            raw_body=payload,
        )


_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input is too long",
    "exceeds the maximum",
)


def make_provider_error(
    *,
    status: int,
    message: str,
    code: str | None,
    provider: str,
    headers: Mapping[str, str] | None = None,
    raw_body: Any = None,
) -> ProviderError:
    """The most specific ProviderError for a status, code and message."""
    headers = headers or {}
    request_id = headers.get("x-request-id") or headers.get("request-id") or headers.get("x-goog-request-id") or None
    low = f"{code or ''} {message}".lower()
    context_full = any(marker in low for marker in _CONTEXT_MARKERS)
    cls: type[ProviderError] = ContextLengthError if context_full else error_class_for_status(status)
    retry_after = parse_retry_after(headers)
    return cls(
        message,
        status=status,
        code=code,
        provider=provider,
        request_id=request_id,
        raw_body=raw_body,
        retry_after=retry_after,
    )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                from datetime import UTC, datetime

                seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
            except (TypeError, ValueError):
                continue
        return max(0.0, seconds / 1000 if name == "retry-after-ms" else seconds)
    return None


def _loads_or_text(body: bytes) -> Any:
    try:
        return loads_json(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _error_fields(payload: Any) -> tuple[str | None, str | None]:
    """(message, code) from the common error shapes: {"error": {...}}, [{"error": {...}}], {"message": ...}."""
    if isinstance(payload, list) and payload:
        payload = payload[0]
    if isinstance(payload, dict):
        err = payload.get("error", payload)
        if isinstance(err, str):
            return err, payload.get("code") if isinstance(payload.get("code"), str) else None
        if isinstance(err, dict):
            message = err.get("message") or payload.get("message")
            code = err.get("code") or err.get("type") or err.get("status")
            return (str(message) if message is not None else None), (str(code) if code is not None else None)
    if isinstance(payload, str) and payload.strip():
        return payload.strip()[:500], None
    return None, None


class ResponseAccumulator:
    """Builds a `ModelResponse` from stream deltas and returns the stream events each delta produces.

    Every stream parser maps its wire events onto these calls, so accumulation is written once.

    Text and reasoning deltas of the current part are collected in a list and joined when the part ends (another
    part starts, `break_block()`, `finish()`): appending to a growing string copies it every time. So a part's
    `text` is complete once the accumulator has moved past it; read the response through `finish()`.
    """

    __slots__ = ("_args", "_last", "_pieces", "_tool_index", "response", "step")

    def __init__(self, step: int = 0) -> None:
        self.response = ModelResponse()
        self.step = step
        self._last: Any = None
        self._pieces: list[str] = []
        self._args: dict[Any, list[str]] = {}
        self._tool_index: dict[Any, ToolCallPart] = {}

    def _close(self) -> None:
        """Join the pending deltas into the current part (written directly: parts have no assignment validation)."""
        if self._pieces:
            last = self._last
            last.__dict__["text"] = last.__dict__["text"] + "".join(self._pieces)
            self._pieces = []

    def _start(self, part: Any) -> None:
        if self._pieces:
            self._close()
        self.response.parts.append(part)
        self._last = part

    def text(self, delta: str) -> list[StreamEvent]:
        if not delta:
            return []
        if self._last.__class__ is TextPart:  # the hot path of every stream
            self._pieces.append(delta)
        else:
            self._start(TextPart(text=delta))
        return [TextDeltaEvent(delta, self.step)]

    def reasoning(
        self, delta: str, *, signature: str | None = None, new_block: bool = False, **metadata: Any
    ) -> list[StreamEvent]:
        last = self._last
        if last.__class__ is not ReasoningPart or new_block:
            last = ReasoningPart(text=delta)
            self._start(last)
        elif delta:
            self._pieces.append(delta)
        if signature:
            last.signature = (last.signature or "") + signature
        if metadata:
            last.provider_metadata = {**(last.provider_metadata or {}), **metadata}
        return [ReasoningDeltaEvent(delta, self.step)] if delta else []

    def reasoning_part(self, part: ReasoningPart) -> list[StreamEvent]:
        self._start(part)
        return [ReasoningDeltaEvent(part.text, self.step)] if part.text else []

    def tool_call_start(self, key: Any, tool_call_id: str, tool_name: str, **metadata: Any) -> list[StreamEvent]:
        part = ToolCallPart(tool_call_id=tool_call_id, tool_name=tool_name, args={}, provider_metadata=metadata or None)
        self._tool_index[key] = part
        self._args[key] = []
        self._start(part)
        return []

    def has_tool_call(self, key: Any) -> bool:
        return key in self._tool_index

    def tool_call_args(self, key: Any, delta: str) -> list[StreamEvent]:
        part = self._tool_index[key]
        if part.tool_call_id == "" and not delta:
            return []
        self._args[key].append(delta)
        return [ToolCallDeltaEvent(part.tool_call_id, part.tool_name, delta, self.step)] if delta else []

    def tool_call_update(self, key: Any, *, tool_call_id: str | None = None, tool_name: str | None = None) -> None:
        part = self._tool_index[key]
        if tool_call_id:
            part.tool_call_id = tool_call_id
        if tool_name and tool_name != part.tool_name:  # some proxies repeat the whole name in every chunk
            part.tool_name = part.tool_name + tool_name if part.tool_name else tool_name

    def tool_call(self, part: ToolCallPart) -> list[StreamEvent]:
        """A tool call that arrives whole (Gemini)."""
        self._start(part)
        return []

    def source(self, url: str, title: str | None = None, id: str | None = None, **metadata: Any) -> list[StreamEvent]:
        if any(isinstance(p, SourcePart) and p.url == url for p in self.response.parts):
            return []
        self.response.parts.append(SourcePart(url=url, title=title, id=id, provider_metadata=metadata or None))
        return [SourceEvent(url, title, id, self.step)]

    def source_part(self, part: SourcePart) -> list[StreamEvent]:
        """A source with every detail (a cited document's title, text and location), once."""
        if any(isinstance(p, SourcePart) and p.key() == part.key() for p in self.response.parts):
            return []
        self.response.parts.append(part)
        return [SourceEvent(part.url, part.title, part.id, self.step)]

    def break_block(self) -> None:
        """The next text or reasoning delta starts a new part."""
        self._close()
        self._last = None

    def finish(self) -> ModelResponse:
        self._close()
        for key, part in self._tool_index.items():
            raw = "".join(self._args[key])
            if raw:
                part.args = parse_tool_args(raw)
            elif not part.args:
                part.args = {}
        self._tool_index.clear()
        return self.response


INVALID_JSON_KEY = "__invalid_json__"


def parse_tool_args(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """Tool arguments from the wire. Text that is not a JSON object is kept under INVALID_JSON_KEY, so the loop can
    answer the model with an error tool result instead of crashing."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        value = loads_json(raw)
    except ValueError:
        return {INVALID_JSON_KEY: raw}
    return value if isinstance(value, dict) else {INVALID_JSON_KEY: raw}
