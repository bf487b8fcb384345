"""One suite for the stores written once over store/sql.py — scores, prompt versions and job records — run against
SQLite (the default) and a real PostgreSQL server (PLAYGROUND_DATABASE_URL).

PostgreSQL is $PLAYGROUND_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres); this module makes its
own database and drops it afterwards (tests/postgres.py). Unreachable: the PostgreSQL cases skip with the reason,
except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground.errors import StorageError
from playground.jobs import JOB_RECORDS_SCHEMA, _PostgresRecords, _SqliteRecords, _SqlRecords
from playground.scorers import Score
from playground.store import prompt_versions, scores
from playground.store.prompt_versions import PromptVersions
from playground.store.scores import ScoreStore, save_scores, scores_for
from tests.postgres import fresh_database

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    with fresh_database("pg_storetest") as url:
        yield url


def _reset(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
        if tables:
            conn.execute(f"DROP TABLE {', '.join(tables)}")  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh store lives, for each backend: a SQLite file path or a PostgreSQL URL (emptied)."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite3")
    url: str = request.getfixturevalue("pg_database")
    _reset(url)
    return url


def raw_sql(where: str, sql: str) -> None:
    """Change the stored data behind the store's back (as a newer playground would)."""
    if where.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(where, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]
    else:
        import sqlite3

        with sqlite3.connect(where) as conn:
            conn.execute(sql)


def score(run_id: str | None, name: str, value: float, reason: str = "") -> Score:
    return Score(name=name, value=value, passed=value >= 0.5, reason=reason, scorer="contains", run_id=run_id,
                 duration_ms=1.5)


# -- scores ------------------------------------------------------------------------------------------------------------
def test_scores_are_kept_per_run_and_read_by_another_store(where: str) -> None:
    writer, reader = ScoreStore(where), ScoreStore(where)  # two stores: as two servers would open it
    try:
        assert writer.save([score("run-1", "mentions_city", 1.0, "found Paris"), score("run-1", "short", 0.2),
                            score("run-2", "short", 0.9), score(None, "unsaved", 1.0)]) == 3
        got = reader.for_run("run-1")
        assert set(got) == {"mentions_city", "short"}
        assert got["mentions_city"].passed and got["mentions_city"].reason == "found Paris"
        assert got["short"].value == pytest.approx(0.2) and not got["short"].passed
        assert got["short"].run_id == "run-1" and got["short"].duration_ms == pytest.approx(1.5)
        writer.save([score("run-1", "short", 0.8, "rescored")])  # a scorer's newer score replaces the older one
        again = reader.for_run("run-1")["short"]
        assert again.passed and again.reason == "rescored"
        assert set(reader.for_run("run-2")) == {"short"} and reader.for_run("never") == {}
        assert reader.schema_version() == scores.SCHEMA_VERSION
    finally:
        writer.close()
        reader.close()


def test_a_score_store_written_by_a_newer_playground_is_refused(where: str) -> None:
    store = ScoreStore(where)
    store.save([score("r", "a", 1.0)])
    store.close()
    if where.startswith("postgresql://"):
        raw_sql(where, "UPDATE schema_versions SET version = 99 WHERE component = 'scores'")
    else:
        raw_sql(where, "PRAGMA user_version = 99")
    with pytest.raises(StorageError, match=r"schema version 99 was written by a newer playground.*upgrade playground"):
        ScoreStore(where).for_run("r")


# -- prompt versions ---------------------------------------------------------------------------------------------------
def test_prompt_versions_are_numbered_per_change_and_seen_by_another_store(where: str) -> None:
    one, two = PromptVersions(where), PromptVersions(where)
    try:
        v1 = one.record("support", "Be brief.", {"temperature": 0.2})
        assert v1.number == 1 and one.record("support", "Be brief.", {"temperature": 0.2}).number == 1  # no change
        v2 = two.record("support", "Be very brief.", {"temperature": 0.2}, template="Support.answer")
        assert v2.number == 2 and one.record("other", "Hi.").number == 1  # numbered per agent
        assert [(v.number, v.instructions) for v in one.list("support")] == [(1, "Be brief."), (2, "Be very brief.")]
        got = one.get("support", 2)
        assert got is not None and got.settings == {"temperature": 0.2} and got.template == "Support.answer"
        diff = two.diff("support", 1, 2)
        assert "-Be brief." in diff and "+Be very brief." in diff and "+# template" in diff
        assert one.get("support", 9) is None
        assert one.schema_version() == prompt_versions.SCHEMA_VERSION
    finally:
        one.close()
        two.close()


def test_servers_recording_versions_at_once_get_distinct_numbers(where: str) -> None:
    stores = [PromptVersions(where) for _ in range(2)]  # two "servers", four senders each
    numbers: list[int] = []
    problems: list[BaseException] = []
    start = threading.Barrier(8)

    def send(i: int) -> None:
        start.wait()
        try:
            numbers.append(stores[i % 2].record("shared", f"prompt {i}").number)
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            problems.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []
    assert sorted(numbers) == list(range(1, 9))
    assert sorted(v.instructions for v in stores[0].list("shared")) == sorted(f"prompt {i}" for i in range(8))
    for s in stores:
        s.close()


