"""Calls the loop cannot run or hold: a tool that is not active, a client tool (returned to the caller), and invalid
arguments for a tool that needs approval (answered with the error, never queued for a person to approve)."""

from __future__ import annotations

from playground import Agent, ToolCallEvent, tool
from tests.safety.helpers import KEY, agent_on, refund_tools
from tests.scripted import Scripted, completion


def test_a_call_to_a_tool_that_is_not_active_is_answered_with_the_tools_that_are() -> None:
    log: list[str] = []
    script = Scripted(completion(None, [("c1", "wipe", {})]), completion("Sorry."))
    result = agent_on(script, log).generate("wipe it")
    expected = "Tool 'wipe' is not available in this step. Available tools: lookup, refund."
    assert result.tool_results[0].result == expected
    assert result.tool_results[0].is_error and log == []
    assert script.bodies[1]["messages"][-1]["content"] == result.tool_results[0].result

    script = Scripted(completion(None, [("c1", "refund", {"order_id": "1"})]), completion("Sorry."))
    result = agent_on(script, log).generate("refund 1", active_tools=[])
    assert result.tool_results[0].result == "Tool 'refund' is not available in this step. Available tools: none."
    assert log == [] and result.finish_reason == "stop"


def test_a_client_tool_call_is_returned_to_the_caller_not_run() -> None:
    log: list[str] = []
    script = Scripted(
        completion(None, [("c1", "lookup", {"order_id": "1"}), ("c2", "ask_user", {"question": "which order?"})])
    )
    agent = Agent(
        model="openai-chat:gpt-test",
        api_key=KEY,
        tools=refund_tools(log),
        http_client=script.client(),
    )
    run = agent.stream(
        "help", client_tools={"ask_user": {"description": "Ask the user", "parameters": {"type": "object"}}}
    )
    events = list(run)
    result = run.result
    assert result is not None and result.finish_reason == "tool-calls"
    assert [(c.tool_call_id, c.client_tool) for c in result.steps[0].tool_calls] == [("c1", False), ("c2", True)]
    assert [(e.tool_call_id, e.client_tool) for e in events if isinstance(e, ToolCallEvent)] == [
        ("c1", False),
        ("c2", True),
    ]
    assert log == ["lookup 1"]  # the server tool ran; the client tool is the caller's to answer
    assert [r.tool_call_id for r in result.tool_results] == ["c1"]


def test_invalid_arguments_for_a_guarded_tool_are_answered_not_queued_for_approval() -> None:
    log: list[str] = []

    @tool(requires_approval=True)
    def refund(order_id: int) -> str:
        log.append(f"refund {order_id}")
        return "refunded"

    script = Scripted(completion(None, [("c1", "refund", {"order_id": "not a number"})]), completion("Let me fix it."))
    result = agent_on(script, log, tools=[refund]).generate("refund")
    assert result.finish_reason == "stop" and result.suspend_payload is None
    assert result.tool_results[0].is_error and "order_id" in str(result.tool_results[0].result)
    assert log == []


def test_every_call_of_a_step_is_handled_whatever_the_calls_before_it() -> None:
    """One step's calls are looked at one by one: an unknown tool, a client tool, invalid arguments or a call held
    for approval never stops the loop from handling the calls after it in the same step."""
    log: list[str] = []
    calls = [
        ("c1", "wipe", {}),
        ("c2", "ask_user", {"question": "which order?"}),
        ("c3", "refund", {}),
        ("c4", "refund", {"order_id": "5"}),
        ("c5", "lookup", {"order_id": "1"}),
        ("c6", "refund", {"order_id": "6"}),
    ]
    script = Scripted(completion(None, calls))
    result = agent_on(script, log).generate(
        "help", client_tools={"ask_user": {"description": "Ask the user", "parameters": {"type": "object"}}}
    )
    assert result.finish_reason == "suspended" and result.suspend_payload is not None
    assert [c.tool_call_id for c in result.suspend_payload.pending] == ["c4", "c6"]
    assert log == ["lookup 1"]  # the call after the held ones ran; the guarded ones wait for a person
    assert [(c.tool_call_id, c.client_tool) for c in result.steps[0].tool_calls][:2] == [("c1", False), ("c2", True)]
