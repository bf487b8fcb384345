"""The notebook playground (playground/ui/widgets.py) without a browser: every control drives its session action, and
both front ends expose every public action of `PlaygroundSession` (parity)."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ipywidgets")

from playground.notebook import Playground, find_agents_dir
from playground.ui.session import PlaygroundSession, load_agents
from playground.ui.widgets import ACTIONS, PANELS, PlaygroundWidget, chat_html

REPO = Path(__file__).resolve().parents[2]
AGENTS = REPO / "agents"
GRADIO_APP = REPO / "playground" / "ui" / "gradio_app.py"

# Public methods of the session that are not actions a person takes: read-only helpers, and `configure`, the batch
# form of the setters (a front end may call the setters one by one or `configure(field=...)`).
NOT_ACTIONS = {"mask", "tool_schemas", "selected_exchange", "config", "configure", "key_for", "server_key_allowed",
               "waiting_text", "cannot_list_models", "key_hint", "output_schema", "output_schema_text",
               "configure_output_schema",
               "trace_view", "session_cost", "cost_markdown"}  # read-only views (Traces tab / panel, cost)


def session_actions() -> set[str]:
    """Every public action of PlaygroundSession (methods, not properties, not helpers)."""
    names = set()
    for name, member in vars(PlaygroundSession).items():
        if name.startswith("_") or isinstance(member, property | staticmethod | classmethod):
            continue
        if inspect.isfunction(member):
            names.add(name)
    return names - NOT_ACTIONS


class Spy:
    """Records the session actions the widget calls (wrapping the bound methods on the instance)."""

    def __init__(self, session: PlaygroundSession, names: set[str]) -> None:
        self.calls: list[str] = []
        for name in names:
            original = getattr(session, name)
            setattr(session, name, self._wrap(name, original))

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return fn(*args, **kwargs)

        return recorded


def _widget(select: str = "support") -> tuple[PlaygroundWidget, Spy]:
    session = PlaygroundSession(load_agents(AGENTS), agent=select)
    spy = Spy(session, session_actions())
    return PlaygroundWidget(session), spy


def _all_html(pg: PlaygroundWidget) -> str:
    parts = [pg.chat.value, pg.notice.value, pg.header.value, pg.approval_text.value, pg.save_link.value,
             pg.compare_out.value, pg.key_status.value, *(p.value for p in pg.panels.values())]
    return "\n".join(parts)


# ----------------------------------------------------------------------------------------------------------------
# Parity


def test_every_session_action_has_a_notebook_control() -> None:
    actions = session_actions()
    assert actions, "no actions found on PlaygroundSession"
    missing = actions - set(ACTIONS)
    assert not missing, f"session actions with no notebook control: {sorted(missing)}"
    stale = set(ACTIONS) - actions
    assert not stale, f"ACTIONS names methods the session no longer has: {sorted(stale)}"
    pg, _ = _widget()
    for action, attribute in ACTIONS.items():
        assert hasattr(pg, attribute), f"{action}: the widget has no control {attribute!r}"


def _gradio_calls() -> tuple[set[str], set[str]]:
    """(methods called on any object, keyword fields passed to `configure`) in gradio_app.py's wiring."""
    tree = ast.parse(GRADIO_APP.read_text(encoding="utf-8"))
    methods: set[str] = set()
    configured: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            methods.add(node.func.attr)
            if node.func.attr == "configure":
                configured.update(k.arg for k in node.keywords if k.arg)
                for k in node.keywords:  # configure(**{k: fields[k] for k in ("agent", "provider") ...})
                    if k.arg is None:
                        strings = [c.value for c in ast.walk(k.value) if isinstance(c, ast.Constant)]
                        configured.update(v for v in strings if isinstance(v, str))
    return methods, configured


def test_every_session_action_is_wired_in_the_gradio_app() -> None:
    """Gradio exposes no action table, so its wiring source is read: each action is called on the session there,
    and each setter is called or its field is passed to `configure`."""
    if not GRADIO_APP.exists():
        pytest.skip("playground/ui/gradio_app.py is not there yet")
    methods, configured = _gradio_calls()
    missing = []
    for action in sorted(session_actions()):
        if action in methods:
            continue
        if action.startswith("set_") and action.removeprefix("set_") in configured:
            continue
        if action.startswith("set_") and "configure_" + action.removeprefix("set_") in methods:
            continue  # the batch form that returns problems instead of raising (configure_output_schema)
        missing.append(action)
    assert not missing, f"session actions the Gradio app does not wire: {missing}"


# ----------------------------------------------------------------------------------------------------------------
# Each control drives its action


