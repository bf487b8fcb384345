"""`playground approve` / `decline` resume the stored run (never a new one); `playground runs` lists, expires, deletes
and prunes stored runs; a process killed mid-tool leaves an interrupted call a person retries from the shell.

Every command runs as a real process on the demo model, with PLAYGROUND_HOME in the test's temp folder."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playground.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PLAYGROUND_DEMO_DELAY": "0", **(env or {})},
        timeout=120,
    )


def suspend(message: str = "refund order 42", agent: str = "agents/support.py", **kw: Any) -> tuple[str, str]:
    out = cli("run", agent, message, **kw)
    assert out.returncode == 0, out.stderr
    found = re.search(r"run_id=(\S+) tool_call_id=(\S+)", out.stdout)
    assert found, out.stdout
    run_id, call_id = found.groups()
    assert f"playground approve {run_id} {call_id}" in out.stdout  # the hint resumes this run, not a new one
    assert "rerun with" not in out.stdout
    return run_id, call_id


def runs_json(*args: str, env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    out = cli("runs", *args, "--json", env=env)
    assert out.returncode == 0, out.stderr
    return {r["run_id"]: r for r in json.loads(out.stdout)}


def test_approve_from_the_shell_resumes_the_stored_run_with_edited_args() -> None:
    run_id, call_id = suspend()
    listed = runs_json()
    assert listed[run_id]["status"] == "pending" and listed[run_id]["agent"] == "support"
    assert listed[run_id]["calls"] == [
        {"id": call_id, "tool": "refund", "args": listed[run_id]["calls"][0]["args"], "state": "waiting"}
    ]
    assert listed[run_id]["calls"][0]["args"]["order_id"] == "42"

    out = cli("approve", run_id, call_id, "--args", '{"order_id": "42", "amount": 10}')
    assert out.returncode == 0, out.stderr
    assert '"refunded": 10.0' in out.stdout and "[stop]" in out.stdout
    assert runs_json()[run_id]["status"] == "finished"
    assert len(runs_json()) == 1  # resumed, not a new run

    again = cli("approve", run_id, call_id)
    assert again.returncode == 1 and "already approved, it ran once" in again.stderr


def test_decline_from_the_shell_tells_the_model_why() -> None:
    run_id, call_id = suspend()
    out = cli("decline", run_id, call_id, "--reason", "over the limit", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["finish_reason"] == "stop" and result["run_id"] == run_id
    assert result["tool_results"][0]["approval"] == "declined"
    assert "over the limit" in result["tool_results"][0]["result"]


def test_several_runs_in_one_store_approving_one_leaves_the_others() -> None:
    first = suspend("refund order 42")
    second = suspend("refund order 7")
    assert first[0] != second[0]
    out = cli("approve", *second)
    assert out.returncode == 0, out.stderr
    assert '"order_id": "7"' in out.stdout and '"order_id": "42"' not in out.stdout
    listed = runs_json()
    assert listed[first[0]]["status"] == "pending" and listed[first[0]]["calls"][0]["state"] == "waiting"
    assert listed[second[0]]["status"] == "finished"
    pending_only = runs_json("--status", "pending")
    assert list(pending_only) == [first[0]]
    text = cli("runs").stdout
    assert f"{first[0]}  pending" in text and f"{second[0]}  finished" in text
    assert "Approve: playground approve RUN_ID CALL_ID" in text


def test_runs_expire_delete_and_prune() -> None:
    expired, kept, finished = suspend(), suspend(), suspend()
    assert cli("approve", *finished).returncode == 0
    out = cli("runs", "expire", expired[0])
    assert out.returncode == 0 and "can no longer be approved" in out.stdout
    refused = cli("approve", *expired)
    assert refused.returncode == 1 and "not waiting for approval (status: expired)" in refused.stderr
    assert runs_json()[expired[0]]["status"] == "expired"

    assert cli("runs", "delete", kept[0]).returncode == 0
    assert kept[0] not in runs_json()
    gone = cli("approve", *kept)
    assert gone.returncode == 1 and f"no stored run {kept[0]!r}" in gone.stderr

    pruned = cli("runs", "prune", "--older-than", "0")
    assert pruned.returncode == 0 and "Deleted 2 finished, failed or expired run(s)" in pruned.stdout
    assert runs_json() == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("approve", "run_x", "c1", "--args", "{oops"), "--args: not valid JSON"),
        (("approve", "run_x", "c1", "--args", "[1, 2]"), "--args: expected a JSON object"),
        (("approve", "run_nope", "c1"), "no stored run 'run_nope'"),
        (("runs", "expire"), "give the id of at least one run"),
        (("runs", "prune", "--older-than", "-1"), "--older-than: expected a number of days >= 0"),
    ],
)
def test_bad_input_is_one_clear_line(args: tuple[str, ...], message: str) -> None:
    suspend()  # a store exists
    out = cli(*args)
    assert out.returncode == 1 and message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_no_store_yet_says_where_it_looked() -> None:
    out = cli("runs")
    assert out.returncode == 1 and "no run store at" in out.stderr and "PLAYGROUND_HOME" in out.stderr


def test_the_agent_is_found_by_name_or_given_with_agent(tmp_path: Path) -> None:
    run_id, call_id = suspend()
    other = tmp_path / "agents"
    other.mkdir()
    missing = cli("approve", run_id, call_id, "--agents", str(other))
    assert missing.returncode == 1 and "made by agent 'support', which is not in the" in missing.stderr
    assert "pass --agent FILE" in missing.stderr
    out = cli("approve", run_id, call_id, "--agent", "agents/support.py", "--agents", str(other))
    assert out.returncode == 0 and "[stop]" in out.stdout


_SLOW_AGENT = textwrap.dedent(
    """
    import os, time
    from pathlib import Path
    from playground import Agent, tool

    MARKS = Path(os.environ["MARKS"])

    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        \"\"\"Refund an order.\"\"\"
        with MARKS.open("a") as f:
            f.write(f"start {order_id}\\n")
        if os.environ.get("HANG") == "1":
            time.sleep(120)
        with MARKS.open("a") as f:
            f.write(f"done {order_id}\\n")
        return f"refunded order {order_id}"

    agent = Agent(name="slow-support", model="demo", tools=[refund])
    """
)


def test_a_process_killed_mid_tool_leaves_an_interrupted_call_a_person_retries(tmp_path: Path) -> None:
    agent_file = tmp_path / "slow.py"
    agent_file.write_text(_SLOW_AGENT)
    marks = tmp_path / "marks.txt"
    env = {"MARKS": str(marks), "PLAYGROUND_LEASE_SECONDS": "1", "PYTHONPATH": str(REPO)}
    run_id, call_id = suspend("refund order 42", str(agent_file), env=env)

    proc = subprocess.Popen(
        [sys.executable, "-m", "playground.cli", "approve", run_id, call_id, "--agent", str(agent_file)],
        cwd=REPO,
        env={**os.environ, **env, "HANG": "1", "PLAYGROUND_DEMO_DELAY": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (marks.exists() and "start 42" in marks.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, "the approved tool never started"
            time.sleep(0.05)
        # the tool runs: its lease is renewed, so nobody can run the call a second time
        assert runs_json(env=env)[run_id]["calls"][0]["state"] == "running"
        busy = cli("approve", run_id, call_id, "--agent", str(agent_file), env=env)
        assert busy.returncode == 1 and "being resolved now by another process" in busy.stderr
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the process dies mid-tool
        proc.wait(30)

    deadline = time.monotonic() + 30
    while runs_json(env=env)[run_id]["status"] != "interrupted":
        assert time.monotonic() < deadline, "the run stayed stuck"
        time.sleep(0.2)
    assert runs_json(env=env)[run_id]["calls"][0]["state"] == "interrupted"
    assert marks.read_text() == "start 42\n"  # not re-run on its own

    retry = cli("approve", run_id, call_id, "--agent", str(agent_file), env=env)
    assert retry.returncode == 0, retry.stderr
    assert "refunded order 42" in retry.stdout and "[stop]" in retry.stdout
    assert marks.read_text() == "start 42\nstart 42\ndone 42\n"
    assert runs_json(env=env)[run_id]["status"] == "finished"


def test_a_run_left_running_is_explained_and_can_be_expired() -> None:
    """The window after a run's approvals were committed, while the model is asked again: a process that dies there
    leaves the run `running`."""
    from playground import SqliteRunStore

    run_id, _ = suspend()
    store = SqliteRunStore()

    def left_running(state: Any) -> None:
        state.status = "running"  # as a process that died after committing leaves it

    store.update(run_id, left_running)
    shown = cli("runs")
    assert shown.returncode == 0 and f"{run_id}  running" in shown.stdout
    assert "playground runs expire RUN_ID" in shown.stdout
    assert cli("runs", "expire", run_id).returncode == 0
    assert runs_json()[run_id]["status"] == "expired"
