"""The step loop, written once without I/O.

`run_loop` is a generator that yields effects (`ModelRequest`, `RunTools`, `Invoke`, `Emit`) and receives their
outcomes. The sync and async drivers in `drivers.py` fulfil them with httpx2.Client or httpx2.AsyncClient, so
`generate_now`, `stream()` and their async twins share every rule here: steps, stop conditions, tool execution,
approval, suspend and resume.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import secrets
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import (
    AbortedError,
    ConfigurationError,
    PlaygroundError,
    StorageError,
    StructuredOutputError,
    ToolError,
)
from .events import (
    ReasoningDeltaEvent,
    SourceEvent,
    StepFinishEvent,
    StepStartEvent,
    StreamEvent,
    TextDeltaEvent,
    ToolApprovalEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from .messages import (
    Message,
    ReasoningPart,
    SourcePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    parts_message,
    system_messages,
)
from .output import StructuredOutput
from .pricing import price_step, total_cost
from .processors import ProcessorContext, StreamRecord, TripwireError, hook, processor_id
from .providers.base import HttpRequestSpec, ModelCall, ModelResponse, ResponseFormat
from .providers.transport import RetryPolicy, Transport
from .result import (
    FinishReason,
    GenerationResult,
    RawRequest,
    RawResponse,
    RequestInfo,
    ResponseInfo,
    Source,
    Step,
    SuspendPayload,
    ToolCall,
    ToolResult,
    Tripwire,
    Usage,
    fast_construct,
)
from .runs import (
    ClaimLease,
    PendingCall,
    RunState,
    RunStore,
    check_new_run_id,
    create_run,
    lease_seconds,
    update_run,
)
from .settings import CallOptions, ModelSettings, parse_model_settings, parse_tool_choice
from .tools import Tool, ToolContext, evaluate_policy
from .tracing import may_trace, traced_loop

RATE_LIMIT_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "ratelimit-", "retry-after")

# ----------------------------------------------------------------------------------------------------------------
# Effects


@dataclass(slots=True)
class ModelRequest:
    provider: Any
    call: ModelCall
    spec: HttpRequestSpec
    transport: Transport
    retry: RetryPolicy
    step: int
    timeout: float | None = None
    chunk_filter: Callable[[StreamEvent], StreamEvent | None] | None = None
    """Applied by the driver to every streamed chunk (output processors); None drops the chunk."""


@dataclass(slots=True)
class ModelOutcome:
    response: ModelResponse
    raw_request: RawRequest
    raw_response: RawResponse | None
    started_at: datetime
    latency_ms: float
    time_to_first_chunk_ms: float | None = None
    attempts: int = 1
    aborted: bool = False


@dataclass(slots=True)
class ToolRun:
    tool: Tool
    call: ToolCallPart
    ctx: ToolContext
    approved: bool
    """False only for tools that need no approval; the drivers refuse to run a tool whose policy says otherwise."""
    args: dict[str, Any]


@dataclass(slots=True)
class RunTools:
    runs: list[ToolRun]
    concurrency: int


@dataclass(slots=True)
class Invoke:
    """Call a user callable (callback, prepare_step, stop condition); the driver awaits it if it is async."""

    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    args: tuple[Any, ...] = ()
    throw: bool = False
    """True: an exception from `fn` is thrown back into the loop (processors) instead of ending the driver."""


@dataclass(slots=True)
class Emit:
    event: StreamEvent


class CallbackError(PlaygroundError):
    """A user callback (on_chunk, on_step_finish, on_finish, prepare_step, a stop condition) raised. The drivers throw
    it into the loop, so `on_error` runs and the partial result is kept on the error, then raise the original."""

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(f"{name} raised {type(error).__name__}: {error}")
        self.error = error


Effect = ModelRequest | RunTools | Invoke | Emit
LoopGen = Generator[Effect, Any, GenerationResult]

# ----------------------------------------------------------------------------------------------------------------
# Stop conditions (AI SDK / Mastra `stopWhen`)


def step_count_is(n: int) -> Callable[..., bool]:
    """Stop once n steps have run."""

    def condition(*, steps: Sequence[Step], **_: Any) -> bool:
        return len(steps) >= n

    condition.__name__ = f"step_count_is({n})"
    return condition


def has_tool_call(tool_name: str) -> Callable[..., bool]:
    """Stop after a step in which the model called `tool_name`."""

    def condition(*, steps: Sequence[Step], **_: Any) -> bool:
        return bool(steps) and any(c.tool_name == tool_name for c in steps[-1].tool_calls)

    condition.__name__ = f"has_tool_call({tool_name!r})"
    return condition


# ----------------------------------------------------------------------------------------------------------------
# The run's fixed setup


@dataclass
class RunSetup:
    """Everything fixed for one run: resolved options, tools, how to reach models, where suspended runs go."""

    options: CallOptions
    tools: dict[str, Tool]
    client_tools: dict[str, Tool]
    model: str
    resolve: Callable[[str], tuple[Any, Transport]]
    store: RunStore
    stream: bool
    settings: ModelSettings = field(default_factory=lambda: ModelSettings.model_validate({}))
    response_format: ResponseFormat | None = None
    agent_name: str | None = None
    on_status: Callable[[RunState], None] | None = None
    """Called when the run suspends and when it finishes: the agent keeps a suspended run's live options
    (callbacks, processors) for a resume in this process, and forgets them once the run is done."""
    finalize: Callable[[GenerationResult, RunState], GenerationResult] | None = None
    """Hook applied to the result before it is returned (after structured output and output processors)."""
    output: StructuredOutput | None = None
    """The parsed `structured_output` option; `response_format` is set from it when the provider is native."""
    input_processors: list[Any] = field(default_factory=list)
    output_processors: list[Any] = field(default_factory=list)
    max_processor_retries: int = 2
    processor_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: list[Message] | None = None
    """The messages of the latest model call (system included): `result.context`, as ActiveAgent documents it."""
    trace: Any = None
    """The run's spans (tracing.RunTrace) while OpenTelemetry records them, else None."""
    prices: Any = None
    """Price overrides (pricing.parse_prices) from the agent's or the call's `prices=`."""


