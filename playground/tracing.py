"""OpenTelemetry spans for every run, model call, tool call and embedding, after the GenAI semantic conventions.

    invoke_agent {agent}        one per run (a resumed run: one more per resumption, linked to the first part)
      chat {model}              one per model call (step), with request settings, response id/model, usage, cost
      execute_tool {tool}       one per tool run
      await_approval {tool}     the time a suspended run waited for a person
    embeddings {model}          one per embedding call

Spans go to the *global* tracer provider, so a user's own set-up (Jaeger, Phoenix, Langfuse, Logfire, an OTLP
collector) just works. With no provider set nothing is recorded and this module costs one dictionary lookup per run:
it does not even import OpenTelemetry unless something else did, or `OTEL_EXPORTER_OTLP_ENDPOINT` is set (then, with
the `otel` extra installed, an OTLP/HTTP exporter is set up on first use).

The playgrounds (browser, notebook, `playground run`) keep their own traces with no set-up:
`playground_tracer_provider()` gives them a `LocalTracerProvider`, a lean recorder with the same span names, parentage
and attributes that needs no OpenTelemetry SDK; its spans are written to the trace store (playground/store/traces.py:
SQLite under PLAYGROUND_HOME, or PostgreSQL with PLAYGROUND_DATABASE_URL) by a background thread, so a run never
waits for the database.

Message content (inputs, outputs, tool arguments and results) is recorded only when asked for:
`telemetry={"record_inputs": True, "record_outputs": True}` on a call, or the standard environment variable
`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import OptionsError

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

    from .result import EmbeddingResult, GenerationResult, Step

CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
OTLP_ENVS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
SCOPE = "playground"
_MAX_ATTR = 64_000  # longest content attribute kept; the rest is cut with a marker

# our provider prefix -> gen_ai.provider.name (the convention's well-known values where there is one)
PROVIDER_NAMES = {
    "openai": "openai",
    "openai-chat": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "ollama": "ollama",
    "openai-compatible": "openai",
    "demo": "playground.demo",
}

# ----------------------------------------------------------------------------------------------------------------
# Options


@dataclass(slots=True)
class Telemetry:
    """The `telemetry=` option: `is_enabled`, `record_inputs`, `record_outputs`, `function_id`, `metadata`."""

    enabled: bool = True
    record_inputs: bool = False
    record_outputs: bool = False
    function_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


_TELEMETRY_KEYS = {
    "is_enabled": "enabled",
    "isEnabled": "enabled",
    "enabled": "enabled",
    "record_inputs": "record_inputs",
    "recordInputs": "record_inputs",
    "record_outputs": "record_outputs",
    "recordOutputs": "record_outputs",
    "function_id": "function_id",
    "functionId": "function_id",
    "metadata": "metadata",
}


_CAPTURE: dict[str | None, bool] = {}


def capture_from_env() -> bool:
    """True when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT asks for message content on spans (one lookup
    per run; what a value means is worked out once)."""
    raw = os.environ.get(CAPTURE_ENV)
    found = _CAPTURE.get(raw)
    if found is None:
        found = (raw or "").strip().lower() in ("true", "1", "yes", "span_only", "span_and_event")
        if len(_CAPTURE) < 16:
            _CAPTURE[raw] = found
    return found


_DEFAULTS = {False: Telemetry(), True: Telemetry(record_inputs=True, record_outputs=True)}


def parse_telemetry(value: Any) -> Telemetry:
    """Validate `telemetry=`; content capture defaults to the standard environment variable."""
    env = capture_from_env()
    if value is None:
        return _DEFAULTS[env]  # shared, never changed
    if isinstance(value, bool):
        return Telemetry(enabled=value, record_inputs=env, record_outputs=env)
    if not isinstance(value, Mapping):
        raise OptionsError(
            "telemetry: expected a dict such as {'record_inputs': True, 'record_outputs': True}, "
            f"got {type(value).__name__}",
            field="telemetry",
        )
    out = Telemetry(record_inputs=env, record_outputs=env)
    for key, raw in value.items():
        name = _TELEMETRY_KEYS.get(key)
        if name is None:
            raise OptionsError(
                f"telemetry.{key}: unknown key; known keys are is_enabled, record_inputs, record_outputs, "
                "function_id, metadata",
                field="telemetry",
            )
        if name == "metadata":
            if not isinstance(raw, Mapping):
                raise OptionsError("telemetry.metadata: expected a dict", field="telemetry")
            out.metadata = dict(raw)
        elif name == "function_id":
            out.function_id = None if raw is None else str(raw)
        else:
            if not isinstance(raw, bool):
                raise OptionsError(f"telemetry.{key}: expected True or False, got {raw!r}", field="telemetry")
            setattr(out, name, raw)
    return out


@dataclass(slots=True)
class TracingOptions:
    """`tracing_options=`: `metadata` (span attributes), `trace_id` + `parent_span_id` (join an existing trace,
    hex as in W3C traceparent), `tracer_provider` (use this provider instead of the global one)."""

    metadata: dict[str, Any] = field(default_factory=dict)
    trace_id: str | None = None
    parent_span_id: str | None = None
    tracer_provider: Any = None


_TRACING_KEYS = {
    "metadata": "metadata",
    "trace_id": "trace_id",
    "traceId": "trace_id",
    "parent_span_id": "parent_span_id",
    "parentSpanId": "parent_span_id",
    "tracer_provider": "tracer_provider",
    "tracerProvider": "tracer_provider",
}


def parse_tracing_options(value: Any) -> TracingOptions:
    if value is None:
        return TracingOptions()
    if not isinstance(value, Mapping):
        raise OptionsError(
            f"tracing_options: expected a dict (metadata, trace_id, parent_span_id), got {type(value).__name__}",
            field="tracing_options",
        )
    out = TracingOptions()
    for key, raw in value.items():
        name = _TRACING_KEYS.get(key)
        if name is None:
            raise OptionsError(
                f"tracing_options.{key}: unknown key; known keys are metadata, trace_id, parent_span_id, "
                "tracer_provider",
                field="tracing_options",
            )
        if name == "metadata":
            if not isinstance(raw, Mapping):
                raise OptionsError("tracing_options.metadata: expected a dict", field="tracing_options")
            out.metadata = dict(raw)
        elif name in ("trace_id", "parent_span_id"):
            width = 32 if name == "trace_id" else 16
            text = str(raw or "").lower()
            if len(text) != width or any(c not in "0123456789abcdef" for c in text) or int(text, 16) == 0:
                raise OptionsError(
                    f"tracing_options.{key}: expected {width} hex digits (not all zero), got {raw!r}",
                    field="tracing_options",
                )
            setattr(out, name, text)
        else:
            out.tracer_provider = raw
    if out.parent_span_id and not out.trace_id:
        raise OptionsError("tracing_options.parent_span_id needs trace_id too", field="tracing_options")
    return out



class _OtelApi:
    """The OpenTelemetry API names this module uses, imported once on first use (an import statement inside a hot
    function costs microseconds on every call)."""

    def __init__(self) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace import (
            Link,
            NonRecordingSpan,
            SpanContext,
            SpanKind,
            Status,
            StatusCode,
            TraceFlags,
        )

        self.context = context
        self.trace = trace
        self.Link = Link
        self.NonRecordingSpan = NonRecordingSpan
        self.SpanContext = SpanContext
        self.SpanKind = SpanKind
        self.Status = Status
        self.StatusCode = StatusCode
        self.TraceFlags = TraceFlags
        self.SAMPLED = TraceFlags(TraceFlags.SAMPLED)
        self.kinds = {"CLIENT": SpanKind.CLIENT, "INTERNAL": SpanKind.INTERNAL}


_api: _OtelApi | None = None


def _otel() -> _OtelApi:
    global _api
    if _api is None:
        _api = _OtelApi()
    return _api


# ----------------------------------------------------------------------------------------------------------------
# The playground's own recorder: lean spans written to the trace store off the hot path


_default_store: Any = None


class LocalTracerProvider:
    """The playgrounds' tracer provider when no OpenTelemetry set-up exists: runs given it
    (`tracing_options={"tracer_provider": provider}`) record `LocalSpan`s, which a background writer puts in the
    trace store (`playground.store.traces.default_trace_store()`, or `store`). No OpenTelemetry SDK involved: a span
    costs a few microseconds, and the run never waits for the database."""

    def __init__(self, store: Any = None) -> None:
        self._store = store

    def __repr__(self) -> str:
        return f"LocalTracerProvider({self._store!r})" if self._store is not None else "LocalTracerProvider()"

    def store(self) -> Any:
        """Where this provider's spans go: its own store, else the configured one (read from the environment now)."""
        if self._store is not None:
            return self._store
        global _default_store
        if _default_store is None:
            from .store.traces import default_trace_store

            _default_store = default_trace_store
        return _default_store()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Write every span recorded so far."""
        from .store.traces import writer

        writer().flush()
        return True

    def shutdown(self) -> None:
        self.force_flush()


_rand = None


def _new_id(bits: int) -> str:
    global _rand
    if _rand is None:
        import random

        _rand = random.getrandbits
    return format(_rand(bits) or 1, "032x" if bits == 128 else "016x")


_writer_put: Any = None


def _put(store: Any, span: Any) -> None:
    global _writer_put
    if _writer_put is None:
        from .store.traces import writer

        _writer_put = writer().put
    _writer_put(store, span)


_to_json: Any = None


def _load_to_json() -> Any:
    global _to_json
    from .store.traces import to_json

    _to_json = to_json
    return to_json


class LocalSpan:
    """One span of the playground's own recorder (the shape of an OpenTelemetry span for the calls a tool makes on
    `ctx.span`: set_attribute(s), add_event, record_exception, set_status, update_name, is_recording, end,
    get_span_context). Ids are hex text; it is written to the trace store when it ends."""

    __slots__ = ("_store", "attributes", "end_ns", "events", "kind", "links", "message", "name", "parent_id",
                 "span_id", "start_ns", "status", "trace_id")

    def __init__(self, store: Any, name: str, kind: str, trace_id: str, parent_id: str | None,
                 attributes: dict[str, Any], links: list[dict[str, Any]] | None = None,
                 start_ns: int | None = None) -> None:
        self._store = store
        self.name = name
        self.kind = kind
        self.trace_id = trace_id
        self.span_id = _new_id(64)
        self.parent_id = parent_id
        self.start_ns = start_ns or time.time_ns()
        self.end_ns = 0
        self.attributes = attributes
        self.events: list[dict[str, Any]] | None = None
        self.links = links
        self.status = "UNSET"
        self.message: str | None = None

    def __repr__(self) -> str:
        return f"LocalSpan({self.name!r}, trace_id={self.trace_id!r}, span_id={self.span_id!r})"

    def is_recording(self) -> bool:
        return not self.end_ns

    def set_attribute(self, key: str, value: Any) -> None:
        if not self.end_ns:
            self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if not self.end_ns:
            self.attributes.update(attributes)

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None,
                  timestamp: int | None = None) -> None:
        if not self.end_ns:
            if self.events is None:
                self.events = []
            self.events.append({"name": name, "time_ns": timestamp or time.time_ns(),
                                "attributes": dict(attributes or {})})

    def record_exception(self, exception: BaseException, attributes: Mapping[str, Any] | None = None,
                         timestamp: int | None = None, escaped: bool = False) -> None:
        import traceback

        attrs = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception)[:2000],
            "exception.stacktrace": "".join(traceback.format_exception(exception))[-8000:],
            "exception.escaped": str(escaped),
            **(attributes or {}),
        }
        self.add_event("exception", attrs, timestamp)

    def set_status(self, status: Any, description: str | None = None) -> None:
        """`status`: an OpenTelemetry Status or StatusCode, or "OK"/"ERROR"/"UNSET"."""
        if self.end_ns:
            return
        code = getattr(status, "status_code", status)
        self.status = str(getattr(code, "name", code)).upper()
        self.message = description if description is not None else getattr(status, "description", None)

    def update_name(self, name: str) -> None:
        if not self.end_ns:
            self.name = name

    def get_span_context(self) -> Any:
        """An OpenTelemetry SpanContext with this span's ids (to parent spans of your own on it)."""
        ot = _otel()
        return ot.SpanContext(int(self.trace_id, 16), int(self.span_id, 16), False, ot.SAMPLED)

    def end(self, end_time: int | None = None) -> None:
        if self.end_ns:
            return
        self.end_ns = max(end_time or time.time_ns(), self.start_ns)
        _put(self._store, self)

    def fail(self, exc: BaseException) -> None:
        """Mark the span failed as the conventions say (error.type, status ERROR, an exception event)."""
        self.set_attribute("error.type", _error_type(exc))
        self.status, self.message = "ERROR", str(exc)[:500]
        self.record_exception(exc)

    def as_values(self) -> tuple[Any, ...]:
        """The span as the trace stores' column values (worked out on the writer thread, not in the run)."""
        to_json = _to_json or _load_to_json()
        return (
            self.span_id, self.trace_id, self.parent_id, self.name, self.kind, self.start_ns, self.end_ns,
            self.status, self.message, to_json(self.attributes, "{}"), to_json(self.events, "[]"),
            to_json(self.links, "[]"),
        )


