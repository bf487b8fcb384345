"""Datasets (loading and their errors), the eval runner (targets, concurrency, resume, stop, approvals), the report's
maths and outputs, and the `playground eval` command's exit codes."""

from __future__ import annotations

import importlib.util
import io
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from playground import Agent, InMemoryRunStore, scorers, tool
from playground.evals import Dataset, DatasetError, EvalReport, run_eval
from playground.evals.cli import cmd_eval
from playground.evals.report import CaseResult, percentile
from playground.scorers import Score

REPO = Path(__file__).resolve().parents[2]
DATASETS = REPO / "datasets"


def load(name: str) -> Agent:
    spec = importlib.util.spec_from_file_location(f"evals_{name}", REPO / "agents" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    agent: Agent = module.agent
    agent.storage = InMemoryRunStore()
    return agent


# -- datasets ----------------------------------------------------------------------------------------------------------
def test_csv_with_template_variables_and_ids() -> None:
    data = Dataset.from_csv(DATASETS / "arithmetic.csv")
    assert len(data) == 6
    first = data.cases[0]
    assert first.id == "add-small" and first.input == "What is 2 + 3?" and first.expected == "5"
    assert first.vars == {"a": "2", "b": "3"} and first.row == 2


def test_jsonl_and_list_and_load_by_extension() -> None:
    data = Dataset.load(DATASETS / "weather.jsonl")
    assert [c.id for c in data] == ["paris", "rome", "oslo", "no-city"]
    assert data.cases[0].input == "What's the weather in Paris?"
    listed = Dataset.from_list(["hi", {"input": "Capital of {{ c }}?", "c": "France", "expected": "Paris"}])
    assert [c.input for c in listed] == ["hi", "Capital of France?"] and listed.cases[1].expected == "Paris"


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("question,expected\nhi,x\n", ".csv", "no 'input' column; columns: question, expected"),
        ("input,expected\nhi,x\n,y\n", ".csv", "row 3: column 'input' is empty"),
        ("input,expected\nWhat is {{ a }}?,x\n", ".csv", "row 2: column 'input' uses a variable the row does not have"),
        ("input,expected\nhi,x,extra\n", ".csv", "row 2: more values than columns"),
        ('{"input": "a"}\nnot json\n', ".jsonl", "line 2: not valid JSON"),
        ('["a"]\n', ".jsonl", "line 1: expected a JSON object"),
        ("input\n", ".csv", "no rows"),
        ("{}", ".txt", "use a .csv, .jsonl or .json file"),
        ('{"id": 1, "input": "a"}\n{"id": 1, "input": "b"}\n', ".jsonl", "repeated: 1"),
        ("input,expected\n{{ __class__.__mro__ }},x\n", ".csv", "uses a variable"),
    ],
)
def test_dataset_errors_name_the_row_and_column(tmp_path: Path, content: str, suffix: str, message: str) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        Dataset.load(path)
    assert message in str(err.value)


