"""ModelSettings, ToolChoice and the option set of a call.

Options are snake_case as in DESIGN.md; camelCase keys from the Mastra reference (`maxOutputTokens`, `toolChoice`) are
accepted as aliases so that examples paste in. A bad value raises `OptionsError` naming the field and what it accepts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from .errors import OptionsError


def _a_number(v: Any) -> Any:
    """Numbers only: True/False and "10" are mistakes, not 1/0 and 10."""
    if isinstance(v, bool | str | bytes):
        raise ValueError(f"expected a number, got {type(v).__name__} {v!r:.20}")
    return v


class ModelSettings(BaseModel):
    """Sampling and limit settings sent to the model. Unset fields are never sent."""

    model_config = ConfigDict(
        defer_build=True, alias_generator=to_camel, populate_by_name=True, extra="forbid", validate_assignment=True
    )

    temperature: float | None = Field(default=None, ge=0, le=2)
    max_output_tokens: int | None = Field(default=None, gt=0)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, gt=0)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop_sequences: list[str] | None = None
    seed: int | None = None
    max_retries: int | None = Field(default=None, ge=0, le=20)

    @field_validator("stop_sequences", mode="before")
    @classmethod
    def _one_stop(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator(
        "temperature", "max_output_tokens", "top_p", "top_k", "presence_penalty", "frequency_penalty", "seed",
        "max_retries", mode="before",
    )
    @classmethod
    def _numbers(cls, v: Any) -> Any:
        return _a_number(v)

    def set_fields(self) -> dict[str, Any]:
        """The fields a person set (not None), by snake_case name."""
        return {k: v for k, v in self.model_dump().items() if v is not None}

    def merged(self, other: ModelSettings | None) -> ModelSettings:
        """These settings with `other`'s set fields on top."""
        if other is None or other == _EMPTY_SETTINGS:
            return self
        return ModelSettings(**{**self.set_fields(), **other.set_fields()})


_EMPTY_SETTINGS = ModelSettings.model_construct()


class NamedToolChoice(BaseModel):
    model_config = ConfigDict(defer_build=True, alias_generator=to_camel, populate_by_name=True, extra="forbid")
    type: Literal["tool"] = "tool"
    tool_name: str


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


def parse_tool_choice(value: Any) -> ToolChoice:
    """'auto' | 'none' | 'required' | {'type': 'tool', 'tool_name': ...} (also `toolName`, or a bare tool name)."""
    if value is None:
        return "auto"
    if isinstance(value, NamedToolChoice):
        return value
    if value in ("auto", "none", "required"):
        return value
    if isinstance(value, dict):
        try:
            return NamedToolChoice.model_validate(value)
        except ValidationError as exc:
            raise OptionsError(
                f"tool_choice: {value!r} is not valid; use 'auto', 'none', 'required' or "
                "{'type': 'tool', 'tool_name': NAME}",
                field="tool_choice",
            ) from exc
    if isinstance(value, str) and value:
        return NamedToolChoice(tool_name=value)
    raise OptionsError(
        f"tool_choice: {value!r} is not valid; use 'auto', 'none', 'required' or {{'type': 'tool', 'tool_name': NAME}}",
        field="tool_choice",
    )


def parse_model_settings(value: Any, field: str = "model_settings") -> ModelSettings:
    if value is None:
        return ModelSettings()
    if isinstance(value, ModelSettings):
        return value
    if not isinstance(value, dict):
        raise OptionsError(f"{field}: expected ModelSettings or a dict, got {type(value).__name__}", field=field)
    try:
        return ModelSettings.model_validate(value)
    except ValidationError as exc:
        raise OptionsError(_describe(exc, prefix=field), field=field) from exc


