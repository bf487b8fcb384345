"""Memory: threads that persist, semantic recall, working memory, titles, read_only, approvals inside a thread."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from playground import Agent, ConfigurationError, Memory, MemoryReport, tool
from playground.memory import WORKING_MEMORY_TOOL

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = "# User\n- Name:\n- City:\n"


@pytest.fixture(autouse=True)
def _sqlite_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYGROUND_DATABASE_URL", raising=False)


def texts(messages: list[Any]) -> list[str]:
    return [f"{m.role}: {m.text}" for m in messages]


def test_thread_history_is_loaded_into_the_request_and_the_exchange_saved() -> None:
    agent = Agent(name="a", model="demo", memory=Memory(last_messages=10))
    first = agent.generate("My name is Ada and I live in Oslo", memory={"thread": "t1", "resource": "u1"})
    assert first.remembered_messages == []
    gen = agent.prompt("What is my name?", memory={"thread": "t1", "resource": "u1"})
    body = gen.request_preview()["body"]
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][0]["content"] == "My name is Ada and I live in Oslo"
    result = gen.generate_now()
    assert "Your name is Ada" in result.text
    assert texts(result.remembered_messages)[0] == "user: My name is Ada and I live in Oslo"
    assert result.request.body["messages"][0]["content"] == "My name is Ada and I live in Oslo"  # the raw request
    saved = agent.memory.messages("t1")  # type: ignore[union-attr]
    assert texts(saved)[-2:] == ["user: What is my name?", f"assistant: {result.text}"]
    assert len(saved) == 4
    assert isinstance(result.memory, MemoryReport) and result.memory.saved == 2


def test_without_memory_the_model_does_not_know() -> None:
    agent = Agent(name="a", model="demo")
    agent.generate("My name is Ada")
    assert "don't know your name" in agent.generate("What is my name?", memory=None).text


def test_last_messages_trims_history_and_never_starts_with_a_tool_result() -> None:
    memory = Memory(last_messages=3)
    agent = Agent(name="a", model="demo", memory=memory)
    for i in range(4):
        agent.generate(f"message number {i}", memory={"thread": "t", "resource": "u"})
    stored = texts(memory.messages("t"))
    assert len(stored) == 8
    result = agent.generate("and now?", memory={"thread": "t", "resource": "u"})
    assert texts(result.remembered_messages) == stored[-3:]
    assert texts(result.remembered_messages)[0] == "assistant: " + stored[5].removeprefix("assistant: ")
    assert [m["role"] for m in result.request.body["messages"]] == ["assistant", "user", "assistant", "user"]
    # per call: fewer messages, or none
    again = agent.generate("x", memory={"thread": "t", "options": {"lastMessages": 1}})
    assert len(again.remembered_messages) == 1
    none = agent.generate("y", memory={"thread": "t", "options": {"last_messages": False}})
    assert none.remembered_messages == []


def test_history_with_tool_calls_stays_consistent() -> None:
    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return f"sunny in {city}"

    memory = Memory(last_messages=2)
    agent = Agent(name="a", model="demo", tools=[get_weather], memory=memory)
    agent.generate("what is the weather in Paris", memory={"thread": "w"})
    assert [m.role for m in memory.messages("w")] == ["user", "assistant", "tool", "assistant"]
    result = agent.generate("thanks", memory={"thread": "w"})
    # the last two are [tool result, assistant]; the orphaned tool result is dropped
    assert [m.role for m in result.remembered_messages] == ["assistant"]


def test_semantic_recall_by_resource_finds_other_threads_with_scores() -> None:
    memory = Memory(last_messages=2, semantic_recall={"top_k": 1, "message_range": 1, "scope": "resource"},
                    embedder="demo")
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("My name is Ada and I live in Oslo", memory={"thread": "t-old", "resource": "u1"})
    agent.generate("I enjoy the weather", memory={"thread": "t-other-user", "resource": "u2"})
    gen = agent.prompt("What is my name?", memory={"thread": "t-new", "resource": "u1"})
    system = gen.request_preview()["body"]["messages"][0]["content"]
    assert "<recalled_messages>" in system and "[thread t-old] user: My name is Ada" in system
    result = gen.generate_now()
    assert "Your name is Ada" in result.text and "recalled" in result.text
    report = result.memory
    hit = [r for r in report.recalled if r.score is not None]
    assert hit[0].thread_id == "t-old" and 0 < hit[0].score <= 1
    assert [r.message.role for r in report.recalled] == ["user", "assistant"]  # the hit and its neighbour
    assert all(r.thread_id != "t-other-user" for r in report.recalled)


def test_semantic_recall_by_thread_stays_in_the_thread() -> None:
    memory = Memory(last_messages=1, semantic_recall={"top_k": 2, "message_range": 0, "scope": "thread"},
                    embedder="demo")
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("My name is Ada", memory={"thread": "a", "resource": "u"})
    agent.generate("The weather is fine", memory={"thread": "b", "resource": "u"})
    agent.generate("More about weather", memory={"thread": "b", "resource": "u"})
    result = agent.generate("What is my name?", memory={"thread": "b", "resource": "u"})
    assert {r.thread_id for r in result.memory.recalled} == {"b"}
    assert "don't know your name" in result.text
    # history (the last message) is not recalled twice
    history_ids = {m.provider_metadata["playground_memory"]["id"] for m in result.memory.history}
    assert not history_ids & {r.id for r in result.memory.recalled}


def test_working_memory_template_updated_through_the_tool_and_injected() -> None:
    memory = Memory(working_memory={"enabled": True, "scope": "resource", "template": TEMPLATE})
    agent = Agent(name="a", model="demo", memory=memory)
    gen = agent.prompt("My name is Ada and I live in Oslo", memory={"thread": "t1", "resource": "u1"})
    assert WORKING_MEMORY_TOOL in [t["name"] for t in gen.tools]
    system = gen.request_preview()["body"]["messages"][0]["content"]
    assert "<working_memory_data>\n# User\n- Name:\n- City:\n" in system
    result = gen.generate_now()
    assert result.tool_calls[0].tool_name == WORKING_MEMORY_TOOL
    assert memory.working_memory(resource="u1") == "# User\n- Name: Ada\n- City: Oslo\n"
    assert result.memory.working_memory_before == TEMPLATE
    assert result.memory.working_memory_after == "# User\n- Name: Ada\n- City: Oslo\n"
    # resource scope: a new thread of the same user sees it in the system prompt, and the model answers from it
    later = agent.prompt("What is my name?", memory={"thread": "t2", "resource": "u1"})
    assert "- Name: Ada" in later.request_preview()["body"]["messages"][0]["content"]
    assert later.generate_now().text == "Your name is Ada. (I remember it from working memory.)"
    assert memory.working_memory(resource="u2") is None


def test_working_memory_with_a_pydantic_schema_merges_updates() -> None:
    class Profile(BaseModel):
        name: str | None = None
        location: str | None = None
        interests: list[str] | None = None

    memory = Memory(working_memory={"enabled": True, "schema": Profile, "scope": "thread"})
    agent = Agent(name="a", model="demo", memory=memory)
    tool_schema = next(t for t in agent.prompt("x", memory={"thread": "s"}).tools if t["name"] == WORKING_MEMORY_TOOL)
    assert "name" in tool_schema["parameters"]["properties"]["memory"]["properties"]
    agent.generate("My name is Ada", memory={"thread": "s"})
    agent.generate("I live in Oslo", memory={"thread": "s"})
    doc = json.loads(memory.working_memory(thread="s") or "")
    assert doc == {"name": "Ada", "location": "Oslo"}
    assert "You live in Oslo" in agent.generate("Where do I live?", memory={"thread": "s"}).text


def test_working_memory_with_a_json_schema_dict() -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "city": {"type": "string"}}}
    memory = Memory(working_memory={"schema": schema})
    agent = Agent(name="a", model="demo", memory=memory)
    gen = agent.prompt("My name is Ada and I live in Oslo", memory={"thread": "j", "resource": "u"})
    assert '"city"' in gen.request_preview()["body"]["messages"][0]["content"]
    gen.generate_now()
    assert json.loads(memory.working_memory(resource="u") or "") == {"name": "Ada", "city": "Oslo"}


def test_read_only_loads_but_saves_nothing_and_offers_no_tool() -> None:
    memory = Memory(working_memory={"template": TEMPLATE})
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("My name is Ada", memory={"thread": "t", "resource": "u"})
    before = memory.messages("t")
    gen = agent.prompt("My name is Bob", memory={"thread": "t", "resource": "u", "options": {"readOnly": True}})
    assert WORKING_MEMORY_TOOL not in [t["name"] for t in gen.tools]
    result = gen.generate_now()
    assert len(result.remembered_messages) == len(before)
    assert result.memory.read_only and result.memory.saved == 0
    assert texts(memory.messages("t")) == texts(before)
    assert "Ada" in (memory.working_memory(resource="u") or "")


def test_titles_from_the_first_exchange_by_the_model() -> None:
    memory = Memory(generate_title=True)
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("Plan a trip to Lisbon in spring", memory={"thread": "trip", "resource": "u"})
    assert memory.get_thread("trip").title == "Plan Trip Lisbon Spring"  # type: ignore[union-attr]
    agent.generate("and hotels?", memory={"thread": "trip", "resource": "u"})
    assert memory.get_thread("trip").title == "Plan Trip Lisbon Spring"  # type: ignore[union-attr]
    # a title given in the call wins; rename
    agent.generate("hi", memory={"thread": {"id": "named", "title": "Mine", "metadata": {"k": 1}}, "resource": "u"})
    assert memory.get_thread("named").title == "Mine"  # type: ignore[union-attr]
    assert memory.get_thread("named").metadata == {"k": 1}  # type: ignore[union-attr]
    memory.update_thread("named", title="Renamed")
    assert memory.list_threads(resource="u")[0].title == "Renamed"
    # without generate_title no title is invented
    plain = Memory()
    Agent(model="demo", memory=plain).generate("hello there", memory={"thread": "p"})
    assert plain.get_thread("p").title is None  # type: ignore[union-attr]


def test_delete_thread_removes_messages_and_threads_are_listed_per_resource() -> None:
    memory = Memory(working_memory={"scope": "thread", "template": TEMPLATE})
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("My name is Ada", memory={"thread": "t1", "resource": "u1"})
    agent.generate("hello", memory={"thread": "t2", "resource": "u1"})
    agent.generate("hello", memory={"thread": "t3", "resource": "u2"})
    assert [t.id for t in memory.list_threads(resource="u1")] == ["t2", "t1"]
    memory.delete_thread("t1")
    assert memory.get_thread("t1") is None and memory.messages("t1") == []
    assert memory.working_memory(thread="t1") is None
    assert [t.id for t in memory.list_threads(resource="u1")] == ["t2"]
    fresh = agent.generate("What is my name?", memory={"thread": "t1", "resource": "u1"})
    assert fresh.remembered_messages == [] and "don't know" in fresh.text


def test_approval_suspend_and_resume_inside_a_thread(tmp_path: Path) -> None:
    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        return f"refunded {order_id}"

    memory = Memory()
    agent = Agent(name="a", model="demo", tools=[refund], memory=memory)
    suspended = agent.generate("Please refund order 42", memory={"thread": "r", "resource": "u"})
    assert suspended.finish_reason == "suspended"
    assert [m.role for m in memory.messages("r")] == ["user", "assistant"]  # saved while waiting
    # a new agent (as after a restart) resumes from the stored run and saves the rest to the same thread
    again = Agent(name="a", model="demo", tools=[refund], memory=Memory())
    done = again.approve_tool_call(suspended.run_id, suspended.suspend_payload.tool_call_id)  # type: ignore[union-attr]
    assert done.finish_reason == "stop" and "refunded" in done.text
    assert [m.role for m in memory.messages("r")] == ["user", "assistant", "tool", "assistant"]
    assert done.memory.thread_id == "r"
    follow = agent.generate("thanks", memory={"thread": "r", "resource": "u"})
    assert [m.role for m in follow.remembered_messages] == ["user", "assistant", "tool", "assistant"]


def test_a_pending_call_in_history_is_not_sent_dangling() -> None:
    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        return "ok"

    agent = Agent(name="a", model="demo", tools=[refund], memory=Memory())
    agent.generate("refund order 7", memory={"thread": "d"})
    body = agent.prompt("never mind", memory={"thread": "d"}).request_preview()["body"]
    assert all(not m.get("tool_calls") for m in body["messages"])


def test_streams_and_async_calls_save_too() -> None:
    memory = Memory()
    agent = Agent(name="a", model="demo", memory=memory)
    run = agent.stream("My name is Ada", memory={"thread": "s", "resource": "u"})
    text = "".join(run.text_stream())
    assert run.result is not None and run.result.memory.saved == 2
    assert texts(memory.messages("s")) == ["user: My name is Ada", f"assistant: {text}"]

    async def go() -> str:
        r = await agent.generate_async("What is my name?", memory={"thread": "s", "resource": "u"})
        return r.text

    assert "Your name is Ada" in asyncio.run(go())
    assert len(memory.messages("s")) == 4


def test_titles_from_async_calls_and_streams() -> None:
    memory = Memory(generate_title=True)
    agent = Agent(name="a", model="demo", memory=memory)

    async def go() -> None:
        await agent.generate_async("Plan a trip to Lisbon", memory={"thread": "x"})
        async for _ in agent.stream("Plan dinner in Rome", memory={"thread": "y"}):
            pass

    asyncio.run(asyncio.wait_for(go(), 60))
    assert memory.get_thread("x").title == "Plan Trip Lisbon"  # type: ignore[union-attr]
    assert memory.get_thread("y").title == "Plan Dinner Rome"  # type: ignore[union-attr]


def test_recall_across_processes_with_the_same_playground_home() -> None:
    agent = Agent(name="a", model="demo", memory=Memory(semantic_recall=True, embedder="demo"))
    agent.generate("My name is Ada and I live in Oslo", memory={"thread": "first", "resource": "u1"})
    script = textwrap.dedent(
        """
        from playground import Agent, Memory
        agent = Agent(name="a", model="demo", memory=Memory(semantic_recall=True, embedder="demo"))
        r = agent.generate("Where do I live?", memory={"thread": "second", "resource": "u1"})
        print(r.text)
        print(r.memory.recalled[0].thread_id if r.memory.recalled else "-")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120,
                         cwd=REPO, check=True).stdout.splitlines()
    assert out[0].startswith("You live in Oslo") and out[1] == "first"
    # and what the other process saved is here
    assert texts(agent.memory.messages("second"))[0] == "user: Where do I live?"  # type: ignore[union-attr]