async def test_each_control_calls_its_session_action(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # Save session writes next to the notebook: the working folder
    pg, spy = _widget()

    def fired(action: str, trigger: Callable[[], Any]) -> None:
        spy.calls.clear()
        trigger()
        assert action in spy.calls, f"{ACTIONS[action]} did not call session.{action} (calls: {spy.calls})"

    async def fired_async(action: str, trigger: Callable[[], Any]) -> None:
        spy.calls.clear()
        trigger()
        await pg.wait()
        assert action in spy.calls, f"{ACTIONS[action]} did not call session.{action} (calls: {spy.calls})"

    # the conversation first (the demo model; refund needs approval)
    pg.message_box.value = "refund order 42"
    await fired_async("send", pg.send_button.click)
    assert pg.message_box.value == ""  # the box is cleared once sent
    assert pg.session.pending is not None and pg.approval_area.layout.display is None
    assert "waits for your approval" in pg.chat.value and '"order_id": "42"' in pg.approval_args.value
    await fired_async("approve", pg.approve_button.click)
    assert pg.session.pending is None and pg.approval_area.layout.display == "none"
    assert "refund returned: order id 42, refunded 89.0" in pg.chat.value

    pg.message_box.value = "refund order 7"
    await fired_async("send", pg.send_button.click)
    pg.decline_reason.value = "not today"
    await fired_async("decline", pg.decline_button.click)
    assert "declined" in pg.chat.value and "not today" in pg.chat.value

    fired("select", lambda: setattr(pg.exchange_menu, "value", 0))
    assert pg.session.selected == 0
    fired("export_code", pg.refresh)
    assert "refund order 42" in pg.panels["Code"].value
    pg.message_box.value = "look up order 7"
    fired("inspect", pg.inspect_button.click)
    assert "look up order 7" in pg.panels["Inspect"].value
    fired("stop", pg.stop_button.click)
    fired("list_models", pg.models_button.click)
    assert "demo-1" in pg.model_box.options
    pg.message_box.value = "hello"
    await fired_async("compare", pg.compare_button.click)
    assert "<table>" in pg.compare_out.value and "demo model" in pg.compare_out.value
    fired("save", pg.save_button.click)
    assert "Saved to <code>playground-session-" in pg.save_link.value and "data:" not in pg.save_link.value
    saved = pg.session.save()
    fired("reset", pg.clear_button.click)
    assert pg.session.exchanges == [] and "Type a message below" in pg.chat.value
    upload = {"name": "s.json", "type": "application/json", "size": len(saved), "content": memoryview(saved.encode()),
              "last_modified": datetime.now(UTC)}
    fired("load", lambda: setattr(pg.load_upload, "value", (upload,)))
    assert len(pg.session.exchanges) == 2 and "refund order 42" in pg.chat.value

    # the configuration column
    fired("set_instructions", lambda: setattr(pg.instructions_box, "value", "Be brief."))
    assert pg.session.instructions == "Be brief."
    fired("set_settings", lambda: setattr(pg.setting_boxes["temperature"], "value", "0.3"))
    assert pg.session.settings.temperature == 0.3
    fired("set_active_tools", lambda: setattr(pg.tool_boxes["refund"], "value", False))
    assert pg.session.active_tools == ["lookup_order"]
    fired("set_tool_choice", lambda: setattr(pg.tool_choice_menu, "value", "lookup_order"))
    assert pg.session.tool_choice == "lookup_order"
    fired("set_require_approval", lambda: setattr(pg.approval_box, "value", True))
    assert pg.session.require_approval is True
    fired("set_max_steps", lambda: setattr(pg.max_steps_box, "value", "3"))
    assert pg.session.max_steps == 3
    fired("set_timeout", lambda: setattr(pg.timeout_box, "value", "30"))
    assert pg.session.timeout == 30
    fired("set_model", lambda: setattr(pg.model_box, "value", "demo-2"))
    assert pg.session.model == "demo-2"
    fired("set_agent", lambda: setattr(pg.agent_menu, "value", "weather"))
    assert pg.session.agent_name == "weather" and list(pg.tool_boxes) == ["get_weather"]
    assert pg.instructions_box.value == pg.session.instructions  # the controls show the new agent's choices
    fired("set_provider", lambda: setattr(pg.provider_menu, "value", "openai-compatible"))
    assert pg.base_url_box.layout.display is None  # the base URL field shows for OpenAI-compatible servers
    fired("set_base_url", lambda: setattr(pg.base_url_box, "value", "http://127.0.0.1:9/v1"))
    key = "sk-widget-test-0123456789abcdefghij"
    fired("set_api_key", lambda: setattr(pg.api_key_box, "value", key))
    assert pg.session.has_api_key
    pg.inspect("hello")
    assert key not in _all_html(pg)  # the key is never shown
    assert key not in pg.session.save()


async def test_bad_setting_shows_a_notice_and_keeps_the_text() -> None:
    pg, _ = _widget()
    pg.setting_boxes["temperature"].value = "hot"
    assert "Temperature must be a number" in pg.notice.value
    assert pg.setting_boxes["temperature"].value == "hot"
    pg.setting_boxes["temperature"].value = "5"
    assert "less than or equal to 2" in pg.notice.value
    pg.setting_boxes["temperature"].value = "0.5"
    assert pg.notice.value == "" and pg.session.settings.temperature == 0.5


async def test_send_errors_show_inline_and_the_conversation_is_kept() -> None:
    pg, _ = _widget()
    await pg.send("look up order 42")
    await pg.send("/error 500")
    assert "Error." in pg.chat.value and "lookup_order returned" in pg.chat.value
    await pg.send("   ")
    assert "type a message first" in pg.notice.value


async def test_streaming_updates_the_chat_before_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.01")
    pg, _ = _widget("research")
    seen: list[str] = []
    pg.chat.observe(lambda change: seen.append(change["new"]), names="value")
    pg._last_render = 0.0
    await pg.send("What is retrieval-augmented generation? Cite sources.")
    final = pg.session.exchanges[-1].result
    assert final is not None and final.text
    assert len(seen) >= 3  # repainted while streaming, not only at the end
    assert any("pgw-assistant" in v and final.text not in v for v in seen)
    assert "wikipedia.org" in pg.panels["Sources"].value
    assert set(pg.panels) == set(PANELS)


def test_chat_html_escapes_user_text() -> None:
    session = PlaygroundSession(load_agents(AGENTS), agent="support")
    asyncio.run(_drain(session, "<img src=x onerror=alert(1)> look up order 42"))
    page = chat_html(session.exchanges)
    assert "<img src=x" not in page and "&lt;img src=x" in page


async def _drain(session: PlaygroundSession, text: str) -> None:
    async for _ in session.send(text):
        pass


def test_buttons_work_without_a_running_loop() -> None:
    """Outside a notebook (no loop running), a button runs its action to the end before returning."""
    pg, _ = _widget()
    pg.message_box.value = "look up order 42"
    pg.send_button.click()
    assert pg.session.exchanges[-1].status == "done"


def test_playground_constructor_forms() -> None:
    agents, _ = load_agents(AGENTS)
    support = agents["support"]
    one = Playground(support)
    assert one.session.agent_name == "support" and "support" in one.session.agents
    many = Playground(list(agents.values()), select="weather")
    assert many.session.agent_name == "weather"
    folder = Playground(agents_dir=AGENTS, select="research")
    assert folder.session.agent_name == "research"
    assert find_agents_dir(REPO / "notebooks") == AGENTS
    bundle = one._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Agent Playground (support")
    with pytest.raises(ValueError, match="no agent named"):
        Playground(support, select="nobody")


def test_import_playground_imports_no_widget_toolkit() -> None:
    code = (
        "import sys, playground, playground.ui.session, playground.display\n"
        "bad = [m for m in ('ipywidgets', 'gradio') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "import playground.notebook\n"
        "assert 'ipywidgets' in sys.modules and 'gradio' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_saved_session_json_round_trips_through_the_widget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # Save session writes next to the notebook: the working folder
    pg, _ = _widget()
    asyncio.run(pg.send("look up order 42"))
    data = pg.save()
    other, _ = _widget()
    assert other.load(data) == []
    assert json.loads(data)["exchanges"][0]["user_text"] == "look up order 42"
    assert "look up order 42" in other.chat.value


# ----------------------------------------------------------------------------------------------------------------
# Issue 20.1: the agent you pass is the agent you get (model, base URL, key); issue 9: the typed key is never kept in
# widget state


AGENT_KEY = "sk-agent-own-key-0123456789abcdef"
ENV_KEY = "sk-environment-key-0123456789abcd"
TYPED_KEY = "sk-typed-in-the-box-0123456789ab"


def _scripted_agent(model: str, **kwargs: Any) -> tuple[Any, Any]:
    from playground import Agent
    from tests.scripted import Scripted, completion

    server = Scripted(completion("Hello from the own model of the agent."), completion("Second answer."))
    agent = Agent(name="billing", instructions="Be brief.", model=model, http_client=server.client(),
                  async_http_client=server.async_client(), **kwargs)
    return agent, server


async def test_playground_uses_the_agents_model_key_and_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)
    agent, server = _scripted_agent("openai-chat:gpt-4.1-mini", api_key=AGENT_KEY)
    pg = Playground(agent)
    assert pg.session.model_string == "openai-chat:gpt-4.1-mini"
    assert "Demo model" not in pg.header.value and "messages are sent" in pg.header.value
    assert "agent's own key" in pg.key_status.value
    await pg.send("hi")
    assert "Hello from the own model of the agent." in pg.chat.value
    sent = server.requests[0]
    assert sent.headers["authorization"] == f"Bearer {AGENT_KEY}"  # never the environment's: another account
    assert ENV_KEY not in str(sent.headers)
    assert AGENT_KEY not in _all_html(pg) and AGENT_KEY not in pg.session.save()


async def test_playground_keeps_an_openai_compatible_agents_base_url() -> None:
    agent, server = _scripted_agent("openai-compatible:llama3", base_url="http://127.0.0.1:9/v1", api_key=AGENT_KEY)
    pg = Playground(agent)
    assert pg.session.base_url == "http://127.0.0.1:9/v1" and pg.base_url_box.value == "http://127.0.0.1:9/v1"
    assert pg.base_url_box.layout.display is None
    await pg.send("hi")
    assert str(server.requests[0].url) == "http://127.0.0.1:9/v1/chat/completions"
    assert server.requests[0].headers["authorization"] == f"Bearer {AGENT_KEY}"
    # a model the person chooses on another host never gets the agent's key
    pg.base_url_box.value = "http://127.0.0.1:8/v1"
    preview = pg.session.inspect("hi")
    assert preview["url"] == "http://127.0.0.1:8/v1/chat/completions"
    assert "authorization" not in {k.lower() for k in preview["headers"]}


def test_an_agent_whose_model_cannot_be_used_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from playground import Agent

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    pg = Playground(Agent(name="billing", model="openai-chat:gpt-4.1-mini"))
    assert pg.session.model_string == "openai-chat:gpt-4.1-mini"  # not silently the demo model
    assert "needs an API key" in pg.notice.value and "OPENAI_API_KEY" in pg.notice.value
    assert pg.api_key_box.layout.display is None
    pg2 = Playground(Agent(name="local", model="openai-compatible:llama3"))
    assert "has no base_url" in pg2.notice.value


def test_a_typed_key_is_not_kept_in_widget_state_or_embedding(tmp_path: Path) -> None:
    from ipywidgets.embed import embed_minimal_html

    pg, _ = _widget()
    pg.provider_menu.value = "openai-compatible"
    pg.base_url_box.value = "http://127.0.0.1:9/v1"
    pg.model_box.value = "llama3"
    pg.api_key_box.value = TYPED_KEY
    assert pg.session.has_api_key and pg.api_key_box.value == ""
    assert "Key set for this session" in pg.key_status.value and pg.forget_key_button.layout.display is None
    state = json.dumps(pg.root.get_manager_state(), default=str)
    assert TYPED_KEY not in state and '"_view_name": "PasswordView"' in state
    page = tmp_path / "embedded.html"
    embed_minimal_html(str(page), views=[pg.root], title="playground")
    assert '"PasswordModel"' in page.read_text() and TYPED_KEY not in page.read_text()
    assert pg.session.inspect("hi")["headers"]["Authorization"] != f"Bearer {TYPED_KEY}"  # masked, but set
    pg.forget_key_button.click()
    assert not pg.session.has_api_key and pg.forget_key_button.layout.display == "none"


# ----------------------------------------------------------------------------------------------------------------
# Issue 20.3: the approval card keeps what the person typed


async def test_invalid_json_keeps_the_edit_and_says_what_is_wrong() -> None:
    pg, _ = _widget()
    await pg.send("refund order 42")
    broken = '{"order_id": "42", "amount": }'
    pg.approval_args.value = broken
    pg.approve_button.click()
    await pg.wait()
    assert "not valid JSON" in pg.notice.value
    assert pg.approval_args.value == broken and pg.session.pending is not None
    assert pg.approval_area.layout.display is None


async def test_a_setting_change_keeps_edited_arguments_and_a_typed_message() -> None:
    pg, _ = _widget()
    await pg.send("refund order 42")
    edited = '{"order_id": "42", "amount": 20}'
    pg.approval_args.value = edited
    pg.setting_boxes["temperature"].value = "0.3"
    pg.approval_box.value = True
    assert pg.approval_args.value == edited
    pg.message_box.value = "look up order 7"
    pg.send_button.click()
    await pg.wait()
    assert pg.message_box.value == "look up order 7"  # refused while the approval waits: not erased
    assert "waits for approval" in pg.notice.value
    assert pg.approval_args.value == edited
    pg.approve_button.click()
    await pg.wait()
    assert "refunded 20" in pg.chat.value


async def test_a_decline_reason_does_not_carry_over() -> None:
    pg, _ = _widget()
    await pg.send("refund order 42")
    pg.decline_reason.value = "too much"
    pg.decline_button.click()
    await pg.wait()
    await pg.send("refund order 7")
    assert pg.session.pending is not None and pg.decline_reason.value == ""
    assert '"order_id": "7"' in pg.approval_args.value


async def test_enter_in_the_message_box_sends() -> None:
    pg, spy = _widget()
    pg.message_box.value = "look up order 42"
    pg.message_box._handle_custom_msg({"event": "submit"}, [])  # what the front end sends on Enter
    await pg.wait()
    assert "send" in spy.calls and pg.message_box.value == ""
    assert "lookup_order returned" in pg.chat.value
    assert "refund order 42" in pg.message_box.placeholder  # the support agent's own example
    pg.agent_menu.value = "weather"
    assert "weather in Paris" in pg.message_box.placeholder and "refund" not in pg.message_box.placeholder


# ----------------------------------------------------------------------------------------------------------------
# Issue 20.2: the Code panel reproduces the exchange


async def test_code_export_runs_from_the_notebooks_folder_with_tools_choice_and_settings() -> None:
    pg, _ = _widget()
    pg.setting_boxes["temperature"].value = "0.3"
    pg.tool_choice_menu.value = "refund"
    await pg.send("refund order 42")
    pg.approval_args.value = '{"order_id": "42", "amount": 20}'
    await pg.approve(pg.approval_args.value)
    assert "refunded 20" in pg.chat.value
    code = pg.session.export_code()["python"]
    assert "temperature=0.3" in code and "active_tools=['lookup_order', 'refund']" in code
    assert "'tool_name': 'refund'" in code
    env = {k: v for k, v in __import__("os").environ.items() if not k.endswith("_API_KEY")}
    env["PLAYGROUND_DEMO_DELAY"] = "0"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO / "notebooks", env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refunded 20.0" in out.stdout  # the tool ran, with the edited arguments


async def test_code_export_of_an_agent_made_in_a_notebook_names_its_tools() -> None:
    import contextlib
    import io

    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(  # a notebook's cells: tools and the agent defined in __main__
        "from playground import Agent, tool\n"
        "@tool\n"
        "def get_weather(city: str) -> dict:\n"
        "    '''The weather in a city.'''\n"
        "    return {'city': city, 'forecast': 'sunny'}\n"
        "agent = Agent(name='forecaster', model='demo', tools=[get_weather])\n",
        namespace,
    )
    pg = Playground(namespace["agent"])
    await pg.send("What's the weather in Paris?")
    assert "sunny" in pg.chat.value
    code = pg.session.export_code()["python"]
    assert "tools=[get_weather]" in code and "defined in your notebook" in code
    assert "active_tools=['get_weather']" in code
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, namespace)  # run in the notebook, after the cells that define the tools
    assert "sunny" in printed.getvalue()


# ----------------------------------------------------------------------------------------------------------------
# Issue 20.6: parity with the browser, control by control and panel by panel


BROWSER_FILES = ("gradio_app.py", "gradio_memory.py", "gradio_mcp.py", "gradio_evals.py", "gradio_prompts.py",
                 "gradio_jobs.py", "traces_tab.py")

# every labelled browser control, tab, button and panel -> the notebook widget that does the same ("a.b.0.c" paths)
NOTEBOOK_TWIN: dict[str, str] = {
    "Agent": "agent_menu", "Provider": "provider_menu", "Base URL": "base_url_box", "Model": "model_box",
    "API key": "api_key_box", "Instructions": "instructions_box", "Model settings": "setting_boxes.temperature",
    "Tools": "tools_area", "Tool choice": "tool_choice_menu", "Require approval": "approval_box",
    "Max steps": "max_steps_box", "Timeout (s)": "timeout_box",
    "Structured output (JSON Schema)": "output_schema_box", "Chat": "chat.box", "Arguments (JSON)": "approval_args",
    "Approve": "approve_button", "Reason": "decline_reason", "Decline": "decline_button", "Message": "message_box",
    "Send": "send_button", "Inspect": "inspect_button", "Stop": "stop_button", "Clear": "clear_button",
    "Save session": "save_button", "Load session": "load_upload", "Session file": "save_link",
    "Raw request": "panels.Raw request", "Raw response": "panels.Raw response", "Reasoning": "panels.Reasoning",
    "Sources": "panels.Sources", "Usage": "panels.Usage", "Steps": "panels.Steps", "Code": "panels.Code",
    "Python": "panels.Code", "curl": "panels.Code", "Compare": "compare_ui.page",
    "Compare message": "compare_ui.message", "Columns": "compare_ui.count",
    "Provider N": "compare_ui.fields.3.provider", "Model N": "compare_ui.fields.3.model",
    "Base URL N": "compare_ui.fields.3.base_url", "Temperature N": "compare_ui.fields.3.temperature",
    "Max output tokens N": "compare_ui.fields.3.max_output_tokens",
    # elements the browser names by id: the status line (real-provider warning) and the tool descriptions
    "#pg-status": "header", "#pg-tool-schemas": "tool_info", "#pg-notice": "notice",
    # threads and memory (widgets_memory.py), traces (widgets_traces.py), MCP servers (widgets_mcp.py)
    "Threads": "memory_ui.box", "Memory": "memory_ui.panel_box", "Thread": "memory_ui.thread_menu",
    "New thread": "memory_ui.new_button", "Delete thread": "memory_ui.delete_button",
    "Rename": "memory_ui.rename_button", "Semantic recall": "memory_ui.recall_box",
    "Working memory": "memory_ui.working_box", "Traces": "traces_ui.box",
    "Spans (pick one to see its details)": "traces_ui.span_menu",
    "Span details: attributes, request, response": "traces_ui.details", "MCP": "mcp_ui.box",
    "Command or URL": "mcp_ui.target_box", "Name (optional)": "mcp_ui.name_box",
    "Tool prefix (optional)": "mcp_ui.prefix_box", "Headers (URL only, one `Name: value` a line)": "mcp_ui.headers_box",
    "Add server": "mcp_ui.add_button", "Server added here": "mcp_ui.remove_menu", "Remove": "mcp_ui.remove_button",
    # Prompt: variables, actions, versions (widgets_prompts.py)
    "Prompt": "prompts_ui.page", "Variables (one `name = value` a line)": "prompts_ui.variables",
    "Find variables": "prompts_ui.find_button", "Use these values": "prompts_ui.apply_button",
    "Action": "prompts_ui.action_menu", "Render into the message box": "prompts_ui.render_button",
    "Params (one `name = value` a line)": "prompts_ui.params", "Version": "prompts_ui.version_a",
    "Compare with": "prompts_ui.version_b", "Diff": "prompts_ui.diff_button", "Restore": "prompts_ui.restore_button",
    "Versions side by side (up to 4)": "prompts_ui.compare_pick", "Compare versions": "prompts_ui.compare_button",
    # Jobs (widgets_jobs.py); "Refresh" is the Jobs tab's (the notebook's Traces re-render with every exchange)
    "Jobs": "jobs_ui.page", "Queue": "jobs_ui.queue", "Delay (s)": "jobs_ui.delay",
    "Priority (higher first)": "jobs_ui.priority", "Send later": "jobs_ui.send_button",
    "Refresh": "jobs_ui.refresh_button",
    "Jobs (newest first; click a finished one to open its exchange)": "jobs_ui.table",
    "Job": "jobs_ui.job_view", "Message to send later": "jobs_ui.message",
    # Evaluate (widgets_evals.py)
    "Evaluate": "evals_ui.page", "Dataset (datasets/)": "evals_ui.dataset_menu",
    "or upload CSV / JSONL": "evals_ui.upload",
    "Scorers": "evals_ui.scorer_boxes.contains", "More scorers (one a line)": "evals_ui.more_scorers",
    "Configurations (provider:model, one a line, up to 4)": "evals_ui.models", "Concurrency": "evals_ui.concurrency",
    "Run evaluation": "evals_ui.run_button", "Case": "evals_ui.case_view",
    "Cases (click a cell to open its exchange)": "evals_ui.report",
}

# browser parts the notebook does not have yet, each with why: the parity test names them, and fails as soon as one
# is built in the notebook without being moved to NOTEBOOK_TWIN (or the browser drops it)
NOT_IN_NOTEBOOK_YET: dict[str, str] = {
    "Expected column": "the notebook's Evaluate tab takes the expected answers from the dataset's 'expected' field",
    "Report as": "the notebook's Evaluate tab shows the report in place (no format menu)",
    "Download report": "the notebook's Evaluate tab shows the report in place (no download)",
}


def _static_text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"Provider {i + 1}" -> "Provider N"
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "N" for v in node.values)
    return None


