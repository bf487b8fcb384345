"""One suite for the trace store on both backends (store/sql.py): SQLite `TraceStore` (the default, under
PLAYGROUND_HOME) and `PostgresTraceStore` (`PLAYGROUND_DATABASE_URL=postgresql://...`), run against a real PostgreSQL
server; and databases written by the stores of before the seam still open.

PostgreSQL is found at $PLAYGROUND_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres); this module
makes its own database `pg_trace_<random>` (tests/postgres.py) and drops it afterwards. Unreachable: the PostgreSQL
cases skip with the reason, except under CI=true, where they fail instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from playground import Agent, ConfigurationError, StorageError
from playground.store import traces
from playground.store.traces import TraceStore, default_trace_store, open_trace_store, writer
from playground.store.traces_postgres import SCHEMA_VERSION, PostgresTraceStore
from playground.tracing import local_spans, playground_tracer_provider
from tests.postgres import fresh_database

Store = TraceStore | PostgresTraceStore


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    with fresh_database("pg_trace") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh trace store lives, for each backend: a SQLite file path or a PostgreSQL URL (tables dropped)."""
    if request.param == "sqlite":
        return str(tmp_path / "traces.sqlite3")
    url: str = request.getfixturevalue("pg_database")
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS trace_spans, schema_versions")
    return url


