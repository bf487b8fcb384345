"""The notebook playground: ipywidgets layout and event wiring over `PlaygroundSession`, nothing else.

Every control forwards to a session action or setter (the table `ACTIONS` names which control drives which action;
a test checks it against the session and the Gradio front end). Streaming actions (`send`, `approve`, `decline`,
`compare`) run as tasks on the kernel's event loop, so the chat updates while the reply streams and the kernel stays
responsive. The same actions are methods for code: `await pg.send("hi")`, `await pg.approve()`, `pg.inspect("hi")`.
While an approval card shows, a task on the same loop reads its run every few seconds (shared_runs.PendingWatch), so a
call decided elsewhere (`playground approve`, another server) turns into its outcome without a click.

Import this module only where ipywidgets is installed (`pip install 'agent-playground[notebook]'`).
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..display import esc, to_json, usage_table
from ..errors import PlaygroundError
from ..events import ErrorEvent, FinishEvent, StreamEvent, ToolApprovalEvent
from ..providers.registry import PROVIDERS
from .render import (
    SETTING_LABELS,
    exchange_panels,
    steps_html,
    usage_chart_html,
    usage_rows,
)
from .session import (
    SETTING_FIELDS,
    CompareColumn,
    CompareOutcome,
    PendingApproval,
    PlaygroundSession,
    provider_choices,
)
from .shared_runs import PendingWatch
from .widgets_chat import ChatView, chat_html

__all__ = ["ACTIONS", "PANELS", "PlaygroundWidget", "chat_html"]

# session action or setter -> the attribute of PlaygroundWidget (a control) that drives it
ACTIONS: dict[str, str] = {
    "set_agent": "agent_menu",
    "set_provider": "provider_menu",
    "set_model": "model_box",
    "set_base_url": "base_url_box",
    "set_api_key": "api_key_box",
    "set_api_key_for": "api_key_box",
    "set_instructions": "instructions_box",
    "set_settings": "setting_boxes",
    "set_active_tools": "tool_boxes",
    "set_tool_choice": "tool_choice_menu",
    "set_require_approval": "approval_box",
    "set_max_steps": "max_steps_box",
    "set_timeout": "timeout_box",
    "set_output_schema": "output_schema_box",
    "inspect": "inspect_button",
    "send": "send_button",
    "approve": "approve_button",
    "decline": "decline_button",
    "stop": "stop_button",
    "reset": "clear_button",
    "export_code": "panel_tabs",
    "save": "save_button",
    "load": "load_upload",
    "list_models": "models_button",
    "compare": "compare_button",
    "select": "exchange_menu",
}

PANELS: tuple[str, ...] = ("Inspect", "Raw request", "Raw response", "Reasoning", "Sources", "Usage", "Steps", "Code")

WAIT_REPAINT_SECONDS = 0.5  # how often the chat repaints while a request waits for its first byte


async def _with_ticks(events: AsyncIterator[StreamEvent], every: float) -> AsyncIterator[StreamEvent | None]:
    """The events, with None each `every` seconds that none arrives (for a repaint while a request waits)."""
    it = events.__aiter__()
    while True:
        nxt = asyncio.ensure_future(it.__anext__())
        try:
            while not nxt.done():
                await asyncio.wait({nxt}, timeout=every)
                if not nxt.done():
                    yield None
        finally:
            if not nxt.done():
                nxt.cancel()
        try:
            yield nxt.result()
        except StopAsyncIteration:
            return


_EXAMPLE = re.compile(r'Try:\s*"([^"]+)"')  # an example message in an agent file's docstring
_INT_SETTINGS = frozenset({"max_output_tokens", "top_k", "seed", "max_retries"})

_CSS = """<style>
.pgw{font-family:var(--jp-ui-font-family,system-ui,sans-serif)}
.pgw-title{font-size:16px;font-weight:600;margin-right:8px}
.pgw-badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:11px;background:#fff8c5;
  border:1px solid #d4a72c;color:#7d4e00}