# ----------------------------------------------------------------------------------------------------------------
# The tracer


_cache_lock = threading.Lock()
_cached: tuple[Any, Any] | None = None  # (provider, tracer or None)
_env_configured = False


try:  # os.environ's own dict, keyed as it stores them: a plain lookup instead of a KeyError raised per name
    _ENV_DATA: Any = os.environ._data  # type: ignore[attr-defined]
    _OTLP_KEYS: tuple[Any, ...] = tuple(os.environ.encodekey(e) for e in OTLP_ENVS)  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - another Python's os.environ
    _ENV_DATA, _OTLP_KEYS = os.environ, OTLP_ENVS


def _otel_in_use() -> bool:
    """Whether anything could have set a tracer provider: OpenTelemetry imported, or an OTLP endpoint set (read at
    every run: a variable set after import counts)."""
    return "opentelemetry.trace" in sys.modules or not _ENV_DATA.keys().isdisjoint(_OTLP_KEYS)


def get_tracer(provider: Any = None) -> Tracer | None:
    """The tracer for `provider` (default: the global one); None when spans would not be recorded anywhere."""
    global _cached
    if provider is None and not _otel_in_use():
        return None
    trace = _otel().trace
    if provider is None:
        provider = trace.get_tracer_provider()
        if isinstance(provider, trace.ProxyTracerProvider) and _configure_from_env():
            provider = trace.get_tracer_provider()
    cached = _cached
    if cached is not None and cached[0] is provider:
        return cached[1]
    tracer: Any = None
    if not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        from . import __version__

        tracer = provider.get_tracer(SCOPE, __version__)
        if isinstance(tracer, trace.NoOpTracer):
            tracer = None
    with _cache_lock:
        _cached = (provider, tracer)
    return tracer