# -- job records ------------------------------------------------------------------------------------------------------
def records(where: str) -> _SqlRecords:
    return _PostgresRecords(where, "pgtest") if where.startswith("postgresql://") else _SqliteRecords(Path(where))


def job(job_id: str, status: str = "queued", **more: Any) -> dict[str, Any]:
    return {"id": job_id, "queue": "default", "status": status, "created_at": time.time(), "count": 0, **more}


def test_job_records_put_get_update_list_and_prune(where: str) -> None:
    store = records(where)
    store.put(job("a"))
    store.put(job("b", "running", lease_until=time.time() - 5))
    store.put(job("c", "succeeded"))
    assert store.get("a") == {**job("a"), "created_at": store.get("a")["created_at"]}  # type: ignore[index]
    assert store.get("missing") is None and store.count() == 3
    assert store.expired_leases(time.time()) == ["b"]
    assert [r["id"] for r in store.recent(2)] == ["c", "b"]
    claimed = store.update("a", lambda r: {**r, "status": "running", "lease_until": time.time() + 60})
    assert claimed is not None and claimed["status"] == "running"
    assert store.update("a", lambda r: None) is None and store.get("a")["status"] == "running"  # type: ignore[index]
    assert store.update("missing", lambda r: r) is None
    assert store.prune(time.time() + 1) == 1 and store.get("c") is None and store.count() == 2
    assert store.db.schema_version() == JOB_RECORDS_SCHEMA
    store.db.close()


