"""A read-only table for the browser playground's tabs (Evaluate's cases, Jobs) that shows rows without pandas.

`gr.Dataframe` imports pandas (~0.3 s) to show any value, even the empty table each tab starts with, so building the
page paid for it on every start. `Table` is that Dataframe (the same Svelte component in the page: a Gradio
template, `is_template`) whose rows arrive as lists of lists, turned into the page's data here exactly as
Dataframe does it for lists; any other value (a DataFrame, a dict, a CSV path ...) goes to Dataframe as shipped.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from gradio.components.dataframe import DataframeData

from .gradio_import import no_stub_files

with no_stub_files():  # Gradio as shipped would write a gradio_table.pyi into the package

    class Table(gr.Dataframe):
        """`gr.Dataframe` for rows given as lists of lists (headers from `headers=`), without importing pandas."""

        is_template = True  # the page draws it with Dataframe's own component

        def postprocess(self, value: Any) -> DataframeData:
            if not (value is None or (isinstance(value, list) and all(isinstance(row, list) for row in value))):
                return super().postprocess(value)
            headers = list(self.headers or [])
            if not value or len(value[0]) == 0:
                return DataframeData(headers=headers, data=[], metadata=None)
            width = len(value[0])
            if len(headers) > width:
                headers = headers[:width]
            elif len(headers) < width:
                headers = [*headers, *[str(i) for i in range(len(headers) + 1, width + 1)]]
            return DataframeData(headers=headers, data=value, metadata=None)
