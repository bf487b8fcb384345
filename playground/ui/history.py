"""Conversation repair for the playgrounds: what a person's Stop leaves behind must still be a conversation every
provider accepts. An assistant tool call needs its tool result before the next user message (OpenAI, Anthropic and
Gemini answer 400 otherwise), so a call that was stopped before its result gets one saying so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..messages import Message, TextPart, ToolCallPart, ToolResultPart
from ..result import Step
from ..runs import RunState

STOPPED_RESULT = "Not run: the person stopped the reply before this tool call finished."


def complete_tool_results(messages: Sequence[Message], note: str = STOPPED_RESULT) -> list[Message]:
    """`messages` with a result for every tool call: a call with none gets an error result carrying `note`, placed in
    the tool message that follows its assistant message (made when there is none). Other messages are unchanged."""
    out: list[Message] = []
    items = list(messages)
    i = 0
    while i < len(items):
        msg = items[i]
        out.append(msg)
        i += 1
        calls = msg.tool_calls if msg.role == "assistant" else []
        if not calls:
            continue
        tool_msgs: list[Message] = []
        while i < len(items) and items[i].role == "tool":
            tool_msgs.append(items[i])
            i += 1
        answered = {r.tool_call_id for m in tool_msgs for r in m.tool_results}
        missing = [ToolResultPart(tool_call_id=c.tool_call_id, tool_name=c.tool_name, result=note, is_error=True)
                   for c in calls if c.tool_call_id not in answered]
        if missing and tool_msgs:
            last = tool_msgs[-1]
            tool_msgs[-1] = last.model_copy(update={"content": [*last.content, *missing]})
        elif missing:
            tool_msgs.append(Message(role="tool", content=list(missing)))
        out += tool_msgs
    return out


def is_valid_conversation(messages: Sequence[Message]) -> bool:
    """Every assistant tool call is answered by a tool result before the next non-tool message."""
    return complete_tool_results(messages) == list(messages)


def step_messages(steps: Sequence[Step]) -> list[Message]:
    """The conversation finished steps make: each step's answer (text and tool calls), then its tool results.
    Used when a run is cancelled mid-way, so the tools that did run stay in what the model sees next."""
    out: list[Message] = []
    for step in steps:
        parts: list[Any] = [TextPart(text=step.text)] if step.text else []
        parts += [ToolCallPart(tool_call_id=c.tool_call_id, tool_name=c.tool_name, args=dict(c.args))
                  for c in step.tool_calls]
        if parts:
            out.append(Message(role="assistant", content=parts))
        results = [ToolResultPart(tool_call_id=r.tool_call_id, tool_name=r.tool_name, result=r.result,
                                  is_error=r.is_error) for r in step.tool_results]
        if results:
            out.append(Message(role="tool", content=list(results)))
    return out


def resumed_messages(
    suspended: Sequence[Message], stored: RunState | None, later_steps: Sequence[Step]
) -> list[Message]:
    """The conversation a run resumed by Approve / Decline had reached when it was cancelled: the suspended run's
    messages (ending with the assistant's tool calls), the results its step has in the run store (tools that ran,
    decided calls, a decline with its reason), then the steps finished since the resume. A call with no result yet
    (an approved tool stopped while it ran) gets one saying so."""
    out = list(suspended)
    if stored is not None:
        parts = [stored.step_results[i] for i in stored.step_call_order if i in stored.step_results]
        parts = [p.model_copy(update={"tool_call_id": stored.wire_ids[p.tool_call_id]})
                 if p.tool_call_id in stored.wire_ids else p for p in parts]  # the ids the provider sent
        if parts:
            out.append(Message(role="tool", content=list(parts)))
    return complete_tool_results([*out, *step_messages(later_steps)])


def keep_in_thread(session: Any, exchange: Any, run_id: str, messages: Sequence[Message]) -> None:
    """With memory on, the next send gets its history from the memory thread, not `session.messages`
    (threads.py): what a stopped run kept is saved to the thread as the run's own save would have (messages memory
    loaded are skipped; ids `run_id:NNNN`, so what the run saved before it suspended is not saved twice)."""
    memory = getattr(session, "memory", None)
    thread_id = getattr(session, "thread_id", None)
    if memory is None or thread_id is None:
        return
    option = getattr(exchange, "memory", None) or {"thread": {"id": thread_id},
                                                   "resource": getattr(session, "resource_id", None)}
    memory.save(memory.call(option), run_id, list(messages))
