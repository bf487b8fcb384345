"""The notebook playground in real JupyterLab (Chromium): a card approved with `playground approve` in another process
turns into its outcome without a click. The widget's live check is a task on the kernel's event loop
(shared_runs.PendingWatch), which runs between cells as JupyterLab's kernel is idle; this is where that is proven."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.ui.test_jupyterlab import (
    SUPPORT,
    _failure_shot,
    _open,
    _served_root,
    _until,
    chromium,
    jupyterlab,
    local_server,
)

pytestmark = pytest.mark.browser

__all__ = ["chromium", "jupyterlab", "local_server"]  # module fixtures of test_jupyterlab.py, used here too

REPO = Path(__file__).resolve().parents[2]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`playground ARGS` as another process, on the run store the kernel uses (the JupyterLab fixture's home)."""
    env = {**os.environ, "PLAYGROUND_DEMO_DELAY": "0", "PLAYGROUND_HOME": str(home)}
    env.pop("PLAYGROUND_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=120)


def test_a_card_approved_from_the_cli_turns_into_its_outcome_in_jupyterlab(jupyterlab: str, chromium: Any) -> None:
    home = Path(_served_root(jupyterlab)).parent / "home"  # PLAYGROUND_HOME of the served kernels
    context = chromium.new_context(viewport={"width": 1280, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _open(page, jupyterlab, SUPPORT)
        widget = page.locator(".pgw").first
        message = widget.locator(".pgw-message input")
        message.fill("refund order 42")
        message.press("Enter")
        approval = widget.locator(".pgw-approval")
        approval.wait_for(state="visible")
        _until(page, lambda: page.get_by_text("Python 3 (ipykernel) | Idle").count() > 0, 60)

        runs = json.loads(cli(home, "runs", "--json", "--status", "pending").stdout)
        assert len(runs) == 1 and runs[0]["run_id"].startswith("page_"), runs
        call = runs[0]["calls"][0]
        approved = cli(home, "approve", runs[0]["run_id"], call["id"], "--args", '{"order_id": "42", "amount": 7}')
        assert approved.returncode == 0, approved.stderr

        # no click, no cell run: the kernel's idle loop reads the run and the card becomes the outcome
        widget.locator(".pgw-notice", has_text="Already decided elsewhere").wait_for(timeout=30_000)
        approval.wait_for(state="hidden", timeout=30_000)
        widget.locator(".pgw-chat-box", has_text="refunded 7").wait_for(timeout=30_000)
        listed = json.loads(cli(home, "runs", "--json").stdout)
        assert [(r["run_id"], r["status"]) for r in listed] == [(runs[0]["run_id"], "finished")]
    except Exception:
        _failure_shot(page, "shared-approvals")
        raise
    finally:
        context.close()