def _configure_from_env() -> bool:
    """With no provider set and OTEL_EXPORTER_OTLP_ENDPOINT in the environment, set up the SDK with an OTLP/HTTP
    exporter once (needs the `otel` extra). True when a provider was set."""
    global _env_configured
    if _env_configured or not any(os.environ.get(e) for e in OTLP_ENVS):
        return False
    with _cache_lock:
        if _env_configured:
            return False
        _env_configured = True
        try:
            from opentelemetry import trace
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            import warnings

            warnings.warn(
                "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK/exporter is not installed: "
                "pip install 'agent-playground[otel]' to export traces",
                stacklevel=3,
            )
            return False
        service = os.environ.get("OTEL_SERVICE_NAME") or "agent-playground"
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        return True


def _hex_trace(span: Any) -> str:
    if type(span) is LocalSpan:
        return span.trace_id
    return format(span.get_span_context().trace_id, "032x")


def _hex_span(span: Any) -> str:
    if type(span) is LocalSpan:
        return span.span_id
    return format(span.get_span_context().span_id, "016x")


def _error_type(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status >= 400:
        return str(status)
    if isinstance(code, str) and code and len(code) < 64:
        return code
    return type(exc).__qualname__


def _fail(span: Any, exc: BaseException) -> None:
    if type(span) is LocalSpan:
        span.fail(exc)
        return
    ot = _otel()
    span.set_attribute("error.type", _error_type(exc))
    span.set_status(ot.Status(ot.StatusCode.ERROR, str(exc)[:500]))
    span.record_exception(exc)


def _json(value: Any) -> str:
    from .result import jsonable

    text = json.dumps(jsonable(value), ensure_ascii=False)
    return text if len(text) <= _MAX_ATTR else text[:_MAX_ATTR] + "…(truncated)"


def _attr_value(value: Any) -> Any:
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return _json(value)


# ----------------------------------------------------------------------------------------------------------------
# Messages in the conventions' JSON shape (only when content capture is on)


def _parts(message: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in message.content:
        t = p.type
        if t == "text":
            out.append({"type": "text", "content": p.text})
        elif t == "reasoning":
            out.append({"type": "reasoning", "content": p.text})
        elif t == "tool-call":
            out.append({"type": "tool_call", "id": p.tool_call_id, "name": p.tool_name, "arguments": p.args})
        elif t == "tool-result":
            out.append({"type": "tool_call_response", "id": p.tool_call_id, "response": p.result})
        elif t in ("image", "file"):
            out.append({"type": "uri" if p.url else "blob", "modality": t, "uri": p.url, "mime_type": p.media_type})
    return out


def input_messages(messages: list[Any]) -> tuple[str, str | None]:
    """(gen_ai.input.messages, gen_ai.system_instructions) as JSON text."""
    system = [{"type": "text", "content": m.text} for m in messages if m.role == "system"]
    rest = [{"role": m.role, "parts": _parts(m)} for m in messages if m.role != "system"]
    return _json(rest), (_json(system) if system else None)


# ----------------------------------------------------------------------------------------------------------------
# A run's spans


_SETTING_ATTRS = (
    ("temperature", "gen_ai.request.temperature"),
    ("max_output_tokens", "gen_ai.request.max_tokens"),
    ("top_p", "gen_ai.request.top_p"),
    ("top_k", "gen_ai.request.top_k"),
    ("presence_penalty", "gen_ai.request.presence_penalty"),
    ("frequency_penalty", "gen_ai.request.frequency_penalty"),
    ("stop_sequences", "gen_ai.request.stop_sequences"),
    ("seed", "gen_ai.request.seed"),
)


def provider_name(provider: Any) -> str:
    name = str(getattr(provider, "name", "") or "")
    return PROVIDER_NAMES.get(name, name or "unknown")


_servers: dict[str, dict[str, Any]] = {}


def _server(url: str) -> dict[str, Any]:
    """server.address / server.port of a request URL (remembered per base: the same few URLs every call)."""
    found = _servers.get(url)
    if found is not None:
        return found
    from urllib.parse import urlsplit

    out: dict[str, Any] = {}
    try:
        parts = urlsplit(url)
        if parts.hostname:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            out = {"server.address": parts.hostname, "server.port": port}
    except ValueError:
        pass
    if len(_servers) < 256:
        _servers[url] = out
    return out


def _cost_attrs(attrs: dict[str, Any], cost: Any) -> None:
    if cost is None:
        return
    attrs["playground.cost.total"] = float(cost.total)
    attrs["playground.cost.currency"] = cost.currency


class RunTrace:
    """The spans of one run (or one resumed part of it) on an OpenTelemetry tracer. Made by `start_run`; the loop
    calls the methods. `LocalRunTrace` is the same on the playground's own recorder."""

    def __init__(self, tracer: Tracer, span: Span, telemetry: Telemetry, agent: str) -> None:
        self.tracer: Any = tracer
        self.span: Any = span
        self.telemetry = telemetry
        self.agent = agent
        self.context: Context | None = _otel().trace.set_span_in_context(span)
        self.trace_id = _hex_trace(span)
        self.span_id = _hex_span(span)
        self._ended = False

    def _span(self, name: str, kind: str, attrs: dict[str, Any], parent: Any = None,
              start_time: int | None = None) -> Any:
        """A child span of the run (or of `parent`, a context), started now (or at `start_time`, ns)."""
        return self.tracer.start_span(name, self.context if parent is None else parent, _otel().kinds[kind],
                                      attributes=attrs, start_time=start_time)

    # -- model calls ------------------------------------------------------------------------------------------------
    def start_chat(self, provider: Any, call: Any, spec: Any, step_no: int) -> Span:
        model = str(getattr(provider, "model", call.model))
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider_name(provider),
            "gen_ai.request.model": model,
            "playground.step": step_no,
        }
        if call.stream:
            attrs["gen_ai.request.stream"] = True
        settings = call.settings
        for name, attr in _SETTING_ATTRS:
            value = getattr(settings, name, None)
            if value is not None:
                attrs[attr] = list(value) if isinstance(value, list) else value
        attrs.update(_server(spec.url))
        if call.tools:
            attrs["gen_ai.tool.definitions"] = _json(
                [{"type": "function", "name": t.name, "description": t.description} for t in call.tools]
            )
        if self.telemetry.record_inputs:
            messages, system = input_messages(call.messages)
            attrs["gen_ai.input.messages"] = messages
            if system:
                attrs["gen_ai.system_instructions"] = system
        return self._span(f"chat {model}", "CLIENT", attrs)

    def end_chat(self, span: Any, step: Step, response: Any) -> None:
        recording = span.is_recording()
        step.span_id = _hex_span(span) if recording else None
        if recording:
            usage = step.usage
            attrs: dict[str, Any] = {
                "gen_ai.usage.input_tokens": usage.input_tokens,
                "gen_ai.usage.output_tokens": usage.output_tokens,
                "gen_ai.response.finish_reasons": (step.raw_finish_reason or step.finish_reason,),
            }
            if usage.cached_input_tokens:
                attrs["gen_ai.usage.cache_read.input_tokens"] = usage.cached_input_tokens
            if usage.cache_creation_input_tokens:
                attrs["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_creation_input_tokens
            if usage.reasoning_tokens:
                attrs["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_tokens
            if step.response.id:
                attrs["gen_ai.response.id"] = step.response.id
            if step.response.model_id:
                attrs["gen_ai.response.model"] = step.response.model_id
            if step.time_to_first_chunk_ms is not None:
                attrs["gen_ai.response.time_to_first_chunk"] = step.time_to_first_chunk_ms / 1000
            if step.attempts > 1:
                attrs["playground.attempts"] = step.attempts
            _cost_attrs(attrs, step.cost)
            if self.telemetry.record_outputs and response is not None:
                out = {"role": "assistant", "parts": _parts(response.message()), "finish_reason": step.finish_reason}
                attrs["gen_ai.output.messages"] = _json([out])
            span.set_attributes(attrs)
        span.end()

    def fail_chat(self, span: Any, exc: BaseException) -> None:
        if isinstance(exc, GeneratorExit):
            span.set_attribute("playground.cancelled", True)
        else:
            _fail(span, exc)
        span.end()

    # -- tools ------------------------------------------------------------------------------------------------------
    def traced_tool(self, tool: Any, call: Any) -> Any:
        return TracedTool(tool, self, call)

    def approval_waits(self, state: Any, suspended_ns: int | None, parent: Any) -> None:
        """One `await_approval {tool}` span per call the suspended run waited on, from suspension until now (a
        child of the suspended part, so the waterfall reads: run, wait, resumed run)."""
        if suspended_ns is None:
            return
        now = time.time_ns()
        for p in state.pending:
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "await_approval",
                "gen_ai.tool.name": p.tool_name,
                "gen_ai.tool.call.id": p.tool_call_id,
                "playground.approval.decision": p.decision or "undecided",
            }
            if p.reason:
                attrs["playground.approval.reason"] = p.reason
            span = self._span(f"await_approval {p.tool_name}", "INTERNAL", attrs, parent, min(suspended_ns, now))
            span.end(end_time=now)

    # -- the run ----------------------------------------------------------------------------------------------------
    def suspending(self, state: Any) -> None:
        """Keep what a resumption needs to continue this trace (written with the run state)."""
        first = state.trace or {}
        state.trace = {
            "trace_id": self.trace_id,
            "first_span_id": first.get("first_span_id") or self.span_id,
            "span_id": self.span_id,
            "suspended_ns": time.time_ns(),
        }

    def end(self, result: GenerationResult) -> None:
        if self._ended:
            return
        self._ended = True
        span = self.span
        if span.is_recording():
            usage = result.usage
            attrs: dict[str, Any] = {
                "gen_ai.usage.input_tokens": usage.input_tokens,
                "gen_ai.usage.output_tokens": usage.output_tokens,
                "gen_ai.response.finish_reasons": (result.finish_reason,),
                "playground.steps": len(result.steps),
            }
            if result.response.model_id:
                attrs["gen_ai.response.model"] = result.response.model_id
            _cost_attrs(attrs, result.cost)
            if result.tripwire is not None:
                attrs["playground.tripwire.reason"] = result.tripwire.reason
            if self.telemetry.record_outputs:
                attrs["gen_ai.output.messages"] = _json([
                    {"role": m.role, "parts": _parts(m)} for m in result.response.messages
                ])
            span.set_attributes(attrs)
        span.end()

    def fail(self, exc: BaseException) -> None:
        if self._ended:
            return
        self._ended = True
        if isinstance(exc, GeneratorExit):
            self.span.set_attribute("playground.cancelled", True)
        else:
            _fail(self.span, exc)
        self.span.end()


class LocalRunTrace(RunTrace):
    """The spans of one run on the playground's own recorder (`LocalTracerProvider`): `LocalSpan`s, parented by id."""

    def __init__(self, span: LocalSpan, telemetry: Telemetry, agent: str) -> None:
        self.tracer = None
        self.span = span
        self.telemetry = telemetry
        self.agent = agent
        self.context = None
        self.trace_id = span.trace_id
        self.span_id = span.span_id
        self._ended = False

    def _span(self, name: str, kind: str, attrs: dict[str, Any], parent: Any = None,
              start_time: int | None = None) -> Any:
        """`parent`: (trace id, span id) hex, default the run's span."""
        trace_id, parent_id = (self.trace_id, self.span_id) if parent is None else parent
        return LocalSpan(self.span._store, name, kind, trace_id, parent_id, attrs, start_ns=start_time)


class TracedTool:
    """A tool whose runs are `execute_tool {name}` spans (the span is current while the tool runs, so spans the
    tool makes itself nest under it). Everything else is the tool's own."""

    def __init__(self, tool: Any, trace: RunTrace, call: Any) -> None:
        self._tool = tool
        self._trace = trace
        self._call = call

    def __getattr__(self, name: str) -> Any:
        if name in ("_tool", "_trace", "_call") or name.startswith("__"):
            raise AttributeError(name)  # not set yet (a copy being made): never recurse
        return getattr(self._tool, name)

    def _start(self) -> Span:
        tool = self._tool
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool.name,
            "gen_ai.tool.call.id": self._call.tool_call_id,
            "gen_ai.tool.type": "function",
        }
        if tool.description:
            attrs["gen_ai.tool.description"] = tool.description[:1000]
        if self._trace.telemetry.record_inputs:
            attrs["gen_ai.tool.call.arguments"] = _json(self._call.args)
        return self._trace._span(f"execute_tool {tool.name}", "INTERNAL", attrs)

    def _done(self, span: Any, value: Any) -> None:
        if self._trace.telemetry.record_outputs and span.is_recording():
            span.set_attribute("gen_ai.tool.call.result", _json(value))
        span.end()

    def run(self, args: Mapping[str, Any], ctx: Any = None, *, validated: bool = False) -> Any:
        span = self._start()
        if ctx is not None:
            ctx.span = span
        try:
            if self._trace.context is None:  # the playground's own recorder: nothing to make current
                value = self._tool.run(args, ctx, validated=validated)
            else:
                with _otel().trace.use_span(span, end_on_exit=False, record_exception=False,
                                            set_status_on_exception=False):
                    value = self._tool.run(args, ctx, validated=validated)
        except BaseException as exc:
            _fail(span, exc)
            span.end()
            raise
        self._done(span, value)
        return value

    async def arun(self, args: Mapping[str, Any], ctx: Any = None, *, validated: bool = False) -> Any:
        span = self._start()
        if ctx is not None:
            ctx.span = span
        try:
            if self._trace.context is None:
                value = await self._tool.arun(args, ctx, validated=validated)
            else:
                with _otel().trace.use_span(span, end_on_exit=False, record_exception=False,
                                            set_status_on_exception=False):
                    value = await self._tool.arun(args, ctx, validated=validated)
        except BaseException as exc:
            _fail(span, exc)
            span.end()
            raise
        self._done(span, value)
        return value


def _parent_context(options: Any, topts: TracingOptions, state: Any) -> tuple[Any, list[Any]]:
    """(the parent context, links) of a run's span: a resumption continues its own trace (linked to the first
    part); else `tracing_context`, else `tracing_options` trace_id/parent_span_id, else the current context."""
    ot = _otel()
    trace, Link, NonRecordingSpan, SpanContext, TraceFlags = (
        ot.trace, ot.Link, ot.NonRecordingSpan, ot.SpanContext, ot.TraceFlags
    )
    stored = getattr(state, "trace", None) or {}
    if stored.get("trace_id") and stored.get("span_id"):
        trace_id = int(stored["trace_id"], 16)
        last = SpanContext(trace_id, int(stored["span_id"], 16), True, TraceFlags(TraceFlags.SAMPLED))
        first_id = int(stored.get("first_span_id") or stored["span_id"], 16)
        first = SpanContext(trace_id, first_id, True, TraceFlags(TraceFlags.SAMPLED))
        link = Link(first, {"playground.link": "resumed run"})
        return trace.set_span_in_context(NonRecordingSpan(last)), [link]
    parent = getattr(options, "tracing_context", None)
    if parent is not None:
        if type(parent) is LocalSpan:  # a span of the playground's own recorder (a tool's ctx.span)
            parent = parent.get_span_context()
        if isinstance(parent, trace.Span):
            return trace.set_span_in_context(parent), []
        if isinstance(parent, SpanContext):
            return trace.set_span_in_context(NonRecordingSpan(parent)), []
        if isinstance(parent, Mapping):  # an OpenTelemetry Context (a mapping of context keys)
            return parent, []
        raise OptionsError(
            f"tracing_context: expected an OpenTelemetry Span, SpanContext or Context, got {type(parent).__name__}",
            field="tracing_context",
        )
    if topts.trace_id:
        span_id = int(topts.parent_span_id, 16) if topts.parent_span_id else None
        if span_id is None:
            # a trace to join but no parent: the run's span is a root of that trace (a made-up remote parent id)
            import secrets

            span_id = int.from_bytes(secrets.token_bytes(8), "big") or 1
        ctx = SpanContext(int(topts.trace_id, 16), span_id, True, TraceFlags(TraceFlags.SAMPLED))
        return trace.set_span_in_context(NonRecordingSpan(ctx)), []
    return ot.context.get_current(), []


def _local_parent(options: Any, topts: TracingOptions, state: Any) -> tuple[str, str | None, list[dict[str, Any]]]:
    """(trace id, parent span id, links) of a run's span on the playground's own recorder, chosen as
    `_parent_context` chooses for OpenTelemetry: a resumption continues its trace (linked to the first part); else
    `tracing_context`, else `tracing_options` trace_id/parent_span_id, else a current OpenTelemetry span, else a new
    trace."""
    stored = getattr(state, "trace", None) or {}
    if stored.get("trace_id") and stored.get("span_id"):
        first = stored.get("first_span_id") or stored["span_id"]
        return stored["trace_id"], stored["span_id"], [{"trace_id": stored["trace_id"], "span_id": first}]
    parent = getattr(options, "tracing_context", None)
    if type(parent) is LocalSpan:
        return parent.trace_id, parent.span_id, []
    if parent is not None:
        ot = _otel()
        if isinstance(parent, ot.trace.Span):
            ctx = parent.get_span_context()
        elif isinstance(parent, ot.SpanContext):
            ctx = parent
        elif isinstance(parent, Mapping):
            ctx = ot.trace.get_current_span(parent).get_span_context()  # type: ignore[arg-type]
        else:
            raise OptionsError(
                "tracing_context: expected an OpenTelemetry Span, SpanContext or Context, got "
                f"{type(parent).__name__}",
                field="tracing_context",
            )
        if ctx.is_valid:
            return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), []
    elif topts.trace_id:
        return topts.trace_id, topts.parent_span_id, []
    elif "opentelemetry.trace" in sys.modules:  # a span of the caller's (a request handler's, say) is current
        ctx = _otel().trace.get_current_span().get_span_context()
        if ctx.is_valid:
            return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), []
    return _new_id(128), None, []


