"""Evaluate in the playground (a PlaygroundSession mixin, so the browser and the notebook reach it alike).

A person picks a dataset (a file in `datasets/`, or an uploaded CSV / JSONL), scorers and up to four configurations
(provider:model lines, as in Compare; none: the Chat tab's settings), runs it with progress and a Stop button, sees a
per-case table (pass / fail per configuration) with a summary, opens any cell as an exchange with every panel, and
downloads the report. Guarded tools are never approved by an evaluation: such a case is reported as waiting.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, PlaygroundError

if TYPE_CHECKING:
    from ..evals import Dataset, EvalReport
    from ..evals.runner import Target
    from .session import Exchange

DATASET_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json")
DEFAULT_EVAL_SCORERS = ("contains",)
MAX_COLUMNS = 4


@dataclass
class EvalProgress:
    done: int
    total: int
    failed: int
    last: str = ""


class EvalMixin:
    """Evaluate actions and views of PlaygroundSession."""

    provider: str
    model: str
    base_url: str | None
    notice: str | None

    def _init_evals(self, datasets_dir: str | Path | None = None) -> None:
        self.datasets_dir = Path(datasets_dir) if datasets_dir is not None else Path.cwd() / "datasets"
        self.eval_dataset: Dataset | None = None
        self.eval_report: EvalReport | None = None
        self.eval_progress: EvalProgress | None = None
        self._eval_stop: threading.Event | None = None

    # -- dataset --------------------------------------------------------------------------------------------------
    def eval_dataset_files(self) -> list[str]:
        """The dataset files shipped in the datasets folder (names)."""
        if not self.datasets_dir.is_dir():
            return []
        return sorted(p.name for p in self.datasets_dir.iterdir() if p.suffix.lower() in DATASET_SUFFIXES)

    def load_eval_dataset(self, path: str | Path, *, input_column: str = "input",
                          expected_column: str = "expected") -> list[str]:
        """Choose the dataset: a name from `eval_dataset_files()` or a path (an upload). Returns problems to show;
        a dataset that cannot be read leaves the chosen one as it was."""
        from ..evals import Dataset

        p = Path(path)
        if not p.is_absolute() and not p.exists():
            p = self.datasets_dir / p
        try:
            self.eval_dataset = Dataset.load(p, input_column=input_column or "input",
                                             expected_column=expected_column or "expected")
        except PlaygroundError as exc:
            return [str(exc)]
        return []

    # -- targets --------------------------------------------------------------------------------------------------
    def eval_targets(self, models: Sequence[str] | str = ()) -> list[Target]:
        """One target per `provider:model` (up to four); none: the Chat tab's agent, model, instructions, settings."""
        from ..evals.runner import Target

        if isinstance(models, str):
            models = [m.strip() for m in models.splitlines() if m.strip()]
        models = list(models) or [self.model_string]  # type: ignore[attr-defined]
        if len(models) > MAX_COLUMNS:
            raise ConfigurationError(f"Evaluate: up to {MAX_COLUMNS} configurations, got {len(models)}",
                                     field="models")
        targets: list[Target] = []
        for m in models:
            provider, _, model = m.partition(":")
            agent = self._working_agent(provider, model,  # type: ignore[attr-defined]
                                        self.base_url if provider == self.provider else None,
                                        scratch=True)  # a case that suspends is not stored for approval
            options = self._options()  # type: ignore[attr-defined]
            for key in ("tracing_options", "memory"):  # an evaluation writes to no thread and no session trace
                options.pop(key, None)
            name = m if models.count(m) == 1 else f"{m} #{len(targets) + 1}"
            targets.append(Target(name, agent, options))
        return targets

    # -- run ------------------------------------------------------------------------------------------------------
    async def run_evaluation(self, scorers: Sequence[str] = DEFAULT_EVAL_SCORERS, models: Sequence[str] | str = (),
                             *, concurrency: int = 4) -> AsyncIterator[EvalProgress]:
        """Run the chosen dataset; yields progress after each case; the report lands on `eval_report`."""
        from ..evals import run_eval
        from ..scorers import scorer_from_spec

        if self.eval_dataset is None:
            raise ConfigurationError("Evaluate: choose a dataset first (a file in datasets/ or an upload)",
                                     field="dataset")
        if self._eval_stop is not None:
            raise ConfigurationError("Evaluate: an evaluation is already running; stop it first", field="evaluate")
        specs = [s.strip() for s in scorers if s and s.strip()] or list(DEFAULT_EVAL_SCORERS)
        entries = {spec: scorer_from_spec(spec) for spec in specs}
        targets = self.eval_targets(models)
        dataset = self.eval_dataset
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[EvalProgress | None] = asyncio.Queue()
        stop = threading.Event()
        self._eval_stop = stop
        total = len(dataset) * len(targets)
        self.eval_progress = EvalProgress(0, total, 0)
        failed = [0]

        def progress(done: int, all_: int, result: Any) -> None:
            failed[0] += 0 if result.passed else 1
            event = EvalProgress(done, all_, failed[0], f"{result.case_id} on {result.target}")
            loop.call_soon_threadsafe(queue.put_nowait, event)

        def work() -> EvalReport:
            try:
                return run_eval(targets, dataset, entries, concurrency=concurrency, progress=progress, stop=stop,
                                name=dataset.name)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        task = asyncio.ensure_future(asyncio.to_thread(work))
        try:
            while True:
                event = await queue.get()
                if event is None:
                    break
                self.eval_progress = event
                yield event
            self.eval_report = await task
        finally:
            stop.set()
            self._eval_stop = None

    def stop_evaluation(self) -> bool:
        """Stop a running evaluation: cases not started are skipped; the report keeps those that finished."""
        if self._eval_stop is None:
            return False
        self._eval_stop.set()
        return True

    # -- views ----------------------------------------------------------------------------------------------------
    def eval_progress_text(self) -> str:
        p = self.eval_progress
        if p is None:
            return ""
        running = self._eval_stop is not None
        state = "running" if running else ("stopped" if self.eval_report and self.eval_report.stopped else "done")
        return f"{p.done}/{p.total} cases, {p.failed} failed ({state})"

    def eval_summary_markdown(self) -> str:
        r = self.eval_report
        if r is None:
            return "*No evaluation yet.*"
        lines = ["| configuration | cases | pass rate | mean score | p50 ms | p95 ms | cost | errors |",
                 "|---|---|---|---|---|---|---|---|"]
        for s in r.summary():
            cost = "unknown" if s.total_cost is None else f"${s.total_cost:.4f}" + ("" if s.cost_complete else "+")
            mean = "-" if s.mean_score is None else f"{s.mean_score:.2f}"
            p50 = "-" if s.p50_latency_ms is None else f"{s.p50_latency_ms:.0f}"
            p95 = "-" if s.p95_latency_ms is None else f"{s.p95_latency_ms:.0f}"
            lines.append(f"| {s.target} | {s.cases} | {s.pass_rate:.0%} | {mean} | {p50} | {p95} | {cost} | "
                         f"{s.errors} |")
        if r.stopped:
            lines.append("\n*Stopped before every case ran: the table holds the cases that finished.*")
        return "\n".join(lines)

    def eval_chart_html(self) -> str:
        """Pass rate and mean score per configuration as bars (inline markup: no script, no network)."""
        r = self.eval_report
        if r is None:
            return ""
        from html import escape

        rows = []
        for s in r.summary():
            mean = s.mean_score or 0.0
            rows.append(
                f'<tr><td>{escape(s.target)}</td><td style="width:60%">'
                f'<div style="background:#2da44e;height:12px;width:{s.pass_rate * 100:.0f}%" '
                f'title="pass rate {s.pass_rate:.0%}"></div>'
                f'<div style="background:#8250df;height:6px;width:{mean * 100:.0f}%" '
                f'title="mean score {mean:.2f}"></div></td><td>{s.pass_rate:.0%} pass, mean {mean:.2f}</td></tr>')
        return ('<table class="pg-eval-chart" style="width:100%"><tr><th>configuration</th><th>pass rate (green), '
                f"mean score (purple)</th><th></th></tr>{''.join(rows)}</table>")

    def eval_table(self) -> tuple[list[str], list[list[str]]]:
        """(headers, rows): a row per case, a column per configuration holding PASS / FAIL / ERROR and the output."""
        r = self.eval_report
        if r is None:
            return ["case", "input"], []
        cells: dict[str, dict[str, Any]] = {}
        inputs: dict[str, str] = {}
        for res in r.results:
            cells.setdefault(res.case_id, {})[res.target] = res
            inputs[res.case_id] = res.input
        rows = []
        for case_id, per in cells.items():
            row = [case_id, inputs[case_id][:120]]
            for t in r.targets:
                res = per.get(t)
                if res is None:
                    row.append("-")
                    continue
                mark = "PASS" if res.passed else ("ERROR" if res.error else "FAIL")
                row.append(f"{mark}: {(res.error or res.output)[:100]}")
            rows.append(row)
        return ["case", "input", *r.targets], rows

    def open_eval_case(self, case_id: str, target: str | None = None) -> Exchange:
        """The exchange of one case on one configuration (default: the first), with every panel."""
        from ..result import GenerationResult
        from .session import Exchange
        from .threads import view_from_messages

        r = self.eval_report
        if r is None:
            raise ConfigurationError("Evaluate: no evaluation yet", field="case")
        target = target or (r.targets[0] if r.targets else "")
        found = next((x for x in r.results if x.case_id == str(case_id) and x.target == target), None)
        if found is None:
            raise ConfigurationError(f"Evaluate: no case {case_id!r} on {target!r}", field="case")
        ex = Exchange(index=0, user_text=found.input, config={"target": target}, history=[],
                      status="error" if found.error and found.result is None else "done")
        if found.result is not None:
            result = GenerationResult.model_validate(found.result)
            ex.result = result
            ex.view = view_from_messages(result.messages)
        ex.error = found.error
        return ex

    def export_eval_report(self, fmt: str = "csv") -> str:
        """Write the report to a temp file (`csv` or `json`) and return its path (for a download)."""
        if self.eval_report is None:
            raise ConfigurationError("Evaluate: no evaluation to download yet", field="report")
        if fmt not in ("csv", "json"):
            raise ConfigurationError("Evaluate: download as csv or json", field="format")
        folder = Path(tempfile.mkdtemp(prefix="playground-eval-"))
        path = folder / f"{self.eval_report.name}.{fmt}"
        self.eval_report.write(path)
        return str(path)
