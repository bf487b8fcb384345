"""Memory in async runs: the store and the embedder (blocking I/O: SQL, an embedding HTTP call) run in a worker thread,
so the event loop that serves every browser session of a playground server keeps running meanwhile. Also: a
Generation embeds its recall query once (preview + run), and tool calls and results are embedded for recall.

Each test runs a ticker coroutine on the same loop; every blocking store or embedder call records how far the ticker
advanced while it blocked. On the loop it could not advance at all (0 ticks); off the loop it advances many times."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from playground import Agent, Memory, tool
from playground.store.memory_base import StoredMessage
from playground.store.memory_sqlite import SqliteMemoryStore

DELAY = 0.5
MIN_TICKS = 3  # the ticker sleeps 5 ms: ~100 ticks in 0.5 s off the loop, exactly 0 when the loop is blocked


@pytest.fixture(autouse=True)
def _sqlite_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYGROUND_DATABASE_URL", raising=False)


class Ticker:
    """A coroutine that counts while the loop is free."""

    def __init__(self) -> None:
        self.ticks = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            self.ticks += 1
            await asyncio.sleep(0.005)

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


class Blocking:
    """Records, for each blocking call, what it was, on which thread it ran and how far the ticker got meanwhile."""

    def __init__(self) -> None:
        self.ticker: Ticker | None = None
        self.active = False
        self.calls: list[tuple[str, int, int]] = []  # (what, ticks advanced while blocked, thread id)

    def block(self, what: str) -> None:
        if not self.active:
            return
        before = self.ticker.ticks if self.ticker is not None else 0
        time.sleep(DELAY)
        after = self.ticker.ticks if self.ticker is not None else 0
        self.calls.append((what, after - before, threading.get_ident()))


class SlowEmbedder:
    """The demo embedder behind a blocking wait, like an embedding HTTP call."""

    def __init__(self, probe: Blocking) -> None:
        self.probe = probe
        self.inner = Memory(embedder="demo")
        self.texts: list[list[str]] = []

    def __call__(self, texts: list[str]) -> Sequence[Sequence[float]]:
        self.texts.append(list(texts))
        self.probe.block(f"embed {texts[0][:30]!r}")
        return self.inner.embed(texts)


class SlowStore(SqliteMemoryStore):
    """The SQLite store with its reads and writes slowed down, like a remote database."""

    def __init__(self, path: Path, probe: Blocking) -> None:
        super().__init__(path)
        self.probe = probe

    def messages(self, thread_id: str, last: int | None = None) -> list[StoredMessage]:
        self.probe.block("store.messages")
        return super().messages(thread_id, last)

    def add_messages(self, messages: Sequence[StoredMessage]) -> int:
        self.probe.block("store.add_messages")
        return super().add_messages(messages)


def slow_memory(tmp_path: Path, probe: Blocking, **options: Any) -> tuple[Memory, SlowEmbedder]:
    embedder = SlowEmbedder(probe)
    memory = Memory(last_messages=10, semantic_recall={"top_k": 2, "message_range": 0, "scope": "resource"},
                    embedder=embedder, storage=SlowStore(tmp_path / "memory.sqlite3", probe), **options)
    return memory, embedder


def assert_off_loop(probe: Blocking, loop_thread: int, *expected: str) -> None:
    what = [w for w, _, _ in probe.calls]
    for name in expected:
        assert any(w.startswith(name) for w in what), (name, what)
    for w, advanced, thread in probe.calls:
        assert thread != loop_thread, f"{w} ran on the event loop's thread"
        assert advanced >= MIN_TICKS, f"the loop was blocked during {w} (ticker advanced {advanced})"


def test_generate_async_reads_saves_and_embeds_off_the_event_loop(tmp_path: Path) -> None:
    probe = Blocking()
    memory, embedder = slow_memory(tmp_path, probe)
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("My name is Ada and I live in Oslo", memory={"thread": "t-old", "resource": "u1"})

    async def go() -> tuple[str, int]:
        ticker = Ticker()
        probe.ticker, probe.active = ticker, True
        ticker.start()
        result = await agent.generate_async("What is my name?", memory={"thread": "t-new", "resource": "u1"})
        await ticker.stop()
        probe.active = False
        return result.text, threading.get_ident()

    text, loop_thread = asyncio.run(go())
    assert "Your name is Ada" in text and "recalled" in text  # recall worked, through the slow embedder and store
    assert_off_loop(probe, loop_thread, "embed 'What is my name?'", "store.add_messages")
    assert [m.role for m in memory.messages("t-new")] == ["user", "assistant"]  # saved, nothing lost
    assert embedder.texts.count(["What is my name?"]) == 1  # the recall query
    assert [len(t) for t in embedder.texts if t[0] == "What is my name?"] == [1, 2]  # then the saved exchange
    assert len(probe.calls) == 3


def test_async_stream_reads_saves_and_embeds_off_the_event_loop(tmp_path: Path) -> None:
    probe = Blocking()
    memory, _ = slow_memory(tmp_path, probe, working_memory={"enabled": True, "template": "# User\n- Name:\n"})
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("My name is Ada", memory={"thread": "t1", "resource": "u1"})

    async def go() -> tuple[str, int]:
        ticker = Ticker()
        probe.ticker, probe.active = ticker, True
        ticker.start()
        run = agent.stream("What is my name?", memory={"thread": "t1", "resource": "u1"})
        chunks = [ev async for ev in run]
        await ticker.stop()
        probe.active = False
        assert chunks and run.result is not None
        return run.result.text, threading.get_ident()

    text, loop_thread = asyncio.run(go())
    assert "Your name is Ada" in text
    assert_off_loop(probe, loop_thread, "store.messages", "embed 'What is my name?'", "store.add_messages")
    assert len(memory.messages("t1")) >= 4


def test_sync_calls_keep_running_on_the_callers_thread(tmp_path: Path) -> None:
    """The sync path is unchanged: memory I/O runs where the caller runs (no worker threads)."""
    probe = Blocking()
    memory, _ = slow_memory(tmp_path, probe)
    agent = Agent(name="a", model="demo", memory=memory)
    probe.active = True
    agent.generate("My name is Ada", memory={"thread": "t1", "resource": "u1"})
    for _ in agent.stream("What is my name?", memory={"thread": "t1", "resource": "u1"}):
        pass
    probe.active = False
    me = threading.get_ident()
    assert probe.calls and all(thread == me for _, _, thread in probe.calls)
    assert {w for w, _, _ in probe.calls} >= {"store.messages", "store.add_messages"}


def test_async_errors_from_memory_are_raised_as_before(tmp_path: Path) -> None:
    from playground import ConfigurationError

    agent = Agent(name="a", model="demo", memory=Memory(storage=tmp_path / "m.sqlite3"))
    agent.generate("hello", memory={"thread": "t1", "resource": "u1"})

    async def go() -> None:
        await agent.generate_async("hi", memory={"thread": "t1", "resource": "someone-else"})

    with pytest.raises(ConfigurationError, match="belongs to resource 'u1'"):
        asyncio.run(go())

    async def stream() -> None:
        async for _ in agent.stream("hi", memory={"thread": "t1", "resource": "someone-else"}):
            pass

    with pytest.raises(ConfigurationError, match="belongs to resource 'u1'"):
        asyncio.run(stream())


def test_playground_session_send_does_memory_io_off_the_event_loop(tmp_path: Path) -> None:
    """The browser and notebook playgrounds: one slow store/embedder never stalls the other sessions."""
    from playground.ui.session import PlaygroundSession

    probe = Blocking()
    memory, embedder = slow_memory(tmp_path, probe)
    first = PlaygroundSession(memory=memory)
    first.set_memory_options(semantic_recall=True)
    other = PlaygroundSession(memory=memory)

    async def go() -> int:
        async for _ in first.send("My name is Ada and I live in Oslo"):
            pass
        ticker = Ticker()
        probe.ticker, probe.active = ticker, True
        ticker.start()
        other_events: list[Any] = []

        async def another_user() -> None:  # a second session on the same loop, sending meanwhile (no memory I/O)
            other.memory = None
            async for ev in other.send("hello"):
                other_events.append(ev)

        async def memory_user() -> None:
            async for _ in first.send("What is my name?"):
                pass

        await asyncio.gather(memory_user(), another_user())
        await ticker.stop()
        probe.active = False
        assert other_events and other.exchanges[-1].status == "done"
        return threading.get_ident()

    loop_thread = asyncio.run(go())
    ex = first.exchanges[-1]
    assert ex.status == "done", ex.error
    assert ex.result is not None and "Your name is Ada" in ex.result.text
    assert "My name is Ada" in ex.preview["body"]["messages"][1]["content"]  # type: ignore[index]
    assert_off_loop(probe, loop_thread, "store.messages", "embed 'What is my name?'", "store.add_messages")
    assert embedder.texts.count(["What is my name?"]) == 1  # the preview and the run share one embedding
    assert not first.busy


def test_preview_and_run_of_one_generation_embed_the_query_once(tmp_path: Path) -> None:
    probe = Blocking()
    memory, embedder = slow_memory(tmp_path, probe)
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("My name is Ada", memory={"thread": "t1", "resource": "u1"})
    gen = agent.prompt("What is my name?", memory={"thread": "t2", "resource": "u1"})
    first = gen.request_preview()
    again = gen.request_preview()
    assert first == again and "<recalled_messages>" in first["body"]["messages"][0]["content"]
    assert "[thread t1] user: My name is Ada" in gen.instructions
    result = gen.generate_now()
    assert "Your name is Ada" in result.text
    assert embedder.texts.count(["What is my name?"]) == 1
    # another Generation embeds its own input; the store is read afresh each time (the new exchange is found)
    later = agent.prompt("What is my name?", memory={"thread": "t3", "resource": "u1"})
    assert "[thread t2]" in later.instructions
    assert embedder.texts.count(["What is my name?"]) == 2


def test_tool_calls_and_results_are_embedded_and_recalled(tmp_path: Path) -> None:
    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return f"sunny and 21 degrees in {city}"

    path = tmp_path / "memory.sqlite3"
    memory = Memory(semantic_recall={"top_k": 3, "message_range": 0, "scope": "resource"}, embedder="demo",
                    storage=path)
    agent = Agent(name="a", model="demo", tools=[get_weather], memory=memory)
    agent.generate("what is the weather in Paris", memory={"thread": "w", "resource": "u1"})
    roles = [m.role for m in memory.messages("w")]
    assert roles == ["user", "assistant", "tool", "assistant"]
    with sqlite3.connect(path) as conn:
        embedded = conn.execute("SELECT count(*) FROM memory_vectors WHERE thread_id = 'w'").fetchone()[0]
    assert embedded == 4  # the tool call (assistant without text) and the tool result have vectors too
    vector = memory.embed(['get_weather -> sunny and 21 degrees in Paris'])[0]
    hits = memory.store.search(vector, 1, resource_id="u1")
    assert hits and hits[0].message.role == "tool"


def test_async_approval_saves_the_suspended_and_resumed_run_off_the_event_loop(tmp_path: Path) -> None:
    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        return f"refunded {order_id}"

    probe = Blocking()
    memory, _ = slow_memory(tmp_path, probe)
    agent = Agent(name="a", model="demo", tools=[refund], memory=memory)

    async def go() -> tuple[str, int]:
        ticker = Ticker()
        probe.ticker, probe.active = ticker, True
        ticker.start()
        suspended = await agent.generate_async("Please refund order 42", memory={"thread": "r", "resource": "u"})
        assert suspended.finish_reason == "suspended" and suspended.suspend_payload is not None
        done = await agent.approve_tool_call_async(suspended.run_id, suspended.suspend_payload.tool_call_id)
        await ticker.stop()
        probe.active = False
        return done.text, threading.get_ident()

    text, loop_thread = asyncio.run(go())
    assert "refunded" in text
    assert_off_loop(probe, loop_thread, "store.add_messages")
    assert [w for w, _, _ in probe.calls].count("store.add_messages") == 2  # on suspend, then on resume
    assert [m.role for m in memory.messages("r")] == ["user", "assistant", "tool", "assistant"]
