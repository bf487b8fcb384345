"""The state of a run that can stop and resume (tool approval), and where it is kept.

`RunState` holds only data (messages, steps, pending calls, the serialisable options), never an API key, so a store
may write it to disk. Callbacks and other live options are kept beside it in memory for resumes in the same process.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from .errors import ApprovalError, OptionsError
from .messages import Message, ToolResultPart
from .result import Step

T = TypeVar("T")

DEFAULT_LEASE_SECONDS = 60.0
"""How long a claim on a tool call holds without renewal. The process running the tool renews it (every third of the
lease) while the tool runs, so only a process that died (or lost its store) lets it expire."""

RunStatus = Literal["running", "suspended", "finished", "failed", "expired"]


class PendingCall(BaseModel):
    """A tool call waiting for a person, and what became of it.

    The life of a call: undecided -> decided (`decision`) -> claimed by one resuming process (`claimed_by`, with a
    lease until `claimed_until`) -> done (`done`, with `result`). Each transition is written through `RunStore.update`,
    which is atomic, so two processes resolving the same run can never both run one call. A claim whose lease ran out
    before the call was done is *interrupted* (the process running it died): it is never re-run on its own; a person
    approves it again (a retry) or declines it.

    `tool_call_id` is this run's own id for the call, unique in the run; the model's id is kept in `provider_id` when it
    was empty or reused (some OpenAI-compatible servers send "" or repeat ids), so one approval can only ever reach
    one call, while the id the provider sent still goes back to it on the wire.
    """
    model_config = ConfigDict(defer_build=True)

    tool_call_id: str
    """Our id for the call (unique in the run): what approve / decline take."""
    tool_name: str
    args: dict[str, Any] = Field(default_factory=dict)
    decision: Literal["approved", "declined"] | None = None
    edited_args: dict[str, Any] | None = None
    reason: str | None = None
    auto: bool = False
    """Approved by an "always approve this tool" decision rather than one of its own."""
    claimed_by: str | None = None
    claimed_until: float | None = None
    """When the lease runs out (epoch seconds): set with the decision (the deciding process must claim the call
    before then) and again with the claim, renewed while the tool runs."""
    attempts: int = 0
    """How many times a process claimed the call (more than 1 after a retry of an interrupted call)."""
    interrupted: int = 0
    """How many claims on this call ran out before it was done (a process died while resolving it)."""
    provider_id: str | None = None
    """The id the model sent, when it is not `tool_call_id` (it was empty or not unique in the run)."""
    done: bool = False
    result: Any = None
    is_error: bool = False
    duration_ms: float = 0.0

    @property
    def approval(self) -> Literal["approved", "declined", "auto"]:
        if self.decision == "declined":
            return "declined"
        return "auto" if self.auto else "approved"

    @property
    def wire_id(self) -> str:
        """The id the provider knows this call by."""
        return self.provider_id if self.provider_id is not None else self.tool_call_id

    def is_interrupted(self, now: float | None = None) -> bool:
        """Decided, not done, and its lease has run out: the process resolving it stopped, either while running it
        (claimed) or between the decision and the claim (then it never started)."""
        if self.decision is None or self.done:
            return False
        return self.claimed_until is not None and self.claimed_until <= (time.time() if now is None else now)

    @property
    def awaits_person(self) -> bool:
        """Undecided, or interrupted: a person must approve (again) or decline it."""
        return self.decision is None or self.is_interrupted()


class RunState(BaseModel):
    model_config = ConfigDict(defer_build=True)
    run_id: str
    agent_name: str | None = None
    model: str = ""
    system: list[Message] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    response_start: int = 0
    remembered: list[Message] = Field(default_factory=list)
    context: list[Message] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    pending: list[PendingCall] = Field(default_factory=list)
    step_results: dict[str, ToolResultPart] = Field(default_factory=dict)
    """Results of the suspended step that are already known (run tools, decided calls), by tool_call_id."""
    step_call_order: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)
    status: RunStatus = "running"
    always_approve: list[str] = Field(default_factory=list)
    """Tools approved for the rest of this run ("always approve"); stored, so it holds across resumes."""
    elapsed_ms: float = 0.0
    tripwire: dict[str, Any] | None = None
    """Set when a processor aborted the run (reason, processor_id, metadata)."""
    processor_retries: int = 0
    resolved: list[PendingCall] = Field(default_factory=list)
    """Calls already resolved in earlier suspensions of this run, kept so a second resolution can say what happened."""
    wire_ids: dict[str, str] = Field(default_factory=dict)
    """Our call id -> the id the provider sent, for calls whose provider id was empty or not unique in the run."""
    trace: dict[str, Any] = Field(default_factory=dict)
    """Where a suspended run's trace goes on (trace_id, span ids, when it suspended): see tracing.py."""

    def dump(self) -> str:
        """The JSON a store keeps. A tool result that is not JSON (an object, a set) is stored as its text."""
        return self.model_dump_json(fallback=_as_text)

    def lifecycle(self, now: float | None = None) -> str:
        """What a person sees in `playground runs`: pending, interrupted, running, finished, failed or expired."""
        if self.status == "suspended":
            return "interrupted" if any(p.is_interrupted(now) for p in self.pending) else "pending"
        return self.status


