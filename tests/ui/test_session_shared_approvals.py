"""A call a playground page waits on lives in the configured run store (issue 14, shared state): `playground runs`
lists it, `playground approve` (a real process) or another server decides it, and the page that holds the card shows
what was decided there instead of running the tool again. Also: a restarted server (Save/Load), Clear, abandoned page
runs, keys, memory threads, and the same end to end on PostgreSQL.

The tool of the test agent appends to a ledger file, so "ran once" is counted across processes. No browser: the
notebook playground goes through the same PlaygroundSession (tests/ui/test_browser_shared_approvals.py has the page).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from playground import Agent, ErrorEvent
from playground.errors import PlaygroundError
from playground.runs import InMemoryRunStore, RunStore, update_run
from playground.storage import SqliteRunStore, open_run_store, playground_home
from playground.ui.render import chat_messages
from playground.ui.session import CompareColumn, PlaygroundSession, load_agents
from playground.ui.shared_runs import expire_abandoned_page_runs
from tests.postgres import fresh_database
from tests.ui.test_session_resume_stop import Paced, paced_server, text_sse, tool_call_sse

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-SECRET-shared-approvals-0042"

LEDGER_AGENT = '''
import os
from pathlib import Path

from playground import Agent, tool


@tool(requires_approval=True)
def refund(order_id: str, amount: float | None = None) -> dict[str, object]:
    """Refund an order (needs a person's approval).

    Args:
        order_id: The order to refund.
        amount: Amount in dollars; the whole order when omitted.
    """
    with Path(os.environ["LEDGER_FILE"]).open("a") as ledger:
        ledger.write(f"{os.getpid()} {order_id}\\n")
    return {"order_id": order_id, "refunded": 89.0 if amount is None else amount, "status": "refunded"}


agent = Agent(name="ledger", instructions="Refunds need approval.", model="demo", tools=[refund])
'''


@dataclass
class Shared:
    """One run store as several playground servers and the CLI see it."""

    agents: Path
    ledger: Path
    store: RunStore
    env: dict[str, str]

    def page(self, **kwargs: Any) -> PlaygroundSession:
        """A playground page on a server using this store (a new object: a new page, or a restarted server)."""
        s = PlaygroundSession(load_agents(self.agents), run_store=kwargs.pop("run_store", self.store), **kwargs)
        s.set_agent("ledger")
        return s

    def runs(self) -> list[str]:
        return self.ledger.read_text().splitlines() if self.ledger.exists() else []

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`playground ARGS` as another process (another machine, as far as the store is concerned)."""
        return subprocess.run([sys.executable, "-m", "playground.cli", *args, *(
            ["--agents", str(self.agents)] if args[0] in ("approve", "decline") else [])],
            capture_output=True, text=True, cwd=REPO, env=self.env, timeout=120)

    def listed(self) -> dict[str, dict[str, Any]]:
        out = self.cli("runs", "--json")
        assert out.returncode == 0, out.stderr
        return {r["run_id"]: r for r in json.loads(out.stdout)}


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: RunStore, extra_env: dict[str, str]) -> Shared:
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "ledger.py").write_text(LEDGER_AGENT)
    ledger = tmp_path / "ledger.txt"
    monkeypatch.setenv("LEDGER_FILE", str(ledger))
    env = {**os.environ, "PLAYGROUND_DEMO_DELAY": "0", "LEDGER_FILE": str(ledger), **extra_env}
    return Shared(agents, ledger, store, env)


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shared:
    """The default store: SQLite under this test's PLAYGROUND_HOME, which the CLI process reads too."""
    return _setup(tmp_path, monkeypatch, open_run_store(), {})


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shared]:
    """Both stores: SQLite under PLAYGROUND_HOME, and a fresh PostgreSQL database named by PLAYGROUND_DATABASE_URL
    (the CLI gets its own PLAYGROUND_HOME there, so nothing is shared through a local file)."""
    if request.param == "sqlite":
        yield _setup(tmp_path, monkeypatch, open_run_store(), {})
        return
    with fresh_database("pg_pages") as url:
        store = open_run_store(url)
        other_home = tmp_path / "server_b"
        other_home.mkdir()
        try:
            yield _setup(tmp_path, monkeypatch, store,
                         {"PLAYGROUND_DATABASE_URL": url, "PLAYGROUND_HOME": str(other_home)})
        finally:
            store.close()  # type: ignore[attr-defined]