@pytest.fixture
def open_store(where: str) -> Iterator[Callable[..., Store]]:
    """Opens stores at `where` (each as another process would) and closes them after the test."""
    made: list[Store] = []

    def make(**options: Any) -> Store:
        store = open_trace_store(where, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def span(trace_id: str, span_id: str, start: int, *, name: str = "chat demo-1", parent: str | None = None,
         **extra: Any) -> dict[str, Any]:
    return {"trace_id": trace_id, "span_id": span_id, "parent_id": parent, "name": name, "kind": "CLIENT",
            "start_ns": start, "end_ns": start + 1_500_000, "status": "UNSET", "message": None,
            "attributes": {"gen_ai.operation.name": "chat"}, "events": [], "links": [], **extra}


T1, T2 = "a" * 32, "b" * 32


def test_spans_come_back_as_they_were_written(open_store: Callable[..., Store]) -> None:
    store = open_store()
    root = span(T1, "1" * 16, 1_000, name="invoke_agent helper", kind="INTERNAL",
                attributes={"gen_ai.agent.name": "helper", "playground.cost.total": 0.25, "n": 3, "ok": True,
                            "gen_ai.response.finish_reasons": ["stop"], "note": "naïve ☕ text"},
                links=[{"trace_id": T1, "span_id": "9" * 16}])
    chat = span(T1, "2" * 16, 2_000, parent="1" * 16, status="ERROR", message="bad key",
                events=[{"name": "exception", "time_ns": 2_500, "attributes": {"exception.type": "AuthError"}}])
    store.add([chat, root])
    store.add([span(T2, "3" * 16, 500)])
    assert store.spans(T1) == [root, chat]  # oldest first, every field as written
    assert [s["span_id"] for s in store.spans(T2)] == ["3" * 16]
    assert store.spans("c" * 32) == []
    assert len(store) == 3


def test_a_span_written_again_is_replaced(open_store: Callable[..., Store]) -> None:
    store = open_store()
    store.add([span(T1, "1" * 16, 1_000)])
    store.add([span(T1, "1" * 16, 1_000, status="ERROR", attributes={"error.type": "500"})])
    (only,) = store.spans(T1)
    assert only["status"] == "ERROR" and only["attributes"] == {"error.type": "500"}
    assert len(store) == 1


def test_traces_lists_the_newest_first_with_root_name_duration_and_count(open_store: Callable[..., Store]) -> None:
    store = open_store()
    store.add([
        span(T1, "1" * 16, 1_000_000, name="invoke_agent old"),
        span(T1, "2" * 16, 2_000_000, parent="1" * 16),
        span(T2, "3" * 16, 9_000_000, name="invoke_agent new"),
    ])
    listed = store.traces()
    assert [t["trace_id"] for t in listed] == [T2, T1]
    assert listed[1] == {"trace_id": T1, "start_ns": 1_000_000, "duration_ms": 2.5, "spans": 2,
                         "name": "invoke_agent old"}
    assert [t["trace_id"] for t in store.traces(limit=1)] == [T2]


def test_only_the_newest_spans_are_kept(open_store: Callable[..., Store]) -> None:
    store = open_store(keep=10)
    rows = [span(f"{i:032x}", f"{i + 1:016x}", 1_000 * (i + 1)) for i in range(traces.PRUNE_EVERY + 100)]
    store.add(rows[:300])
    store.add(rows[300:])  # the 500th write prunes
    assert len(store) == 10
    assert store.spans(f"{0:032x}") == []
    assert [t["trace_id"] for t in store.traces(limit=100)][-1] == f"{len(rows) - 10:032x}"


def test_clear_empties_the_store(open_store: Callable[..., Store]) -> None:
    store = open_store()
    store.add([span(T1, "1" * 16, 1_000)])
    store.clear()
    assert store.spans(T1) == [] and store.traces() == []


def test_keep_must_be_a_positive_number(where: str) -> None:
    with pytest.raises(ConfigurationError, match="keep: expected a number of spans >= 1"):
        open_trace_store(where, keep=0)


# -- choosing the store -----------------------------------------------------------------------------------------------


def test_the_url_or_path_picks_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(open_trace_store("postgresql://postgres@127.0.0.1:5432/x"), PostgresTraceStore)  # no connect
    assert open_trace_store(f"sqlite:///{tmp_path}/t.sqlite3").path == tmp_path / "t.sqlite3"  # type: ignore[union-attr]
    assert open_trace_store(tmp_path / "p.sqlite3").path == tmp_path / "p.sqlite3"  # type: ignore[union-attr]
    with pytest.raises(ConfigurationError, match="unsupported URL mysql://"):
        open_trace_store("mysql://db/x")
    monkeypatch.delenv("PLAYGROUND_DATABASE_URL", raising=False)
    default = default_trace_store()
    assert isinstance(default, TraceStore)
    assert default.path == Path(os.environ["PLAYGROUND_HOME"]) / "traces.sqlite3"
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", f"sqlite:///{tmp_path}/runs.sqlite3")  # a SQLite run store
    assert default_trace_store() is default  # traces stay under PLAYGROUND_HOME
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", "postgresql://u:hunter2@127.0.0.1:5432/x")
    pg = default_trace_store()
    assert isinstance(pg, PostgresTraceStore) and pg is default_trace_store()  # one pool per URL
    assert "hunter2" not in repr(pg) and "***" in repr(pg)


# -- the playgrounds record into, and the Traces tab reads from, whichever store is configured -----------------------


def test_the_traces_tab_reads_the_configured_store(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from playground.ui.session import PlaygroundSession, load_agents

    if "://" in where:
        monkeypatch.setenv("PLAYGROUND_DATABASE_URL", where)
    else:
        monkeypatch.setenv("PLAYGROUND_HOME", str(Path(where).parent))
    session = PlaygroundSession(load_agents(Path(__file__).resolve().parents[2] / "agents"), agent="weather")

    async def send() -> None:
        async for _ in session.send("What's the weather in Paris?"):
            pass

    asyncio.run(send())
    result = session.exchanges[-1].result
    assert result is not None and result.trace_id is not None
    view = session.trace_view()
    names = [r["name"] for r in view["rows"]]
    assert names[0] == "invoke_agent weather" and "execute_tool get_weather" in names
    assert sum(n.startswith("chat ") for n in names) == len(result.steps)
    stored = open_trace_store(where)
    try:
        assert {s["span_id"] for s in stored.spans(result.trace_id)} == {r["span_id"] for r in view["rows"]}
    finally:
        stored.close()
    if "://" in where:  # nothing went to SQLite
        assert not (Path(os.environ["PLAYGROUND_HOME"]) / "traces.sqlite3").exists()
        default_trace_store().close()


def test_a_plain_agent_run_lands_in_the_configured_store(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if "://" in where:
        monkeypatch.setenv("PLAYGROUND_DATABASE_URL", where)
    else:
        monkeypatch.setenv("PLAYGROUND_HOME", str(Path(where).parent))
    provider = playground_tracer_provider()
    result = Agent(name="plain", model="demo").generate("hi", tracing_options={"tracer_provider": provider})
    assert {s["name"] for s in local_spans(result.trace_id)} == {"invoke_agent plain", "chat demo-1"}
    if "://" in where:
        default_trace_store().close()


# -- SQLite only: the file ------------------------------------------------------------------------------------------


OLD_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    span_id TEXT NOT NULL, trace_id TEXT NOT NULL, parent_id TEXT, name TEXT NOT NULL, kind TEXT NOT NULL,
    start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, status TEXT NOT NULL, message TEXT, attributes TEXT NOT NULL,
    events TEXT NOT NULL, links TEXT NOT NULL, PRIMARY KEY (trace_id, span_id)
);
CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_ns);
"""
"""The SQLite trace file before the seam: a `spans` table, no schema version (user_version 0)."""


def test_a_sqlite_file_of_the_former_store_keeps_its_spans(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "traces.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SQLITE_SCHEMA)
        conn.execute("INSERT INTO spans VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     ("1" * 16, T1, None, "invoke_agent old", "INTERNAL", 1_000, 2_000, "OK", None, '{"n": 1}', "[]",
                      "[]"))
    conn.close()
    store = TraceStore(path)
    try:
        assert [(s["name"], s["attributes"]) for s in store.spans(T1)] == [("invoke_agent old", {"n": 1})]
        store.add([span(T2, "2" * 16, 5_000)])
        assert [t["trace_id"] for t in store.traces()] == [T2, T1] and len(store) == 2
        assert store.schema_version() == traces.SCHEMA_VERSION
    finally:
        store.close()
    with sqlite3.connect(path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert {"trace_spans", "trace_spans_by_start"} <= names and not names & {"spans", "spans_by_start"}


def test_reading_makes_no_file_and_writing_makes_one_for_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "traces.sqlite3"
    store = TraceStore(path)
    try:
        assert store.spans(T1) == [] and store.traces() == [] and len(store) == 0
        store.clear()
        assert not path.exists()
        store.add([span(T1, "1" * 16, 1_000)])
        assert path.stat().st_mode & 0o077 == 0
        assert len(store) == 1
    finally:
        store.close()


# -- PostgreSQL only: schema and errors -------------------------------------------------------------------------------


def test_the_postgres_schema_is_versioned_and_a_newer_one_is_refused(pg_database: str) -> None:
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS trace_spans, schema_versions")
    first, second = PostgresTraceStore(pg_database), PostgresTraceStore(pg_database)
    try:
        assert first.schema_version() == SCHEMA_VERSION == second.schema_version()  # migrated once, both see it
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute("UPDATE schema_versions SET version = %s WHERE component = 'traces'", (SCHEMA_VERSION + 1,))
        newer = PostgresTraceStore(pg_database)
        with pytest.raises(StorageError, match=r"schema version \d+ was written by a newer playground"):
            newer.spans(T1)
        newer.close()
    finally:
        first.close()
        second.close()


def test_a_postgres_database_of_the_former_store_opens_as_it_was(pg_database: str) -> None:
    """The PostgreSQL store before the seam made these tables itself (same DDL, 'traces' at version 1)."""
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS trace_spans, schema_versions")
        conn.execute("CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        conn.execute(
            "CREATE TABLE trace_spans (trace_id TEXT NOT NULL, span_id TEXT NOT NULL, parent_id TEXT, "
            "name TEXT NOT NULL, kind TEXT NOT NULL, start_ns BIGINT NOT NULL, end_ns BIGINT NOT NULL, "
            "status TEXT NOT NULL, message TEXT, attributes TEXT NOT NULL, events TEXT NOT NULL, links TEXT NOT NULL, "
            "PRIMARY KEY (trace_id, span_id))"
        )
        conn.execute("CREATE INDEX trace_spans_by_start ON trace_spans (start_ns)")
        conn.execute("INSERT INTO schema_versions VALUES ('traces', 1)")
        conn.execute(
            "INSERT INTO trace_spans (span_id, trace_id, parent_id, name, kind, start_ns, end_ns, status, message, "
            "attributes, events, links) VALUES (%s, %s, NULL, 'invoke_agent old', 'INTERNAL', 1000, 2000, 'OK', "
            "NULL, '{\"n\": 1}', '[]', '[]')",
            ("1" * 16, T1),
        )
    store = PostgresTraceStore(pg_database)
    try:
        assert [(s["name"], s["attributes"]) for s in store.spans(T1)] == [("invoke_agent old", {"n": 1})]
        store.add([span(T2, "2" * 16, 5_000)])
        assert [t["trace_id"] for t in store.traces()] == [T2, T1]
        assert store.schema_version() == SCHEMA_VERSION
    finally:
        store.close()


def test_an_unreachable_database_is_a_storage_error_with_the_password_masked() -> None:
    store = PostgresTraceStore("postgresql://u:s3cret-pw@127.0.0.1:1/nowhere", timeout=1)
    with pytest.raises(StorageError) as info:
        store.spans(T1)
    message = str(info.value)
    assert "s3cret-pw" not in message and "***" in message and "PLAYGROUND_DATABASE_URL" in message


def test_a_failing_store_never_breaks_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", "postgresql://u:pw@127.0.0.1:1/nowhere")
    provider = playground_tracer_provider()
    result = Agent(name="ok", model="demo").generate("hi", tracing_options={"tracer_provider": provider})
    assert result.text and result.trace_id is not None
    writer().flush()  # the write fails (logged), the run had already returned


def test_a_users_own_sdk_provider_also_feeds_the_configured_store(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.util._once import Once

    def reset() -> None:
        trace._TRACER_PROVIDER_SET_ONCE = Once()  # type: ignore[attr-defined]
        trace._TRACER_PROVIDER = None  # type: ignore[attr-defined]

    if "://" in where:
        monkeypatch.setenv("PLAYGROUND_DATABASE_URL", where)
    else:
        monkeypatch.setenv("PLAYGROUND_HOME", str(Path(where).parent))
    exporter = InMemorySpanExporter()
    sdk = TracerProvider()
    sdk.add_span_processor(SimpleSpanProcessor(exporter))
    reset()
    trace.set_tracer_provider(sdk)
    try:
        assert playground_tracer_provider() is None  # the user's SDK records; the store gets a copy
        result = Agent(name="mine", model="demo").generate("hi")
        exported = {s.name for s in exporter.get_finished_spans()}
        assert exported == {"invoke_agent mine", "chat demo-1"}
        assert {s["name"] for s in local_spans(result.trace_id)} == exported
    finally:
        reset()
        sdk.shutdown()
        if "://" in where:
            default_trace_store().close()