def test_option_spellings_camel_case_and_the_older_seed() -> None:
    memory = Memory()
    agent = Agent(name="a", model="demo", memory=memory)
    agent.generate("one", memory={"threadId": "c1", "resourceId": "u", "memoryOptions": {"lastMessages": 5}})
    agent.generate("two", thread_id="c1", resource_id="u", memory_options={"last_messages": 1})
    agent.generate("three", threadId="c1", resourceId="u")
    assert [m.text for m in memory.messages("c1") if m.role == "user"] == ["one", "two", "three"]
    assert memory.get_thread("c1").resource_id == "u"  # type: ignore[union-attr]
    # a call with memory= on an agent built without Memory uses the default (SQLite under PLAYGROUND_HOME)
    bare = Agent(name="b", model="demo")
    bare.generate("My name is Ada", memory={"thread": "b1"})
    assert "Ada" in bare.generate("What is my name?", memory={"thread": "b1"}).text
    assert (Path(os.environ["PLAYGROUND_HOME"]) / "memory.sqlite3").exists()


@pytest.mark.parametrize(
    ("memory", "needle"),
    [
        ({"resource": "u"}, "memory.thread: required"),
        ({"thread": "t", "bogus": 1}, "memory.bogus: unknown key"),
        ({"thread": "t", "options": {"lastMessages": -1}}, "memory.options.last_messages"),
        ({"thread": "t", "options": {"semanticRecall": {"topK": 0}}}, "memory.options.semantic_recall.top_k"),
        ({"thread": {"id": "t", "name": "x"}}, "memory.thread.name: unknown key"),
        (42, "memory: expected a dict"),
    ],
)
def test_bad_memory_options_name_the_field(memory: Any, needle: str) -> None:
    agent = Agent(name="a", model="demo", memory=Memory())
    with pytest.raises(ConfigurationError) as err:
        agent.generate("hi", memory=memory)
    assert needle in str(err.value)


