"""The browser playground: a Gradio Blocks layout wired to `PlaygroundSession` (all state and actions live there; this
module only lays out components and forwards events). One PlaygroundSession per browser session (a `gr.State`), so two
people on one server never see each other's key, conversation or settings.

    playground ui [--agents DIR] [--host 127.0.0.1] [--port 7860] [--auth USER:PASS]

Offline by construction: analytics and Hugging Face telemetry are switched off before Gradio is imported, server-side
rendering is off, fonts are the system's, and the server binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import json
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr
import gradio.themes as gr_themes

from ..events import ErrorEvent, FinishEvent, StepStartEvent, StreamEvent
from ..providers.registry import PROVIDERS
from .render import SETTING_LABELS, chat_messages, exchange_panels, pretty_json
from .session import (
    COMPATIBLE,
    SETTING_FIELDS,
    CompareColumn,
    PlaygroundSession,
    load_agents,
    provider_choices,
)

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
COMPARE_COLUMNS = 4


def theme() -> gr_themes.Base:
    return gr_themes.Default(font=SYSTEM_FONTS, font_mono=MONO_FONTS, primary_hue="indigo")


def css() -> str:
    path = ASSETS / "playground.css"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


# ----------------------------------------------------------------------------------------------------------------
# View helpers (session -> component updates)


def _notice(text: str | None) -> Any:
    return gr.Markdown(f"**Problem:** {text}" if text else "", visible=bool(text))


def _status(s: PlaygroundSession) -> str:
    if s.simulated:
        where = "the **demo model** — simulated, offline: no request leaves this machine"
    else:
        entry = PROVIDERS.get(s.provider)
        label = entry.label if entry else s.provider
        where = f"**{label}** `{s.model_string}` — a real provider: messages are sent to it"
        if s.provider == COMPATIBLE and s.base_url:
            where += f" at `{s.mask(s.base_url)}`"
    return f"Agent **{s.agent_name}** on {where}."


def _tools_markdown(s: PlaygroundSession) -> str:
    tools = s.tool_schemas()
    if not tools:
        return "*This agent has no tools.*"
    parts = []
    for t in tools:
        flag = " · needs approval" if t["requires_approval"] else ""
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


def _model_choices(s: PlaygroundSession) -> list[str]:
    models = s.list_models()
    if s.model and s.model not in models:
        models = [s.model, *models]
    return models


def config_updates(s: PlaygroundSession, *, list_models: bool = True) -> list[Any]:
    """Updates for every settings component, in CONFIG order (the API key is never among them)."""
    models = _model_choices(s) if list_models else ([s.model] if s.model else [])
    updates: list[Any] = [
        gr.Dropdown(value=s.agent_name),
        gr.Dropdown(value=s.provider),
        gr.Textbox(value=s.base_url or "", visible=s.provider == COMPATIBLE),
        gr.Dropdown(choices=models, value=s.model or None),
        gr.Textbox(value=s.instructions),
        *[gr.update(value=_setting_value(s, n)) for n in SETTING_FIELDS],
        gr.CheckboxGroup(choices=list(s.template.tools), value=list(s.active_tools)),
        gr.Dropdown(choices=_tool_choice_choices(s), value=s.tool_choice),
        gr.Checkbox(value=s.require_approval),
        gr.Number(value=s.max_steps),
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
    title = (f"### Approval needed: `{p.tool_name}`\n{desc}\n\nThe model wants to run **{p.tool_name}** with the "
             "arguments below. Edit them if needed (JSON), then **Approve**, or **Decline** with a reason.")
    return [gr.Group(visible=True), title, gr.Textbox(value=json.dumps(p.args, indent=2)), gr.Textbox(value="")]


def _panel_updates(s: PlaygroundSession, inspect: dict[str, Any] | None = None) -> list[Any]:
    ex = s.selected_exchange()
    p = exchange_panels(ex, inspect)
    code = s.export_code(ex) if ex is not None else {"python": "", "curl": ""}
    return [p.inspect, p.raw_request, p.raw_response, p.reasoning, p.sources, p.usage, p.usage_chart, p.steps,
            code["python"], code["curl"]]


def _chat(s: PlaygroundSession) -> list[dict[str, Any]]:
    messages, _ = chat_messages(s.exchanges)
    return [dict(m) for m in messages]


def _all_updates(s: PlaygroundSession, inspect: dict[str, Any] | None = None) -> list[Any]:
    """chat, notice, approval card (4), panels (10)."""
    return [_chat(s), _notice(s.notice), *_approval_updates(s), *_panel_updates(s, inspect)]


def _configure(s: PlaygroundSession, values: tuple[Any, ...]) -> list[str]:
    """Apply the settings column's values (CONFIG_INPUT order) to the session; returns the problems."""
    (agent, provider, base_url, model, api_key, instructions, *rest) = values
    settings_values = rest[: len(SETTING_FIELDS)]
    tools, tool_choice, require_approval, max_steps = rest[len(SETTING_FIELDS):]
    problems = s.configure(agent=agent, provider=provider)
    problems += s.configure(
        base_url=base_url or "", api_key=api_key or "", model=model or "", instructions=instructions or "",
        settings=dict(zip(SETTING_FIELDS, settings_values, strict=True)), active_tools=list(tools or []),
        tool_choice=tool_choice or "auto", require_approval=bool(require_approval),
        max_steps=max_steps if max_steps is not None else "",
    )
    return problems