def test_sandbox_refuses_unsafe_template_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.jsonl"
    path.write_text(json.dumps({"input": "{{ x.__class__.__subclasses__() }}", "x": "a"}) + "\n")
    with pytest.raises(DatasetError, match=r"not a valid template|uses a variable|unsafe"):
        Dataset.load(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such dataset file"):
        Dataset.load(tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="is a folder"):
        Dataset.from_csv(tmp_path)


# -- runner ------------------------------------------------------------------------------------------------------------
def test_two_targets_scored_with_aggregates() -> None:
    agent = load("weather")
    report = run_eval(
        [agent, {"name": "terse", "instructions": "Answer in one line."}],
        Dataset.load(DATASETS / "weather.jsonl"),
        scorers=[scorers.contains(), scorers.tool_called("get_weather")],
        concurrency=4,
    )
    assert report.targets == ["weather", "terse"]
    assert len(report.results) == 8
    by = {(r.case_id, r.target): r for r in report.results}
    assert by[("paris", "weather")].passed and "Paris" in by[("paris", "weather")].output
    assert not by[("no-city", "weather")].passed
    assert by[("paris", "weather")].scores["tool_called:get_weather"].passed
    summary = {s.target: s for s in report.summary()}
    assert summary["weather"].pass_rate == 0.75 and summary["weather"].cases == 4
    assert summary["weather"].total_cost == 0 and summary["weather"].cost_complete
    assert summary["weather"].p50_latency_ms is not None and summary["weather"].total_tokens > 0
    assert by[("paris", "weather")].result is not None  # the whole exchange, to open it with every panel
    assert by[("paris", "weather")].result["steps"][0]["raw_request"]["body"]["model"]


def test_a_failing_case_is_recorded_and_the_rest_go_on() -> None:
    calls: list[str] = []

    @tool
    def lookup(city: str) -> str:
        """Look a city up."""
        calls.append(city)
        if city == "Rome":
            raise RuntimeError("lookup service down")
        return f"{city}: ok"

    agent = Agent(name="flaky", model="demo", tools=[lookup], storage=InMemoryRunStore())
    broken = Agent(name="broken", model="openai:gpt-x", storage=InMemoryRunStore())  # no key: fails at once
    report = run_eval([agent, broken], Dataset.from_list(["lookup Paris", "lookup Rome"]), concurrency=2)
    errors = [r for r in report.results if r.target == "broken"]
    assert all(r.error and "OPENAI_API_KEY" in r.error for r in errors)
    assert [r.error for r in report.results if r.target == "flaky"] == [None, None]


def test_resume_skips_finished_cases_and_reruns_errors(tmp_path: Path) -> None:
    seen: list[str] = []

    def counting(c: Any) -> bool:
        seen.append(c.input)
        return True

    agent = load("weather")
    data = Dataset.load(DATASETS / "weather.jsonl")
    checkpoint = tmp_path / "progress.jsonl"
    first = run_eval(agent, data, {"count": counting}, checkpoint=checkpoint, concurrency=1)
    assert len(seen) == 4
    lines = checkpoint.read_text().splitlines()
    assert len(lines) == 4
    # a crash left a half-written line and one case failed: the rerun runs only those
    broken = json.loads(lines[1])
    broken["result"]["error"] = "ConnectionFailedError: reset"
    checkpoint.write_text("\n".join([lines[0], json.dumps(broken), lines[2], lines[3][:20]]) + "\n")
    seen.clear()
    second = run_eval(agent, data, {"count": counting}, checkpoint=checkpoint, concurrency=1)
    assert len(seen) == 2  # the failed case and the cut line; the two finished ones were skipped
    assert len(second.results) == 4 and [r.case_id for r in second.results] == [r.case_id for r in first.results]
    # a changed target (other instructions) does not reuse the checkpoint
    seen.clear()
    run_eval({"agent": agent, "name": "weather", "instructions": "Be brief."}, data, {"count": counting},
             checkpoint=checkpoint, concurrency=1)
    assert len(seen) == 4


def test_concurrency_runs_cases_at_once() -> None:
    active, peak = [0], [0]
    lock = threading.Lock()

    @tool
    def wait_a_bit(city: str) -> str:
        """Wait."""
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return "done"

    agent = Agent(name="slow", model="demo", tools=[wait_a_bit], storage=InMemoryRunStore())
    run_eval(agent, Dataset.from_list([f"wait a bit in city {i}" for i in range(8)]), concurrency=4)
    assert peak[0] >= 2
    peak[0] = 0
    run_eval(agent, Dataset.from_list([f"wait a bit in city {i}" for i in range(3)]), concurrency=1)
    assert peak[0] == 1


def test_stop_keeps_what_finished() -> None:
    stop = threading.Event()
    agent = load("weather")

    def progress(done: int, total: int, result: CaseResult) -> None:
        stop.set()

    report = run_eval(agent, Dataset.load(DATASETS / "weather.jsonl"), concurrency=1, progress=progress, stop=stop)
    assert len(report.results) == 1 and report.stopped


def test_an_eval_never_approves_a_guarded_tool() -> None:
    ran: list[str] = []

    @tool(requires_approval=True)
    def refund(order_id: str) -> str:
        """Refund an order."""
        ran.append(order_id)
        return "refunded"

    agent = Agent(name="support", model="demo", tools=[refund], storage=InMemoryRunStore())
    report = run_eval(agent, Dataset.from_list(["refund order 42"]), [scorers.contains("refunded")])
    (r,) = report.results
    assert not r.passed and r.error and "approval" in r.error
    assert ran == []


def test_bad_arguments() -> None:
    from playground import ConfigurationError

    with pytest.raises(ConfigurationError, match="concurrency"):
        run_eval(load("weather"), Dataset.from_list(["a"]), concurrency=0)
    with pytest.raises(ConfigurationError, match="targets"):
        run_eval([], Dataset.from_list(["a"]))
    with pytest.raises(ConfigurationError, match=r"targets\[0\]"):
        run_eval([42], Dataset.from_list(["a"]))


# -- report ------------------------------------------------------------------------------------------------------------
def _row(case_id: str, target: str, values: list[float], *, error: str | None = None, latency: float = 10,
         cost: float | None = 0.01) -> CaseResult:
    scores = {f"s{i}": Score(name=f"s{i}", value=v, passed=v >= 1) for i, v in enumerate(values)}
    return CaseResult(case_id=case_id, target=target, input="q", output="a", scores=scores,
                      passed=error is None and all(v >= 1 for v in values), error=error, latency_ms=latency,
                      cost=cost, total_tokens=10)


def test_report_maths() -> None:
    report = EvalReport(targets=["a"], scorers=["s0", "s1"], results=[
        _row("1", "a", [1, 1], latency=10), _row("2", "a", [1, 0], latency=20), _row("3", "a", [0, 0], latency=30),
        _row("4", "a", [], error="boom", latency=400, cost=None),
    ])
    (s,) = report.summary()
    assert s.cases == 4 and s.passed == 1 and s.errors == 1 and s.pass_rate == 0.25
    assert s.mean_score == pytest.approx((1 + 0.5 + 0) / 3)
    assert s.p50_latency_ms == 20 and s.p95_latency_ms == 400
    assert s.total_cost == pytest.approx(0.03) and not s.cost_complete
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10 and percentile([], 50) is None


def test_report_csv_json_html_and_compare(tmp_path: Path) -> None:
    before = EvalReport(name="v1", targets=["a"], scorers=["s0"],
                        results=[_row("1", "a", [1]), _row("2", "a", [0]), _row("3", "a", [1])])
    after = EvalReport(name="v2", targets=["a"], scorers=["s0"],
                       results=[_row("1", "a", [1]), _row("2", "a", [1]), _row("3", "a", [0]), _row("4", "a", [1])])
    cmp = after.compare(before)
    assert [c.case_id for c in cmp.better] == ["2"] and [c.case_id for c in cmp.worse] == ["3"]
    assert [c.case_id for c in cmp.same] == ["1"] and cmp.only_after == ["4@a"]
    assert cmp.summary() == "1 better, 1 worse, 1 the same, 1 new"
    csv_text = after.to_csv(tmp_path / "r.csv")
    assert csv_text.splitlines()[0].startswith("case_id,target,input,expected,output,passed,score:s0")
    assert (tmp_path / "r.csv").read_text() == csv_text
    again = EvalReport.from_json(after.to_json(tmp_path / "r.json"))
    assert again.pass_rate() == after.pass_rate() == 0.75
    assert EvalReport.from_json(tmp_path / "r.json").results[1].scores["s0"].value == 1
    html = after._repr_html_()
    assert "<table border=\"1\"" in html and "PASS" in html and "FAIL" in html and "75%" in html


# -- CLI ---------------------------------------------------------------------------------------------------------------
def _args(**kw: Any) -> SimpleNamespace:
    base = {"agent": str(REPO / "agents" / "weather.py"), "dataset": str(DATASETS / "weather.jsonl"), "model": [],
            "scorer": ["contains"], "input_column": "input", "expected_column": "expected", "concurrency": 2,
            "out": None, "min_pass_rate": None, "no_progress": False}
    return SimpleNamespace(**{**base, **kw})


def test_cli_summary_out_file_and_exit_codes(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cmd_eval(_args(out=str(tmp_path / "r.json")), out, err) == 0
    assert "weather  4" in out.getvalue() and "75%" in out.getvalue()
    assert "FAIL case no-city" in out.getvalue()
    assert "4/4 cases" in err.getvalue()  # the progress bar
    assert EvalReport.from_json(tmp_path / "r.json").pass_rate() == 0.75
    assert (tmp_path / "r.json.progress.jsonl").exists()
    out = io.StringIO()
    assert cmd_eval(_args(min_pass_rate=0.9, out=str(tmp_path / "r.csv")), out, io.StringIO()) == 1
    assert "below --min-pass-rate 90%" in out.getvalue()
    assert (tmp_path / "r.csv").read_text().startswith("case_id,")
    assert cmd_eval(_args(min_pass_rate=0.7), io.StringIO(), io.StringIO()) == 0


def test_cli_bad_input_is_exit_2_with_one_line(tmp_path: Path) -> None:
    for kw, said in (({"dataset": str(tmp_path / "none.csv")}, "no such dataset file"),
                     ({"scorer": ["nope"]}, "unknown"),
                     ({"min_pass_rate": 90.0}, "fraction"),
                     ({"out": str(tmp_path / "r.txt")}, ".json or .csv"),
                     ({"agent": str(tmp_path / "missing.py")}, "no such agent file")):
        err = io.StringIO()
        assert cmd_eval(_args(**kw), io.StringIO(), err) == 2, kw
        assert said in err.getvalue()


def test_cli_entry_point_compares_models(tmp_path: Path) -> None:
    from playground.cli import main

    code = main(["eval", str(REPO / "agents" / "weather.py"), str(DATASETS / "arithmetic.csv"), "--model", "demo",
                 "--model", "demo:demo-1", "--scorer", "contains", "--no-progress",
                 "--out", str(tmp_path / "cmp.json")])
    assert code == 0
    report = EvalReport.from_json(tmp_path / "cmp.json")
    assert report.targets == ["demo", "demo:demo-1"] and len(report.results) == 12