def test_constructor_errors_name_the_fix() -> None:
    with pytest.raises(ConfigurationError, match="embedder='demo'"):
        Memory(semantic_recall=True)
    with pytest.raises(ConfigurationError, match="expected a Memory"):
        Agent(memory={"thread": "t"})  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="belongs to resource 'u1'"):
        agent = Agent(model="demo", memory=Memory())
        agent.generate("hi", memory={"thread": "own", "resource": "u1"})
        agent.generate("hi", memory={"thread": "own", "resource": "u2"})


# -- the playground session (both front ends call these) --------------------------------------------------------


def _send(session: Any, text: str) -> None:
    async def go() -> None:
        async for _ in session.send(text):
            pass

    asyncio.run(go())


def test_session_threads_persist_and_reload_with_their_conversation() -> None:
    from playground.ui.session import PlaygroundSession

    s = PlaygroundSession(memory=True)
    s.set_memory_options(working_memory=True)
    _send(s, "My name is Ada and I live in Oslo")
    assert s.exchanges[-1].status == "done", s.exchanges[-1].error
    thread = s.thread_id
    assert thread is not None
    assert s.threads() == [{"id": thread, "title": "My name is Ada and I live in Oslo",
                            "updated": s.threads()[0]["updated"], "current": True}]
    panel = s.memory_panel()
    assert "Working memory after** (updated)" in panel and "- Name: Ada" in panel
    # the inspect preview shows what memory adds, without saving anything
    preview = s.inspect("What is my name?")
    assert preview["body"]["messages"][1]["content"] == "My name is Ada and I live in Oslo"
    assert len(s.memory.messages(thread)) == 4  # type: ignore[union-attr]

    # a new session (a page reload, a server restart) opens the thread with its exchanges
    again = PlaygroundSession(memory=True)
    assert again.open_thread(thread) and again.thread_id == thread
    assert [e.user_text for e in again.exchanges] == ["My name is Ada and I live in Oslo"]
    assert [b.kind for b in again.exchanges[0].view.blocks if b.kind != "reasoning"] == ["tool", "text"]
    _send(again, "What is my name?")
    assert "Your name is Ada" in again.exchanges[-1].result.text  # type: ignore[union-attr]
    assert "History loaded**: 4 message(s)" in again.memory_panel()
    assert not again.open_thread("no-such-thread")
    # a saved session file keeps the Memory panel
    loaded = PlaygroundSession(memory=True)
    assert loaded.load(again.save()) == []
    assert "History loaded**: 4 message(s)" in loaded.memory_panel()
    # and its conversation goes on in a new thread: sent to the model, then saved there
    _send(loaded, "Where do I live?")
    assert "You live in Oslo" in loaded.exchanges[-1].result.text  # type: ignore[union-attr]
    assert loaded.thread_id != thread
    assert len(loaded.memory.messages(loaded.thread_id)) == 6 + 2  # type: ignore[union-attr, arg-type]


