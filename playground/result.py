"""What a run returns: GenerationResult with every Step, Usage summed and per step, and EmbeddingResult.

Field names follow Mastra's result (snake_case) plus ActiveAgent's response accessors
(`message`, `parsed_json`, `raw_request`, `raw_response`, `prompt_tokens` ...).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_serializer, model_validator

from .messages import Message, ReasoningPart, SourcePart, TextPart, extract_json
from .pricing import Cost
from .scorers import Score

_M = TypeVar("_M", bound=BaseModel)

FinishReason = Literal[
    "stop", "length", "tool-calls", "content-filter", "error", "suspended", "aborted", "tripwire", "other", "unknown"
]


class Usage(BaseModel):
    """Token counts. Summed with `+`; `None` parts count as 0 in sums."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return fast_construct(
            Usage,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens + other.cache_creation_input_tokens,
        )

    @classmethod
    def total(cls, usages: list[Usage]) -> Usage:
        if len(usages) == 1:
            return usages[0]
        out = cls()
        for u in usages:
            out = out + u
        return out

    def _repr_html_(self) -> str:
        from .display import usage_html

        return usage_html(self)


class ToolCall(BaseModel):
    model_config = ConfigDict(defer_build=True)
    tool_call_id: str
    tool_name: str
    args: dict[str, Any] = Field(default_factory=dict)
    client_tool: bool = False
    provider_metadata: dict[str, Any] | None = None


class ToolResult(BaseModel):
    model_config = ConfigDict(defer_build=True)
    tool_call_id: str
    tool_name: str
    args: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    is_error: bool = False
    duration_ms: float = 0.0
    approval: Literal["not-required", "approved", "declined", "auto"] = "not-required"
    exchange: dict[str, Any] | None = None
    """The tool's own wire exchange, when it has one: an MCP server's JSON-RPC request and response (masked)."""


class Source(BaseModel):
    """A web page (url) or, for `source_type="document"`, a cited document: title, cited text and location."""
    model_config = ConfigDict(defer_build=True)

    source_type: Literal["url", "document"] = "url"
    id: str | None = None
    url: str = ""
    title: str | None = None
    provider_metadata: dict[str, Any] | None = None
    cited_text: str | None = None
    location: dict[str, Any] | None = None

    def label(self) -> str:
        """How a person reads it: a page's title (or URL); a document's `title, page 3: "cited text"` (end pages,
        characters and blocks are exclusive, as the providers send them)."""
        if self.url:
            return self.title or self.url
        loc = self.location or {}
        where = ""
        if loc.get("start_page_number") is not None:
            first = loc["start_page_number"]
            last = (loc.get("end_page_number") or first + 1) - 1
            where = f", page {first}" if last <= first else f", pages {first}-{last}"
        elif loc.get("start_char_index") is not None:
            where = f", characters {loc['start_char_index']}-{loc.get('end_char_index')}"
        elif loc.get("start_block_index") is not None:
            where = f", blocks {loc['start_block_index']}-{loc.get('end_block_index')}"
        cited = f': "{self.cited_text}"' if self.cited_text else ""
        return f"{self.title or 'document'}{where}{cited}"


class RawRequest(BaseModel):
    """An HTTP request as it went over the wire, secrets masked."""
    model_config = ConfigDict(defer_build=True)

    method: str
    url: str
    headers: dict[str, str]
    body: Any = None


class RawResponse(BaseModel):
    """An HTTP response as received. For streams, `body` is the decoded event payloads in order, a compact
    `RawEvents` sequence of str once the step ends (dumped as the list of str)."""
    model_config = ConfigDict(defer_build=True)

    status: int
    headers: dict[str, str]
    body: Any = None
    stream: bool = False


class ResponseInfo(BaseModel):
    model_config = ConfigDict(defer_build=True)
    id: str | None = None
    timestamp: datetime | None = None
    model_id: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    messages: list[Message] = Field(default_factory=list)


class RequestInfo(BaseModel):
    model_config = ConfigDict(defer_build=True)
    body: Any = None


class SuspendPayload(BaseModel):
    """The tool call a suspended run waits on; `pending` lists every call waiting in that step."""
    model_config = ConfigDict(defer_build=True)

    tool_call_id: str
    tool_name: str
    args: dict[str, Any]
    run_id: str
    pending: list[ToolCall] = Field(default_factory=list)


class Tripwire(BaseModel):
    model_config = ConfigDict(defer_build=True)
    reason: str
    processor_id: str | None = None
    metadata: dict[str, Any] | None = None


