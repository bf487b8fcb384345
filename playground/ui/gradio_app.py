"""The browser playground: a Gradio Blocks layout wired to `PlaygroundSession` (all state and actions live there; this
module only lays out components and forwards events). One PlaygroundSession per browser session (a `gr.State`), so two
people on one server never see each other's key, conversation or settings.

    playground ui [--agents DIR] [--host 127.0.0.1] [--port 7860] [--auth USER:PASS]

Offline by construction: analytics and Hugging Face telemetry are switched off before Gradio is imported, server-side
rendering is off, fonts are the system's, and the server binds to 127.0.0.1 unless told otherwise.

Adding a tab to the main area takes a few lines: write `def build(ui: Ui) -> None` that creates its components (inside
the tab Gradio has opened) and wires their events to `ui.session` (the gr.State holding the PlaygroundSession), then
`register_tab("Title", build)` before `build_app()` runs (or pass `tabs=[("Title", build)]` to build_app).
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import gradio_import  # noqa: F401  # before Gradio: it imports Gradio without the work we never use

# isort: split
import gradio as gr
import gradio.themes as gr_themes

from ..events import ErrorEvent, FinishEvent, ReasoningDeltaEvent, StepStartEvent, StreamEvent, TextDeltaEvent
from ..pricing import format_cost
from ..providers.registry import PROVIDERS
from ..serving import auth_from_env, exposure_warning, safe_launch_options, warn_if_exposed
from .gradio_composer import ComposerExtras
from .gradio_evals import build_evaluate_tab
from .gradio_mcp import build_mcp_tab
from .gradio_memory import ThreadsUI
from .gradio_prompts import build_prompt_tab
from .mcp_tools import commands_allowed_for_host
from .render import SETTING_LABELS, chat_messages, exchange_panels, pretty_json
from .session import (
    COMPATIBLE,
    SETTING_FIELDS,
    CompareColumn,
    PlaygroundSession,
    load_agents,
)
from .shared_runs import PENDING_CHECK_SECONDS
from .traces_tab import TRACES_CSS, build_traces_tab

ASSETS = Path(__file__).resolve().parents[2] / "assets"
DEFAULT_AGENTS = Path.cwd() / "agents"
SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
                "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace"]
SETTING_INFO: dict[str, str] = {
    "temperature": "0 to 2", "max_output_tokens": "> 0", "top_p": "0 to 1", "top_k": "> 0",
    "presence_penalty": "-2 to 2", "frequency_penalty": "-2 to 2", "stop_sequences": "one per line",
    "seed": "whole number", "max_retries": "0 to 20",
}
CHAT_STREAM_INTERVAL = 0.05  # seconds between chat repaints while streaming
WAIT_REPAINT_SECONDS = 1.0  # while a request waits for the server, the waiting line is repainted this often
COMPARE_COLUMNS = 4
USES_BASE_URL = (COMPATIBLE, "ollama")
BROWSER_STORAGE_KEY = "agent-playground-last-session"
CONCURRENCY_ENV = "GRADIO_DEFAULT_CONCURRENCY_LIMIT"
# After a turn: bring the approval card into view when one waits, else a problem notice when there is one
# (the person is looking at the message box; a notice at the top of the page would be out of view).
SCROLL_TO_ATTENTION_JS = """() => {
  const visible = (el) => el && el.offsetParent !== null && el.getBoundingClientRect().height > 0;
  const card = document.querySelector('#pg-approval');
  const notice = document.querySelector('#pg-notice');
  const target = visible(card) ? card : (visible(notice) ? notice : null);
  if (target) {
    const r = target.getBoundingClientRect();
    if (r.top < 0 || r.bottom > window.innerHeight) target.scrollIntoView({block: 'center'});
  }
}"""


def theme() -> gr_themes.Base:
    return gr_themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS, primary_hue="indigo")


def css() -> str:
    path = ASSETS / "playground.css"
    return (path.read_text(encoding="utf-8") if path.is_file() else "") + TRACES_CSS


# ----------------------------------------------------------------------------------------------------------------
# Extra tabs (Memory / Threads, Traces ...): registered, then built in the main tab strip


@dataclass
class Ui:
    """What a tab's builder may use: the per-browser session state, and the Chat tab's components it may update."""

    session: Any  # gr.State holding the PlaygroundSession
    components: dict[str, Any] = field(default_factory=dict)
    # called with each event that ends a turn (send, approve, decline; Stop ends the send) or changes the exchange
    # shown (selecting one, Clear): a tab chains its refresh there, not on the chat's every repaint while streaming
    turn_hooks: list[Callable[[Any], None]] = field(default_factory=list)

    def after_turn(self, event: Any) -> Any:
        """Chain every tab's refresh after `event` (each its own step, run once the event's answer has landed)."""
        for hook in self.turn_hooks:
            hook(event)
        return event


TabBuilder = Callable[[Ui], None]
EXTRA_TABS: list[tuple[str, TabBuilder]] = []


def register_tab(title: str, build: TabBuilder) -> None:
    """Add a tab after Chat and Compare; `build(ui)` lays out its components and wires their events."""
    EXTRA_TABS.append((title, build))


# ----------------------------------------------------------------------------------------------------------------
# View helpers (session -> component updates)


def provider_menu() -> list[tuple[str, str]]:
    """Every provider (label, prefix): the API key field serves the ones whose key the server does not have."""
    return [(e.label, e.prefix) for e in PROVIDERS.values()]


def _notice(text: str | None) -> Any:
    return gr.Markdown(f"**Problem:** {text}" if text else "", visible=bool(text))


def _status(s: PlaygroundSession) -> str:
    if s.simulated:
        where = "the **demo model** — simulated, offline: no request leaves this machine"
    else:
        entry = PROVIDERS.get(s.provider)
        label = entry.label if entry else s.provider
        where = f"**{label}** `{s.model_string}` — a real provider: messages are sent to it"
        if s.provider in USES_BASE_URL and s.base_url:
            where += f" at `{s.mask(s.base_url)}`"
    return f"Agent **{s.agent_name}** on {where}."


def _tools_markdown(s: PlaygroundSession) -> str:
    tools = s.tool_schemas()
    if not tools:
        return "*This agent has no tools.*"
    parts = []
    for t in tools:
        flag = " · needs approval" if t["requires_approval"] else ""
        if str(t.get("origin", "")).startswith("mcp:"):
            flag = f" · MCP {t['origin'][4:]}{flag}"
        schema = json.dumps(t["parameters"], indent=2)
        parts.append(f"<details><summary><code>{t['name']}</code>{flag}: {t['description']}</summary>\n\n"
                     f"```json\n{schema}\n```\n</details>")
    return "\n".join(parts)


def _tool_choice_choices(s: PlaygroundSession) -> list[str]:
    return ["auto", "none", "required", *s.active_tools]


def _setting_value(s: PlaygroundSession, name: str) -> str:
    value = getattr(s.settings, name)
    if name == "stop_sequences":
        return "\n".join(value or [])
    return "" if value is None else str(value)


def _model_update(s: PlaygroundSession, *, list_models: bool = True) -> Any:
    """The Model field: the provider's list (asked only once it can be: base URL and key given), and a hint."""
    models = s.list_models() if list_models else []
    if s.model and s.model not in models:
        models = [s.model, *models]
    why = s.cannot_list_models()
    info = f"{why}; or type a model name" if why else "listed by the provider; or type a name"
    return gr.Dropdown(choices=models, value=s.model or None, info=info)


