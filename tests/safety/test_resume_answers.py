"""What the model is told about each call of a resumed step, call by call: a decline without a reason, a tool that is
gone, arguments the tool now rejects; none of them stops the other approved calls of the step from running, and none
took any time."""

from __future__ import annotations

from typing import Any

from playground import tool
from playground.runs import record_decision, update_run
from tests.safety.helpers import agent_on, pending_ids, refund_tools, support_agent
from tests.scripted import Scripted, completion


def answers(result: object) -> list[tuple[str, object, bool, float]]:
    return [(r.tool_call_id, r.result, r.is_error, r.duration_ms) for r in result.tool_results]  # type: ignore[attr-defined]


def test_a_decline_without_a_reason_is_not_an_error_and_took_no_time() -> None:
    log: list[str] = []
    calls = completion(None, [("c1", "refund", {"order_id": "1"})])
    agent = support_agent(log, calls, completion("Not refunded."))
    result = agent.generate("refund 1")
    final = agent.decline_tool_call(result.run_id, "c1")
    assert answers(final) == [("c1", "The user declined this tool call; it was not run.", False, 0.0)]
    parts: list[Any] = [p for m in final.messages if m.role == "tool" for p in m.content]
    assert [(p.tool_call_id, p.is_error) for p in parts] == [("c1", False)]
    assert log == []


def test_a_call_that_cannot_run_does_not_stop_the_next_approved_call() -> None:
    log: list[str] = []

    @tool(requires_approval=True)
    def wipe(order_id: str) -> str:
        """Wipe an order."""
        log.append(f"wipe {order_id}")
        return "wiped"

    @tool(requires_approval=True, name="charge")
    def charge_text(amount: str) -> str:
        """Charge an amount."""
        log.append(f"charge {amount}")
        return "charged"

    @tool(requires_approval=True, name="charge")
    def charge_int(amount: int) -> str:  # the same tool later: it now refuses what the model sent
        """Charge an amount."""
        log.append(f"charge {amount}")
        return "charged"

    calls = completion(
        None,
        [("c1", "wipe", {"order_id": "1"}), ("c2", "charge", {"amount": "lots"}), ("c3", "refund", {"order_id": "3"})],
    )
    first = agent_on(Scripted(calls), log, tools=[*refund_tools(log), wipe, charge_text])
    result = first.generate("wipe, charge and refund")
    assert pending_ids(result) == ["c1", "c2", "c3"]
    for call_id in ("c1", "c2"):
        update_run(first.storage, result.run_id, lambda s, c=call_id: record_decision(s, c, "approved"))

    # the approver's agent no longer has `wipe`, and its `charge` now rejects "lots": c3 must still run
    approver = agent_on(
        Scripted(completion("Done.")), log, tools=[*refund_tools(log), charge_int], storage=first.storage
    )
    final = approver.approve_tool_call(result.run_id, "c3")
    got = answers(final)
    assert [g[0] for g in got] == ["c1", "c2", "c3"]
    assert got[0] == ("c1", "Tool 'wipe' is not available to this agent.", True, 0.0)
    assert got[1][2] is True and got[1][3] == 0.0 and "amount" in str(got[1][1])
    assert got[2][1:3] == ("refunded 3", False)
    assert log == ["refund 3"]