def test_session_new_rename_switch_delete_and_recall() -> None:
    from playground.ui.session import PlaygroundSession

    s = PlaygroundSession(memory=True)
    _send(s, "My name is Ada")
    first = s.thread_id
    second = s.new_thread()
    assert s.exchanges == [] and s.messages == [] and second != first
    s.set_memory_options(semantic_recall=True)
    _send(s, "What is my name?")
    assert "Your name is Ada" in s.exchanges[-1].result.text  # type: ignore[union-attr]
    assert f"| `{first}` |" in s.memory_panel()
    s.rename_thread(second, "  Recall   test ")
    assert {t["title"] for t in s.threads()} == {"Recall test", "My name is Ada"}
    with pytest.raises(ConfigurationError, match="type a title"):
        s.rename_thread(second, " ")
    s.switch_thread(first)  # type: ignore[arg-type]
    assert [e.user_text for e in s.exchanges] == ["My name is Ada"]
    s.delete_thread(first)  # type: ignore[arg-type]
    assert s.thread_id is None and s.exchanges == []
    assert [t["id"] for t in s.threads()] == [second]
    with pytest.raises(ConfigurationError, match="no thread"):
        s.switch_thread(first)  # type: ignore[arg-type]
    s.reset()  # Clear starts a new thread on the next message
    _send(s, "hello")
    assert len(s.threads()) == 2