def _base_url_update(s: PlaygroundSession) -> Any:
    label = "Ollama host" if s.provider == "ollama" else "Base URL"
    placeholder = "http://127.0.0.1:11434" if s.provider == "ollama" else "http://127.0.0.1:8000/v1"
    return gr.Textbox(value=s.base_url or "", visible=s.provider in USES_BASE_URL, label=label,
                      placeholder=placeholder)


def _key_update(s: PlaygroundSession) -> Any:
    """The API key field: emptied when the typed key was cleared (it belongs to another provider or host), and a
    hint saying where the next request's key comes from. Its value is never sent to the page otherwise."""
    cleared = s.key_notice is not None
    if cleared:
        s.notice = "; ".join(x for x in (s.notice, s.key_notice) if x)
        s.key_notice = None
        return gr.Textbox(value="", placeholder=s.key_hint())
    return gr.Textbox(placeholder=s.key_hint())


def config_updates(s: PlaygroundSession, *, list_models: bool = True) -> list[Any]:
    """Updates for every settings component, in CONFIG order (the API key only ever emptied, never filled)."""
    updates: list[Any] = [
        gr.Dropdown(value=s.agent_name),
        gr.Dropdown(value=s.provider),
        _base_url_update(s),
        _model_update(s, list_models=list_models),
        _key_update(s),
        gr.Textbox(value=s.instructions),
        *[gr.update(value=_setting_value(s, n)) for n in SETTING_FIELDS],
        gr.CheckboxGroup(choices=list(s.all_tools()), value=list(s.active_tools)),
        gr.Dropdown(choices=_tool_choice_choices(s), value=s.tool_choice),
        gr.Checkbox(value=s.require_approval),
        gr.Textbox(value=str(s.max_steps)),
        gr.Textbox(value=f"{s.timeout:g}" if s.timeout else ""),
        gr.Textbox(value=s.output_schema_text()),
        _tools_markdown(s),
        _status(s),
        _notice(s.notice),
    ]
    return updates


def _approval_updates(s: PlaygroundSession) -> list[Any]:
    p = s.pending
    if p is None:
        return [gr.Group(visible=False), "", gr.Textbox(value=""), gr.Textbox(value="")]
    desc = p.schema.get("description", "")
    origin = str(p.schema.get("origin", ""))
    if origin.startswith("mcp:"):  # a tool served by an MCP server: say which, and what its server hints
        hints = p.schema.get("annotations") or {}
        kind = "read-only" if hints.get("readOnlyHint") else "destructive" if hints.get("destructiveHint", True) else ""
        desc = f"From MCP server **{origin[4:]}**{f' ({kind})' if kind else ''}. {desc}"
    title = (f"### Approval needed: `{p.tool_name}`\n{desc}\n\nThe model wants to run **{p.tool_name}** with the "
             "arguments below. Edit them if needed (JSON), then **Approve**, or **Decline** with a reason.")
    return [gr.Group(visible=True), title, gr.Textbox(value=json.dumps(p.args, indent=2)), gr.Textbox(value="")]


def _panel_updates(s: PlaygroundSession, inspect: dict[str, Any] | None = None) -> list[Any]:
    ex = s.selected_exchange()
    p = exchange_panels(ex, inspect)
    code = s.export_code(ex) if ex is not None else {"python": "", "curl": ""}
    usage = f"{p.usage}\n\n**Cost of the session**\n\n{s.cost_markdown()}"  # per step, exchange, session
    return [p.inspect, p.raw_request, p.raw_response, p.reasoning, p.sources, usage, p.usage_chart, p.steps,
            code["python"], code["curl"]]


def _chat(s: PlaygroundSession) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [dict(m) for m in chat_messages(s.exchanges)[0]]
    waiting = s.waiting_text()
    if waiting:  # a request waits for the server: say so, with the attempt and the timeout
        line: dict[str, Any] = {"role": "assistant", "content": f"*{waiting}*"}
        if messages and messages[-1].get("content") == "…":
            messages[-1] = line
        else:
            messages.append(line)
    return messages


def _session_file(s: PlaygroundSession, saved: str | None = None) -> str:
    """The session saved to this browser session's own temp file (for the one-click Save download)."""
    folder = Path(tempfile.gettempdir()) / "playground-sessions" / f"{id(s):x}"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "playground-session.json"
    path.write_text(saved if saved is not None else s.save(), encoding="utf-8")
    path.chmod(0o600)
    return str(path)


