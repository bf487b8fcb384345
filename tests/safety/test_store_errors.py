"""What a person reads when the run store cannot do its job: every operation names the file, what it could not do and
the fix; a reused run id names the stored run and what to do instead; `playground runs` lists each call's state."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from playground import ApprovalError, InMemoryRunStore, OptionsError, RunState, SqliteRunStore, StorageError
from playground.runs import PendingCall
from tests.safety.helpers import pending_ids, refund_call, support_agent

HINT = "make the folder writable, set PLAYGROUND_HOME to one that is, or pass storage=InMemoryRunStore() to the Agent"

OPERATIONS: list[tuple[str, str, Callable[[SqliteRunStore], Any]]] = [
    ("save", "save the run", lambda s: s.save(RunState(run_id="run_1"))),
    ("create", "save the run", lambda s: s.create(RunState(run_id="run_1"))),
    ("load", "read the run", lambda s: s.load("run_1")),
    ("delete", "delete the run", lambda s: s.delete("run_1")),
    ("update", "update the run", lambda s: s.update("run_1", lambda state: None)),
    ("expire", "update the run", lambda s: s.expire("run_1")),
    ("suspended", "list runs", lambda s: s.suspended()),
    ("runs", "list runs", lambda s: s.runs()),
    ("list_runs", "list runs", lambda s: s.list_runs()),
    ("len", "count runs", lambda s: len(s)),
    ("prune", "prune runs", lambda s: s.prune()),
    ("schema_version", "read the schema version", lambda s: s.schema_version()),
]


@pytest.mark.parametrize(("op", "doing"), [(o, d) for o, d, _ in OPERATIONS])
def test_a_store_that_cannot_be_written_names_the_file_the_operation_and_the_fix(
    op: str, doing: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    store = SqliteRunStore(blocker / "runs.sqlite3")
    with pytest.raises(StorageError) as info:
        dict((o, f) for o, _, f in OPERATIONS)[op](store)
    message = str(info.value)
    assert message.startswith(f"run store {blocker / 'runs.sqlite3'}: could not {doing}: "), message
    assert message.endswith(f"; {HINT}"), message


def test_a_store_locked_by_another_writer_is_not_called_damaged(tmp_path: Path) -> None:
    """A busy database is a DatabaseError too: its hint must not tell the person to move a healthy file away."""
    import sqlite3

    path = tmp_path / "runs.sqlite3"
    store = SqliteRunStore(path, timeout=0.05)
    store.save(RunState(run_id="run_1", status="suspended"))
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(StorageError) as info:
            store.update("run_1", lambda state: None)
    finally:
        other.execute("ROLLBACK")
        other.close()
    message = str(info.value)
    assert message == f"run store {path}: could not update the run: database is locked; {HINT}", message
    assert store.load("run_1") is not None  # the file is fine once the other writer is done


def test_a_file_that_is_not_a_database_says_so_and_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(b"not a database " * 100)
    with pytest.raises(StorageError) as info:
        SqliteRunStore(path).load("run_1")
    message = str(info.value)
    assert message.startswith(f"run store {path}: could not read the run: file is not a database; "), message
    assert message.endswith(
        "; the file is not a SQLite database (damaged or replaced): move it away and a new one is made"
    )


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_a_new_run_cannot_take_a_stored_runs_id(kind: str, tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3") if kind == "sqlite" else InMemoryRunStore()
    log: list[str] = []
    first = support_agent(log, refund_call("c1", "1"), storage=store).generate("refund 1")
    assert pending_ids(first) == ["c1"]
    second = support_agent(log, refund_call("c1", "2"), storage=store)
    with pytest.raises(OptionsError) as info:
        second.generate("refund 2", run_id=first.run_id)
    assert str(info.value).startswith(
        f"run_id: {first.run_id!r} is the id of a stored run (pending); a new run cannot take it over, or approving "
        "that run could act on this one. Leave run_id out (a fresh id is made) or pass a new one; to resume the stored "
        "run use approve_tool_call / decline_tool_call (or `playground approve`)."
    )
    assert getattr(info.value, "field", None) == "run_id"
    waiting = store.load(first.run_id)
    assert waiting is not None and waiting.pending[0].args == {"order_id": "1"}  # the stored run is untouched
    assert log == []

    # a store's own create() refuses it too, also when two runs are saved at once under one id
    with pytest.raises(OptionsError, match=rf"run_id: {first.run_id!r} is the id of a stored run \(pending\)"):
        store.create(RunState(run_id=first.run_id))
    store.create(RunState(run_id="run_new", status="suspended"))
    assert store.load("run_new") is not None


def test_runs_are_listed_with_each_calls_state(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3", lease_seconds=60)
    now = time.time()
    state = RunState(
        run_id="run_listed",
        agent_name="support",
        status="suspended",
        pending=[
            PendingCall(tool_call_id="c1", tool_name="refund", args={"order_id": "1"}),
            PendingCall(tool_call_id="c2", tool_name="refund", args={"order_id": "2"}, decision="approved",
                        edited_args={"order_id": "20"}),
            PendingCall(tool_call_id="c3", tool_name="refund", args={}, decision="declined"),
            PendingCall(tool_call_id="c4", tool_name="refund", args={}, decision="approved", claimed_by="p",
                        claimed_until=now + 60),
            PendingCall(tool_call_id="c5", tool_name="refund", args={}, decision="approved", claimed_by="p",
                        claimed_until=now - 1),
            PendingCall(tool_call_id="c6", tool_name="refund", args={}, decision="approved", claimed_by="p",
                        claimed_until=now - 1, done=True),
        ],
    )
    store.save(state)
    store.save(RunState(run_id="run_done", agent_name="other", status="finished"))
    infos = {i.run_id: i for i in store.list_runs()}
    listed = infos["run_listed"]
    assert (listed.agent_name, listed.status) == ("support", "interrupted")
    assert [(c["id"], c["tool"], c["args"], c["state"]) for c in listed.calls] == [
        ("c1", "refund", {"order_id": "1"}, "waiting"),
        ("c2", "refund", {"order_id": "20"}, "approved"),
        ("c3", "refund", {}, "declined"),
        ("c4", "refund", {}, "running"),
        ("c5", "refund", {}, "interrupted"),
        ("c6", "refund", {}, "done"),
    ]
    assert infos["run_done"].status == "finished" and infos["run_done"].calls == []
    assert [i.run_id for i in store.list_runs("finished")] == ["run_done"]
    assert listed.created_at <= listed.updated_at


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_every_stored_run_is_listed_newest_first(kind: str, tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3") if kind == "sqlite" else InMemoryRunStore()
    for i in range(3):
        store.save(RunState(run_id=f"run_{i}", status="suspended" if i else "finished"))
        time.sleep(0.01)
    ids = [s.run_id for s in store.runs()]
    assert sorted(ids) == ["run_0", "run_1", "run_2"]
    if kind == "sqlite":
        assert ids == ["run_2", "run_1", "run_0"]


def test_expiring_a_run_closes_it_and_says_why_it_cannot(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3")
    now = time.time()
    store.save(RunState(run_id="run_wait", status="suspended", pending=[PendingCall(tool_call_id="c1", tool_name="t")]))
    store.save(RunState(run_id="run_busy", status="suspended", pending=[
        PendingCall(tool_call_id="c1", tool_name="t", decision="approved", claimed_by="p", claimed_until=now + 60),
        PendingCall(tool_call_id="c2", tool_name="t", decision="approved", claimed_by="p", claimed_until=now + 60),
    ]))
    store.save(RunState(run_id="run_dead", status="suspended", pending=[
        PendingCall(tool_call_id="c1", tool_name="t", decision="approved", claimed_by="p", claimed_until=now - 1),
    ]))
    store.save(RunState(run_id="run_left", status="running"))
    store.save(RunState(run_id="run_done", status="finished"))

    assert store.expire("run_wait").status == "expired"
    assert store.load("run_wait").status == "expired"  # type: ignore[union-attr]
    assert store.expire("run_dead").status == "expired"  # its claim ran out: nobody is running it
    assert store.expire("run_left").status == "expired"
    with pytest.raises(ApprovalError) as info:
        store.expire("run_busy")
    assert str(info.value) == (
        "run 'run_busy': tool call(s) c1, c2 are running now in another process; expire the run once they are done "
        "or interrupted"
    )
    with pytest.raises(ApprovalError) as info:
        store.expire("run_done")
    assert str(info.value) == "run 'run_done' is finished, not waiting for approval: nothing to expire"
    assert store.load("run_busy").status == "suspended"  # type: ignore[union-attr]
    assert store.load("run_done").status == "finished"  # type: ignore[union-attr]


def test_pruning_deletes_only_old_closed_runs(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "runs.sqlite3", retention_days=None)
    for status in ("finished", "failed", "expired", "suspended", "running"):
        store.save(RunState(run_id=f"run_{status}", status=status))  # type: ignore[arg-type]
    assert store.prune() == 0  # no retention: nothing is deleted
    assert store.prune(older_than_days=1) == 0  # none is a day old
    time.sleep(0.05)
    assert store.prune(older_than_days=0) == 3
    assert sorted(s.run_id for s in store.runs()) == ["run_running", "run_suspended"]
    assert store.schema_version() >= 2


def test_a_damaged_run_keeps_its_agent_and_times_in_the_listing(tmp_path: Path) -> None:
    import sqlite3

    store = SqliteRunStore(tmp_path / "runs.sqlite3")
    store.save(RunState(run_id="run_bad", agent_name="support", status="suspended"))
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET state = 'garbage', created_at = 1000.0, updated_at = 2000.0")
    [info] = store.list_runs()
    assert (info.run_id, info.agent_name, info.status, info.created_at, info.updated_at, info.calls) == (
        "run_bad", "support", "damaged", 1000.0, 2000.0, []
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_pruning_counts_days_of_24_hours(kind: str, tmp_path: Path) -> None:
    """A run finished just over a day ago is pruned by `--older-than 1`; one just under a day ago is kept."""
    if kind == "postgres":
        from tests.postgres import fresh_database

        with fresh_database("pg_prune") as url:
            from playground.store.runs_postgres import PostgresRunStore

            store = PostgresRunStore(url, retention_days=None)
            try:
                _prune_a_day(store, url)
            finally:
                store.close()
    else:
        _prune_a_day(SqliteRunStore(tmp_path / "runs.sqlite3", retention_days=None), str(tmp_path / "runs.sqlite3"))


def _prune_a_day(store: Any, where: str) -> None:
    store.save(RunState(run_id="run_old", status="finished"))
    store.save(RunState(run_id="run_young", status="finished"))
    now = time.time()
    ages = {"run_old": 86400 + 0.5, "run_young": 86400 - 30}  # a second more per day would keep run_old
    if where.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(where, autocommit=True) as conn:
            for run_id, age in ages.items():
                conn.execute("UPDATE runs SET updated_at = %s WHERE run_id = %s", (now - age, run_id))
    else:
        import sqlite3

        with sqlite3.connect(where) as conn:
            for run_id, age in ages.items():
                conn.execute("UPDATE runs SET updated_at = ? WHERE run_id = ?", (now - age, run_id))
    assert store.prune(older_than_days=1) == 1
    assert [s.run_id for s in store.runs()] == ["run_young"]


def test_a_damaged_run_is_named_with_its_file_on_load_update_and_a_reused_id(tmp_path: Path) -> None:
    """The error names the run and carries the file (`.path`), however the damaged run was reached."""
    import sqlite3

    store = SqliteRunStore(tmp_path / "runs.sqlite3")
    store.save(RunState(run_id="run_bad", agent_name="support", status="suspended"))
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET state = '{\"run_id\": 5}'")
    for reach in (lambda: store.load("run_bad"), lambda: store.update("run_bad", lambda state: None)):
        with pytest.raises(StorageError) as info:
            reach()
        assert str(info.value).startswith(f"run store {store.path}: run 'run_bad' is damaged and cannot be read (")
        assert info.value.path == str(store.path)
    with pytest.raises(StorageError) as reused:  # a new run under the damaged run's id: the stored one is unreadable
        store.create(RunState(run_id="run_bad"))
    assert str(reused.value).startswith(f"run store {store.path}: a run is damaged and cannot be read (")
    assert reused.value.path == str(store.path)


def test_a_store_a_newer_playground_wrote_is_refused_with_its_file(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "runs.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StorageError, match="schema version 99 was written by a newer playground") as info:
        SqliteRunStore(path).load("run_1")
    assert info.value.path == str(path)


def test_a_migration_that_fails_is_rolled_back_and_reported_as_itself(tmp_path: Path) -> None:
    """A file at version 1 whose table somehow has the column migration 2 adds: the migration fails, the file stays at
    version 1 with nothing half done, and the error says what SQLite refused."""
    import sqlite3

    path = tmp_path / "runs.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, agent_name TEXT, status TEXT NOT NULL, "
                     "state TEXT NOT NULL, updated_at REAL NOT NULL, created_at REAL)")
        conn.execute("PRAGMA user_version = 1")
    with pytest.raises(StorageError, match="duplicate column name: created_at"):
        SqliteRunStore(path).load("run_1")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        indexes = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")]
    assert "runs_by_status" not in indexes
