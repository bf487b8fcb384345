"""A store of one's own: `storage=` takes any object with save/load/delete (the RunStore protocol); approvals work
through it the same way (load, change, save) when it has no atomic `update`."""

from __future__ import annotations

import pytest

from playground import ApprovalError, RunState, tool
from playground.runs import PendingCall, record_decision, update_run
from tests.safety.helpers import pending_ids, refund_call, support_agent
from tests.scripted import completion


class DictStore:
    """Suspended runs in a dict of JSON strings: the smallest store a user can write."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.saves = 0

    def save(self, state: RunState) -> None:
        self.saves += 1
        self.rows[state.run_id] = state.model_dump_json()

    def load(self, run_id: str) -> RunState | None:
        raw = self.rows.get(run_id)
        return RunState.model_validate_json(raw) if raw is not None else None

    def delete(self, run_id: str) -> None:
        self.rows.pop(run_id, None)


def test_approve_and_decline_through_a_store_without_update() -> None:
    store = DictStore()
    log: list[str] = []
    one = support_agent(log, refund_call("c1", "1"), completion("Refunded."), storage=store)
    two = support_agent(log, refund_call("c1", "2"), completion("Declined."), storage=store)
    r1, r2 = one.generate("refund 1"), two.generate("refund 2")
    assert pending_ids(r1) == pending_ids(r2) == ["c1"]
    assert set(store.rows) == {r1.run_id, r2.run_id}

    assert one.approve_tool_call(r1.run_id, "c1").text == "Refunded."
    assert log == ["refund 1"]
    waiting = store.load(r2.run_id)
    assert waiting is not None and waiting.status == "suspended" and waiting.pending[0].decision is None
    assert two.decline_tool_call(r2.run_id, "c1").text == "Declined."
    assert log == ["refund 1"]
    with pytest.raises(ApprovalError, match="already approved, it ran once"):
        two.approve_tool_call(r1.run_id, "c1")


def test_update_run_without_update_loads_changes_and_saves_once() -> None:
    store = DictStore()
    store.save(RunState(run_id="run_1", status="suspended", agent_name="before"))
    saves = store.saves

    def rename(state: RunState) -> str:
        state.agent_name = "after"
        return "value"

    state, value = update_run(store, "run_1", rename)
    assert value == "value" and state.agent_name == "after" and state.run_id == "run_1"
    assert store.load("run_1").agent_name == "after"  # type: ignore[union-attr]
    assert store.saves == saves + 1

    def refuse(state: RunState) -> None:
        state.agent_name = "half-written"
        raise ApprovalError("refused")

    with pytest.raises(ApprovalError, match="refused"):
        update_run(store, "run_1", refuse)
    assert store.load("run_1").agent_name == "after"  # type: ignore[union-attr]  # nothing saved on an error
    with pytest.raises(ApprovalError, match="no suspended run 'run_gone'"):
        update_run(store, "run_gone", rename)
    assert store.saves == saves + 1


def test_a_second_answer_says_what_the_first_one_did() -> None:
    log: list[str] = []
    long_answer = "x" * 1000

    @tool(requires_approval=True)
    def export(order_id: str) -> str:
        log.append(order_id)
        return long_answer

    agent = support_agent(
        log,
        completion(None, [("c1", "export", {"order_id": "1"}), ("c2", "export", {"order_id": "2"})]),
        completion("Exported."),
        tools=[export],
    )
    result = agent.generate("export 1 and 2")
    agent.approve_tool_call(result.run_id, "c1")  # c2 still waits: the run stays suspended
    with pytest.raises(ApprovalError) as info:
        agent.approve_tool_call(result.run_id, "c1")
    message = str(info.value)
    assert message.startswith(f"run {result.run_id!r} waits on tool call 'c1' (export): it was already approved, ")
    assert "it ran once and returned 'xxxx" in message and "it is not run again" in message
    assert "x" * 200 not in message  # a long result is cut short in the message

    agent.decline_tool_call(result.run_id, "c2", reason="enough")
    with pytest.raises(ApprovalError) as info:
        agent.approve_tool_call(result.run_id, "c2")
    message = str(info.value)
    assert message.startswith(f"no suspended run {result.run_id!r} waits on tool call 'c2' (export): ")
    assert "it was already declined, it was not run; it is not run again" in message
    assert log == ["1"]


def test_recording_a_decision_keeps_the_edited_arguments_and_reason() -> None:
    state = RunState(
        run_id="run_1",
        status="suspended",
        pending=[
            PendingCall(tool_call_id="c1", tool_name="refund", args={"order_id": "1"}),
            PendingCall(tool_call_id="c2", tool_name="refund", args={"order_id": "2"}),
            PendingCall(tool_call_id="c3", tool_name="cancel", args={"order_id": "3"}),
        ],
    )
    call = record_decision(state, "c1", "approved", args={"order_id": "10"}, reason="checked", always=True)
    assert (call.tool_call_id, call.decision, call.edited_args, call.reason) == ("c1", "approved", {"order_id": "10"},
                                                                                   "checked")
    assert state.always_approve == ["refund"]
    assert [(p.tool_call_id, p.decision, p.auto) for p in state.pending] == [
        ("c1", "approved", False),
        ("c2", "approved", True),
        ("c3", None, False),
    ]
    declined = record_decision(state, "c3", "declined", reason="no", always=True)  # "always" only approves
    assert (declined.decision, declined.reason, declined.auto) == ("declined", "no", False)
    assert state.always_approve == ["refund"]


def test_a_store_without_create_still_refuses_a_stored_runs_id() -> None:
    from playground import OptionsError

    store = DictStore()
    log: list[str] = []
    first = support_agent(log, refund_call("c1", "1"), storage=store).generate("refund 1")
    with pytest.raises(OptionsError) as info:
        support_agent(log, refund_call("c1", "2"), storage=store).generate("refund 2", run_id=first.run_id)
    assert str(info.value).startswith(f"run_id: {first.run_id!r} is the id of a stored run (pending); ")
    stored = store.load(first.run_id)
    assert stored is not None and stored.pending[0].args == {"order_id": "1"}


def test_saving_a_new_run_under_a_taken_id_is_refused_by_any_store() -> None:
    """What `create_run` does when two runs are saved under one id at once and the store has no `create` of its own."""
    from playground import OptionsError
    from playground.runs import create_run

    store = DictStore()
    store.save(RunState(run_id="run_taken", status="suspended", agent_name="first"))
    with pytest.raises(OptionsError) as info:
        create_run(store, RunState(run_id="run_taken", agent_name="second"))
    assert str(info.value).startswith("run_id: 'run_taken' is the id of a stored run (pending); a new run cannot")
    assert store.load("run_taken").agent_name == "first"  # type: ignore[union-attr]
    create_run(store, RunState(run_id="run_new", agent_name="new"))
    assert store.load("run_new").agent_name == "new"  # type: ignore[union-attr]
