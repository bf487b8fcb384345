"""Shared state on PostgreSQL, end to end: with PLAYGROUND_DATABASE_URL set, a run that one playground process
(server A) suspends is approved by another process (server B, `playground approve`) with its own PLAYGROUND_HOME, so
nothing is shared through a local file; the tool runs once and every process sees the outcome.

Real processes on the demo model and a real PostgreSQL (a fresh `pg_test_<random>` database, dropped afterwards);
skipped with the reason when PostgreSQL is unreachable, failed instead under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground.cli import load_agent
from playground.store.runs_postgres import PostgresRunStore, masked_url
from tests.postgres import fresh_database

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def server(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`playground ARGS` as its own process: its own PLAYGROUND_HOME, the shared PLAYGROUND_DATABASE_URL."""
    home.mkdir(exist_ok=True)
    env = {**os.environ, "PLAYGROUND_DEMO_DELAY": "0", "PLAYGROUND_HOME": str(home), "PLAYGROUND_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "playground.cli", *args], capture_output=True, text=True, cwd=REPO, env=env,
        timeout=120,
    )


def listed(home: Path, url: str) -> dict[str, dict[str, Any]]:
    out = server(home, url, "runs", "--json")
    assert out.returncode == 0, out.stderr
    return {r["run_id"]: r for r in json.loads(out.stdout)}


def test_a_run_suspended_on_server_a_is_approved_from_server_b(database_url: str, tmp_path: Path) -> None:
    home_a, home_b, home_c = tmp_path / "server_a", tmp_path / "server_b", tmp_path / "laptop"
    suspended = server(home_a, database_url, "run", "agents/support.py", "refund order 42")
    assert suspended.returncode == 0, suspended.stderr
    found = re.search(r"run_id=(\S+) tool_call_id=(\S+)", suspended.stdout)
    assert found, suspended.stdout
    run_id, call_id = found.groups()
    assert listed(home_b, database_url)[run_id]["status"] == "pending"  # B sees A's run before anyone approves

    approved = server(home_b, database_url, "approve", run_id, call_id, "--agent", "agents/support.py")
    assert approved.returncode == 0, approved.stderr
    assert '"refunded": 89.0' in approved.stdout and "[stop]" in approved.stdout

    everywhere = [listed(home, database_url) for home in (home_a, home_b, home_c)]
    assert all(runs[run_id]["status"] == "finished" for runs in everywhere)
    assert all(len(runs) == 1 for runs in everywhere)  # resumed, not a new run
    store = PostgresRunStore(database_url)
    try:
        state = store.load(run_id)
    finally:
        store.close()
    assert state is not None and [(c.tool_call_id, c.done, c.attempts) for c in state.resolved] == [(call_id, True, 1)]

    again = server(home_a, database_url, "approve", run_id, call_id, "--agent", "agents/support.py")
    assert again.returncode == 1 and "already approved, it ran once" in again.stderr
    assert [p for home in (home_a, home_b, home_c) for p in home.glob("runs.sqlite3")] == []  # none in SQLite