def test_session_without_memory_keeps_the_old_behaviour() -> None:
    from playground.ui.session import PlaygroundSession

    s = PlaygroundSession()
    _send(s, "My name is Ada")
    assert s.thread_id is None and s.threads() == []
    assert "Memory is off" in PlaygroundSession().memory_panel()
    assert not (Path(os.environ["PLAYGROUND_HOME"]) / "memory.sqlite3").exists()
    with pytest.raises(ConfigurationError, match="memory is off"):
        s.new_thread()


def test_notebook_widget_threads_and_memory_panel() -> None:
    from playground.notebook import Playground

    pg = Playground()

    async def go(text: str) -> None:
        await pg.send(text)
        await pg.wait()

    pg.memory_ui.working_box.value = True
    asyncio.run(go("My name is Ada and I live in Oslo"))
    assert "Name: Ada" in pg.memory_ui.panel.value
    thread = pg.session.thread_id
    assert [v for _, v in pg.memory_ui.thread_menu.options] == [thread]
    pg.memory_ui.new_button.click()
    assert pg.session.thread_id != thread and pg.session.exchanges == []
    pg.memory_ui.thread_menu.value = thread
    assert pg.session.thread_id == thread and len(pg.session.exchanges) == 1
    pg.memory_ui.rename_box.value = "Ada"
    pg.memory_ui.rename_button.click()
    assert pg.memory_ui.thread_menu.options[0][0].startswith("Ada ·")
    pg.memory_ui.delete_button.click()
    assert thread not in [v for _, v in pg.memory_ui.thread_menu.options]


