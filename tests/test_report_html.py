"""The shareable HTML report: result.to_html(), session.export_html(), `playground report` — every panel, no key."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest

from playground import Agent, GenerationResult, tool
from playground.providers.demo import DEMO_BASE_URL, DemoServer
from playground.report_html import PANELS, report_html
from playground.ui.session import PlaygroundSession, load_agents

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-test-SECRET-report-0123456789"


def weather_agent(log: list[str]) -> Agent:
    @tool(requires_approval=True)
    def get_weather(city: str) -> str:
        """The weather in a city."""
        log.append(city)
        return f"{city}: 21 degrees, sunny"

    # a real provider's translation (Chat Completions) with a key, served by the in-process demo server
    return Agent(name="weather", model="openai-chat:demo-1", api_key=KEY, base_url=DEMO_BASE_URL,
                 http_client=httpx2.Client(transport=DemoServer(0)), tools=[get_weather])


def approved_result() -> GenerationResult:
    agent = weather_agent([])
    first = agent.generate("What is the weather in Paris?")
    assert first.suspended and first.suspend_payload is not None
    return agent.approve_tool_call(first.run_id, first.suspend_payload.tool_call_id)


def panel(doc: str, name: str) -> str:
    m = re.search(rf'<(section|details) data-panel="{name}"[^>]*>(.*?)</\1>', doc, re.S)
    assert m is not None, f"no {name} panel"
    return m.group(2)


def assert_self_contained(doc: str) -> None:
    assert doc.startswith("<!DOCTYPE html>")
    low = doc.lower()
    for needle in ("<script", "<link", "<img", "<iframe", "@import", "url(", " src="):
        assert needle not in low, needle


def test_result_to_html_has_every_panel_and_no_key(tmp_path: Path) -> None:
    result = approved_result()
    doc = result.to_html()
    assert_self_contained(doc)
    for name in PANELS:
        panel(doc, name)
    assert KEY not in doc
    assert "Bearer sk-...6789" in panel(doc, "raw-request")  # the masked key, as the raw panel shows it
    tools = panel(doc, "tools")
    assert "get_weather" in tools and "approved" in tools and "Paris: 21 degrees, sunny" in tools
    assert "What is the weather in Paris?" in panel(doc, "chat")
    assert result.text and result.text.split()[0] in panel(doc, "chat")
    assert "call it with" in panel(doc, "reasoning")  # the demo model's reasoning
    usage = panel(doc, "usage")
    assert f"{result.usage.total_tokens:,}" in usage and "cost" in usage
    assert panel(doc, "steps").count('class="step"') == len(result.steps) == 2
    raw = panel(doc, "raw-response")
    assert "status" in raw and "chat.completion" in raw
    out = tmp_path / "r.html"
    assert result.to_html(str(out)) == out.read_text()


def test_report_of_several_results_lists_sources_and_escapes_html() -> None:
    sourced = Agent(model="demo").generate("What is RAG? Cite your sources.")
    assert sourced.sources
    tricky = Agent(model="demo").generate("<script>alert(1)</script> hello")
    doc = report_html([approved_result(), sourced, tricky], secrets=[KEY])
    assert_self_contained(doc)
    sources = panel(doc, "sources")
    assert all(s.url in sources for s in sourced.sources if s.url)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "Exchange 3, Step 1" in panel(doc, "steps")


async def test_session_export_html(tmp_path: Path) -> None:
    session = PlaygroundSession(load_agents(REPO / "agents"))
    session.set_agent("weather")
    session.set_require_approval(True)
    session.set_api_key(KEY)
    events = [ev async for ev in session.send(f"weather in Paris (my key is {KEY})")]
    assert any(type(ev).__name__ == "ToolApprovalEvent" for ev in events)
    while session.pending is not None:  # the demo may ask for one call per city it reads
        _ = [ev async for ev in session.approve(session.pending.tool_call_id)]
    assert session.exchanges[-1].status == "done"
    _ = [ev async for ev in session.send("thanks")]
    doc = session.export_html()
    assert_self_contained(doc)
    for name in PANELS:
        panel(doc, name)
    assert KEY not in doc
    chat = panel(doc, "chat")
    assert "weather in Paris" in chat and "thanks" in chat
    assert "approved" in panel(doc, "tools")
    assert "Exchange 2, Step 1" in panel(doc, "steps")
    one = session.export_html(exchange=1)
    assert "Exchange 2" not in one and "thanks" in panel(one, "chat")
    path = session.export_html_file(tmp_path)
    assert path.read_text() == session.export_html() or path.read_text().count("data-panel") > 8
    with pytest.raises(ValueError, match="exchange: no exchange 5"):
        session.export_html(exchange=5)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The `playground` command in its own process (importing the CLI here would change what other tests see)."""
    return subprocess.run([sys.executable, "-m", "playground.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_cli_record_then_report_from_the_replay(tmp_path: Path) -> None:
    cassette = tmp_path / "w.cassette"
    report = tmp_path / "w.html"
    agent_file = str(REPO / "agents" / "weather.py")
    done = cli("record", agent_file, "weather in Paris", "--cassette", str(cassette), "--html", str(report))
    assert done.returncode == 0, done.stderr
    assert f"into {cassette}" in done.stdout and cassette.is_file() and report.is_file()
    data: dict[str, Any] = json.loads(cassette.read_text())
    assert data["model"] == "demo" and data["interactions"]
    recorded_doc = report.read_text()
    assert "get_weather" in panel(recorded_doc, "tools")

    replay_report = tmp_path / "replay.html"
    done = cli("report", agent_file, "weather in Paris", "--model", f"replay:{cassette}", "-o", str(replay_report))
    assert done.returncode == 0, done.stderr
    doc = replay_report.read_text()
    assert panel(doc, "raw-response") == panel(recorded_doc, "raw-response")

    def untimed(tools: str) -> str:
        return re.sub(r"<td>[\d.]+ m?s</td>", "", tools)

    assert untimed(panel(doc, "tools")) == untimed(panel(recorded_doc, "tools"))
    done = cli("report", agent_file, "weather in Rome", "--model", f"replay:{cassette}", "-o", str(tmp_path / "x.html"))
    assert done.returncode == 1
    assert "body.messages[1].content: recorded 'weather in Paris', now 'weather in Rome'" in done.stderr
    assert not (tmp_path / "x.html").exists()


async def test_session_record_toggle_then_replay_provider(tmp_path: Path) -> None:
    session = PlaygroundSession(load_agents(REPO / "agents"))
    session.set_agent("weather")
    path = tmp_path / "s.cassette"
    assert session.set_record(path) == path
    session.set_api_key(KEY)  # the demo ignores it; the cassette must not hold it anyway
    _ = [ev async for ev in session.send("weather in Paris")]
    recorded = session.exchanges[-1].result
    assert recorded is not None and recorded.text
    assert session.set_record(None) is None
    assert KEY not in path.read_text()
    session.reset()  # Clear: the replay starts the conversation as the recording did
    session.set_provider("replay")
    assert session.cannot_list_models() is not None and "cassette" in str(session.cannot_list_models())
    session.set_model(str(path))
    _ = [ev async for ev in session.send("weather in Paris")]
    replayed = session.exchanges[-1].result
    assert replayed is not None and replayed.text == recorded.text
    assert [s.raw_request for s in replayed.steps] == [s.raw_request for s in recorded.steps]
    events = [ev async for ev in session.send("weather in Rome")]
    assert type(events[-1]).__name__ == "ErrorEvent"
    assert "body.messages" in (session.exchanges[-1].error or "") and "Rome" in (session.exchanges[-1].error or "")
