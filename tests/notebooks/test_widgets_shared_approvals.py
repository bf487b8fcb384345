"""The notebook playground on the shared run store (issue 14): a call its card waits on is approved by
`playground approve` in another process; the card's Approve then shows what was decided there, and the tool is not
run again. The same PlaygroundSession as the browser (tests/ui/test_session_shared_approvals.py has the details)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")

from playground.storage import open_run_store
from playground.ui.session import PlaygroundSession, load_agents
from playground.ui.widgets import PlaygroundWidget

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLAYGROUND_DEMO_DELAY": "0"}
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=120)


async def test_a_card_approved_from_the_cli_shows_its_outcome_in_the_notebook() -> None:
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