def test_a_long_lived_server_sees_what_another_process_decided(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_DATABASE_URL", database_url)
    agent = load_agent("agents/support.py")  # server A: this process, the agent's default store
    store = agent.storage
    assert isinstance(store, PostgresRunStore)
    try:
        first = agent.generate("refund order 42")
        second = agent.generate("refund order 7")
        assert first.finish_reason == second.finish_reason == "suspended"
        assert first.suspend_payload is not None and second.suspend_payload is not None
        call_7 = second.suspend_payload.pending[0].tool_call_id

        declined = server(
            tmp_path / "server_b", database_url, "decline", second.run_id, call_7, "--reason", "over the limit",
            "--agent", "agents/support.py", "--json",
        )
        assert declined.returncode == 0, declined.stderr
        assert json.loads(declined.stdout)["tool_results"][0]["approval"] == "declined"

        seen = store.load(second.run_id)  # server A reads B's decision from the shared database
        assert seen is not None and seen.status == "finished" and seen.resolved[0].reason == "over the limit"
        untouched = store.load(first.run_id)
        assert untouched is not None and untouched.status == "suspended"
        assert [p.decision for p in untouched.pending] == [None]

        done = agent.approve_tool_call(first.run_id, first.suspend_payload.pending[0].tool_call_id)
        assert done.finish_reason == "stop" and done.tool_results[0].result["refunded"] == 89.0
        statuses = {i.run_id: i.status for i in store.list_runs()}
        assert statuses[first.run_id] == statuses[second.run_id] == "finished"
    finally:
        store.close()


def test_the_store_flag_names_the_database_and_a_bad_one_is_a_clear_error(database_url: str, tmp_path: Path) -> None:
    home = tmp_path / "shell"
    made = server(home, database_url, "run", "agents/support.py", "refund order 7")
    assert made.returncode == 0, made.stderr
    found = re.search(r"run_id=(\S+)", made.stdout)
    assert found, made.stdout
    env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_DATABASE_URL"}
    by_flag = subprocess.run(
        [sys.executable, "-m", "playground.cli", "runs", "--json", "--store", database_url], capture_output=True,
        text=True, cwd=REPO, env={**env, "PLAYGROUND_HOME": str(home)}, timeout=120,
    )
    assert by_flag.returncode == 0, by_flag.stderr
    assert found.group(1) in {r["run_id"] for r in json.loads(by_flag.stdout)}

    bad_url = database_url.replace("postgres@", "postgres:pw-SECRET-1@").rsplit(":", 1)[0] + ":1/nowhere"
    down = server(home, bad_url, "runs")
    assert down.returncode == 1
    assert down.stderr.startswith(f"playground runs: run store {masked_url(bad_url)}: could not list runs:")
    assert ":***@" in masked_url(bad_url)
    assert "Connection refused" in down.stderr and "PLAYGROUND_DATABASE_URL" in down.stderr
    assert "pw-SECRET" not in down.stderr + down.stdout


def test_import_and_an_agents_default_store_connect_to_nothing_until_used(database_url: str) -> None:
    code = (
        "import sys, playground; a = playground.Agent(name='a'); s = a.storage; "
        "print(type(s).__name__, 'psycopg' in sys.modules); print(len(s), 'psycopg' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**os.environ, "PLAYGROUND_DATABASE_URL": database_url},
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "PostgresRunStore False"
    assert lines[1].endswith(" True")


_JOB_AGENT = '''
import os
from playground import Agent, tool

@tool(requires_approval=True)
def refund(order_id: str) -> str:
    """Refund an order."""
    with open(os.environ["JOB_REFUND_LOG"], "a") as f:
        f.write(order_id + "\\n")
    return f"refunded {order_id}"

agent = Agent(name="jobs-support", model="demo", tools=[refund])
'''


def test_a_run_that_suspends_in_a_worker_is_approved_from_another_machine(database_url: str, tmp_path: Path) -> None:
    agent_file = tmp_path / "jobs_support.py"
    agent_file.write_text(_JOB_AGENT)
    refunds = tmp_path / "refunds.log"
    home_a, home_b = tmp_path / "worker_host", tmp_path / "other_host"
    home_a.mkdir()
    env_a = {
        **os.environ, "PLAYGROUND_HOME": str(home_a), "PLAYGROUND_DATABASE_URL": database_url,
        "PLAYGROUND_DEMO_DELAY": "0", "PLAYGROUND_INPROCESS_WORKER": "0", "JOB_REFUND_LOG": str(refunds),
    }
    queued = subprocess.run(
        [sys.executable, "-c", "import sys; from playground.cli import load_agent; "
         "job = load_agent(sys.argv[1]).prompt('refund order 42').generate_later(); print(job.id)", str(agent_file)],
        capture_output=True, text=True, cwd=REPO, env=env_a, timeout=120,
    )
    assert queued.returncode == 0, queued.stderr
    worker = subprocess.run(
        [sys.executable, "-m", "playground.cli", "worker", "--burst"], capture_output=True, text=True, cwd=REPO,
        env=env_a, timeout=120,
    )
    assert worker.returncode == 0, worker.stderr

    waiting = {r["run_id"]: r for r in listed(home_b, database_url).values() if r["agent"] == "jobs-support"}
    assert len(waiting) == 1  # the worker's run is in the shared database, seen from the other host
    (run_id, run), = waiting.items()
    assert run["status"] == "pending" and run["calls"][0]["tool"] == "refund"
    approved = subprocess.run(
        [sys.executable, "-m", "playground.cli", "approve", run_id, run["calls"][0]["id"], "--agent", str(agent_file)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
        env={**env_a, "PLAYGROUND_HOME": str(home_b)},
    )
    assert approved.returncode == 0, approved.stderr
    assert refunds.read_text().splitlines() == ["42"]  # the guarded tool ran once, after the approval
    assert listed(home_a, database_url)[run_id]["status"] == "finished"
