"""What a streaming caller (the playgrounds) sees around an approval: the calls, the results of the tools that ran, one
approval request per waiting call with the right step, and the run's time; callbacks of the original call still fire
after an approval in the same process, and options a stored run needs reach an approver in another agent."""

from __future__ import annotations

import time
from typing import Any

import httpx2

from playground import Agent, ToolApprovalEvent, ToolCallEvent, ToolResultEvent
from tests.safety.helpers import KEY, agent_on, pending_ids, refund_call, refund_tools, support_agent
from tests.scripted import Scripted, completion


def mixed_step() -> dict[str, Any]:
    return completion(
        None,
        [
            ("c1", "lookup", {"order_id": "1"}),
            ("c2", "refund", {"order_id": "1"}),
            ("c3", "refund", {"order_id": "2"}),
        ],
    )


def test_stream_shows_calls_results_and_one_approval_request_per_waiting_call() -> None:
    log: list[str] = []
    script = Scripted(completion(None, [("c0", "lookup", {"order_id": "0"})]), mixed_step())
    run = agent_on(script, log).stream("refund 1 and 2")
    events = list(run)
    assert run.result is not None and pending_ids(run.result) == ["c2", "c3"]
    calls = [(e.tool_call_id, e.tool_name, e.args, e.step) for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [
        ("c0", "lookup", {"order_id": "0"}, 0),
        ("c1", "lookup", {"order_id": "1"}, 1),
        ("c2", "refund", {"order_id": "1"}, 1),
        ("c3", "refund", {"order_id": "2"}, 1),
    ]
    results = [e for e in events if isinstance(e, ToolResultEvent)]
    assert [(e.tool_call_id, e.tool_name, e.args, e.result, e.is_error, e.step) for e in results] == [
        ("c0", "lookup", {"order_id": "0"}, "order 0: delivered", False, 0),
        ("c1", "lookup", {"order_id": "1"}, "order 1: delivered", False, 1),
    ]
    assert all(isinstance(e.duration_ms, float) and e.duration_ms > 0 for e in results)
    approvals = [(e.tool_call_id, e.tool_name, e.args, e.run_id, e.step) for e in events
                 if isinstance(e, ToolApprovalEvent)]
    assert approvals == [
        ("c2", "refund", {"order_id": "1"}, run.result.run_id, 1),
        ("c3", "refund", {"order_id": "2"}, run.result.run_id, 1),
    ]
    assert [(r.tool_call_id, r.approval) for r in run.result.tool_results] == [
        ("c0", "not-required"),
        ("c1", "not-required"),
    ]


def test_a_suspended_run_reports_the_time_it_took() -> None:
    def slow(request: httpx2.Request) -> httpx2.Response:
        time.sleep(0.05)
        return script.handler(request)

    log: list[str] = []
    script = Scripted(refund_call("c1", "1"), completion(None, [("c2", "refund", {"order_id": "2"})]), completion("ok"))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=refund_tools(log),
                  http_client=httpx2.Client(transport=httpx2.MockTransport(slow)))
    first = agent.generate("refund")
    second = agent.approve_tool_call(first.run_id, "c1")
    assert pending_ids(second) == ["c2"]
    final = agent.approve_tool_call(first.run_id, "c2")
    times = [r.latency_ms for r in (first, second, final)]
    assert all(t is not None for t in times), times
    t1, t2, t3 = (float(t or 0) for t in times)
    assert 50 <= t1 < 60_000
    assert t2 >= t1 + 50 and t3 >= t2 + 50 and t3 < 60_000  # the time of every part of the run adds up


def test_callbacks_of_the_original_call_fire_after_an_approval_in_the_same_process() -> None:
    log: list[str] = []
    finished_steps: list[int] = []
    done: list[str] = []
    agent = support_agent(log, refund_call("c1", "1"), completion("Refunded."))
    result = agent.generate(
        "refund 1",
        on_step_finish=lambda step: finished_steps.append(step.index),
        on_finish=lambda result: done.append(result.text),
    )
    assert finished_steps == [0] and done == []
    agent.approve_tool_call(result.run_id, "c1")
    assert finished_steps == [0, 1] and done == ["Refunded."]


def test_options_of_a_suspended_run_reach_an_approver_in_a_fresh_agent() -> None:
    log: list[str] = []
    first = support_agent(log, refund_call("c1", "1"))
    result = first.generate("refund 1", max_steps=1)
    script = Scripted(completion("never asked"))
    fresh = agent_on(script, log)  # as after a restart: nothing shared in memory
    final = fresh.approve_tool_call(result.run_id, "c1")
    assert log == ["refund 1"] and script.requests == []  # max_steps=1 from the stored run: no second model call
    assert final.finish_reason == "tool-calls" and any("max_steps=1" in w for w in final.warnings)