def accepted_kwargs(fn: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Only the keyword arguments `fn` accepts (all of them if it takes **kwargs)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return kwargs
    names = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    picked = {k: v for k, v in kwargs.items() if k in names}
    if not picked and len(params) == 1:
        # a one-argument callback gets the main value positionally by its own name
        (only,) = params
        first = next(iter(kwargs.values()))
        return {only: first}
    return picked


# ----------------------------------------------------------------------------------------------------------------
# The loop


def new_run_id() -> str:
    return f"run_{secrets.token_hex(10)}"


def run_loop(setup: RunSetup, state: RunState, *, resume: bool = False) -> LoopGen:
    """Run (or resume) steps until the model stops, a stop condition holds, approval is needed, or max_steps;
    inside an `invoke_agent` span when OpenTelemetry records spans (tracing.py). With no tracing anywhere the steps'
    generator is returned as it is: every effect of the run would otherwise pass through two more generators."""
    if not may_trace(setup.options):
        return _run_steps(setup, state, resume=resume)
    return traced_loop(lambda: _run_steps(setup, state, resume=resume), setup, state, resume=resume)


def _run_steps(setup: RunSetup, state: RunState, *, resume: bool = False) -> LoopGen:
    opts = setup.options
    started = time.perf_counter()
    try:
        if not resume and opts.run_id is not None:
            check_new_run_id(setup.store, state.run_id)  # a stored run's id is never taken over by a new run
        if resume:
            finished = yield from _resume_pending(setup, state)
            if finished is not None:
                return finished
        elif setup.input_processors:
            yield from _process_input(setup, state)
        while True:
            if opts.abort_signal is not None and opts.abort_signal.aborted:
                return (yield from _finish(setup, state, "aborted", started))
            step_no = len(state.steps)
            plan = yield from _plan_step(setup, state, step_no)
            provider, transport = setup.resolve(plan.model)
            sent = [*state.system, *plan.system, *state.context, *state.messages]
            if setup.input_processors:
                sent = yield from _process_input_step(setup, state, step_no, sent)
            setup.sent = sent
            call = ModelCall(
                model=provider.model,
                messages=sent,
                tools=[t.definition() for t in plan.active.values()],
                tool_choice=plan.tool_choice if plan.active else "auto",
                settings=plan.settings,
                provider_options=plan.provider_options,
                response_format=setup.response_format,
                stream=setup.stream,
            )
            spec = provider.build_request(call)
            if _heard(setup):
                yield Emit(StepStartEvent(step_no))
            retry = RetryPolicy(
                max_retries=plan.settings.max_retries if plan.settings.max_retries is not None else 2,
                retry_delay=getattr(provider, "retry_delay", None),
            )
            keep = _stream_filter(setup, state, step_no) if setup.output_processors else None
            if keep is not None:
                keep = StreamRecord(keep)  # so what the hooks made of the stream reaches result.text/reasoning
            rt: Any = setup.trace  # the run's spans (tracing.RunTrace) or None
            chat = rt.start_chat(provider, call, spec, step_no) if rt is not None else None
            try:
                outcome: ModelOutcome = yield ModelRequest(
                    provider, call, spec, transport, retry, step_no, opts.timeout, keep
                )
            except BaseException as exc:
                if rt is not None and chat is not None:
                    rt.fail_chat(chat, exc)
                raise
            resp = outcome.response
            step = _make_step(step_no, state, provider, outcome, spec)
            step.cost = price_step(provider, step, setup.prices)
            if rt is not None and chat is not None:
                rt.end_chat(chat, step, resp)
            state.steps.append(step)
            # fired during the call (a non-streaming call cannot be cut short): no tool of this step may run
            aborted = outcome.aborted or (opts.abort_signal is not None and opts.abort_signal.aborted)
            answer = resp.message() if resp.parts and not (aborted and resp.tool_calls) else None
            if answer is not None:  # unanswered tool calls cannot stay
                state.messages.append(answer)
            if not setup.stream and (keep is not None or opts.on_chunk is not None):  # someone listens
                for ev in _synthesised_deltas(resp, step_no):
                    if keep is None:
                        yield Emit(ev)
                    elif (kept := keep(ev)) is not None:
                        yield Emit(kept)
            if isinstance(keep, StreamRecord):
                keep.apply(step, answer)
            if aborted:
                step.finish_reason = "aborted"
                return (yield from _finish(setup, state, "aborted", started))
            if setup.output_processors and (yield from _process_output_step(setup, state, step)):
                yield from _step_finished(setup, step)
                continue  # a processor asked for this step again, with feedback

            calls = _own_ids(state, step, resp.tool_calls)
            if not calls:
                yield from _step_finished(setup, step)
                return (yield from _finish(setup, state, resp.finish_reason, started))

            client_calls = yield from _handle_tool_calls(setup, state, step, plan.active, calls)
            if state.pending:
                yield from _step_finished(setup, step)
                return (yield from _suspend(setup, state, started))
            yield from _step_finished(setup, step)
            if client_calls:
                return (yield from _finish(setup, state, "tool-calls", started))
            if opts.stop_when:
                for cond in opts.stop_when:
                    if (yield Invoke(cond, accepted_kwargs(cond, {"steps": list(state.steps)}))):
                        return (yield from _finish(setup, state, "tool-calls", started))
            if len(state.steps) >= opts.max_steps:
                state.warnings.append(
                    f"Stopped at max_steps={opts.max_steps} with tool results the model has not answered yet; "
                    "raise max_steps to let it finish."
                )
                return (yield from _finish(setup, state, "tool-calls", started))
    except AbortedError:
        return (yield from _finish(setup, state, "aborted", started))
    except TripwireError as trip:
        state.tripwire = trip.to_dict()
        return (yield from _finish(setup, state, "tripwire", started))
    except PlaygroundError as failure:
        # a user callback that raised is reported as itself (drivers.py unwraps CallbackError when it leaves)
        exc: Any = failure.error if isinstance(failure, CallbackError) else failure
        if opts.on_error is not None:
            yield Invoke(opts.on_error, accepted_kwargs(opts.on_error, {"error": exc}))
        failed_step = getattr(exc, "partial_step", None)  # what a stream produced before it failed (drivers.py)
        if failed_step is not None and failed_step not in state.steps:
            state.steps.append(failed_step)
        partial = _build_result(setup, state, "error")
        partial.error = exc
        exc.result = partial  # type: ignore[attr-defined]
        _record_failure(setup, state)
        raise


def _record_failure(setup: RunSetup, state: RunState) -> None:
    """A stored run that fails after its approved calls were committed (the model call after them raised) is stored
    as `failed`, not left `running` for ever; its tools are not run again. The error's `.result` has the rest."""
    if state.resolved and state.status == "running":
        state.status = "failed"
        with contextlib.suppress(PlaygroundError):  # the error being raised matters more than this record
            setup.store.save(state)


@dataclass
class _StepPlan:
    model: str
    active: dict[str, Tool]
    tool_choice: Any
    settings: ModelSettings
    provider_options: dict[str, Any]
    system: list[Message]


def _plan_step(setup: RunSetup, state: RunState, step_no: int) -> Generator[Effect, Any, _StepPlan]:
    opts = setup.options
    every = {**setup.tools, **setup.client_tools}
    active_names = list(opts.active_tools) if opts.active_tools is not None else list(every)
    plan = _StepPlan(
        model=setup.model,
        active={},
        tool_choice=opts.tool_choice,
        settings=setup.settings,
        provider_options=dict(opts.provider_options or {}),
        system=[],
    )
    if opts.prepare_step is not None:
        kwargs = {
            "step_number": step_no,
            "steps": list(state.steps),
            "messages": list(state.messages),
            "model": setup.model,
            "tools": list(every),
            "active_tools": active_names,
            "tool_choice": opts.tool_choice,
        }
        changes = yield Invoke(opts.prepare_step, accepted_kwargs(opts.prepare_step, kwargs))
        if changes:
            if not isinstance(changes, dict):
                raise ConfigurationError("prepare_step must return a dict of changes or None", field="prepare_step")
            changes = {_snake(k): v for k, v in changes.items()}
            unknown = set(changes) - {
                "model",
                "active_tools",
                "tool_choice",
                "model_settings",
                "provider_options",
                "system",
                "instructions",
                "messages",
            }
            if unknown:
                raise ConfigurationError(
                    f"prepare_step returned unknown keys {sorted(unknown)}; it may change model, active_tools, "
                    "tool_choice, model_settings, provider_options, system and messages",
                    field="prepare_step",
                )
            if changes.get("model"):
                plan.model = str(changes["model"])
            if "active_tools" in changes and changes["active_tools"] is not None:
                active_names = list(changes["active_tools"])
            if "tool_choice" in changes:
                plan.tool_choice = parse_tool_choice(changes["tool_choice"])
            if changes.get("model_settings") is not None:
                plan.settings = setup.settings.merged(parse_model_settings(changes["model_settings"]))
            if changes.get("provider_options"):
                plan.provider_options = {**plan.provider_options, **changes["provider_options"]}
            for key in ("system", "instructions"):
                if changes.get(key):
                    plan.system += system_messages(changes[key], f"prepare_step.{key}")
            if changes.get("messages") is not None:
                from .messages import normalize_messages

                state.messages = normalize_messages(changes["messages"])
    unknown_active = [n for n in active_names if n not in every]
    if unknown_active:
        raise ConfigurationError(
            f"active_tools names unknown tools {unknown_active}; known tools: {sorted(every)}", field="active_tools"
        )
    plan.active = {n: every[n] for n in active_names}
    choice = plan.tool_choice
    if choice == "required" and not plan.active:
        raise ConfigurationError(
            "tool_choice='required' but no tool is active in this step; give the agent tools (tools=, toolsets=, "
            "client_tools=) or use tool_choice='auto'",
            field="tool_choice",
        )
    if not isinstance(choice, str) and choice.tool_name not in plan.active:
        raise ConfigurationError(
            f"tool_choice names tool {choice.tool_name!r}, which is not active; active tools: {sorted(plan.active)}",
            field="tool_choice",
        )
    return plan


def _snake(key: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _make_step(step_no: int, state: RunState, provider: Any, outcome: ModelOutcome, spec: HttpRequestSpec) -> Step:
    resp = outcome.response
    headers = outcome.raw_response.headers if outcome.raw_response else {}
    # One pass over the parts (what resp.text/.reasoning/.tool_calls/.sources would give in four).
    texts: list[str] = []
    reasoning: list[ReasoningPart] = []
    tool_calls: list[ToolCall] = []
    sources: list[Source] = []
    for p in resp.parts:
        if isinstance(p, TextPart):
            texts.append(p.text)
        elif isinstance(p, ToolCallPart):
            d = p.__dict__
            tool_calls.append(
                fast_construct(
                    ToolCall,
                    tool_call_id=d["tool_call_id"],
                    tool_name=d["tool_name"],
                    args=d["args"],
                    provider_metadata=d["provider_metadata"],
                )
            )
        elif isinstance(p, ReasoningPart):
            reasoning.append(p)
        elif isinstance(p, SourcePart):
            sources.append(
                Source(
                    url=p.url,
                    title=p.title,
                    id=p.id,
                    provider_metadata=p.provider_metadata,
                    source_type=p.source_type,
                    cited_text=p.cited_text,
                    location=p.location,
                )
            )
    # Constructed, not validated: every value here was built and checked by us (see result.fast_construct).
    step = fast_construct(
        Step,
        index=step_no,
        tool_results=[],
        files=[],
        step_type="initial" if step_no == 0 else "tool-result",
        model=getattr(provider, "model_string", provider.model),
        text="".join(texts),
        reasoning=reasoning,
        tool_calls=tool_calls,
        sources=sources,
        usage=resp.usage,
        finish_reason=resp.finish_reason,
        raw_finish_reason=resp.raw_finish_reason,
        warnings=[*spec.warnings, *resp.warnings],
        raw_request=outcome.raw_request,
        raw_response=outcome.raw_response,
        response=fast_construct(
            ResponseInfo,
            id=resp.id,
            model_id=resp.model_id,
            timestamp=datetime.fromtimestamp(resp.created, UTC) if resp.created else outcome.started_at,
            headers=headers,
            messages=[],
        ),
        provider_metadata=resp.provider_metadata or None,
        started_at=outcome.started_at,
        finished_at=datetime.now(UTC),
        latency_ms=outcome.latency_ms,
        time_to_first_chunk_ms=outcome.time_to_first_chunk_ms,
        attempts=outcome.attempts,
        rate_limit={k: v for k, v in headers.items() if k.lower().startswith(RATE_LIMIT_PREFIXES)},
    )
    return step


def _synthesised_deltas(resp: ModelResponse, step_no: int) -> list[StreamEvent]:
    """generate_now sees the same event types as stream(), one delta per part."""
    out: list[StreamEvent] = []
    for p in resp.parts:
        if p.type == "reasoning" and p.text:
            out.append(ReasoningDeltaEvent(p.text, step_no))
        elif p.type == "text" and p.text:
            out.append(TextDeltaEvent(p.text, step_no))
        elif p.type == "source":
            out.append(SourceEvent(p.url, p.title, p.id, step_no))
    return out


def needs_approval(setup: RunSetup, state: RunState, tool: Tool, args: dict[str, Any]) -> bool:
    """The one approval rule: the call's policy, or the tool's own, unless a person said "always approve" this run.
    Policies that raise fail closed."""
    if tool.name in state.always_approve:
        return False
    call_policy = setup.options.require_tool_approval
    if call_policy is not False and evaluate_policy(call_policy, tool.name, args, setup.options.context):
        return True
    return tool.requires_approval_for(args, setup.options.context)


def _handle_tool_calls(
    setup: RunSetup, state: RunState, step: Step, active: dict[str, Tool], calls: list[ToolCallPart]
) -> Generator[Effect, Any, list[ToolCallPart]]:
    """Emit the calls, run those that may run, hold those needing approval, return the client-tool calls."""
    state.step_results = {}
    state.step_call_order = [c.tool_call_id for c in calls]
    runs: list[ToolRun] = []
    client_calls: list[ToolCallPart] = []
    for c in calls:
        tool = active.get(c.tool_name)
        is_client = tool is not None and tool.is_client_tool
        if _heard(setup):
            yield Emit(ToolCallEvent(c.tool_call_id, c.tool_name, c.args, step.index, client_tool=is_client))
        if tool is None:
            available = ", ".join(sorted(active)) or "none"
            _store_result(
                state,
                step,
                c,
                f"Tool {c.tool_name!r} is not available in this step. Available tools: {available}.",
                is_error=True,
            )
            continue
        if is_client:
            client_calls.append(c)
            for tc in step.tool_calls:
                if tc.tool_call_id == c.tool_call_id:
                    tc.client_tool = True
            continue
        try:
            args = tool.validate_args(c.args)
        except ToolError as exc:
            _store_result(state, step, c, str(exc), is_error=True)
            continue
        if needs_approval(setup, state, tool, args):
            state.pending.append(
                PendingCall(
                    tool_call_id=c.tool_call_id,
                    tool_name=c.tool_name,
                    args=c.args,
                    provider_id=state.wire_ids.get(c.tool_call_id),
                )
            )
            continue
        runs.append(_tool_run(setup, state, tool, c, args, approved=False))
    if runs:
        yield from _execute(setup, state, step, runs, approval="not-required")
    if not state.pending:
        _append_tool_message(state)
    return client_calls


def _tool_run(
    setup: RunSetup, state: RunState, tool: Tool, call: ToolCallPart, args: dict[str, Any], *, approved: bool
) -> ToolRun:
    ctx = ToolContext(
        run_id=state.run_id,
        tool_call_id=call.tool_call_id,
        tool_name=tool.name,
        messages=list(state.messages),
        context=setup.options.context,
        abort_signal=setup.options.abort_signal,
        request_context=dict(setup.options.request_context or {}),
    )
    if setup.trace is not None:
        tool = setup.trace.traced_tool(tool, call)  # an execute_tool span around each run
    return ToolRun(tool, call, ctx, approved, args)


def _execute(
    setup: RunSetup, state: RunState, step: Step, runs: list[ToolRun], *, approval: Any
) -> Generator[Effect, Any, None]:
    for run in runs:
        if not run.approved and needs_approval(setup, state, run.tool, run.args):
            raise ToolError(f"refusing to run {run.tool.name!r} without approval", tool_name=run.tool.name)
    concurrency = setup.options.tool_call_concurrency or (1 if _approval_possible(setup) else 10)
    results: list[ToolResult] = yield RunTools(runs, concurrency)
    for run, res in zip(runs, results, strict=True):
        res.approval = approval
        step.tool_results.append(res)
        state.step_results[run.call.tool_call_id] = ToolResultPart(
            tool_call_id=res.tool_call_id, tool_name=res.tool_name, result=res.result, is_error=res.is_error
        )
        if _heard(setup):
            yield Emit(
                ToolResultEvent(
                    res.tool_call_id, res.tool_name, res.args, res.result, res.is_error, step.index, res.duration_ms
                )
            )


def _approval_possible(setup: RunSetup) -> bool:
    return setup.options.require_tool_approval is not False or any(
        t.requires_approval is not False for t in setup.tools.values()
    )


def _store_result(
    state: RunState, step: Step, call: ToolCallPart, result: Any, *, is_error: bool, approval: Any = "not-required"
) -> None:
    step.tool_results.append(
        ToolResult(
            tool_call_id=call.tool_call_id,
            tool_name=call.tool_name,
            args=call.args,
            result=result,
            is_error=is_error,
            approval=approval,
        )
    )
    state.step_results[call.tool_call_id] = ToolResultPart(
        tool_call_id=call.tool_call_id, tool_name=call.tool_name, result=result, is_error=is_error
    )


def _own_ids(state: RunState, step: Step, calls: list[ToolCallPart]) -> list[ToolCallPart]:
    """The step's calls under ids unique in the run: the model's id when it is non-empty and new, else one of ours.

    Ids from the model are not trusted (some servers send "" or repeat them); a reused id must never let one approval
    or one result reach another call. The provider's id is kept in `state.wire_ids` and goes back on the wire."""
    if not calls:
        return []
    used = {c.tool_call_id for s in state.steps[:-1] for c in s.tool_calls} | set(state.wire_ids.values())
    counts: dict[str, int] = {}
    for c in calls:
        counts[c.tool_call_id] = counts.get(c.tool_call_id, 0) + 1
    out: list[ToolCallPart] = []
    for i, c in enumerate(calls):
        wire = c.tool_call_id
        if wire and counts[wire] == 1 and wire not in used:
            used.add(wire)
            out.append(c)
            continue
        ours = f"call_{secrets.token_hex(8)}"
        while ours in used or ours in counts:
            ours = f"call_{secrets.token_hex(8)}"
        used.add(ours)
        state.wire_ids[ours] = wire
        if i < len(step.tool_calls) and step.tool_calls[i].tool_call_id == wire:
            step.tool_calls[i].tool_call_id = ours
        out.append(c.model_copy(update={"tool_call_id": ours}))
    return out


def _append_tool_message(state: RunState) -> None:
    parts = [state.step_results[i] for i in state.step_call_order if i in state.step_results]
    if state.wire_ids:  # the provider gets its own ids back
        parts = [
            p.model_copy(update={"tool_call_id": state.wire_ids[p.tool_call_id]})
            if p.tool_call_id in state.wire_ids
            else p
            for p in parts
        ]
    if parts:
        state.messages.append(parts_message("tool", parts))  # built, not re-validated: every part is one of ours
    state.step_results = {}
    state.step_call_order = []


def _heard(setup: RunSetup) -> bool:
    """Whether anyone sees the run's events: a stream's reader, or an on_chunk callback. `generate_now` and its twins
    read only the result, so their step and tool events are not made at all."""
    return setup.stream or setup.options.on_chunk is not None


def _step_finished(setup: RunSetup, step: Step) -> Generator[Effect, Any, None]:
    if _heard(setup):
        yield Emit(StepFinishEvent(step))
    cb = setup.options.on_step_finish
    if cb is not None:
        yield Invoke(cb, accepted_kwargs(cb, {"step": step}))


def _suspend(setup: RunSetup, state: RunState, started: float) -> Generator[Effect, Any, GenerationResult]:
    state.status = "suspended"
    state.elapsed_ms += (time.perf_counter() - started) * 1000
    if setup.on_status is not None:
        setup.on_status(state)
    if setup.trace is not None:
        setup.trace.suspending(state)  # a resumption continues this trace
    if state.resolved:
        setup.store.save(state)  # suspended again after a resume: the stored run moves on
    else:
        create_run(setup.store, state)  # first save: never over another run stored under the same id
    step_no = len(state.steps) - 1
    for p in state.pending:
        if p.decision is None:
            yield Emit(ToolApprovalEvent(p.tool_call_id, p.tool_name, p.args, state.run_id, step_no))
    result = _build_result(setup, state, "suspended")
    return (yield from _finalize(setup, state, result))


def _adopt(state: RunState, fresh: RunState) -> None:
    """Make `state` (the loop's object) equal to what the store holds now."""
    for name in RunState.model_fields:
        setattr(state, name, getattr(fresh, name))


def _claim(token: str, lease: float) -> Callable[[RunState], list[str]]:
    """Claim every decided call nobody has claimed yet, with a lease (run inside the store's transaction).

    An interrupted call (a claim whose lease ran out) is not claimed again here: it waits for a new decision."""

    def claim(s: RunState) -> list[str]:
        if s.status != "suspended":
            return []
        ids = []
        now = time.time()
        for p in s.pending:
            if p.decision is not None and p.claimed_by is None:
                p.claimed_by = token
                p.claimed_until = now + lease
                p.attempts += 1
                ids.append(p.tool_call_id)
        return ids

    return claim


def _commit(token: str, outcomes: dict[str, tuple[Any, bool, float]]) -> Callable[[RunState], bool]:
    """Record this process's outcomes; when every pending call is done, move them into the step and take the run over.

    Returns True to the one process that must continue the run."""

    def commit(s: RunState) -> bool:
        for p in s.pending:
            if p.claimed_by == token and p.tool_call_id in outcomes:
                p.result, p.is_error, p.duration_ms = outcomes[p.tool_call_id]
                p.done = True
        if s.status != "suspended" or not s.pending or not all(p.done for p in s.pending):
            return False
        step = s.steps[-1]
        for p in s.pending:
            args = p.edited_args if p.edited_args is not None else p.args
            step.tool_results.append(
                ToolResult(
                    tool_call_id=p.tool_call_id,
                    tool_name=p.tool_name,
                    args=args,
                    result=p.result,
                    is_error=p.is_error,
                    duration_ms=p.duration_ms,
                    approval=p.approval,
                )
            )
            s.step_results[p.tool_call_id] = ToolResultPart(
                tool_call_id=p.tool_call_id, tool_name=p.tool_name, result=p.result, is_error=p.is_error
            )
        s.resolved += s.pending
        s.pending = []
        s.status = "running"
        return True

    return commit


def _resume_pending(setup: RunSetup, state: RunState) -> Generator[Effect, Any, GenerationResult | None]:
    """Run the approved calls this process claims, answer declined ones, and continue the run once every call of the
    step is resolved; while any call is undecided (or being run by another process) the run stays suspended.

    Claiming and committing go through the store's atomic `update`, so a call runs at most once even when several
    processes resolve calls of the same run at the same time."""
    started = time.perf_counter()
    token = secrets.token_hex(16)
    lease = lease_seconds(setup.store)
    fresh, claimed_ids = update_run(setup.store, state.run_id, _claim(token, lease))
    _adopt(state, fresh)
    step = state.steps[-1]
    every = {**setup.tools, **setup.client_tools}
    outcomes: dict[str, tuple[Any, bool, float]] = {}
    runs: list[ToolRun] = []
    for p in state.pending:
        if p.tool_call_id not in claimed_ids:
            continue
        call = ToolCallPart(
            tool_call_id=p.tool_call_id,
            tool_name=p.tool_name,
            args=p.edited_args if p.edited_args is not None else p.args,
        )
        if p.decision == "declined":
            reason = f" Reason: {p.reason}" if p.reason else ""
            text = f"The user declined this tool call; it was not run.{reason}"
            if p.interrupted:
                text = (
                    "An earlier attempt at this tool call was interrupted (the process running it stopped), so it may "
                    f"have partly run; the user declined to retry it.{reason}"
                )
            outcomes[p.tool_call_id] = (text, False, 0.0)
            continue
        tool = every.get(p.tool_name)
        if tool is None or tool.is_client_tool:
            outcomes[p.tool_call_id] = (f"Tool {p.tool_name!r} is not available to this agent.", True, 0.0)
            continue
        try:
            args = tool.validate_args(call.args)
        except ToolError as exc:
            outcomes[p.tool_call_id] = (str(exc), True, 0.0)
            continue
        runs.append(_tool_run(setup, state, tool, call, args, approved=True))
    if runs:
        concurrency = setup.options.tool_call_concurrency or 1
        with ClaimLease(setup.store, state.run_id, token, lease) as held:  # renewed while the tools run
            for run in runs:
                run.tool = held.watch(run.tool)
            results: list[ToolResult] = yield RunTools(runs, concurrency)
        for run, res in zip(runs, results, strict=True):
            outcomes[run.call.tool_call_id] = (res.result, res.is_error, res.duration_ms)
            yield Emit(
                ToolResultEvent(
                    res.tool_call_id, res.tool_name, res.args, res.result, res.is_error, step.index, res.duration_ms
                )
            )
    try:
        fresh, proceed = update_run(setup.store, state.run_id, _commit(token, outcomes))
    except StorageError:
        _commit(token, outcomes)(state)  # the tools ran: their results go on the error's .result
        raise
    _adopt(state, fresh)
    if not proceed:
        # other calls are undecided or another process is running them: report what still waits
        state.elapsed_ms += (time.perf_counter() - started) * 1000
        result = _build_result(setup, state, "suspended")
        return (yield from _finalize(setup, state, result))
    _append_tool_message(state)
    if len(state.steps) >= setup.options.max_steps:
        state.warnings.append(
            f"Stopped at max_steps={setup.options.max_steps} with tool results the model has not answered yet; "
            "raise max_steps to let it finish."
        )
        return (yield from _finish(setup, state, "tool-calls", started))
    return None


def _finish(
    setup: RunSetup, state: RunState, reason: FinishReason, started: float | None
) -> Generator[Effect, Any, GenerationResult]:
    if state.resolved:
        # this run was suspended and stored: keep what became of it, so a late second approval can say so
        state.status = "finished"
        setup.store.save(state)
    state.status = "finished"
    if setup.on_status is not None:
        setup.on_status(state)
    if started is not None:
        state.elapsed_ms += (time.perf_counter() - started) * 1000
    result = _build_result(setup, state, reason)
    opts = setup.options
    if reason == "aborted" and opts.on_abort is not None:
        yield Invoke(opts.on_abort, accepted_kwargs(opts.on_abort, {"event": result}))
    if setup.output_processors and reason != "tripwire":
        result = yield from _process_output_result(setup, state, result)
    if setup.output is not None and result.finish_reason not in ("aborted", "error", "tripwire", "suspended"):
        result = yield from _structure(setup, state, result, setup.output)
    result = yield from _finalize(setup, state, result)
    if opts.on_finish is not None:
        yield Invoke(opts.on_finish, accepted_kwargs(opts.on_finish, {"result": result}))
    return result


# ----------------------------------------------------------------------------------------------------------------
# Processors (see processors.py)


def _pctx(setup: RunSetup, state: RunState, p: Any, step_no: int) -> ProcessorContext:
    pid = processor_id(p)
    return ProcessorContext(
        run_id=state.run_id,
        processor_id=pid,
        step_number=step_no,
        retry_count=state.processor_retries,
        context=setup.options.context,
        state=setup.processor_state.setdefault(pid, {}),
        request_context=dict(setup.options.request_context or {}),
    )


def _processed_messages(value: Any, fallback: list[Message], where: str) -> list[Message]:
    if value is None:
        return fallback
    from .messages import normalize_messages

    if not isinstance(value, list):
        raise ConfigurationError(
            f"{where} must return a list of messages or None, got {type(value).__name__}", field="input_processors"
        )
    return normalize_messages(value)


def _process_input(setup: RunSetup, state: RunState) -> Generator[Effect, Any, None]:
    """process_input of every input processor, once, on the run's input messages."""
    for p in setup.input_processors:
        fn = hook(p, "process_input")
        if fn is None:
            continue
        ctx = _pctx(setup, state, p, 0)
        value = yield Invoke(fn, {}, (list(state.messages), ctx), throw=True)
        state.messages = _processed_messages(value, state.messages, f"{ctx.processor_id}.process_input")
        state.response_start = len(state.messages)


def _process_input_step(
    setup: RunSetup, state: RunState, step_no: int, messages: list[Message]
) -> Generator[Effect, Any, list[Message]]:
    """process_input_step hooks on exactly what this step sends (not stored)."""
    for p in setup.input_processors:
        fn = hook(p, "process_input_step")
        if fn is None:
            continue
        ctx = _pctx(setup, state, p, step_no)
        value = yield Invoke(fn, {}, (list(messages), ctx), throw=True)
        messages = _processed_messages(value, messages, f"{ctx.processor_id}.process_input_step")
    return messages


def _stream_filter(setup: RunSetup, state: RunState, step_no: int) -> Callable[[Any], Any] | None:
    """One callable applying every process_output_stream hook to a chunk (None when no processor has one)."""
    hooks = [
        (fn, _pctx(setup, state, p, step_no))
        for p in setup.output_processors
        if (fn := hook(p, "process_output_stream")) is not None
    ]
    if not hooks:
        return None

    def keep(chunk: Any) -> Any:
        for fn, ctx in hooks:
            chunk = fn(chunk, ctx)
            if chunk is None:
                return None
        return chunk

    return keep


def _process_output_step(setup: RunSetup, state: RunState, step: Step) -> Generator[Effect, Any, bool]:
    """process_output_step hooks; True when one asked to retry the step (and retries are left)."""
    for p in setup.output_processors:
        fn = hook(p, "process_output_step")
        if fn is None:
            continue
        ctx = _pctx(setup, state, p, step.index)
        try:
            yield Invoke(fn, {}, (step, ctx), throw=True)
        except TripwireError as trip:
            if not trip.retry:
                raise
            if state.processor_retries >= setup.max_processor_retries:
                raise TripwireError(
                    f"{trip.reason} (still failing after {state.processor_retries} retries; "
                    "raise max_processor_retries to allow more)",
                    processor_id=trip.processor_id,
                    metadata=trip.metadata,
                ) from None
            state.processor_retries += 1
            step.warnings.append(f"{trip.processor_id} asked for a retry: {trip.reason}")
            if step.tool_calls and state.messages and state.messages[-1].role == "assistant":
                state.messages.pop()  # unanswered tool calls cannot stay in the conversation
            state.messages.append(Message.user(f"Please answer again. Feedback on your last answer: {trip.reason}"))
            return True
    return False


def _process_output_result(
    setup: RunSetup, state: RunState, result: GenerationResult
) -> Generator[Effect, Any, GenerationResult]:
    """process_output_result hooks; a tripwire here turns the result into a `tripwire` one."""
    for p in setup.output_processors:
        fn = hook(p, "process_output_result")
        if fn is None:
            continue
        ctx = _pctx(setup, state, p, len(state.steps))
        try:
            value = yield Invoke(fn, {}, (result, ctx), throw=True)
        except TripwireError as trip:
            state.tripwire = trip.to_dict()
            result.finish_reason = "tripwire"
            result.tripwire = Tripwire.model_validate(state.tripwire)
            return result
        if value is not None:
            result = value
    return result


def _structure(
    setup: RunSetup, state: RunState, result: GenerationResult, spec: StructuredOutput
) -> Generator[Effect, Any, GenerationResult]:
    """Parse and validate the final answer (or have the structuring model write it) into `result.object`."""
    text = result.text
    if spec.model:
        text = yield from _structuring_call(setup, state, result, spec)
    value, problems = spec.parse(text)
    if not problems:
        result.object = value
        return result
    message = f"structured output does not match the schema: {'; '.join(problems)}"
    if spec.error_strategy == "strict":
        raise StructuredOutputError(
            f"{message}. The answer was {text.strip()[:200]!r}. Pass structured_output={{'schema': ..., "
            "'error_strategy': 'warn'} (or 'fallback' with a fallback_value) to get the result anyway.",
            text=text,
            errors=problems,
        )
    if spec.error_strategy == "fallback":
        result.object = spec.fallback_value
        result.warnings.append(f"{message}; used fallback_value")
    else:
        result.warnings.append(message)
    return result


def _structuring_call(
    setup: RunSetup, state: RunState, result: GenerationResult, spec: StructuredOutput
) -> Generator[Effect, Any, str]:
    """One call to the structuring model over the agent's answer, reasoning and tool results; returns its text."""
    assert spec.model is not None
    provider, transport = setup.resolve(spec.model)
    native = getattr(getattr(provider, "capabilities", None), "structured_output", "prompt") == "native"
    system = (
        "You turn another assistant's answer into JSON that matches a schema. Use only facts from the answer, "
        "its reasoning and its tool results; leave out what they do not say if the schema allows it."
    )
    if spec.instructions:
        system += f"\n\n{spec.instructions}"
    if not native:
        system += f"\n\n{spec.prompt()}"
    request = next((m.text for m in reversed(state.messages[: state.response_start]) if m.role == "user"), "")
    parts = [f"Request:\n{request}", f"Answer:\n{result.text}"]
    if result.reasoning_text:
        parts.append(f"Reasoning:\n{result.reasoning_text}")
    if result.tool_results:
        shown = [{"tool": r.tool_name, "args": r.args, "result": r.result} for r in result.tool_results]
        parts.append("Tool results:\n" + json.dumps(shown, ensure_ascii=False, default=str))
    call = ModelCall(
        model=provider.model,
        messages=[Message.system(system), Message.user("\n\n".join(parts))],
        provider_options=dict(spec.provider_options),
        response_format=spec.response_format() if native else None,
        stream=False,
    )
    req = provider.build_request(call)
    retry = RetryPolicy(max_retries=2, retry_delay=getattr(provider, "retry_delay", None))
    index = len(result.steps)
    rt: Any = setup.trace
    chat = rt.start_chat(provider, call, req, index) if rt is not None else None
    try:
        outcome: ModelOutcome = yield ModelRequest(provider, call, req, transport, retry, index, setup.options.timeout)
    except BaseException as exc:
        if rt is not None and chat is not None:
            rt.fail_chat(chat, exc)
        raise
    step = _make_step(index, state, provider, outcome, req)
    step.step_type = "continue"
    step.cost = price_step(provider, step, setup.prices)
    if rt is not None and chat is not None:
        rt.end_chat(chat, step, outcome.response)
    result.steps.append(step)
    result.usage = result.usage + step.usage
    result.cost = total_cost(s.cost for s in result.steps)
    return outcome.response.text


def _finalize(setup: RunSetup, state: RunState, result: GenerationResult) -> Generator[Effect, Any, GenerationResult]:
    if setup.finalize is not None:  # asked of the driver: the async one runs memory's save off the event loop
        result = yield Invoke(setup.finalize, {}, (result, state), throw=True)
    if setup.options.scorers is not None and result.finish_reason != "suspended":
        from .scorers import start_scoring  # after the answer, on a background thread: never delays it

        start_scoring(result, setup.options.scorers, return_data=setup.options.return_scorer_data)
    return result
    yield  # pragma: no cover - makes this a generator


def _build_result(setup: RunSetup, state: RunState, reason: FinishReason) -> GenerationResult:
    steps = state.steps
    last = steps[-1] if steps else None
    response_messages = state.messages[state.response_start :]
    warnings = [w for s in steps for w in s.warnings] + state.warnings
    suspend = None
    if reason == "suspended" and state.pending:
        first = next((p for p in state.pending if p.awaits_person), state.pending[0])
        suspend = SuspendPayload(
            tool_call_id=first.tool_call_id,
            tool_name=first.tool_name,
            args=first.args,
            run_id=state.run_id,
            pending=[
                ToolCall(tool_call_id=p.tool_call_id, tool_name=p.tool_name, args=p.args)
                for p in state.pending
                if p.awaits_person  # undecided, or interrupted: approve again to retry, or decline
            ],
        )
    seen: set[Any] = set()
    sources: list[Source] = []
    for s in steps:
        for src in s.sources:
            key = src.url or (src.title, src.cited_text, repr(src.location))  # a document's citations all count
            if key not in seen:
                seen.add(key)
                sources.append(src)
    return fast_construct(
        GenerationResult,
        files=[],
        text=last.text if last else "",
        tool_calls=[c for s in steps for c in s.tool_calls],
        tool_results=[r for s in steps for r in s.tool_results],
        usage=Usage.total([s.usage for s in steps]),
        cost=total_cost(s.cost for s in steps) if steps else None,
        trace_id=setup.trace.trace_id if setup.trace is not None else None,
        steps=list(steps),
        finish_reason=reason,
        response=fast_construct(
            ResponseInfo,
            id=last.response.id if last else None,
            timestamp=last.response.timestamp if last else None,
            model_id=last.response.model_id if last else None,
            headers=last.response.headers if last else {},
            messages=response_messages,
        ),
        request=fast_construct(RequestInfo, body=last.request_body if last else None),
        warnings=list(dict.fromkeys(warnings)),
        provider_metadata=last.provider_metadata if last else None,
        reasoning=[r for s in steps for r in s.reasoning],
        sources=sources,
        suspend_payload=suspend,
        tripwire=Tripwire.model_validate(state.tripwire) if state.tripwire else None,
        run_id=state.run_id,
        messages=[*state.messages],
        remembered_messages=list(state.remembered),
        context=list(setup.sent) if setup.sent is not None else [*state.system, *state.context, *state.messages],
        model=last.model if last else setup.model,
        latency_ms=state.elapsed_ms,
    )
