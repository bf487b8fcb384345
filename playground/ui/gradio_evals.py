"""The browser playground's Evaluate tab (Gradio layout and wiring only; the actions are the session's,
evals_session.py): a dataset, scorers and up to four configurations; Run with progress and Stop; a per-case table
coloured by pass / fail; a summary; a case opened with its panels; the report to download."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from ..errors import PlaygroundError
from ..scorers import BUILT_IN
from .gradio_table import Table
from .panel_views import PanelTabs, panel_values
from .session import PlaygroundSession

SCORER_CHOICES = ["contains", "exact_match", "json_schema", "llm_judge"]
EVAL_CSS = """
#pg-eval-table td { white-space: normal; }
"""


def _table_update(s: PlaygroundSession) -> Any:
    headers, rows = s.eval_table()
    return Table(value=rows, headers=headers)


def _case_markdown(s: PlaygroundSession, case_id: str, target: str) -> list[str]:
    ex = s.open_eval_case(case_id, target)
    head = f"**Case {case_id}** on **{target}**\n\n**Input:** {ex.user_text}\n\n"
    if ex.result is not None:
        head += f"**Answer:** {ex.result.text or '(no text)'}\n\n"
    if ex.error:
        head += f"**Error:** {ex.error}\n\n"
    report = s.eval_report
    found = next((r for r in report.results if r.case_id == case_id and r.target == target), None) if report else None
    if found is not None and found.scores:
        lines = [f"| {n} | {sc.value:.2f} | {'yes' if sc.passed else 'no'} | "
                 f"{(sc.reason or sc.error or '').replace('|', '/')} |" for n, sc in found.scores.items()]
        head += "| scorer | value | passed | reason |\n|---|---|---|---|\n" + "\n".join(lines)
    return [head, *panel_values(ex)]


def build_evaluate_tab(ui: Any) -> None:
    session = ui.session
    gr.Markdown("Run a prompt over a dataset and grade every answer. Each row of the dataset is a case: an `input` "
                "(with `{{ column }}` variables), an optional `expected`, any other column a variable. "
                "Guarded tools are never approved by an evaluation.")
    with gr.Row(equal_height=True):
        dataset = gr.Dropdown([], label="Dataset (datasets/)", scale=2, elem_id="pg-eval-dataset",
                              allow_custom_value=False)
        upload = gr.File(label="or upload CSV / JSONL", file_types=[".csv", ".jsonl", ".json"], scale=2,
                         elem_id="pg-eval-upload")
        expected = gr.Textbox("expected", label="Expected column", scale=1, elem_id="pg-eval-expected")
    dataset_info = gr.Markdown("", elem_id="pg-eval-dataset-info")
    with gr.Row(equal_height=True):
        scorer_box = gr.CheckboxGroup(SCORER_CHOICES, value=["contains"], label="Scorers", scale=2,
                                      elem_id="pg-eval-scorers",
                                      info="contains / exact_match compare with the expected column")
        more = gr.Textbox("", label="More scorers (one a line)", lines=2, scale=2, elem_id="pg-eval-more",
                          placeholder="tool_called:get_weather\nregex:^\\d+$\nmax_latency:2000\nllm_judge:Is it kind?",
                          info=", ".join(BUILT_IN))
        models = gr.Textbox("", label="Configurations (provider:model, one a line, up to 4)", lines=2, scale=2,
                            elem_id="pg-eval-models", placeholder="empty: the Chat tab's settings\ndemo:demo-1")
        concurrency = gr.Slider(1, 16, value=4, step=1, label="Concurrency", scale=1)
    with gr.Row():
        run = gr.Button("Run evaluation", variant="primary", elem_id="pg-eval-run")
        stop = gr.Button("Stop", elem_id="pg-eval-stop")
        fmt = gr.Radio(["csv", "json"], value="csv", label="Report as", scale=0)
        download = gr.DownloadButton("Download report", elem_id="pg-eval-download", interactive=False)
    progress = gr.Markdown("", elem_id="pg-eval-progress")
    summary = gr.Markdown("*No evaluation yet.*", elem_id="pg-eval-summary")
    chart = gr.HTML("", elem_id="pg-eval-chart")
    table = Table(value=[], headers=["case", "input"], interactive=False, wrap=True,
                  elem_id="pg-eval-table", label="Cases (click a cell to open its exchange)")
    with gr.Accordion("Case", open=True, elem_id="pg-eval-case-box"):
        case_md = gr.Markdown("*Click a cell of the table.*", elem_id="pg-eval-case")
        case_panels = PanelTabs("pg-eval-case")

    def on_tab(s: PlaygroundSession) -> Any:
        return gr.Dropdown(choices=s.eval_dataset_files())

    def on_dataset(s: PlaygroundSession, name: str | None, expected_col: str) -> str:
        if not name:
            return ""
        problems = s.load_eval_dataset(name, expected_column=expected_col)
        if problems:
            return f"**Could not read the dataset:** {'; '.join(problems)}"
        return _dataset_info(s)

    def on_upload(s: PlaygroundSession, file: Any, expected_col: str) -> str:
        if not file:
            return ""
        path = file if isinstance(file, str) else getattr(file, "name", str(file))
        problems = s.load_eval_dataset(path, expected_column=expected_col)
        if problems:
            return f"**Could not read the dataset:** {'; '.join(problems)}"
        return _dataset_info(s)

    async def on_run(s: PlaygroundSession, picked: list[str], extra: str, model_lines: str,
                     conc: float) -> AsyncIterator[list[Any]]:
        specs = [*picked, *(line.strip() for line in (extra or "").splitlines() if line.strip())]
        try:
            async for _ in s.run_evaluation(specs, model_lines or "", concurrency=int(conc)):
                yield [s.eval_progress_text(), gr.skip(), gr.skip(), gr.skip(), gr.skip()]
        except PlaygroundError as exc:
            yield [f"**Could not run:** {s.mask(str(exc))}", gr.skip(), gr.skip(), gr.skip(), gr.skip()]
            return
        yield [s.eval_progress_text(), s.eval_summary_markdown(), s.eval_chart_html(), _table_update(s),
               gr.DownloadButton(interactive=True)]

    def on_stop(s: PlaygroundSession) -> str:
        return "Stopping…" if s.stop_evaluation() else s.eval_progress_text()

    def on_select(s: PlaygroundSession, evt: gr.SelectData) -> list[Any]:
        report = s.eval_report
        if report is None or evt.index is None:
            return [gr.skip()] * 7
        row, col = (evt.index if isinstance(evt.index, list | tuple) else (evt.index, 2))
        headers, rows = s.eval_table()
        if not 0 <= row < len(rows):
            return [gr.skip()] * 7
        target = headers[col] if col >= 2 else report.targets[0]
        try:
            return _case_markdown(s, rows[row][0], target)
        except PlaygroundError as exc:
            return [str(exc), "", "", "", "", "", ""]

    def on_download(s: PlaygroundSession, kind: str) -> Any:
        try:
            return s.export_eval_report(kind or "csv")
        except PlaygroundError:
            return None

    tab = ui.components.get("tab")
    if tab is not None:
        tab.select(on_tab, [session], [dataset], api_visibility="private")
    dataset.input(on_dataset, [session, dataset, expected], [dataset_info], api_name="eval_dataset")
    upload.upload(on_upload, [session, upload, expected], [dataset_info], api_visibility="private")
    run.click(on_run, [session, scorer_box, more, models, concurrency], [progress, summary, chart, table, download],
              api_name="run_evaluation")
    stop.click(on_stop, [session], [progress], api_name="stop_evaluation")
    table.select(on_select, [session], [case_md, *case_panels.components], api_visibility="private")
    download.click(on_download, [session, fmt], [download], api_visibility="private")


def _dataset_info(s: PlaygroundSession) -> str:
    d = s.eval_dataset
    if d is None:
        return ""
    first = d.cases[0]
    columns = ", ".join(["input", *(["expected"] if any(c.expected is not None for c in d) else []), *first.vars])
    return f"**{d.name}**: {len(d)} cases; columns {columns}. First input: `{first.input[:100]}`"