N_TURN = 1 + 1 + 4 + 10 + 2 + 1  # chat, notice, approval card (4), panels (10), save download, browser copy, check


def _all_updates(s: PlaygroundSession, inspect: dict[str, Any] | None = None) -> list[Any]:
    """chat, notice, approval card (4), panels (10), the Save download, this browser's copy of the session, and the
    card's live check (a timer that ticks only while a card shows)."""
    saved = s.save()
    return [_chat(s), _notice(s.notice), *_approval_updates(s), *_panel_updates(s, inspect),
            gr.DownloadButton(value=_session_file(s, saved)), saved, gr.Timer(active=s.watching)]


def _configure(s: PlaygroundSession, values: Sequence[Any]) -> list[str]:
    """Apply the settings column's values (CONFIG_INPUT order) to the session; returns the problems."""
    (agent, provider, base_url, model, api_key, instructions, *rest) = values
    settings_values = rest[: len(SETTING_FIELDS)]
    tools, tool_choice, require_approval, max_steps, timeout, schema = rest[len(SETTING_FIELDS):]
    problems = s.configure(agent=agent, provider=provider)
    problems += s.configure(
        base_url=base_url or "", api_key=api_key or "", model=model or "", instructions=instructions or "",
        settings=dict(zip(SETTING_FIELDS, settings_values, strict=True)), active_tools=list(tools or []),
        tool_choice=tool_choice or "auto", require_approval=bool(require_approval),
        max_steps=max_steps if max_steps not in (None, "") else "", timeout=timeout or "",
    )
    problems += s.configure_output_schema(schema or "")
    return problems


# ----------------------------------------------------------------------------------------------------------------
# Event handlers (thin: each forwards to the session and renders)


async def _stream(s: PlaygroundSession, events: AsyncIterator[StreamEvent]) -> AsyncIterator[list[Any]]:
    """While streaming, repaint the chat; at the end, everything. A step's first text (or reasoning) is shown at
    once; after it, repaints come at most every CHAT_STREAM_INTERVAL, and a delta that came sooner is shown when that
    interval ends even if nothing follows it (a model that pauses after a word does not leave it unseen). While a
    request waits for the server, the waiting line is repainted every WAIT_REPAINT_SECONDS."""
    skip_rest = [gr.skip()] * (N_TURN - 1)
    last = 0.0
    unseen = False  # an event came since the last repaint and is not shown yet
    first_delta = True  # the next text or reasoning delta is the step's first
    it = events.__aiter__()
    while True:
        nxt = asyncio.ensure_future(it.__anext__())
        while not nxt.done():
            wait = max(0.0, last + CHAT_STREAM_INTERVAL - time.monotonic()) if unseen else WAIT_REPAINT_SECONDS
            await asyncio.wait({nxt}, timeout=wait)
            if nxt.done():
                break
            if unseen or s.waiting_text():
                last, unseen = time.monotonic(), False
                yield [_chat(s), *skip_rest]
        try:
            ev = nxt.result()
        except StopAsyncIteration:
            break
        now = time.monotonic()
        first = first_delta and isinstance(ev, TextDeltaEvent | ReasoningDeltaEvent)
        if isinstance(ev, StepStartEvent):
            first_delta = True
        elif first:
            first_delta = False
        if first or isinstance(ev, FinishEvent | ErrorEvent | StepStartEvent) or now - last >= CHAT_STREAM_INTERVAL:
            last, unseen = now, False
            yield [_chat(s), *skip_rest]
        else:
            unseen = True
    yield _all_updates(s)


def _setting_box(proto: PlaygroundSession, name: str) -> Any:
    label = SETTING_LABELS.get(name, name)
    # text fields, not gr.Number: an empty field must stay "unset" (a Number sends 0)
    return gr.Textbox(_setting_value(proto, name), label=label, lines=2 if name == "stop_sequences" else 1,
                      placeholder=f"unset ({SETTING_INFO[name]})", max_lines=6 if name == "stop_sequences" else 1)


@contextmanager
def _unlimited_concurrency() -> Iterator[None]:
    """Events without a concurrency_limit of their own run at once (two people's replies stream side by side).
    `gr.Blocks()` makes its queue reading GRADIO_DEFAULT_CONCURRENCY_LIMIT, set to None only meanwhile: calling
    `demo.queue(default_concurrency_limit=None)` afterwards would make Gradio build its whole web app once more
    (~0.15 s of the start)."""
    before = os.environ.get(CONCURRENCY_ENV)
    os.environ[CONCURRENCY_ENV] = "None"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CONCURRENCY_ENV, None)
        else:
            os.environ[CONCURRENCY_ENV] = before


