"""The notebook playground's Jobs tab (ipywidgets layout only; the actions are the session's, jobs_session.py):
Send later (message, queue, delay, priority), the jobs with live status, and a finished job's exchange."""

from __future__ import annotations

import asyncio
from html import escape as esc
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..errors import PlaygroundError
from .panel_views import details_html

if TYPE_CHECKING:
    from .widgets import PlaygroundWidget


class JobsWidgets:
    """Message, queue, delay, priority and Send later; the jobs table (refreshed while jobs are unfinished); a job."""

    def __init__(self, owner: PlaygroundWidget) -> None:
        self.owner = owner
        self.message = w.Text(placeholder="a message to run in the background with the chat's settings",
                              layout=w.Layout(width="100%"))
        self.queue = w.Text(value="default", description="Queue")
        self.delay = w.BoundedFloatText(value=0, min=0, max=86400 * 7, description="Delay (s)")
        self.priority = w.IntText(value=0, description="Priority")
        self.send_button = w.Button(description="Send later", button_style="primary", icon="clock-o")
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.notice = w.HTML()
        self.table = w.HTML()
        self.job_menu = w.Dropdown(description="Open job", options=[("(choose)", "")], layout=w.Layout(width="70%"))
        self.job_view = w.HTML()
        self.page = w.VBox([
            self.message, w.HBox([self.queue, self.delay, self.priority]),
            w.HBox([self.send_button, self.refresh_button]), self.notice, self.table, self.job_menu, self.job_view,
        ])
        self.send_button.on_click(lambda _b: self.send())
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.job_menu.observe(self._on_job, names="value")
        self._watching = False
        self._watch_task: asyncio.Task[None] | None = None

    # -- actions --------------------------------------------------------------------------------------------------
    def send(self) -> dict[str, Any] | None:
        s = self.owner.session
        try:
            info = s.send_later(self.message.value, queue=(self.queue.value or "default").strip(),
                                delay=float(self.delay.value or 0), priority=int(self.priority.value or 0))
        except PlaygroundError as exc:
            self.notice.value = f'<div class="pgw-error">Could not queue: {esc(s.mask(str(exc)))}</div>'
            return None
        self.notice.value = f"<div>{esc(s.jobs_notice or '')}</div>"
        self.message.value = ""
        self.refresh()
        self._watch()
        return info

    def refresh(self) -> list[list[Any]]:
        headers, rows = self.owner.session.jobs_rows()
        head = "".join(f"<th>{esc(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        self.table.value = f'<table class="pgw-jobs"><tr>{head}</tr>{body}</table>' if rows else "<i>No jobs.</i>"
        finished = [(f"{r[0]} ({r[1]}) {r[6][:40]}", r[0]) for r in rows if r[1] in ("succeeded", "failed",
                                                                                        "cancelled")]
        current = self.job_menu.value
        self.job_menu.options = [("(choose)", ""), *finished]
        if current in {v for _, v in finished}:
            self.job_menu.value = current
        return rows

    def _watch(self) -> None:
        """Refresh every 2 s while a job is unfinished (live status), on the notebook's event loop."""
        if self._watching:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no running loop (a plain script): Refresh by hand

        async def watch() -> None:
            self._watching = True
            try:
                while True:
                    await asyncio.sleep(2.0)
                    rows = self.refresh()
                    if all(r[1] in ("succeeded", "failed", "cancelled") for r in rows):
                        return
            finally:
                self._watching = False

        self._watch_task = loop.create_task(watch())  # kept: a task nobody holds may be collected mid-way

    def open(self, job_id: str) -> None:
        s = self.owner.session
        try:
            ex = s.open_job(job_id)
        except PlaygroundError as exc:
            self.job_view.value = f'<div class="pgw-error">{esc(str(exc))}</div>'
            return
        answer = ex.result.text if ex.result is not None else ""
        self.job_view.value = (
            f"<div><b>Job {esc(job_id)}</b></div><div>Message: {esc(ex.user_text)}</div>"
            f"<div>Answer: {esc(answer)}</div>" + (f"<div>Error: {esc(ex.error)}</div>" if ex.error else "")
            + details_html(ex)
        )

    def _on_job(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.open(change["new"])