def _run_attrs(setup: Any, state: Any, telemetry: Telemetry, topts: TracingOptions, resume: bool,
               agent: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": agent,
        "gen_ai.request.model": setup.model,
        "playground.run.id": state.run_id,
    }
    provider_prefix = setup.model.split(":", 1)[0] if ":" in setup.model else setup.model
    attrs["gen_ai.provider.name"] = PROVIDER_NAMES.get(provider_prefix, provider_prefix)
    if resume:
        attrs["playground.resumed"] = True
    if telemetry.function_id:
        attrs["playground.function_id"] = telemetry.function_id
    if telemetry.metadata or topts.metadata:
        for key, value in {**telemetry.metadata, **topts.metadata}.items():
            attrs[f"playground.metadata.{key}"] = _attr_value(value)
    if telemetry.record_inputs and not resume:
        messages, system = input_messages([*state.system, *state.context, *state.messages])
        attrs["gen_ai.input.messages"] = messages
        if system:
            attrs["gen_ai.system_instructions"] = system
    return attrs


def may_trace(options: Any) -> bool:
    """Whether a run with these options could record a span: tracing options or a parent span were given, or
    OpenTelemetry is in use. False is the common case: the loop then runs without the span's generator around it."""
    return (getattr(options, "tracing_options", None) is not None
            or getattr(options, "tracing_context", None) is not None or _otel_in_use())


