"""One suite for both run stores: SqliteRunStore (the default) and PostgresRunStore (PLAYGROUND_DATABASE_URL), run
against a real PostgreSQL server.

PostgreSQL is found at $PLAYGROUND_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres); each test
module makes its own database `pg_test_<random>` and drops it afterwards. Unreachable: the PostgreSQL cases skip with
the reason, except under CI=true, where they fail instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from playground import Agent, ApprovalError, ConfigurationError, OptionsError, SqliteRunStore, StorageError
from playground.runs import ClaimLease, PendingCall, RunState, record_decision, update_run
from playground.storage import SCHEMA_VERSION as SQLITE_SCHEMA_VERSION
from playground.storage import default_run_store, open_run_store
from playground.store.runs_postgres import SCHEMA_VERSION as PG_SCHEMA_VERSION
from playground.store.runs_postgres import PostgresRunStore
from tests.postgres import fresh_database
from tests.safety.helpers import REPO, pending_ids, support_agent
from tests.scripted import completion

Store = SqliteRunStore | PostgresRunStore


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh run store lives, for each backend: a SQLite file path or a PostgreSQL URL (tables emptied)."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.sqlite3")
    url: str = request.getfixturevalue("pg_database")
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS runs, schema_versions")
    return url


@pytest.fixture
def open_store(where: str) -> Iterator[Callable[..., Store]]:
    """Opens stores at `where` (each one as a separate process would) and closes them after the test."""
    made: list[Store] = []

    def make(**options: Any) -> Store:
        store = open_run_store(where, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        if isinstance(store, PostgresRunStore):
            store.close()


def is_pg(where: str) -> bool:
    return where.startswith("postgresql://")


def raw_sql(where: str, sql: str, *params: Any) -> None:
    """Change the stored data behind the store's back (as an older playground or a broken disk would)."""
    if is_pg(where):
        import psycopg

        with psycopg.connect(where, autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
    else:
        import sqlite3

        with sqlite3.connect(where) as conn:
            conn.execute(sql, params)


def waiting_run(run_id: str, *calls: str, agent: str = "support") -> RunState:
    return RunState(
        run_id=run_id, agent_name=agent, status="suspended",
        pending=[PendingCall(tool_call_id=c, tool_name="refund", args={"order_id": c}) for c in calls],
    )


# -- save, load, create ---------------------------------------------------------------------------------------------


def test_save_load_and_create_refusing_a_stored_runs_id(open_store: Callable[..., Store]) -> None:
    store = open_store()
    first = waiting_run("run_a", "c1")
    store.create(first)
    loaded = store.load("run_a")
    assert loaded is not None and loaded.dump() == first.dump()
    assert store.load("run_missing") is None

    intruder = waiting_run("run_a", "c9", agent="other")
    with pytest.raises(OptionsError, match=r"run_id: 'run_a' is the id of a stored run \(pending\)"):
        store.create(intruder)
    kept = store.load("run_a")
    assert kept is not None and [p.tool_call_id for p in kept.pending] == ["c1"] and kept.agent_name == "support"

    first.warnings.append("saved again")
    store.save(first)  # save overwrites: that is how a run's own progress is written
    again = store.load("run_a")
    assert again is not None and again.warnings == ["saved again"]
    assert len(store) == 1
    store.delete("run_a")
    assert store.load("run_a") is None and len(store) == 0


def test_a_tool_result_that_is_not_json_is_stored_as_its_text(open_store: Callable[..., Store]) -> None:
    store = open_store()
    state = waiting_run("run_b", "c1")
    class Money:
        def __str__(self) -> str:
            return "12.50 EUR"

    state.pending[0].result = Money()
    store.save(state)
    loaded = store.load("run_b")
    assert loaded is not None and loaded.pending[0].result == "12.50 EUR"


def test_update_writes_all_or_nothing_and_names_an_unknown_run(open_store: Callable[..., Store]) -> None:
    store = open_store()
    store.create(waiting_run("run_u", "c1", "c2"))

    def half_then_fail(state: RunState) -> None:
        record_decision(state, "c1", "approved")
        raise ApprovalError("changed my mind")

    with pytest.raises(ApprovalError, match="changed my mind"):
        store.update("run_u", half_then_fail)
    state = store.load("run_u")
    assert state is not None and [p.decision for p in state.pending] == [None, None]

    new_state, value = store.update("run_u", lambda s: record_decision(s, "c2", "declined", reason="no").tool_call_id)
    assert value == "c2" and new_state.pending[1].decision == "declined"
    state = store.load("run_u")
    assert state is not None and state.pending[1].reason == "no"

    with pytest.raises(ApprovalError, match="no suspended run 'run_nope'"):
        store.update("run_nope", lambda s: None)


# -- two processes on one run -----------------------------------------------------------------------------------

_INCREMENT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from playground.storage import open_run_store

    where, run_id, call_id, folder, rounds = sys.argv[1:6]
    store = open_run_store(where)
    Path(folder, "ready-" + call_id).touch()
    deadline = time.monotonic() + 60
    while len(list(Path(folder).glob("ready-*"))) < 2:
        assert time.monotonic() < deadline, "barrier timed out"
        time.sleep(0.01)

    def bump(state):
        count = state.options.get("count", 0)
        time.sleep(0.005)  # read, wait, write: two unserialised writers would lose each other's bumps
        state.options["count"] = count + 1
        state.options.setdefault("by", []).append(call_id)

    for _ in range(int(rounds)):
        store.update(run_id, bump)

    def decide(state):
        from playground.runs import record_decision
        record_decision(state, call_id, "approved")
        time.sleep(0.2)  # hold the row while the other process tries
    store.update(run_id, decide)
    print(json.dumps({"done": call_id}))
    """
)


def test_two_processes_updating_one_run_lose_no_update(
    where: str, open_store: Callable[..., Store], tmp_path: Path
) -> None:
    store = open_store()
    store.create(waiting_run("run_c", "c1", "c2"))
    folder = tmp_path / "barrier"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _INCREMENT, where, "run_c", cid, str(folder), "25"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
        )
        for cid in ("c1", "c2")
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1])["done"] in ("c1", "c2")
    state = store.load("run_c")
    assert state is not None
    assert state.options["count"] == 50  # every read-modify-write of both processes kept
    assert sorted(state.options["by"]) == ["c1"] * 25 + ["c2"] * 25
    assert [(p.tool_call_id, p.decision) for p in state.pending] == [("c1", "approved"), ("c2", "approved")]


# -- several runs in one store --------------------------------------------------------------------------------------


def test_several_runs_in_one_store_approving_one_touches_no_other(open_store: Callable[..., Store]) -> None:
    store = open_store()
    log: list[str] = []
    agent_a = support_agent(log, completion(None, [("c1", "refund", {"order_id": "42"})]), storage=store)
    agent_b = support_agent(
        log, completion(None, [("c1", "refund", {"order_id": "7"})]), completion("Refunded 7."), storage=store
    )
    first = agent_a.generate("refund 42")
    second = agent_b.generate("refund 7")
    assert pending_ids(first) == pending_ids(second) == ["c1"]  # the same call id in two runs
    before = {i.run_id: (i.updated_at, i.status) for i in store.list_runs()}
    raw_first = store.load(first.run_id)
    assert raw_first is not None

    done = agent_b.approve_tool_call(second.run_id, "c1")
    assert done.text == "Refunded 7." and log == ["refund 7"]
    after = {i.run_id: (i.updated_at, i.status) for i in store.list_runs()}
    assert after[first.run_id] == before[first.run_id] == (before[first.run_id][0], "pending")
    assert after[second.run_id][1] == "finished"
    untouched = store.load(first.run_id)
    assert untouched is not None and untouched.dump() == raw_first.dump()
    assert store.suspended() == [first.run_id]


# -- leases and interrupted calls -------------------------------------------------------------------------------


def test_a_claim_whose_lease_ran_out_shows_interrupted_and_a_retry_runs_it_once(
    open_store: Callable[..., Store],
) -> None:
    store = open_store(lease_seconds=30)
    log: list[str] = []
    agent = support_agent(log, completion(None, [("c1", "refund", {"order_id": "1"})]), completion("Done."),
                          storage=store)
    result = agent.generate("refund 1")

    def crashed_claim(state: RunState) -> None:  # a process decided, claimed c1, then died: its lease ran out
        call = record_decision(state, "c1", "approved", lease=30)
        call.claimed_by = "dead-process"
        call.claimed_until = time.time() - 1
        call.attempts = 1

    update_run(store, result.run_id, crashed_claim)
    listed = store.list_runs()
    assert [(i.status, i.calls[0]["state"]) for i in listed] == [("interrupted", "interrupted")]
    assert store.list_runs("interrupted")[0].run_id == result.run_id and store.list_runs("pending") == []

    final = agent.approve_tool_call(result.run_id, "c1")  # approving an interrupted call retries it
    assert final.text == "Done." and log == ["refund 1"]
    state = store.load(result.run_id)
    assert state is not None and state.status == "finished"
    done = next(c for c in (*state.pending, *state.resolved) if c.tool_call_id == "c1")
    assert done.interrupted == 1 and done.attempts == 2 and done.done


def test_a_lease_is_renewed_in_the_store_while_the_tool_runs(open_store: Callable[..., Store]) -> None:
    store = open_store(lease_seconds=0.6)
    state = waiting_run("run_l", "c1", "c2")
    state.pending[0].decision = state.pending[1].decision = "approved"
    state.pending[0].claimed_by, state.pending[0].claimed_until = "me", time.time() + 0.6
    state.pending[1].claimed_by, state.pending[1].claimed_until = "someone-else", time.time() + 0.6
    store.create(state)
    with ClaimLease(store, "run_l", "me", 0.6):
        time.sleep(1.5)  # longer than the lease: only renewals keep it alive
        mine = store.load("run_l")
    assert mine is not None
    assert not mine.pending[0].is_interrupted()  # renewed
    assert mine.pending[1].is_interrupted()  # not this process's claim: left to run out


# -- listing, expiring, deleting, retention ---------------------------------------------------------------------


def test_listing_is_newest_first_with_statuses_and_calls(open_store: Callable[..., Store]) -> None:
    store = open_store()
    store.create(waiting_run("run_1", "c1"))
    time.sleep(0.01)
    store.create(waiting_run("run_2", "c1", "c2"))
    time.sleep(0.01)
    finished = waiting_run("run_3", "c1")
    finished.status = "finished"
    store.create(finished)
    infos = store.list_runs()
    assert [(i.run_id, i.status) for i in infos] == [("run_3", "finished"), ("run_2", "pending"), ("run_1", "pending")]
    assert infos[1].calls == [
        {"id": "c1", "tool": "refund", "args": {"order_id": "c1"}, "state": "waiting"},
        {"id": "c2", "tool": "refund", "args": {"order_id": "c2"}, "state": "waiting"},
    ]
    assert all(i.created_at <= i.updated_at for i in infos) and infos[0].agent_name == "support"
    assert [i.run_id for i in store.list_runs("pending")] == ["run_2", "run_1"]
    assert [s.run_id for s in store.runs()] == ["run_3", "run_2", "run_1"]
    assert store.suspended() == ["run_2", "run_1"]


def test_expire_closes_a_waiting_run_and_refuses_others(open_store: Callable[..., Store]) -> None:
    store = open_store()
    store.create(waiting_run("run_e", "c1"))
    busy = waiting_run("run_busy", "c1")
    busy.pending[0].decision, busy.pending[0].claimed_by = "approved", "live"
    busy.pending[0].claimed_until = time.time() + 60
    store.create(busy)
    assert store.expire("run_e").status == "expired"
    with pytest.raises(ApprovalError, match="not waiting for approval: nothing to expire"):
        store.expire("run_e")
    with pytest.raises(ApprovalError, match=r"tool call\(s\) c1 are running now in another process"):
        store.expire("run_busy")
    with pytest.raises(ApprovalError, match="no suspended run 'run_gone'"):
        store.expire("run_gone")
    with pytest.raises(ApprovalError, match=r"status: expired"):
        store.update("run_e", lambda s: record_decision(s, "c1", "approved"))
    listed = {i.run_id: (i.status, [c["state"] for c in i.calls]) for i in store.list_runs()}
    assert listed == {"run_e": ("expired", ["waiting"]), "run_busy": ("pending", ["running"])}


def test_prune_and_retention_delete_only_old_closed_runs(open_store: Callable[..., Store]) -> None:
    store = open_store(retention_days=None)
    for run_id, status in (("run_w", "suspended"), ("run_f", "finished"), ("run_x", "expired"), ("run_r", "failed")):
        state = waiting_run(run_id, "c1")
        state.status = status  # type: ignore[assignment]
        store.create(state)
    assert store.prune() == 0  # no retention: nothing without an explicit age
    assert store.prune(older_than_days=1) == 0  # all just written
    time.sleep(0.01)
    reopened = open_store(retention_days=0)  # a store opened with retention 0 prunes every closed run on first use
    assert [i.run_id for i in reopened.list_runs()] == ["run_w"]
    assert store.prune(0) == 0


def test_retention_from_the_environment_and_bad_values(
    open_store: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_RUN_RETENTION_DAYS", "never")
    assert open_store().retention_days is None
    monkeypatch.setenv("PLAYGROUND_RUN_RETENTION_DAYS", "soon")
    with pytest.raises(ConfigurationError, match="PLAYGROUND_RUN_RETENTION_DAYS: expected a number of days"):
        open_store()
    monkeypatch.delenv("PLAYGROUND_RUN_RETENTION_DAYS")
    with pytest.raises(ConfigurationError, match="lease_seconds: expected a number of seconds > 0"):
        open_store(lease_seconds=0)


def test_a_damaged_row_is_listed_as_damaged_and_can_be_deleted(where: str, open_store: Callable[..., Store]) -> None:
    store = open_store()
    store.create(waiting_run("run_ok", "c1"))
    store.create(waiting_run("run_bad", "c1"))
    raw_sql(where, "UPDATE runs SET state = ? WHERE run_id = ?", '{"not": "a run"}', "run_bad")
    assert {i.run_id: i.status for i in store.list_runs()} == {"run_ok": "pending", "run_bad": "damaged"}
    with pytest.raises(StorageError, match=r"run 'run_bad' is damaged .*playground runs delete RUN_ID"):
        store.load("run_bad")
    store.delete("run_bad")
    assert [i.run_id for i in store.list_runs()] == ["run_ok"]


# -- schema version -----------------------------------------------------------------------------------------------


def test_the_schema_is_versioned_and_reopening_keeps_the_runs(where: str, open_store: Callable[..., Store]) -> None:
    expected = PG_SCHEMA_VERSION if is_pg(where) else SQLITE_SCHEMA_VERSION
    store = open_store()
    store.create(waiting_run("run_v", "c1"))
    assert store.schema_version() == expected >= 2
    again = open_store()  # migrations run again (another server starting) and change nothing
    assert again.schema_version() == expected
    assert [i.run_id for i in again.list_runs()] == ["run_v"]


def test_a_schema_from_a_newer_playground_is_refused(where: str, open_store: Callable[..., Store]) -> None:
    open_store().create(waiting_run("run_n", "c1"))
    if is_pg(where):
        raw_sql(where, "UPDATE schema_versions SET version = ? WHERE component = 'runs'", 99)
    else:
        raw_sql(where, "PRAGMA user_version = 99")
    with pytest.raises(StorageError, match="schema version 99 was written by a newer playground"):
        open_store().load("run_n")


def test_a_postgres_database_at_version_1_is_migrated(pg_database: str) -> None:
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS runs, schema_versions")
        conn.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, agent_name TEXT, status TEXT NOT NULL, state TEXT NOT NULL, "
            "created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)"
        )
        conn.execute("CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_versions VALUES ('runs', 1), ('memory', 2)")
        conn.execute(
            "INSERT INTO runs VALUES ('run_old', 'support', 'suspended', %s, 1000.0, 1000.0)",
            (waiting_run("run_old", "c1").dump(),),
        )
    store = PostgresRunStore(pg_database)
    try:
        assert store.schema_version() == PG_SCHEMA_VERSION
        assert [(i.run_id, i.status, i.created_at) for i in store.list_runs()] == [("run_old", "pending", 1000.0)]
        with psycopg.connect(pg_database, autocommit=True) as conn:
            indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'runs'")}
            versions = dict(conn.execute("SELECT component, version FROM schema_versions").fetchall())
        assert "runs_by_status" in indexes
        assert versions == {"runs": PG_SCHEMA_VERSION, "memory": 2}  # the memory store's version left alone
    finally:
        store.close()


# -- choosing the store ---------------------------------------------------------------------------------------------


def test_the_factory_picks_postgres_by_url_and_sqlite_otherwise(
    pg_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PLAYGROUND_DATABASE_URL", raising=False)
    default = open_run_store()
    assert isinstance(default, SqliteRunStore) and default.path.name == "runs.sqlite3"
    assert isinstance(Agent(name="a").storage, SqliteRunStore)
    file_store = open_run_store(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert isinstance(file_store, SqliteRunStore) and file_store.path == tmp_path / "x.sqlite3"
    with pytest.raises(ConfigurationError, match=r"unsupported URL mysql://\.\.\..*postgresql://"):
        open_run_store("mysql://db/runs")

    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", pg_database)
    agent_store = Agent(name="a").storage
    assert isinstance(agent_store, PostgresRunStore) and agent_store.url == pg_database
    assert default_run_store() is agent_store  # one pool per URL in a process, shared by its agents
    assert isinstance(open_run_store(), PostgresRunStore)


def test_a_postgres_store_never_shows_its_password(pg_database: str) -> None:
    url = pg_database.replace("postgres@", "postgres:s3cret-pw@").replace(":5432/", ":1/")
    store = PostgresRunStore(url, timeout=2)
    assert "s3cret" not in repr(store) and "s3cret" not in store.path and ":***@" in store.path
    with pytest.raises(StorageError) as caught:
        store.load("run_x")
    assert "s3cret" not in str(caught.value) and "could not read the run" in str(caught.value)
    assert "PLAYGROUND_DATABASE_URL" in str(caught.value)
    with pytest.raises(ConfigurationError, match="url: expected a postgresql://") as refused:
        PostgresRunStore("sqlite:///x")
    assert refused.value.field == "url"  # the UIs point at the field to fix


def test_postgres_locks_only_the_run_being_updated(pg_database: str, tmp_path: Path) -> None:
    """SELECT ... FOR UPDATE holds one row: a slow approval of one run does not hold up another run's update."""
    import threading

    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS runs, schema_versions")
    store = PostgresRunStore(pg_database)
    try:
        store.create(waiting_run("run_slow", "c1"))
        store.create(waiting_run("run_fast", "c1"))
        holding, release = threading.Event(), threading.Event()

        def slow(state: RunState) -> None:
            record_decision(state, "c1", "approved")
            holding.set()
            assert release.wait(30)

        thread = threading.Thread(target=store.update, args=("run_slow", slow))
        thread.start()
        assert holding.wait(30)
        store.update("run_fast", lambda s: record_decision(s, "c1", "declined"))  # not blocked by run_slow's lock
        fast = store.load("run_fast")
        slow_now = store.load("run_slow")
        assert fast is not None and fast.pending[0].decision == "declined"
        assert slow_now is not None and slow_now.pending[0].decision is None  # not committed yet
        release.set()
        thread.join(30)
        done = store.load("run_slow")
        assert done is not None and done.pending[0].decision == "approved"
    finally:
        store.close()


def test_servers_starting_together_on_a_new_database_migrate_once(pg_database: str) -> None:
    import threading

    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS runs, schema_versions")
    stores = [PostgresRunStore(pg_database) for _ in range(4)]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def first_use(store: PostgresRunStore) -> None:
        start.wait(30)
        try:
            store.create(waiting_run(f"run_{id(store)}", "c1"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(s,)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert {s.schema_version() for s in stores} == {PG_SCHEMA_VERSION}
        assert len(stores[0]) == 4
    finally:
        for s in stores:
            s.close()