def test_job_record_changes_from_many_threads_and_stores_are_not_lost(where: str) -> None:
    stores = [records(where), records(where)]
    stores[0].put(job("counter"))

    def bump(i: int) -> None:
        for _ in range(20):
            stores[i % 2].update("counter", lambda r: {**r, "count": r["count"] + 1})

    threads = [threading.Thread(target=bump, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stores[1].get("counter")["count"] == 80  # type: ignore[index]
    for s in stores:
        s.db.close()


def test_job_records_written_by_a_newer_playground_are_refused(where: str) -> None:
    records(where).db.close()
    if where.startswith("postgresql://"):
        raw_sql(where, "UPDATE schema_versions SET version = 7 WHERE component = 'pgtest_jobs'")
    else:
        raw_sql(where, "PRAGMA user_version = 7")
    with pytest.raises(StorageError, match=r"schema version 7 was written by a newer playground.*PLAYGROUND_QUEUE_URL"):
        records(where)


def test_a_postgres_jobs_table_from_before_versioning_is_adopted(pg_database: str) -> None:
    _reset(pg_database)
    old = job("old-job", "succeeded")
    raw_sql(pg_database, "CREATE TABLE pgtest_jobs (id TEXT PRIMARY KEY, queue TEXT NOT NULL, status TEXT NOT NULL, "
                         "created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL, lease_until "
                         "DOUBLE PRECISION, data TEXT NOT NULL)")
    raw_sql(pg_database, f"INSERT INTO pgtest_jobs VALUES ('old-job', 'default', 'succeeded', 1, 1, NULL, "
                         f"'{json.dumps(old)}')")
    store = records(pg_database)
    assert store.get("old-job") == old and store.db.schema_version() == JOB_RECORDS_SCHEMA
    store.db.close()


# -- opening: files, schema versions, errors -------------------------------------------------------------------------
def test_sqlite_files_are_the_owners_only_and_reading_makes_none(tmp_path: Path) -> None:
    path = tmp_path / "home" / "scores.sqlite3"
    assert scores_for("r", path) == {} and not path.exists()
    save_scores([score("r", "a", 1.0)], path)
    versions = PromptVersions(tmp_path / "home" / "prompts.sqlite3")
    versions.record("a", "x")
    versions.close()
    jobs = _SqliteRecords(tmp_path / "home" / "jobs.sqlite3")
    jobs.db.close()
    for name in ("scores.sqlite3", "prompts.sqlite3", "jobs.sqlite3"):
        assert stat.S_IMODE((tmp_path / "home" / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o700


def test_a_file_that_is_not_a_database_names_the_file_and_the_fix(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"this is a text file, not a database" * 200)
    for make in (lambda: ScoreStore(broken).save([score("r", "a", 1.0)]), lambda: PromptVersions(broken).list("a"),
                 lambda: _SqliteRecords(broken)):
        with pytest.raises(StorageError) as info:
            make()
        assert str(broken) in str(info.value) and "not a SQLite database" in str(info.value)
        assert "move it away and a new one is made" in str(info.value)


def test_an_unreachable_postgresql_names_the_url_masked_and_the_fix() -> None:
    url = "postgresql://ana:s3cret-pw@127.0.0.1:1/playground"
    for make in (lambda: ScoreStore(url).for_run("r"), lambda: PromptVersions(url).list("a"),
                 lambda: _PostgresRecords(url, "playground")):
        with pytest.raises(StorageError) as info:
            make()
        text = str(info.value)
        assert "s3cret-pw" not in text and "postgresql://ana:***@127.0.0.1:1/playground" in text
        assert "check that PostgreSQL is running" in text and "SQLite under PLAYGROUND_HOME" in text


def test_an_unknown_url_scheme_is_refused_with_the_ones_that_work() -> None:
    from playground.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"unsupported URL mysql://.*postgresql://"):
        ScoreStore("mysql://db/x")


def test_the_default_stores_follow_playground_database_url(
    pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reset(pg_database)
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    monkeypatch.delenv("PLAYGROUND_DATABASE_URL", raising=False)
    save_scores([score("local-run", "a", 1.0)])
    assert (tmp_path / "scores.sqlite3").exists() and set(scores_for("local-run")) == {"a"}
    assert prompt_versions.default_prompt_versions().db.kind == "sqlite"

    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", pg_database)
    assert scores_for("local-run") == {}  # now the shared store: not the local file
    save_scores([score("shared-run", "b", 0.0)])
    direct = ScoreStore(pg_database)
    assert set(direct.for_run("shared-run")) == {"b"}
    direct.close()
    shared = prompt_versions.default_prompt_versions()
    assert shared.db.kind == "postgres" and shared is prompt_versions.default_prompt_versions()  # one pool
    assert scores.default_score_store() is scores.default_score_store()


def test_servers_starting_together_migrate_once(pg_database: str) -> None:
    _reset(pg_database)
    script = textwrap.dedent(f"""
        from playground.jobs import _PostgresRecords
        from playground.store.prompt_versions import PromptVersions
        from playground.store.scores import ScoreStore
        ScoreStore({pg_database!r}).for_run("x"); PromptVersions({pg_database!r}).list("a")
        _PostgresRecords({pg_database!r}, "playground")
        print("ok")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [o[0].strip() for o in outs] == ["ok"] * 4, [o[1][-1500:] for o in outs]
    import psycopg

    with psycopg.connect(pg_database) as conn:
        rows = dict(conn.execute("SELECT component, version FROM schema_versions").fetchall())
    assert rows == {"scores": scores.SCHEMA_VERSION, "prompt_versions": prompt_versions.SCHEMA_VERSION,
                    "playground_jobs": JOB_RECORDS_SCHEMA}


# -- two playground processes on one PostgreSQL --------------------------------------------------------------------
SESSION_SCRIPT = """
import asyncio, json, sys
from playground import Agent, scorers
from playground.evals import run_eval
from playground.store.scores import scores_for
from playground.ui.session import PlaygroundSession

name, instructions, question, others = sys.argv[1:5]
agent = Agent(name="shared-demo", model="demo", instructions="Be brief.")
result = agent.generate(question, scorers={name: scorers.contains(question.split()[2])})
assert result.scores[name].passed  # waits for the background scorer, which stores the score
session = PlaygroundSession({"shared-demo": agent}, agent="shared-demo")
session.set_instructions(instructions)

async def send() -> None:
    async for _ in session.send(question):
        pass

asyncio.run(send())
report = run_eval(agent, ["What is 5 + 5?"], {name + "-eval": scorers.contains("10")}, concurrency=1)
print(json.dumps({
    "eval_run": report.results[0].run_id,
    "run_id": result.run_id,
    "version": session.last_version,
    "versions": [v.instructions for v in session.prompt_versions()],
    "other_scores": {k: s.passed for run in others.split(",") if run != "-" for k, s in scores_for(run).items()},
}))
"""


def test_two_playground_processes_on_one_postgresql_see_each_others_scores_and_versions(
    pg_database: str, tmp_path: Path
) -> None:
    _reset(pg_database)

    def playground(home: str, *args: str) -> dict[str, Any]:
        env = {**os.environ, "PLAYGROUND_DATABASE_URL": pg_database, "PLAYGROUND_HOME": str(tmp_path / home),
               "PLAYGROUND_DEMO_DELAY": "0", "PLAYGROUND_INPROCESS_WORKER": "0"}
        out = subprocess.run([sys.executable, "-c", SESSION_SCRIPT, *args], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-3000:]
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    first = playground("server-a", "first", "Answer in one line.", "What is 2 + 2?", "-")
    assert first["version"] == 1
    second = playground("server-b", "second", "Answer in French.", "What is 3 + 3?",
                        f"{first['run_id']},{first['eval_run']}")
    # server B reads the scores server A's scorer and evaluation stored with their runs
    assert second["other_scores"] == {"first": True, "first-eval": True}
    assert second["version"] == 2 and second["versions"] == ["Answer in one line.", "Answer in French."]
    assert not (tmp_path / "server-a" / "scores.sqlite3").exists()  # nothing went to either local file
    assert not (tmp_path / "server-b" / "prompts.sqlite3").exists()
    again = playground("server-a", "third", "Answer in one line.", "What is 4 + 4?", second["run_id"])
    assert again["other_scores"] == {"second": True} and again["version"] == 3  # back to A's prompt: a new change