class Step(BaseModel):
    """One model call and the tool runs that followed it."""

    model_config = ConfigDict(defer_build=True, arbitrary_types_allowed=True)

    index: int
    step_type: Literal["initial", "tool-result", "continue"] = "initial"
    model: str = ""
    text: str = ""
    reasoning: list[ReasoningPart] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_results: list[ToolResult] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    files: list[Any] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    finish_reason: FinishReason = "unknown"
    raw_finish_reason: str | None = None
    warnings: list[str] = Field(default_factory=list)
    raw_request: RawRequest | None = None
    raw_response: RawResponse | None = None
    response: ResponseInfo = Field(default_factory=ResponseInfo)
    provider_metadata: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    latency_ms: float | None = None
    time_to_first_chunk_ms: float | None = None
    attempts: int = 1
    rate_limit: dict[str, str] = Field(default_factory=dict)
    cost: Cost | None = None
    """What this model call cost (pricing.py); None when the model's price is not known."""
    span_id: str | None = None
    """The id of this step's `chat` span when OpenTelemetry recorded one (hex)."""

    @property
    def reasoning_text(self) -> str | None:
        text = "".join(r.text for r in self.reasoning)
        return text or None

    @property
    def request_body(self) -> Any:
        return self.raw_request.body if self.raw_request else None

    def _repr_html_(self) -> str:
        from .display import step_html

        return step_html(self)


class GenerationResult(BaseModel):
    """The result of a run: Mastra's fields and ActiveAgent's accessors. Every step is kept in `steps`."""

    model_config = ConfigDict(defer_build=True, arbitrary_types_allowed=True)

    text: str = ""
    object: Any = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_results: list[ToolResult] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    steps: list[Step] = Field(default_factory=list)
    finish_reason: FinishReason = "unknown"
    response: ResponseInfo = Field(default_factory=ResponseInfo)
    request: RequestInfo = Field(default_factory=RequestInfo)
    warnings: list[str] = Field(default_factory=list)
    provider_metadata: dict[str, Any] | None = None
    reasoning: list[ReasoningPart] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    files: list[Any] = Field(default_factory=list)
    suspend_payload: SuspendPayload | None = None
    run_id: str = ""
    trace_id: str | None = None
    cost: Cost | None = None
    """The cost of every step; None when any step's price is not known (never a partial sum)."""
    messages: list[Message] = Field(default_factory=list)
    remembered_messages: list[Message] = Field(default_factory=list)
    """What memory added to this call, in the order the model reads it: recalled messages, then the thread's history."""
    memory: Any = None
    """With memory=: a playground.memory.MemoryReport (thread, history, recalled with scores, working memory
    before/after, messages saved)."""
    error: Any = None
    tripwire: Tripwire | None = None
    context: list[Message] = Field(default_factory=list)
    """ActiveAgent's `context`: the context that was sent, every message of the latest model call (system included)."""
    model: str = ""
    latency_ms: float | None = None
    scoring_data: dict[str, Any] | None = None
    """With `return_scorer_data=True`: what the scorers saw (input, output, tool calls and results, expected)."""
    scoring: Any = Field(default=None, exclude=True, repr=False)
    """The run's scorers while they run (a Future), then their scores; read `scores`."""

    @model_validator(mode="before")
    @classmethod
    def _stored_scores(cls, data: Any) -> Any:
        """A result read back from JSON keeps its scores."""
        if isinstance(data, dict) and "scores" in data:
            data = dict(data)
            scores = data.pop("scores")
            if isinstance(scores, dict) and scores:
                data["scoring"] = {k: Score.model_validate(v) for k, v in scores.items()}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scores(self) -> dict[str, Score]:
        """Scores of the run's `scorers=` (name -> Score). Scorers run after the answer, on a background thread;
        the first read waits for them (at most SCORES_WAIT_SECONDS)."""
        pending = self.scoring
        if pending is None:
            return {}
        if isinstance(pending, dict):
            return pending
        from .scorers import SCORES_WAIT_SECONDS

        done: dict[str, Score] = pending.result(timeout=SCORES_WAIT_SECONDS)
        object.__setattr__(self, "scoring", done)  # no validation: a cache of the finished future
        return done

    def _set_scoring(self, future: Any) -> None:
        object.__setattr__(self, "scoring", future)

    # Mastra
    @property
    def reasoning_text(self) -> str | None:
        text = "".join(r.text for r in self.reasoning)
        return text or None

    # ActiveAgent
    @property
    def message(self) -> Message:
        """The most recent message (the last assistant message, or an empty one)."""
        for m in reversed(self.messages):
            if m.role == "assistant":
                return m
        return Message(role="assistant", content=[TextPart(text=self.text)] if self.text else [])

    @property
    def parsed_json(self) -> Any:
        return extract_json(self.text)

    @property
    def raw_request(self) -> RawRequest | None:
        return self.steps[-1].raw_request if self.steps else None

    @property
    def raw_response(self) -> RawResponse | None:
        return self.steps[-1].raw_response if self.steps else None

    @property
    def prompt_tokens(self) -> int:
        return self.usage.input_tokens

    @property
    def completion_tokens(self) -> int:
        return self.usage.output_tokens

    @property
    def total_tokens(self) -> int:
        return self.usage.total_tokens

    @property
    def suspended(self) -> bool:
        return self.finish_reason == "suspended"

    def to_json(self, **kwargs: Any) -> str:
        return self.model_dump_json(**kwargs)

    @field_serializer("error", when_used="always")
    def _serialise_error(self, error: Any) -> Any:
        """An exception (a failed run's `.result.error`) serialises as its fields, so a partial result stays JSON."""
        if isinstance(error, BaseException):
            to_dict = getattr(error, "to_dict", None)
            return to_dict() if callable(to_dict) else {"type": type(error).__name__, "message": str(error)}
        return error

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 80 else self.text[:77] + "..."
        return (
            f"GenerationResult(finish_reason={self.finish_reason!r}, text={text!r}, steps={len(self.steps)}, "
            f"tokens={self.usage.total_tokens})"
        )

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        from .display import result_html

        return result_html(self)

    def to_html(self, path: str | None = None, *, title: str | None = None) -> str:
        """This exchange as one self-contained HTML report (report_html.py); also written to `path` when given."""
        from .report_html import result_to_html

        doc = result_to_html(self, title=title)
        if path is not None:
            from pathlib import Path

            Path(path).write_text(doc, encoding="utf-8")
        return doc

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from .display import pretty, result_text

        pretty(result_text(self), p, cycle)


