"""An evaluation's results: per case and target the output, scores, tokens, cost, latency and error; aggregates per
target; CSV and JSON out; a notebook view; and a comparison of two reports (which cases got better or worse)."""

from __future__ import annotations

import csv
import io
import json
import math
import time
from html import escape as esc
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..scorers import Score


class CaseResult(BaseModel):
    """One case run on one target."""

    case_id: str
    row: int = 0
    target: str
    input: str
    expected: Any = None
    output: str = ""
    object: Any = None
    scores: dict[str, Score] = Field(default_factory=dict)
    passed: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None
    latency_ms: float | None = None
    error: str | None = None
    finish_reason: str | None = None
    run_id: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] | None = None
    """The whole GenerationResult as JSON (every step, raw request and response), for opening the exchange."""

    @property
    def mean_score(self) -> float | None:
        values = [s.value for s in self.scores.values()]
        return sum(values) / len(values) if values else None


class TargetSummary(BaseModel):
    target: str
    cases: int
    passed: int
    errors: int
    pass_rate: float
    mean_score: float | None
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    total_cost: float | None
    cost_complete: bool
    total_tokens: int


class CaseChange(BaseModel):
    case_id: str
    target: str
    before: float | None
    after: float | None
    before_passed: bool | None
    after_passed: bool | None


class Comparison(BaseModel):
    """How `after` differs from `before`, case by case (matched by case id and target)."""

    better: list[CaseChange] = Field(default_factory=list)
    worse: list[CaseChange] = Field(default_factory=list)
    same: list[CaseChange] = Field(default_factory=list)
    only_before: list[str] = Field(default_factory=list)
    only_after: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.better)} better, {len(self.worse)} worse, {len(self.same)} the same"
                + (f", {len(self.only_after)} new" if self.only_after else "")
                + (f", {len(self.only_before)} gone" if self.only_before else ""))

    def _repr_html_(self) -> str:
        def rows(label: str, changes: list[CaseChange]) -> str:
            return "".join(
                f"<tr><td>{label}</td><td>{esc(c.case_id)}</td><td>{esc(c.target)}</td>"
                f"<td>{_fmt(c.before)}</td><td>{_fmt(c.after)}</td></tr>" for c in changes)

        return (f"<div><b>{esc(self.summary())}</b></div><table border=\"1\"><tr><th></th><th>case</th><th>target"
                f"</th><th>before</th><th>after</th></tr>{rows('better', self.better)}{rows('worse', self.worse)}"
                "</table>")


class EvalReport(BaseModel):
    """Results of `run_eval`: `results` (one CaseResult per case and target), `summary()`, `to_csv()`, `to_json()`,
    `compare(other)`."""

    name: str = "eval"
    dataset: str = ""
    targets: list[str] = Field(default_factory=list)
    scorers: list[str] = Field(default_factory=list)
    results: list[CaseResult] = Field(default_factory=list)
    created_at: float = Field(default_factory=time.time)
    duration_s: float = 0.0
    stopped: bool = False
    """True when the run was stopped before every case ran (the report holds those that finished)."""

    # -- aggregates -----------------------------------------------------------------------------------------------
    def for_target(self, target: str) -> list[CaseResult]:
        return [r for r in self.results if r.target == target]

    def summary(self) -> list[TargetSummary]:
        out = []
        for t in self.targets:
            rows = self.for_target(t)
            latencies = sorted(r.latency_ms for r in rows if r.latency_ms is not None)
            means = [m for m in (r.mean_score for r in rows) if m is not None]
            costs = [r.cost for r in rows if r.cost is not None]
            out.append(TargetSummary(
                target=t, cases=len(rows), passed=sum(r.passed for r in rows),
                errors=sum(r.error is not None for r in rows),
                pass_rate=(sum(r.passed for r in rows) / len(rows)) if rows else 0.0,
                mean_score=sum(means) / len(means) if means else None,
                p50_latency_ms=percentile(latencies, 50), p95_latency_ms=percentile(latencies, 95),
                total_cost=sum(costs) if costs else None, cost_complete=len(costs) == len(rows),
                total_tokens=sum(r.total_tokens for r in rows),
            ))
        return out

    def pass_rate(self, target: str | None = None) -> float:
        rows = self.for_target(target) if target else self.results
        return sum(r.passed for r in rows) / len(rows) if rows else 0.0

    # -- out ------------------------------------------------------------------------------------------------------
    def to_json(self, path: str | Path | None = None) -> str:
        text = self.model_dump_json(indent=2)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> EvalReport:
        p = Path(text_or_path) if not str(text_or_path).lstrip().startswith("{") else None
        text = p.read_text(encoding="utf-8") if p is not None else str(text_or_path)
        return cls.model_validate_json(text)

    def to_csv(self, path: str | Path | None = None) -> str:
        """One row per case and target; a column per scorer (its value)."""
        buf = io.StringIO()
        fields = ["case_id", "target", "input", "expected", "output", "passed", *[f"score:{s}" for s in self.scorers],
                  "input_tokens", "output_tokens", "cost", "latency_ms", "error"]
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for r in self.results:
            row: dict[str, Any] = {
                "case_id": r.case_id, "target": r.target, "input": r.input,
                "expected": r.expected if isinstance(r.expected, str | None) else json.dumps(r.expected),
                "output": r.output, "passed": r.passed, "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens, "cost": "" if r.cost is None else r.cost,
                "latency_ms": "" if r.latency_ms is None else round(r.latency_ms, 1), "error": r.error or "",
            }
            for s in self.scorers:
                score = r.scores.get(s)
                row[f"score:{s}"] = "" if score is None else score.value
            writer.writerow(row)
        text = buf.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def write(self, path: str | Path) -> None:
        """JSON or CSV by the file's extension."""
        if str(path).lower().endswith(".csv"):
            self.to_csv(path)
        else:
            self.to_json(path)

    def compare(self, before: EvalReport) -> Comparison:
        """How this report differs from an earlier one (`before`): better, worse or the same per case and target."""
        old = {(r.case_id, r.target): r for r in before.results}
        new = {(r.case_id, r.target): r for r in self.results}
        cmp = Comparison(only_before=[f"{c}@{t}" for c, t in old if (c, t) not in new],
                         only_after=[f"{c}@{t}" for c, t in new if (c, t) not in old])
        for key, after in new.items():
            prev = old.get(key)
            if prev is None:
                continue
            change = CaseChange(case_id=key[0], target=key[1], before=prev.mean_score, after=after.mean_score,
                                before_passed=prev.passed, after_passed=after.passed)
            a, b = _rank(after), _rank(prev)
            (cmp.better if a > b else cmp.worse if a < b else cmp.same).append(change)
        return cmp

    def summary_table(self) -> str:
        """The summary as aligned text (the CLI prints it)."""
        head = ["target", "cases", "pass rate", "mean score", "p50 ms", "p95 ms", "cost", "errors"]
        rows = [[s.target, str(s.cases), f"{s.pass_rate:.0%}", _fmt(s.mean_score), _fmt(s.p50_latency_ms, 0),
                 _fmt(s.p95_latency_ms, 0), _cost(s.total_cost, s.cost_complete), str(s.errors)]
                for s in self.summary()]
        widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=False)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return report_html(self)


