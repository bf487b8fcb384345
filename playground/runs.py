"""The state of a run that can stop and resume (tool approval), and where it is kept.

`RunState` holds only data (messages, steps, pending calls, the serialisable options), never an API key, so a store
may write it to disk. Callbacks and other live options are kept beside it in memory for resumes in the same process.
"""

from __future__ import annotations

import threading
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from .errors import ApprovalError
from .messages import Message, ToolResultPart
from .result import Step


class PendingCall(BaseModel):
    tool_call_id: str
    tool_name: str
    args: dict[str, Any] = Field(default_factory=dict)
    decision: Literal["approved", "declined"] | None = None
    edited_args: dict[str, Any] | None = None
    reason: str | None = None


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
    elapsed_ms: float = 0.0


class RunStore(Protocol):
    def save(self, state: RunState) -> None: ...

    def load(self, run_id: str) -> RunState | None: ...

    def delete(self, run_id: str) -> None: ...


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

    def __len__(self) -> int:
        return len(self._runs)


def record_decision(
    state: RunState,
    tool_call_id: str,
    decision: Literal["approved", "declined"],
    *,
    args: dict[str, Any] | None = None,
    reason: str | None = None,
) -> PendingCall:
    """Mark one pending call approved or declined. Raises ApprovalError for unknown or already resolved calls."""
    if state.status != "suspended":
        raise ApprovalError(f"run {state.run_id!r} is not waiting for approval (status: {state.status})")
    for call in state.pending:
        if call.tool_call_id == tool_call_id:
            if call.decision is not None:
                raise ApprovalError(
                    f"tool call {tool_call_id!r} of run {state.run_id!r} was already {call.decision}; it is not run again"
                )
            call.decision = decision
            call.edited_args = args
            call.reason = reason
            return call
    known = ", ".join(c.tool_call_id for c in state.pending) or "none"
    raise ApprovalError(
        f"run {state.run_id!r} has no pending tool call {tool_call_id!r}; pending calls: {known}"
    )
