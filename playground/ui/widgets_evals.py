"""The notebook playground's Evaluate box (ipywidgets layout only; the actions are the session's, evals_session.py)."""

from __future__ import annotations

import asyncio
from html import escape as esc
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..errors import PlaygroundError
from ..evals.report import report_html
from .panel_views import details_html

if TYPE_CHECKING:
    from .widgets import PlaygroundWidget

SCORERS = ("contains", "exact_match", "json_schema", "llm_judge")


class EvalWidgets:
    """Dataset (a file in datasets/ or an upload), scorers, configurations, Run / Stop, progress, the report, a case."""

    def __init__(self, owner: PlaygroundWidget) -> None:
        self.owner = owner
        full = w.Layout(width="100%")
        self.dataset_menu = w.Dropdown(description="Dataset", options=[], layout=full)
        self.upload = w.FileUpload(accept=".csv,.jsonl,.json", multiple=False, description="Upload dataset")
        self.dataset_info = w.HTML()
        self.scorer_boxes = {name: w.Checkbox(description=name, value=name == "contains", indent=False,
                                              layout=w.Layout(width="auto")) for name in SCORERS}
        self.more_scorers = w.Textarea(placeholder="more scorers, one a line: tool_called:get_weather, "
                                                   "regex:^\\d+$, max_latency:2000, llm_judge:Is it kind?",
                                       layout=w.Layout(width="100%", height="46px"))
        self.models = w.Textarea(placeholder="configurations, provider:model one a line (up to 4); "
                                             "empty: the chat's settings",
                                 layout=w.Layout(width="100%", height="46px"))
        self.concurrency = w.IntSlider(value=4, min=1, max=16, description="Concurrency")
        self.run_button = w.Button(description="Run evaluation", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="warning", disabled=True)
        self.progress = w.HTML()
        self.report = w.HTML()
        self.case_menu = w.Dropdown(description="Open case", options=[], layout=w.Layout(width="70%"))
        self.case_view = w.HTML()
        self.page = w.VBox([
            w.HBox([self.dataset_menu, self.upload]), self.dataset_info,
            w.HBox(list(self.scorer_boxes.values())), self.more_scorers, self.models,
            w.HBox([self.concurrency, self.run_button, self.stop_button]), self.progress, self.report,
            self.case_menu, self.case_view,
        ])
        self.dataset_menu.observe(self._on_dataset, names="value")
        self.upload.observe(self._on_upload, names="value")
        self.run_button.on_click(lambda _b: self.owner._launch(self.run()))
        self.stop_button.on_click(lambda _b: self.stop())
        self.case_menu.observe(self._on_case, names="value")
        self.refresh_files()

    # -- actions --------------------------------------------------------------------------------------------------
    def refresh_files(self) -> None:
        files = self.owner.session.eval_dataset_files()
        self.dataset_menu.options = [("(choose)", ""), *[(f, f) for f in files]]
        self.dataset_menu.value = ""

    def choose(self, name: str) -> list[str]:
        problems = self.owner.session.load_eval_dataset(name) if name else []
        self._show_dataset(problems)
        return problems

    def _on_dataset(self, change: dict[str, Any]) -> None:
        self.choose(change["new"])

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        name = str(item.get("name", "upload.csv") if isinstance(item, dict) else getattr(item, "name", "upload.csv"))
        content = item.get("content") if isinstance(item, dict) else getattr(item, "content", b"")
        import tempfile
        from pathlib import Path

        folder = Path(tempfile.mkdtemp(prefix="playground-dataset-"))
        path = folder / Path(name).name
        path.write_bytes(bytes(content or b""))
        self._show_dataset(self.owner.session.load_eval_dataset(str(path)))

    def _show_dataset(self, problems: list[str]) -> None:
        d = self.owner.session.eval_dataset
        if problems:
            said = esc("; ".join(problems))
            self.dataset_info.value = f'<div class="pgw-error">Could not read the dataset: {said}</div>'
        elif d is not None:
            self.dataset_info.value = (f"<div><b>{esc(d.name)}</b>: {len(d)} cases. First input: "
                                       f"<code>{esc(d.cases[0].input[:100])}</code></div>")

    def scorer_specs(self) -> list[str]:
        picked = [n for n, box in self.scorer_boxes.items() if box.value]
        return [*picked, *(line.strip() for line in self.more_scorers.value.splitlines() if line.strip())]

    async def run(self) -> None:
        s = self.owner.session
        self.run_button.disabled = True
        self.stop_button.disabled = False
        self.report.value = ""
        try:
            async for _ in s.run_evaluation(self.scorer_specs(), self.models.value,
                                            concurrency=int(self.concurrency.value)):
                self.progress.value = f"<div>{esc(s.eval_progress_text())}</div>"
                await asyncio.sleep(0)
        except PlaygroundError as exc:
            self.progress.value = f'<div class="pgw-error">Could not run: {esc(s.mask(str(exc)))}</div>'
            return
        finally:
            self.run_button.disabled = False
            self.stop_button.disabled = True
        self.progress.value = f"<div>{esc(s.eval_progress_text())}</div>"
        self.show_report()

    def stop(self) -> None:
        self.owner.session.stop_evaluation()

    def show_report(self) -> None:
        r = self.owner.session.eval_report
        if r is None:
            return
        self.report.value = self.owner.session.eval_chart_html() + report_html(r)
        self.case_menu.options = [("(choose)", "")] + [
            (f"{x.case_id} on {x.target} ({'pass' if x.passed else 'fail'})", f"{x.case_id}\x1f{x.target}")
            for x in r.results]
        self.case_menu.value = ""

    def open(self, case_id: str, target: str) -> None:
        s = self.owner.session
        try:
            ex = s.open_eval_case(case_id, target)
        except PlaygroundError as exc:
            self.case_view.value = f'<div class="pgw-error">{esc(str(exc))}</div>'
            return
        answer = ex.result.text if ex.result is not None else ""
        self.case_view.value = (
            f"<div><b>Case {esc(case_id)}</b> on <b>{esc(target)}</b></div><div>Input: {esc(ex.user_text)}</div>"
            f"<div>Answer: {esc(answer)}</div>" + (f"<div>Error: {esc(ex.error)}</div>" if ex.error else "")
            + details_html(ex)
        )

    def _on_case(self, change: dict[str, Any]) -> None:
        value = change["new"]
        if value:
            case_id, _, target = value.partition("\x1f")
            self.open(case_id, target)
