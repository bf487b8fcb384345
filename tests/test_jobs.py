"""Jobs on the embedded queue (SqliteHuey in PLAYGROUND_HOME): a job survives the process that queued it, waits and
priorities order the work, retryable provider errors are retried with backoff, a worker killed mid-job is replaced,
a run that suspends in a job is approved from the shell, and what cannot be stored says so.

Workers run as real processes (`playground worker --burst`) or in the test process (`Worker(burst=True)`); models are
the demo model or a local HTTP server the test starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from playground import Agent
from playground.errors import ConfigurationError
from playground.jobs import Job, JobError, JobNotDurableWarning, Worker

REPO = Path(__file__).resolve().parent.parent

demo = Agent(name="jobs-demo", model="demo")


@pytest.fixture(autouse=True)
def _no_inprocess_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs wait for the worker each test starts (the in-process consumer is tested on its own)."""
    monkeypatch.setenv("PLAYGROUND_INPROCESS_WORKER", "0")
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0")


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PLAYGROUND_DEMO_DELAY": "0", "PLAYGROUND_INPROCESS_WORKER": "0", **extra}


def py(code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=REPO,
                          env=env(**extra), timeout=120)


def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env(**extra), timeout=120)


AGENT_FILE = '''
import os, time
from pathlib import Path
from playground import Agent, tool

@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    log = os.environ.get("JOB_TOOL_LOG")
    if log:
        with open(log, "a") as f:
            f.write("start\\n")
    time.sleep(float(os.environ.get("JOB_TOOL_SLEEP", "0")))
    return a + b

@tool(requires_approval=True)
def refund(order_id: str) -> str:
    """Refund an order."""
    with open(os.environ["JOB_REFUND_LOG"], "a") as f:
        f.write(order_id + "\\n")
    return f"refunded {order_id}"

agent = Agent(name="calc", model="demo", tools=[add, refund])
'''


@pytest.fixture
def agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "calc.py"
    path.write_text(AGENT_FILE)
    return path


def enqueue_in_subprocess(agent_file: Path, message: str, **extra: str) -> str:
    out = py(f"""
        from playground.cli import load_agent
        job = load_agent({str(agent_file)!r}).prompt({message!r}).generate_later(queue="default")
        print(job.id, job.status, job.durable)
    """, **extra)
    assert out.returncode == 0, out.stderr
    job_id, status, durable = out.stdout.split()
    assert status == "queued" and durable == "True"
    return job_id


def test_a_job_survives_the_process_that_queued_it(agent_file: Path) -> None:
    job_id = enqueue_in_subprocess(agent_file, "add 2 and 3")
    waiting = Job.get(job_id)  # the queuing process has exited; the job waits in PLAYGROUND_HOME
    assert waiting.status == "queued" and waiting.attempts == 0 and waiting.started_at is None
    worker = cli("worker", "--burst")
    assert worker.returncode == 0, worker.stderr
    assert "ran 1 job" in worker.stdout
    job = Job.get(job_id)
    result = job.result(timeout=5)
    assert job.status == "succeeded" and job.attempts == 1 and job.errors == []
    assert [c.tool_name for c in result.tool_calls] == ["add"] and "5" in result.text  # the file's tool ran
    assert job.enqueued_at <= job.started_at <= job.finished_at  # type: ignore[operator]
    shown = cli("jobs", job_id, "--json")
    info = json.loads(shown.stdout)
    assert info["status"] == "succeeded" and info["agent"] == "calc" and "5" in info["text"]


def test_wait_wait_until_and_priority_order_the_work() -> None:
    low = demo.prompt("What is 1 + 1?").generate_later(priority=0)
    high = demo.prompt("What is 2 + 2?").generate_later(priority=10)
    mid = demo.prompt("What is 3 + 3?").generate_later(priority=5)
    later = demo.prompt("What is 4 + 4?").generate_later(wait=timedelta(seconds=1.5), priority=100)
    at = datetime.now(UTC) + timedelta(seconds=1.5)
    until = demo.prompt("What is 5 + 5?").generate_later(wait_until=at)
    Worker(concurrency=1, burst=True).run()
    ran = [high, mid, low]
    assert all(j.status == "succeeded" for j in ran)
    starts = [j.started_at for j in ran]
    assert starts == sorted(starts)  # type: ignore[type-var]  # highest priority first
    assert later.status == "queued" and until.status == "queued"  # a burst leaves jobs whose time has not come
    assert later.run_at is not None and later.run_at > datetime.now(UTC)
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()) + 0.2)
    Worker(concurrency=1, burst=True).run()
    assert "4 + 4 = 8" in later.result(timeout=5).text and "5 + 5 = 10" in until.result(timeout=5).text
    assert later.started_at >= later.run_at  # type: ignore[operator]
    assert until.started_at >= at  # type: ignore[operator]