async def collect(events: Any) -> list[Any]:
    return [ev async for ev in events]


async def suspended_page(shared: Shared, text: str = "refund order 42", **kwargs: Any) -> PlaygroundSession:
    page = shared.page(**kwargs)
    await collect(page.send(text))
    assert page.pending is not None and page.pending.tool_name == "refund", page.notice
    return page


def chat_text(page: PlaygroundSession) -> str:
    return json.dumps(chat_messages(page.exchanges)[0], ensure_ascii=False)


# -- the page's run is in the shared store ------------------------------------------------------------------------


async def test_a_waiting_page_call_is_listed_by_playground_runs(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    run_id = page.pending.run_id
    assert run_id.startswith("page_")
    listed = shared.listed()[run_id]
    assert listed["status"] == "pending" and listed["agent"] == "ledger"
    assert [(c["id"], c["tool"], c["args"], c["state"]) for c in listed["calls"]] == [
        (page.pending.tool_call_id, "refund", {"order_id": "42"}, "waiting")]
    assert (playground_home() / "runs.sqlite3").is_file()
    assert shared.runs() == []


async def test_approved_by_the_cli_the_page_shows_the_outcome_and_never_runs_it_again(any_store: Shared) -> None:
    shared = any_store
    page = await suspended_page(shared)
    assert page.pending is not None
    run_id, call_id = page.pending.run_id, page.pending.tool_call_id
    assert shared.listed()[run_id]["status"] == "pending"  # server B sees server A's page run

    approved = shared.cli("approve", run_id, call_id)
    assert approved.returncode == 0, approved.stderr
    assert '"refunded": 89.0' in approved.stdout
    assert len(shared.runs()) == 1

    events = await collect(page.approve(call_id))  # the stale card's Approve: refused by the store, shown
    assert len(events) == 1 and isinstance(events[0], ErrorEvent)
    assert len(shared.runs()) == 1  # not run again
    assert page.pending is None and not page.busy
    notice = page.notice or ""
    assert notice.startswith("Already decided elsewhere (`playground approve`")
    assert "the refund call was approved; it ran once and returned" in notice and "89.0" in notice
    ex = page.exchanges[-1]
    assert ex.status == "done" and "refunded 89.0" in ex.view.text  # the answer the run went on to, from the store
    tool = next(b for b in ex.view.blocks if b.kind == "tool")
    assert tool.status == "done" and tool.result["refunded"] == 89.0
    assert "Already decided elsewhere" in chat_text(page)
    assert ex.result is not None and len(ex.result.steps) == 2 and ex.result.finish_reason == "stop"
    assert [m.role for m in page.messages] == ["user", "assistant", "tool", "assistant"]
    assert ex.decisions[-1]["approved"] is True and ex.decisions[-1]["elsewhere"] is True

    await collect(page.send("thanks"))  # the conversation goes on from the outcome
    assert page.exchanges[-1].status == "done"
    assert [m.role for m in page.messages][:4] == ["user", "assistant", "tool", "assistant"]
    assert shared.listed()[run_id]["status"] == "finished"
    again = shared.cli("approve", run_id, call_id)
    assert again.returncode == 1 and "already approved, it ran once" in again.stderr
    assert len(shared.runs()) == 1


async def test_a_restarted_server_loads_the_saved_page_and_approves_once(any_store: Shared) -> None:
    shared = any_store
    page = await suspended_page(shared)
    saved = page.save()
    del page  # the server stops; the run waits in the store

    restarted = shared.page()
    assert restarted.load(saved) == []
    assert restarted.pending is not None
    await collect(restarted.approve(restarted.pending.tool_call_id, '{"order_id": "42", "amount": 5}'))
    assert restarted.pending is None and restarted.exchanges[-1].status == "done"
    assert "refunded 5" in restarted.exchanges[-1].view.text
    assert len(shared.runs()) == 1

    second = shared.page()  # the same file opened again on another page: attached to the same, decided run
    said = second.load(saved)
    assert second.pending is None and said == [second.notice]
    assert "was approved with arguments" in said[0] and '"amount": 5' in said[0]
    assert "refunded 5" in second.exchanges[-1].view.text
    assert len(shared.runs()) == 1


async def test_declined_by_the_cli_the_page_says_so_and_the_tool_never_runs(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    declined = shared.cli("decline", page.pending.run_id, page.pending.tool_call_id, "--reason", "over the limit")
    assert declined.returncode == 0, declined.stderr
    await collect(page.decline(page.pending.tool_call_id, "changed my mind"))
    assert page.pending is None
    assert "the refund call was declined (reason: over the limit); it was not run" in (page.notice or "")
    tool = next(b for b in page.exchanges[-1].view.blocks if b.kind == "tool")
    assert tool.status == "declined" and tool.reason == "over the limit"
    assert shared.runs() == []


async def test_a_send_after_a_decision_elsewhere_shows_it_and_goes_on(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    assert shared.cli("approve", page.pending.run_id, page.pending.tool_call_id).returncode == 0
    await collect(page.send("and order 7?"))  # no stale "approve or decline it first"
    assert len(page.exchanges) == 2 and page.exchanges[-1].status == "done"
    assert "refunded 89.0" in page.exchanges[0].view.text and "Already decided elsewhere" in chat_text(page)
    assert len(shared.runs()) == 1


async def test_refresh_pending_follows_the_store_without_a_click(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    assert page.refresh_pending() is False  # still waiting for this page
    assert shared.cli("approve", page.pending.run_id, page.pending.tool_call_id).returncode == 0
    assert page.refresh_pending() is True
    assert page.pending is None and "refunded 89.0" in page.exchanges[-1].view.text
    assert page.refresh_pending() is False


async def test_expired_or_deleted_elsewhere_the_card_goes_and_nothing_runs(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    assert shared.cli("runs", "expire", page.pending.run_id).returncode == 0
    await collect(page.approve(page.pending.tool_call_id))
    assert page.pending is None and "was expired elsewhere" in (page.notice or "")
    assert page.exchanges[-1].status == "stopped"

    await collect(page.send("refund order 7"))
    assert page.pending is not None
    assert shared.cli("runs", "delete", page.pending.run_id).returncode == 0
    await collect(page.approve(page.pending.tool_call_id))
    assert page.pending is None and "no longer in the run store" in (page.notice or "")
    await collect(page.send("hello"))
    assert page.exchanges[-1].status == "done"
    assert shared.runs() == []


async def test_the_page_and_the_cli_approve_at_once_and_the_tool_runs_once(any_store: Shared) -> None:
    shared = any_store
    page = await suspended_page(shared)
    assert page.pending is not None
    run_id, call_id = page.pending.run_id, page.pending.tool_call_id
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "playground.cli", "approve", run_id, call_id, "--agents", str(shared.agents),
        cwd=REPO, env=shared.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    await asyncio.sleep(0.3)  # the CLI process starts (imports) while the page approves
    await collect(page.approve(call_id))
    _, err = await cli.communicate()
    deadline = time.monotonic() + 20
    while page.watching:  # lost while the CLI ran it, or its run goes on there: the live check follows to the end
        assert ("is being resolved there now" in (page.notice or "") or "going on there" in (page.notice or "")) \
            and time.monotonic() < deadline, page.notice
        await page.check_pending()
        await asyncio.sleep(0.1)
    assert len(shared.runs()) == 1  # whoever won, the refund ran once
    assert page.pending is None and "refunded 89.0" in page.exchanges[-1].view.text
    page_won = shared.runs()[0].split()[0] == str(os.getpid())  # the ledger names the process the tool ran in
    if page_won:
        assert cli.returncode == 1 and b"already approved" in err, err
    else:
        assert cli.returncode == 0, err
        assert "Already decided elsewhere" in chat_text(page)


async def test_a_run_that_goes_on_elsewhere_shows_its_answer_on_the_page_when_it_ends(shared: Shared) -> None:
    """The page reads the run between the tool running there and the model's answer after it (the race the test
    above can hit): it shows the tool's result at once, keeps following, and shows the answer once the run ends."""
    page = await suspended_page(shared)
    assert page.pending is not None
    run_id, call_id = page.pending.run_id, page.pending.tool_call_id
    assert shared.cli("approve", run_id, call_id).returncode == 0
    final = shared.store.load(run_id)
    assert final is not None and final.status == "finished" and final.messages[-1].role == "assistant"
    midway = final.model_copy(deep=True)  # as the approving process saved it before the model's next step
    midway.status = "running"
    midway.messages = midway.messages[:-1]
    shared.store.save(midway)

    assert await page.check_pending() is True
    assert page.pending is None and page.watching and "going on there" in (page.notice or "")
    tool = next(b for b in page.exchanges[-1].view.blocks if b.kind == "tool")
    assert tool.status == "done" and tool.result == {"order_id": "42", "refunded": 89.0, "status": "refunded"}
    assert "refunded 89.0" not in page.exchanges[-1].view.text
    assert await page.check_pending() is False  # still going on there: nothing to repaint

    shared.store.save(final)
    assert await page.check_pending() is True
    assert not page.watching and "refunded 89.0" in page.exchanges[-1].view.text
    assert "has ended: its answer is shown above" in (page.notice or "")
    assert "Already decided elsewhere" in (page.notice or "") and "Already decided elsewhere" in chat_text(page)
    assert await page.check_pending() is False and len(shared.runs()) == 1


async def test_a_new_message_stops_following_a_run_that_goes_on_elsewhere(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    run_id, call_id = page.pending.run_id, page.pending.tool_call_id
    assert shared.cli("approve", run_id, call_id).returncode == 0
    final = shared.store.load(run_id)
    assert final is not None
    midway = final.model_copy(deep=True)
    midway.status = "running"
    midway.messages = midway.messages[:-1]
    shared.store.save(midway)
    await collect(page.send("and the weather?"))  # Send follows the decision, then goes on: no stale card
    assert not page.watching and page.exchanges[-1].status == "done" and len(page.exchanges) == 2
    shared.store.save(final)
    assert await page.check_pending() is False  # the earlier exchange is not rewritten under the new one
    assert "refunded 89.0" not in page.exchanges[0].view.text


# -- isolation, keys ------------------------------------------------------------------------------------------------


async def test_another_page_on_the_same_store_cannot_see_or_decide_the_call(shared: Shared) -> None:
    a = await suspended_page(shared)
    b = shared.page()
    assert a.pending is not None and b.pending is None
    refused = await collect(b.approve(a.pending.tool_call_id))
    assert isinstance(refused[0], ErrorEvent) and b.notice == "No tool call is waiting for approval."
    assert b.refresh_pending() is False and b.exchanges == []
    await collect(a.approve(a.pending.tool_call_id))
    assert a.exchanges[-1].status == "done" and len(shared.runs()) == 1


@pytest.fixture
def paced() -> Iterator[str]:
    """A scripted OpenAI-compatible server on 127.0.0.1 (tests/ui/test_session_resume_stop.py)."""
    with paced_server() as url:
        yield url


async def test_a_typed_key_is_never_written_to_the_run_store(paced: str) -> None:
    Paced.script = [tool_call_sse("refund", {"order_id": "42"}, "call_1"), text_sse("Refunded.")]
    page = PlaygroundSession(load_agents(REPO / "agents"))
    page.set_agent("support")
    assert page.configure(provider="openai-compatible", base_url=paced, model="paced-model", api_key=KEY,
                          settings={"max_retries": 0}) == []
    await collect(page.send("refund order 42"))
    assert page.pending is not None
    assert Paced.bodies and page.has_api_key
    path = playground_home() / "runs.sqlite3"
    stored = b"".join(p.read_bytes() for p in path.parent.glob("runs.sqlite3*"))
    assert page.pending.run_id.encode() in stored and KEY.encode() not in stored
    with sqlite3.connect(path) as conn:
        raw = conn.execute("SELECT state FROM runs").fetchone()[0]
    assert "refund" in raw and KEY not in raw
    await collect(page.approve(page.pending.tool_call_id))
    assert page.exchanges[-1].status == "done"
    stored = b"".join(p.read_bytes() for p in path.parent.glob("runs.sqlite3*"))
    assert KEY.encode() not in stored and KEY not in page.save()


# -- memory threads ---------------------------------------------------------------------------------------------


async def test_with_memory_the_thread_keeps_what_the_cli_decided(shared: Shared) -> None:
    page = await suspended_page(shared, memory=True)
    assert page.pending is not None and page.thread_id is not None
    thread = page.thread_id
    assert shared.cli("approve", page.pending.run_id, page.pending.tool_call_id).returncode == 0
    await collect(page.approve(page.pending.tool_call_id))
    assert page.pending is None and "Already decided elsewhere" in (page.notice or "")
    await collect(page.send("thanks"))
    assert page.exchanges[-1].status == "done" and page.thread_id == thread
    reopened = shared.page(memory=True)  # the thread, opened on another page, has the tool's outcome in it
    assert reopened.open_thread(thread)
    roles = [m.role for m in reopened.messages]
    assert roles[:4] == ["user", "assistant", "tool", "assistant"] and roles.count("user") == 2
    assert "refunded 89.0" in reopened.exchanges[0].view.text
    assert len(shared.runs()) == 1


# -- retention ----------------------------------------------------------------------------------------------------


async def test_clear_expires_the_waiting_run_and_loading_the_same_file_keeps_it(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    first = page.pending.run_id
    saved = page.save()
    assert page.load(saved) == [] and page.pending is not None and page.pending.run_id == first  # kept
    assert shared.listed()[first]["status"] == "pending"
    page.reset()  # Clear
    assert shared.listed()[first]["status"] == "expired"
    gone = shared.cli("approve", first, json.loads(saved)["pending"]["tool_call_id"])
    assert gone.returncode == 1 and "expired" in gone.stderr
    assert shared.runs() == []

    await collect(page.send("refund order 7"))  # decided elsewhere before Clear: Clear leaves that decision alone
    assert page.pending is not None
    second = page.pending.run_id
    assert shared.cli("approve", second, page.pending.tool_call_id).returncode == 0
    page.reset()
    assert shared.listed()[second]["status"] == "finished" and len(shared.runs()) == 1


async def test_page_runs_abandoned_for_days_are_expired_and_other_runs_are_not(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    agent = load_agents(shared.agents)[0]["ledger"]
    assert isinstance(agent, Agent)
    agent.storage = shared.store
    script_run = agent.generate("refund order 7")  # a run started from code: not a page's
    assert script_run.finish_reason == "suspended"
    assert expire_abandoned_page_runs(shared.store) == []  # 7 days by default: nothing is that old
    later = time.time() + 8 * 86400
    assert expire_abandoned_page_runs(shared.store, now=later) == [page.pending.run_id]
    statuses = {r: i["status"] for r, i in shared.listed().items()}
    assert statuses == {page.pending.run_id: "expired", script_run.run_id: "pending"}
    await collect(page.approve(page.pending.tool_call_id))
    assert page.pending is None and "expired" in (page.notice or "") and shared.runs() == []

    monkeypatch.setenv("PLAYGROUND_PAGE_RUN_DAYS", "never")
    await collect(page.send("refund order 42"))
    assert expire_abandoned_page_runs(shared.store, now=later + 86400) == []
    monkeypatch.setenv("PLAYGROUND_PAGE_RUN_DAYS", "soon")
    assert page.pending is not None
    await collect(page.decline(page.pending.tool_call_id, "no"))
    await collect(page.send("refund order 42"))  # a bad setting is said; nothing is expired with it
    assert "PLAYGROUND_PAGE_RUN_DAYS" in (page.notice or "") and page.pending is not None


async def test_compare_columns_that_wait_store_nothing(shared: Shared) -> None:
    page = shared.page()
    outcomes = await page.compare("refund order 42", [CompareColumn("demo"), CompareColumn("demo")])
    assert all("waits for approval of refund" in o.text for o in outcomes)
    assert open_run_store().list_runs() == []  # nobody could approve them from the page: not stored for it


def test_a_session_defaults_to_the_configured_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    page = PlaygroundSession()
    assert isinstance(page.run_store, SqliteRunStore)
    assert page.run_store.path == playground_home() / "runs.sqlite3"
    assert PlaygroundSession().run_store is page.run_store  # a server's pages share one store (opened once)
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "elsewhere"))
    moved = PlaygroundSession().run_store
    assert isinstance(moved, SqliteRunStore) and moved.path == tmp_path / "elsewhere" / "runs.sqlite3"
    mine = InMemoryRunStore()
    assert PlaygroundSession(run_store=mine).run_store is mine


# -- interrupted calls, two calls in one step, a store that fails -----------------------------------------------


async def test_a_call_whose_resolving_process_died_is_offered_again_as_a_retry(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    run_id, call_id = page.pending.run_id, page.pending.tool_call_id

    def died_while_running(state: Any) -> None:  # another server approved it, claimed it, and was killed
        call = state.pending[0]
        call.decision, call.claimed_by, call.claimed_until, call.attempts = "approved", "server-b", time.time() + 60, 1

    update_run(shared.store, run_id, died_while_running)
    await collect(page.approve(call_id))  # claimed and its lease still runs: not run here
    assert "is being resolved there now" in (page.notice or "") and shared.runs() == []
    assert page.pending is not None

    update_run(shared.store, run_id, lambda s: setattr(s.pending[0], "claimed_until", time.time() - 1))
    assert page.refresh_pending() is False and page.pending is not None  # interrupted: a person decides again
    assert "interrupted" in (page.notice or "") and "may have partly run" in (page.notice or "")
    await collect(page.approve(call_id))  # Approve retries it, once
    assert page.pending is None and page.exchanges[-1].status == "done" and len(shared.runs()) == 1
    stored = shared.store.load(run_id)
    assert stored is not None and [(c.attempts, c.interrupted, c.done) for c in stored.resolved] == [(2, 1, True)]


def two_refunds_sse() -> bytes:
    calls = [{"index": i, "id": f"call_{order}", "type": "function",
              "function": {"name": "refund", "arguments": json.dumps({"order_id": order})}}
             for i, order in enumerate(("42", "7"))]
    chunks = [{"choices": [{"index": 0, "delta": {"tool_calls": calls}, "finish_reason": None}]},
              {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}]
    return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()


async def test_one_of_two_calls_approved_by_the_cli_moves_the_card_to_the_other(
    shared: Shared, paced: str
) -> None:
    Paced.script = [two_refunds_sse(), text_sse("Both refunds are done.")]
    page = shared.page()
    assert page.configure(provider="openai-compatible", base_url=paced, model="paced-model",
                          settings={"max_retries": 0}) == []
    await collect(page.send("refund orders 42 and 7"))
    assert page.pending is not None and page.pending.args == {"order_id": "42"}
    first = page.pending
    approved = shared.cli("approve", first.run_id, first.tool_call_id)
    assert approved.returncode == 0, approved.stderr
    assert "Waiting for approval: refund" in approved.stdout  # the run waits again, on the other call

    await collect(page.approve(first.tool_call_id))
    assert page.pending is not None and page.pending.args == {"order_id": "7"}  # the card moved on
    assert "The run now waits for approval of refund" in (page.notice or "")
    blocks = {b.tool_call_id: b for b in page.exchanges[-1].view.blocks if b.kind == "tool"}
    assert blocks[first.tool_call_id].status == "done" and blocks[first.tool_call_id].result["order_id"] == "42"
    assert blocks[page.pending.tool_call_id].status == "approval"
    assert [line.split()[1] for line in shared.runs()] == ["42"]

    await collect(page.approve(page.pending.tool_call_id))
    assert page.pending is None and "Both refunds are done." in page.exchanges[-1].view.text
    assert sorted(line.split()[1] for line in shared.runs()) == ["42", "7"]
    assert len(Paced.bodies) == 2  # the model was asked once more, with both results
    assert sum(m["role"] == "tool" for m in Paced.bodies[-1]["messages"]) == 2


async def test_a_run_store_that_fails_is_said_and_the_card_stays(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    path = playground_home() / "runs.sqlite3"
    for extra in path.parent.glob("runs.sqlite3-*"):
        extra.unlink()
    path.write_bytes(b"this is not a database" * 100)
    await collect(page.approve(page.pending.tool_call_id))
    assert (page.notice or "").startswith("Run store: ") and "not a database" in (page.notice or "")
    assert page.pending is not None and shared.runs() == []


async def test_a_page_suspending_a_run_expires_page_runs_abandoned_long_ago(
    shared: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground.ui import shared_runs

    monkeypatch.setattr(shared_runs, "_last_sweep", {})
    abandoned = await suspended_page(shared)  # a page closed without a decision
    assert abandoned.pending is not None
    old = abandoned.pending.run_id
    with sqlite3.connect(playground_home() / "runs.sqlite3") as conn:  # as if eight days went by
        conn.execute("UPDATE runs SET updated_at = updated_at - 8 * 86400 WHERE run_id = ?", (old,))
    monkeypatch.setattr(shared_runs, "_last_sweep", {})  # the last sweep was more than an hour ago

    fresh = await suspended_page(shared)  # another page's run waits: the sweep runs beside it
    assert fresh.pending is not None
    deadline = time.monotonic() + 10
    while shared.listed()[old]["status"] != "expired":
        assert time.monotonic() < deadline, "the abandoned page run was not expired"
        time.sleep(0.2)
    assert shared.listed()[fresh.pending.run_id]["status"] == "pending"
    await collect(fresh.approve(fresh.pending.tool_call_id))
    assert fresh.exchanges[-1].status == "done" and len(shared.runs()) == 1


async def test_an_edited_session_file_cannot_approve_a_call_for_the_person(
    shared: Shared, paced: str, tmp_path: Path
) -> None:
    Paced.script = [two_refunds_sse(), text_sse("Both refunds are done.")]
    page = shared.page()
    assert page.configure(provider="openai-compatible", base_url=paced, model="paced-model",
                          settings={"max_retries": 0}) == []
    await collect(page.send("refund orders 42 and 7"))
    assert page.pending is not None and page.pending.args == {"order_id": "42"}
    data = json.loads(page.save())
    other = data["pending"]["run"]["pending"][1]
    assert other["args"] == {"order_id": "7"} and other["decision"] is None
    other["decision"] = "approved"  # edited by hand: "order 7 is approved too"
    data["pending"]["run"]["always_approve"] = ["refund"]
    data["pending"]["run"]["options"]["always_approve"] = ["refund"]

    elsewhere = shared.page(run_store=SqliteRunStore(tmp_path / "machine_b.sqlite3"))  # a machine without the run
    assert elsewhere.configure(provider="openai-compatible", base_url=paced, model="paced-model") == []
    assert elsewhere.load(json.dumps(data)) == []
    assert elsewhere.pending is not None
    await collect(elsewhere.approve(elsewhere.pending.tool_call_id))
    assert [line.split()[1] for line in shared.runs()] == ["42"]  # only what was approved here ran
    assert elsewhere.pending is not None and elsewhere.pending.args == {"order_id": "7"}  # order 7 waits for a person
    await collect(elsewhere.decline(elsewhere.pending.tool_call_id, "not approved"))
    assert [line.split()[1] for line in shared.runs()] == ["42"]


# -- a run store that is down: plain chats never need it, a waiting call stays in the page -----------------------


class CountingStore(InMemoryRunStore):
    """An in-memory run store that counts every call made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def load(self, run_id: str) -> Any:
        self.calls.append("load")
        return super().load(run_id)

    def create(self, state: Any) -> None:
        self.calls.append("create")
        super().create(state)

    def save(self, state: Any) -> None:
        self.calls.append("save")
        super().save(state)

    def update(self, run_id: str, mutate: Any) -> Any:
        self.calls.append("update")
        return super().update(run_id, mutate)


async def test_a_send_that_never_waits_for_approval_never_touches_the_run_store() -> None:
    store = CountingStore()
    page = PlaygroundSession(load_agents(REPO / "agents"), agent="support", run_store=store)
    await collect(page.send("look up order 42"))
    await collect(page.send("what is the weather in Paris?"))
    assert [ex.status for ex in page.exchanges] == ["done", "done"] and store.calls == []
    await collect(page.send("refund order 42"))  # the run waits: stored, once, by an INSERT-only create
    assert page.pending is not None and store.calls == ["create"]
    assert page.run_store is store and store.load(page.pending.run_id) is not None


DB_PASSWORD = "db-SECRET-pass-77"


@pytest.fixture(params=["read-only PLAYGROUND_HOME", "PostgreSQL unreachable"])
def down(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shared]:
    """A configured run store that cannot be written: SQLite in a read-only PLAYGROUND_HOME (as root, whom chmod does
    not stop, a PLAYGROUND_HOME under a regular file: a folder nobody can create), or PostgreSQL on a closed port
    (127.0.0.1:1, with a password in the URL)."""
    if request.param == "read-only PLAYGROUND_HOME":
        home = tmp_path / "home"
        home.mkdir()
        home.chmod(0o500)
        if os.access(home, os.W_OK):  # root
            (tmp_path / "a-file").write_text("")
            home = tmp_path / "a-file" / "home"
        monkeypatch.setenv("PLAYGROUND_HOME", str(home))
        try:
            yield _setup(tmp_path, monkeypatch, open_run_store(), {})
        finally:
            (tmp_path / "home").chmod(0o700)
        return
    store = open_run_store(f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:1/postgres", timeout=2)
    try:
        yield _setup(tmp_path, monkeypatch, store, {})
    finally:
        store.close()  # type: ignore[attr-defined]


async def test_a_run_store_that_is_down_fails_no_send_and_the_approval_lives_in_the_page(down: Shared) -> None:
    page = down.page()
    page.set_api_key(KEY)
    with pytest.raises(PlaygroundError):  # the store really is down
        page.run_store.load("page_0")

    await collect(page.send("hello"))  # a chat that never waits for approval: not refused for the store
    assert page.exchanges[-1].status == "done" and page.notice is None

    await collect(page.send("refund order 42"))
    assert page.pending is not None and page.exchanges[-1].status == "suspended"
    notice = page.notice or ""
    assert notice.startswith("Run store unavailable: run store ")
    assert "This approval lives only in this page until you approve or decline it here" in notice
    assert "`playground runs` does not list it" in notice
    assert KEY not in notice and DB_PASSWORD not in notice
    assert "Run store unavailable" in chat_text(page) and KEY not in chat_text(page)
    assert page.refresh_pending() is False and await page.check_pending() is False  # it waits here, for this page
    saved = page.save()  # Save session keeps it (its run as the page holds it)
    assert json.loads(saved)["pending"]["run"]["run_id"] == page.pending.run_id
    elsewhere = down.page(run_store=SqliteRunStore(down.agents.parent / "working.sqlite3"))
    assert elsewhere.load(saved) == [] and elsewhere.pending is not None  # a store that works takes it from the file
    assert elsewhere.run_store.load(elsewhere.pending.run_id) is not None and elsewhere.notice is None

    await collect(page.approve(page.pending.tool_call_id, '{"order_id": "42", "amount": 5}'))
    assert page.pending is None and page.exchanges[-1].status == "done", page.notice
    assert "refunded 5" in page.exchanges[-1].view.text and len(down.runs()) == 1

    await collect(page.send("refund order 7"))  # said for each run kept in the page; Decline works there too
    assert page.pending is not None and "Run store unavailable" in (page.notice or "")
    await collect(page.decline(page.pending.tool_call_id, "not this one"))
    assert page.pending is None and page.exchanges[-1].status == "done" and len(down.runs()) == 1
    tool = next(b for b in page.exchanges[-1].view.blocks if b.kind == "tool")
    assert tool.status == "declined" and tool.reason == "not this one"

    await collect(page.send("refund order 9"))
    page.reset()  # Clear drops the call kept in the page: nothing is run, a new chat starts
    assert page.pending is None and page.exchanges == []
    await collect(page.send("hello again"))
    assert page.exchanges[-1].status == "done" and len(down.runs()) == 1


# -- the live check a page makes while its card shows ------------------------------------------------------------


async def test_check_pending_follows_a_decision_made_elsewhere_and_reads_nothing_without_a_card(
    shared: Shared,
) -> None:
    page = shared.page()
    counting = CountingStore()
    page._store.shared = counting  # no card: nothing is read
    assert await page.check_pending() is False and counting.calls == []
    page._store.shared = shared.store

    page = await suspended_page(shared)
    assert page.pending is not None
    assert await page.check_pending() is False and page.pending is not None  # still waits: nothing to repaint
    assert shared.cli("approve", page.pending.run_id, page.pending.tool_call_id).returncode == 0
    assert await page.check_pending() is True  # the card is now the outcome
    assert page.pending is None and "refunded 89.0" in page.exchanges[-1].view.text
    assert (page.notice or "").startswith("Already decided elsewhere") and len(shared.runs()) == 1
    assert await page.check_pending() is False


async def test_a_live_check_that_cannot_read_the_store_says_so_once(shared: Shared) -> None:
    page = await suspended_page(shared)
    assert page.pending is not None
    run_id = page.pending.run_id
    path = playground_home() / "runs.sqlite3"
    for extra in path.parent.glob("runs.sqlite3-*"):
        extra.unlink()
    path.write_bytes(b"this is not a database" * 100)
    assert await page.check_pending() is True  # the notice changed: repainted once
    assert (page.notice or "").startswith("Run store: ") and page.pending is not None
    assert await page.check_pending() is False  # the same notice: nothing to repaint
    saved = json.loads(page.save())  # Save still works: the run as the page last saw it
    assert saved["pending"]["run_id"] == run_id and saved["pending"]["run"]["status"] == "suspended"