def test_storage_by_path_url_or_store_and_bad_storage(tmp_path: Path) -> None:
    from playground.store.memory_sqlite import SqliteMemoryStore

    by_path = Memory(storage=tmp_path / "a.sqlite3")
    Agent(model="demo", memory=by_path).generate("hi", memory={"thread": "t"})
    assert (tmp_path / "a.sqlite3").exists() and "a.sqlite3" in repr(by_path)
    by_url = Memory(storage=f"sqlite:///{tmp_path / 'a.sqlite3'}")
    assert [m.role for m in by_url.messages("t")] == ["user", "assistant"]
    store = SqliteMemoryStore(tmp_path / "a.sqlite3")
    assert Memory(storage=store).store is store
    with pytest.raises(ConfigurationError, match="storage must be a path"):
        Memory(storage=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported memory store URL"):
        Memory(storage="mysql://x").list_threads()


def test_both_front_ends_wire_every_thread_action() -> None:
    """Parity: each thread action of the session is called by the Gradio layout and by the notebook layout."""
    import inspect

    from playground.ui import gradio_memory, widgets_memory
    from playground.ui.threads import ThreadsMixin

    actions = {n for n, v in vars(ThreadsMixin).items() if inspect.isfunction(v) and not n.startswith("_")}
    assert {"new_thread", "switch_thread", "rename_thread", "delete_thread", "set_memory_options"} <= actions
    browser_only = {"open_thread"}  # the page URL names the thread to reopen; a notebook has no URL
    helpers = {"threads"}  # a read helper; both menus use thread_choices
    gradio_src = inspect.getsource(gradio_memory)
    widgets_src = inspect.getsource(widgets_memory)
    for action in actions - helpers:
        assert f".{action}(" in gradio_src or f"s.{action}" in gradio_src, f"gradio: {action} is not wired"
        if action not in browser_only:
            assert f".{action}" in widgets_src, f"notebook: {action} is not wired"


def test_threads_cannot_change_under_a_streaming_reply() -> None:
    from playground.ui.session import PlaygroundSession

    s = PlaygroundSession(memory=True)
    _send(s, "hello")
    s.busy = True
    with pytest.raises(ConfigurationError, match="still streaming"):
        s.new_thread()
    with pytest.raises(ConfigurationError, match="still streaming"):
        s.switch_thread(s.thread_id)  # type: ignore[arg-type]
    s.busy = False
    assert s.new_thread()


def test_structured_output_is_not_answered_in_prose_by_the_memory_demo() -> None:
    class Answer(BaseModel):
        name: str

    agent = Agent(name="a", model="demo", memory=Memory())
    agent.generate("My name is Ada", memory={"thread": "so"})
    r = agent.generate("What is my name?", memory={"thread": "so"}, structured_output=Answer)
    assert isinstance(r.object, Answer)


def test_working_memory_can_be_set_from_code_and_is_sent() -> None:
    memory = Memory(working_memory={"template": TEMPLATE})
    memory.set_working_memory("# User\n- Name: Grace\n- City: Arlington\n", resource="u")
    agent = Agent(name="a", model="demo", memory=memory)
    gen = agent.prompt("What is my name?", memory={"thread": "w", "resource": "u"})
    assert "- Name: Grace" in gen.instructions
    assert gen.generate_now().text == "Your name is Grace. (I remember it from working memory.)"
    with pytest.raises(ConfigurationError, match="pass thread= or resource="):
        memory.set_working_memory("x")
