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
import time
from pathlib import Path
from typing import Any

import pytest

from playground import (
    Agent,
    ApprovalError,
    ConfigurationError,
    InMemoryRunStore,
    OptionsError,
    PlaygroundError,
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


# -- ids from the model are not trusted ----------------------------------------------------------------------------


def _tool_messages(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["tool_call_id"], m["content"]) for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("wire_id", ["c1", ""])
def test_duplicate_or_empty_ids_get_their_own_and_one_approval_runs_one_call(wire_id: str) -> None:
    """Some OpenAI-compatible servers send "" or repeat an id: each call still gets an id of its own."""
    log: list[str] = []
    script = Scripted(
        completion(None, [(wire_id, "refund", {"order_id": "1"}), (wire_id, "refund", {"order_id": "2"})]),
        completion("One refunded, one declined."),
    )
    agent = make_agent(script, log)
    result = agent.generate("refund 1 and 2")
    assert result.suspend_payload is not None
    pending = result.suspend_payload.pending
    ids = [c.tool_call_id for c in pending]
    assert len(set(ids)) == 2 and wire_id not in ids and all(ids)
    assert [c.args["order_id"] for c in pending] == ["1", "2"]
    if wire_id:  # the model's id names two calls: refused, never guessed
        with pytest.raises(ApprovalError, match=r"gave 2 tool calls the id 'c1'.*use the run's own id"):
            agent.approve_tool_call(result.run_id, wire_id)
    else:
        with pytest.raises(ApprovalError, match="tool_call_id: expected the id of a pending call, got ''"):
            agent.approve_tool_call(result.run_id, wire_id)
    assert log == []

    partial = agent.approve_tool_call(result.run_id, ids[0])
    assert log == ["refund 1 10.0"]  # only the call approved, with its own arguments
    assert partial.finish_reason == "suspended"
    assert partial.suspend_payload is not None and [c.tool_call_id for c in partial.suspend_payload.pending] == [
        ids[1]
    ]
    final = agent.decline_tool_call(result.run_id, ids[1], reason="not this one")
    assert final.finish_reason == "stop" and final.text == "One refunded, one declined."  # finishable
    assert log == ["refund 1 10.0"]
    # the provider gets its own ids back, each result in the order of its calls
    assert _tool_messages(script.bodies[1]) == [
        (wire_id, "refunded 10.0 on 1"),
        (wire_id, "The user declined this tool call; it was not run. Reason: not this one"),
    ]
    assistant = next(m for m in script.bodies[1]["messages"] if m["role"] == "assistant")
    assert [c["id"] for c in assistant["tool_calls"]] == [wire_id, wire_id]
    assert [(r.tool_call_id, r.approval) for r in final.tool_results] == [(ids[0], "approved"), (ids[1], "declined")]


def test_duplicate_ids_among_free_tools_keep_each_result() -> None:
    log: list[str] = []
    script = Scripted(
        completion(None, [("", "lookup", {"order_id": "1"}), ("", "lookup", {"order_id": "2"})]),
        completion("Both delivered."),
    )
    result = make_agent(script, log).generate("look up 1 and 2")
    assert result.finish_reason == "stop" and log == ["lookup 1", "lookup 2"]
    assert [r.result for r in result.tool_results] == ["order 1: delivered", "order 2: delivered"]
    assert len({r.tool_call_id for r in result.tool_results}) == 2
    assert _tool_messages(script.bodies[1]) == [("", "order 1: delivered"), ("", "order 2: delivered")]


def test_an_id_reused_in_a_later_step_cannot_reach_the_earlier_call() -> None:
    """Servers that number calls per response send `call_0` again in the next step."""
    log: list[str] = []
    script = Scripted(
        completion(None, [("call_0", "refund", {"order_id": "1"})]),
        completion(None, [("call_0", "refund", {"order_id": "2", "amount": 99})]),
        completion("done"),
    )
    agent = make_agent(script, log)
    first = agent.generate("refund 1 then 2")
    second = agent.approve_tool_call(first.run_id, "call_0")
    assert log == ["refund 1 10.0"] and second.finish_reason == "suspended"
    assert second.suspend_payload is not None
    new_id = second.suspend_payload.tool_call_id
    assert new_id != "call_0" and second.suspend_payload.args == {"order_id": "2", "amount": 99}
    with pytest.raises(ApprovalError, match=rf"already approved, it ran once.*calls still waiting: {new_id}"):
        agent.approve_tool_call(first.run_id, "call_0")
    assert log == ["refund 1 10.0"]
    assert agent.approve_tool_call(first.run_id, new_id).text == "done"
    assert log == ["refund 1 10.0", "refund 2 99.0"]
    assert _tool_messages(script.bodies[2])[-1] == ("call_0", "refunded 99.0 on 2")


# -- run ids -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["sqlite", "memory"])
def test_a_new_run_cannot_take_a_stored_runs_id(store: str) -> None:
    log: list[str] = []
    storage = SqliteRunStore() if store == "sqlite" else InMemoryRunStore()
    script = Scripted(completion(None, [("c1", "refund", {"order_id": "1", "amount": 5})]))
    agent = make_agent(script, log, storage=storage)
    first = agent.generate("refund 1", run_id="run-shared")
    assert first.finish_reason == "suspended" and first.run_id == "run-shared"

    later = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "2", "amount": 500})])), log,
                       storage=storage)
    with pytest.raises(OptionsError, match=r"run_id: 'run-shared' is the id of a stored run \(pending\)"):
        later.generate("refund 2", run_id="run-shared")
    with pytest.raises(OptionsError, match="run_id"):
        later.stream("refund 2", run_id="run-shared").final_result()

    done = make_agent(Scripted(completion("Refunded 5 on order 1.")), log, storage=storage).approve_tool_call(
        "run-shared", "c1"
    )
    assert log == ["refund 1 5.0"]  # the stored call's arguments, never the later run's
    assert done.text == "Refunded 5 on order 1."
    with pytest.raises(OptionsError, match=r"stored run \(finished\)"):  # finished runs are kept: still refused
        later.generate("refund 2", run_id="run-shared")