class _Flaky(BaseHTTPRequestHandler):
    """An OpenAI-compatible server answering `fail` 503s (then 200s), or always `status`."""

    plan: ClassVar[list[int]] = []
    seen: ClassVar[list[float]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        type(self).seen.append(time.monotonic())
        status = type(self).plan.pop(0) if type(self).plan else 200
        if status != 200:
            body = json.dumps({"error": {"message": f"status {status}", "type": "server_error"}}).encode()
        else:
            body = json.dumps({
                "id": "c1", "object": "chat.completion", "created": 0, "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "back up"},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            }).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.plan, _Flaky.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_a_503_is_retried_with_backoff_then_succeeds(flaky: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_JOB_RETRY_DELAY", "0.3")
    _Flaky.plan = [503, 503]
    agent = Agent(name="remote", model="openai-compatible:m", base_url=flaky, model_settings={"max_retries": 0})
    job = agent.prompt("hello").generate_later(max_attempts=3)
    Worker(concurrency=1, burst=True).run()
    assert job.result(timeout=5).text == "back up"
    assert job.attempts == 3 and [e["status"] for e in job.errors] == [503, 503]
    assert all(e["retryable"] for e in job.errors)
    gaps = [b - a for a, b in zip(_Flaky.seen, _Flaky.seen[1:], strict=False)]
    assert gaps[0] >= 0.3 and gaps[1] >= 0.6  # exponential backoff: 0.3 s, then 0.6 s


def test_a_job_that_keeps_failing_stops_after_max_attempts_and_a_400_is_not_retried(
    flaky: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYGROUND_JOB_RETRY_DELAY", "0.05")
    _Flaky.plan = [503, 503, 400]
    agent = Agent(name="remote", model="openai-compatible:m", base_url=flaky, model_settings={"max_retries": 0})
    gives_up = agent.prompt("hello").generate_later(max_attempts=2)
    Worker(concurrency=1, burst=True).run()
    with pytest.raises(JobError) as failed:
        gives_up.result(timeout=5)
    assert failed.value.status == 503 and failed.value.retryable and "after 2 attempts" in str(failed.value)
    assert gives_up.status == "failed" and gives_up.attempts == 2
    bad = agent.prompt("hello").generate_later(max_attempts=5)
    Worker(concurrency=1, burst=True).run()
    assert bad.status == "failed" and bad.attempts == 1  # a 400 cannot get better by trying again
    err = bad.error()
    assert isinstance(err, JobError) and err.status == 400 and err.type == "InvalidRequestError" and not err.retryable
    assert len(_Flaky.seen) == 3


def test_what_cannot_be_stored_runs_here_and_says_so_or_is_refused() -> None:
    notebook_agent = Agent(name="cell", model="demo")
    seen: list[str] = []
    gen = notebook_agent.prompt("What is 6 * 7?", on_finish=lambda result: seen.append(result.text))
    with pytest.warns(JobNotDurableWarning, match="on_finish"):
        job = gen.generate_later()
    assert not job.durable and "on_finish" in job.not_durable_because
    assert "= 42" in job.result(timeout=10).text and job.status == "succeeded" and seen
    assert Job.get(job.id) is job  # found by id in this process
    with pytest.raises(ConfigurationError, match="on_finish") as refused:
        gen.generate_later(durable=True)
    assert refused.value.field == "durable"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not gen.generate_later(durable=False).durable  # asked for: no warning
    # an agent of plain data made in a cell is stored by its settings (no tools, client or key): durable
    notebook_agent.storage  # noqa: B018 - the default run store, opened: still the worker's own default
    plain = notebook_agent.prompt("What is 2 + 2?").generate_later()
    assert plain.durable
    from playground import InMemoryRunStore

    in_memory = Agent(name="cell", model="demo", storage=InMemoryRunStore())
    with pytest.warns(JobNotDurableWarning, match="InMemoryRunStore"):
        assert not in_memory.prompt("What is 2 + 2?").generate_later().durable  # its runs live in this process
    Worker(burst=True).run()
    assert "= 4" in plain.result(timeout=5).text


def test_bad_job_arguments_name_the_field() -> None:
    gen = demo.prompt("hi")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"queue": "a b"}, "queue"), ({"priority": "high"}, "priority"), ({"wait": -1}, "wait"),
        ({"wait": "5m"}, "wait"), ({"wait_until": "tomorrow"}, "wait_until"),
        ({"max_attempts": 0}, "max_attempts"), ({"wait": 1, "wait_until": datetime.now()}, "wait"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ConfigurationError) as bad:
            gen.generate_later(**kwargs)
        assert bad.value.field == field
    with pytest.raises(JobError, match="no job"):
        Job.get("job_nothing")


def test_cancel_a_queued_job_and_the_worker_skips_it() -> None:
    job = demo.prompt("What is 1 + 2?").generate_later()
    assert job.cancel() and job.status == "cancelled"
    Worker(burst=True).run()
    assert Job.get(job.id).status == "cancelled" and job.attempts == 0
    with pytest.raises(JobError, match="cancelled"):
        job.result(timeout=1)
    done = demo.prompt("What is 1 + 2?").generate_later()
    Worker(burst=True).run()
    assert not done.cancel() and done.status == "succeeded"


def test_embed_later_is_a_job_too() -> None:
    job = demo.embed(["a cat", "a dog"]).embed_later(priority=3)
    Worker(burst=True).run()
    res = job.result(timeout=5)
    assert job.kind == "embed" and len(res.embeddings) == 2 and len(res.embeddings[0]) == 64


def test_finished_jobs_are_forgotten_after_the_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = [demo.prompt(f"What is {i} + 1?").generate_later() for i in range(3)]
    Worker(burst=True).run()
    assert all(j.status == "succeeded" for j in jobs)
    monkeypatch.setenv("PLAYGROUND_JOB_RETENTION_DAYS", "0.000001")  # ~0.1 s
    time.sleep(0.3)
    waiting = demo.prompt("later").generate_later(wait=60)
    Worker(burst=True).run()  # a worker prunes when it starts
    for j in jobs:
        with pytest.raises(JobError, match="no job"):
            Job.get(j.id)
    assert Job.get(waiting.id).status == "queued"  # unfinished jobs are kept
    import playground.jobs as jobs_module

    monkeypatch.setattr(jobs_module, "LOCAL_JOBS_KEPT", 3)
    local = [demo.prompt("x").generate_later(durable=False) for _ in range(5)]
    for j in local:
        j.wait(10)
    assert len(jobs_module._local_jobs) == 3 and jobs_module.get_job(local[0].id) is None


def test_the_inprocess_consumer_runs_jobs_with_nothing_else_started(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_INPROCESS_WORKER", "1")
    job = demo.prompt("What is 6 * 7?").generate_later(queue="agents")
    assert "= 42" in job.result(timeout=20).text and job.queue == "agents"


def test_a_worker_killed_mid_job_is_replaced_and_the_job_runs_again_once(agent_file: Path, tmp_path: Path) -> None:
    log = tmp_path / "tool.log"
    extra = {"PLAYGROUND_JOB_LEASE_SECONDS": "1", "JOB_TOOL_LOG": str(log), "JOB_TOOL_SLEEP": "2"}
    job_id = enqueue_in_subprocess(agent_file, "add 2 and 3", **extra)
    first = subprocess.Popen([sys.executable, "-m", "playground.cli", "worker"], cwd=REPO, env=env(**extra),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and log.read_text()):
            assert time.monotonic() < deadline and first.poll() is None, "the worker never started the tool"
            time.sleep(0.05)
        assert Job.get(job_id).status == "running"
    finally:
        os.kill(first.pid, signal.SIGKILL)  # mid-tool
        first.wait(10)
    # the killed worker's lease runs out (1 s after its last renewal); a worker started after that takes the job
    lease_until = Job.get(job_id)._rec.get("lease_until") or 0.0
    time.sleep(max(0.0, lease_until - time.time()) + 0.1)
    second = cli("worker", "--burst", **{**extra, "JOB_TOOL_SLEEP": "0"})
    assert second.returncode == 0, second.stderr
    job = Job.get(job_id)
    assert job.status == "succeeded" and "5" in job.result().text
    info = job.info()
    assert job.attempts == 2 and info["recovered"] == 1  # retried once, and finished
    assert [e["type"] for e in job.errors] == ["WorkerLost"]
    assert log.read_text().count("start") == 2


def test_a_run_that_suspends_in_a_job_is_stored_and_approved_from_the_shell(agent_file: Path, tmp_path: Path) -> None:
    refunds = tmp_path / "refunds.log"
    extra = {"JOB_REFUND_LOG": str(refunds)}
    job_id = enqueue_in_subprocess(agent_file, "refund order 42", **extra)
    assert cli("worker", "--burst", **extra).returncode == 0
    result = Job.get(job_id).result(timeout=5)
    assert result.finish_reason == "suspended" and result.suspend_payload is not None
    run_id, call_id = result.run_id, result.suspend_payload.tool_call_id
    listed = cli("runs", "--json")
    assert run_id in {r["run_id"] for r in json.loads(listed.stdout)}  # stored like any other run
    # the worker died after the run was stored, before the job said so: the job is put back and runs again ...
    from playground.jobs import backend

    b = backend()
    b.records.update(job_id, lambda r: {**r, "status": "queued"})
    b.push("default", job_id, 0, None)
    assert cli("worker", "--burst", **extra).returncode == 0
    again = Job.get(job_id)
    assert again.status == "failed" and run_id in str(again.error())  # ... and may not start a second run
    assert "playground approve" in str(again.error())
    approved = cli("approve", run_id, call_id, "--agent", str(agent_file), "--json", **extra)
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["finish_reason"] == "stop"
    assert refunds.read_text().splitlines() == ["42"]  # the guarded tool ran once, after the approval


def test_send_later_and_the_jobs_panel_in_the_session(agent_file: Path) -> None:
    from playground.jobs import backend
    from playground.ui.render import exchange_panels
    from playground.ui.session import PlaygroundSession, load_agents

    session = PlaygroundSession(load_agents(agent_file.parent), agent="calc")
    session.set_active_tools(["add"])
    info = session.send_later("add 2 and 3", queue="default", delay=0, priority=2)
    assert info["durable"] and info["status"] == "queued" and info["priority"] == 2
    assert session.jobs_notice is not None and info["id"] in session.jobs_notice
    headers, rows = session.jobs_rows()
    assert headers[:2] == ["job", "status"] and rows[0][:2] == [info["id"], "queued"]
    with pytest.raises(ConfigurationError, match="open it once it has finished"):
        session.open_job(info["id"])
    Worker(burst=True).run()  # a worker anywhere: the job names the agent file, not this session
    assert session.jobs_rows()[1][0][1] == "succeeded"
    ex = session.open_job(info["id"])
    assert ex.result is not None and "5" in ex.result.text and ex.status == "done"
    panels = exchange_panels(ex)
    assert '"add"' in panels.raw_request and "step 1" in panels.raw_response.lower()
    assert "**Answer:**" in session.job_markdown(info["id"])
    with pytest.raises(ConfigurationError) as bad:
        session.send_later("add 1 and 1", delay=-5)
    assert bad.value.field == "delay"
    with pytest.raises(ConfigurationError) as bad_queue:
        session.send_later("add 1 and 1", queue="no spaces please")
    assert bad_queue.value.field == "queue"
    session.set_provider("openai-compatible")
    session.set_base_url("http://127.0.0.1:9/v1")
    session.set_model("local-model")
    session.set_api_key("sk-typed-in-the-page-0000")
    here = session.send_later("add 1 and 1")
    assert not here["durable"] and "key typed in the page" in here["why"]  # runs here, and says why
    assert "runs in this playground's process only" in (session.jobs_notice or "")
    assert "sk-typed" not in json.dumps(backend().records.recent(10))  # the key is not in any job record


def test_the_job_files_are_the_owners_only() -> None:
    import stat

    job = demo.prompt("What is 2 + 2?").generate_later()
    home = Path(os.environ["PLAYGROUND_HOME"])
    for name in ("jobs.sqlite3", "jobs-queue.sqlite3"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name  # they hold conversations and answers
    assert job.status == "queued"


def test_job_records_carry_a_schema_version_and_refuse_a_newer_one(tmp_path: Path) -> None:
    import sqlite3

    from playground.errors import StorageError
    from playground.jobs import JOB_RECORDS_SCHEMA, _SqliteRecords

    path = tmp_path / "jobs.sqlite3"
    _SqliteRecords(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == JOB_RECORDS_SCHEMA
        conn.execute(f"PRAGMA user_version = {JOB_RECORDS_SCHEMA + 1}")
    with pytest.raises(StorageError, match="newer playground"):
        _SqliteRecords(path)
