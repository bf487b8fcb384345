"""Jobs on PostgreSQL: PLAYGROUND_DATABASE_URL (the shared store) also holds the job queue (Huey's PostgresHuey) and
the job records, so servers and workers on several machines share jobs with no Redis. Worker processes drain queued
jobs with none lost or run twice, priorities and waits order them, a worker killed mid-job is replaced.

PostgreSQL runs at 127.0.0.1:5432 (or $PLAYGROUND_TEST_POSTGRES); each test makes its own database and drops it.
Unreachable: skipped with the reason, except under CI=true, where the tests fail."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from playground import Agent
from playground.jobs import Job, Worker, backend
from tests.postgres import fresh_database

REPO = Path(__file__).resolve().parent.parent

demo = Agent(name="pg-demo", model="demo")


@pytest.fixture
def pg_jobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    with fresh_database("pg_jobs") as url:
        extra = {"PLAYGROUND_DATABASE_URL": url, "PLAYGROUND_INPROCESS_WORKER": "0", "PLAYGROUND_DEMO_DELAY": "0"}
        for k, v in extra.items():
            monkeypatch.setenv(k, v)
        yield extra


def env(extra: dict[str, str], **more: str) -> dict[str, str]:
    return {**os.environ, **extra, **more}


def test_jobs_live_in_the_shared_database_and_two_workers_drain_them(pg_jobs: dict[str, str]) -> None:
    assert backend().kind == "postgres"
    jobs = [demo.prompt(f"What is {i} + {i}?").generate_later() for i in range(60)]
    workers = [
        subprocess.Popen([sys.executable, "-m", "playground.cli", "worker", "--burst"], cwd=REPO, env=env(pg_jobs),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outs]
    assert all("postgres" in o[0] and "@" not in o[0] for o in outs)  # where, without the user
    ran = [int(m.group(1)) for o in outs for m in [re.search(r"ran (\d+) job", o[0])] if m]
    assert sum(ran) == 60
    for i, job in enumerate(jobs):
        assert f"{i} + {i} = {2 * i}" in job.result(timeout=5).text and job.attempts == 1


def test_priorities_waits_and_a_cancelled_job_on_postgresql(pg_jobs: dict[str, str]) -> None:
    low = demo.prompt("What is 1 + 1?").generate_later(priority=1)
    high = demo.prompt("What is 2 + 2?").generate_later(priority=9)
    later = demo.prompt("What is 3 + 3?").generate_later(wait=3.0)
    dropped = demo.prompt("What is 4 + 4?").generate_later()
    assert dropped.cancel()
    Worker(burst=True).run()
    assert high.started_at < low.started_at  # type: ignore[operator]
    assert later.status == "queued" and dropped.status == "cancelled" and dropped.attempts == 0
    time.sleep(max(0.0, later.run_at.timestamp() - time.time()) + 0.2)  # type: ignore[union-attr]
    Worker(burst=True).run()
    assert "3 + 3 = 6" in later.result(timeout=5).text and later.started_at >= later.run_at  # type: ignore[operator]


AGENT_FILE = '''
import os, time
from playground import Agent, tool

@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    with open(os.environ["JOB_TOOL_LOG"], "a") as f:
        f.write("start\\n")
    time.sleep(float(os.environ.get("JOB_TOOL_SLEEP", "0")))
    return a + b

agent = Agent(name="calc", model="demo", tools=[add])
'''


def test_a_worker_killed_mid_job_is_replaced_on_postgresql(pg_jobs: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text(AGENT_FILE)
    log = tmp_path / "tool.log"
    extra = {**pg_jobs, "PLAYGROUND_JOB_LEASE_SECONDS": "1", "JOB_TOOL_LOG": str(log), "JOB_TOOL_SLEEP": "2"}
    code = textwrap.dedent(f"""
        from playground.cli import load_agent
        print(load_agent({str(tmp_path / 'calc.py')!r}).prompt("add 2 and 3").generate_later().id)
    """)
    queued = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                            env=env(extra), timeout=120)
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.strip()
    first = subprocess.Popen([sys.executable, "-m", "playground.cli", "worker"], cwd=REPO, env=env(extra),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and log.read_text()):
            assert time.monotonic() < deadline and first.poll() is None, "the worker never started the tool"
            time.sleep(0.05)
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    # the killed worker's lease runs out (1 s after its last renewal); a worker started after that takes the job
    lease_until = Job.get(job_id)._rec.get("lease_until") or 0.0
    time.sleep(max(0.0, lease_until - time.time()) + 0.1)
    second = subprocess.run([sys.executable, "-m", "playground.cli", "worker", "--burst"], capture_output=True,
                            text=True, cwd=REPO, env=env(extra, JOB_TOOL_SLEEP="0"), timeout=300)
    assert second.returncode == 0, second.stderr
    job = Job.get(job_id)
    assert job.status == "succeeded" and "5" in job.result().text
    assert job.attempts == 2 and job.info()["recovered"] == 1 and log.read_text().count("start") == 2