def test_two_runs_suspending_under_one_id_at_once_store_only_the_first() -> None:
    store = SqliteRunStore()
    log: list[str] = []
    a = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "A"})])), log, storage=store)
    b = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "B"})])), log, storage=store)
    gen_a = a.prompt("a", run_id="race")
    gen_b = b.prompt("b", run_id="race")
    stream_a = iter(gen_a.stream())
    next(stream_a)  # run A has started (its run_id was free) but has not suspended yet
    assert gen_b.generate_now().finish_reason == "suspended"  # run B suspends first under the id
    with pytest.raises(OptionsError, match="'race' is the id of a stored run") as info:
        list(stream_a)
    assert info.value.result is not None  # type: ignore[attr-defined]  # what the model answered is kept
    stored = store.load("race")
    assert stored is not None and stored.pending[0].args == {"order_id": "B"}


def test_several_runs_in_one_store_are_resolved_independently() -> None:
    """Two suspended runs whose calls have the same ids: approving one never touches the other."""
    log: list[str] = []
    store = SqliteRunStore()
    a = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "A", "amount": 1})])), log, storage=store)
    b = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "B", "amount": 2})])), log, storage=store)
    run_a, run_b = a.generate("a"), b.generate("b")
    assert run_a.run_id != run_b.run_id
    resumer = make_agent(Scripted(completion("A done.")), log, storage=store)
    assert resumer.approve_tool_call(run_a.run_id, "c1").text == "A done."
    assert log == ["refund A 1.0"]
    still = store.load(run_b.run_id)
    assert still is not None and still.status == "suspended" and still.pending[0].decision is None
    resumer_b = make_agent(Scripted(completion("B declined.")), log, storage=store)
    assert resumer_b.decline_tool_call(run_b.run_id, "c1").text == "B declined."
    assert log == ["refund A 1.0"]


# -- guards that cannot be relaxed by spelling -----------------------------------------------------------------------