def browser_parts() -> set[str]:
    """Every label, tab title, button text and panel id of the browser playground's layout code."""
    parts: set[str] = set()
    for name in BROWSER_FILES:
        path = REPO / "playground" / "ui" / name
        if not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple) and len(node.elts) == 2 and isinstance(node.elts[1], ast.Name) \
                    and node.elts[1].id.startswith("build_"):
                title = _static_text(node.elts[0])  # ("Traces", build_traces_tab): a tab
                if title:
                    parts.add(title)
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "gr"):
                continue
            kind = node.func.attr
            texts = [k.value for k in node.keywords if k.arg == "label"]
            if kind in ("Tab", "Accordion", "Button", "UploadButton", "DownloadButton") and node.args:
                texts.append(node.args[0])
            parts.update(t for t in map(_static_text, texts) if t)
            for k in node.keywords:
                if k.arg == "elem_id" and _static_text(k.value) in ("pg-status", "pg-tool-schemas", "pg-notice"):
                    parts.add("#" + str(_static_text(k.value)))
    return parts


def _resolve(pg: PlaygroundWidget, path: str) -> Any:
    obj: Any = pg
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj[part]
        elif isinstance(obj, list | tuple):
            obj = obj[int(part)]
        else:
            obj = getattr(obj, part)
    return obj


