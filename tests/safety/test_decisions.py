"""Decisions on pending calls: a recorded decision holds until its call has run (no second answer overrides it, even
before a resuming process claimed it), "always approve" reaches only its tool, and a resumed step answers the model
with every call's result in the order the model asked."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import pytest

from playground import Agent, ApprovalError, InMemoryRunStore, SqliteRunStore, ToolContext, tool
from playground.runs import record_decision, update_run
from tests.safety.helpers import KEY, agent_on, pending_ids, refund_call, refund_tools, support_agent
from tests.scripted import Scripted, completion


def two_refunds() -> dict[str, Any]:
    return completion(None, [("c1", "refund", {"order_id": "1"}), ("c2", "refund", {"order_id": "2"})])


def tool_messages(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["tool_call_id"], m["content"]) for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("first", ["approved", "declined"])
def test_a_decision_recorded_but_not_yet_claimed_cannot_be_overridden(first: str) -> None:
    """Another process recorded a decision on c1 and has not resumed yet: nobody may flip or repeat it."""
    log: list[str] = []
    agent = support_agent(log, two_refunds(), completion("Done."))
    result = agent.generate("refund 1 and 2")
    assert pending_ids(result) == ["c1", "c2"]
    update_run(agent.storage, result.run_id, lambda s: record_decision(s, "c1", first, reason="checked"))  # type: ignore[arg-type]

    for again in (
        lambda: agent.approve_tool_call(result.run_id, "c1"),
        lambda: agent.decline_tool_call(result.run_id, "c1", reason="changed my mind"),
        lambda: agent.approve_tool_call(result.run_id, "c1", args={"order_id": "999"}),
    ):
        with pytest.raises(ApprovalError, match=f"already {first}"):
            again()
    assert log == []
    state = agent.storage.load(result.run_id)
    assert state is not None
    assert [(p.tool_call_id, p.decision, p.reason, p.edited_args) for p in state.pending] == [
        ("c1", first, "checked", None),
        ("c2", None, None, None),
    ]

    final = agent.approve_tool_call(result.run_id, "c2")  # resolving the last call runs the recorded decision too
    assert final.finish_reason == "stop" and final.text == "Done."
    assert log == (["refund 1", "refund 2"] if first == "approved" else ["refund 2"])
    assert [r.approval for r in final.tool_results] == [first, "approved"]


def test_recording_a_decision_refuses_unknown_calls_and_finished_runs() -> None:
    log: list[str] = []
    agent = support_agent(log, refund_call("c1", "1"), completion("Done."))
    result = agent.generate("refund 1")
    store = agent.storage
    with pytest.raises(ApprovalError, match=r"no pending tool call 'c7'; pending calls: c1"):
        update_run(store, result.run_id, lambda s: record_decision(s, "c7", "approved"))
    with pytest.raises(ApprovalError, match="no suspended run 'run_unknown'"):
        update_run(store, "run_unknown", lambda s: record_decision(s, "c1", "approved"))
    agent.approve_tool_call(result.run_id, "c1")
    with pytest.raises(ApprovalError, match=r"already approved, it ran once and returned 'refunded 1'"):
        update_run(store, result.run_id, lambda s: record_decision(s, "c1", "declined"))
    with pytest.raises(ApprovalError, match=r"not waiting for approval"):
        update_run(store, result.run_id, lambda s: record_decision(s, "c9", "approved"))
    assert log == ["refund 1"]


def test_a_call_of_an_earlier_suspension_stays_resolved_after_the_run_suspends_again() -> None:
    log: list[str] = []
    agent = support_agent(log, refund_call("c1", "4"), refund_call("c2", "5"), completion("Both refunded."))
    result = agent.generate("refund 4 and 5")
    again = agent.approve_tool_call(result.run_id, "c1")
    assert pending_ids(again) == ["c2"]
    for repeat in (
        lambda: agent.approve_tool_call(result.run_id, "c1"),
        lambda: agent.decline_tool_call(result.run_id, "c1"),
    ):
        with pytest.raises(ApprovalError, match=r"already approved, it ran once and returned 'refunded 4'"):
            repeat()
    assert agent.approve_tool_call(result.run_id, "c2").text == "Both refunded."
    assert log == ["refund 4", "refund 5"]
    for call_id, returned in (("c1", "refunded 4"), ("c2", "refunded 5")):  # both suspensions are remembered
        with pytest.raises(ApprovalError, match=rf"already approved, it ran once and returned '{returned}'"):
            agent.approve_tool_call(result.run_id, call_id)


def test_always_approve_reaches_the_same_tool_only() -> None:
    log: list[str] = []

    @tool(requires_approval=True)
    def cancel(order_id: str) -> str:
        log.append(f"cancel {order_id}")
        return f"cancelled {order_id}"

    calls = completion(
        None,
        [
            ("c1", "refund", {"order_id": "1"}),
            ("c2", "cancel", {"order_id": "2"}),
            ("c3", "refund", {"order_id": "3"}),
        ],
    )
    agent = support_agent(log, calls, completion("Done."), tools=[*refund_tools(log), cancel])
    result = agent.generate("x")
    assert pending_ids(result) == ["c1", "c2", "c3"]
    partial = agent.approve_tool_call(result.run_id, "c1", always=True)
    assert pending_ids(partial) == ["c2"]  # the other refund was approved with it; cancel still waits
    assert log == ["refund 1", "refund 3"]
    final = agent.decline_tool_call(result.run_id, "c2")
    assert [r.approval for r in final.tool_results] == ["approved", "declined", "auto"]
    assert log == ["refund 1", "refund 3"]


def test_a_step_mixing_free_and_guarded_calls_answers_the_model_in_call_order() -> None:
    log: list[str] = []
    calls = completion(
        None,
        [
            ("c1", "lookup", {"order_id": "1"}),
            ("c2", "refund", {"order_id": "1"}),
            ("c3", "lookup", {"order_id": "2"}),
            ("c4", "refund", {"order_id": "2"}),
        ],
    )
    script = Scripted(calls, completion("Done."))
    agent = agent_on(script, log)
    result = agent.generate("x")
    assert pending_ids(result) == ["c2", "c4"]
    assert log == ["lookup 1", "lookup 2"]  # the free calls ran; the guarded ones wait
    assert [r.tool_call_id for r in result.tool_results] == ["c1", "c3"]
    assert agent.decline_tool_call(result.run_id, "c4", reason="duplicate").finish_reason == "suspended"
    assert len(script.requests) == 1
    final = agent.approve_tool_call(result.run_id, "c2")
    assert final.text == "Done."
    assert log == ["lookup 1", "lookup 2", "refund 1"]
    assert tool_messages(script.bodies[1]) == [
        ("c1", "order 1: delivered"),
        ("c2", "refunded 1"),
        ("c3", "order 2: delivered"),
        ("c4", "The user declined this tool call; it was not run. Reason: duplicate"),
    ]
    assert [(r.tool_call_id, r.approval) for r in final.tool_results] == [
        ("c1", "not-required"),
        ("c3", "not-required"),
        ("c2", "approved"),
        ("c4", "declined"),
    ]


def test_resuming_without_the_tool_answers_that_it_is_not_available() -> None:
    log: list[str] = []
    first = support_agent(log, refund_call("c1", "1"))
    result = first.generate("refund 1")
    script = Scripted(completion("Could not refund."))
    no_refund = agent_on(script, log, tools=refund_tools(log)[1:], storage=first.storage)
    final = no_refund.approve_tool_call(result.run_id, "c1")
    assert log == []
    assert final.tool_results[0].is_error and "not available" in str(final.tool_results[0].result)
    assert "not available" in tool_messages(script.bodies[0])[0][1]


def test_approving_at_max_steps_runs_the_call_and_stops_with_a_warning() -> None:
    log: list[str] = []
    script = Scripted(refund_call("c1", "1"))
    agent = agent_on(script, log)
    result = agent.generate("refund 1", max_steps=1)
    final = agent.approve_tool_call(result.run_id, "c1")
    assert log == ["refund 1"] and len(script.requests) == 1
    assert final.finish_reason == "tool-calls"
    assert any("max_steps=1" in w for w in final.warnings)


def test_the_stored_run_says_what_happened_after_it_finished(tmp_path: Any) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3")
    log: list[str] = []
    agent = support_agent(log, two_refunds(), completion("Done."), storage=store)
    result = agent.generate("x")
    agent.approve_tool_call(result.run_id, "c1")
    agent.decline_tool_call(result.run_id, "c2", reason="no")
    state = store.load(result.run_id)
    assert state is not None and state.status == "finished" and state.pending == []
    assert [(c.tool_call_id, c.decision, c.done, c.result) for c in state.resolved] == [
        ("c1", "approved", True, "refunded 1"),
        ("c2", "declined", True, "The user declined this tool call; it was not run. Reason: no"),
    ]
    assert store.suspended() == []


def test_results_land_in_the_step_that_asked_for_them_across_three_steps() -> None:
    log: list[str] = []
    script = Scripted(
        completion(None, [("c1", "lookup", {"order_id": "7"})]),
        refund_call("c2", "7"),
        completion(None, [("c3", "refund", {"order_id": "8"}), ("c4", "lookup", {"order_id": "8"})]),
        completion("Refunded 7 and 8."),
    )
    agent = agent_on(script, log)
    first = agent.generate("refund 7 and 8")
    assert pending_ids(first) == ["c2"] and len(first.steps) == 2
    second = agent.approve_tool_call(first.run_id, "c2", args={"order_id": "7"})
    assert pending_ids(second) == ["c3"] and len(second.steps) == 3
    final = agent.approve_tool_call(first.run_id, "c3")
    assert final.text == "Refunded 7 and 8."
    assert [[(r.tool_call_id, r.result, r.approval) for r in s.tool_results] for s in final.steps] == [
        [("c1", "order 7: delivered", "not-required")],
        [("c2", "refunded 7", "approved")],
        [("c4", "order 8: delivered", "not-required"), ("c3", "refunded 8", "approved")],
        [],
    ]
    assert log == ["lookup 7", "refund 7", "lookup 8", "refund 8"]
    assert tool_messages(script.bodies[3])[-2:] == [("c3", "refunded 8"), ("c4", "order 8: delivered")]


def test_a_claim_is_renewed_while_its_tool_runs_and_only_that_claim() -> None:
    """A tool that runs longer than a third of the lease sees its claim renewed (so it never shows as interrupted);
    the step's other, undecided call gets no claim."""
    store = InMemoryRunStore(lease_seconds=3.0)
    seen: dict[str, Any] = {}

    @tool(requires_approval=True)
    def export(order_id: str, ctx: ToolContext) -> str:
        def claims() -> dict[str, Any]:
            state = store.load(ctx.run_id)
            assert state is not None
            return {p.tool_call_id: (p.claimed_until, p.is_interrupted()) for p in state.pending}

        first = now = claims()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = claims()
            if now["c1"][0] != first["c1"][0]:
                break
            time.sleep(0.05)
        seen.update(first=first, renewed=now)
        return f"exported {order_id}"

    calls = completion(None, [("c1", "export", {"order_id": "1"}), ("c2", "export", {"order_id": "2"})])
    agent = support_agent([], calls, completion("Done."), tools=[export], storage=store)
    result = agent.generate("export 1 and 2")
    partial = agent.approve_tool_call(result.run_id, "c1")
    assert pending_ids(partial) == ["c2"]
    (until_before, interrupted_before), (until_after, interrupted_after) = seen["first"]["c1"], seen["renewed"]["c1"]
    assert until_before is not None and until_after is not None and until_after > until_before
    assert until_after <= time.time() + 3.0  # renewed by one lease from now, no more
    assert not interrupted_before and not interrupted_after
    assert seen["first"]["c2"] == (None, False) and seen["renewed"]["c2"] == (None, False)