.pgw-badge.pgw-real{background:#ffebe9;border-color:#cf222e;color:#a40e26}
.pgw-notice{color:#a40e26;background:#ffebe9;border-left:4px solid #cf222e;padding:4px 8px;margin:2px 0;
  white-space:pre-wrap}
.pgw-chat{display:flex;flex-direction:column;gap:6px;padding:4px}
.pgw-msg{padding:6px 10px;border-radius:8px;max-width:92%;white-space:pre-wrap;word-break:break-word;line-height:1.45}
.pgw-user{align-self:flex-end;background:#ddf4ff;border:1px solid #54aeff;color:#0a3069}
.pgw-assistant{align-self:flex-start;background:var(--jp-layout-color1,#fff);border:1px solid #d0d7de;
  color:var(--jp-content-font-color1,#1f2328)}
.pgw-block{align-self:flex-start;max-width:92%;border:1px solid #d0d7de;border-radius:8px;padding:4px 10px;
  background:var(--jp-layout-color2,#f6f8fa);color:var(--jp-content-font-color1,#1f2328)}
.pgw-block summary{cursor:pointer;font-weight:600}
.pgw-block pre,.pgw-panel pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;font-size:12px;
  font-family:var(--jp-code-font-family,monospace)}
.pgw-panel pre{max-height:420px;overflow:auto}
.pgw-scroll{max-height:460px;overflow:auto}
.pgw .pgw-chat-box .pgw-chat{gap:6px;padding:4px}
.pgw .pgw-chat-box .widget-html-content{line-height:1.45}
.pgw .pgw-block{max-width:92%}
.pgw .pgw-block .jupyter-widget-Collapse-contents{max-height:320px;overflow:auto}
.pgw .lm-TabBar-content{flex-wrap:wrap}
.pgw .lm-TabBar-tab{flex:0 0 auto !important;min-width:fit-content !important;max-width:none !important}
.pgw .lm-TabBar-tabLabel{overflow:visible;text-overflow:clip}
.pgw .pgw-upload{font-size:0 !important}
.pgw .pgw-upload i{font-size:var(--jp-widgets-font-size,13px);margin-right:6px}
.pgw .pgw-upload::after{content:attr(title);font-size:var(--jp-widgets-font-size,13px)}
.pgw-approval-state{font-weight:600;color:#9a6700}
.pgw-error{align-self:stretch;color:#a40e26;background:#ffebe9;border:1px solid #ff8182;border-radius:8px;
  padding:6px 10px;white-space:pre-wrap}
.pgw-note{align-self:stretch;color:#7d4e00;background:#fff8c5;border-left:4px solid #d4a72c;padding:4px 8px}
.pgw-jk{color:#0550ae}.pgw-js{color:#0a3069}.pgw-jn{color:#953800}.pgw-jl{color:#8250df}
.pgw-tool-info summary{cursor:pointer;font-size:12px}
.pgw-muted{color:var(--jp-content-font-color2,#656d76);font-style:italic}
.pgw-panel{font-size:13px;color:var(--jp-content-font-color1,#1f2328)}
.pgw-panel table{border-collapse:collapse}
.pgw-panel th,.pgw-panel td{border:1px solid #d0d7de;padding:2px 8px;text-align:left}
.pgw-panel td.pg-num,.pgw-panel th.pg-num{text-align:right;font-variant-numeric:tabular-nums}
.pg-chart .pg-legend{margin-right:10px;font-size:12px}
.pg-chart .pg-legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.pg-bar-row{display:flex;align-items:center;gap:8px;margin:3px 0}
.pg-bar-label{width:56px;font-size:12px}
.pg-bar{display:flex;flex:1;height:14px;background:#eef1f4;border-radius:3px;overflow:hidden;max-width:520px}
.pg-seg{display:block;height:100%}
.pg-bar-value{font-size:12px;white-space:nowrap}
.pg-steps{list-style:none;padding-left:6px;margin:4px 0}
.pg-steps li{margin:3px 0}
.pg-steps .pg-tool{margin-left:16px}
</style>"""



# ----------------------------------------------------------------------------------------------------------------
# HTML for the chat and the panels (from the shared view models)


def tools_html(tools: list[dict[str, Any]]) -> str:
    """Each tool's description, with its JSON schema in a collapsible block (the browser's tool list)."""
    parts = []
    for t in tools:
        flag = " · needs approval" if t.get("requires_approval") else ""
        schema = to_json(t.get("parameters") or {})
        parts.append(f'<details class="pgw-tool-info"><summary><code>{esc(t["name"])}</code>{esc(flag)}: '
                     f'{esc(t.get("description") or "")}</summary><pre class="pgw-json">{json_html(schema)}</pre>'
                     "</details>")
    return f'<div class="pgw-panel">{"".join(parts)}</div>' if parts else ""


_JSON_TOKEN = re.compile(r'("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)')


def json_html(text: str) -> str:
    """JSON text escaped for HTML, with keys, strings, numbers and literals in their own colour."""
    out: list[str] = []
    pos = 0
    for m in _JSON_TOKEN.finditer(text):
        out.append(esc(text[pos:m.start()]))
        if m.group(1) is not None:
            kind = "k" if m.group(2) else "s"
            out.append(f'<span class="pgw-j{kind}">{esc(m.group(1))}</span>{esc(m.group(2) or "")}')
        elif m.group(3) is not None:
            out.append(f'<span class="pgw-jl">{m.group(3)}</span>')
        else:
            out.append(f'<span class="pgw-jn">{m.group(4)}</span>')
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def _pre(text: str) -> str:
    return f'<div class="pgw-panel"><pre>{esc(text)}</pre></div>'


def _json_pre(text: str) -> str:
    """A JSON panel: highlighted, with its own scroll (max height) so the page stays tidy."""
    return f'<div class="pgw-panel"><pre class="pgw-json">{json_html(text)}</pre></div>'


def _empty(text: str) -> str:
    return f'<div class="pgw-panel pgw-muted">{esc(text)}</div>'


def panel_html(session: PlaygroundSession, inspect: dict[str, Any] | None = None) -> dict[str, str]:
    """Every panel's HTML for the selected exchange (or the `inspect` preview when there is none yet)."""
    ex = session.selected_exchange()
    panels = exchange_panels(ex, inspect)
    result = ex.result if ex is not None else None
    steps = list(result.steps) if result is not None else []
    out: dict[str, str] = {}
    out["Inspect"] = _json_pre(panels.inspect) if panels.inspect else _empty(
        "Type a message and press Inspect to see the exact request before it is sent.")
    out["Raw request"] = _json_pre(panels.raw_request) if steps else _empty("No request sent yet.")
    out["Raw response"] = _json_pre(panels.raw_response) if steps else _empty("No response yet.")
    reasoning = [(s.index, s.reasoning_text) for s in steps if s.reasoning_text]
    if not reasoning and ex is not None:
        reasoning = [(b.step, b.text) for b in ex.view.blocks if b.kind == "reasoning" and b.text]
    out["Reasoning"] = (
        "".join(f'<div class="pgw-panel"><b>Step {i + 1}</b><pre>{esc(t)}</pre></div>' for i, t in reasoning)
        if reasoning else _empty("No reasoning in this exchange.")
    )
    sources: list[tuple[str, str]] = []
    if result is not None:
        sources = [(s.url, s.title or s.url) for s in result.sources]
    if not sources and ex is not None:
        sources = [(str(s["url"]), str(s.get("title") or s["url"])) for s in ex.view.sources]
    if sources:
        links = "".join(
            f'<li><a href="{esc(u)}" target="_blank" rel="noopener noreferrer">{esc(t)}</a></li>'
            if u.lower().startswith(("http://", "https://")) else f"<li>{esc(t)} ({esc(u)})</li>"
            for u, t in sources
        )
        out["Sources"] = f'<div class="pgw-panel"><ol>{links}</ol></div>'
    else:
        out["Sources"] = _empty("No sources in this exchange.")
    if result is not None and steps:
        chart = usage_chart_html(usage_rows(steps))
        session_cost = f"<b>Cost of the session</b><pre>{esc(session.cost_markdown())}</pre>"
        out["Usage"] = (f'<div class="pgw-panel">{usage_table(steps, result.usage, result.latency_ms)}{chart}'
                        f"{session_cost}</div>")
    else:
        out["Usage"] = _empty("No usage yet.")
    out["Steps"] = f'<div class="pgw-panel">{steps_html(result, ex.view if ex is not None else None)}</div>'
    code = session.export_code()
    out["Code"] = (f'<div class="pgw-panel"><b>Python</b><pre>{esc(code["python"])}</pre>'
                   f'<b>curl</b><pre>{esc(code["curl"])}</pre></div>')
    return out


def compare_html(outcomes: list[CompareOutcome]) -> str:
    from ..pricing import format_cost

    rows = ["<tr><th>model</th><th>answer</th><th>tokens</th><th>cost</th><th>latency</th><th>finish</th></tr>"]
    for o in outcomes:
        answer = f'<span style="color:#a40e26">{esc(o.error)}</span>' if o.error else esc(o.text)
        latency = f"{o.latency_ms:.0f} ms" if o.latency_ms is not None else ""
        cost = format_cost(o.cost) if not o.error else ""
        rows.append(f"<tr><td><code>{esc(o.label)}</code></td><td style='white-space:pre-wrap'>{answer}</td>"
                    f"<td>{o.usage.total_tokens}</td><td>{esc(cost)}</td><td>{latency}</td>"
                    f"<td>{esc(o.finish_reason)}</td></tr>")
    return f'<div class="pgw-panel"><table>{"".join(rows)}</table></div>'


def parse_compare_columns(text: str) -> list[CompareColumn]:
    """One column per line: `provider:model` or `provider` (its default model)."""
    columns = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        provider, _, model = line.partition(":")
        columns.append(CompareColumn(provider=provider.strip(), model=model.strip()))
    return columns


# ----------------------------------------------------------------------------------------------------------------
# The widget


def _placeholder(session: PlaygroundSession) -> str:
    """The message box's hint: the agent's own example when its docs give one ("Try: ..."), else a neutral one."""
    source = getattr(session.template, "_playground_source", None)
    if source:
        try:
            match = _EXAMPLE.search(Path(source).read_text(encoding="utf-8")[:2000])
        except OSError:
            match = None
        if match:
            return f"Message… (Enter sends; e.g. {match.group(1)})"
    return "Message… (Enter sends)"


def _real_provider_warning(session: PlaygroundSession) -> str:
    """The browser playground's warning, word for word in spirit: a real provider gets every message sent."""
    entry = PROVIDERS.get(session.provider)
    label = entry.label if entry is not None else session.provider
    where = f" at {session.mask(session.base_url)}" if session.base_url else ""
    return f"Real provider: messages are sent to {label}{where}"


def _label(text: str) -> w.HTML:
    return w.HTML(f"<b>{html.escape(text)}</b>")


class PlaygroundWidget:
    """The notebook playground over one `PlaygroundSession`. Display it as a cell's value or with `display(pg)`."""

    def __init__(self, session: PlaygroundSession) -> None:
        self.session = session
        self._task: asyncio.Task[None] | None = None
        self._syncing = False
        self._inspect_preview: dict[str, Any] | None = None
        self._last_render = 0.0
        self._approval_for: str | None = None  # the pending call the approval card was filled for
        self._pending_watch = PendingWatch(session, self.refresh)  # live while a card shows (shared_runs.py)


        def full() -> w.Layout:  # one Layout per widget: hiding one must not hide the others
            return w.Layout(width="100%")

        # -- configuration column ------------------------------------------------------------------------------
        self.agent_menu = w.Dropdown(options=list(session.agents), description="Agent", layout=full())
        self.provider_menu = w.Dropdown(options=provider_choices(), description="Provider", layout=full())
        self.model_box = w.Combobox(options=[], description="Model", ensure_option=False, continuous_update=False,
                                    layout=w.Layout(flex="1"))
        self.models_button = w.Button(description="↻", tooltip="List the provider's models",
                                      layout=w.Layout(width="36px"))
        self.base_url_box = w.Text(description="Base URL", placeholder="http://127.0.0.1:8000/v1",
                                   continuous_update=False, layout=full())
        # The typed key is taken into the session and the box emptied at once, so the key is never part of the widget
        # state JupyterLab saves into the .ipynb or that widget embedding exports.
        self.api_key_box = w.Password(description="API key", placeholder="from the environment when empty",
                                      continuous_update=False, layout=full())
        self.key_status = w.HTML()
        self.forget_key_button = w.Button(description="Forget key", tooltip="Drop the key typed for this session",
                                          layout=w.Layout(display="none"))
        self.instructions_box = w.Textarea(placeholder="Instructions (system prompt)", continuous_update=False,
                                           layout=w.Layout(width="100%", height="90px"))
        self.setting_boxes: dict[str, w.Text | w.Textarea] = {}
        for name in SETTING_FIELDS:
            label = SETTING_LABELS.get(name, name.replace("_", " ").capitalize())
            box: w.Text | w.Textarea
            if name == "stop_sequences":
                box = w.Textarea(description=label, placeholder="one per line", continuous_update=False,
                                 layout=w.Layout(width="100%", height="52px"),
                                 style={"description_width": "130px"})
            else:
                box = w.Text(description=label, placeholder="unset", continuous_update=False, layout=full(),
                             style={"description_width": "130px"})
            self.setting_boxes[name] = box
        self.tool_boxes: dict[str, w.Checkbox] = {}
        self.tools_area = w.VBox()
        self.tool_info = w.HTML()  # each tool's description and JSON schema, as the browser shows them
        self.tool_choice_menu = w.Dropdown(description="Tool choice", layout=full())
        self.approval_box = w.Checkbox(description="Require approval for every tool call", indent=False)
        # text, not a bounded number: 0 or 1.5 must be refused with a reason, not silently clamped
        self.max_steps_box = w.Text(description="Max steps", placeholder="1 to 50", continuous_update=False,
                                    layout=full())
        self.output_schema_box = w.Textarea(
            placeholder='Structured output (JSON Schema): {"type": "object", "properties": {...}}; empty: plain text',
            continuous_update=False, layout=w.Layout(width="100%", height="60px"),
            tooltip="the answer is parsed into this JSON Schema; empty: plain text")
        self.timeout_box = w.Text(description="Timeout (s)", placeholder="60", continuous_update=False,
                                  tooltip="Seconds a request may wait for the server (each attempt)", layout=full())
        self.save_button = w.Button(description="Save session", icon="download")
        self.save_link = w.HTML()
        self.load_upload = w.FileUpload(accept=".json", multiple=False, description="Load session")
        self.load_upload.add_class("pgw-load")

        from .widgets_mcp import MCPWidgets

        self.mcp_ui = MCPWidgets(self)  # MCP servers: add by command or URL, their tools (widgets_mcp.py)
        settings_box = w.VBox(list(self.setting_boxes.values()))
        settings_acc = w.Accordion(children=[settings_box], titles=("Model settings",))
        config = w.VBox(
            [
                self.agent_menu, self.provider_menu, w.HBox([self.model_box, self.models_button], layout=full()),
                self.base_url_box, self.api_key_box, w.HBox([self.key_status, self.forget_key_button]),
                _label("Instructions"), self.instructions_box,
                settings_acc, _label("Tools"), self.tools_area, self.tool_info, self.mcp_ui.box, self.tool_choice_menu,
                self.approval_box,
                self.max_steps_box, self.timeout_box, _label("Structured output (JSON Schema)"),
                self.output_schema_box, w.HBox([self.save_button, self.load_upload]), self.save_link,
            ],
            layout=w.Layout(width="340px", min_width="300px", padding="0 8px 0 0"),
        )

        # -- chat column ---------------------------------------------------------------------------------------
        self.header = w.HTML()
        self.notice = w.HTML()
        self.chat = ChatView()  # one widget per message and block (widgets_chat.py); self.chat.value: the HTML
        # Enter sends (the text field sends "submit"); the field stops key events, so Shift+Enter never runs the cell
        self.message_box = w.Text(placeholder=_placeholder(session), continuous_update=True,
                                  layout=w.Layout(flex="1"))
        self.message_box.add_class("pgw-message")
        self.send_button = w.Button(description="Send", button_style="primary", icon="paper-plane")
        self.inspect_button = w.Button(description="Inspect", tooltip="Show the exact request; nothing is sent")
        self.stop_button = w.Button(description="Stop", button_style="warning", disabled=True)
        self.clear_button = w.Button(description="Clear", tooltip="Clear the conversation (settings stay)")
        buttons = w.VBox([self.send_button, self.inspect_button, self.stop_button, self.clear_button],
                         layout=w.Layout(width="110px"))
        self.approval_text = w.HTML()
        self.approval_args = w.Textarea(description="Arguments", continuous_update=False,
                                        layout=w.Layout(width="100%", height="70px"))
        self.decline_reason = w.Text(description="Reason", placeholder="why it is declined (optional)",
                                     layout=w.Layout(width="100%"))
        self.approve_button = w.Button(description="Approve", button_style="success", icon="check")
        self.decline_button = w.Button(description="Decline", button_style="danger", icon="times")
        self.approval_area = w.VBox(
            [self.approval_text, self.approval_args, self.decline_reason,
             w.HBox([self.approve_button, self.decline_button])],
            layout=w.Layout(border="2px solid #d4a72c", padding="6px", display="none"),
        )
        self.approval_area.add_class("pgw-approval")
        self.exchange_menu = w.Dropdown(description="Exchange", options=[("(none yet)", -1)], value=-1,
                                        layout=w.Layout(width="60%"))
        self.panels: dict[str, w.HTML] = {name: w.HTML() for name in PANELS}
        self.panel_tabs = w.Tab(children=[self.panels[n] for n in PANELS], titles=PANELS)
        from .widgets_compare import CompareWidgets

        self.compare_ui = CompareWidgets(self)  # the Compare tab: columns with their own settings
        self.compare_button = self.compare_ui.button
        self.compare_out = self.compare_ui.summary
        from .widgets_memory import MemoryWidgets

        self.memory_ui = MemoryWidgets(self)  # threads and the Memory panel (widgets_memory.py)
        from .widgets_traces import TracesWidgets

        self.traces_ui = TracesWidgets(self)  # the Traces view and session cost (widgets_traces.py)
        from .widgets_composer import ComposerWidgets

        self.composer_ui = ComposerWidgets(self)  # Attach and Export report (widgets_composer.py)
        chat_page = w.VBox(
            [self.memory_ui.box, self.chat.box, self.approval_area,
             w.HBox([self.message_box, buttons]), self.composer_ui.box, self.exchange_menu,
             self.panel_tabs, self.memory_ui.panel_box],
        )
        # the main area's tabs, as in the browser: a view is added with `self.add_tab(title, widget)`
        self.main_tabs = w.Tab(children=[chat_page, self.compare_ui.page], titles=("Chat", "Compare"))
        self.main_tabs.add_class("pgw-main-tabs")
        chat_col = w.VBox([self.header, self.notice, self.main_tabs], layout=w.Layout(flex="1", min_width="420px"))
        self.root = w.VBox([w.HTML(_CSS), w.HBox([config, chat_col], layout=w.Layout(width="100%"))])
        self.root.add_class("pgw")
        from .widgets_evals import EvalWidgets

        self.evals_ui = EvalWidgets(self)  # Evaluate: a dataset over configurations, graded (widgets_evals.py)
        self.add_tab("Evaluate", self.evals_ui.page)
        from .widgets_prompts import PromptWidgets

        self.prompts_ui = PromptWidgets(self)  # variables, actions, prompt versions (widgets_prompts.py)
        self.add_tab("Prompt", self.prompts_ui.page)
        self.prompts_ui.watch(self.main_tabs)
        self.add_tab("Traces", self.traces_ui.box)  # as the browser's Traces tab (widgets_traces.py)
        from .widgets_jobs import JobsWidgets

        self.jobs_ui = JobsWidgets(self)  # Send later and the jobs (widgets_jobs.py)
        self.add_tab("Jobs", self.jobs_ui.page)

        self._tidy_uploads()
        self._wire()
        self._sync_controls()
        self.refresh()

    def _tidy_uploads(self) -> None:
        """Every upload button shows its label without ipywidgets' count ("Load session (0)"): the view always
        appends the count to the description, so the label moves to the tooltip and CSS shows it (.pgw-upload)."""
        todo: list[Any] = [self.root]
        while todo:
            widget = todo.pop()
            todo.extend(getattr(widget, "children", ()) or ())
            if isinstance(widget, w.FileUpload) and widget.description:
                widget.tooltip = widget.description  # the title attribute CSS shows as the label
                widget.description = ""
                widget.add_class("pgw-upload")

    def add_tab(self, title: str, widget: w.Widget) -> None:
        """Add a view to the main area's tabs (after Chat and Compare)."""
        self.main_tabs.children = (*self.main_tabs.children, widget)
        self.main_tabs.set_title(len(self.main_tabs.children) - 1, title)

    # -- display -------------------------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.root._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict) and "text/plain" in bundle:  # what a code host shows instead of the widgets
            bundle["text/plain"] = (f"Agent Playground ({self.session.agent_name}, {self.session.model_string}): "
                                    "run the notebook in JupyterLab to use it")
        return bundle

    def __repr__(self) -> str:
        return f"PlaygroundWidget({self.session!r})"

    # -- wiring ---------------------------------------------------------------------------------------------------
    def _wire(self) -> None:
        self.agent_menu.observe(self._setter(self._on_agent), names="value")
        self.provider_menu.observe(self._setter(self._on_provider), names="value")
        self.model_box.observe(self._setter(lambda v: self.session.set_model(v)), names="value")
        self.base_url_box.observe(self._setter(self._on_base_url), names="value")
        self.api_key_box.observe(self._setter(self._on_key), names="value")
        self.forget_key_button.on_click(lambda _b: self.forget_key())
        self.instructions_box.observe(self._setter(lambda v: self.session.set_instructions(v)), names="value")
        for box in self.setting_boxes.values():
            box.observe(self._setter(lambda _v: self._apply_settings()), names="value")
        self.tool_choice_menu.observe(self._setter(lambda v: self.session.set_tool_choice(v)), names="value")
        self.approval_box.observe(self._setter(lambda v: self.session.set_require_approval(v)), names="value")
        self.max_steps_box.observe(self._setter(lambda v: self.session.set_max_steps(v)), names="value")
        self.timeout_box.observe(self._setter(lambda v: self.session.set_timeout(v)), names="value")
        self.output_schema_box.observe(self._setter(lambda v: self.session.set_output_schema(v)), names="value")
        self.exchange_menu.observe(self._setter(self._on_select), names="value")
        self.models_button.on_click(lambda _b: self.list_models())
        self.send_button.on_click(lambda _b: self._send_from_box())
        self.message_box.on_msg(self._on_message_msg)
        self.inspect_button.on_click(lambda _b: self.inspect(self.message_box.value))
        self.stop_button.on_click(lambda _b: self.stop())
        self.clear_button.on_click(lambda _b: self.reset())
        self.approve_button.on_click(lambda _b: None if self._running() else self._launch(self._approve_events()))
        self.decline_button.on_click(lambda _b: None if self._running() else self._launch(self._decline_events()))
        self.save_button.on_click(lambda _b: self.save())
        self.load_upload.observe(self._on_upload, names="value")
        self.compare_button.on_click(lambda _b: self._launch_compare())

    def _setter(self, apply: Callable[[Any], None]) -> Callable[[dict[str, Any]], None]:
        """An observer that forwards a control's new value to the session (not while the widget syncs itself)."""

        def observer(change: Mapping[str, Any]) -> None:
            if self._syncing:
                return
            try:
                apply(change["new"])
            except (PlaygroundError, ValueError) as exc:
                self.session.notice = self.session.mask(str(exc))
            else:
                self.session.notice = None
            self._sync_controls()
            self.refresh()

        return observer

    def _on_agent(self, name: str) -> None:
        self.session.set_agent(name)
        self._inspect_preview = None
        self.mcp_ui.refresh()  # the new agent's own MCP servers
        self.prompts_ui.refresh()  # its actions and prompt versions

    def _on_base_url(self, url: str) -> None:
        s = self.session
        if s.base_url and url.strip() == s.mask(s.base_url):
            return  # the box shows the masked form of the URL already set: nothing changed
        s.set_base_url(url)

    def _on_key(self, key: str) -> None:
        if not key:
            return  # the box emptied by the widget itself, or nothing typed: the session's key stays
        s = self.session
        try:  # the key belongs to the provider and host shown when it was typed
            s.set_api_key_for(key, s.provider, s.base_url)
        finally:
            self._syncing = True
            try:
                self.api_key_box.value = ""  # never kept in widget state (saved notebooks, embedding)
            finally:
                self._syncing = False

    def forget_key(self) -> None:
        """Drop the key typed for this session (the agent's own key or the environment's applies again)."""
        self.session.set_api_key(None)
        self._sync_controls()
        self.refresh()

    def _on_provider(self, provider: str) -> None:
        self.session.set_provider(provider)
        self.model_box.options = ()

    def _on_select(self, index: int) -> None:
        self.session.select(index if index >= 0 else None)

    def _apply_settings(self) -> None:
        values: dict[str, Any] = {}
        for name, box in self.setting_boxes.items():
            text = box.value.strip()
            if not text:
                continue
            if name == "stop_sequences":
                values[name] = text
                continue
            try:
                values[name] = int(text) if name in _INT_SETTINGS else float(text)
            except ValueError:
                label = SETTING_LABELS.get(name, name)
                kind = "a whole number" if name in _INT_SETTINGS else "a number"
                raise PlaygroundError(f"Model settings: {label} must be {kind}, got {text!r}") from None
        self.session.set_settings(values)

    def _on_tool_toggle(self, _change: Mapping[str, Any]) -> None:
        if self._syncing:
            return
        names = [n for n, box in self.tool_boxes.items() if box.value]
        try:
            self.session.set_active_tools(names)
        except (PlaygroundError, ValueError) as exc:
            self.session.notice = self.session.mask(str(exc))
        self._sync_controls()
        self.refresh()

    def _on_upload(self, change: Mapping[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        content = item["content"] if isinstance(item, Mapping) else item.content
        self.load(bytes(content))
        self.load_upload.value = ()  # so that the same file can be loaded again

    # -- controls from the session --------------------------------------------------------------------------------
    def _sync_controls(self) -> None:
        """Show the session's state in the controls (after an agent change, a load, a rejected value)."""
        s = self.session
        self._syncing = True
        try:
            self.agent_menu.options = list(s.agents)
            self.agent_menu.value = s.agent_name
            choices = provider_choices()
            if s.provider not in [p for _, p in choices]:
                choices.append((PROVIDERS[s.provider].label if s.provider in PROVIDERS else s.provider, s.provider))
            self.provider_menu.options = choices
            self.provider_menu.value = s.provider
            self.model_box.value = s.model
            self.model_box.placeholder = "model name"
            needs_url = s.provider in PROVIDERS and (PROVIDERS[s.provider].needs_base_url or s.provider == "ollama"
                                                     or bool(s.base_url))
            self.base_url_box.layout.display = None if needs_url else "none"
            # masked: a password in the URL (user:pass@host) or a key in its query is not kept in widget state
            self.base_url_box.value = s.mask(s.base_url) if s.base_url else ""
            entry = PROVIDERS.get(s.provider)
            needs_key = entry is not None and bool(entry.env_keys) and s.provider != "demo"
            self.api_key_box.layout.display = None if needs_key else "none"
            self.api_key_box.placeholder = ("key set (hidden); type another to replace it" if s.has_api_key else
                                            "the agent's own key when empty" if s.uses_agent_key else
                                            "from the environment when empty")
            self.forget_key_button.layout.display = None if s.has_api_key else "none"
            self.key_status.value = self._key_status_html()
            self.instructions_box.value = s.instructions
            self.message_box.placeholder = _placeholder(s)
            set_fields = s.settings.set_fields()
            for name, box in self.setting_boxes.items():
                value = set_fields.get(name)
                if value is None:
                    if s.notice is None:  # else keep what was typed, so a rejected value can be fixed
                        box.value = ""
                elif name == "stop_sequences":
                    box.value = "\n".join(value)
                else:
                    box.value = str(value)
            tools = s.tool_schemas()
            if list(self.tool_boxes) != [t["name"] for t in tools]:
                self.tool_boxes = {}
                for t in tools:
                    label = t["name"] + (" (needs approval)" if t.get("requires_approval") else "")
                    box = w.Checkbox(description=label, indent=False, tooltip=t.get("description", ""))
                    box.observe(self._on_tool_toggle, names="value")
                    self.tool_boxes[t["name"]] = box
                self.tools_area.children = list(self.tool_boxes.values()) or [
                    w.HTML('<span class="pgw-muted">This agent has no tools.</span>')
                ]
                self.tool_info.value = tools_html(tools)
            for name, box in self.tool_boxes.items():
                box.value = name in s.active_tools
            self.tool_choice_menu.options = ["auto", "none", "required", *s.active_tools]
            self.tool_choice_menu.value = s.tool_choice
            self.tool_choice_menu.disabled = not s.active_tools
            self.approval_box.value = s.require_approval
            if s.notice is None:
                self.max_steps_box.value = str(s.max_steps)
            if s.notice is None:  # else keep what was typed, so a rejected value can be fixed
                self.timeout_box.value = "" if s.timeout in (None, 60.0) else f"{s.timeout:g}"
                self.output_schema_box.value = s.output_schema_text()
        finally:
            self._syncing = False

    def _key_status_html(self) -> str:
        s = self.session
        if s.simulated:
            return ""
        if s.has_api_key:
            return '<span class="pgw-muted">Key set for this session (never shown or saved).</span>'
        if s.uses_agent_key:
            return ('<span class="pgw-muted">Using the agent\'s own key (its <code>api_key</code>, never shown), '
                    "for its own provider and host only.</span>")
        from .session import key_source

        source = key_source(s.provider)
        if source:
            return f'<span class="pgw-muted">Using the key from ${esc(source)}.</span>'
        entry = PROVIDERS.get(s.provider)
        if entry is not None and entry.key_required:
            return f'<span style="color:#a40e26">No key: type one above or set ${esc(entry.env_keys[0])}.</span>'
        return ""

    # -- rendering ------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-render the header, notice, chat, approval box and panels from the session."""
        s = self.session
        badge = ' <span class="pgw-badge">Demo model: simulated, runs offline</span>' if s.simulated else (
            f' <span class="pgw-badge pgw-real">{esc(_real_provider_warning(s))}</span>')
        self.header.value = (f'<span class="pgw-title">Agent Playground</span><code>{esc(s.model_string)}</code>'
                             f" · agent <b>{esc(s.agent_name)}</b>{badge}")
        self.notice.value = f'<div class="pgw-notice">{esc(s.notice)}</div>' if s.notice else ""
        self._render_chat()
        pending = s.pending
        if pending is not None and not s.busy:
            self._show_approval(pending)
            self._pending_watch.ensure()
        else:
            self.approval_area.layout.display = "none"
        self.send_button.disabled = s.busy
        self.inspect_button.disabled = s.busy
        self.stop_button.disabled = not s.busy
        self.approve_button.disabled = self.decline_button.disabled = s.busy or pending is None
        options: list[tuple[str, int]] = [
            (f"{ex.index + 1}. {ex.user_text[:48]}" + (" (streaming)" if ex.status == "running" else ""), ex.index)
            for ex in s.exchanges
        ]
        self._syncing = True
        try:
            self.exchange_menu.options = options or [("(none yet)", -1)]
            selected = s.selected_exchange()
            self.exchange_menu.value = selected.index if selected is not None else -1
        finally:
            self._syncing = False
        self._render_panels()
        self.memory_ui.refresh()
        self.traces_ui.refresh()

    def _show_approval(self, pending: PendingApproval) -> None:
        """Fill the approval card for a newly pending call only: what the person typed (edited arguments, even invalid
        JSON, a decline reason) stays through re-renders and setting changes, and never carries over to another call."""
        if self._approval_for != pending.tool_call_id:
            self._approval_for = pending.tool_call_id
            self.approval_args.value = json.dumps(pending.args, indent=2, ensure_ascii=False)
            self.decline_reason.value = ""
        origin = str(pending.schema.get("origin", ""))
        source = f" (from MCP server <b>{esc(origin[4:])}</b>)" if origin.startswith("mcp:") else ""
        self.approval_text.value = (
            f"<b>{esc(pending.tool_name)}</b>{source} waits for your approval. Edit the arguments if needed, then "
            "approve or decline."
        )
        self.approval_area.layout.display = None

    def _render_chat(self) -> None:
        self.chat.render(self.session.exchanges, self.session.waiting_text())

    def _render_panels(self) -> None:
        try:
            html_by_panel = panel_html(self.session, self._inspect_preview)
        except Exception as exc:  # a panel must never break the playground
            html_by_panel = {name: _empty(f"Cannot show this panel: {self.session.mask(str(exc))}") for name in PANELS}
        for name, value in html_by_panel.items():
            self.panels[name].value = value

    # -- actions for code (the buttons call the same) -------------------------------------------------------------
    def inspect(self, text: str) -> dict[str, Any] | None:
        """Show the exact request `send(text)` would make in the Inspect panel; nothing is sent."""
        try:
            self._inspect_preview = self.session.inspect(text)
        except (PlaygroundError, ValueError) as exc:
            self.session.notice = self.session.mask(str(exc))
            self._inspect_preview = None
        else:
            self.session.notice = None
            self.session.select(None)
        self.refresh()
        self.panel_tabs.selected_index = PANELS.index("Inspect")
        return self._inspect_preview

    async def send(self, text: str) -> None:
        """Send a message and stream the reply into the chat (what the Send button does)."""
        self._inspect_preview = None
        await self._consume(self.session.send(text))
        self.composer_ui.refresh()  # sent attachments leave the list (widgets_composer.py)

    async def approve(self, args: str | Mapping[str, Any] | None = None) -> None:
        """Approve the pending tool call, optionally with edited arguments, and stream the rest of the run."""
        pending = self.session.pending
        await self._consume(self.session.approve(pending.tool_call_id if pending else "", args))

    async def decline(self, reason: str | None = None) -> None:
        pending = self.session.pending
        await self._consume(self.session.decline(pending.tool_call_id if pending else "", reason))

    def stop(self) -> bool:
        stopped = self.session.stop()
        self.refresh()
        return stopped

    def reset(self) -> None:
        self.session.reset()
        self._inspect_preview = None
        self.compare_out.value = ""
        self.refresh()

    def list_models(self) -> list[str]:
        models = self.session.list_models()
        self.model_box.options = tuple(models)
        if models:
            self.session.notice = None
        self.refresh()
        return models

    def save(self, path: str | Path | None = None) -> str:
        """The session as JSON (never the key), written to `path`: by default a new file next to the notebook (the
        kernel's working folder), named under the button. Not embedded in the page: a long session is megabytes."""
        data = self.session.save()
        target = Path(path) if path is not None else Path.cwd() / time.strftime("playground-session-%Y%m%d-%H%M%S.json")
        try:
            target.write_text(data, encoding="utf-8")
        except OSError as exc:
            self.session.notice = self.session.mask(f"Save session: cannot write {target} ({exc})")
            self.refresh()
            return data
        size = f"{len(data.encode()) / 1024:,.0f} KB"
        self.save_link.value = (f'<span class="pgw-muted">Saved to <code>{esc(target.name)}</code> ({size}) next to '
                                "the notebook; load it with Load session.</span>")
        return data

    def load(self, data: str | bytes) -> list[str]:
        try:
            problems = self.session.load(data)
        except (PlaygroundError, ValueError) as exc:
            problems = [str(exc)]
        self.session.notice = self.session.mask("; ".join(problems)) if problems else None
        self._inspect_preview = None
        self._sync_controls()
        self.refresh()
        return problems

    async def compare(self, text: str, models: str | None = None) -> list[CompareOutcome]:
        """Send `text` to each column of the Compare tab (or, for code, to each `provider:model` line of `models`)."""
        try:
            columns = parse_compare_columns(models) if models else self.compare_ui.columns()
            outcomes = await self.session.compare(text, columns)
        except (PlaygroundError, ValueError) as exc:
            self.session.notice = self.session.mask(str(exc))
            self.refresh()
            return []
        self.compare_ui.show(outcomes)
        self.compare_out.value = compare_html(outcomes)
        return outcomes

    async def wait(self) -> None:
        """Wait for the streaming action a button started (for code and tests)."""
        task = self._task
        if task is not None:
            await task

    # -- running the streaming actions -------------------------------------------------------------------------
    def _on_message_msg(self, _widget: Any, content: Mapping[str, Any], _buffers: Any) -> None:
        if isinstance(content, Mapping) and content.get("event") == "submit":
            self._send_from_box()

    def _send_from_box(self) -> None:
        text = self.message_box.value
        s = self.session
        if self._running():  # a second click (or Enter) while the reply streams: nothing to do, nothing to complain
            return
        if text.strip() and s.pending is None:  # a refused message stays in the box
            self.message_box.value = ""
        self._launch(self._send_events(text))

    async def _send_events(self, text: str) -> None:
        await self.send(text)

    async def _approve_events(self) -> None:
        await self.approve(self.approval_args.value)

    async def _decline_events(self) -> None:
        await self.decline(self.decline_reason.value)

    def _launch_compare(self) -> None:
        async def run() -> None:
            await self.compare(self.compare_ui.message.value.strip() or self.message_box.value)

        self._launch(run())

    def _running(self) -> bool:
        """A reply streams, or a button's action was started and has not finished (a double click)."""
        return self.session.busy or (self._task is not None and not self._task.done())

    def _launch(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run an action on the kernel's event loop (a task, so the chat streams); without a loop, run it now."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(coro)
            return
        self._task = loop.create_task(coro)

    async def _consume(self, events: AsyncIterator[StreamEvent]) -> None:
        self.session.notice = None
        self.refresh()
        try:
            async for ev in _with_ticks(events, WAIT_REPAINT_SECONDS):
                if ev is None:  # no event for a while: the request waits; show for how long, the attempt, the timeout
                    self._render_chat()
                    continue
                now = time.monotonic()
                if isinstance(ev, FinishEvent | ErrorEvent | ToolApprovalEvent) or now - self._last_render > 0.05:
                    self._last_render = now
                    self._render_chat()
                    self.stop_button.disabled = not self.session.busy
                    self.send_button.disabled = self.session.busy
        except Exception as exc:  # the session reports failures as events; anything else still must not escape
            self.session.notice = self.session.mask(f"{type(exc).__name__}: {exc}")
        finally:
            self.refresh()