def test_every_browser_control_and_panel_has_a_notebook_twin() -> None:
    import ipywidgets as w

    parts = browser_parts()
    assert {"Agent", "Send", "Compare", "Provider N", "#pg-tool-schemas"} <= parts, sorted(parts)
    unmatched = parts - set(NOTEBOOK_TWIN) - set(NOT_IN_NOTEBOOK_YET)
    assert not unmatched, f"browser controls/panels missing in the notebook playground: {sorted(unmatched)}"
    pg, _ = _widget()
    for label in sorted(parts & set(NOTEBOOK_TWIN)):
        widget = _resolve(pg, NOTEBOOK_TWIN[label])
        assert isinstance(widget, w.Widget), f"{label}: {NOTEBOOK_TWIN[label]} is not a widget"
    # a part listed as missing must really be missing from the layout, so the list cannot go stale
    texts = {getattr(x, "description", None) for x in _all_widgets(pg.root)}
    built = {label for label in NOT_IN_NOTEBOOK_YET if label in texts}
    assert not built, f"now in the notebook: move to NOTEBOOK_TWIN: {sorted(built)}"


def _all_widgets(root: Any) -> list[Any]:
    out, todo = [], [root]
    while todo:
        x = todo.pop()
        out.append(x)
        todo.extend(getattr(x, "children", ()) or ())
    return out


