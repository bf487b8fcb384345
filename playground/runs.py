"""The state of a run that can stop and resume (tool approval), and where it is kept.

`RunState` holds only data (messages, steps, pending calls, the serialisable options), never an API key, so a store
may write it to disk. Callbacks and other live options are kept beside it in memory for resumes in the same process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from .errors import ApprovalError
from .messages import Message, ToolResultPart
from .result import Step

T = TypeVar("T")


class PendingCall(BaseModel):
    """A tool call waiting for a person, and what became of it.

    The life of a call: undecided -> decided (`decision`) -> claimed by one resuming process (`claimed_by`) -> done
    (`done`, with `result`). Each transition is written through `RunStore.update`, which is atomic, so two processes
    resolving the same run can never both run one call.
    """

    tool_call_id: str
    tool_name: str
    args: dict[str, Any] = Field(default_factory=dict)
    decision: Literal["approved", "declined"] | None = None
    edited_args: dict[str, Any] | None = None
    reason: str | None = None
    auto: bool = False
    """Approved by an "always approve this tool" decision rather than one of its own."""
    claimed_by: str | None = None
    done: bool = False
    result: Any = None
    is_error: bool = False
    duration_ms: float = 0.0

    @property
    def approval(self) -> Literal["approved", "declined", "auto"]:
        if self.decision == "declined":
            return "declined"
        return "auto" if self.auto else "approved"


class RunState(BaseModel):
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
    status: Literal["running", "suspended", "finished"] = "running"
    always_approve: list[str] = Field(default_factory=list)
    """Tools approved for the rest of this run ("always approve"); stored, so it holds across resumes."""
    elapsed_ms: float = 0.0
    tripwire: dict[str, Any] | None = None
    """Set when a processor aborted the run (reason, processor_id, metadata)."""
    processor_retries: int = 0
    resolved: list[PendingCall] = Field(default_factory=list)
    """Calls already resolved in earlier suspensions of this run, kept so a second resolution can say what happened."""


class RunStore(Protocol):
    """Where suspended runs are kept. `update` is optional; stores that have it make resolution race-free."""

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


class InMemoryRunStore:
    """Suspended runs of this process. Thread-safe; copies on save and load so callers cannot mutate stored state."""

    def __init__(self) -> None:
        self._runs: dict[str, str] = {}
        self._lock = threading.Lock()

    def save(self, state: RunState) -> None:
        with self._lock:
            self._runs[state.run_id] = state.model_dump_json()

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
            self._runs[run_id] = state.model_dump_json()
        return state, value

    def __len__(self) -> int:
        return len(self._runs)


def record_decision(
    state: RunState,
    tool_call_id: str,
    decision: Literal["approved", "declined"],
    *,
    args: dict[str, Any] | None = None,
    reason: str | None = None,
    always: bool = False,
) -> PendingCall:
    """Mark one pending call approved or declined. Raises ApprovalError for unknown or already resolved calls.

    `always=True` (with "approved") adds the tool to `state.always_approve` and approves the step's other undecided
    calls of the same tool with it (`auto`), since "always approve" covers the rest of the run.
    """
    for call in state.pending:
        if call.tool_call_id == tool_call_id:
            if call.decision is not None:
                raise ApprovalError(_already(state, call))
            break
    else:
        done = next((c for c in state.resolved if c.tool_call_id == tool_call_id), None)
        if done is not None:
            raise ApprovalError(_already(state, done))
        if state.status != "suspended":
            raise ApprovalError(f"run {state.run_id!r} is not waiting for approval (status: {state.status})")
        known = ", ".join(c.tool_call_id for c in state.pending if c.decision is None) or "none"
        raise ApprovalError(f"run {state.run_id!r} has no pending tool call {tool_call_id!r}; pending calls: {known}")
    if state.status != "suspended":
        raise ApprovalError(f"run {state.run_id!r} is not waiting for approval (status: {state.status})")
    call.decision = decision
    call.edited_args = args
    call.reason = reason
    if always and decision == "approved":
        if call.tool_name not in state.always_approve:
            state.always_approve.append(call.tool_name)
        for other in state.pending:
            if other.decision is None and other.tool_name == call.tool_name:
                other.decision = "approved"
                other.auto = True
    return call


def _already(state: RunState, call: PendingCall) -> str:
    """Why a second resolution of `call` is refused, with what the first one did."""
    if call.done:
        outcome = "it was not run" if call.decision == "declined" else f"it ran once and returned {call.result!r:.200}"
    else:
        outcome = "it is being resolved now"
    where = "no suspended run" if state.status != "suspended" else "run"
    return (
        f"{where} {state.run_id!r} waits on tool call {call.tool_call_id!r} ({call.tool_name}): it was already "
        f"{call.decision}, {outcome}; it is not run again"
    )
