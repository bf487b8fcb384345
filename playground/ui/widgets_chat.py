"""The notebook playground's chat: one widget per message and block, so a repaint changes only what changed.

Reasoning and tool calls are Accordions: the person's open/closed choice lives in the widget model, so an opened block
stays open while text streams and across re-renders (an HTML string would be rebuilt closed). The chat sits in a
column-reverse scroll box, which keeps the newest message in view as it grows (no script needed) and keeps the place
when the person scrolls up to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as w
import traitlets

from ..display import esc, to_json
from .render import TOOL_STATUS_LABELS, Block, finish_note
from .session import Exchange

EMPTY_HINT = "Type a message below and press Enter or Send. Reasoning and tool calls appear as collapsible blocks."


@dataclass
class ChatItem:
    """One thing in the chat: plain HTML, or a collapsible block (`title` set) whose body is `html`."""

    key: tuple[Any, ...]
    html: str
    title: str | None = None
    opened: bool = False
    css: str = ""


def _tool_body(b: Block) -> str:
    args = b.args if b.args is not None else b.args_text
    shown = args if isinstance(args, str) else to_json(args)
    body = f"<div><b>Arguments</b></div><pre>{esc(shown)}</pre>"
    if b.reason:
        body += f"<div><b>Reason given:</b> {esc(b.reason)}</div>"
    if b.result is not None:
        result = b.result if isinstance(b.result, str) else to_json(b.result)
        body += f"<div><b>Result</b></div><pre>{esc(result)}</pre>"
    return body


def _block_item(key: tuple[Any, ...], b: Block) -> ChatItem | None:
    if b.kind == "text":
        return ChatItem(key, f'<div class="pgw-msg pgw-assistant">{esc(b.text)}</div>') if b.text else None
    if b.kind == "reasoning":
        state = "" if b.done else " (thinking…)"
        return ChatItem(key, f"<pre>{esc(b.text)}</pre>", title=f"Reasoning{state}", css="pgw-reasoning")
    if b.kind == "tool":
        state = TOOL_STATUS_LABELS.get(b.status, b.status)
        return ChatItem(key, _tool_body(b), title=f"Tool call: {b.tool_name} · {state}",
                        opened=b.status == "approval", css="pgw-tool")
    if b.kind == "notice":
        return ChatItem(key, f'<div class="pgw-muted">{esc(b.text)}</div>')
    if b.kind == "error":
        return ChatItem(key, f'<div class="pgw-error"><b>Error.</b> {esc(b.text)}<br><i>The conversation is kept; '
                             "fix the problem and send again.</i></div>")
    return ChatItem(key, f'<div class="pgw-msg pgw-assistant">{esc(b.text)}</div>')


def chat_items(exchanges: list[Exchange], waiting: str | None = None) -> list[ChatItem]:
    """The conversation as items: user messages, answers, reasoning and tool blocks, notes. `waiting`: what a
    request that has not answered yet shows (the session's waiting_text: time waited, attempt, timeout)."""
    if not exchanges:
        return [ChatItem(("empty",), f'<div class="pgw-muted">{esc(EMPTY_HINT)}</div>')]
    items: list[ChatItem] = []
    for ex in exchanges:
        k = (id(ex), ex.index)
        items.append(ChatItem((*k, "user"), f'<div class="pgw-msg pgw-user">{esc(ex.user_text)}</div>'))
        for i, b in enumerate(ex.view.blocks):
            item = _block_item((*k, "block", i), b)
            if item is not None:
                items.append(item)
        note = finish_note(ex.view.finish_reason, (ex.config.get("settings") or {}).get("max_output_tokens"))
        if note and ex.view.finish_reason != "aborted":
            items.append(ChatItem((*k, "note"), f'<div class="pgw-note">{esc(note)}</div>'))
        if ex.status == "stopped":
            items.append(ChatItem((*k, "stopped"), '<div class="pgw-muted">Stopped.</div>'))
        if ex.status == "running" and (waiting or not ex.view.blocks) and ex is exchanges[-1]:
            items.append(ChatItem((*k, "waiting"), f'<div class="pgw-msg pgw-muted">{esc(waiting or "…")}</div>'))
    return items


def chat_html(exchanges: list[Exchange], waiting: str | None = None) -> str:
    """The conversation as one HTML string (for code and tests; the widget shows the same items as widgets)."""
    parts = []
    for item in chat_items(exchanges, waiting):
        if item.title is None:
            parts.append(item.html)
        else:
            opened = " open" if item.opened else ""
            parts.append(f'<details class="pgw-block {item.css}"{opened}><summary>{esc(item.title)}</summary>'
                         f"{item.html}</details>")
    return f'<div class="pgw-chat">{"".join(parts)}</div>'


class ChatView(traitlets.HasTraits):
    """The chat widgets. `box` goes in the layout; `value` is the chat as one HTML string (observable, for code)."""

    value = traitlets.Unicode("")

    def __init__(self, height: str = "360px") -> None:
        super().__init__()
        self._widgets: dict[tuple[Any, ...], w.Widget] = {}
        self._opened: set[tuple[Any, ...]] = set()  # blocks opened for the person once (an approval waiting)
        self.items = w.VBox(layout=w.Layout(flex="0 0 auto", width="100%"))
        self.items.add_class("pgw-chat")
        self.box = w.Box([self.items], layout=w.Layout(height=height, overflow="auto", flex_flow="column-reverse",
                                                       border="1px solid #d0d7de", padding="4px"))
        self.box.add_class("pgw-chat-box")

    def render(self, exchanges: list[Exchange], waiting: str | None = None) -> None:
        items = chat_items(exchanges, waiting)
        children: list[w.Widget] = []
        keep: dict[tuple[Any, ...], w.Widget] = {}
        for item in items:
            widget = self._widgets.get(item.key)
            if item.title is None:
                if not isinstance(widget, w.HTML):
                    widget = w.HTML()
                if widget.value != item.html:
                    widget.value = item.html
            else:
                if not isinstance(widget, w.Accordion):
                    body = w.HTML(item.html)
                    widget = w.Accordion(children=[body], titles=(item.title,),
                                         selected_index=0 if item.opened else None)
                    widget.add_class("pgw-block")
                    if item.css:
                        widget.add_class(item.css)
                else:
                    body = widget.children[0]
                    if isinstance(body, w.HTML) and body.value != item.html:
                        body.value = item.html
                    if widget.titles[0] != item.title:
                        widget.set_title(0, item.title)
                if item.opened and item.key not in self._opened:  # e.g. a tool call that now waits for approval
                    self._opened.add(item.key)
                    widget.selected_index = 0
            keep[item.key] = widget
            children.append(widget)
        self._widgets = keep
        if tuple(children) != tuple(self.items.children):
            self.items.children = children
        self.value = chat_html(exchanges, waiting)