def start_run(setup: Any, state: Any, *, resume: bool = False) -> RunTrace | None:
    """Start the `invoke_agent` span of a run (or of its resumption). None when tracing is off."""
    options = setup.options
    topts_raw = getattr(options, "tracing_options", None)
    if not may_trace(options):
        return None  # the common case with no OpenTelemetry anywhere: nothing imported, nothing made
    telemetry = parse_telemetry(getattr(options, "telemetry", None))
    if not telemetry.enabled:
        return None
    topts = parse_tracing_options(topts_raw)
    agent = setup.agent_name or "agent"
    provider = topts.tracer_provider
    if type(provider) is LocalTracerProvider:  # the playgrounds' own traces: no OpenTelemetry SDK
        trace_id, parent_id, local_links = _local_parent(options, topts, state)
        attrs = _run_attrs(setup, state, telemetry, topts, resume, agent)
        span = LocalSpan(provider.store(), f"invoke_agent {agent}", "INTERNAL", trace_id, parent_id, attrs,
                         local_links or None)
        local = LocalRunTrace(span, telemetry, agent)
        if resume:
            stored = getattr(state, "trace", None) or {}
            local.approval_waits(state, stored.get("suspended_ns"), (trace_id, parent_id))
        return local
    tracer = get_tracer(provider)
    if tracer is None:
        return None
    parent, links = _parent_context(options, topts, state)
    attrs = _run_attrs(setup, state, telemetry, topts, resume, agent)
    span = tracer.start_span(
        f"invoke_agent {agent}", parent, _otel().SpanKind.INTERNAL, attributes=attrs, links=links or None
    )
    if not span.is_recording():
        span.end()
        return None
    run = RunTrace(tracer, span, telemetry, agent)
    if resume:
        stored = getattr(state, "trace", None) or {}
        run.approval_waits(state, stored.get("suspended_ns"), parent)
    return run


