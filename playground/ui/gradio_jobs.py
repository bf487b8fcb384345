"""The browser playground's Jobs tab (Gradio layout and wiring only; the actions are the session's, jobs_session.py):
Send later (message, queue, delay, priority), the jobs with live status, and a finished job's exchange."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..errors import PlaygroundError
from .gradio_table import Table
from .panel_views import PanelTabs, panel_values
from .session import PlaygroundSession


def _table(s: PlaygroundSession) -> Any:
    headers, rows = s.jobs_rows()
    return Table(value=rows, headers=headers)


def build_jobs_tab(ui: Any) -> None:
    session = ui.session
    gr.Markdown("Queue a message to run in the background (a worker, or this playground's own consumer) and follow "
                "it here. Jobs queued from code or `playground worker` machines on the same queue show up too.")
    with gr.Row(equal_height=True):
        message = gr.Textbox("", label="Message to send later", scale=3, elem_id="pg-jobs-message",
                             placeholder="runs with the Chat tab's agent, model, instructions and settings")
        queue = gr.Textbox("default", label="Queue", scale=1, elem_id="pg-jobs-queue")
        delay = gr.Number(0, label="Delay (s)", minimum=0, scale=1, elem_id="pg-jobs-delay")
        priority = gr.Number(0, label="Priority (higher first)", precision=0, scale=1, elem_id="pg-jobs-priority")
    with gr.Row():
        send = gr.Button("Send later", variant="primary", elem_id="pg-jobs-send")
        refresh = gr.Button("Refresh", elem_id="pg-jobs-refresh")
    notice = gr.Markdown("", elem_id="pg-jobs-notice")
    table = Table(value=[], headers=["job", "status"], interactive=False, wrap=True, elem_id="pg-jobs-table",
                  label="Jobs (newest first; click a finished one to open its exchange)")
    with gr.Accordion("Job", open=True, elem_id="pg-jobs-job-box"):
        job_md = gr.Markdown("*Click a finished job.*", elem_id="pg-jobs-job")
        job_panels = PanelTabs("pg-jobs-job")
    timer = gr.Timer(2.0, active=False)  # live status once the tab has been opened

    def on_send(s: PlaygroundSession, text: str, q: str, wait: float | None, prio: float | None) -> list[Any]:
        try:
            s.send_later(text, queue=(q or "default").strip(), delay=float(wait or 0), priority=int(prio or 0))
        except PlaygroundError as exc:
            return [f"**Could not queue:** {s.mask(str(exc))}", gr.skip(), gr.skip()]
        return [s.jobs_notice or "", _table(s), ""]

    def on_refresh(s: PlaygroundSession) -> Any:
        try:
            return _table(s)
        except PlaygroundError:
            return gr.skip()

    def on_select(s: PlaygroundSession, evt: gr.SelectData) -> list[Any]:
        if evt.index is None:
            return [gr.skip()] * 7
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        _headers, rows = s.jobs_rows()
        if not 0 <= row < len(rows):
            return [gr.skip()] * 7
        job_id = rows[row][0]
        try:
            ex = s.open_job(job_id)
        except PlaygroundError as exc:
            return [f"**{exc}**", "", "", "", "", "", ""]
        return [s.job_markdown(job_id), *panel_values(ex)]

    def on_tab(s: PlaygroundSession) -> list[Any]:
        return [on_refresh(s), gr.Timer(active=True)]

    tab = ui.components.get("tab")
    if tab is not None:
        tab.select(on_tab, [session], [table, timer], api_visibility="private")
    send.click(on_send, [session, message, queue, delay, priority], [notice, table, message], api_name="send_later")
    refresh.click(on_refresh, [session], [table], api_name="jobs")
    timer.tick(on_refresh, [session], [table], api_visibility="private", show_progress="hidden")
    table.select(on_select, [session], [job_md, *job_panels.components], api_visibility="private")
