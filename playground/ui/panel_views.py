"""An exchange opened outside the chat (an evaluation's case, a finished job) with every panel, for both front ends:
`PanelTabs` lays the panels out in Gradio; `details_html` renders them as collapsible blocks for the notebook."""

from __future__ import annotations

from html import escape as esc
from typing import Any

from .render import exchange_panels

PANEL_NAMES = ("Raw request", "Raw response", "Reasoning", "Sources", "Usage", "Steps")


def panel_values(exchange: Any) -> list[str]:
    """The panels' contents in PANEL_NAMES order."""
    p = exchange_panels(exchange)
    return [p.raw_request, p.raw_response, p.reasoning, p.sources, p.usage, p.steps]


def details_html(exchange: Any) -> str:
    """Every panel as a <details> block (notebook views); Steps is already escaped HTML."""
    out = []
    for name, value in zip(PANEL_NAMES, panel_values(exchange), strict=True):
        body = value if name == "Steps" else f"<pre>{esc(value)}</pre>"
        out.append(f"<details><summary>{name}</summary>{body}</details>")
    return "".join(out)


class PanelTabs:
    """The panels as Gradio tabs (made where it is constructed); `components` in PANEL_NAMES order."""

    def __init__(self, prefix: str) -> None:
        import gradio as gr

        self.components: list[Any] = []
        with gr.Tabs():
            for name in PANEL_NAMES:
                slug = name.lower().replace(" ", "-")
                with gr.Tab(name):
                    if name.startswith("Raw"):
                        comp: Any = gr.Code("", language="json", elem_id=f"{prefix}-{slug}")
                    elif name == "Steps":
                        comp = gr.HTML("", elem_id=f"{prefix}-{slug}")
                    else:
                        comp = gr.Markdown("", elem_id=f"{prefix}-{slug}")
                    self.components.append(comp)
