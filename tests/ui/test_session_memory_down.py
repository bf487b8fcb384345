"""A memory store that is down (an unwritable PLAYGROUND_HOME, a PostgreSQL that cannot be reached) never stops a
chat: the page turns threads off, says why in the notice, and goes on from its own history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from playground.ui.session import PlaygroundSession

DB_PASSWORD = "pw-memory-down-1234"


@pytest.fixture(params=["unwritable PLAYGROUND_HOME", "PostgreSQL unreachable"])
def memory_down(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "unwritable PLAYGROUND_HOME":
        (tmp_path / "a-file").write_text("")  # a folder under a regular file: nobody, root included, can create it
        monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "a-file" / "home"))
    else:
        monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path / "home"))
        monkeypatch.setenv("PLAYGROUND_DATABASE_URL", f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:1/postgres")
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0")
    yield request.param


async def collect(events: Any) -> list[Any]:
    return [ev async for ev in events]


async def test_a_send_goes_on_without_memory_and_says_why(memory_down: str) -> None:
    page = PlaygroundSession(memory=True)
    assert page.memory_enabled

    await collect(page.send("My name is Ada."))
    assert page.exchanges[-1].status == "done", page.notice
    assert page.exchanges[-1].view.text  # the reply arrived
    notice = page.notice or ""
    assert notice.startswith("Memory store unavailable: ")
    assert "Threads and memory are off in this page" in notice and DB_PASSWORD not in notice
    assert not page.memory_enabled and page.threads() == []

    await collect(page.send("What is my name?"))  # the page's own history carries the conversation
    assert page.exchanges[-1].status == "done", page.notice
    preview = page.exchanges[-1].preview
    assert preview is not None
    sent = preview["body"]["messages"]
    assert [m["content"] for m in sent if m["role"] == "user"][-2:] == ["My name is Ada.", "What is my name?"]


async def test_inspect_goes_on_without_memory_too(memory_down: str) -> None:
    page = PlaygroundSession(memory=True)
    preview = page.inspect("hello")
    assert preview["body"]["messages"][-1]["content"] == "hello"
    assert (page.notice or "").startswith("Memory store unavailable: ") and DB_PASSWORD not in (page.notice or "")
