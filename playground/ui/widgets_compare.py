"""The notebook playground's Compare tab, at parity with the browser's: a message, 2-4 columns, each with its own
provider, model, base URL, temperature and max output tokens, and each column's answer under it."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..display import esc
from .render import finish_note
from .session import CompareColumn, CompareOutcome, provider_choices

COLUMNS = 4
FIELDS = ("provider", "model", "base_url", "temperature", "max_output_tokens")


class CompareWidgets:
    """Built by PlaygroundWidget; `page` is the Compare tab. `columns()` reads the column fields."""

    def __init__(self, pg: Any) -> None:
        self.pg = pg
        style = {"description_width": "78px"}

        def field(description: str, **kw: Any) -> w.Text:
            return w.Text(description=description, style=style, layout=w.Layout(width="100%"), **kw)

        self.message = w.Text(description="Message", placeholder="empty: the Chat tab's message box",
                              layout=w.Layout(width="100%"))
        self.count = w.ToggleButtons(options=[2, 3, 4], value=2, description="Columns")
        self.fields: list[dict[str, Any]] = []
        self.outputs: list[w.HTML] = []
        self.boxes: list[w.VBox] = []
        for i in range(COLUMNS):
            col: dict[str, Any] = {
                "provider": w.Dropdown(options=provider_choices(), value="demo", description=f"Provider {i + 1}",
                                       style=style, layout=w.Layout(width="100%")),
                "model": field(f"Model {i + 1}", placeholder="default model"),
                "base_url": field(f"Base URL {i + 1}", placeholder="for OpenAI-compatible"),
                "temperature": field(f"Temp. {i + 1}", value="" if i == 0 else "1.0", placeholder="as in Chat",
                                     tooltip=f"Temperature {i + 1}"),
                "max_output_tokens": field(f"Max tok. {i + 1}", placeholder="as in Chat",
                                           tooltip=f"Max output tokens {i + 1}"),
            }
            out = w.HTML()
            out.add_class("pgw-compare-answer")
            box = w.VBox([w.HTML(f"<b>Column {i + 1}</b>"), *col.values(), out],
                         layout=w.Layout(flex="1 1 220px", min_width="200px", padding="4px",
                                         border="1px solid #d0d7de", display=None if i < 2 else "none"))
            self.fields.append(col)
            self.outputs.append(out)
            self.boxes.append(box)
        self.button = w.Button(description="Compare", button_style="primary",
                               tooltip="Send the message to each column at once")
        self.summary = w.HTML()
        self.count.observe(lambda _c: self._show_count(), names="value")
        note = w.HTML('<span class="pgw-muted">The same message goes to each column with the agent, instructions, '
                      "tools and conversation of the Chat tab; the conversation is not changed.</span>")
        self.page = w.VBox([note, self.message, self.count,
                            w.HBox(self.boxes, layout=w.Layout(flex_flow="row wrap", width="100%")),
                            self.button, self.summary])

    @property
    def visible(self) -> int:
        """How many columns are shown (2 to 4)."""
        value = self.count.value
        return int(value) if isinstance(value, int | str) else 2

    def _show_count(self) -> None:
        for i, box in enumerate(self.boxes):
            box.layout.display = None if i < self.visible else "none"

    def columns(self) -> list[CompareColumn]:
        """The visible columns as the session takes them (an empty field leaves the Chat tab's value)."""
        out = []
        for col in self.fields[: self.visible]:
            settings = {"temperature": col["temperature"].value, "max_output_tokens": col["max_output_tokens"].value}
            out.append(CompareColumn(provider=col["provider"].value or "demo", model=col["model"].value.strip(),
                                     base_url=col["base_url"].value.strip() or None, settings=settings))
        return out

    def show(self, outcomes: list[CompareOutcome]) -> None:
        """Each column's answer under its fields."""
        from ..pricing import format_cost

        for i, out in enumerate(self.outputs):
            if i >= len(outcomes):
                out.value = ""
                continue
            o = outcomes[i]
            if o.error:
                out.value = f'<div class="pgw-error"><b>{esc(o.label)}</b><br>{esc(o.error)}</div>'
                continue
            latency = f"{o.latency_ms:,.0f} ms" if o.latency_ms is not None else "–"
            note = finish_note(o.finish_reason)
            out.value = (f'<div class="pgw-panel"><b>{esc(o.label)}</b>'
                         f'<div class="pgw-msg pgw-assistant">{esc(o.text) or "<i>(no text)</i>"}</div>'
                         + (f'<div class="pgw-note">{esc(note)}</div>' if note else "")
                         + f"<div>{o.usage.total_tokens:,} tokens · {latency} · {esc(format_cost(o.cost))} · "
                         f"finish {esc(o.finish_reason or '–')}</div></div>")
