"""Evaluate: a prompt over a dataset, on one or more targets, graded by scorers, with a report to compare.

    from playground import Agent, scorers
    from playground.evals import Dataset, run_eval
    report = run_eval([agent, {"name": "terse", "instructions": "One word."}],
                      Dataset.from_csv("datasets/arithmetic.csv"), scorers=[scorers.contains()], concurrency=4)
    report.summary(); report.to_csv("out.csv"); report.compare(earlier_report)
"""

from .dataset import Dataset, DatasetError, EvalCase
from .report import CaseResult, Comparison, EvalReport, TargetSummary
from .runner import Target, run_eval

__all__ = [
    "CaseResult", "Comparison", "Dataset", "DatasetError", "EvalCase", "EvalReport", "Target", "TargetSummary",
    "run_eval",
]