async def test_tool_descriptions_and_schemas_are_visible() -> None:
    pg, _ = _widget()
    assert "Refund an order (needs a person" in pg.tool_info.value
    assert "needs approval" in pg.tool_info.value and "order_id" in pg.tool_info.value
    assert 'class="pgw-jk"' in pg.tool_info.value  # the JSON schema is highlighted
    pg.agent_menu.value = "weather"
    assert "get_weather" in pg.tool_info.value and "refund" not in pg.tool_info.value


async def test_compare_columns_have_their_own_settings() -> None:
    pg, _ = _widget("research")
    pg.compare_ui.count.value = 3
    assert pg.compare_ui.boxes[2].layout.display is None and pg.compare_ui.boxes[3].layout.display == "none"
    cols = pg.compare_ui.fields
    cols[0]["max_output_tokens"].value = "5"
    cols[1]["max_output_tokens"].value = "400"
    cols[2]["temperature"].value = "0.1"
    pg.compare_ui.message.value = "What is retrieval-augmented generation?"
    pg.compare_button.click()
    await pg.wait()
    outs = [o.value for o in pg.compare_ui.outputs]
    assert "Cut short" in outs[0] and "length" in outs[0]  # 5 tokens: cut by max tokens, and says so
    assert "finish length" in outs[0] and "finish stop" in outs[1] and "Cut short" not in outs[1]
    assert outs[2] and outs[3] == ""
    requests = [c for c in pg.session.exchanges]  # the conversation is not changed
    assert requests == []


