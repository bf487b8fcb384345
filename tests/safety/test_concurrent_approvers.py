"""Approvers in separate processes whose transactions overlap: no decision is lost, no call runs twice.

Each process waits at a file barrier, then holds its write transaction open for a while (a slow `mutate`), so the
transactions of the processes overlap. The store must serialise them (SQLite's `BEGIN IMMEDIATE` takes the write lock
before reading); a deferred `BEGIN` lets two processes read the same state and one of them loses its update or fails
with "database is locked".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

from playground import SqliteRunStore
from playground.runs import record_decision
from tests.safety.helpers import REPO, pending_ids, support_agent
from tests.scripted import completion

_BARRIER = textwrap.dedent(
    """
    import time
    from pathlib import Path

    def barrier(folder, me, count):
        Path(folder, f"ready-{me}").touch()
        deadline = time.monotonic() + 60
        while len(list(Path(folder).glob("ready-*"))) < count:
            if time.monotonic() > deadline:
                raise SystemExit("barrier timed out")
            time.sleep(0.01)
    """
)

_DECIDE = _BARRIER + textwrap.dedent(
    """
    import json, sys
    from playground import SqliteRunStore
    from playground.runs import record_decision

    path, run_id, call_id, folder, count = sys.argv[1:6]
    store = SqliteRunStore(path)

    def decide(state):
        call = record_decision(state, call_id, "approved")
        time.sleep(0.3)  # hold the write transaction open while the others try theirs
        return call.tool_call_id

    barrier(folder, call_id, int(count))
    try:
        _, value = store.update(run_id, decide)
        print(json.dumps({"decided": value}))
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    """
)


def _spawn(script: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=REPO,
    )


def _answer(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _barrier_in_this_process(folder: Path, me: str, count: int) -> None:
    (folder / f"ready-{me}").touch()
    deadline = time.monotonic() + 60
    while len(list(folder.glob("ready-*"))) < count:
        assert time.monotonic() < deadline, "barrier timed out"
        time.sleep(0.01)


def three_refunds() -> dict[str, Any]:
    return completion(
        None,
        [("c1", "refund", {"order_id": "1"}), ("c2", "refund", {"order_id": "2"}), ("c3", "refund", {"order_id": "3"})],
    )


def test_overlapping_decisions_from_three_processes_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite3"
    store = SqliteRunStore(path)
    log: list[str] = []
    result = support_agent(log, three_refunds(), storage=store).generate("refund 1, 2 and 3")
    assert pending_ids(result) == ["c1", "c2", "c3"]
    folder = tmp_path / "barrier"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [_spawn(_DECIDE, str(path), result.run_id, cid, str(folder), "3", env=env) for cid in ("c2", "c3")]

    # this process is the third approver, with the same slow transaction
    mine: dict[str, Any] = {}

    def decide_here() -> None:
        def decide(state: Any) -> str:
            call = record_decision(state, "c1", "approved")
            time.sleep(0.3)
            return call.tool_call_id

        _barrier_in_this_process(folder, "c1", 3)
        try:
            mine["decided"] = store.update(result.run_id, decide)[1]
        except Exception as exc:  # reported below with the processes' answers
            mine["error"] = f"{type(exc).__name__}: {exc}"

    t0 = time.monotonic()
    thread = threading.Thread(target=decide_here)
    thread.start()
    answers = [_answer(p) for p in procs]
    thread.join(timeout=120)
    assert [mine, *answers] == [{"decided": "c1"}, {"decided": "c2"}, {"decided": "c3"}]
    assert time.monotonic() - t0 >= 0.9  # three 0.3 s transactions ran one after the other

    state = store.load(result.run_id)
    assert state is not None
    assert [(p.tool_call_id, p.decision) for p in state.pending] == [
        ("c1", "approved"),
        ("c2", "approved"),
        ("c3", "approved"),
    ]
    assert log == []  # deciding runs nothing; the next resume runs each call once


_APPROVE = _BARRIER + textwrap.dedent(
    """
    import json, sys
    from playground import Agent, tool
    from tests.scripted import Scripted, completion

    run_id, call_id, folder, count, log_file = sys.argv[1:6]

    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        with open(log_file, "a") as f:
            f.write(order_id + "\\n")
        time.sleep(0.3)  # the processes' claims, runs and commits overlap
        return "refunded " + order_id

    agent = Agent(name="support", model="openai-chat:gpt-test", api_key="sk-test-proc-0123456789", tools=[refund],
                  http_client=Scripted(completion("All refunded.")).client())
    barrier(folder, call_id, int(count))
    try:
        r = agent.approve_tool_call(run_id, call_id)
        print(json.dumps({"finish": r.finish_reason, "text": r.text}))
    except Exception as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
    """
)


def test_three_processes_approving_calls_of_one_run_run_each_once_and_one_continues(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "PLAYGROUND_HOME": str(home), "PYTHONPATH": str(REPO)}
    store = SqliteRunStore(home / "runs.sqlite3")
    log_file = tmp_path / "refunds.txt"
    log: list[str] = []
    result = support_agent(log, three_refunds(), storage=store).generate("refund 1, 2 and 3")
    assert pending_ids(result) == ["c1", "c2", "c3"]
    folder = tmp_path / "barrier"
    folder.mkdir()
    procs = [_spawn(_APPROVE, result.run_id, cid, str(folder), "3", str(log_file), env=env) for cid in ("c2", "c3")]

    mine: dict[str, Any] = {}
    here = support_agent(log, completion("All refunded."), storage=store)

    def approve_here() -> None:
        _barrier_in_this_process(folder, "c1", 3)
        try:
            r = here.approve_tool_call(result.run_id, "c1")
            mine.update(finish=r.finish_reason, text=r.text)
        except Exception as exc:
            mine["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=approve_here)
    thread.start()
    answers = [_answer(p) for p in procs]
    thread.join(timeout=120)
    assert "error" not in mine, mine
    everyone = [mine, *answers]
    assert all("error" not in a for a in everyone), everyone
    # exactly one approver continues the run (asks the model again); the others report it still waiting or done
    finished = [a for a in everyone if a["finish"] == "stop"]
    assert len(finished) == 1 and finished[0]["text"] == "All refunded.", everyone
    assert all(a["finish"] == "suspended" for a in everyone if a is not finished[0]), everyone
    ran = sorted([*log, *(f"refund {o}" for o in log_file.read_text().split())]) if log_file.exists() else sorted(log)
    assert ran == ["refund 1", "refund 2", "refund 3"]  # each call ran exactly once, in some process
    state = store.load(result.run_id)
    assert state is not None and state.status == "finished"
    assert sorted((c.tool_call_id, c.done) for c in state.resolved) == [("c1", True), ("c2", True), ("c3", True)]
