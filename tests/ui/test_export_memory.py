"""The Python export of an exchange that used memory calls the agent with the same memory= (thread, resource, options)
and the same Memory, so the script, run against the same PLAYGROUND_HOME, answers from the thread's history, working
memory and recall as the playground did (and against an empty home it cannot)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from playground import Memory
from playground.ui.session import PlaygroundSession, load_agents

REPO = Path(__file__).resolve().parents[2]
AGENTS = REPO / "agents"


@pytest.fixture(autouse=True)
def _sqlite_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYGROUND_DATABASE_URL", raising=False)


async def send(session: PlaygroundSession, text: str) -> None:
    async for _ in session.send(text):
        pass
    ex = session.exchanges[-1]
    assert ex.status == "done", ex.error


def run_export(code: str, tmp_path: Path, home: str) -> subprocess.CompletedProcess[str]:
    """Run the exported script in another process, from a folder that is not the repository."""
    script = tmp_path / "repro.py"
    script.write_text(code)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    out = subprocess.run([sys.executable, str(script)], cwd=elsewhere, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PLAYGROUND_DEMO_DELAY": "0", "PYTHONPATH": str(REPO),
                              "PLAYGROUND_HOME": home})
    assert out.returncode == 0, out.stderr
    return out


async def test_export_answers_from_the_threads_working_memory(tmp_path: Path) -> None:
    s = PlaygroundSession(memory=True)
    s.set_memory_options(working_memory=True)
    await send(s, "My name is Ada and I live in Oslo")
    s.new_thread()  # a new thread: no history, only the resource's working memory knows the name
    await send(s, "What is my name?")
    answer = s.exchanges[-1].result.text  # type: ignore[union-attr]
    assert answer == "Your name is Ada. (I remember it from working memory.)"

    code = s.export_code()["python"]
    assert "memory = Memory(last_messages=100, embedder='demo')" in code and "memory=memory," in code
    assert f"'thread': {{'id': {s.thread_id!r}" in code and "'resource': 'playground'" in code
    assert "'working_memory': {'enabled': True" in code and "memory=MEMORY," in code
    assert "Ada" not in code  # the script does not carry the answer: memory must provide it

    out = run_export(code, tmp_path, os.environ["PLAYGROUND_HOME"])
    assert answer in out.stdout
    # against a home without the playground's memory, the same script cannot know the name
    empty = run_export(code, tmp_path, str(tmp_path / "empty-home"))
    assert "Ada" not in empty.stdout and "don't know your name" in empty.stdout


async def test_export_answers_from_the_threads_history_and_saves_to_it(tmp_path: Path) -> None:
    s = PlaygroundSession(memory=True)
    await send(s, "My name is Ada")
    await send(s, "What is my name?")
    assert "Your name is Ada" in s.exchanges[-1].result.text  # type: ignore[union-attr]
    thread = s.thread_id
    assert thread is not None
    code = s.export_code()["python"]
    # only the new message is sent: the history comes from the thread, as in the playground (not twice)
    assert "messages = [{'role': 'user', 'content': 'What is my name?'}]" in code
    assert "My name is Ada" not in code

    out = run_export(code, tmp_path, os.environ["PLAYGROUND_HOME"])
    assert "Your name is Ada" in out.stdout
    stored = Memory().messages(thread)  # the script's exchange went to the same thread
    assert [m.text for m in stored if m.role == "user"] == ["My name is Ada", "What is my name?", "What is my name?"]

    # a saved session file keeps the exchange's memory=, so its export still reproduces it
    loaded = PlaygroundSession(memory=True)
    assert loaded.load(s.save()) == []
    again = loaded.export_code(loaded.exchanges[-1])["python"]
    assert "memory=MEMORY," in again and f"'id': {thread!r}" in again and "My name is Ada" not in again
    assert "Your name is Ada" in run_export(again, tmp_path, os.environ["PLAYGROUND_HOME"]).stdout


async def test_export_of_a_file_agent_keeps_recall_and_the_working_memory_tool(tmp_path: Path) -> None:
    s = PlaygroundSession(load_agents(AGENTS), memory=True)
    s.set_agent("weather")
    await send(s, "My name is Ada and I live in Oslo")
    s.new_thread()
    s.set_memory_options(semantic_recall=True, working_memory=True)
    await send(s, "What is my name?")
    ex: Any = s.exchanges[-1]
    assert ex.result.memory.recalled, "semantic recall found the other thread"
    code = s.export_code()["python"]
    assert "'semantic_recall': {'top_k': 3" in code
    assert "'update_working_memory'" in code  # active_tools keeps memory's tool, as the playground did

    out = run_export(code, tmp_path, os.environ["PLAYGROUND_HOME"])
    assert "Your name is Ada" in out.stdout


def test_export_without_memory_has_no_memory() -> None:
    s = PlaygroundSession()
    code = s.export_code()["python"]
    assert "Memory" not in code and "memory=" not in code