def _as_text(value: Any) -> str:
    return str(value)


class RunStore(Protocol):
    """Where suspended runs are kept. `update` and `create` are optional; stores that have them make resolution
    race-free and refuse a second run under a stored run's id even when both are saved at once."""

    def save(self, state: RunState) -> None: ...

    def load(self, run_id: str) -> RunState | None: ...

    def delete(self, run_id: str) -> None: ...


def update_run(store: RunStore, run_id: str, mutate: Callable[[RunState], T]) -> tuple[RunState, T]:
    """Load, change and save one run atomically when the store supports it (`store.update`), else load-mutate-save.

    `mutate` may raise (e.g. ApprovalError); then nothing is written. Raises ApprovalError when the run is unknown.
    """
    update = getattr(store, "update", None)
    if update is not None:
        return update(run_id, mutate)
    state = store.load(run_id)
    if state is None:
        raise ApprovalError(f"no suspended run {run_id!r}")
    value = mutate(state)
    store.save(state)
    return state, value


def reused_run_id(run_id: str, status: str) -> OptionsError:
    return OptionsError(
        f"run_id: {run_id!r} is the id of a stored run ({status}); a new run cannot take it over, or approving that "
        "run could act on this one. Leave run_id out (a fresh id is made) or pass a new one; to resume the stored run "
        "use approve_tool_call / decline_tool_call (or `playground approve`).",
        field="run_id",
    )


def create_run(store: RunStore, state: RunState) -> None:
    """Save a run for the first time; refuse (OptionsError) when a run with its id is already stored."""
    create = getattr(store, "create", None)
    if create is not None:
        create(state)
        return
    existing = store.load(state.run_id)
    if existing is not None:
        raise reused_run_id(state.run_id, existing.lifecycle())
    store.save(state)


def check_new_run_id(store: RunStore, run_id: str) -> None:
    """Refuse (OptionsError) a run_id a new run asked for when a run is stored under it."""
    existing = store.load(run_id)
    if existing is not None:
        raise reused_run_id(run_id, existing.lifecycle())


class ClaimLease:
    """Renews the leases of one process's claims (`claimed_by == token`) while its tools run, every third of the lease.

    Used as a context manager around running the claimed tools. If the process dies the renewals stop and the
    claims run out, so the calls show as interrupted instead of holding the run forever."""

    def __init__(self, store: RunStore, run_id: str, token: str, seconds: float) -> None:
        self.store = store
        self.run_id = run_id
        self.token = token
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.crashed = False
        """A tool ended with a BaseException that is not an Exception (KeyboardInterrupt, SystemExit, a kill in
        Jupyter): its outcome is unknown, so renewals stop and the call shows as interrupted once the lease ends,
        even while this process lives on."""

    def watch(self, tool: Any) -> Any:
        """A copy of `tool` whose runs tell this lease when they end abnormally (see `crashed`)."""
        clone = copy.copy(tool)
        run, arun = tool.run, tool.arun

        def watched_run(*args: Any, **kwargs: Any) -> Any:
            try:
                return run(*args, **kwargs)
            except Exception:
                raise
            except BaseException:
                self.crashed = True
                raise

        async def watched_arun(*args: Any, **kwargs: Any) -> Any:
            try:
                return await arun(*args, **kwargs)
            except Exception:
                raise
            except BaseException:
                self.crashed = True
                raise

        clone.run = watched_run
        clone.arun = watched_arun
        return clone

    def __enter__(self) -> ClaimLease:
        if self.seconds > 0:
            self._thread = threading.Thread(target=self._renew_until_stopped, name="playground-lease", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self.seconds / 3) and not self.crashed:
            # a store that cannot be written lets the lease run out: the call then shows as interrupted
            with contextlib.suppress(Exception):
                update_run(self.store, self.run_id, self._renew)

    def _renew(self, state: RunState) -> None:
        until = time.time() + self.seconds
        for p in state.pending:
            if p.claimed_by == self.token and not p.done:
                p.claimed_until = until


def lease_seconds(store: Any) -> float:
    """The store's claim lease (`store.lease_seconds`), else DEFAULT_LEASE_SECONDS."""
    value = getattr(store, "lease_seconds", None)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else DEFAULT_LEASE_SECONDS