def test_dict_tools_honour_require_approval_in_both_spellings() -> None:
    for key in ("requireApproval", "requires_approval"):
        log: list[str] = []

        def pay(amount: float, _log: list[str] = log) -> str:
            _log.append(f"pay {amount}")
            return "paid"

        mastra_tool = {
            "id": "pay",
            "description": "Pay an amount.",
            "inputSchema": {"type": "object", "properties": {"amount": {"type": "number"}}, "required": ["amount"]},
            "execute": pay,
            key: True,
        }
        script = Scripted(completion(None, [("c1", "pay", {"amount": 5})]), completion("ok"))
        agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[mastra_tool], http_client=script.client())
        result = agent.generate("pay 5")
        assert result.finish_reason == "suspended" and log == [], key
        agent.approve_tool_call(result.run_id, "c1")
        assert log == ["pay 5"]


@pytest.mark.parametrize(
    ("tool_dict", "message"),
    [
        ({"description": "x", "requireApproveal": True}, r"unknown key\(s\) \['requireApproveal'\]"),
        ({"description": "x", "require_approval": True}, r"unknown key\(s\) \['require_approval'\]"),
        ({"requireApproval": True, "requires_approval": False}, "two spellings of one setting"),
        ({"requireApproval": "no"}, "requires_approval: expected True, False or a function"),
        ({"requires_approval": None}, "requires_approval: expected True, False or a function"),
        ({"requireApproval": 0}, "requires_approval: expected True, False or a function"),
    ],
)
def test_a_tool_dict_that_could_drop_a_guard_is_refused(tool_dict: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Agent(tools={"wipe": {**tool_dict, "execute": lambda: "wiped"}})
    with pytest.raises(ConfigurationError, match=message):
        Agent().generate("x", client_tools={"wipe": tool_dict})


@pytest.mark.parametrize("value", ["no", "false", 0, None, "yes"])
def test_require_tool_approval_takes_a_bool_or_a_function_only(value: Any) -> None:
    log: list[str] = []
    script = Scripted(completion(None, [("c1", "lookup", {"order_id": "1"})]), completion("ok"))
    agent = make_agent(script, log)
    with pytest.raises(ConfigurationError, match="require_tool_approval: expected True, False or a function"):
        agent.generate("x", require_tool_approval=value)
    with pytest.raises(ConfigurationError, match="requireToolApproval: expected True, False or a function"):
        agent.generate("x", requireToolApproval=value)
    with pytest.raises(ConfigurationError, match="require_tool_approval"):
        make_agent(script, log, default_options={"require_tool_approval": value}).generate("x")
    assert script.requests == [] and log == []

    def wipe() -> str:
        return "wiped"

    with pytest.raises(ConfigurationError, match="requires_approval: expected True, False or a function"):
        tool(requires_approval=value)(wipe)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), "NaN", "inf", "-Infinity"])
def test_non_finite_numbers_are_invalid_arguments(bad: Any) -> None:
    """`amount > 100` is False for NaN: a policy on numbers must not be slipped by one."""
    log: list[str] = []

    @tool(requires_approval=lambda args: args["amount"] > 100)
    def pay(amount: float) -> str:
        log.append(f"pay {amount}")
        return "paid"

    raw = '{"amount": %s}' % ("NaN" if bad != bad else str(bad) if isinstance(bad, float) else json.dumps(bad))
    reply = completion(None, [("c1", "pay", {"amount": 1})])
    reply["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = raw.replace("inf", "Infinity")
    script = Scripted(reply, completion("could not pay"))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[pay], http_client=script.client())
    result = agent.generate("pay")
    assert log == []
    assert result.tool_results[0].is_error
    assert "Invalid arguments for tool 'pay': amount: " in result.tool_results[0].result
    assert "is not a finite number" in result.tool_results[0].result

    # edited arguments too
    script = Scripted(completion(None, [("c1", "pay", {"amount": 500})]), completion("ok"))
    agent = Agent(model="openai-chat:gpt-test", api_key=KEY, tools=[pay], http_client=script.client())
    suspended = agent.generate("pay 500")
    assert suspended.finish_reason == "suspended"
    with pytest.raises(ToolArgumentsError, match=r"Edited arguments for tool call 'c1' \(pay\) are invalid: amount"):
        agent.approve_tool_call(suspended.run_id, "c1", args={"amount": bad})
    assert log == []