def test_calls_approved_together_run_one_at_a_time_in_order_and_stream_their_results() -> None:
    import threading

    from playground import ToolResultEvent

    lock = threading.Lock()
    running = most = 0
    order: list[str] = []

    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            order.append(order_id)
        time.sleep(0.1)
        with lock:
            running -= 1
        return f"refunded {order_id}"

    calls = completion(None, [(f"c{i}", "refund", {"order_id": str(i)}) for i in (1, 2, 3)])
    script = Scripted(calls, completion("Done."))
    agent = agent_on(script, [], tools=[refund])
    result = agent.generate("refund 1, 2 and 3")
    for call_id in ("c1", "c2"):  # decided elsewhere, not run yet
        update_run(agent.storage, result.run_id, lambda s, c=call_id: record_decision(s, c, "approved"))
    run = agent.resume_stream(result.run_id, "c3", approve=True, args={"order_id": "30"})
    events = [e for e in run if isinstance(e, ToolResultEvent)]
    assert most == 1 and order == ["1", "2", "30"]
    assert [(e.tool_call_id, e.tool_name, e.args, e.result, e.is_error, e.step) for e in events] == [
        ("c1", "refund", {"order_id": "1"}, "refunded 1", False, 0),
        ("c2", "refund", {"order_id": "2"}, "refunded 2", False, 0),
        ("c3", "refund", {"order_id": "30"}, "refunded 30", False, 0),
    ]
    assert all(isinstance(e.duration_ms, float) and e.duration_ms >= 100 for e in events)
    assert run.result is not None and run.result.text.strip() == "Done."
    assert all(r.duration_ms >= 100 for r in run.result.tool_results)  # the step keeps how long each took