class InMemoryRunStore:
    """Suspended runs of this process. Thread-safe; copies on save and load so callers cannot mutate stored state."""

    def __init__(self, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self._runs: dict[str, str] = {}
        self._lock = threading.Lock()
        self.lease_seconds = lease_seconds

    def save(self, state: RunState) -> None:
        with self._lock:
            self._runs[state.run_id] = state.dump()

    def create(self, state: RunState) -> None:
        """Save a new run; OptionsError when its id is taken (see `create_run`)."""
        with self._lock:
            raw = self._runs.get(state.run_id)
            if raw is not None:
                raise reused_run_id(state.run_id, RunState.model_validate_json(raw).lifecycle())
            self._runs[state.run_id] = state.dump()

    def runs(self) -> list[RunState]:
        """Every stored run."""
        with self._lock:
            raws = list(self._runs.values())
        return [RunState.model_validate_json(r) for r in raws]

    def load(self, run_id: str) -> RunState | None:
        with self._lock:
            raw = self._runs.get(run_id)
        return RunState.model_validate_json(raw) if raw else None

    def delete(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def update(self, run_id: str, mutate: Callable[[RunState], T]) -> tuple[RunState, T]:
        """Load, mutate and save under the store's lock (see `update_run`)."""
        with self._lock:
            raw = self._runs.get(run_id)
            if raw is None:
                raise ApprovalError(f"no suspended run {run_id!r}")
            state = RunState.model_validate_json(raw)
            value = mutate(state)
            self._runs[run_id] = state.dump()
        return state, value

    def __len__(self) -> int:
        return len(self._runs)


def find_call(state: RunState, call_id: str) -> PendingCall:
    """The call `call_id` names: our id first; the provider's id only when exactly one call of the run has it.

    Raises ApprovalError for an empty id, an unknown id, or a provider id several calls share (approving by it could
    reach the wrong call)."""
    if not isinstance(call_id, str) or not call_id:
        raise ApprovalError(
            f"tool_call_id: expected the id of a pending call, got {call_id!r}; use an id from "
            f"result.suspend_payload.pending (pending calls: {_pending_ids(state)})"
        )
    for call in (*state.pending, *state.resolved):
        if call.tool_call_id == call_id:
            return call
    by_provider = [c for c in (*state.pending, *state.resolved) if c.provider_id == call_id]
    if len(by_provider) == 1:
        return by_provider[0]
    if by_provider:
        ours = ", ".join(f"{c.tool_call_id} ({c.tool_name})" for c in by_provider)
        raise ApprovalError(
            f"run {state.run_id!r}: the model gave {len(by_provider)} tool calls the id {call_id!r}, so it cannot say "
            f"which one to resolve; use the run's own id of the call: {ours}"
        )
    if state.status != "suspended":
        raise ApprovalError(f"run {state.run_id!r} is not waiting for approval (status: {state.lifecycle()})")
    raise ApprovalError(
        f"run {state.run_id!r} has no pending tool call {call_id!r}; pending calls: {_pending_ids(state)}"
    )


def _pending_ids(state: RunState) -> str:
    return ", ".join(c.tool_call_id for c in state.pending if c.awaits_person) or "none"


def record_decision(
    state: RunState,
    tool_call_id: str,
    decision: Literal["approved", "declined"],
    *,
    args: dict[str, Any] | None = None,
    reason: str | None = None,
    always: bool = False,
    now: float | None = None,
    lease: float = DEFAULT_LEASE_SECONDS,
) -> PendingCall:
    """Mark one pending call approved or declined. Raises ApprovalError for unknown or already resolved calls.

    An interrupted call (its claim's lease ran out before it was done) may be decided again: approving retries it,
    declining answers the model that it was not retried. A call being run right now cannot.

    `always=True` (with "approved") adds the tool to `state.always_approve` and approves the step's other undecided
    calls of the same tool with it (`auto`), since "always approve" covers the rest of the run.
    """
    call = find_call(state, tool_call_id)
    if call not in state.pending or call.done:
        raise ApprovalError(_already(state, call))
    if state.status != "suspended":
        why = " (expired with `playground runs expire`)" if state.status == "expired" else ""
        raise ApprovalError(f"run {state.run_id!r} is not waiting for approval (status: {state.lifecycle()}){why}")
    if call.decision is not None:
        if not call.is_interrupted(now):
            raise ApprovalError(_already(state, call))
        if call.claimed_by is not None:  # it may have started; a decision never claimed never did
            call.interrupted += 1
        call.claimed_by = None
        call.auto = False
    until = (time.time() if now is None else now) + lease
    call.decision = decision
    call.edited_args = args
    call.reason = reason
    call.claimed_until = until
    if always and decision == "approved":
        if call.tool_name not in state.always_approve:
            state.always_approve.append(call.tool_name)
        for other in state.pending:
            if other.decision is None and other.tool_name == call.tool_name:
                other.decision = "approved"
                other.auto = True
                other.claimed_until = until
    return call


def _already(state: RunState, call: PendingCall) -> str:
    """Why a second resolution of `call` is refused, with what the first one did."""
    if call.done:
        outcome = "it was not run" if call.decision == "declined" else f"it ran once and returned {call.result!r:.200}"
    elif state.status == "suspended":
        outcome = "it is being resolved now by another process"
        if call.claimed_until is not None:
            left = max(0.0, call.claimed_until - time.time())
            outcome += (
                f" (if that process died, it shows as interrupted in {left:.0f} s and can be retried or declined)"
            )
    else:
        outcome = "it was not run"
    where = "no suspended run" if state.status != "suspended" else "run"
    waiting = _pending_ids(state)
    also = f"; calls still waiting: {waiting}" if state.status == "suspended" and waiting != "none" else ""
    return (
        f"{where} {state.run_id!r} waits on tool call {call.tool_call_id!r} ({call.tool_name}): it was already "
        f"{call.decision}, {outcome}; it is not run again{also}"
    )
