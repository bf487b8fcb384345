"""The run store: a versioned schema with migrations, files readable by their owner only, retention of finished runs,
a clear StorageError (with the model's answer kept) when the store is broken, and tool results that are not JSON."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from playground import (
    Agent,
    ApprovalError,
    ConfigurationError,
    InMemoryRunStore,
    PlaygroundError,
    SqliteRunStore,
    StorageError,
    playground_home,
    tool,
)
from playground.storage import SCHEMA_VERSION
from tests.scripted import Scripted, completion

KEY = "sk-test-SECRET-storage-0123456789abcdef"


@tool(requires_approval=True)
def refund(order_id: str) -> str:
    """Refund an order."""
    return f"refunded {order_id}"


def agent_with(script: Scripted, **kw: Any) -> Agent:
    kw.setdefault("tools", [refund])
    return Agent(name="support", model="openai-chat:gpt-test", api_key=KEY, http_client=script.client(), **kw)


def suspend(store: SqliteRunStore, text: str | None = None, order: str = "42") -> str:
    script = Scripted(completion(text, [("c1", "refund", {"order_id": order})]))
    result = agent_with(script, storage=store).generate(f"refund {order}")
    assert result.finish_reason == "suspended"
    return result.run_id


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- schema version and migrations ----------------------------------------------------------------------------------


def test_a_new_store_is_at_the_current_schema_version() -> None:
    store = SqliteRunStore()
    suspend(store)
    assert store.schema_version() == SCHEMA_VERSION >= 2
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    assert {"run_id", "status", "state", "updated_at", "created_at"} <= columns


def test_a_store_made_before_versioning_is_migrated_and_its_runs_still_resume(tmp_path: Path) -> None:
    old = SqliteRunStore(tmp_path / "old.sqlite3")
    run_id = suspend(old)
    with sqlite3.connect(old.path) as conn:  # make it look like the unversioned file of the first release
        state = conn.execute("SELECT state FROM runs").fetchone()[0]
        conn.execute("DROP TABLE runs")
        conn.execute("DROP INDEX IF EXISTS runs_by_status")
        conn.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, agent_name TEXT, status TEXT NOT NULL, state TEXT NOT NULL, "
            "updated_at REAL NOT NULL)"
        )
        conn.execute("INSERT INTO runs VALUES (?, 'support', 'suspended', ?, 1000.0)", (run_id, state))
        conn.execute("PRAGMA user_version = 0")

    reopened = SqliteRunStore(old.path, retention_days=None)
    assert reopened.schema_version() == SCHEMA_VERSION
    assert [i.run_id for i in reopened.list_runs()] == [run_id]
    assert reopened.list_runs()[0].created_at == 1000.0  # filled in by the migration
    result = agent_with(Scripted(completion("Refunded.")), storage=reopened).approve_tool_call(run_id, "c1")
    assert result.text == "Refunded."


def test_a_store_from_a_newer_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StorageError, match=rf"schema version {SCHEMA_VERSION + 5} was written by a newer playground"):
        SqliteRunStore(path).load("run_x")


# -- files readable by their owner only -------------------------------------------------------------------------------


def test_store_file_is_owner_only_and_a_folder_it_makes_too(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "made" / "here" / "runs.sqlite3")
    suspend(store)
    assert mode(store.path) == 0o600
    assert mode(store.path.parent) == 0o700
    for extra in store.path.parent.iterdir():  # journals SQLite leaves behind follow the file's mode
        assert mode(extra) & 0o077 == 0, extra


def test_default_store_in_playground_home_is_owner_only() -> None:
    home = playground_home()
    suspend(SqliteRunStore())
    assert mode(home / "runs.sqlite3") == 0o600


def test_an_existing_store_readable_by_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    path.touch()
    os.chmod(path, 0o644)
    suspend(SqliteRunStore(path))
    assert mode(path) == 0o600


# -- retention --------------------------------------------------------------------------------------------------------


def _age(store: SqliteRunStore, run_id: str, days: float) -> None:
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET updated_at = ? WHERE run_id = ?", (time.time() - days * 86400, run_id))


def _finish(store: SqliteRunStore, run_id: str) -> None:
    agent_with(Scripted(completion("done")), storage=store).approve_tool_call(run_id, "c1")


def test_finished_runs_older_than_the_retention_are_deleted_pending_ones_kept(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = SqliteRunStore(path, retention_days=7)
    old_finished, new_finished, old_pending = suspend(store), suspend(store), suspend(store)
    _finish(store, old_finished)
    _finish(store, new_finished)
    for run_id in (old_finished, old_pending):
        _age(store, run_id, 8)
    assert store.prune() == 1
    assert {i.run_id: i.status for i in store.list_runs()} == {new_finished: "finished", old_pending: "pending"}
    assert store.prune(older_than_days=0) == 1  # `playground runs prune --older-than 0`
    assert [i.run_id for i in store.list_runs()] == [old_pending]


def test_retention_applies_when_a_store_opens_the_file_and_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "runs.sqlite3"
    first = SqliteRunStore(path, retention_days=None)
    run_id = suspend(first)
    _finish(first, run_id)
    _age(first, run_id, 3)
    assert len(SqliteRunStore(path, retention_days=None)) == 1  # None keeps finished runs
    monkeypatch.setenv("PLAYGROUND_RUN_RETENTION_DAYS", "2")
    reopened = SqliteRunStore(path)
    assert reopened.retention_days == 2.0
    assert len(reopened) == 0
    monkeypatch.setenv("PLAYGROUND_RUN_RETENTION_DAYS", "never")
    assert SqliteRunStore(path).retention_days is None
    monkeypatch.delenv("PLAYGROUND_RUN_RETENTION_DAYS")
    assert SqliteRunStore(path).retention_days == 30.0
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("PLAYGROUND_RUN_RETENTION_DAYS", bad)
        with pytest.raises(ConfigurationError, match="PLAYGROUND_RUN_RETENTION_DAYS: expected a number of days"):
            SqliteRunStore(path)
    monkeypatch.delenv("PLAYGROUND_RUN_RETENTION_DAYS")
    with pytest.raises(ConfigurationError, match="retention_days: expected a number of days >= 0"):
        SqliteRunStore(path, retention_days=-3)
    with pytest.raises(ConfigurationError, match="lease_seconds"):
        SqliteRunStore(path, lease_seconds=0)


def test_an_expired_run_cannot_be_approved(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3")
    run_id, other = suspend(store), suspend(store, order="7")
    assert store.expire(run_id).status == "expired"
    with pytest.raises(ApprovalError, match=r"not waiting for approval \(status: expired\)"):
        agent_with(Scripted(completion("x")), storage=store).approve_tool_call(run_id, "c1")
    with pytest.raises(ApprovalError, match="nothing to expire"):
        store.expire(run_id)
    assert {i.run_id: i.status for i in store.list_runs()} == {run_id: "expired", other: "pending"}


# -- a broken or unwritable store -------------------------------------------------------------------------------------


def test_a_store_that_is_not_a_database_raises_storage_error_keeping_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(b"this is not a database, it was overwritten by something else" * 20)
    script = Scripted(completion("I will refund order 42 once you approve.", [("c1", "refund", {"order_id": "42"})]))
    agent = agent_with(script, storage=SqliteRunStore(path))
    with pytest.raises(StorageError) as info:
        agent.generate("refund 42")
    err = info.value
    assert isinstance(err, PlaygroundError) and err.path == str(path)
    assert str(path) in str(err) and "not a SQLite database" in str(err) and "move it away" in str(err)
    assert err.result is not None  # what was paid for is kept
    assert err.result.text == "I will refund order 42 once you approve."
    assert [c.tool_name for c in err.result.tool_calls] == ["refund"]
    assert len(script.requests) == 1
    with pytest.raises(StorageError, match="not a SQLite database"):
        agent.approve_tool_call("run_x", "c1")


def test_an_unwritable_store_location_raises_storage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PLAYGROUND_HOME", str(blocker / "home"))
    script = Scripted(completion("Refund pending.", [("c1", "refund", {"order_id": "42"})]))
    with pytest.raises(StorageError, match=r"could not save the run: .*set PLAYGROUND_HOME to one that is") as info:
        agent_with(script).generate("refund 42")
    assert info.value.result is not None and info.value.result.text == "Refund pending."
    assert KEY not in str(info.value)


# -- what a tool returns that JSON cannot hold ---------------------------------------------------------------------


class Receipt:
    def __init__(self, order_id: str) -> None:
        self.order_id = order_id

    def __str__(self) -> str:
        return f"Receipt for order {self.order_id}"


def test_a_tool_result_that_is_not_json_is_stored_as_its_text() -> None:
    @tool
    def receipt(order_id: str) -> Receipt:
        """Fetch a receipt."""
        return Receipt(order_id)

    @tool
    def tags(order_id: str) -> dict[str, Any]:
        """Tags of an order."""
        return {"order_id": order_id, "tags": {"fragile"}, "receipt": Receipt(order_id)}

    store = SqliteRunStore()
    script = Scripted(
        completion(None, [("c1", "receipt", {"order_id": "42"}), ("c2", "tags", {"order_id": "42"})]),
        completion(None, [("c3", "refund", {"order_id": "42"})]),
    )
    agent = agent_with(script, tools=[receipt, tags, refund], storage=store)
    result = agent.generate("receipt, tags, then refund 42")
    assert result.finish_reason == "suspended"
    assert isinstance(result.tool_results[0].result, Receipt)  # the caller still gets the object itself

    stored = store.load(result.run_id)
    assert stored is not None
    first = stored.steps[0].tool_results
    assert first[0].result == "Receipt for order 42"
    assert first[1].result == {"order_id": "42", "tags": ["fragile"], "receipt": "Receipt for order 42"}
    with sqlite3.connect(store.path) as conn:
        json.loads(conn.execute("SELECT state FROM runs").fetchone()[0])  # the row is JSON

    resumed = agent_with(Scripted(completion("Refunded.")), tools=[receipt, tags, refund], storage=store)
    assert resumed.approve_tool_call(result.run_id, "c3").text == "Refunded."


def test_a_store_failing_after_the_tool_ran_keeps_the_tool_result_on_the_error() -> None:
    """Approval: decide (1), claim (2), run the tool, commit (3) -- the disk fills up at the commit."""

    class FullDisk(InMemoryRunStore):
        updates = 0

        def update(self, run_id: str, mutate: Any) -> Any:
            self.updates += 1
            if self.updates == 3:
                raise StorageError("run store x: could not update the run: database or disk is full", path="x")
            return super().update(run_id, mutate)

    store = FullDisk()
    agent = agent_with(Scripted(completion(None, [("c1", "refund", {"order_id": "42"})])), storage=store)
    run_id = agent.generate("refund 42").run_id
    with pytest.raises(StorageError, match="disk is full") as info:
        agent.approve_tool_call(run_id, "c1")
    result = info.value.result
    assert result is not None and result.finish_reason == "error"
    assert [(r.tool_name, r.result, r.approval) for r in result.tool_results] == [
        ("refund", "refunded 42", "approved")
    ]


def test_a_damaged_run_is_a_storage_error_listed_as_damaged_and_deletable(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3")
    good, bad = suspend(store), suspend(store, order="7")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET state = '{\"pending\": 5}' WHERE run_id = ?", (bad,))
    with pytest.raises(StorageError, match=rf"run {bad!r} is damaged and cannot be read.*playground runs delete"):
        agent_with(Scripted(completion("x")), storage=store).approve_tool_call(bad, "c1")
    assert {i.run_id: i.status for i in store.list_runs()} == {good: "pending", bad: "damaged"}
    store.delete(bad)
    assert [i.run_id for i in store.list_runs()] == [good]
