"""The shareable HTML report opened in Chromium with no network: every panel shows, nothing is fetched, no key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from playground import Agent, tool
from playground.providers.demo import DEMO_BASE_URL, DemoServer
from playground.report_html import PANELS, report_html

pytestmark = pytest.mark.browser

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


def _png(width: int, height: int) -> bytes:
    import struct

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0" * 404


def test_browser_attach_an_image_to_the_wire_and_export_the_report(browser: Any, app_url: str,
                                                                    tmp_path: Path) -> None:
    import base64
    import json
    from urllib.parse import urlparse

    from playwright.sync_api import expect

    from tests.ui.test_browser import WAIT, Page

    image = tmp_path / "cat.png"
    image.write_bytes(_png(64, 32))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        p = Page(context, app_url)
        with p.page.expect_file_chooser(timeout=WAIT) as chooser:
            p.click("Attach")
        chooser.value.set_files(str(image))
        expect(p.page.locator("#pg-attachments")).to_contain_text("cat.png (image/png, 433 bytes, 64x32 px)",
                                                                  timeout=WAIT)
        p.send("What is in this picture?")
        p.expect_chat("64x32 px")
        expect(p.page.locator("#pg-attachments")).to_be_hidden(timeout=WAIT)  # sent: no longer queued
        p.tab("Raw request")
        raw = p.code_text("Raw request")
        assert "data:image/png;base64,<433 bytes elided>" in raw  # the raw view: the part, bytes elided
        # the wire body itself (kept whole in the saved session): the image's exact bytes as an image part
        p.idle()
        with p.page.expect_download(timeout=WAIT) as saved:
            p.click("Save session")
        data = json.loads(Path(saved.value.path()).read_text())
        body = data["exchanges"][-1]["result"]["steps"][0]["raw_request"]["body"]
        part = body["messages"][-1]["content"][1]
        assert part == {"type": "image_url",
                        "image_url": {"url": "data:image/png;base64," + base64.b64encode(_png(64, 32)).decode()}}
        with p.page.expect_download(timeout=WAIT) as report:
            p.click("Export report")
        doc = Path(report.value.path()).read_text()
        assert 'data-panel="raw-request"' in doc and "What is in this picture?" in doc and "64x32 px" in doc
        assert all(urlparse(u).hostname in ("127.0.0.1", None) for u in p.requests)
    finally:
        context.close()


def test_browser_record_then_replay_offline(browser: Any, app_url: str) -> None:
    """Tick Record, send; then Provider Replay with the cassette as the model: the same answer, served offline."""
    import re

    from playwright.sync_api import expect

    from tests.ui.test_browser import WAIT, Page

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        p = Page(context, app_url)
        p.choose("Agent", "research")
        p.page.get_by_label("Record", exact=True).check()
        p.expect_notice("Recording every request and response to")
        notice = p.page.locator("#pg-notice").inner_text()
        match = re.search(r"(/\S+\.cassette)", notice)
        assert match is not None, notice
        cassette = Path(match.group(1))
        p.send("2+2")
        p.expect_chat("2 + 2 = 4")
        p.idle()  # the turn's follow-up updates land first
        record = p.page.get_by_label("Record", exact=True)
        record.uncheck()
        expect(record).not_to_be_checked()
        p.expect_notice("Recording stopped")
        assert cassette.is_file() and '"playground-cassette"' in cassette.read_text()
        p.click("Clear")
        p.idle()
        p.choose("Provider", "Replay (a recorded cassette)")
        model = p.page.get_by_label("Model", exact=True)
        model.fill(str(cassette))
        model.press("Enter")
        p.idle()
        p.send("2+2")
        p.expect_chat("2 + 2 = 4")
        p.send("3*3")  # not recorded: refused with what changed, never a wrong answer
        expect(p.chat).to_contain_text("does not match the recording", timeout=WAIT)
        assert "3 * 3 = 9" not in p.chat.inner_text()
    finally:
        context.close()


def test_browser_drop_and_paste_files_on_the_message_box(browser: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    from tests.ui.test_browser import WAIT, Page

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        p = Page(context, app_url)
        data = list(_png(40, 30))
        for kind, name in (("drop", "dropped.png"), ("paste", "pasted.png")):
            p.page.evaluate(
                """([kind, name, bytes]) => {
                    const dt = new DataTransfer();
                    dt.items.add(new File([new Uint8Array(bytes)], name, {type: 'image/png'}));
                    const box = document.querySelector('#pg-message textarea');
                    const ev = kind === 'drop'
                        ? new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true})
                        : new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true});
                    box.dispatchEvent(ev);
                }""",
                [kind, name, data],
            )
            expect(p.page.locator("#pg-attachments")).to_contain_text(f"{name} (image/png, 433 bytes, 40x30 px)",
                                                                      timeout=WAIT)
        p.send("two pictures")
        p.expect_chat("I received 2 attachments")
    finally:
        context.close()