def traced_loop(make: Callable[[], Any], setup: Any, state: Any, *, resume: bool = False) -> Any:
    """Run the loop generator `make()` inside the run's span (a generator too: `yield from traced_loop(...)`)."""
    run = start_run(setup, state, resume=resume)
    if run is None:
        return (yield from make())
    setup.trace = run
    try:
        result = yield from make()
    except BaseException as exc:
        run.fail(exc)
        raise
    run.end(result)
    return result


# ----------------------------------------------------------------------------------------------------------------
# Embeddings


class EmbedSpan:
    """The `embeddings {model}` span of one embedding call (a no-op object when tracing is off)."""

    def __init__(self, provider: Any, inputs: list[str], options: Mapping[str, Any]) -> None:
        self.span: Any = None
        if not _otel_in_use() and "tracing_options" not in options and "tracing_context" not in options:
            return
        telemetry = parse_telemetry(options.get("telemetry"))
        if not telemetry.enabled:
            return
        topts = parse_tracing_options(options.get("tracing_options"))
        local = type(topts.tracer_provider) is LocalTracerProvider
        tracer = None if local else get_tracer(topts.tracer_provider)
        if tracer is None and not local:
            return

        class _Opts:
            tracing_context = options.get("tracing_context")

        model = str(getattr(provider, "model", ""))
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.provider.name": provider_name(provider),
            "gen_ai.request.model": model,
            "playground.inputs": len(inputs),
        }
        for key, value in topts.metadata.items():
            attrs[f"playground.metadata.{key}"] = _attr_value(value)
        if telemetry.record_inputs:
            attrs["gen_ai.input.messages"] = _json([{"role": "user", "parts": [{"type": "text", "content": t}]}
                                                    for t in inputs])
        if local:
            trace_id, parent_id, _ = _local_parent(_Opts(), topts, None)
            self.span = LocalSpan(topts.tracer_provider.store(), f"embeddings {model}", "CLIENT", trace_id,
                                  parent_id, attrs)
            return
        assert tracer is not None
        parent, _ = _parent_context(_Opts(), topts, None)
        span = tracer.start_span(f"embeddings {model}", parent, _otel().kinds["CLIENT"], attributes=attrs)
        self.span = span if span.is_recording() else None
        if self.span is None:
            span.end()

    def end(self, result: EmbeddingResult) -> None:
        span = self.span
        if span is None:
            return
        span.set_attribute("gen_ai.usage.input_tokens", result.usage.input_tokens)
        if result.model:
            span.set_attribute("gen_ai.response.model", result.model)
        if result.data:
            span.set_attribute("gen_ai.embeddings.dimension.count", len(result.data[0].embedding))
        attrs: dict[str, Any] = {}
        _cost_attrs(attrs, result.cost)
        span.set_attributes(attrs)
        result.trace_id = _hex_trace(span)
        span.end()

    def fail(self, exc: BaseException) -> None:
        if self.span is not None:
            _fail(self.span, exc)
            self.span.end()