def test_a_resume_whose_tool_now_rejects_the_stored_arguments_answers_with_the_error() -> None:
    first = support_agent([], refund_call("c1", "abc"))
    result = first.generate("refund abc")
    ran: list[int] = []

    @tool(requires_approval=True)
    def refund(order_id: int) -> str:  # the tool changed between suspension and approval
        ran.append(order_id)
        return "refunded"

    script = Scripted(completion("Could not refund."))
    final = agent_on(script, [], tools=[refund], storage=first.storage).approve_tool_call(result.run_id, "c1")
    assert ran == []
    assert final.tool_results[0].is_error and "order_id" in str(final.tool_results[0].result)
    assert tool_messages(script.bodies[0])[0][1] == final.tool_results[0].result


def test_a_partial_approval_reports_the_time_it_took() -> None:
    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        time.sleep(0.06)
        return "refunded"

    def slow(request: httpx2.Request) -> httpx2.Response:  # the first part of the run takes time too
        time.sleep(0.05)
        return script.handler(request)

    script = Scripted(completion(None, [("c1", "refund", {"order_id": "1"}), ("c2", "refund", {"order_id": "2"})]))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[refund],
                  http_client=httpx2.Client(transport=httpx2.MockTransport(slow)))
    result = agent.generate("refund 1 and 2")
    partial = agent.approve_tool_call(result.run_id, "c1")
    assert pending_ids(partial) == ["c2"]
    assert partial.latency_ms is not None and result.latency_ms is not None
    assert 50 <= result.latency_ms < 60_000
    assert result.latency_ms + 60 <= partial.latency_ms < 60_000  # both parts added up, in milliseconds


def test_the_unavailable_tool_and_max_steps_messages() -> None:
    first = support_agent([], refund_call("c1", "1"))
    result = first.generate("refund 1", max_steps=1)
    final = agent_on(Scripted(), [], tools=[], storage=first.storage).approve_tool_call(result.run_id, "c1")
    assert final.tool_results[0].result == "Tool 'refund' is not available to this agent."
    assert (
        "Stopped at max_steps=1 with tool results the model has not answered yet; raise max_steps to let it finish."
        in final.warnings
    )
