"""The Jobs tab in Chromium: Send later with a priority, the job's live status in the table (the server's own job
consumer runs it; nothing else is started), and the finished job's exchange opened from the table."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
WAIT = 30_000  # ms


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0")
    monkeypatch.setenv("PLAYGROUND_INPROCESS_WORKER", "1")
    from playground.ui.gradio_app import serve

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    demo = serve(REPO / "agents", host="127.0.0.1", port=port)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture
def page(served: str) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium): real-browser tests are skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            pg.goto(served)
            pg.get_by_role("button", name="Send", exact=True).wait_for(timeout=WAIT)
            yield pg
        finally:
            browser.close()


def test_send_later_and_follow_the_job_in_the_browser(page: Any) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Jobs", exact=True).click()
    page.get_by_label("Message to send later", exact=True).fill("What is 6 * 7?")
    page.get_by_label("Priority (higher first)", exact=True).fill("5")
    page.get_by_role("button", name="Send later", exact=True).click()
    notice = page.locator("#pg-jobs-notice")
    expect(notice).to_contain_text("Queued job job_", timeout=WAIT)
    job_id = next(w for w in notice.inner_text().split() if w.startswith("job_"))
    table = page.locator("#pg-jobs-table")
    expect(table).to_contain_text(job_id, timeout=WAIT)
    expect(table.locator("tr", has_text=job_id)).to_contain_text("succeeded", timeout=WAIT)  # live status
    table.locator(f"text={job_id} >> visible=true").first.click()  # the job's row (Gradio keeps a hidden copy)
    job = page.locator("#pg-jobs-job")
    expect(job).to_contain_text("6 * 7 = 42", timeout=WAIT)
    expect(job).to_contain_text("priority 5")
    request = page.locator("#pg-jobs-job-raw-request")
    expect(request).to_contain_text("What is 6 * 7?", timeout=WAIT)