_OBSERVE_KEYS = ("telemetry", "tracing_options", "tracingOptions", "tracing_context", "tracingContext", "prices")


def split_embed_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the provider sends, what only tracing and pricing read) of `agent.embed(..., **options)`."""
    sent = {k: v for k, v in options.items() if k not in _OBSERVE_KEYS}
    observe = {_snake(k): v for k, v in options.items() if k in _OBSERVE_KEYS}
    parse_telemetry(observe.get("telemetry"))
    parse_tracing_options(observe.get("tracing_options"))
    if observe.get("prices") is not None:
        from .pricing import parse_prices

        observe["prices"] = parse_prices(observe["prices"])
    return sent, observe


def _snake(key: str) -> str:
    return {"tracingOptions": "tracing_options", "tracingContext": "tracing_context"}.get(key, key)


@contextmanager
def traced_embedding(
    provider: Any, inputs: list[str], observe: Mapping[str, Any], agent_prices: Any
) -> Iterator[Callable[[EmbeddingResult], EmbeddingResult]]:
    """`with traced_embedding(...) as done: return done(result)`: the `embeddings {model}` span around the call,
    and the result's cost and trace id."""
    from .pricing import price_usage

    span = EmbedSpan(provider, inputs, observe)
    prices = merged_prices(agent_prices, observe.get("prices"))

    def done(result: EmbeddingResult) -> EmbeddingResult:
        result.cost = price_usage(
            result.usage,
            provider=str(getattr(provider, "name", "")),
            model=str(getattr(provider, "model", "")),
            response_model=result.model.split(":", 1)[-1] if result.model else None,
            base_url=getattr(provider, "base_url", None),
            prices=prices,
        )
        span.end(result)
        return result

    try:
        yield done
    except BaseException as exc:
        span.fail(exc)
        raise


