"""Calls the loop cannot run or hold: a tool that is not active, a client tool (returned to the caller), and invalid
arguments for a tool that needs approval (answered with the error, never queued for a person to approve)."""

from __future__ import annotations

from playground import Agent, ToolCallEvent, ToolContext, tool
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


def test_ids_the_model_repeats_or_leaves_empty_become_ids_of_ours_and_each_decision_reaches_one_call() -> None:
    import re

    log: list[str] = []
    calls = [("dup", "refund", {"order_id": "1"}), ("dup", "refund", {"order_id": "2"}),
             ("", "refund", {"order_id": "3"})]
    script = Scripted(completion(None, calls), completion("Done."))
    agent = agent_on(script, log)
    result = agent.generate("refund 1, 2 and 3")
    ids = [c.tool_call_id for c in result.steps[0].tool_calls]
    assert result.suspend_payload is not None and [c.tool_call_id for c in result.suspend_payload.pending] == ids
    assert len(set(ids)) == 3 and all(re.fullmatch(r"call_[0-9a-f]{16}", i) for i in ids), ids
    agent.approve_tool_call(result.run_id, ids[1])
    assert log == ["refund 2"]  # one approval, one call: never the other call the model gave the same id
    agent.decline_tool_call(result.run_id, ids[0])
    final = agent.decline_tool_call(result.run_id, ids[2])
    assert final.text == "Done." and log == ["refund 2"]
    sent = [(m["tool_call_id"], m["content"]) for m in script.bodies[1]["messages"] if m["role"] == "tool"]
    assert [i for i, _ in sent] == ["dup", "dup", ""]  # the provider gets its own ids back, in its order
    assert "refunded 2" in sent[1][1]


def test_a_tool_gets_its_own_copy_of_the_request_context_and_runs_traced() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    seen: list[dict[str, object]] = []

    @tool(requires_approval=True)
    def refund(order_id: str, ctx: ToolContext) -> str:
        """Refund an order."""
        seen.append(dict(ctx.request_context))
        ctx.request_context["changed"] = True  # the tool's copy: the caller's mapping stays as it was
        return f"refunded {order_id} for {ctx.request_context['tenant']}"

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    given = {"tenant": "acme"}
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "7"})]), completion("Done."))
    agent = agent_on(script, [], tools=[refund])
    options = {"request_context": given, "tracing_options": {"tracer_provider": provider}}
    first = agent.generate("refund 7", **options)
    final = agent.approve_tool_call(first.run_id, "c1", **options)
    assert final.tool_results[0].result == "refunded 7 for acme" and not final.tool_results[0].is_error
    assert seen == [{"tenant": "acme"}] and given == {"tenant": "acme"}
    tools = [s for s in exporter.get_finished_spans() if s.name == "execute_tool refund"]
    assert len(tools) == 1 and tools[0].attributes is not None
    assert tools[0].attributes["gen_ai.tool.call.id"] == "c1"
