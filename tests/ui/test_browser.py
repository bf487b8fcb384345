"""Real-browser tests: Debian's Chromium driven by Playwright against the playground served on 127.0.0.1.

Each test records every request the page makes and checks that none went to a host other than 127.0.0.1.
Screenshots for the README are written to assets/.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

# Screenshots go to a temp folder; `make screenshots` (PLAYGROUND_SCREENSHOTS_DIR=assets) refreshes the README's.
ASSETS = Path(os.environ.get("PLAYGROUND_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "playground-screenshots")

pytestmark = pytest.mark.browser

WAIT = 30_000  # ms
KEY = "sk-browser-WRONG-key-0123456789abcdef"


class Page:
    """A playground page and the requests it made."""

    def __init__(self, context: Any, url: str) -> None:
        self.context = context
        self.page = context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.get_by_role("button", name="Send", exact=True).wait_for(timeout=WAIT)

    # -- helpers ----------------------------------------------------------------------------------------------
    def choose(self, label: str, option: str) -> None:
        from playwright.sync_api import expect

        box = self.page.get_by_label(label, exact=True)
        box.click()
        self.page.get_by_role("option", name=option, exact=True).click()
        if label == "Agent":
            # choosing an agent resets the settings fields when the server answers: wait for that answer, or a value
            # typed right after could be overwritten (a fixed pause was not enough on a loaded machine)
            expect(self.page.locator("body")).to_contain_text(f"Agent {option} on", timeout=WAIT)
        self.idle()

    def fill(self, label: str, value: str) -> None:
        box = self.page.get_by_label(label, exact=True)
        for _ in range(3):
            box.fill(value)
            box.blur()
            self.idle()
            # a late answer to an earlier event (the agent change) can reset a field typed just before it lands;
            # a person would see it and type again, and so does the test
            if box.input_value() == value:
                return
        raise AssertionError(f"{label!r} did not keep the value {value!r}")

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name, exact=True).click()

    def send(self, text: str) -> None:
        self.page.get_by_label("Message", exact=True).fill(text)
        self.click("Send")

    @property
    def chat(self) -> Any:
        return self.page.locator("#pg-chat")

    def expect_chat(self, text: str, timeout: int = WAIT) -> None:
        from playwright.sync_api import expect

        expect(self.chat).to_contain_text(text, timeout=timeout)

    def expect_notice(self, text: str) -> None:
        from playwright.sync_api import expect

        expect(self.page.locator("#pg-notice")).to_contain_text(text, timeout=WAIT)

    def code_text(self, label: str) -> str:
        """The text of a gr.Code panel (CodeMirror lines)."""
        block = self.page.locator(".block", has=self.page.get_by_text(label, exact=True)).filter(
            has=self.page.locator(".cm-content")
        ).first
        # CodeMirror renders only the lines near the viewport: make the viewport tall enough to hold them all
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": size["width"] if size else 1400, "height": 6000})
        try:
            block.scroll_into_view_if_needed()
            self.page.wait_for_timeout(200)
            return "\n".join(block.locator(".cm-line").all_inner_texts())
        finally:
            if size:
                self.page.set_viewport_size(size)

    def idle(self) -> None:
        """Give pending event answers a moment to land."""
        self.page.wait_for_timeout(300)

    def screenshot(self, name: str) -> None:
        ASSETS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ASSETS / name), full_page=False)

    def foreign_requests(self) -> list[str]:
        out = []
        for url in self.requests:
            parsed = urlparse(url)
            if parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname != "127.0.0.1":
                out.append(url)
        return out


@pytest.fixture
def open_page(browser: Any, app_url: str) -> Iterator[Any]:
    pages: list[Page] = []
    contexts: list[Any] = []

    def make(new_context: bool = True) -> Page:
        if new_context or not contexts:
            contexts.append(browser.new_context(viewport={"width": 1400, "height": 1000}))
        p = Page(contexts[-1], app_url)
        pages.append(p)
        return p

    yield make
    try:
        for p in pages:
            assert p.requests, "no request was recorded"
            assert p.foreign_requests() == [], "the page reached a host other than 127.0.0.1"
    finally:
        for c in contexts:
            c.close()


def test_agent_setting_send_stream_and_raw_request(open_page: Any) -> None:
    p = open_page()
    p.choose("Agent", "research")
    p.page.get_by_text("Model settings", exact=True).click()
    p.fill("Temperature", "0.35")
    p.fill("Seed", "11")
    p.send("What is retrieval-augmented generation?")
    p.expect_chat("retrieval-augmented generation")
    p.expect_chat("According to the sources")
    p.expect_chat("Reasoning")
    p.idle()
    p.tab("Raw request")
    raw = json.loads(p.code_text("Raw request"))
    assert raw["step 1"]["body"]["temperature"] == 0.35
    assert raw["step 1"]["body"]["seed"] == 11
    p.tab("Sources")
    link = p.page.locator("#pg-sources a").first
    assert "wikipedia.org" in (link.get_attribute("href") or "")
    p.tab("Usage")
    assert p.page.locator("#pg-usage-chart .pg-bar-row").count() == 1
    p.screenshot("playground-chat.png")
    p.tab("Steps")
    from playwright.sync_api import expect

    expect(p.page.locator("#pg-steps")).to_contain_text("model call")
    p.tab("Code")
    assert "temperature=0.35" in p.code_text("Python")


def test_inspect_shows_the_body_that_is_then_sent(open_page: Any) -> None:
    p = open_page()
    p.choose("Agent", "weather")
    p.page.get_by_label("Message", exact=True).fill("What's the weather in Paris?")
    p.click("Inspect")
    p.page.wait_for_function("document.querySelector('#pg-panels .cm-line') !== null", timeout=WAIT)
    p.page.wait_for_timeout(300)
    preview = json.loads(p.code_text("Inspect"))
    assert preview["body"]["messages"][-1]["content"] == "What's the weather in Paris?"
    p.click("Send")
    p.expect_chat("get_weather returned")
    p.idle()
    p.tab("Raw request")
    raw = json.loads(p.code_text("Raw request"))
    assert raw["step 1"]["body"] == preview["body"]


def test_approve_and_decline(open_page: Any) -> None:
    from playwright.sync_api import expect

    p = open_page()
    p.choose("Agent", "support")
    p.send("refund order 42")
    card = p.page.locator("#pg-approval").first
    expect(card).to_be_visible(timeout=WAIT)
    expect(card).to_contain_text("Approval needed")
    args = p.page.get_by_label("Arguments (JSON)", exact=True)
    assert json.loads(args.input_value()) == {"order_id": "42"}
    p.screenshot("playground-approval.png")
    args.fill('{"order_id": "42", "amount": ')  # invalid JSON: a message, the card stays
    p.click("Approve")
    p.expect_notice("not valid JSON")
    expect(card).to_be_visible()
    args.fill('{"order_id": "42", "amount": 20}')
    p.click("Approve")
    p.expect_chat("refunded 20.0")
    expect(card).to_be_hidden(timeout=WAIT)
    # decline path
    p.send("refund order 7")
    expect(card).to_be_visible(timeout=WAIT)
    p.page.get_by_label("Reason", exact=True).fill("order 7 is not eligible")
    p.click("Decline")
    p.expect_chat("was declined")
    p.expect_chat("order 7 is not eligible")
    expect(card).to_be_hidden(timeout=WAIT)


def test_stop_mid_stream(open_page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.2")
    p = open_page()
    p.choose("Agent", "research")
    p.send("Tell me about the long history of the printing press in Europe")
    p.expect_chat("You asked", timeout=WAIT)
    p.click("Stop")
    p.expect_chat("Stopped")
    text = p.chat.inner_text()
    assert "According to the sources" not in text  # the rest never arrived
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0")
    p.send("2+2")
    p.expect_chat("2 + 2 = 4")


def test_compare_two_columns(open_page: Any) -> None:
    from playwright.sync_api import expect

    p = open_page()
    p.choose("Agent", "research")
    p.tab("Compare")
    p.page.get_by_label("Compare message", exact=True).fill("What is a vector database?")
    p.fill("Max output tokens 2", "40")
    p.click("Compare")
    first = p.page.locator("#pg-compare-answer-1").first
    second = p.page.locator("#pg-compare-answer-2").first
    expect(first).to_contain_text("Usage:", timeout=WAIT)
    expect(second).to_contain_text("Usage:", timeout=WAIT)
    expect(first).to_contain_text("Latency:")
    expect(first).to_contain_text("finish stop")
    expect(second).to_contain_text("finish length")
    p.page.locator("#pg-compare-answer-1").first.scroll_into_view_if_needed()
    p.screenshot("playground-compare.png")


def test_two_browsers_stay_isolated(open_page: Any) -> None:
    a = open_page()
    b = open_page()  # a second browser context: another person
    b.choose("Agent", "weather")
    a.choose("Agent", "support")
    a.fill("API key", KEY)
    a.send("look up order 42")
    b.send("2+2")
    a.expect_chat("Mechanical keyboard")
    b.expect_chat("2 + 2 = 4")
    assert "2 + 2" not in a.chat.inner_text()
    assert "order" not in b.chat.inner_text()
    assert b.page.get_by_label("API key", exact=True).input_value() == ""
    assert b.page.get_by_label("Agent", exact=True).input_value() == "weather"  # A's choice did not leak
    for page in (a, b):
        assert KEY not in page.page.content()


def test_wrong_key_shows_an_error_and_the_page_recovers(open_page: Any, reject_server: str) -> None:
    p = open_page()
    p.choose("Agent", "research")
    p.send("2+2")
    p.expect_chat("2 + 2 = 4")
    p.choose("Provider", "OpenAI-compatible server")
    p.fill("Base URL", reject_server)
    model = p.page.get_by_label("Model", exact=True)
    model.fill("test-model")
    model.press("Enter")
    p.page.get_by_text("Model settings", exact=True).click()
    p.fill("Max retries", "0")
    p.fill("API key", KEY)
    p.send("hello")
    p.expect_chat("AuthenticationError (HTTP 401)")
    p.expect_notice("Incorrect API key")
    assert "2 + 2 = 4" in p.chat.inner_text()  # the conversation is kept
    assert KEY not in p.page.content()
    p.page.evaluate("window.scrollTo(0, 0)")
    p.screenshot("playground-error.png")
    p.choose("Provider", "Demo (simulated, offline)")
    p.send("3*3")
    p.expect_chat("3 * 3 = 9")
