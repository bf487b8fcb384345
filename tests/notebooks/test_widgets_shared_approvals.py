"""The notebook playground on the shared run store (issue 14): a call its card waits on is approved by
`playground approve` in another process; the card turns into the outcome by itself (a task on the kernel's loop reads
the run while the card shows), or a stale card's Approve shows what was decided there; the tool is not run again.
The same PlaygroundSession as the browser (tests/ui/test_session_shared_approvals.py has the details)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from playground.storage import open_run_store
from playground.ui import shared_runs
from playground.ui.session import PlaygroundSession, load_agents
from playground.ui.widgets import PlaygroundWidget

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLAYGROUND_DEMO_DELAY": "0"}
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=120)


async def test_a_card_approved_from_the_cli_turns_into_its_outcome_without_a_click(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shared_runs, "PENDING_CHECK_SECONDS", 0.2)
    pg = PlaygroundWidget(PlaygroundSession(load_agents(REPO / "agents"), agent="support"))
    await pg.send("look up order 42")
    assert pg._pending_watch.task is None  # no card: nothing watches, nothing is read
    await pg.send("refund order 42")
    pending = pg.session.pending
    assert pending is not None and pg.approval_area.layout.display is None
    watch = pg._pending_watch.task
    assert watch is not None and not watch.done()
    approved = cli("approve", pending.run_id, pending.tool_call_id, "--args", '{"order_id": "42", "amount": 3}')
    assert approved.returncode == 0, approved.stderr

    deadline = time.monotonic() + 20
    while pg.approval_area.layout.display != "none":  # no click: the kernel's loop runs, as between cells
        assert time.monotonic() < deadline, "the card did not turn into the outcome by itself"
        await asyncio.sleep(0.05)
    assert "Already decided elsewhere" in pg.notice.value and "approved with arguments" in pg.notice.value
    assert "refunded 3" in pg.chat.value and pg.session.pending is None
    await asyncio.sleep(0.3)
    assert watch.done()  # the watch ended with the card
    stored = open_run_store().load(pending.run_id)
    assert stored is not None and [(c.attempts, c.done) for c in stored.resolved] == [(1, True)]


async def test_a_stale_card_approved_from_the_cli_shows_its_outcome_on_approve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_runs, "PENDING_CHECK_SECONDS", 3600)  # the click comes before the next live check
    pg = PlaygroundWidget(PlaygroundSession(load_agents(REPO / "agents"), agent="support"))
    await pg.send("refund order 42")
    pending = pg.session.pending
    assert pending is not None and pg.approval_area.layout.display is None  # the card shows
    assert [r["run_id"] for r in json.loads(cli("runs", "--json", "--status", "pending").stdout)] == [pending.run_id]
    approved = cli("approve", pending.run_id, pending.tool_call_id)
    assert approved.returncode == 0, approved.stderr

    pg.approve_button.click()
    await pg.wait()
    assert "Already decided elsewhere" in pg.notice.value and "ran once and returned" in pg.notice.value
    assert "refunded 89.0" in pg.chat.value and "Already decided elsewhere" in pg.chat.value
    assert pg.session.pending is None and pg.approval_area.layout.display == "none"
    stored = open_run_store().load(pending.run_id)
    assert stored is not None and [(c.attempts, c.done) for c in stored.resolved] == [(1, True)]


async def test_a_run_going_on_elsewhere_after_its_tool_is_followed_to_its_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read between the tool running in the CLI's process and the model's answer after it: the notebook shows the
    tool's result, its watch goes on while the run goes on there, and it shows the answer once the run has ended."""
    monkeypatch.setattr(shared_runs, "PENDING_CHECK_SECONDS", 0.2)
    pg = PlaygroundWidget(PlaygroundSession(load_agents(REPO / "agents"), agent="support"))
    await pg.send("refund order 42")
    pending = pg.session.pending
    assert pending is not None
    # the CLI runs while this loop is blocked (no await): the watch reads only the states written below
    assert cli("approve", pending.run_id, pending.tool_call_id).returncode == 0
    store = open_run_store()
    final = store.load(pending.run_id)
    assert final is not None and final.status == "finished"
    answer = "".join(p.text for p in final.messages[-1].content if p.type == "text")
    midway = final.model_copy(deep=True)  # as the CLI's process saved it before the model's next step
    midway.status = "running"
    midway.messages = midway.messages[:-1]
    store.save(midway)

    deadline = time.monotonic() + 20
    while "going on there" not in pg.notice.value:
        assert time.monotonic() < deadline, pg.notice.value
        await asyncio.sleep(0.05)
    assert pg.approval_area.layout.display == "none" and "refunded" in pg.chat.value and answer not in pg.chat.value
    watch = pg._pending_watch.task
    assert watch is not None and not watch.done()  # no card, yet the run is still followed

    store.save(final)
    while "has ended" not in pg.notice.value:
        assert time.monotonic() < deadline, pg.notice.value
        await asyncio.sleep(0.05)
    assert answer in pg.chat.value
    await asyncio.sleep(0.3)
    assert watch.done()  # the run ended: so did the watch
