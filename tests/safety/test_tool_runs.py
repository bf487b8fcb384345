"""What a tool gets when it runs (its ToolContext), before and after an approval, and how the tools of one step are
run: at once when nothing can need approval, one at a time (in call order) while an approval policy is in play."""

from __future__ import annotations

import threading
import time
from typing import Any

from playground import AbortSignal, Agent, ToolContext, tool
from tests.safety.helpers import KEY, agent_on, pending_ids
from tests.scripted import Scripted, completion


def test_tools_get_their_context_before_and_after_approval() -> None:
    seen: list[dict[str, Any]] = []

    def record(ctx: ToolContext) -> None:
        seen.append(
            {
                "run_id": ctx.run_id,
                "tool_call_id": ctx.tool_call_id,
                "tool_name": ctx.tool_name,
                "roles": [getattr(m, "role", None) for m in ctx.messages],
                "context": ctx.context,
                "abort": ctx.abort_signal,
            }
        )

    @tool
    def lookup(order_id: str, ctx: ToolContext) -> str:
        record(ctx)
        return "delivered"

    @tool(requires_approval=True)
    def refund(order_id: str, ctx: ToolContext) -> str:
        record(ctx)
        return "refunded"

    signal = AbortSignal()
    context = [{"role": "user", "content": "I am the account owner"}]
    script = Scripted(
        completion(None, [("c1", "lookup", {"order_id": "1"}), ("c2", "refund", {"order_id": "1"})]),
        completion("Done."),
    )
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[lookup, refund], http_client=script.client())
    result = agent.generate("refund 1", context=context, abort_signal=signal)
    assert pending_ids(result) == ["c2"]
    agent.approve_tool_call(result.run_id, "c2", context=context, abort_signal=signal)
    assert [(s["run_id"], s["tool_call_id"], s["tool_name"]) for s in seen] == [
        (result.run_id, "c1", "lookup"),
        (result.run_id, "c2", "refund"),
    ]
    assert seen[0]["roles"] == ["user", "assistant"] and seen[1]["roles"][:2] == ["user", "assistant"]
    assert all(s["context"] is not None and "account owner" in str(s["context"]) for s in seen)
    assert all(s["abort"] is signal for s in seen)


def overlap_of(calls: int, **kw: Any) -> tuple[int, list[str]]:
    """Run one step with `calls` lookups that each take 0.15 s: (most lookups running at once, order they started)."""
    lock = threading.Lock()
    running = 0
    most = 0
    started: list[str] = []

    @tool
    def lookup(order_id: str) -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            started.append(order_id)
        time.sleep(0.15)
        with lock:
            running -= 1
        return "delivered"

    @tool(requires_approval=kw.pop("refund_policy", False))
    def refund(order_id: str) -> str:
        return "refunded"

    script = Scripted(
        completion(None, [(f"c{i}", "lookup", {"order_id": str(i)}) for i in range(calls)]), completion("ok")
    )
    agent_on(script, [], tools=[lookup, refund]).generate("look up", **kw)
    return most, started


def test_tools_of_one_step_run_at_once_when_none_can_need_approval() -> None:
    most, _ = overlap_of(3)
    assert most == 3


def test_tools_run_one_at_a_time_in_call_order_while_approval_is_possible() -> None:
    only_refunds = {"require_tool_approval": lambda args, *, tool_name: tool_name == "refund"}
    for kw in ({"refund_policy": True}, {"refund_policy": lambda args: False}, only_refunds):
        assert overlap_of(3, **kw) == (1, ["0", "1", "2"]), kw
    most, _ = overlap_of(3, tool_call_concurrency=3, refund_policy=True)
    assert most == 3  # an explicit tool_call_concurrency wins


def test_at_most_ten_tools_run_at_once_by_default() -> None:
    cond = threading.Condition()
    running = started = most = 0

    @tool
    def lookup(order_id: str) -> str:
        nonlocal running, started, most
        with cond:
            running += 1
            started += 1
            most = max(most, running)
            cond.notify_all()
            cond.wait_for(lambda: running >= 10 or started >= 12, timeout=10)
        time.sleep(0.02)
        with cond:
            running -= 1
            cond.notify_all()
        return "delivered"

    script = Scripted(
        completion(None, [(f"c{i}", "lookup", {"order_id": str(i)}) for i in range(12)]), completion("ok")
    )
    result = agent_on(script, [], tools=[lookup]).generate("look up")
    assert len(result.tool_results) == 12 and most == 10
