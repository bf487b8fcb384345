"""Typed stream events. A stream yields these and ends with `FinishEvent`, whose `result` is what `generate_now` gives.

Plain slotted dataclasses: they are made once per chunk on the hot path, so they stay cheap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .result import GenerationResult, Step


@dataclass(slots=True)
class StepStartEvent:
    step: int
    type: Literal["step-start"] = "step-start"


@dataclass(slots=True)
class TextDeltaEvent:
    text: str
    step: int = 0
    type: Literal["text-delta"] = "text-delta"


@dataclass(slots=True)
class ReasoningDeltaEvent:
    text: str
    step: int = 0
    type: Literal["reasoning-delta"] = "reasoning-delta"


@dataclass(slots=True)
class ToolCallDeltaEvent:
    """Arguments of a tool call as they stream in (a JSON fragment)."""

    tool_call_id: str
    tool_name: str
    args_delta: str
    step: int = 0
    type: Literal["tool-call-delta"] = "tool-call-delta"


@dataclass(slots=True)
class ToolCallEvent:
    tool_call_id: str
    tool_name: str
    args: dict[str, Any]
    step: int = 0
    client_tool: bool = False
    type: Literal["tool-call"] = "tool-call"


@dataclass(slots=True)
class ToolApprovalEvent:
    """A tool call waits for a person: approve or decline it by run_id and tool_call_id."""

    tool_call_id: str
    tool_name: str
    args: dict[str, Any]
    run_id: str
    step: int = 0
    type: Literal["tool-call-approval"] = "tool-call-approval"


@dataclass(slots=True)
class ToolResultEvent:
    tool_call_id: str
    tool_name: str
    args: dict[str, Any]
    result: Any
    is_error: bool = False
    step: int = 0
    duration_ms: float = 0.0
    type: Literal["tool-result"] = "tool-result"


@dataclass(slots=True)
class SourceEvent:
    url: str
    title: str | None = None
    id: str | None = None
    step: int = 0
    type: Literal["source"] = "source"


@dataclass(slots=True)
class StepFinishEvent:
    step: Step
    type: Literal["step-finish"] = "step-finish"


@dataclass(slots=True)
class FinishEvent:
    result: GenerationResult
    type: Literal["finish"] = "finish"


@dataclass(slots=True)
class ErrorEvent:
    error: BaseException
    step: int = 0
    type: Literal["error"] = "error"


StreamEvent = (
    StepStartEvent
    | TextDeltaEvent
    | ReasoningDeltaEvent
    | ToolCallDeltaEvent
    | ToolCallEvent
    | ToolApprovalEvent
    | ToolResultEvent
    | SourceEvent
    | StepFinishEvent
    | FinishEvent
    | ErrorEvent
)


def event_to_dict(event: StreamEvent) -> dict[str, Any]:
    """A JSON-friendly view of an event (for logs, the CLI's --json and the UIs)."""
    if isinstance(event, StepFinishEvent):
        return {"type": event.type, "step": event.step.index, "finish_reason": event.step.finish_reason}
    if isinstance(event, FinishEvent):
        return {"type": event.type, "finish_reason": event.result.finish_reason}
    if isinstance(event, ErrorEvent):
        return {"type": event.type, "error": str(event.error), "step": event.step}
    return asdict(event)