async def test_an_answer_cut_by_max_tokens_says_why() -> None:
    pg, _ = _widget("research")
    pg.setting_boxes["max_output_tokens"].value = "6"
    await pg.send("What is retrieval-augmented generation?")
    assert pg.session.exchanges[-1].result.finish_reason == "length"  # type: ignore[union-attr]
    assert "Cut short: the answer reached the maximum output tokens (6)" in pg.chat.value


def test_the_real_provider_warning_shows_for_every_real_provider() -> None:
    pg, _ = _widget()
    assert "Demo model: simulated" in pg.header.value and "messages are sent" not in pg.header.value
    pg.provider_menu.value = "openai-compatible"
    pg.base_url_box.value = "http://127.0.0.1:9/v1"
    assert "Real provider: messages are sent to" in pg.header.value and "127.0.0.1:9" in pg.header.value


# ----------------------------------------------------------------------------------------------------------------
# Issue 20.4 and 20.7: tidy output, and the smaller things


async def test_an_opened_reasoning_block_stays_open_while_text_streams_and_after(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import ipywidgets as w

    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.01")
    pg, _ = _widget("research")
    task = asyncio.ensure_future(pg.send("What is retrieval-augmented generation? Cite sources."))
    block = None
    for _ in range(500):
        await asyncio.sleep(0.01)
        blocks = [c for c in pg.chat.items.children if isinstance(c, w.Accordion) and "pgw-reasoning" in c._dom_classes]
        if blocks:
            block = blocks[0]
            break
    assert block is not None and block.selected_index is None  # reasoning starts closed
    block.selected_index = 0  # the person opens it (what a click in the page sends)
    await task
    assert pg.session.exchanges[-1].status == "done"
    assert block in pg.chat.items.children and block.selected_index == 0  # same widget, still open
    assert block.titles[0] == "Reasoning"  # its title followed the stream ("thinking…" gone)
    await pg.send("And with sources again?")
    pg.refresh()
    assert block in pg.chat.items.children and block.selected_index == 0


def test_the_chat_follows_new_messages_and_panels_scroll() -> None:
    pg, _ = _widget()
    asyncio.run(pg.send("look up order 42"))
    assert pg.chat.box.layout.flex_flow == "column-reverse"  # a column-reverse scroll box stays at the newest
    assert pg.chat.box.layout.overflow == "auto" and pg.chat.box.layout.height == "360px"
    assert 'class="pgw-json"' in pg.panels["Raw response"].value and 'class="pgw-jk"' in pg.panels["Raw request"].value
    assert ".pgw-panel pre{max-height:420px;overflow:auto}" in pg.root.children[0].value


def test_save_writes_a_file_next_to_the_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    pg, _ = _widget()
    asyncio.run(pg.send("look up order 42"))
    data = pg.save()
    (saved,) = tmp_path.glob("playground-session-*.json")
    assert saved.read_text() == data and saved.name in pg.save_link.value
    assert "base64" not in pg.save_link.value and len(pg.save_link.value) < 500


def test_max_steps_0_is_refused_not_clamped() -> None:
    pg, _ = _widget()
    pg.max_steps_box.value = "0"
    assert "Max steps: 0 is out of range" in pg.notice.value
    assert pg.session.max_steps == 5 and pg.max_steps_box.value == "0"  # kept, to be fixed
    pg.max_steps_box.value = "7"
    assert pg.session.max_steps == 7 and pg.notice.value == ""


async def test_a_double_click_on_send_leaves_no_stale_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0.01")
    pg, spy = _widget()
    pg.message_box.value = "look up order 42"
    pg.send_button.click()
    pg.send_button.click()
    await pg.wait()
    assert spy.calls.count("send") == 1 and pg.notice.value == ""
    assert "still streaming" not in pg.notice.value


def test_load_session_button_has_no_count_and_tab_titles_are_not_cut() -> None:
    pg, _ = _widget()
    css = pg.root.children[0].value
    uploads = [x for x in _all_widgets(pg.root) if isinstance(x, __import__("ipywidgets").FileUpload)]
    assert pg.load_upload in uploads and len(uploads) >= 2  # every upload button (Attach, datasets ...) too
    for upload in uploads:
        assert upload.description == "" and upload.tooltip and "pgw-upload" in upload._dom_classes
    assert pg.load_upload.tooltip == "Load session"
    assert ".pgw .pgw-upload::after{content:attr(title)" in css
    assert ".pgw .lm-TabBar-tab{flex:0 0 auto !important" in css


async def test_a_slow_server_shows_how_long_the_request_waits() -> None:
    """Parity with the browser: while a request waits for its first byte, the chat says for how long, the attempt
    and the timeout (PlaygroundSession.waiting_text), repainted while nothing arrives."""
    import httpx2

    from playground import Agent
    from tests.scripted import completion, stream_of

    async def slow(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(1.6)
        return httpx2.Response(200, content=stream_of(completion("Finally.")),
                               headers={"content-type": "text/event-stream"})

    agent = Agent(name="slow", model="openai-compatible:m", base_url="http://127.0.0.1:9/v1",
                  async_http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(slow)))
    pg = Playground(agent)
    seen: list[str] = []
    pg.chat.observe(lambda change: seen.append(change["new"]), names="value")
    await pg.send("hello")
    assert "Finally." in pg.chat.value
    waiting = [v for v in seen if "Waiting for the server" in v]
    assert waiting and "timeout 60 s" in waiting[-1], seen[-3:]
    assert "Waiting for the server" not in pg.chat.value  # gone once the answer came


def test_a_password_in_the_base_url_is_not_kept_in_widget_state() -> None:
    pg, _ = _widget()
    pg.provider_menu.value = "openai-compatible"
    pg.base_url_box.value = "http://bob:s3cret-pass-123@127.0.0.1:9/v1"
    assert pg.session.base_url == "http://bob:s3cret-pass-123@127.0.0.1:9/v1"  # the session keeps it to connect
    assert pg.base_url_box.value == "http://bob:****@127.0.0.1:9/v1"
    assert "s3cret-pass-123" not in json.dumps(pg.root.get_manager_state(), default=str)
    pg.instructions_box.value = "Be brief."  # another change re-syncs the controls: the URL stays as it was
    assert pg.session.base_url == "http://bob:s3cret-pass-123@127.0.0.1:9/v1"


async def test_playground_of_an_agent_made_with_a_provider_instance() -> None:
    """20.1: an agent whose model is a provider object keeps that object's base URL and key."""
    from playground import Agent
    from playground.providers.registry import resolve_provider
    from tests.scripted import Scripted, completion

    server = Scripted(completion("From the instance."))
    provider = resolve_provider("openai-compatible:m", base_url="http://127.0.0.1:7/v1", api_key=AGENT_KEY)
    pg = Playground(Agent(name="inst", model=provider, async_http_client=server.async_client()))
    assert pg.session.base_url == "http://127.0.0.1:7/v1" and pg.notice.value == ""
    await pg.send("hi")
    assert str(server.requests[0].url) == "http://127.0.0.1:7/v1/chat/completions"
    assert server.requests[0].headers["authorization"] == f"Bearer {AGENT_KEY}"
    assert "From the instance." in pg.chat.value and AGENT_KEY not in pg.chat.value
