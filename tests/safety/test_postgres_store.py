"""The PostgreSQL run store as a person meets it: every operation that cannot reach the database names the URL (its
password masked, in PostgreSQL's own reason too), what it could not do and the fix; explicit pruning, a damaged row
named by its run, the count of runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from playground import RunState, StorageError
from playground.runs import PendingCall
from playground.store.runs_postgres import PostgresRunStore, masked_url
from tests.postgres import fresh_database

HINT = (
    "check that PostgreSQL is running and the URL in PLAYGROUND_DATABASE_URL (or --store) names a database you may "
    "write, or unset PLAYGROUND_DATABASE_URL to keep runs in SQLite under PLAYGROUND_HOME"
)

OPERATIONS: list[tuple[str, str, Callable[[PostgresRunStore], Any]]] = [
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
    ("prune", "prune runs", lambda s: s.prune(1)),
    ("schema_version", "read the schema version", lambda s: s.schema_version()),
]


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    with fresh_database("pg_safety") as url:
        yield url


@pytest.fixture
def store(pg_database: str) -> Iterator[PostgresRunStore]:
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS runs, schema_versions")
    made = PostgresRunStore(pg_database, retention_days=None)
    yield made
    made.close()


@pytest.mark.parametrize(("op", "doing"), [(o, d) for o, d, _ in OPERATIONS])
def test_an_unreachable_database_names_the_url_the_operation_and_the_fix(op: str, doing: str) -> None:
    url = "postgresql://postgres:pw-SECRET-1234@127.0.0.1:1/runs"  # nothing listens on port 1: refused at once
    store = PostgresRunStore(url, timeout=2)
    with pytest.raises(StorageError) as info:
        dict((o, f) for o, _, f in OPERATIONS)[op](store)
    message = str(info.value)
    shown = "postgresql://postgres:***@127.0.0.1:1/runs"
    assert message.startswith(f"run store {shown}: could not {doing}: connection failed: "), message
    assert "Connection refused Is the server running" in message  # PostgreSQL's reason, on one line
    assert message.endswith(f"; {HINT}"), message
    assert "pw-SECRET" not in message and "\n" not in message and "\t" not in message
    assert info.value.path == shown == masked_url(url)


def test_the_password_is_masked_in_postgresqls_own_reason_too(pg_database: str) -> None:
    password = "pgpw0123456789"
    url = pg_database.replace("postgres@", f"postgres:{password}@").rsplit("/", 1)[0] + f"/missing_{password}"
    store = PostgresRunStore(url, timeout=2)  # trust authentication: the password is accepted, the database is missing
    with pytest.raises(StorageError) as info:
        store.load("run_1")
    reason = str(info.value).partition(": could not read the run: ")[2]
    assert 'FATAL: database "missing_***" does not exist; check that PostgreSQL is running' in reason, reason
    assert password not in reason


def test_an_error_without_text_is_named_by_its_type(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = PostgresRunStore(pg_database)

    def refuse() -> Any:
        raise TimeoutError()

    monkeypatch.setattr(store, "_open_pool", refuse)
    with pytest.raises(StorageError) as info:
        store.suspended()
    assert f": could not list runs: TimeoutError; {HINT}" in str(info.value)


def test_pruning_by_age_deletes_old_closed_runs_even_with_no_retention(store: PostgresRunStore) -> None:
    for status in ("finished", "failed", "expired", "suspended", "running"):
        store.save(RunState(run_id=f"run_{status}", status=status))  # type: ignore[arg-type]
    assert store.prune() == 0  # no retention: nothing is deleted without an age
    assert store.prune(older_than_days=1) == 0  # none is a day old
    time.sleep(0.05)
    assert store.prune(older_than_days=0) == 3
    assert sorted(s.run_id for s in store.runs()) == ["run_running", "run_suspended"]
    assert len(store) == 2


def test_a_damaged_row_is_named_by_its_run_when_every_run_is_read(store: PostgresRunStore, pg_database: str) -> None:
    import psycopg

    store.save(RunState(run_id="run_ok", status="suspended", pending=[PendingCall(tool_call_id="c1", tool_name="t")]))
    store.save(RunState(run_id="run_bad", status="suspended"))
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE runs SET state = '{\"not\": \"a run\"}' WHERE run_id = 'run_bad'")
    with pytest.raises(StorageError, match=r"run 'run_bad' is damaged and cannot be read"):
        store.runs()
    assert len(store) == 2


def test_a_damaged_run_keeps_its_agent_and_times_in_the_listing(store: PostgresRunStore, pg_database: str) -> None:
    import psycopg

    store.save(RunState(run_id="run_bad", agent_name="support", status="suspended"))
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE runs SET state = 'garbage', created_at = 1000.0, updated_at = 2000.0")
    [info] = store.list_runs()
    assert (info.run_id, info.agent_name, info.status, info.created_at, info.updated_at, info.calls) == (
        "run_bad", "support", "damaged", 1000.0, 2000.0, []
    )
    with pytest.raises(StorageError, match=r"run 'run_bad' is damaged and cannot be read"):
        store.update("run_bad", lambda state: None)  # an approval names the run it could not read


def test_resolving_an_unknown_run_says_where_it_looked(store: PostgresRunStore) -> None:
    from playground import ApprovalError

    with pytest.raises(ApprovalError) as info:
        store.update("run_nowhere", lambda state: None)
    assert str(info.value) == (
        f"no suspended run 'run_nowhere' in {store.path}: it was never suspended here, or it was stored elsewhere "
        "(point PLAYGROUND_DATABASE_URL, or the Agent's storage=, at the same database)"
    )


def test_close_releases_the_pool_and_a_reopened_store_checks_the_schema_again(
    store: PostgresRunStore, pg_database: str
) -> None:
    import psycopg

    PostgresRunStore(pg_database).close()  # never used: nothing to close, no error
    store.save(RunState(run_id="run_1", status="suspended"))
    pool = store._pool
    assert pool is not None and not pool.closed
    store.close()
    assert pool.closed
    # while it was closed a newer playground upgraded the database: the reopened store must notice, not write
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE schema_versions SET version = 99 WHERE component = 'runs'")
    with pytest.raises(StorageError, match="schema version 99 was written by a newer playground"):
        store.save(RunState(run_id="run_2", status="suspended"))


def test_a_new_run_over_a_damaged_stored_run_says_the_stored_one_is_damaged(
    store: PostgresRunStore, pg_database: str
) -> None:
    import psycopg

    store.save(RunState(run_id="run_1", status="suspended"))
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE runs SET state = 'garbage'")
    with pytest.raises(StorageError) as info:
        store.create(RunState(run_id="run_1"))
    assert str(info.value).startswith(f"run store {store.path}: a run is damaged and cannot be read (")
    assert str(info.value).endswith("; delete it with `playground runs delete RUN_ID`")
    assert info.value.path == store.path


def test_a_newer_schema_error_names_the_database(store: PostgresRunStore, pg_database: str) -> None:
    import psycopg

    store.save(RunState(run_id="run_1", status="suspended"))
    store.close()
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("UPDATE schema_versions SET version = 42 WHERE component = 'runs'")
    with pytest.raises(StorageError) as info:
        store.load("run_1")
    assert info.value.path == store.path and "schema version 42" in str(info.value)


def test_one_pool_serves_every_operation_and_a_forked_child_gets_its_own(store: PostgresRunStore) -> None:
    """A server that forks workers after using the store (gunicorn, multiprocessing) must not share sockets."""
    import os

    store.save(RunState(run_id="run_parent", status="suspended"))
    pool = store._pool
    assert pool is not None
    store.load("run_parent")
    store.list_runs()
    assert store._pool is pool  # not a new pool (and new connections) per operation
    pid = os.fork()
    if pid == 0:  # the child: its own pool, the parent's left alone
        code = 1
        try:
            store.save(RunState(run_id="run_child", status="suspended"))
            code = 0 if store._pool is not pool and store.load("run_parent") is not None else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store._pool is pool and sorted(store.suspended()) == ["run_child", "run_parent"]