# -- claims carry a lease: a crash mid-tool leaves the call interrupted, never stuck, never re-run on its own ------


class Crash(BaseException):
    """What a kill looks like from inside: not an Exception, nothing catches it."""


def _crashing_refund(log: list[str], crash: list[bool]) -> Any:
    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        log.append(f"refund {order_id}")
        if crash:
            crash.pop()
            raise Crash()
        return f"refunded {order_id}"

    return refund


def _wait_until_interrupted(store: SqliteRunStore, run_id: str) -> None:
    for _ in range(200):
        state = store.load(run_id)
        if state is not None and state.lifecycle() == "interrupted":
            return
        time.sleep(0.02)
    raise AssertionError("the claim never ran out")


def test_a_crash_while_an_approved_tool_runs_leaves_the_call_interrupted_then_a_retry_runs_it() -> None:
    log: list[str] = []
    store = SqliteRunStore(lease_seconds=0.3)
    refund = _crashing_refund(log, [True])
    agent = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "42"})])), log, tools=[refund],
                       storage=store)
    run_id = agent.generate("refund 42").run_id
    with pytest.raises(Crash):
        agent.approve_tool_call(run_id, "c1")
    assert log == ["refund 42"]
    state = store.load(run_id)
    assert state is not None and state.lifecycle() == "pending" and state.pending[0].claimed_by is not None
    again = make_agent(Scripted(completion("x")), log, tools=[refund], storage=store)
    with pytest.raises(ApprovalError, match="being resolved now by another process"):  # its lease still holds
        again.approve_tool_call(run_id, "c1")

    _wait_until_interrupted(store, run_id)
    assert log == ["refund 42"]  # nothing re-ran it on its own
    listed = {i.run_id: i for i in store.list_runs()}
    assert listed[run_id].status == "interrupted" and listed[run_id].calls[0]["state"] == "interrupted"

    script = Scripted(completion("Refunded order 42."))
    retried = make_agent(script, log, tools=[refund], storage=store).approve_tool_call(run_id, "c1")  # a retry
    assert retried.text == "Refunded order 42." and log == ["refund 42", "refund 42"]
    assert script.bodies[0]["messages"][-1]["content"] == "refunded 42"
    with pytest.raises(ApprovalError, match="already approved, it ran once"):
        again.approve_tool_call(run_id, "c1")


def test_an_interrupted_call_can_be_declined_and_the_model_is_told_it_may_have_partly_run() -> None:
    log: list[str] = []
    store = SqliteRunStore(lease_seconds=0.2)
    refund = _crashing_refund(log, [True])
    agent = make_agent(Scripted(two_refunds()), log, tools=[refund], storage=store)
    run_id = agent.generate("refund 1 and 2").run_id
    with pytest.raises(Crash) as crashed:  # kept, as Jupyter keeps the last traceback: the process lives on
        agent.approve_tool_call(run_id, "c1")
    _wait_until_interrupted(store, run_id)
    assert crashed.traceback  # still held while the call showed as interrupted
    script = Scripted(completion("Order 1 may be refunded; order 2 was not."))
    resumer = make_agent(script, log, tools=[refund], storage=store)
    waiting = resumer.decline_tool_call(run_id, "c2", reason="no")
    assert waiting.finish_reason == "suspended"  # c1 is interrupted: it waits for a person, not for a process
    assert waiting.suspend_payload is not None and [c.tool_call_id for c in waiting.suspend_payload.pending] == ["c1"]
    final = resumer.decline_tool_call(run_id, "c1", reason="check by hand")
    assert final.finish_reason == "stop" and log == ["refund 1"]
    assert _tool_messages(script.bodies[0])[0] == (
        "c1",
        "An earlier attempt at this tool call was interrupted (the process running it stopped), so it may have partly "
        "run; the user declined to retry it. Reason: check by hand",
    )