class Embedding(BaseModel):
    model_config = ConfigDict(defer_build=True)
    index: int
    embedding: list[float]


class EmbeddingResult(BaseModel):
    model_config = ConfigDict(defer_build=True)
    data: list[Embedding] = Field(default_factory=list)
    model: str = ""
    usage: Usage = Field(default_factory=Usage)
    raw_request: RawRequest | None = None
    raw_response: RawResponse | None = None
    context: list[str] = Field(default_factory=list)
    latency_ms: float | None = None
    cost: Cost | None = None
    trace_id: str | None = None

    @property
    def embeddings(self) -> list[list[float]]:
        return [d.embedding for d in self.data]

    @property
    def prompt_tokens(self) -> int:
        return self.usage.input_tokens

    def __repr__(self) -> str:
        dims = len(self.data[0].embedding) if self.data else 0
        return f"EmbeddingResult(model={self.model!r}, vectors={len(self.data)}, dimensions={dims})"

    def _repr_html_(self) -> str:
        from .display import embedding_html

        return embedding_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from .display import embedding_text, pretty

        pretty(embedding_text(self), p, cycle)


def sources_from_parts(parts: list[SourcePart]) -> list[Source]:
    return [Source(url=p.url, title=p.title, id=p.id, provider_metadata=p.provider_metadata) for p in parts]


def jsonable(value: Any) -> Any:
    """Best-effort JSON view of any value (pydantic models, dataclasses, bytes)."""
    return json.loads(json.dumps(value, default=lambda o: o.model_dump() if hasattr(o, "model_dump") else str(o)))


_DEFAULTS: dict[type[BaseModel], tuple[dict[str, Any], tuple[tuple[str, Any], ...]]] = {}
# BaseModel's slots, set directly (as model_construct does)
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def fast_construct(cls: type[_M], **values: Any) -> _M:
    """`cls.model_construct(**values)` without its per-field Python loop: for objects the loop builds from values it
    has already checked (steps, results, raw views), on the path of every call. Defaults are read once per class."""
    spec = _DEFAULTS.get(cls)
    if spec is None:
        plain = {n: f.default for n, f in cls.model_fields.items() if f.default_factory is None and not f.is_required()}
        factories = tuple((n, f.default_factory) for n, f in cls.model_fields.items() if f.default_factory is not None)
        spec = _DEFAULTS[cls] = (plain, factories)
    plain, factories = spec
    data = plain.copy()
    data.update(values)
    for name, factory in factories:
        if name not in values:
            data[name] = factory()  # type: ignore[call-arg]
    obj = _new(cls)
    _set_dict(obj, data)
    _set_fields_set(obj, set(values))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def fast_replace(obj: _M, **changes: Any) -> _M:
    """`obj.model_copy(update=changes)` (a shallow copy, the changed fields counted as set) without the copy
    module's generic machinery: for a copy made on the path of every stream (the call's options with its own abort
    signal)."""
    out = _new(obj.__class__)
    _set_dict(out, {**obj.__dict__, **changes})
    _set_fields_set(out, obj.__pydantic_fields_set__ | changes.keys())
    _set_extra(out, None if obj.__pydantic_extra__ is None else dict(obj.__pydantic_extra__))
    _set_private(out, None if obj.__pydantic_private__ is None else dict(obj.__pydantic_private__))
    return out


def usage_of(
    input_tokens: int = 0,
    output_tokens: int = 0,
    total_tokens: int = 0,
    reasoning_tokens: int = 0,
    cached_input_tokens: int = 0,
    cache_creation_input_tokens: int = 0,
) -> Usage:
    """`Usage(...)` from a parser's counts: constructed when they are all ints (what validation keeps as is),
    validated otherwise (a server's "12" or 12.0 is converted, garbage refused, as before)."""
    counts = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": total_tokens,
        "reasoning_tokens": reasoning_tokens,
        "cached_input_tokens": cached_input_tokens,
        "cache_creation_input_tokens": cache_creation_input_tokens,
    }
    for v in counts.values():
        if v.__class__ is not int:
            return Usage(**counts)
    return fast_construct(Usage, **counts)


def no_usage() -> Usage:
    """`Usage()`: every count 0, nothing set (a response's default before its usage is read)."""
    return fast_construct(Usage)
