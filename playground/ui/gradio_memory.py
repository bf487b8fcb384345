"""The browser playground's Threads bar and Memory tab (Gradio layout and wiring only; the actions are the session's).

The current thread's id is kept in the page URL (`?thread=...`), so a page reload, or a server restart, opens the
same thread again and the conversation comes back from the memory store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from ..errors import PlaygroundError
from .session import PlaygroundSession

URL_JS = """(thread) => {
  const url = new URL(window.location.href);
  if (thread) { url.searchParams.set("thread", thread); } else { url.searchParams.delete("thread"); }
  window.history.replaceState(null, "", url.toString());
  return [];
}"""


def _choices(s: PlaygroundSession) -> list[tuple[str, str]]:
    choices = s.thread_choices()
    if s.thread_id is not None and s.thread_id not in [v for _, v in choices]:
        choices = [("(this new thread)", s.thread_id), *choices]
    return choices


class ThreadsUI:
    """Components of the Threads bar (made where it is constructed) and their wiring."""

    def __init__(self, proto: PlaygroundSession) -> None:
        with gr.Accordion("Threads", open=True, elem_id="pg-threads-bar"):
            with gr.Row(equal_height=True):
                self.menu = gr.Dropdown(_choices(proto), value=None, label="Thread", scale=4,
                                        elem_id="pg-threads", info="saved conversations; pick one to continue it")
                self.new = gr.Button("New thread", size="sm", scale=1, elem_id="pg-thread-new")
                self.delete = gr.Button("Delete thread", size="sm", variant="stop", scale=1,
                                        elem_id="pg-thread-delete")
            with gr.Row(equal_height=True):
                self.title = gr.Textbox("", label="Rename", placeholder="a new title for this thread", scale=3,
                                        elem_id="pg-thread-title")
                self.rename = gr.Button("Rename", size="sm", scale=1, elem_id="pg-thread-rename")
                self.recall = gr.Checkbox(False, label="Semantic recall", scale=1, elem_id="pg-memory-recall",
                                          info="recall similar messages from all threads")
                self.working = gr.Checkbox(False, label="Working memory", scale=1, elem_id="pg-memory-working",
                                           info="the model keeps notes about you")
        self.thread_id = gr.Textbox("", visible=False, elem_id="pg-thread-id")
        self.panel: Any = None

    def memory_tab(self) -> Any:
        """The Memory panel (call inside the panels' Tabs)."""
        with gr.Tab("Memory", id="memory"):
            self.panel = gr.Markdown("*Send a message to see what memory adds.*", elem_id="pg-memory-panel")
        return self.panel

    @property
    def outputs(self) -> list[Any]:
        return [self.menu, self.thread_id, self.panel]

    def updates(self, s: PlaygroundSession) -> list[Any]:
        return [gr.Dropdown(choices=_choices(s), value=s.thread_id), s.thread_id or "", s.memory_panel()]

    def after(self, event: Any, session: Any) -> Any:
        """Chain a refresh of the thread menu, the URL and the Memory panel after `event` (send, approve, clear...)."""
        return event.then(self.updates, [session], self.outputs, show_progress="hidden").then(
            None, [self.thread_id], None, js=URL_JS)

    def wire(self, demo: gr.Blocks, session: Any, turn_outputs: list[Any],
             all_updates: Callable[[PlaygroundSession], list[Any]]) -> None:
        outputs = [*turn_outputs, *self.outputs]

        def act(s: PlaygroundSession, fn: Callable[[], Any]) -> list[Any]:
            try:
                fn()
                s.notice = None
            except (PlaygroundError, ValueError) as exc:
                s.notice = s.mask(str(exc))
            return [*all_updates(s), *self.updates(s)]

        def on_load(s: PlaygroundSession, request: gr.Request) -> list[Any]:
            thread = dict(request.query_params).get("thread") if request is not None else None
            return act(s, lambda: s.open_thread(thread))

        def on_pick(s: PlaygroundSession, thread: str | None) -> list[Any]:
            if not thread or thread == s.thread_id:
                return [*[gr.skip()] * len(turn_outputs), *self.updates(s)]
            return act(s, lambda: s.switch_thread(thread))

        def on_rename(s: PlaygroundSession, title: str) -> list[Any]:
            def rename() -> None:
                if s.thread_id is None or s.memory is None or s.memory.get_thread(s.thread_id) is None:
                    raise ValueError("Rename: send a message first, so the thread exists.")
                s.rename_thread(s.thread_id, title)

            return [*act(s, rename), ""]

        def on_delete(s: PlaygroundSession) -> list[Any]:
            return act(s, lambda: s.delete_thread(s.thread_id) if s.thread_id else None)

        def on_switches(s: PlaygroundSession, recall: bool, working: bool) -> None:
            s.set_memory_options(semantic_recall=recall, working_memory=working)

        def url(event: Any) -> None:
            event.then(None, [self.thread_id], None, js=URL_JS)

        url(demo.load(on_load, [session], outputs, show_progress="hidden"))
        url(self.menu.input(on_pick, [session, self.menu], outputs, show_progress="hidden"))
        url(self.new.click(lambda s: act(s, s.new_thread), [session], outputs, api_name="new_thread"))
        url(self.delete.click(on_delete, [session], outputs, api_name="delete_thread"))
        url(self.rename.click(on_rename, [session, self.title], [*outputs, self.title], api_name="rename_thread"))
        for box in (self.recall, self.working):
            box.input(on_switches, [session, self.recall, self.working], None, api_visibility="private")