def build_app(agents_dir: str | Path | None = None, tabs: Sequence[tuple[str, TabBuilder]] = (),
              *, mcp_commands: bool = True) -> gr.Blocks:
    """The playground's Blocks. `agents_dir` (default ./agents) holds example agents, one `agent` per file; `tabs`
    (and `register_tab`) add tabs to the main area."""
    folder = Path(agents_dir) if agents_dir is not None else DEFAULT_AGENTS
    agents, load_problems = load_agents(folder if folder.is_dir() else None)
    if agents_dir is not None and not folder.is_dir():
        load_problems.append(f"agents folder {str(folder)!r} does not exist")

    def new_session() -> PlaygroundSession:
        s = PlaygroundSession((agents, load_problems), memory=True)  # threads persist (gradio_memory.py)
        s.mcp_commands_allowed = s.mcp_commands_allowed and mcp_commands  # beyond loopback: no commands (mcp_tools)
        return s

    proto = new_session()
    providers = provider_menu()

    with _unlimited_concurrency():  # the queue Blocks() makes is the one served: no demo.queue() after
        demo = gr.Blocks(title="Agent Playground", analytics_enabled=False)
    with demo:
        session = gr.State(new_session)  # one PlaygroundSession per browser session
        # made by Gradio on the session's first event (SessionState calls the factory), and by nothing else: Gradio
        # would also add a load event outputting a second new session, racing the page's own load events (the
        # thread in the URL, the restored session), and landing after them it replaced the session they had filled
        session.load_event_to_attach = None
        browser_copy = gr.BrowserState(None, storage_key=BROWSER_STORAGE_KEY)  # survives a reload (no key in it)
        with gr.Row(elem_id="pg-header"):
            gr.Markdown("# Agent Playground", elem_id="pg-title")
            status = gr.Markdown(_status(proto), elem_id="pg-status")
        if proto.load_errors:
            gr.Markdown("**Some agents could not be loaded:** " + "; ".join(proto.load_errors),
                        elem_id="pg-load-errors")
        with gr.Row(equal_height=False):
            # -- settings column ----------------------------------------------------------------------------------
            with gr.Column(scale=1, min_width=300, elem_id="pg-settings"):
                agent = gr.Dropdown(list(proto.agents), value=proto.agent_name, label="Agent",
                                    info="from the agents folder, or a blank agent")
                provider = gr.Dropdown(providers, value=proto.provider, label="Provider")
                base_url = gr.Textbox(proto.base_url or "", label="Base URL", visible=proto.provider in USES_BASE_URL,
                                      placeholder="http://127.0.0.1:8000/v1", elem_id="pg-base-url")
                model = gr.Dropdown([proto.model] if proto.model else [], value=proto.model, label="Model",
                                    allow_custom_value=True, info="listed by the provider; or type a name")
                # the hint (where the key comes from) is the placeholder: an info line would change the field's name
                api_key = gr.Textbox("", label="API key", type="password", placeholder=proto.key_hint(),
                                     elem_id="pg-api-key")
                instructions = gr.Textbox(proto.instructions, label="Instructions", lines=3, max_lines=12)
                with gr.Accordion("Model settings", open=False, elem_id="pg-model-settings"):
                    gr.Markdown("Leave a field empty to leave it unset: unset settings are not sent.")
                    setting_inputs = [_setting_box(proto, name) for name in SETTING_FIELDS]
                tools = gr.CheckboxGroup(list(proto.all_tools()), value=proto.active_tools, label="Tools",
                                         info="checked tools are offered to the model")
                tool_schemas = gr.Markdown(_tools_markdown(proto), elem_id="pg-tool-schemas")
                tool_choice = gr.Dropdown(_tool_choice_choices(proto), value=proto.tool_choice, label="Tool choice")
                require_approval = gr.Checkbox(proto.require_approval, label="Require approval",
                                               info="every tool call waits for Approve / Decline")
                # text, not gr.Number: a Number rounds 1.5 to 2 before the session can say it is not whole
                max_steps = gr.Textbox(str(proto.max_steps), label="Max steps", placeholder="1 to 50")
                timeout = gr.Textbox(f"{proto.timeout:g}" if proto.timeout else "", label="Timeout (s)",
                                     placeholder="60: how long one attempt may wait for the server")
                output_schema = gr.Textbox(proto.output_schema_text(), label="Structured output (JSON Schema)",
                                           lines=3, max_lines=14, elem_id="pg-output-schema",
                                           placeholder='{"type": "object", "properties": {"name": {"type": '
                                                       '"string"}}, "required": ["name"]}',
                                           info="the answer is parsed into this; empty: plain text")
            # -- chat and panels ----------------------------------------------------------------------------------
            with gr.Column(scale=3, elem_id="pg-main"), gr.Tabs(elem_id="pg-main-tabs"):
                with gr.Tab("Chat", id="chat"):
                    threads_ui = ThreadsUI(proto)  # threads and memory (gradio_memory.py)
                    composer = ComposerExtras()  # Attach and Export report (gradio_composer.py)
                    session_note = gr.Markdown("", visible=False, elem_id="pg-session-note")  # after a reload
                    chatbot = gr.Chatbot([], label="Chat", height=460, elem_id="pg-chat", buttons=["copy", "copy_all"],
                                         sanitize_html=True, allow_tags=False,
                                         placeholder="Send a message to the agent. Try the support agent with "
                                                     "“refund order 42”.")
                    with gr.Group(visible=False, elem_id="pg-approval") as approval:
                        approval_title = gr.Markdown("")
                        approval_args = gr.Textbox("", label="Arguments (JSON)", lines=4, max_lines=14,
                                                   elem_id="pg-approval-args")
                        with gr.Row():
                            approve_btn = gr.Button("Approve", variant="primary", scale=1)
                            reason = gr.Textbox("", label="Reason", placeholder="why it is declined (optional)",
                                                scale=3, elem_id="pg-decline-reason")
                            decline_btn = gr.Button("Decline", variant="stop", scale=1)
                    # while the card shows: a decision made elsewhere (playground approve) turns it into the outcome
                    pending_check = gr.Timer(PENDING_CHECK_SECONDS, active=False)
                    notice = gr.Markdown("", visible=False, elem_id="pg-notice")  # where the person is looking
                    # lines=1 (growing to 8): Enter sends, Shift+Enter adds a line, as the hint says
                    message = gr.Textbox("", label="Message", lines=1, max_lines=8, elem_id="pg-message",
                                         placeholder="Type a message; Enter sends, Shift+Enter for a new line")
                    composer.list()
                    with gr.Row():
                        send_btn = gr.Button("Send", variant="primary")
                        inspect_btn = gr.Button("Inspect")
                        stop_btn = gr.Button("Stop", variant="stop")
                        clear_btn = gr.Button("Clear")
                        save_btn = gr.DownloadButton("Save session", size="sm", elem_id="pg-save")
                        load_btn = gr.UploadButton("Load session", file_types=[".json"], size="sm",
                                                   elem_id="pg-load")
                        composer.buttons()
                    with gr.Tabs(elem_id="pg-panels") as panel_tabs:
                        with gr.Tab("Inspect", id="inspect"):
                            gr.Markdown("The exact request **before** it is sent (key masked).")
                            p_inspect = gr.Code("", language="json", label="Inspect", interactive=False)
                        with gr.Tab("Raw request", id="raw-request"):
                            p_raw_request = gr.Code("{}", language="json", label="Raw request",
                                                    interactive=False)
                        with gr.Tab("Raw response", id="raw-response"):
                            p_raw_response = gr.Code("{}", language="json", label="Raw response",
                                                     interactive=False)
                        with gr.Tab("Reasoning", id="reasoning"):
                            p_reasoning = gr.Markdown("*Send a message to see the model's reasoning.*")
                        with gr.Tab("Sources", id="sources"):
                            p_sources = gr.Markdown("*No sources yet.*", elem_id="pg-sources")
                        with gr.Tab("Usage", id="usage"):
                            p_usage_chart = gr.HTML("", elem_id="pg-usage-chart")
                            p_usage = gr.Markdown("*No usage yet.*")
                        with gr.Tab("Steps", id="steps"):
                            p_steps = gr.HTML("", elem_id="pg-steps")
                        threads_ui.memory_tab()
                        with gr.Tab("Code", id="code"):
                            p_python = gr.Code("", language="python", label="Python", interactive=False)
                            p_curl = gr.Code("", language="shell", label="curl", interactive=False)
                    session_file = gr.File(label="Session file", visible=False, interactive=False)
                with gr.Tab("Compare", id="compare"):
                    gr.Markdown("Send the same message to 2–4 models or settings side by side. The agent, "
                                "instructions, tools and conversation of the Chat tab are used; the "
                                "conversation is not changed. Each column streams, as Chat does, so latencies "
                                "compare with Chat's.")
                    compare_message = gr.Textbox("", label="Compare message", lines=2, elem_id="pg-compare-message")
                    n_columns = gr.Radio([2, 3, 4], value=2, label="Columns")
                    col_boxes: list[Any] = []
                    col_inputs: list[Any] = []
                    col_outputs: list[Any] = []
                    with gr.Row():
                        for i in range(COMPARE_COLUMNS):
                            with gr.Column(visible=i < 2, min_width=220, elem_classes=["pg-compare-col"]) as box:
                                gr.Markdown(f"**Column {i + 1}**")
                                c_provider = gr.Dropdown(providers, value="demo", label=f"Provider {i + 1}")
                                c_model = gr.Textbox("", label=f"Model {i + 1}", placeholder="default model")
                                c_base = gr.Textbox("", label=f"Base URL {i + 1}",
                                                    placeholder="for OpenAI-compatible")
                                c_temp = gr.Textbox("" if i == 0 else "1.0", label=f"Temperature {i + 1}",
                                                    placeholder="as in Chat")
                                c_max = gr.Textbox("", label=f"Max output tokens {i + 1}",
                                                   placeholder="as in Chat")
                                c_out = gr.Markdown("", elem_classes=["pg-compare-answer"],
                                                    elem_id=f"pg-compare-answer-{i + 1}")
                            col_boxes.append(box)
                            col_inputs += [c_provider, c_model, c_base, c_temp, c_max]
                            col_outputs.append(c_out)
                    compare_btn = gr.Button("Compare", variant="primary")
                ui = Ui(session, {"chatbot": chatbot, "notice": notice, "status": status, "message": message,
                                  "tools": tools, "tool_schemas": tool_schemas, "tool_choice": tool_choice})
                from .gradio_jobs import build_jobs_tab

                builtin_tabs = [("Traces", build_traces_tab), ("MCP", build_mcp_tab), ("Evaluate", build_evaluate_tab),
                                ("Prompt", build_prompt_tab), ("Jobs", build_jobs_tab)]
                for title, build in [*builtin_tabs, *EXTRA_TABS, *tabs]:
                    with gr.Tab(title) as tab:
                        ui.components["tab"] = tab
                        build(ui)

        config_inputs = [agent, provider, base_url, model, api_key, instructions, *setting_inputs, tools,
                         tool_choice, require_approval, max_steps, timeout, output_schema]
        memory_inputs = [threads_ui.recall, threads_ui.working]  # sent with each send: what the page shows is used
        config_outputs = [agent, provider, base_url, model, api_key, instructions, *setting_inputs, tools,
                          tool_choice, require_approval, max_steps, timeout, output_schema, tool_schemas, status,
                          notice]
        approval_outputs = [approval, approval_title, approval_args, reason]
        panel_outputs = [p_inspect, p_raw_request, p_raw_response, p_reasoning, p_sources, p_usage, p_usage_chart,
                         p_steps, p_python, p_curl]
        turn_outputs = [chatbot, notice, *approval_outputs, *panel_outputs, save_btn, browser_copy, pending_check]
        assert len(turn_outputs) == N_TURN

        # -- settings ---------------------------------------------------------------------------------------------
        # A dropdown may report one choice twice: the second report changes nothing and keeps the notice the
        # first one raised (e.g. "the key typed for ... was cleared").
        def on_agent(s: PlaygroundSession, name: str) -> list[Any]:
            if name == s.agent_name:
                return [*[gr.skip()] * (len(config_outputs) - 1), _notice(s.notice)]
            s.notice = None  # choosing an agent may say why its own model cannot be used as it is
            problems = s.configure(agent=name)
            if problems:
                s.notice = "; ".join(problems)
            return config_updates(s)

        def on_provider(s: PlaygroundSession, prefix: str, url: str) -> list[Any]:
            # the key field is not read here: a key typed for the provider being left never follows the switch
            if prefix == s.provider:
                return [*[gr.skip()] * (len(config_outputs) - 1), _notice(s.notice)]
            s.notice = None
            problems = s.configure(provider=prefix)
            if s.provider in USES_BASE_URL and url and not s.base_url:
                problems += s.configure(base_url=url)
            if problems:
                s.notice = "; ".join(problems)
            return config_updates(s)

        def on_base_url(s: PlaygroundSession, url: str) -> list[Any]:
            s.notice = None
            problems = s.configure(base_url=url or "")
            if problems:
                s.notice = "; ".join(problems)
                return [gr.skip(), _key_update(s), _status(s), _notice(s.notice)]
            key = _key_update(s)
            return [_model_update(s), key, _status(s), _notice(s.notice)]

        def on_key(s: PlaygroundSession, key: str, prefix: str, url: str) -> list[Any]:
            """A key typed (or emptied): the model list can be asked for now, with it. The key belongs to the
            provider and host shown when it was typed; if they changed meanwhile, it is not used."""
            s.notice = None
            s.set_api_key_for(key, prefix, url)
            return [_model_update(s), gr.Textbox(placeholder=s.key_hint()), _status(s), _notice(s.notice)]

        def on_config(s: PlaygroundSession, *values: Any) -> list[Any]:
            problems = _configure(s, values)
            s.notice = "; ".join(problems) or None
            for problem in problems:  # the person is in the settings column: a toast shows in view there too
                gr.Warning(problem, duration=8)
            return [gr.Dropdown(choices=_tool_choice_choices(s), value=s.tool_choice), _status(s), _notice(s.notice)]

        agent.input(on_agent, [session, agent], config_outputs, api_name="select_agent")
        provider.input(on_provider, [session, provider, base_url], config_outputs, api_name="select_provider")
        base_url.blur(on_base_url, [session, base_url], [model, api_key, status, notice], api_name="set_base_url")
        base_url.submit(on_base_url, [session, base_url], [model, api_key, status, notice],
                        api_visibility="private")
        api_key.blur(on_key, [session, api_key, provider, base_url], [model, api_key, status, notice],
                     api_visibility="private",
                     show_progress="hidden")
        for comp in [model, instructions, *setting_inputs, tools, tool_choice, require_approval]:
            comp.input(on_config, [session, *config_inputs], [tool_choice, status, notice], api_visibility="private",
                       show_progress="hidden")
        for comp in [max_steps, timeout, output_schema]:
            comp.blur(on_config, [session, *config_inputs], [tool_choice, status, notice], api_visibility="private",
                      show_progress="hidden")

        def on_configure_json(s: PlaygroundSession, fields_json: str) -> list[Any]:
            """API: apply choices given as JSON, e.g. {"agent": "support", "settings": {"temperature": 0.2}}."""
            try:
                fields = json.loads(fields_json or "{}")
                if not isinstance(fields, dict):
                    raise ValueError("expected a JSON object")
                schema = fields.pop("output_schema", None)
                problems = s.configure(**{k: fields[k] for k in ("agent", "provider") if k in fields})
                problems += s.configure(**{k: v for k, v in fields.items() if k not in ("agent", "provider")})
                if schema is not None:
                    problems += s.configure_output_schema(schema if isinstance(schema, str) else json.dumps(schema))
            except (ValueError, TypeError) as exc:
                problems = [f"configure: {s.mask(str(exc))}"]
            if s.key_notice:
                problems.append(s.key_notice)
                s.key_notice = None
            s.notice = "; ".join(problems) or None
            return [_status(s), _notice(s.notice), json.dumps(s.config())]

        api_fields = gr.Textbox(visible=False)
        api_config = gr.JSON(visible=False)
        gr.Button(visible=False).click(
            on_configure_json, [session, api_fields], [status, notice, api_config], api_name="configure"
        )

        # -- chat -------------------------------------------------------------------------------------------------
        def refused(s: PlaygroundSession) -> list[Any]:
            """A Send that cannot start: the reason where the person looks; the typed text stays in the box."""
            return [gr.skip(), _notice(s.notice), *[gr.skip()] * (N_TURN - 2), gr.skip()]

        async def on_send(s: PlaygroundSession, text: str, recall: bool, working: bool,
                          *values: Any) -> AsyncIterator[list[Any]]:
            if s.busy:  # never dropped without a word (Send and Enter stay live while a reply streams)
                s.notice = "A reply is still streaming: wait for it, or press Stop. Your message is kept in the box."
                yield refused(s)
                return
            # the memory switches as the page shows them (their own event may not have landed yet)
            s.set_memory_options(semantic_recall=bool(recall), working_memory=bool(working))
            problems = _configure(s, values)
            if s.key_notice:
                problems.append(s.key_notice)
                s.key_notice = None
            if problems:
                s.notice = "; ".join(problems)
                yield refused(s)
                return
            if not (text or "").strip():
                s.notice = "Message: type a message first"
                yield refused(s)
                return
            before = len(s.exchanges)
            cleared = False
            async for updates in _stream(s, s.send(text)):
                started = len(s.exchanges) > before
                if started and not cleared:  # the message moved into the chat: empty the box, once
                    cleared = True
                    yield [*updates, ""]
                else:
                    yield [*updates, gr.skip()]

        async def on_approve(s: PlaygroundSession, args_text: str) -> AsyncIterator[list[Any]]:
            call_id = s.pending.tool_call_id if s.pending else ""
            async for updates in _stream(s, s.approve(call_id, args_text)):
                # bad arguments: keep the card as it is (not when the run moved on to another call, decided elsewhere)
                if s.pending is not None and s.pending.tool_call_id == call_id and s.notice:
                    yield [updates[0], _notice(s.notice), *[gr.skip()] * (N_TURN - 2)]
                    continue
                yield updates

        async def on_decline(s: PlaygroundSession, why: str) -> AsyncIterator[list[Any]]:
            call_id = s.pending.tool_call_id if s.pending else ""
            async for updates in _stream(s, s.decline(call_id, why)):
                yield updates

        async def on_pending_check(s: PlaygroundSession) -> list[Any]:
            """The card's live check (shared_runs.py): repaint only when the page changed; stop with the card."""
            if await s.check_pending():
                return _all_updates(s)
            return [*[gr.skip()] * (N_TURN - 1), gr.skip() if s.watching else gr.Timer(active=False)]

        pending_check.tick(on_pending_check, [session], turn_outputs, api_visibility="private",
                           show_progress="hidden", concurrency_limit=None)

        def on_inspect(s: PlaygroundSession, text: str, recall: bool, working: bool, *values: Any) -> list[Any]:
            s.set_memory_options(semantic_recall=bool(recall), working_memory=bool(working))  # as the page shows
            problems = _configure(s, values)
            preview: dict[str, Any] | None = None
            if not problems:
                try:
                    preview = s.inspect(text)
                except ValueError as exc:
                    problems = [s.mask(str(exc))]
            s.notice = "; ".join(problems) or None
            if preview is None:
                return [_notice(s.notice), gr.skip(), gr.skip()]
            return [_notice(None), pretty_json(preview), gr.Tabs(selected="inspect")]

        def on_stop(s: PlaygroundSession) -> None:
            s.stop()

        def on_clear(s: PlaygroundSession) -> list[Any]:
            s.reset()
            return [*_all_updates(s), ""]

        def on_select(s: PlaygroundSession, evt: gr.SelectData) -> list[Any]:
            _, owner = chat_messages(s.exchanges)
            index = evt.index if isinstance(evt.index, int) else evt.index[0] if evt.index else None
            if isinstance(index, int) and 0 <= index < len(owner):
                s.select(owner[index])
            return _panel_updates(s)

        send_event = dict(fn=on_send, inputs=[session, message, *memory_inputs, *config_inputs],
                          outputs=[*turn_outputs, message], concurrency_limit=None, show_progress="hidden",
                          trigger_mode="multiple")
        for trigger in (send_btn.click, message.submit):
            threads_ui.after(composer.after(ui.after_turn(trigger(**send_event, api_visibility="private")).then(  # type: ignore[arg-type]
                None, js=SCROLL_TO_ATTENTION_JS), session), session)

        async def on_send_text(s: PlaygroundSession, text: str) -> AsyncIterator[list[Any]]:
            """API: send with the session's current choices (set them with /configure)."""
            async for updates in _stream(s, s.send(text)):
                yield updates

        def on_inspect_text(s: PlaygroundSession, text: str) -> str:
            """API: the request preview as JSON text (an error message when the input is bad)."""
            try:
                return pretty_json(s.inspect(text))
            except ValueError as exc:
                return json.dumps({"error": s.mask(str(exc))})

        api_text = gr.Textbox(visible=False)
        api_out = gr.Textbox(visible=False)
        gr.Button(visible=False).click(on_send_text, [session, api_text], turn_outputs, api_name="send",
                                       concurrency_limit=None)
        gr.Button(visible=False).click(on_inspect_text, [session, api_text], [api_out], api_name="inspect")
        composer.after(threads_ui.after(ui.after_turn(approve_btn.click(on_approve, [session, approval_args],
                                                                        turn_outputs, api_name="approve",
                                                                        concurrency_limit=None,
                                                                        show_progress="hidden")).then(
            None, js=SCROLL_TO_ATTENTION_JS), session), session)
        threads_ui.after(ui.after_turn(decline_btn.click(on_decline, [session, reason], turn_outputs,
                                                         api_name="decline", concurrency_limit=None,
                                                         show_progress="hidden")).then(
            None, js=SCROLL_TO_ATTENTION_JS), session)
        inspect_btn.click(on_inspect, [session, message, *memory_inputs, *config_inputs],
                          [notice, p_inspect, panel_tabs],
                          api_visibility="private", concurrency_limit=None).then(None, js=SCROLL_TO_ATTENTION_JS)
        stop_btn.click(on_stop, [session], None, api_name="stop", queue=False)
        threads_ui.after(ui.after_turn(clear_btn.click(on_clear, [session], [*turn_outputs, message],
                                                       api_name="clear")), session)
        # the chat's own trash icon is hidden (assets/playground.css); should it be shown, it does what Clear does
        chatbot.clear(on_clear, [session], [*turn_outputs, message], api_visibility="private")
        threads_ui.after(ui.after_turn(chatbot.select(on_select, [session], panel_outputs, api_visibility="private")),
                         session)
        threads_ui.wire(demo, session, turn_outputs, _all_updates)

        # -- save / load ------------------------------------------------------------------------------------------
        def on_save(s: PlaygroundSession) -> Any:
            return gr.File(value=_session_file(s), visible=True)

        def on_load(s: PlaygroundSession, file: Any) -> list[Any]:
            path = file if isinstance(file, str) else getattr(file, "name", None)
            try:
                data = Path(str(path)).read_text(encoding="utf-8")
                problems = s.load(data)
                s.notice = "; ".join(problems) or None
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                s.notice = s.mask(str(exc))  # the session is as it was: the load changed nothing
            updates = config_updates(s, list_models=False)
            return [*updates[:-1], *_all_updates(s)]

        def on_restore(s: PlaygroundSession, saved: Any, request: gr.Request) -> list[Any]:
            """A reload says what came back. With a thread in the address the Threads tab reopens it (its own load
            event); else this browser's copy of the last session comes back (settings, conversation, a pending
            approval). The word goes to its own line above the chat, so no other load event can hide it."""
            skip = [gr.skip()] * (len(config_outputs) - 1 + N_TURN)
            thread = dict(request.query_params).get("thread") if request is not None else None
            if thread:
                return [*skip, gr.Markdown("Reopened your last conversation (the thread in the address); press "
                                           "**Clear** to start afresh.", visible=True)]
            if not saved or s.exchanges:
                return [*skip, gr.skip()]
            try:
                problems = s.load(saved)
                s.notice = "; ".join(problems) or None
            except ValueError as exc:
                s.notice = f"Your last session could not be restored ({s.mask(str(exc))}); starting afresh."
            updates = config_updates(s, list_models=False)
            note = ("Restored your last session from this browser; press **Clear** to start afresh."
                    if s.exchanges else "")
            return [*updates[:-1], *_all_updates(s), gr.Markdown(note, visible=bool(note))]

        composer.wire(session, notice, demo)  # Attach (also paste/drop), Export report, Record (gradio_composer.py)
        save_btn.click(lambda s: gr.DownloadButton(value=_session_file(s)), [session], [save_btn],
                       api_visibility="private")
        gr.Button(visible=False).click(on_save, [session], [session_file], api_name="save")
        load_btn.upload(on_load, [session, load_btn], [*config_outputs[:-1], *turn_outputs], api_name="load")
        demo.load(on_restore, [session, browser_copy], [*config_outputs[:-1], *turn_outputs, session_note],
                  api_visibility="private")
        clear_btn.click(lambda: gr.Markdown("", visible=False), None, [session_note], api_visibility="private")

        # -- compare ----------------------------------------------------------------------------------------------
        def on_columns(n: int) -> list[Any]:
            return [gr.Column(visible=i < int(n)) for i in range(COMPARE_COLUMNS)]

        async def on_compare(s: PlaygroundSession, text: str, n: int, *values: Any) -> list[Any]:
            columns: list[CompareColumn] = []
            for i in range(int(n)):
                prov, mdl, url, temp, mx = values[i * 5: i * 5 + 5]
                columns.append(CompareColumn(provider=prov or "demo", model=(mdl or "").strip(),
                                             base_url=(url or "").strip() or None,
                                             settings={"temperature": temp, "max_output_tokens": mx}))
            try:
                outcomes = await s.compare(text, columns)
            except ValueError as exc:
                s.notice = s.mask(str(exc))
                return [f"**Problem:** {s.notice}" if i == 0 else "" for i in range(COMPARE_COLUMNS)]
            out: list[Any] = []
            for o in outcomes:
                if o.error:
                    out.append(f"#### {o.label}\n\n**Error.** {o.error}")
                    continue
                latency = f"{o.latency_ms:,.0f} ms" if o.latency_ms is not None else "–"
                out.append(f"#### {o.label}\n\n{o.text or '*(no text)*'}\n\n---\n"
                           f"**Usage:** {o.usage.input_tokens} in · {o.usage.output_tokens} out · "
                           f"{o.usage.total_tokens} total · cost {format_cost(o.cost)}  \n"
                           f"**Latency:** {latency} · finish `{o.finish_reason}`")
            return out + [""] * (COMPARE_COLUMNS - len(out))

        n_columns.change(on_columns, [n_columns], col_boxes, api_visibility="private")
        compare_btn.click(on_compare, [session, compare_message, n_columns, *col_inputs], col_outputs,
                          api_visibility="private", concurrency_limit=None)

        async def on_compare_json(s: PlaygroundSession, text: str, columns_json: str) -> str:
            """API: columns as JSON: [{"provider": "demo"}, {"provider": "demo", "settings": {"temperature": 1}}]."""
            try:
                cols = [CompareColumn(**c) for c in json.loads(columns_json or "[]")]
                outcomes = await s.compare(text, cols)
            except (ValueError, TypeError) as exc:
                return json.dumps({"error": s.mask(str(exc))})
            return json.dumps([{"label": o.label, "model": o.model, "text": o.text, "usage": o.usage.model_dump(),
                                 "latency_ms": o.latency_ms, "finish_reason": o.finish_reason, "error": o.error,
                                 "cost": format_cost(o.cost)}
                                for o in outcomes])

        api_columns = gr.Textbox(visible=False)
        gr.Button(visible=False).click(on_compare_json, [session, api_text, api_columns], [api_out],
                                       api_name="compare", concurrency_limit=None)
    return demo