# ----------------------------------------------------------------------------------------------------------------
# Event handlers (thin: each forwards to the session and renders)


async def _stream(s: PlaygroundSession, events: AsyncIterator[StreamEvent]) -> AsyncIterator[list[Any]]:
    """While streaming, repaint the chat (at most every CHAT_STREAM_INTERVAL); at the end, everything."""
    skip_rest = [gr.skip()] * (1 + 4 + 10)
    last = 0.0
    async for ev in events:
        now = time.monotonic()
        if isinstance(ev, FinishEvent | ErrorEvent | StepStartEvent) or now - last >= CHAT_STREAM_INTERVAL:
            last = now
            yield [_chat(s), *skip_rest]
    yield _all_updates(s)


def build_app(agents_dir: str | Path | None = None) -> gr.Blocks:
    """The playground's Blocks. `agents_dir` (default ./agents) holds example agents, one `agent` per file."""
    folder = Path(agents_dir) if agents_dir is not None else DEFAULT_AGENTS
    agents, load_problems = load_agents(folder if folder.is_dir() else None)
    if agents_dir is not None and not folder.is_dir():
        load_problems.append(f"agents folder {str(folder)!r} does not exist")

    def new_session() -> PlaygroundSession:
        return PlaygroundSession((agents, load_problems))

    proto = new_session()
    providers = provider_choices()

    with gr.Blocks(title="Agent Playground", analytics_enabled=False) as demo:
        session = gr.State(new_session)  # one PlaygroundSession per browser session
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
                base_url = gr.Textbox(proto.base_url or "", label="Base URL", visible=proto.provider == COMPATIBLE,
                                      placeholder="http://127.0.0.1:8000/v1")
                model = gr.Dropdown(_model_choices(proto), value=proto.model, label="Model", allow_custom_value=True,
                                    info="listed by the provider; or type a name")
                api_key = gr.Textbox("", label="API key", type="password",
                                     placeholder="kept for this browser session only; empty: the environment's",
                                     elem_id="pg-api-key")
                instructions = gr.Textbox(proto.instructions, label="Instructions", lines=3, max_lines=12)
                with gr.Accordion("Model settings", open=False, elem_id="pg-model-settings"):
                    gr.Markdown("Leave a field empty to leave it unset: unset settings are not sent.")
                    setting_inputs: list[Any] = []
                    for name in SETTING_FIELDS:
                        label = SETTING_LABELS.get(name, name)
                        # text fields, not gr.Number: an empty field must stay "unset" (a Number sends 0)
                        comp: Any = gr.Textbox(_setting_value(proto, name), label=label,
                                               lines=2 if name == "stop_sequences" else 1,
                                               placeholder=f"unset ({SETTING_INFO[name]})",
                                               max_lines=6 if name == "stop_sequences" else 1)
                        setting_inputs.append(comp)
                tools = gr.CheckboxGroup(list(proto.template.tools), value=proto.active_tools, label="Tools",
                                         info="checked tools are offered to the model")
                tool_schemas = gr.Markdown(_tools_markdown(proto), elem_id="pg-tool-schemas")
                tool_choice = gr.Dropdown(_tool_choice_choices(proto), value=proto.tool_choice, label="Tool choice")
                require_approval = gr.Checkbox(proto.require_approval, label="Require approval",
                                               info="every tool call waits for Approve / Decline")
                max_steps = gr.Number(proto.max_steps, label="Max steps", precision=0)
            # -- chat and panels ----------------------------------------------------------------------------------
            with gr.Column(scale=3, elem_id="pg-main"), gr.Tabs(elem_id="pg-main-tabs"):
                with gr.Tab("Chat", id="chat"):
                    notice = gr.Markdown("", visible=False, elem_id="pg-notice")
                    chatbot = gr.Chatbot([], label="Chat", height=460, elem_id="pg-chat",
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
                    message = gr.Textbox("", label="Message", lines=2, max_lines=8, elem_id="pg-message",
                                         placeholder="Type a message; Enter sends, Shift+Enter for a new line")
                    with gr.Row():
                        send_btn = gr.Button("Send", variant="primary")
                        inspect_btn = gr.Button("Inspect")
                        stop_btn = gr.Button("Stop", variant="stop")
                        clear_btn = gr.Button("Clear")
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
                        with gr.Tab("Code", id="code"):
                            p_python = gr.Code("", language="python", label="Python", interactive=False)
                            p_curl = gr.Code("", language="shell", label="curl", interactive=False)
                    with gr.Row(elem_id="pg-session-files"):
                        save_btn = gr.Button("Save session", size="sm")
                        load_btn = gr.UploadButton("Load session", file_types=[".json"], size="sm")
                        session_file = gr.File(label="Session file", visible=False, interactive=False)
                with gr.Tab("Compare", id="compare"):
                    gr.Markdown("Send the same message to 2–4 models or settings side by side. The agent, "
                                "instructions, tools and conversation of the Chat tab are used; the "
                                "conversation is not changed.")
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

        config_inputs = [agent, provider, base_url, model, api_key, instructions, *setting_inputs, tools,
                         tool_choice, require_approval, max_steps]
        config_outputs = [agent, provider, base_url, model, instructions, *setting_inputs, tools, tool_choice,
                          require_approval, max_steps, tool_schemas, status, notice]
        approval_outputs = [approval, approval_title, approval_args, reason]
        panel_outputs = [p_inspect, p_raw_request, p_raw_response, p_reasoning, p_sources, p_usage, p_usage_chart,
                         p_steps, p_python, p_curl]
        turn_outputs = [chatbot, notice, *approval_outputs, *panel_outputs]

        # -- settings ---------------------------------------------------------------------------------------------
        def on_agent(s: PlaygroundSession, name: str) -> list[Any]:
            problems = s.configure(agent=name)
            s.notice = "; ".join(problems) or None
            return config_updates(s)

        def on_provider(s: PlaygroundSession, prefix: str, url: str, key: str) -> list[Any]:
            s.notice = None
            problems = s.configure(provider=prefix, base_url=url or "", api_key=key or "")
            if problems:
                s.notice = "; ".join(problems)
            return config_updates(s)

        def on_base_url(s: PlaygroundSession, url: str, key: str) -> list[Any]:
            s.notice = None
            problems = s.configure(base_url=url or "", api_key=key or "")
            if problems:
                s.notice = "; ".join(problems)
                return [gr.skip(), _status(s), _notice(s.notice)]
            models = _model_choices(s) if s.base_url else [s.model] if s.model else []
            return [gr.Dropdown(choices=models, value=s.model or None), _status(s), _notice(s.notice)]

        def on_config(s: PlaygroundSession, *values: Any) -> list[Any]:
            problems = _configure(s, values)
            s.notice = "; ".join(problems) or None
            return [gr.Dropdown(choices=_tool_choice_choices(s), value=s.tool_choice), _status(s), _notice(s.notice)]

        agent.input(on_agent, [session, agent], config_outputs, api_name="select_agent")
        provider.input(on_provider, [session, provider, base_url, api_key], config_outputs, api_name="select_provider")
        base_url.blur(on_base_url, [session, base_url, api_key], [model, status, notice], api_name="set_base_url")
        for comp in [model, instructions, *setting_inputs, tools, tool_choice, require_approval, max_steps]:
            comp.input(on_config, [session, *config_inputs], [tool_choice, status, notice], api_visibility="private",
                       show_progress="hidden")
        api_key.blur(on_config, [session, *config_inputs], [tool_choice, status, notice], api_visibility="private",
                     show_progress="hidden")
        def on_configure_json(s: PlaygroundSession, fields_json: str) -> list[Any]:
            """API: apply choices given as JSON, e.g. {"agent": "support", "settings": {"temperature": 0.2}}."""
            try:
                fields = json.loads(fields_json or "{}")
                if not isinstance(fields, dict):
                    raise ValueError("expected a JSON object")
                problems = s.configure(**{k: fields[k] for k in ("agent", "provider") if k in fields})
                problems += s.configure(**{k: v for k, v in fields.items() if k not in ("agent", "provider")})
            except (ValueError, TypeError) as exc:
                problems = [f"configure: {s.mask(str(exc))}"]
            s.notice = "; ".join(problems) or None
            return [_status(s), _notice(s.notice), json.dumps(s.config())]

        api_fields = gr.Textbox(visible=False)
        api_config = gr.JSON(visible=False)
        gr.Button(visible=False).click(
            on_configure_json, [session, api_fields], [status, notice, api_config], api_name="configure"
        )

        # -- chat -------------------------------------------------------------------------------------------------
        async def on_send(s: PlaygroundSession, text: str, *values: Any) -> AsyncIterator[list[Any]]:
            problems = _configure(s, values)
            if problems:
                s.notice = "; ".join(problems)
                yield [gr.skip(), _notice(s.notice), *[gr.skip()] * 4, *[gr.skip()] * 10, gr.skip()]
                return
            if not (text or "").strip():
                s.notice = "Message: type a message first"
                yield [gr.skip(), _notice(s.notice), *[gr.skip()] * 4, *[gr.skip()] * 10, gr.skip()]
                return
            started = s.busy or s.pending is not None
            async for updates in _stream(s, s.send(text)):
                yield [*updates, gr.skip() if started else ""]

        async def on_approve(s: PlaygroundSession, args_text: str) -> AsyncIterator[list[Any]]:
            call_id = s.pending.tool_call_id if s.pending else ""
            async for updates in _stream(s, s.approve(call_id, args_text)):
                if s.pending is not None and s.notice:  # bad arguments: keep the card as it is
                    yield [updates[0], _notice(s.notice), *[gr.skip()] * 4, *[gr.skip()] * 10]
                    continue
                yield updates

        async def on_decline(s: PlaygroundSession, why: str) -> AsyncIterator[list[Any]]:
            call_id = s.pending.tool_call_id if s.pending else ""
            async for updates in _stream(s, s.decline(call_id, why)):
                yield updates

        def on_inspect(s: PlaygroundSession, text: str, *values: Any) -> list[Any]:
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

        send_event = dict(fn=on_send, inputs=[session, message, *config_inputs], outputs=[*turn_outputs, message],
                          concurrency_limit=None, show_progress="hidden")
        send_btn.click(**send_event, api_visibility="private")  # type: ignore[arg-type]
        message.submit(**send_event, api_visibility="private")  # type: ignore[arg-type]

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
        approve_btn.click(on_approve, [session, approval_args], turn_outputs, api_name="approve",
                          concurrency_limit=None, show_progress="hidden")
        decline_btn.click(on_decline, [session, reason], turn_outputs, api_name="decline", concurrency_limit=None,
                          show_progress="hidden")
        inspect_btn.click(on_inspect, [session, message, *config_inputs], [notice, p_inspect, panel_tabs],
                          api_visibility="private", concurrency_limit=None)
        stop_btn.click(on_stop, [session], None, api_name="stop", queue=False)
        clear_btn.click(on_clear, [session], [*turn_outputs, message], api_name="clear")
        chatbot.select(on_select, [session], panel_outputs, api_visibility="private")

        # -- save / load ------------------------------------------------------------------------------------------
        def on_save(s: PlaygroundSession) -> Any:
            folder = Path(tempfile.mkdtemp(prefix="playground-session-"))
            path = folder / f"playground-session-{time.strftime('%Y%m%d-%H%M%S')}.json"
            path.write_text(s.save(), encoding="utf-8")
            return gr.File(value=str(path), visible=True)

        def on_load(s: PlaygroundSession, file: Any) -> list[Any]:
            path = file if isinstance(file, str) else getattr(file, "name", None)
            try:
                data = Path(str(path)).read_text(encoding="utf-8")
                problems = s.load(data)
                s.notice = "; ".join(problems) or None
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                s.notice = s.mask(str(exc))
            updates = config_updates(s, list_models=False)
            return [*updates[:-1], *_all_updates(s)]

        save_btn.click(on_save, [session], [session_file], api_name="save")
        load_btn.upload(on_load, [session, load_btn], [*config_outputs[:-1], *turn_outputs], api_name="load")

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
                           f"{o.usage.total_tokens} total  \n**Latency:** {latency} · finish `{o.finish_reason}`")
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
                                 "latency_ms": o.latency_ms, "finish_reason": o.finish_reason, "error": o.error}
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
    demo = build_app(agents_dir)
    demo.queue(default_concurrency_limit=None)
    demo.launch(**{**launch_kwargs(host, port, auth), "prevent_thread_lock": True, "quiet": True, **kwargs})
    return demo


def launch(agents_dir: str | Path | None = None, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None, **kwargs: Any) -> None:
    """Start the playground at http://HOST:PORT on the demo model and block until it is stopped."""
    demo = build_app(agents_dir)
    demo.queue(default_concurrency_limit=None)
    demo.launch(**{**launch_kwargs(host, port, auth), **kwargs})

