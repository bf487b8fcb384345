"""The notebook playground's Threads box and Memory panel (ipywidgets layout only; the actions are the session's)."""

from __future__ import annotations

from html import escape as esc
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..errors import PlaygroundError

if TYPE_CHECKING:
    from .widgets import PlaygroundWidget


def _markdown_html(text: str) -> str:
    """The Memory panel's Markdown as simple HTML (bold, code, fenced blocks, tables as preformatted text)."""
    import re

    out: list[str] = []
    in_code = False
    for line in text.split("\n"):
        if line.startswith("```"):
            out.append("</pre>" if in_code else '<pre class="pgw-pre">')
            in_code = not in_code
            continue
        if in_code:
            out.append(esc(line))
            continue
        html = esc(line)
        html = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html)
        html = re.sub(r"`(.+?)`", r"<code>\1</code>", html)
        html = re.sub(r"(?<!\w)\*(.+?)\*(?!\w)", r"<i>\1</i>", html)
        if line.startswith("|---"):
            continue
        out.append(f"<div>{html}</div>" if html else "")
    return "\n".join(out)


class MemoryWidgets:
    """Threads (menu, New, Rename, Delete), recall / working-memory switches and the Memory panel."""

    def __init__(self, owner: PlaygroundWidget) -> None:
        self.owner = owner
        self._syncing = False
        self.thread_menu = w.Dropdown(description="Thread", options=[("(new thread)", "")], value="",
                                      layout=w.Layout(flex="1"))
        self.new_button = w.Button(description="New thread", icon="plus", layout=w.Layout(width="120px"))
        self.rename_box = w.Text(placeholder="new title", layout=w.Layout(width="180px"))
        self.rename_button = w.Button(description="Rename", layout=w.Layout(width="90px"))
        self.delete_button = w.Button(description="Delete", button_style="danger", layout=w.Layout(width="90px"))
        self.recall_box = w.Checkbox(description="Semantic recall", indent=False, layout=w.Layout(width="150px"))
        self.working_box = w.Checkbox(description="Working memory", indent=False, layout=w.Layout(width="150px"))
        self.box = w.VBox([
            w.HBox([self.thread_menu, self.new_button]),
            w.HBox([self.rename_box, self.rename_button, self.delete_button, self.recall_box, self.working_box]),
        ])
        self.box.add_class("pgw-threads")
        self.panel = w.HTML()
        self.panel.add_class("pgw-memory-panel")
        self.panel_box = w.Accordion(children=[self.panel], titles=("Memory",))
        if owner.session.memory is None:
            self.box.layout.display = "none"
        self.thread_menu.observe(self._on_thread, names="value")
        self.new_button.on_click(lambda _b: self.new_thread())
        self.rename_button.on_click(lambda _b: self.rename(self.rename_box.value))
        self.delete_button.on_click(lambda _b: self.delete())
        self.recall_box.observe(lambda c: self._switch(semantic_recall=c["new"]), names="value")
        self.working_box.observe(lambda c: self._switch(working_memory=c["new"]), names="value")

    # -- actions (the buttons call the same) ----------------------------------------------------------------------
    def _act(self, fn: Any, *args: Any) -> None:
        s = self.owner.session
        try:
            fn(*args)
            s.notice = None
        except (PlaygroundError, ValueError) as exc:
            s.notice = s.mask(str(exc))
        self.owner.refresh()

    def new_thread(self) -> None:
        self._act(self.owner.session.new_thread)

    def switch(self, thread_id: str) -> None:
        self._act(self.owner.session.switch_thread, thread_id)

    def rename(self, title: str) -> None:
        s = self.owner.session
        if s.thread_id is None or s.memory is None or s.memory.get_thread(s.thread_id) is None:
            s.notice = "Rename: send a message first, so the thread exists."
            self.owner.refresh()
            return
        self._act(s.rename_thread, s.thread_id, title)
        self.rename_box.value = ""

    def delete(self) -> None:
        s = self.owner.session
        if s.thread_id is not None:
            self._act(s.delete_thread, s.thread_id)

    def _switch(self, **flags: bool) -> None:
        if not self._syncing:
            self.owner.session.set_memory_options(**flags)

    def _on_thread(self, change: Any) -> None:
        if self._syncing or self.owner.session.busy:  # the menu's own echo while a reply streams is no choice
            return
        value = change["new"]
        if value and value != self.owner.session.thread_id:
            self.switch(value)

    # -- rendering ------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        s = self.owner.session
        self.panel.value = _markdown_html(s.memory_panel())
        if s.memory is None:
            return
        self._syncing = True
        try:
            choices = s.thread_choices()
            ids = [v for _, v in choices]
            if s.thread_id is not None and s.thread_id not in ids:
                choices = [("(this new thread)", s.thread_id), *choices]
            self.thread_menu.options = choices or [("(new thread)", "")]
            self.thread_menu.value = s.thread_id if s.thread_id is not None else (choices[0][1] if choices else "")
            if s.thread_id is None and choices:
                self.thread_menu.options = [("(new thread)", ""), *choices]
                self.thread_menu.value = ""
            self.recall_box.value = s.memory_recall
            self.working_box.value = s.memory_working
        finally:
            self._syncing = False