def _rank(r: CaseResult) -> tuple[int, float]:
    return (int(r.passed), r.mean_score if r.mean_score is not None else -1.0)


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _cost(value: float | None, complete: bool) -> str:
    if value is None:
        return "unknown"
    return f"${value:.4f}" + ("" if complete else " (some unknown)")


def report_html(report: EvalReport) -> str:
    """The summary and the per-case table: structure in markup (borders, headings), readable without CSS."""
    summary_rows = "".join(
        f"<tr><td>{esc(s.target)}</td><td>{s.cases}</td><td>{s.pass_rate:.0%}</td><td>{_fmt(s.mean_score)}</td>"
        f"<td>{_fmt(s.p50_latency_ms, 0)}</td><td>{_fmt(s.p95_latency_ms, 0)}</td>"
        f"<td>{esc(_cost(s.total_cost, s.cost_complete))}</td><td>{s.errors}</td></tr>" for s in report.summary())
    by_case: dict[str, dict[str, CaseResult]] = {}
    for r in report.results:
        by_case.setdefault(r.case_id, {})[r.target] = r
    cells = []
    for case_id, per_target in by_case.items():
        first = next(iter(per_target.values()))
        tds = []
        for t in report.targets:
            r = per_target.get(t)
            if r is None:
                tds.append("<td>-</td>")
                continue
            mark = "PASS" if r.passed else ("ERROR" if r.error else "FAIL")
            colour = "#dafbe1" if r.passed else "#ffebe9"
            detail = esc(r.error or r.output[:160])
            tds.append(f'<td style="background:{colour}" title="{esc(_scores_text(r))}"><b>{mark}</b> {detail}</td>')
        cells.append(f"<tr><td>{esc(case_id)}</td><td>{esc(first.input[:120])}</td>{''.join(tds)}</tr>")
    target_heads = "".join(f"<th>{esc(t)}</th>" for t in report.targets)
    stopped = "<div><b>Stopped before every case ran.</b></div>" if report.stopped else ""
    return (
        f'<div class="pg-eval"><h4>Evaluation {esc(report.name)}: {esc(report.dataset)}</h4>{stopped}'
        '<table border="1" cellpadding="4"><tr><th>target</th><th>cases</th><th>pass rate</th><th>mean score</th>'
        f"<th>p50 ms</th><th>p95 ms</th><th>cost</th><th>errors</th></tr>{summary_rows}</table><br>"
        f'<table border="1" cellpadding="4"><tr><th>case</th><th>input</th>{target_heads}</tr>{"".join(cells)}'
        "</table></div>"
    )


def _scores_text(r: CaseResult) -> str:
    return "; ".join(f"{n}: {s.value:.2f}{' - ' + s.reason if s.reason else ''}" for n, s in r.scores.items())
