"""The browser playground's Traces tab: the selected (else the last) exchange's spans as a waterfall (model calls,
tools, approval waits), a list to pick a span from, and the picked span's attributes with its request/response.

Layout and wiring only; the data comes from `PlaygroundSession.trace_view()` (the same one the notebook shows).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from .render import pretty_json


def trace_updates(s: Any, span_id: str | None = None) -> list[Any]:
    """[header, waterfall, span picker, details, session cost] for a session."""
    view = s.trace_view(span_id)
    header = f"**Trace** `{view['trace_id']}`" if view["trace_id"] else "**Trace**"
    choices = view["choices"]
    value = span_id if any(v == span_id for _, v in choices) else None
    return [
        header,
        view["html"],
        gr.Radio(choices=choices, value=value),
        pretty_json(view["details"]) if view["details"] else "",
        s.cost_markdown(),
    ]


def build_traces_tab(ui: Any) -> None:
    """Lays out the tab (called inside the tab Gradio has opened) and wires it to `ui.session`."""
    header = gr.Markdown("**Trace**", elem_id="pg-trace-header")
    waterfall = gr.HTML('<div class="pg-trace pg-empty">Send a message to see its trace.</div>', elem_id="pg-trace",
                        js_on_load=CLICK_A_SPAN_JS)
    with gr.Row():
        with gr.Column(scale=1):
            spans = gr.Radio(choices=[], label="Spans (pick one to see its details)", elem_id="pg-trace-spans")
            refresh = gr.Button("Refresh", size="sm", elem_id="pg-trace-refresh")
        with gr.Column(scale=2):
            details = gr.Code("", language="json", label="Span details: attributes, request, response",
                              elem_id="pg-span-details")
    cost = gr.Markdown("*No cost yet.*", elem_id="pg-session-cost")
    outputs = [header, waterfall, spans, details, cost]

    def on_refresh(s: Any) -> list[Any]:
        return trace_updates(s)

    def on_turn(s: Any) -> list[Any]:
        if s.busy:  # a send refused while a reply streams: that reply's own end shows its trace
            return [gr.skip()] * len(outputs)
        return trace_updates(s)

    def on_pick(s: Any, span_id: str | None) -> list[Any]:
        return trace_updates(s, span_id)

    def on_bar(s: Any, evt: gr.EventData) -> list[Any]:
        return trace_updates(s, getattr(evt, "span_id", None))

    refresh.click(on_refresh, [ui.session], outputs)
    spans.input(on_pick, [ui.session, spans], outputs)
    waterfall.click(on_bar, [ui.session], outputs)  # a click on a bar of the waterfall picks that span
    # Once per turn, not on the chat's every repaint (a round trip each, dozens per streamed answer): when a turn
    # ends (send, approve, decline, Stop) or another exchange is selected or the chat cleared; and when the tab is
    # opened (a thread switched or a session loaded meanwhile: the chat is in another tab, so this is when it shows)
    ui.turn_hooks.append(lambda event: event.then(on_turn, [ui.session], outputs, show_progress="hidden",
                                                  api_visibility="private"))
    tab = ui.components.get("tab")
    if tab is not None:
        tab.select(on_turn, [ui.session], outputs, show_progress="hidden", api_visibility="private")


CLICK_A_SPAN_JS = """
element.addEventListener('click', (event) => {
  const row = event.target.closest('[data-span-id]');
  if (row) trigger('click', {span_id: row.dataset.spanId});
});
"""

TRACES_CSS = """
.pg-trace { font-size: 13px; }
.pg-span { display: grid; grid-template-columns: minmax(180px, 30%) 1fr 130px; gap: 8px; align-items: center;
           padding: 2px 0; }
.pg-span-name { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.pg-span-track { position: relative; height: 12px; background: rgba(148, 163, 184, 0.15); border-radius: 3px; }
.pg-span-bar { position: absolute; top: 0; height: 12px; border-radius: 3px; min-width: 2px; }
.pg-span-ms { text-align: right; font-variant-numeric: tabular-nums; }
.pg-span-selected { outline: 2px solid #6366f1; border-radius: 3px; }
.pg-span { cursor: pointer; }
"""
