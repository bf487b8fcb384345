"""The shareable HTML report opened in Chromium with no network: every panel shows, nothing is fetched, no key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2

from playground import Agent, tool
from playground.providers.demo import DEMO_BASE_URL, DemoServer
from playground.report_html import PANELS, report_html

KEY = "sk-test-SECRET-browser-report-98765"


def make_report(tmp_path: Path) -> Path:
    @tool(requires_approval=True)
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"{city}: 21 degrees, sunny"

    agent = Agent(name="weather", model="openai-chat:demo-1", api_key=KEY, base_url=DEMO_BASE_URL,
                  http_client=httpx2.Client(transport=DemoServer(0)), tools=[get_weather])
    first = agent.generate("What is the weather in Paris?")
    assert first.suspend_payload is not None
    approved = agent.approve_tool_call(first.run_id, first.suspend_payload.tool_call_id)
    sourced = Agent(model="demo").generate("What is RAG? Cite your sources.")
    path = tmp_path / "report.html"
    path.write_text(report_html([approved, sourced], title="Weather demo"), encoding="utf-8")
    return path


def test_report_opens_offline_with_every_panel_and_no_key(browser: Any, tmp_path: Path) -> None:
    path = make_report(tmp_path)
    context = browser.new_context(offline=True)
    requests: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(path.as_uri())
        assert page.title() == "Weather demo"
        for name in PANELS:
            loc = page.locator(f'[data-panel="{name}"]')
            assert loc.count() >= 1, name
            assert loc.first.is_visible(), name
        # the raw panels open on a click and show the masked key, never the key
        page.locator('[data-panel="raw-request"] summary').first.click()
        raw = page.locator('[data-panel="raw-request"] pre').first
        assert raw.is_visible()
        assert "Bearer sk-...8765" in raw.inner_text()
        tools = page.locator('[data-panel="tools"]').inner_text()
        assert "get_weather" in tools and "approved" in tools
        assert "What is the weather in Paris?" in page.locator('[data-panel="chat"]').inner_text()
        assert page.locator('[data-panel="sources"] li').count() >= 1
        assert "Exchange 2, Step 1" in page.locator('[data-panel="steps"]').inner_text()
        # styled by its own inline CSS (a user bubble has its colour), and nothing but the file itself was loaded
        bg = page.locator(".msg.user").first.evaluate("e => getComputedStyle(e).backgroundColor")
        assert bg == "rgb(221, 244, 255)"
        assert requests == [path.as_uri()]
        assert KEY not in page.content()
    finally:
        context.close()
