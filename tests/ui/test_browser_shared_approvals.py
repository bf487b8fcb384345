"""In a real browser (Chromium, Playwright): a call the page waits on is listed by `playground runs` and approved by
`playground approve` in another process; the page's card then turns, without a click, into what was decided there
and the answer the run went on to (a timer reads the run while, and only while, a card shows), never running the tool
a second time, and the conversation goes on (issue 14, shared state).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground.storage import open_run_store
from playground.ui.shared_runs import PENDING_CHECK_SECONDS
from tests.ui.test_browser import WAIT, Page
from tests.ui.test_browser_failures import use_server
from tests.ui.test_session_resume_stop import Paced, paced_server, text_sse, tool_call_sse
from tests.ui.test_session_shared_approvals import two_refunds_sse

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`playground ARGS` as another process, on the run store the served page uses (this test's PLAYGROUND_HOME)."""
    env = {**os.environ, "PLAYGROUND_DEMO_DELAY": "0"}
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=120)


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        p = Page(context, app_url)
        yield p
        assert p.requests and p.foreign_requests() == [], "the page reached a host other than 127.0.0.1"
    finally:
        context.close()


def events_sent(p: Page) -> int:
    """How many events the page has sent to the server (Gradio's queue), a timer's ticks included."""
    return sum("/queue/join" in url for url in p.requests)


def assert_no_events_for(p: Page, seconds: float) -> None:
    p.page.wait_for_timeout(1000)  # the events a reply's end chains (threads list, composer) land first
    before = events_sent(p)
    p.page.wait_for_timeout(seconds * 1000)
    assert events_sent(p) == before, "the page sent events while nothing waited for approval"


def test_a_card_approved_from_the_cli_turns_into_its_outcome_without_a_click(page: Page) -> None:
    from playwright.sync_api import expect

    p = page
    p.choose("Agent", "support")
    p.send("look up order 42")
    p.expect_chat("item Mechanical keyboard")
    assert_no_events_for(p, PENDING_CHECK_SECONDS + 1.5)  # no card: no timer ticks, an idle page costs nothing
    p.send("refund order 42")
    card = p.page.locator("#pg-approval").first
    expect(card).to_be_visible(timeout=WAIT)

    listed = cli("runs", "--json", "--status", "pending")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert len(runs) == 1 and runs[0]["run_id"].startswith("page_") and runs[0]["agent"] == "support"
    run_id, call = runs[0]["run_id"], runs[0]["calls"][0]
    assert call["tool"] == "refund" and call["args"] == {"order_id": "42"} and call["state"] == "waiting"
    approved = cli("approve", run_id, call["id"], "--args", '{"order_id": "42", "amount": 12.5}')
    assert approved.returncode == 0, approved.stderr
    assert '"refunded": 12.5' in approved.stdout

    approved_at = time.monotonic()
    # no click: the card's timer reads the run and the card becomes what was decided in the CLI's process
    p.expect_notice("Already decided elsewhere")
    p.expect_chat("the refund call was approved with arguments")
    p.expect_chat("refunded 12.5")  # the answer the run went on to in the CLI's process
    expect(card).to_be_hidden(timeout=WAIT)
    assert time.monotonic() - approved_at < WAIT / 1000
    p.screenshot("playground-approved-elsewhere.png")
    assert_no_events_for(p, PENDING_CHECK_SECONDS + 1.5)  # the card is gone: so is its timer
    again = cli("runs", "--json")
    assert [(r["run_id"], r["status"], r["calls"]) for r in json.loads(again.stdout)] == [(run_id, "finished", [])]

    p.send("thanks")  # the conversation goes on from the outcome
    p.expect_chat("thanks")
    expect(p.page.locator("#pg-notice")).to_be_hidden(timeout=WAIT)
    assert cli("approve", run_id, call["id"]).returncode == 1  # and nobody can run it a second time
    stored = open_run_store().load(run_id)
    assert stored is not None and [(c.decision, c.attempts, c.done) for c in stored.resolved] == [("approved", 1, True)]


def test_a_reload_after_a_decline_from_the_cli_shows_the_decline_not_the_card(page: Page) -> None:
    from playwright.sync_api import expect

    p = page
    p.choose("Agent", "support")
    p.send("refund order 7")
    card = p.page.locator("#pg-approval").first
    expect(card).to_be_visible(timeout=WAIT)
    runs = json.loads(cli("runs", "--json", "--status", "pending").stdout)
    assert len(runs) == 1
    declined = cli("decline", runs[0]["run_id"], runs[0]["calls"][0]["id"], "--reason", "order 7 was a gift")
    assert declined.returncode == 0, declined.stderr

    p.page.reload()  # the page reopens its conversation (its memory thread, which the CLI's resume saved to)
    p.page.get_by_role("button", name="Send", exact=True).wait_for(timeout=WAIT)
    p.expect_chat("refund order 7")
    p.expect_chat("Reason: order 7 was a gift")  # what the model was told, and answered, in the CLI's process
    expect(card).to_be_hidden(timeout=WAIT)
    p.send("refund order 42")  # nothing waits any more: the conversation goes on
    expect(card).to_be_visible(timeout=WAIT)
    assert sorted(r["status"] for r in json.loads(cli("runs", "--json").stdout)) == ["finished", "pending"]