def launch_kwargs(host: str, port: int, auth: tuple[str, str] | None) -> dict[str, Any]:
    return {
        "server_name": host, "server_port": port, "auth": auth, "ssr_mode": False, "theme": theme(), "css": css(),
        "show_error": True, "footer_links": [], "pwa": False,
    }


def serve(agents_dir: str | Path | None = None, host: str = "127.0.0.1", port: int = 7860,
          auth: tuple[str, str] | None = None, **kwargs: Any) -> gr.Blocks:
    """Start the playground without blocking (tests); `demo.close()` stops it."""
    auth = auth if auth is not None else auth_from_env()  # PLAYGROUND_AUTH=user:pass (not visible in `ps`)
    warn_if_exposed(host, auth)
    demo = build_app(agents_dir, mcp_commands=commands_allowed_for_host(host))  # MCP commands run on this machine
    demo.launch(**safe_launch_options(  # share is always off (serving.py)
        {**launch_kwargs(host, port, auth), "prevent_thread_lock": True, "quiet": True, **kwargs}))
    return demo


def launch(agents_dir: str | Path | None = None, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None, **kwargs: Any) -> None:
    """Start the playground at http://HOST:PORT on the demo model and block until it is stopped. Says that it is
    starting at once, and prints the URL when the page can be opened."""
    started = time.monotonic()
    print("Agent Playground: building the page…", file=sys.stderr, flush=True)
    auth = auth if auth is not None else auth_from_env()  # PLAYGROUND_AUTH=user:pass (not visible in `ps`)
    exposed = exposure_warning(host, auth)
    if exposed:
        print(f"Agent Playground: WARNING: {exposed}", file=sys.stderr, flush=True)
    demo = build_app(agents_dir, mcp_commands=commands_allowed_for_host(host))  # MCP commands run on this machine
    demo.launch(**safe_launch_options(  # share is always off (serving.py)
        {**launch_kwargs(host, port, auth), "prevent_thread_lock": True, "quiet": True, **kwargs}))
    print(f"Agent Playground: ready at {demo.local_url} ({time.monotonic() - started:.1f} s). Press Ctrl+C to stop.",
          file=sys.stderr, flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        demo.close()
