"""Approvals that hold: persisted suspended runs, resolution from another agent or process, edited args, reasons,
several pending calls, "always approve", policies that fail closed, and no double runs."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from playground import (
    Agent,
    ApprovalError,
    InMemoryRunStore,
    SqliteRunStore,
    ToolApprovalEvent,
    ToolArgumentsError,
    ToolResultEvent,
    playground_home,
    tool,
)
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-approvals-0123456789abcdef"
REPO = Path(__file__).resolve().parent.parent


def make_tools(log: list[str]) -> list[Any]:
    @tool(requires_approval=True)
    def refund(order_id: str, amount: float = 10.0) -> str:
        """Refund an order."""
        log.append(f"refund {order_id} {amount}")
        return f"refunded {amount} on {order_id}"

    @tool
    def lookup(order_id: str) -> str:
        """Look an order up."""
        log.append(f"lookup {order_id}")
        return f"order {order_id}: delivered"

    return [refund, lookup]


def make_agent(script: Scripted, log: list[str], **kw: Any) -> Agent:
    kw.setdefault("tools", make_tools(log))
    return Agent(name="support", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), **kw)


def two_refunds() -> dict[str, Any]:
    return completion(None, [("c1", "refund", {"order_id": "1"}), ("c2", "refund", {"order_id": "2"})])


# -- persistence -------------------------------------------------------------------------------------------------


def test_sqlite_store_is_the_default_and_lives_in_playground_home(tmp_path: Path) -> None:
    agent = Agent()
    assert isinstance(agent.storage, SqliteRunStore)
    assert agent.storage.path == playground_home() / "runs.sqlite3"
    assert str(playground_home()) == os.environ["PLAYGROUND_HOME"]


def test_a_fresh_agent_approves_a_run_another_agent_suspended() -> None:
    log: list[str] = []
    first = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "42"})])), log)
    suspended = first.generate("refund 42", max_steps=4)
    assert suspended.finish_reason == "suspended" and log == []

    # a new Agent (as after a restart): same tools, nothing shared in memory
    script = Scripted(completion("Refunded order 42."))
    second = make_agent(script, log)
    resumed = second.approve_tool_call(suspended.run_id, "c1")
    assert log == ["refund 42 10.0"]
    assert resumed.finish_reason == "stop" and resumed.text == "Refunded order 42."
    assert [m["role"] for m in script.bodies[0]["messages"]] == ["user", "assistant", "tool"]
    assert script.bodies[0]["messages"][-1]["content"] == "refunded 10.0 on 42"
    assert resumed.tool_results[0].approval == "approved"


def test_stored_state_holds_no_api_key() -> None:
    log: list[str] = []
    agent = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "42"})])), log)
    result = agent.generate("refund 42", provider_options={"openai": {"user": "u1"}})
    assert result.finish_reason == "suspended"
    store = agent.storage
    assert isinstance(store, SqliteRunStore)
    raw = store.path.read_bytes()
    with sqlite3.connect(store.path) as conn:
        (state_json,) = conn.execute("SELECT state FROM runs WHERE run_id = ?", (result.run_id,)).fetchone()
    assert "refund 42" in state_json  # the conversation is there ...
    assert KEY not in state_json and KEY.encode() not in raw  # ... the key is not
    assert KEY[:12] not in state_json and KEY[-12:] not in state_json  # not even a usable part of it
    assert "Bearer sk-...cdef" in state_json  # raw requests are stored masked


def test_second_resolution_never_runs_the_tool_twice() -> None:
    log: list[str] = []
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "42"})]), completion("Done."))
    agent = make_agent(script, log)
    result = agent.generate("refund 42")
    agent.approve_tool_call(result.run_id, "c1")
    for again in (
        lambda: agent.approve_tool_call(result.run_id, "c1"),
        lambda: make_agent(Scripted(), log).approve_tool_call(result.run_id, "c1"),
        lambda: agent.decline_tool_call(result.run_id, "c1", reason="changed my mind"),
    ):
        with pytest.raises(ApprovalError, match=r"already approved, it ran once and returned 'refunded 10.0 on 42'"):
            again()
    assert log == ["refund 42 10.0"]


def test_unknown_run_and_call_are_clear_errors() -> None:
    log: list[str] = []
    agent = make_agent(Scripted(two_refunds()), log)
    with pytest.raises(ApprovalError, match="no suspended run 'run_nope'"):
        agent.approve_tool_call("run_nope", "c1")
    result = agent.generate("x")
    with pytest.raises(ApprovalError, match=r"no pending tool call 'c9'; pending calls: c1, c2"):
        agent.approve_tool_call(result.run_id, "c9")


def test_racing_threads_run_one_call_once() -> None:
    """Eight threads approve the same call through eight agents on one SQLite file: one wins, seven are refused."""
    log: list[str] = []
    result = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "42"})])), log).generate("x")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def approve() -> None:
        agent = make_agent(Scripted(completion("Done.")), log)
        barrier.wait()
        try:
            outcomes.append(agent.approve_tool_call(result.run_id, "c1").finish_reason)
        except ApprovalError:
            outcomes.append("refused")

    threads = [threading.Thread(target=approve) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log == ["refund 42 10.0"]
    assert sorted(outcomes) == ["refused"] * 7 + ["stop"]


# -- edited args, reasons, several calls -------------------------------------------------------------------------


def test_approve_with_edited_args_runs_them() -> None:
    log: list[str] = []
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "42", "amount": 500})]), completion("ok"))
    agent = make_agent(script, log)
    result = agent.generate("refund 42")
    resumed = agent.approve_tool_call(result.run_id, "c1", args={"order_id": "42", "amount": 50})
    assert log == ["refund 42 50.0"]
    assert resumed.tool_results[0].args == {"order_id": "42", "amount": 50}
    assert script.bodies[1]["messages"][-1]["content"] == "refunded 50.0 on 42"


def test_invalid_edited_args_are_rejected_naming_the_field_and_the_call_stays_pending() -> None:
    log: list[str] = []
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "42"})]), completion("ok"))
    agent = make_agent(script, log)
    result = agent.generate("refund 42")
    with pytest.raises(ToolArgumentsError, match=r"Edited arguments for tool call 'c1' \(refund\) are invalid: amount"):
        agent.approve_tool_call(result.run_id, "c1", args={"order_id": "42", "amount": "lots"})
    with pytest.raises(ToolArgumentsError, match="order_id: Field required"):
        agent.approve_tool_call(result.run_id, "c1", args={"amount": 5})
    assert log == []
    agent.approve_tool_call(result.run_id, "c1", args={"order_id": "42", "amount": 5})  # still pending: fix and retry
    assert log == ["refund 42 5.0"]


def test_decline_reason_reaches_the_model_and_tool_does_not_run() -> None:
    log: list[str] = []
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "42"})]), completion("Not refunded."))
    agent = make_agent(script, log)
    result = agent.generate("refund 42")
    resumed = agent.decline_tool_call(result.run_id, "c1", reason="over the limit")
    assert log == []
    assert script.bodies[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "The user declined this tool call; it was not run. Reason: over the limit",
    }
    assert resumed.tool_results[0].approval == "declined" and resumed.text == "Not refunded."


def test_several_pending_calls_resolved_one_by_one() -> None:
    log: list[str] = []
    script = Scripted(two_refunds(), completion("One refunded, one declined."))
    agent = make_agent(script, log)
    result = agent.generate("refund 1 and 2")
    assert result.suspend_payload is not None
    assert [c.tool_call_id for c in result.suspend_payload.pending] == ["c1", "c2"]

    partial = agent.approve_tool_call(result.run_id, "c1")
    assert partial.finish_reason == "suspended" and log == ["refund 1 10.0"]
    assert partial.suspend_payload is not None and [c.tool_call_id for c in partial.suspend_payload.pending] == ["c2"]
    assert len(script.requests) == 1  # the model is not asked again until every call is resolved

    final = agent.decline_tool_call(result.run_id, "c2", reason="duplicate")
    assert final.finish_reason == "stop" and final.text == "One refunded, one declined."
    tool_msgs = [m for m in script.bodies[1]["messages"] if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"][:20]) for m in tool_msgs] == [
        ("c1", "refunded 10.0 on 1"),
        ("c2", "The user declined th"),
    ]
    assert [r.approval for r in final.tool_results] == ["approved", "declined"]
    assert log == ["refund 1 10.0"]


async def test_async_approval_and_stream_resume() -> None:
    log: list[str] = []
    script = Scripted(two_refunds(), completion("Both done."))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=make_tools(log), http_client=script.client(),
                  async_http_client=script.async_client())
    result = await agent.generate_async("x")
    partial = await agent.approve_tool_call_async(result.run_id, "c1")
    assert partial.finish_reason == "suspended"
    run = agent.resume_stream(result.run_id, "c2", approve=True)
    events = [e async for e in run]
    assert [e.tool_call_id for e in events if isinstance(e, ToolResultEvent)] == ["c2"]
    assert run.result is not None and run.result.text.strip() == "Both done."
    assert log == ["refund 1 10.0", "refund 2 10.0"]


# -- policies ----------------------------------------------------------------------------------------------------


def test_always_approve_covers_the_rest_of_the_run() -> None:
    log: list[str] = []
    script = Scripted(
        completion(None, [("c1", "refund", {"order_id": "1"}), ("c2", "refund", {"order_id": "2"})]),
        completion(None, [("c3", "refund", {"order_id": "3"})]),
        completion("All three refunded."),
    )
    agent = make_agent(script, log)
    result = agent.generate("x")
    final = agent.approve_tool_call(result.run_id, "c1", always=True)
    assert final.finish_reason == "stop" and final.text == "All three refunded."
    assert log == ["refund 1 10.0", "refund 2 10.0", "refund 3 10.0"]
    assert [r.approval for r in final.tool_results] == ["approved", "auto", "not-required"]
    # the run's "always" does not leak into the next run
    assert make_agent(Scripted(two_refunds()), log).generate("y").finish_reason == "suspended"


def test_always_approve_for_a_session_option_and_agent_attribute() -> None:
    log: list[str] = []
    script = Scripted(two_refunds(), completion("done"))
    assert make_agent(script, log).generate("x", always_approve=["refund"]).finish_reason == "stop"
    agent = make_agent(Scripted(two_refunds(), completion("done")), log, always_approve=["refund"])
    assert agent.generate("x").finish_reason == "stop"
    agent.always_approve.discard("refund")
    agent2 = make_agent(Scripted(two_refunds()), log)
    assert agent2.generate("x").finish_reason == "suspended"


def test_tool_policy_callable_and_raising_policy_fails_closed() -> None:
    log: list[str] = []

    @tool(requires_approval=lambda args: args["amount"] > 100)
    def pay(amount: float) -> str:
        log.append(f"pay {amount}")
        return "paid"

    @tool(requires_approval=lambda args, context: not any("I am an admin" in m["content"] for m in context))
    def wipe() -> str:
        log.append("wipe")
        return "wiped"

    def run(call: tuple[str, str, dict[str, Any]], **kw: Any) -> str:
        script = Scripted(completion(None, [call]), completion("ok"))
        agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[pay, wipe], http_client=script.client())
        return agent.generate("x", **kw).finish_reason

    assert run(("c1", "pay", {"amount": 5})) == "stop"
    assert run(("c1", "pay", {"amount": 500})) == "suspended"
    admin = [{"role": "user", "content": "I am an admin"}]
    assert run(("c1", "wipe", {}), context=admin) == "stop"
    assert run(("c1", "wipe", {}), context=[{"role": "user", "content": "I am a guest"}]) == "suspended"
    assert run(("c1", "wipe", {})) == "suspended"  # context is None: the policy raises TypeError -> approval needed
    assert run(("c1", "pay", {"amount": 5}), require_tool_approval=lambda args: args["missing"]) == "suspended"
    assert log == ["pay 5.0", "wipe"]


def test_stream_announces_each_approval_request_with_the_run_id() -> None:
    log: list[str] = []
    run = make_agent(Scripted(two_refunds()), log).stream("x")
    approvals = [e for e in run if isinstance(e, ToolApprovalEvent)]
    assert run.result is not None
    assert [(a.tool_call_id, a.tool_name, a.args, a.run_id) for a in approvals] == [
        ("c1", "refund", {"order_id": "1"}, run.result.run_id),
        ("c2", "refund", {"order_id": "2"}, run.result.run_id),
    ]


def test_in_memory_store_still_works() -> None:
    log: list[str] = []
    store = InMemoryRunStore()
    agent = make_agent(Scripted(two_refunds(), completion("ok")), log, storage=store)
    result = agent.generate("x")
    assert len(store) == 1
    agent.approve_tool_call(result.run_id, "c1")
    assert agent.decline_tool_call(result.run_id, "c2").text == "ok"
    with pytest.raises(ApprovalError, match="already declined, it was not run"):
        agent.approve_tool_call(result.run_id, "c2")


# -- two processes -----------------------------------------------------------------------------------------------

_PROCESS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from playground import Agent, tool
    from tests.scripted import Scripted, completion

    mode, count_file = sys.argv[1], Path(sys.argv[2])

    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        with count_file.open("a") as f:
            f.write(order_id + "\\n")
        return "refunded " + order_id

    if mode == "suspend":
        script = Scripted(completion(None, [("c1", "refund", {"order_id": "42"})]))
        agent = Agent(model="openai-chat:gpt-test", api_key="sk-proc-secret-1234567890", tools=[refund],
                      http_client=script.client())
        r = agent.generate("refund 42")
        print(json.dumps({"run_id": r.run_id, "finish": r.finish_reason,
                          "pending": [c.tool_call_id for c in r.suspend_payload.pending]}))
    else:
        script = Scripted(completion("Refunded order 42."))
        agent = Agent(model="openai-chat:gpt-test", api_key="sk-proc-secret-1234567890", tools=[refund],
                      http_client=script.client())
        try:
            r = agent.approve_tool_call(run_id=sys.argv[3], tool_call_id="c1")
            print(json.dumps({"finish": r.finish_reason, "text": r.text}))
        except Exception as exc:
            print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    """
)


def _python(*args: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _PROCESS, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_processes_suspend_then_approve_runs_the_tool_once(tmp_path: Path) -> None:
    env = {**os.environ, "PLAYGROUND_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    count = tmp_path / "count.txt"
    first = _python("suspend", str(count), env=env)
    assert first["finish"] == "suspended" and first["pending"] == ["c1"] and not count.exists()

    second = _python("approve", str(count), first["run_id"], env=env)
    assert second == {"finish": "stop", "text": "Refunded order 42."}
    assert count.read_text() == "42\n"

    third = _python("approve", str(count), first["run_id"], env=env)  # a third process tries again
    assert third["error"] == "ApprovalError" and "it ran once" in third["message"]
    assert count.read_text() == "42\n"
    assert b"sk-proc-secret" not in (tmp_path / "home" / "runs.sqlite3").read_bytes()