@pytest.fixture
def server() -> Iterator[str]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (tests/ui/test_session_resume_stop.py)."""
    with paced_server() as url:
        yield url


def test_one_of_two_calls_approved_from_the_cli_moves_the_card_to_the_other(page: Page, server: str) -> None:
    from playwright.sync_api import expect

    p = page
    Paced.script = [two_refunds_sse(), text_sse("Both refunds are done.")]
    use_server(p, server, "support", max_retries="0")
    p.send("refund orders 42 and 7")
    card = p.page.locator("#pg-approval").first
    expect(card).to_be_visible(timeout=WAIT)
    args = p.page.get_by_label("Arguments (JSON)", exact=True)
    assert json.loads(args.input_value()) == {"order_id": "42"}
    runs = json.loads(cli("runs", "--json", "--status", "pending").stdout)
    first = next(c for c in runs[0]["calls"] if c["args"] == {"order_id": "42"})
    assert cli("approve", runs[0]["run_id"], first["id"]).returncode == 0

    # no click: order 42 was approved elsewhere; the card moves on to order 7 by itself, with its arguments
    p.expect_notice("The run now waits for approval of refund")
    expect(card).to_be_visible(timeout=WAIT)
    expect(args).to_have_value(json.dumps({"order_id": "7"}, indent=2), timeout=WAIT)
    p.click("Approve")
    p.expect_chat("Both refunds are done.")
    expect(card).to_be_hidden(timeout=WAIT)
    sent = Paced.bodies[-1]["messages"]
    results = [json.loads(m["content"]) for m in sent if m["role"] == "tool"]
    assert sorted(r["order_id"] for r in results) == ["42", "7"]  # each refund ran once, with its own arguments


def test_a_run_going_on_in_the_cli_after_its_tool_shows_its_answer_when_it_ends(
    page: Page, server: str, tmp_path: Path
) -> None:
    """The CLI approved and ran the tool; the model's next answer takes a while there. The page shows the tool's
    result at once, keeps its timer while the run goes on, and shows the answer once the CLI's run has ended."""
    from playwright.sync_api import expect

    agents = tmp_path / "cli_agents"  # the CLI's support agent: the same tools, its model on the paced server
    agents.mkdir()
    (agents / "support.py").write_text(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('support_tools', {str(REPO / 'agents' / 'support.py')!r})\n"
        "tools = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(tools)\n"
        "agent = tools.agent\n"
        f"agent.use_model('openai-compatible:paced-model', api_key='sk-paced-test-key-0001', base_url={server!r})\n"
    )

    p = page
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "paced-model",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "Refund 42 is on its way."},
                           "finish_reason": "stop"}]}
    Paced.script = [tool_call_sse("refund", {"order_id": "42"}, "call_42"),
                    ("after", PENDING_CHECK_SECONDS * 2 + 1, (200, {}, json.dumps(answer).encode()))]
    use_server(p, server, "support", max_retries="0")
    p.send("refund order 42")
    card = p.page.locator("#pg-approval").first
    expect(card).to_be_visible(timeout=WAIT)
    runs = json.loads(cli("runs", "--json", "--status", "pending").stdout)
    env = {**os.environ, "PLAYGROUND_DEMO_DELAY": "0"}
    approving = subprocess.Popen([sys.executable, "-m", "playground.cli", "approve", runs[0]["run_id"], "call_42",
                                  "--agents", str(agents)],
                                 cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p.expect_notice("The run is going on there; its answer shows here once it ends")  # no click
        expect(card).to_be_hidden(timeout=WAIT)
        assert "Refund 42 is on its way." not in p.chat.inner_text()
        p.expect_chat("Refund 42 is on its way.")  # the timer kept reading until the CLI's run ended
        p.expect_notice("has ended: its answer is shown above")
        out, err = approving.communicate(timeout=60)
    finally:
        approving.kill()
    assert approving.returncode == 0, err
    assert "Refund 42 is on its way." in out
    assert_no_events_for(p, PENDING_CHECK_SECONDS + 1.5)  # the run ended: its timer stopped
