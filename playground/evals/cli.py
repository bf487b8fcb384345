"""`playground eval`: a prompt over a dataset from the shell, with a progress bar, a summary table and an exit code
that can gate CI.

    playground eval agents/capitals.py datasets/capitals.csv --scorer contains --scorer max_latency:2000
    playground eval agents/capitals.py datasets/capitals.csv --model demo --model openai:gpt-4.1-mini --out report.json
    playground eval agents/capitals.py datasets/capitals.csv --min-pass-rate 0.9     # exit 1 below 90 %

With `--out FILE` (.json or .csv), finished cases are also kept in FILE.progress.jsonl, so a rerun after a failure or
Ctrl+C skips what already finished. Exit codes: 0 passed, 1 below --min-pass-rate, 2 bad arguments or data.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from ..errors import PlaygroundError

DEFAULT_SCORERS = ("contains",)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="run an agent over a dataset, graded by scorers (see --help)")
    p.add_argument("agent", help="a Python file defining `agent` (or file.py:name)")
    p.add_argument("dataset", help="a .csv, .jsonl or .json file with an `input` column")
    p.add_argument("--model", action="append", default=[],
                   help="a model to compare (repeat); default: the agent's own model")
    p.add_argument("--scorer", action="append", default=[],
                   help="exact_match, contains[:TEXT], regex:PATTERN, json_schema, tool_called:NAME, "
                        "llm_judge[@MODEL]:RUBRIC, max_latency:MS, max_cost:USD (repeat; default: contains)")
    p.add_argument("--input-column", default="input")
    p.add_argument("--expected-column", default="expected")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--out", help="write the report: .json or .csv (finished cases are kept in OUT.progress.jsonl)")
    p.add_argument("--min-pass-rate", type=float, default=None, help="exit 1 when a target passes fewer (0..1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_eval(args: Any, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from ..scorers import scorer_from_spec
    from .dataset import Dataset
    from .runner import run_eval

    if args.min_pass_rate is not None and not 0 <= args.min_pass_rate <= 1:
        err.write("playground eval: --min-pass-rate is a fraction from 0 to 1, e.g. 0.9\n")
        return 2
    if args.out and Path(args.out).suffix.lower() not in (".json", ".csv"):
        err.write("playground eval: --out must end in .json or .csv\n")
        return 2
    try:
        from ..cli import load_agent

        agent = load_agent(args.agent)
        data = Dataset.load(args.dataset, input_column=args.input_column, expected_column=args.expected_column)
        scorers = {spec: scorer_from_spec(spec) for spec in (args.scorer or DEFAULT_SCORERS)}
        targets: list[Any] = [{"name": m, "model": m} for m in args.model] or [agent]
        bar = _Bar(err, enabled=not args.no_progress)
        stop = threading.Event()
        checkpoint = f"{args.out}.progress.jsonl" if args.out else None
        try:
            report = run_eval(targets, data, scorers, concurrency=args.concurrency, checkpoint=checkpoint,
                              progress=bar.update, stop=stop, agent=agent, name=Path(args.dataset).stem,
                              keep_results=bool(args.out))
        except KeyboardInterrupt:
            stop.set()
            err.write("\nplayground eval: stopped; finished cases are kept" +
                      (f" in {checkpoint} (run again to go on)\n" if checkpoint else "\n"))
            return 130
        bar.done()
    except PlaygroundError as exc:
        err.write(f"playground eval: {exc}\n")
        return 2
    except SystemExit as exc:  # load_agent's one-line reason (no such file, no agent ...)
        err.write(f"{exc}\n")
        return 2
    out.write(report.summary_table() + "\n")
    failures = [r for r in report.results if not r.passed]
    for r in failures[:10]:
        why = r.error or "; ".join(f"{n}: {s.reason or s.value}" for n, s in r.scores.items() if not s.passed)
        out.write(f"  FAIL case {r.case_id} on {r.target}: {why[:160]}\n")
    if len(failures) > 10:
        out.write(f"  ... and {len(failures) - 10} more\n")
    if args.out:
        report.write(args.out)
        out.write(f"report: {args.out}\n")
    if args.min_pass_rate is not None:
        low = [s for s in report.summary() if s.pass_rate < args.min_pass_rate]
        if low:
            out.write("below --min-pass-rate " + f"{args.min_pass_rate:.0%}: " +
                      ", ".join(f"{s.target} {s.pass_rate:.0%}" for s in low) + "\n")
            return 1
    return 0


class _Bar:
    """A one-line progress bar on stderr."""

    def __init__(self, err: TextIO, *, enabled: bool) -> None:
        self.err = err
        self.enabled = enabled
        self.lock = threading.Lock()
        self.failed = 0

    def update(self, done: int, total: int, result: Any) -> None:
        if not result.passed:
            self.failed += 1
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / total) if total else width
        with self.lock:
            self.err.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} cases, {self.failed} failed")
            self.err.flush()

    def done(self) -> None:
        if self.enabled:
            self.err.write("\n")