def test_a_live_lease_is_renewed_while_a_slow_tool_runs() -> None:
    """A tool slower than the lease is not reported interrupted while its process lives (and no one can re-run it)."""
    log: list[str] = []
    store = SqliteRunStore(lease_seconds=0.3)
    started = threading.Event()

    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        started.set()
        time.sleep(1.0)
        log.append(f"refund {order_id}")
        return "ok"

    agent = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "1"})]), completion("done")), log,
                       tools=[refund], storage=store)
    run_id = agent.generate("x").run_id
    worker = threading.Thread(target=agent.approve_tool_call, args=(run_id, "c1"))
    worker.start()
    started.wait(5)
    seen: set[str] = set()
    while worker.is_alive():
        state = store.load(run_id)
        assert state is not None
        seen.add(state.lifecycle())
        if state.status == "suspended":
            with pytest.raises(ApprovalError, match=r"being resolved now|it ran once"):  # (it may just have ended)
                make_agent(Scripted(), log, tools=[refund], storage=store).approve_tool_call(run_id, "c1")
        time.sleep(0.05)
    worker.join()
    assert "interrupted" not in seen and log == ["refund 1"]


@pytest.mark.parametrize("value", ["no", 0, None])
def test_approve_and_always_take_booleans_only(value: Any) -> None:
    log: list[str] = []
    agent = make_agent(Scripted(two_refunds(), completion("ok")), log)
    result = agent.generate("x")
    with pytest.raises(ApprovalError, match="approve: expected True or False"):
        agent.resume_stream(result.run_id, "c1", approve=value)
    with pytest.raises(ApprovalError, match="always: expected True or False"):
        agent.approve_tool_call(result.run_id, "c1", always=value)
    assert log == []
    state = agent.storage.load(result.run_id)
    assert state is not None and [p.decision for p in state.pending] == [None, None] and state.always_approve == []


def test_a_run_whose_model_call_fails_after_approval_is_stored_as_failed_not_left_running() -> None:
    log: list[str] = []
    store = SqliteRunStore()
    agent = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "42"})])), log, storage=store)
    run_id = agent.generate("refund 42").run_id
    failing = make_agent(Scripted((400, {"error": {"message": "bad request", "code": "bad"}})), log, storage=store)
    with pytest.raises(PlaygroundError) as info:
        failing.approve_tool_call(run_id, "c1")
    assert log == ["refund 42 10.0"]
    assert info.value.result.tool_results[0].result == "refunded 10.0 on 42"  # type: ignore[attr-defined]
    stored = store.load(run_id)
    assert stored is not None and stored.lifecycle() == "failed"
    assert {i.run_id: i.status for i in store.list_runs()} == {run_id: "failed"}
    with pytest.raises(ApprovalError, match="already approved, it ran once"):
        make_agent(Scripted(completion("x")), log, storage=store).approve_tool_call(run_id, "c1")
    assert log == ["refund 42 10.0"]


def test_a_decision_whose_process_died_before_claiming_it_does_not_leave_the_call_stuck() -> None:
    """The process recorded the approval, then died before it claimed (started) the call."""
    from playground.runs import record_decision, update_run

    log: list[str] = []
    store = SqliteRunStore(lease_seconds=0.2)
    agent = make_agent(Scripted(completion(None, [("c1", "refund", {"order_id": "42"})])), log, storage=store)
    run_id = agent.generate("refund 42").run_id
    update_run(store, run_id, lambda s: record_decision(s, "c1", "approved", lease=0.2))
    with pytest.raises(ApprovalError, match="being resolved now by another process"):
        make_agent(Scripted(), log, storage=store).approve_tool_call(run_id, "c1")
    _wait_until_interrupted(store, run_id)
    assert log == []
    script = Scripted(completion("Refunded."))
    assert make_agent(script, log, storage=store).approve_tool_call(run_id, "c1").text == "Refunded."
    assert log == ["refund 42 10.0"]
    stored = store.load(run_id)
    assert stored is not None and stored.resolved[0].interrupted == 0  # it never started: not counted as a crash