def _describe(exc: ValidationError, prefix: str) -> str:
    msgs = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        name = f"{prefix}.{loc}" if loc else prefix
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(ModelSettings.model_fields)
            msgs.append(f"{name}: unknown setting; known settings are {allowed}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            msgs.append(f"{name}: {msg}" if "got " in msg else f"{name}: {msg} (got {err.get('input')!r})")
    return "; ".join(msgs)


# Settings passed straight to agent.generate(temperature=0.7) are folded into model_settings.
SETTING_NAMES = frozenset(ModelSettings.model_fields) | {
    f.alias for f in ModelSettings.model_fields.values() if f.alias
}


class AbortSignal:
    """A thread-safe abort flag, the counterpart of the web's AbortController/AbortSignal.

    `signal.abort(reason)` stops a run at the next safe point: between stream chunks, before a request, before tools.
    """

    __slots__ = ("_callbacks", "_lock", "aborted", "reason")

    def __init__(self) -> None:
        import threading

        self.aborted = False
        """Read-only: set by `abort()`. A plain attribute (a stream reads it once per chunk)."""
        self.reason: str | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def abort(self, reason: str | None = None) -> None:
        with self._lock:  # two threads aborting at once: the callbacks run once
            if self.aborted:
                return
            self.reason = reason or "aborted"
            self.aborted = True
        for cb in list(self._callbacks):
            with contextlib.suppress(Exception):  # a callback must not prevent the abort
                cb()

    def on_abort(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)


class CallOptions(BaseModel):
    """The validated options of one call (Mastra's AgentExecutionOptions, snake_case)."""

    model_config = ConfigDict(
        defer_build=True, alias_generator=to_camel, populate_by_name=True, extra="forbid", arbitrary_types_allowed=True
    )

    max_steps: int = Field(5, ge=1, le=1000)
    stop_when: Any = None
    prepare_step: Callable[..., Any] | None = None
    active_tools: list[str] | None = None
    tool_choice: Any = "auto"
    tool_call_concurrency: int | None = Field(default=None, ge=1, le=100)
    toolsets: dict[str, Any] | None = None
    client_tools: Any = None
    require_tool_approval: bool | Callable[..., Any] = False
    always_approve: list[str] | None = None
    structured_output: Any = None
    instructions: Any = None
    system: Any = None
    context: Any = None
    memory: Any = None
    model_settings: Any = None
    provider_options: dict[str, dict[str, Any]] | None = None
    abort_signal: AbortSignal | None = None
    on_chunk: Callable[..., Any] | None = None
    on_step_finish: Callable[..., Any] | None = None
    on_finish: Callable[..., Any] | None = None
    on_error: Callable[..., Any] | None = None
    on_abort: Callable[..., Any] | None = None
    run_id: str | None = None
    telemetry: Any = None
    tracing_options: Any = None
    tracing_context: Any = None
    request_context: Any = None
    prices: Any = None
    input_processors: list[Any] | None = None
    output_processors: list[Any] | None = None
    max_processor_retries: int | None = Field(default=None, ge=0, le=20)
    timeout: float | None = Field(default=None, gt=0)
    scorers: Any = None
    return_scorer_data: bool = False

    @field_validator("scorers", mode="before")
    @classmethod
    def _scorers(cls, v: Any) -> Any:
        from .scorers import parse_scorers

        parse_scorers(v)  # a bad scorer or sampling fails before anything is sent
        return v

    @field_validator("tool_choice", mode="before")
    @classmethod
    def _tool_choice(cls, v: Any) -> Any:
        return parse_tool_choice(v)

    @field_validator("model_settings", mode="before")
    @classmethod
    def _settings(cls, v: Any) -> Any:
        return parse_model_settings(v)

    @field_validator("max_steps", "tool_call_concurrency", "max_processor_retries", "timeout", mode="before")
    @classmethod
    def _numbers(cls, v: Any) -> Any:
        return _a_number(v)

    @field_validator("run_id", mode="before")
    @classmethod
    def _run_id(cls, v: Any) -> Any:
        if v is not None and (not isinstance(v, str) or not v.strip()):
            raise ValueError("run_id must be a non-empty string (or leave it out for a generated one)")
        return v

    @field_validator("input_processors", "output_processors", mode="before")
    @classmethod
    def _processors(cls, v: Any, info: ValidationInfo) -> Any:
        from .processors import check_processors

        return None if v is None else check_processors(v, str(info.field_name))

    @field_validator("client_tools", mode="before")
    @classmethod
    def _client_tools(cls, v: Any) -> Any:
        from .tools import tools_by_name

        if v is not None:
            tools_by_name(v, "client_tools")
        return v

    @field_validator("stop_when", mode="before")
    @classmethod
    def _stop_when(cls, v: Any) -> Any:
        if v is None:
            return None
        items = v if isinstance(v, list | tuple) else [v]
        for item in items:
            if not callable(item):
                raise ValueError("stop_when takes a condition or a list of them, e.g. step_count_is(3)")
        return list(items)

    @classmethod
    def parse(cls, options: dict[str, Any]) -> CallOptions:
        """Validate raw keyword options; loose settings such as temperature=0.7 are folded into model_settings."""
        opts = dict(options)
        loose = {k: opts.pop(k) for k in list(opts) if k in SETTING_NAMES}
        if loose:
            base = parse_model_settings(opts.get("model_settings", opts.get("modelSettings")))
            merged = {**base.set_fields(), **loose}
            opts.pop("modelSettings", None)
            opts["model_settings"] = parse_model_settings(merged)
        try:
            return cls.model_validate(opts)
        except ValidationError as exc:
            raise OptionsError(_describe_options(exc), field=_first_field(exc)) from exc


def _first_field(exc: ValidationError) -> str | None:
    errs = exc.errors()
    return str(errs[0]["loc"][0]) if errs and errs[0]["loc"] else None


def _describe_options(exc: ValidationError) -> str:
    msgs = []
    known = ", ".join(CallOptions.model_fields)
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            msgs.append(f"{loc}: unknown option; known options are {known}")
        else:
            msg = err["msg"].removeprefix("Value error, ").removeprefix(f"{loc}: ")
            msgs.append(f"{loc}: {msg}" if "got " in msg else f"{loc}: {msg} (got {err.get('input')!r:.80})")
    return "; ".join(msgs)
