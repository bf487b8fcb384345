"""Jobs on Redis (PLAYGROUND_QUEUE_URL): two worker processes drain 200 queued jobs with none lost or run twice, a
worker killed with `kill -9` mid-job is replaced and the job retried once, priorities order the queue, and a job is
read with Job.get from another process.

Redis runs at 127.0.0.1:6379; each test uses its own key prefix and deletes its keys. Without Redis these tests skip,
except under CI=true, where they fail."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from playground import Agent
from playground.jobs import Job, Worker
from tests.postgres import fresh_database

REPO = Path(__file__).resolve().parent.parent
URL = "redis://127.0.0.1:6379/0"

demo = Agent(name="redis-demo", model="demo")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def redis_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    if not _redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis at 127.0.0.1:6379 is not reachable, and CI=true requires it")
        pytest.skip("Redis at 127.0.0.1:6379 is not reachable (start redis-server to run the Redis job tests)")
    import redis

    prefix = f"pgtest-{uuid.uuid4().hex[:10]}"
    extra = {"PLAYGROUND_QUEUE_URL": URL, "PLAYGROUND_QUEUE_PREFIX": prefix, "PLAYGROUND_INPROCESS_WORKER": "0",
             "PLAYGROUND_DEMO_DELAY": "0"}
    for k, v in extra.items():
        monkeypatch.setenv(k, v)
    yield extra
    client = redis.Redis.from_url(URL)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    assert not list(client.scan_iter(match=f"*{prefix}*"))


def env(extra: dict[str, str], **more: str) -> dict[str, str]:
    return {**os.environ, **extra, **more}


def cli(extra: dict[str, str], *args: str, **more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env(extra, **more), timeout=300)


def test_two_workers_drain_200_jobs_with_none_lost_or_run_twice(redis_queue: dict[str, str]) -> None:
    jobs = [demo.prompt(f"What is {i} + {i}?").generate_later() for i in range(200)]
    workers = [
        subprocess.Popen([sys.executable, "-m", "playground.cli", "worker", "--burst", "--concurrency", "2"],
                         cwd=REPO, env=env(redis_queue), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outs]
    ran = [int(m.group(1)) for o in outs for m in [re.search(r"ran (\d+) job", o[0])] if m]
    assert len(ran) == 2 and sum(ran) == 200 and all(n > 0 for n in ran)  # both worked, 200 runs in all
    by_worker: dict[str, int] = {}
    for i, job in enumerate(jobs):
        assert f"{i} + {i} = {2 * i}" in job.result(timeout=5).text  # none lost
        assert job.attempts == 1  # none run twice
        by_worker[str(job.info()["worker"]).rsplit(":", 1)[0]] = 1 + by_worker.get(
            str(job.info()["worker"]).rsplit(":", 1)[0], 0)
    assert len(by_worker) == 2 and sorted(by_worker.values()) == sorted(ran)


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


def test_a_worker_killed_mid_job_is_replaced_and_the_job_retried_once(
    redis_queue: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "calc.py").write_text(AGENT_FILE)
    log = tmp_path / "tool.log"
    extra = {**redis_queue, "PLAYGROUND_JOB_LEASE_SECONDS": "1", "JOB_TOOL_LOG": str(log), "JOB_TOOL_SLEEP": "2"}
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
        assert Job.get(job_id).status == "running"
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    # the killed worker's lease runs out (1 s after its last renewal); a worker started after that takes the job
    lease_until = Job.get(job_id)._rec.get("lease_until") or 0.0
    time.sleep(max(0.0, lease_until - time.time()) + 0.1)
    second = cli(extra, "worker", "--burst", JOB_TOOL_SLEEP="0")
    assert second.returncode == 0, second.stderr
    job = Job.get(job_id)
    assert job.status == "succeeded" and "5" in job.result().text
    assert job.attempts == 2 and job.info()["recovered"] == 1 and [e["type"] for e in job.errors] == ["WorkerLost"]
    assert log.read_text().count("start") == 2


def test_priorities_and_waits_on_redis(redis_queue: dict[str, str]) -> None:
    low = demo.prompt("What is 1 + 1?").generate_later(priority=1)
    high = demo.prompt("What is 2 + 2?").generate_later(priority=9)
    later = demo.prompt("What is 3 + 3?").generate_later(wait=3.0, priority=50)
    Worker(burst=True).run()
    assert high.started_at < low.started_at  # type: ignore[operator]
    assert later.status == "queued", (later.info(), time.time())
    time.sleep(max(0.0, later.run_at.timestamp() - time.time()) + 0.2)  # type: ignore[union-attr]
    Worker(burst=True).run()
    assert "3 + 3 = 6" in later.result(timeout=5).text and later.started_at >= later.run_at  # type: ignore[operator]


@pytest.fixture
def postgres_db() -> Iterator[str]:
    with fresh_database("pg_jobstest") as url:
        yield url


GUARDED_AGENT = '''
import os
from playground import Agent, tool

@tool(requires_approval=True)
def refund(order_id: str) -> str:
    """Refund an order."""
    with open(os.environ["JOB_REFUND_LOG"], "a") as f:
        f.write(order_id + "\\n")
    return f"refunded {order_id}"

agent = Agent(name="refunds", model="demo", tools=[refund])
'''


def test_machines_share_jobs_on_redis_and_approvals_on_postgresql(
    redis_queue: dict[str, str], postgres_db: str, tmp_path: Path
) -> None:
    """Three "machines" (separate PLAYGROUND_HOMEs): one queues, a worker runs the job until it waits for approval,
    a third approves it from the shell; the job and the run are found from each."""
    (tmp_path / "refunds.py").write_text(GUARDED_AGENT)
    refunds = tmp_path / "refunds.log"
    homes = {m: tmp_path / m for m in ("laptop", "worker", "server")}
    shared = {**redis_queue, "PLAYGROUND_DATABASE_URL": postgres_db, "JOB_REFUND_LOG": str(refunds)}
    code = textwrap.dedent(f"""
        from playground.cli import load_agent
        print(load_agent({str(tmp_path / 'refunds.py')!r}).prompt("refund order 42").generate_later().id)
    """)
    queued = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                            env=env(shared, PLAYGROUND_HOME=str(homes["laptop"])), timeout=120)
    assert queued.returncode == 0, queued.stderr
    job_id = queued.stdout.strip()
    ran = cli(shared, "worker", "--burst", PLAYGROUND_HOME=str(homes["worker"]))
    assert ran.returncode == 0 and "ran 1 job" in ran.stdout, ran.stderr
    result = Job.get(job_id).result(timeout=5)  # the test process is a fourth home: the job is read from Redis
    assert result.finish_reason == "suspended" and result.suspend_payload is not None
    assert not (homes["worker"] / "runs.sqlite3").exists()  # the run went to PostgreSQL, not the worker's disk
    approved = cli(shared, "approve", result.run_id, result.suspend_payload.tool_call_id, "--agent",
                   str(tmp_path / "refunds.py"), PLAYGROUND_HOME=str(homes["server"]))
    assert approved.returncode == 0, approved.stderr
    assert refunds.read_text().splitlines() == ["42"]
    again = cli(shared, "approve", result.run_id, result.suspend_payload.tool_call_id, "--agent",
                str(tmp_path / "refunds.py"), PLAYGROUND_HOME=str(homes["laptop"]))
    assert again.returncode == 1  # decided once, anywhere
    assert refunds.read_text().splitlines() == ["42"]
