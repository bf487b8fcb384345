"""Several runs in one store: approving, declining or re-suspending one run never touches another.

Every run here waits on a call with the same id ("c1"), so a store that reads or writes without its `run_id` condition
(or a loop that resolves calls by call id alone) would act on the wrong run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from playground import ApprovalError, InMemoryRunStore, RunState, SqliteRunStore
from tests.safety.helpers import pending_ids, refund_call, support_agent
from tests.scripted import completion

StoreFactory = Callable[[Path], Any]
STORES: dict[str, StoreFactory] = {
    "sqlite": lambda tmp: SqliteRunStore(tmp / "runs.sqlite3"),
    "memory": lambda tmp: InMemoryRunStore(),
}


def snapshot(store: Any, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for run_id in run_ids:
        state = store.load(run_id)
        assert state is not None, f"run {run_id} vanished from the store"
        out[run_id] = state.model_dump()
    return out


@pytest.mark.parametrize("kind", list(STORES))
def test_approve_decline_and_suspend_twice_leave_the_other_runs_alone(kind: str, tmp_path: Path) -> None:
    store = STORES[kind](tmp_path)
    log: list[str] = []
    agents = {
        "a": support_agent(log, refund_call("c1", "1"), completion("Refunded 1."), storage=store),
        "b": support_agent(log, refund_call("c1", "2"), completion("Not refunded."), storage=store),
        "c": support_agent(log, refund_call("c1", "3"), completion("Refunded 3."), storage=store),
        "d": support_agent(
            log, refund_call("c1", "4"), refund_call("c2", "5"), completion("Refunded 4 and 5."), storage=store
        ),
    }
    results = {name: agent.generate(f"refund for {name}") for name, agent in agents.items()}
    runs = {name: r.run_id for name, r in results.items()}
    assert len(set(runs.values())) == 4
    assert {name: pending_ids(r) for name, r in results.items()} == {n: ["c1"] for n in agents}
    assert log == []

    def others(*names: str) -> list[str]:
        return [runs[n] for n in agents if n not in names]

    before = snapshot(store, others("a"))
    done = agents["a"].approve_tool_call(runs["a"], "c1")
    assert done.finish_reason == "stop" and done.text == "Refunded 1."
    assert log == ["refund 1"]
    assert snapshot(store, others("a")) == before  # the other runs' rows are exactly as they were

    before = snapshot(store, others("a", "b"))
    declined = agents["b"].decline_tool_call(runs["b"], "c1", reason="not eligible")
    assert declined.finish_reason == "stop" and declined.tool_results[0].approval == "declined"
    assert log == ["refund 1"]
    assert snapshot(store, others("a", "b")) == before

    before = snapshot(store, others("d"))
    again = agents["d"].approve_tool_call(runs["d"], "c1")
    assert pending_ids(again) == ["c2"] and again.run_id == runs["d"]  # suspended a second time
    assert log == ["refund 1", "refund 4"]
    assert snapshot(store, others("d")) == before

    before = snapshot(store, others("d"))
    final = agents["d"].approve_tool_call(runs["d"], "c2")
    assert final.text == "Refunded 4 and 5."
    assert snapshot(store, others("d")) == before

    # run c still waits on its own c1, with its own arguments, undecided
    waiting = store.load(runs["c"])
    assert waiting is not None and waiting.status == "suspended"
    assert [(p.tool_call_id, p.args, p.decision) for p in waiting.pending] == [("c1", {"order_id": "3"}, None)]
    assert agents["c"].approve_tool_call(runs["c"], "c1").text == "Refunded 3."
    assert log == ["refund 1", "refund 4", "refund 5", "refund 3"]

    # every run keeps its own outcome: a second answer to any of them is refused with what happened to it
    with pytest.raises(ApprovalError, match=r"already approved, it ran once and returned 'refunded 1'"):
        agents["c"].approve_tool_call(runs["a"], "c1")
    with pytest.raises(ApprovalError, match=r"already declined, it was not run"):
        agents["a"].approve_tool_call(runs["b"], "c1")
    with pytest.raises(ApprovalError, match=r"already approved, it ran once and returned 'refunded 3'"):
        agents["a"].decline_tool_call(runs["c"], "c1")
    assert log == ["refund 1", "refund 4", "refund 5", "refund 3"]


def test_sqlite_lists_only_the_runs_still_waiting_newest_first(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3")
    log: list[str] = []
    first = support_agent(log, refund_call("c1", "1"), completion("ok"), storage=store)
    r1 = first.generate("one")
    r2 = support_agent(log, refund_call("c1", "2"), storage=store).generate("two")
    r3 = support_agent(log, refund_call("c1", "3"), storage=store).generate("three")
    assert store.suspended() == [r3.run_id, r2.run_id, r1.run_id]
    first.approve_tool_call(r1.run_id, "c1")
    assert store.suspended() == [r3.run_id, r2.run_id]
    assert len(store) == 3  # the finished run is kept, so a late second approval can say what happened


@pytest.mark.parametrize("kind", list(STORES))
def test_store_operations_touch_one_run(kind: str, tmp_path: Path) -> None:
    store = STORES[kind](tmp_path)
    states = [RunState(run_id=f"run_{i}", agent_name=f"agent {i}", status="suspended") for i in range(3)]
    for s in states:
        store.save(s)
    assert len(store) == 3
    assert [store.load(s.run_id).agent_name for s in states] == ["agent 0", "agent 1", "agent 2"]  # type: ignore[union-attr]
    assert store.load("run_missing") is None

    def rename(state: RunState) -> str:
        state.agent_name = "renamed"
        return state.run_id

    state, value = store.update("run_1", rename)
    assert value == "run_1" and state.agent_name == "renamed"
    assert [store.load(s.run_id).agent_name for s in states] == ["agent 0", "renamed", "agent 2"]  # type: ignore[union-attr]

    def fail(state: RunState) -> None:
        state.agent_name = "half-written"
        raise ApprovalError("refused")

    with pytest.raises(ApprovalError, match="refused"):
        store.update("run_2", fail)
    assert store.load("run_2").agent_name == "agent 2"  # type: ignore[union-attr]  # nothing written on an error

    with pytest.raises(ApprovalError, match="no suspended run 'run_missing'"):
        store.update("run_missing", rename)

    store.delete("run_0")
    assert store.load("run_0") is None
    assert [store.load(f"run_{i}").agent_name for i in (1, 2)] == ["renamed", "agent 2"]  # type: ignore[union-attr]
    assert len(store) == 2
    store.delete("run_0")  # deleting twice is harmless
    assert len(store) == 2


@pytest.mark.parametrize("kind", list(STORES))
def test_stored_runs_are_copies(kind: str, tmp_path: Path) -> None:
    """A caller changing a state after saving or loading it does not change what the store holds."""
    store = STORES[kind](tmp_path)
    state = RunState(run_id="run_x", agent_name="before", status="suspended")
    store.save(state)
    state.agent_name = "changed after save"
    loaded = store.load("run_x")
    assert loaded is not None and loaded.agent_name == "before"
    loaded.agent_name = "changed after load"
    assert store.load("run_x").agent_name == "before"  # type: ignore[union-attr]


def test_sqlite_store_is_shared_by_every_store_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "runs.sqlite3"
    one, two = SqliteRunStore(path), SqliteRunStore(path)
    assert repr(one) == f"SqliteRunStore({str(path)!r})"
    one.save(RunState(run_id="run_1", status="suspended"))
    assert path.exists()
    assert two.load("run_1") is not None and len(two) == 1
    assert two.suspended() == ["run_1"]


def test_the_data_directory_is_playground_home_or_dot_playground(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground import playground_home

    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "data"))
    assert playground_home() == tmp_path / "data"
    assert SqliteRunStore().path == tmp_path / "data" / "runs.sqlite3"
    monkeypatch.setenv("PLAYGROUND_HOME", "~/elsewhere")
    assert playground_home() == tmp_path / "user" / "elsewhere"
    for unset in ("", None):
        if unset is None:
            monkeypatch.delenv("PLAYGROUND_HOME")
        else:
            monkeypatch.setenv("PLAYGROUND_HOME", unset)
        assert playground_home() == tmp_path / "user" / ".playground"
        assert SqliteRunStore().path == tmp_path / "user" / ".playground" / "runs.sqlite3"


def test_resolving_a_run_stored_elsewhere_says_where_it_looked(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3")
    store.save(RunState(run_id="run_here", status="suspended"))
    with pytest.raises(ApprovalError) as info:
        store.update("run_elsewhere", lambda s: None)
    assert str(info.value) == (
        f"no suspended run 'run_elsewhere' in {tmp_path / 'runs.sqlite3'}: it was never suspended here, or it was "
        "stored elsewhere (pass the same storage= or PLAYGROUND_HOME to the Agent)"
    )