def merged_prices(agent_prices: Any, call_prices: Any) -> dict[str, dict[str, Any]] | None:
    """The agent's price overrides with the call's on top (each a `prices=` value, parsed or not)."""
    if call_prices is None:
        return agent_prices or None
    from .pricing import parse_prices

    call = parse_prices(call_prices)  # idempotent: parsed prices parse to themselves
    if not agent_prices:
        return call
    return {**agent_prices, **(call or {})}


def check_observability_options(options: Any) -> None:
    """Fail at the call, naming the field, for a bad telemetry=, tracing_options=, tracing_context=,
    request_context= or prices=."""
    if options.telemetry is not None:
        parse_telemetry(options.telemetry)
    if options.tracing_options is not None:
        parse_tracing_options(options.tracing_options)
    rc = options.request_context
    if rc is not None and not isinstance(rc, Mapping):
        raise OptionsError(
            f"request_context: expected a mapping (e.g. {{'user_id': 'u1'}}), got {type(rc).__name__}",
            field="request_context",
        )
    if options.prices is not None:
        from .pricing import parse_prices

        parse_prices(options.prices)


def dynamic_instructions(fn: Callable[..., Any], request_context: Any) -> Any:
    """Call dynamic instructions: `fn(request_context=...)`, or `fn(ctx)` with one positional parameter, or `fn()`."""
    import inspect

    ctx = dict(request_context or {})
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return fn(ctx)
    if "request_context" in params or any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return fn(request_context=ctx)
    if params:
        return fn(ctx)
    return fn()


# ----------------------------------------------------------------------------------------------------------------
# The playgrounds' own traces


_local_provider: LocalTracerProvider | None = None


def playground_tracer_provider() -> Any:
    """Make sure the playgrounds (browser, notebook, CLI) record spans into the trace store (SQLite under
    PLAYGROUND_HOME, or PostgreSQL with `PLAYGROUND_DATABASE_URL`).

    A user's OpenTelemetry SDK tracer provider set globally (or by `OTEL_EXPORTER_OTLP_ENDPOINT`) gets the store's
    span processor added (once) and stays in charge: returns None (runs use the global provider, their SDK records,
    the store gets a copy). Another SDK's provider: None too (it records; the Traces tab cannot read it back). With
    none set, the playground's own lean recorder (`LocalTracerProvider`, no OpenTelemetry SDK needed) is returned
    for runs to pass as `tracing_options={"tracer_provider": ...}`; the global provider is left alone, so a user may
    still set theirs later."""
    global _local_provider
    if _otel_in_use():
        trace = _otel().trace
        current: Any = trace.get_tracer_provider()
        if isinstance(current, trace.ProxyTracerProvider) and _configure_from_env():
            current = trace.get_tracer_provider()
        if not isinstance(current, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            sdk: Any = sys.modules.get("opentelemetry.sdk.trace")  # an SDK provider means the SDK is imported
            if sdk is not None and isinstance(current, sdk.TracerProvider):
                with _cache_lock:
                    if not getattr(current, "_playground_store", False):
                        from .store.traces import make_processor

                        current.add_span_processor(make_processor())
                        current._playground_store = True  # type: ignore[attr-defined]
            return None
    if _local_provider is None:
        with _cache_lock:
            if _local_provider is None:
                _local_provider = LocalTracerProvider()
    return _local_provider


def local_spans(trace_id: str | None) -> list[dict[str, Any]]:
    """The spans of one trace from the configured trace store (oldest first); [] when none are kept. Spans still
    waiting in the background writer are written first."""
    if not trace_id:
        return []
    from .store.traces import default_trace_store, writer

    writer().flush()
    return default_trace_store().spans(trace_id)


def stored_observability_options(options: Any) -> dict[str, Any]:
    """What a suspended run keeps of telemetry=, tracing_options= (metadata only), request_context= and prices= so a
    resumption in another process records alike: JSON values only (a tracer provider or a span is not stored)."""
    out: dict[str, Any] = {}
    for name in ("telemetry", "request_context"):
        value = getattr(options, name, None)
        if value is not None and _is_json(value):
            out[name] = value
    topts = getattr(options, "tracing_options", None)
    if isinstance(topts, Mapping) and isinstance(topts.get("metadata"), Mapping) and _is_json(topts["metadata"]):
        out["tracing_options"] = {"metadata": dict(topts["metadata"])}
    prices = getattr(options, "prices", None)
    if prices is not None:
        from .pricing import parse_prices

        parsed = parse_prices(prices) or {}
        out["prices"] = {m: {k: str(v) for k, v in spec.items()} for m, spec in parsed.items()}
    return out


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
