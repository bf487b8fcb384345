"""PlaygroundSession without a browser: every action, isolation, masking of the key, and bad-input messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from playground import Agent, ErrorEvent, FinishEvent, TextDeltaEvent, ToolApprovalEvent
from playground.ui.codegen import curl_command
from playground.ui.render import chat_messages, exchange_panels, usage_chart_html
from playground.ui.session import BLANK_AGENT, CompareColumn, PlaygroundSession, load_agents, provider_choices

REPO = Path(__file__).resolve().parents[2]
AGENTS = REPO / "agents"
KEY = "sk-test-SECRET-abcdefghijklmnop-1234"


@pytest.fixture
def session() -> PlaygroundSession:
    s = PlaygroundSession(load_agents(AGENTS))
    s.set_agent("support")
    return s


async def collect(events: Any) -> list[Any]:
    return [ev async for ev in events]


# -- agents, providers, setters -----------------------------------------------------------------------------------


def test_load_agents_finds_examples_and_reports_broken_files(tmp_path: Path) -> None:
    agents, problems = load_agents(AGENTS)
    assert {"support", "weather", "research"} <= set(agents)
    assert not [p for p in problems if p.startswith(("support.py", "weather.py", "research.py"))]
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    (tmp_path / "empty.py").write_text("x = 1\n")
    (tmp_path / "ok.py").write_text("from playground import Agent\nagent = Agent(name='ok')\n")
    agents, problems = load_agents(tmp_path)
    assert list(agents) == ["ok"]
    assert any("broken.py" in p and "boom" in p for p in problems)
    assert any("empty.py" in p for p in problems)
    s = PlaygroundSession((agents, problems))
    assert BLANK_AGENT in s.agents and s.load_errors == problems


def test_provider_choices_offer_demo_and_compatible_only_without_keys() -> None:
    prefixes = [p for _, p in provider_choices()]
    assert prefixes[0] == "demo"
    assert "openai-compatible" in prefixes
    assert "openai" not in prefixes and "anthropic" not in prefixes  # conftest clears real keys


def test_set_agent_takes_its_instructions_and_tools(session: PlaygroundSession) -> None:
    assert session.agent_name == "support"
    assert "support agent" in session.instructions
    assert session.active_tools == ["lookup_order", "refund"]
    schemas = {t["name"]: t for t in session.tool_schemas()}
    assert schemas["refund"]["requires_approval"] is True
    assert "order_id" in schemas["refund"]["parameters"]["properties"]
    with pytest.raises(ValueError, match="no agent named 'nope'"):
        session.set_agent("nope")


def test_settings_unset_is_not_sent_and_set_is(session: PlaygroundSession) -> None:
    body = session.inspect("hello")["body"]
    assert "temperature" not in body and "top_p" not in body
    session.set_settings({"temperature": 0.3, "max_output_tokens": 50.0, "stop_sequences": "END\nSTOP", "top_p": ""})
    body = session.inspect("hello")["body"]
    assert body["temperature"] == 0.3
    assert body["stop"] == ["END", "STOP"]
    assert "top_p" not in body


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"temperature": 5}, "temperature"),
        ({"top_p": -1}, "top p"),
        ({"max_output_tokens": 0}, "max output tokens"),
        ({"max_output_tokens": 2.5}, "whole number"),
        ({"warmth": 1}, "unknown setting"),
    ],
)
def test_out_of_range_settings_name_the_problem_and_change_nothing(
    session: PlaygroundSession, values: dict[str, Any], fragment: str
) -> None:
    session.set_settings({"temperature": 0.5})
    with pytest.raises(ValueError, match=fragment):
        session.set_settings(values)
    assert session.settings.temperature == 0.5


def test_configure_collects_problems_and_applies_the_rest(session: PlaygroundSession) -> None:
    problems = session.configure(max_steps=500, settings={"temperature": 9}, tool_choice="refund", model="demo-1")
    assert any("Max steps" in p and "out of range" in p for p in problems)
    assert any("temperature" in p for p in problems)
    assert session.tool_choice == "refund" and session.max_steps == 5
    assert session.configure(max_steps="abc") == ["Max steps: 'abc' is not a whole number"]
    assert session.configure(tool_choice="fly") and session.tool_choice == "refund"
    session.set_active_tools(["lookup_order"])
    assert session.tool_choice == "auto"  # the chosen tool is no longer active
    with pytest.raises(ValueError, match="no tool 'zap'"):
        session.set_active_tools(["zap"])
    with pytest.raises(ValueError, match="http"):
        session.set_base_url("127.0.0.1:9")
    with pytest.raises(ValueError, match="Model"):
        session.set_model("  ")


def test_tool_choice_and_active_tools_reach_the_request(session: PlaygroundSession) -> None:
    session.set_active_tools(["refund"])
    session.set_tool_choice("refund")
    session.set_require_approval(True)
    session.set_max_steps(3)
    body = session.inspect("hi")["body"]
    assert [t["function"]["name"] for t in body["tools"]] == ["refund"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "refund"}}


def test_list_models_from_the_demo_provider(session: PlaygroundSession) -> None:
    assert session.list_models() == ["demo-1"]


# -- send, stream, inspect ----------------------------------------------------------------------------------------


async def test_send_streams_and_keeps_the_conversation(session: PlaygroundSession) -> None:
    session.set_agent("research")
    preview = session.inspect("What is RAG?")
    events = await collect(session.send("What is RAG?"))
    assert any(isinstance(e, TextDeltaEvent) for e in events)
    assert isinstance(events[-1], FinishEvent)
    ex = session.exchanges[-1]
    assert ex.status == "done" and ex.result is not None
    assert ex.view.text == ex.result.text
    assert ex.steps[0].raw_request is not None
    assert ex.steps[0].raw_request.body == preview["body"]  # Inspect shows what is then sent
    assert [m.role for m in session.messages] == ["user", "assistant"]
    panels = exchange_panels(ex)
    assert "wikipedia.org" in panels.sources
    assert "Total" in panels.usage and "pg-bar" in panels.usage_chart
    assert "model call" in panels.steps
    assert json.loads(panels.raw_request)["step 1"]["body"]["messages"][-1]["content"] == "What is RAG?"
    await collect(session.send("2+2"))
    assert [m.role for m in session.messages] == ["user", "assistant", "user", "assistant"]
    msgs, owner = chat_messages(session.exchanges)
    assert msgs[0] == {"role": "user", "content": "What is RAG?"}
    assert owner[-1] == 1
    assert any(m.get("metadata", {}).get("title") == "Reasoning" for m in msgs)


async def test_empty_message_and_busy_states_are_messages_not_exceptions(session: PlaygroundSession) -> None:
    events = await collect(session.send("   "))
    assert isinstance(events[0], ErrorEvent) and "type a message" in str(events[0].error)
    assert session.exchanges == []
    with pytest.raises(ValueError, match="type a message"):
        session.inspect("")


async def test_provider_error_is_inline_and_the_conversation_is_kept(session: PlaygroundSession) -> None:
    await collect(session.send("look up order 42"))
    before = list(session.messages)
    events = await collect(session.send("/error 401"))
    assert isinstance(events[-1], ErrorEvent)
    assert session.exchanges[-1].status == "error"
    assert "401" in (session.notice or "") and "AuthenticationError" in (session.notice or "")
    assert session.messages == before
    msgs, _ = chat_messages(session.exchanges)
    assert "Error" in msgs[-1]["content"]
    await collect(session.send("2+2"))  # it recovers
    assert session.exchanges[-1].status == "done"


async def test_compatible_without_base_url_or_with_a_server_down(session: PlaygroundSession) -> None:
    session.set_provider("openai-compatible")
    session.set_model("m1")
    events = await collect(session.send("hi"))
    assert isinstance(events[-1], ErrorEvent) and "Base URL" in (session.notice or "")
    session.set_base_url("http://127.0.0.1:9/v1")  # nothing listens on port 9
    session.set_settings({"max_retries": 0})
    await collect(session.send("hi"))
    assert "Could not reach" in (session.notice or "")
    assert session.exchanges[-1].status == "error"


# -- approval -----------------------------------------------------------------------------------------------------


async def test_approve_with_edited_args(session: PlaygroundSession) -> None:
    events = await collect(session.send("refund order 42"))
    assert any(isinstance(e, ToolApprovalEvent) for e in events)
    pending = session.pending
    assert pending is not None and pending.tool_name == "refund" and pending.args == {"order_id": "42"}
    # while suspended, a new message is refused with a reason
    refused = await collect(session.send("hello"))
    assert isinstance(refused[0], ErrorEvent) and "approve or decline" in str(refused[0].error)
    # invalid JSON, and JSON that breaks the schema: messages, the approval stays pending
    bad = await collect(session.approve(pending.tool_call_id, '{"order_id": 42'))
    assert isinstance(bad[0], ErrorEvent) and "not valid JSON" in (session.notice or "")
    assert session.pending is pending
    bad = await collect(session.approve(pending.tool_call_id, '["x"]'))
    assert "JSON object" in (session.notice or "")
    bad = await collect(session.approve(pending.tool_call_id, '{"order_id": "42", "amount": "lots"}'))
    assert isinstance(bad[0], ErrorEvent) and "amount" in (session.notice or "")
    assert session.pending is pending
    await collect(session.approve(pending.tool_call_id, '{"order_id": "42", "amount": 10}'))
    assert session.pending is None
    ex = session.exchanges[-1]
    assert ex.status == "done" and "refunded 10.0" in ex.view.text
    tool = next(b for b in ex.view.blocks if b.kind == "tool")
    assert tool.status == "done" and tool.args == {"order_id": "42", "amount": 10}
    assert len(ex.steps) == 2


async def test_decline_with_reason(session: PlaygroundSession) -> None:
    await collect(session.send("refund order 42"))
    assert session.pending is not None
    wrong = await collect(session.decline("call_nope", "no"))
    assert isinstance(wrong[0], ErrorEvent) and session.pending is not None
    await collect(session.decline(session.pending.tool_call_id, "order is fine"))
    assert session.pending is None
    ex = session.exchanges[-1]
    assert "declined" in ex.view.text
    tool = next(b for b in ex.view.blocks if b.kind == "tool")
    assert tool.status == "declined" and tool.reason == "order is fine"
    assert (await collect(session.approve("x")))[0].error.args[0] == "No tool call is waiting for approval."


async def test_require_approval_applies_to_every_tool(session: PlaygroundSession) -> None:
    session.set_require_approval(True)
    await collect(session.send("look up order 42"))
    assert session.pending is not None and session.pending.tool_name == "lookup_order"


# -- stop, reset, select ------------------------------------------------------------------------------------------


async def test_stop_mid_stream_keeps_what_arrived(session: PlaygroundSession, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.05")
    session.set_agent("research")
    assert session.stop() is False
    seen = 0
    async for ev in session.send("Tell me about the history of the printing press"):
        if isinstance(ev, TextDeltaEvent | ToolApprovalEvent) or getattr(ev, "type", "") == "reasoning-delta":
            seen += 1
            if seen == 3:
                assert session.stop() is True
    ex = session.exchanges[-1]
    assert ex.status == "stopped"
    assert not session.busy
    assert ex.result is not None and ex.result.finish_reason == "aborted"
    msgs, _ = chat_messages(session.exchanges)
    assert "Stopped" in msgs[-1]["content"]
    await collect(session.send("2+2"))
    assert session.exchanges[-1].status == "done"


async def test_reset_and_select(session: PlaygroundSession) -> None:
    await collect(session.send("2+2"))
    await collect(session.send("3*3"))
    assert session.select(0) is session.exchanges[0]
    assert session.select(99) is session.exchanges[-1]
    session.set_settings({"temperature": 0.1})
    session.reset()
    assert session.exchanges == [] and session.messages == [] and session.pending is None
    assert session.settings.temperature == 0.1  # settings stay
    assert exchange_panels(None).usage == "*No usage yet.*"


# -- key handling, isolation --------------------------------------------------------------------------------------


async def test_key_never_in_views_errors_or_saved_sessions(session: PlaygroundSession) -> None:
    session.set_api_key(KEY)
    assert KEY not in repr(session) and "key=set" in repr(session)
    await collect(session.send("look up order 42"))
    session.set_provider("openai-compatible")
    session.set_base_url(f"http://127.0.0.1:9/v1?key={KEY}")
    session.set_api_key(KEY)  # a key stays with the host it was typed for: type it again for this one
    session.set_model("m1")
    session.set_settings({"max_retries": 0})
    preview = session.inspect("hi")
    assert KEY not in json.dumps(preview)
    assert preview["headers"]["Authorization"].startswith("Bearer sk-")
    await collect(session.send("hi"))
    assert session.notice and "Could not reach" in session.notice and KEY not in session.notice
    saved = session.save()
    assert KEY not in saved
    code = session.export_code()
    assert KEY not in code["python"] + code["curl"]
    assert "$OPENAI_COMPATIBLE_API_KEY" in code["curl"]
    msgs, _ = chat_messages(session.exchanges)
    assert KEY not in json.dumps(msgs)
    for ex in session.exchanges:
        assert KEY not in json.dumps(exchange_panels(ex).__dict__)
    assert KEY not in json.dumps(session.config())


async def test_two_sessions_are_isolated() -> None:
    agents = load_agents(AGENTS)
    a, b = PlaygroundSession(agents), PlaygroundSession(agents)
    a.set_agent("support")
    a.set_api_key(KEY)
    a.set_settings({"temperature": 0.9})
    await collect(a.send("look up order 42"))
    assert b.exchanges == [] and b.messages == [] and not b.has_api_key
    assert b.settings.temperature is None and b.agent_name == PlaygroundSession(agents).agent_name
    await collect(b.send("2+2"))
    assert len(a.exchanges) == 1 and len(b.exchanges) == 1
    assert a.exchanges[0].user_text != b.exchanges[0].user_text
    import copy

    assert copy.deepcopy(a) is a  # what gr.State does to the value its factory returns


# -- save / load, code, compare -----------------------------------------------------------------------------------


async def test_save_and_load_round_trip(session: PlaygroundSession) -> None:
    session.set_settings({"temperature": 0.4})
    await collect(session.send("look up order 42"))
    await collect(session.send("refund order 42"))
    await collect(session.approve(session.pending.tool_call_id if session.pending else ""))
    data = session.save()
    assert json.loads(data)["config"]["settings"] == {"temperature": 0.4}
    other = PlaygroundSession(load_agents(AGENTS))
    assert other.load(data) == []
    assert other.agent_name == "support" and other.settings.temperature == 0.4
    assert len(other.exchanges) == 2 and other.exchanges[1].view.text == session.exchanges[1].view.text
    assert [m.role for m in other.messages] == [m.role for m in session.messages]
    assert exchange_panels(other.exchanges[1]).usage == exchange_panels(session.exchanges[1]).usage
    await collect(other.send("2+2"))  # the replayed conversation continues
    assert other.exchanges[-1].status == "done"
    with pytest.raises(ValueError, match="not valid JSON"):
        other.load("{nope")
    with pytest.raises(ValueError, match="not a saved playground session"):
        other.load('{"a": 1}')
    bare = PlaygroundSession()
    assert "not available here" in bare.load(data)[0]


async def test_export_code_runs_and_reproduces_the_call(session: PlaygroundSession, tmp_path: Path) -> None:
    session.set_agent("weather")
    session.set_settings({"temperature": 0.2})
    await collect(session.send("What's the weather in Paris?"))
    code = session.export_code()
    assert "ModelSettings(temperature=0.2)" in code["python"]
    assert "curl -X POST" in code["curl"] and '"temperature": 0.2' in code["curl"]
    script = tmp_path / "repro.py"
    script.write_text(code["python"])
    out = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PLAYGROUND_DEMO_DELAY": "0", "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert "get_weather returned" in out.stdout


def test_curl_refers_to_the_key_variable() -> None:
    req = {"method": "POST", "url": "https://api.example.com/v1/x?key=****", "headers": {
        "Authorization": "Bearer sk-...abcd", "x-api-key": "****"}, "body": {"a": "it's"}}
    text = curl_command(req, "anthropic")
    assert '-H "Authorization: Bearer $ANTHROPIC_API_KEY"' in text
    assert '-H "x-api-key: $ANTHROPIC_API_KEY"' in text
    assert '"https://api.example.com/v1/x?key=$ANTHROPIC_API_KEY"' in text
    assert "it's" in text  # heredoc body needs no quoting


async def test_compare_columns_side_by_side(session: PlaygroundSession) -> None:
    session.set_agent("research")
    outcomes = await session.compare("What is RAG?", [
        CompareColumn(provider="demo"),
        CompareColumn(provider="demo", settings={"max_output_tokens": 5}),
        CompareColumn(provider="openai-compatible", model="m1"),
    ])
    assert [o.error is None for o in outcomes] == [True, True, False]
    assert outcomes[0].text and outcomes[0].usage.total_tokens > 0 and outcomes[0].latency_ms is not None
    assert outcomes[1].finish_reason == "length" and len(outcomes[1].text) < len(outcomes[0].text)
    assert "Base URL" in (outcomes[2].error or "")
    assert session.exchanges == []  # the conversation is not changed
    with pytest.raises(ValueError, match="1 to 4 columns"):
        await session.compare("x", [CompareColumn()] * 5)


def test_usage_chart_is_plain_html() -> None:
    html = usage_chart_html([{"step": 1, "input": 10, "output": 5, "reasoning": 2, "total": 15, "latency_ms": 3.0}])
    assert "<script" not in html and "http" not in html and "Step 1" in html


def test_import_playground_does_not_import_gradio() -> None:
    code = "import sys, playground, playground.ui; assert 'gradio' not in sys.modules, 'gradio imported'"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_blank_agent_has_no_tools() -> None:
    s = PlaygroundSession()
    assert s.agent_name == BLANK_AGENT and s.active_tools == [] and s.tool_schemas() == []
    assert "tools" not in s.inspect("hi")["body"]
    assert isinstance(s.template, Agent)
