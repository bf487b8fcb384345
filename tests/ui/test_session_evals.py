"""Evaluate in the playground: PlaygroundSession's actions and views (no browser), then the Evaluate tab in Chromium."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from typing import Any

import pytest

from playground.ui.render import exchange_panels
from playground.ui.session import PlaygroundSession, load_agents
from tests.ui.conftest import AGENTS

DATASETS = AGENTS.parent / "datasets"


def session(agent: str = "weather") -> PlaygroundSession:
    s = PlaygroundSession(load_agents(AGENTS), agent=agent)
    s.datasets_dir = DATASETS
    return s


async def run(s: PlaygroundSession, *args: Any, **kwargs: Any) -> list[Any]:
    return [p async for p in s.run_evaluation(*args, **kwargs)]


def test_evaluate_two_configurations_with_progress_table_case_and_download() -> None:
    s = session()
    assert "weather.jsonl" in s.eval_dataset_files() and "arithmetic.csv" in s.eval_dataset_files()
    assert s.load_eval_dataset("weather.jsonl") == []
    progress = asyncio.run(run(s, ["contains", "tool_called:get_weather"], "demo\ndemo:demo-1", concurrency=2))
    assert [p.done for p in progress] == list(range(1, 9)) and progress[-1].total == 8
    assert s.eval_progress_text() == "8/8 cases, 2 failed (done)"
    summary = s.eval_summary_markdown()
    assert "| demo | 4 | 75% |" in summary and "| demo:demo-1 | 4 | 75% |" in summary
    headers, rows = s.eval_table()
    assert headers == ["case", "input", "demo", "demo:demo-1"]
    paris = next(r for r in rows if r[0] == "paris")
    assert paris[2].startswith("PASS") and "Paris" in paris[2]
    assert next(r for r in rows if r[0] == "no-city")[2].startswith("FAIL")
    ex = s.open_eval_case("paris", "demo:demo-1")
    assert ex.result is not None and ex.result.tool_calls[0].tool_name == "get_weather"
    panels = exchange_panels(ex)
    assert "get_weather" in panels.raw_request and '"status": 200' in panels.raw_response
    path = s.export_eval_report("csv")
    with open(path, newline="") as f:
        assert len(list(csv.DictReader(f))) == 8
    assert json.loads(Path(s.export_eval_report("json")).read_text())["targets"] == ["demo", "demo:demo-1"]
    assert s.messages == [] and s.exchanges == []  # an evaluation leaves the chat as it was


def test_no_configuration_uses_the_chat_settings() -> None:
    s = session()
    s.set_instructions("Answer briefly.")
    s.load_eval_dataset("arithmetic.csv")
    asyncio.run(run(s, ["contains"]))
    assert s.eval_report is not None and s.eval_report.targets == [s.model_string]
    first = s.eval_report.results[0].result
    assert first is not None
    body = first["steps"][0]["raw_request"]["body"]
    assert body["messages"][0] == {"role": "system", "content": "Answer briefly."}


def test_bad_dataset_keeps_the_chosen_one_and_says_why(tmp_path: Path) -> None:
    s = session()
    s.load_eval_dataset("weather.jsonl")
    bad = tmp_path / "bad.csv"
    bad.write_text("question\nhi\n")
    problems = s.load_eval_dataset(str(bad))
    assert problems and "no 'input' column" in problems[0]
    assert s.eval_dataset is not None and s.eval_dataset.name == "weather.jsonl"


def test_errors_before_running() -> None:
    from playground import ConfigurationError

    s = session()
    with pytest.raises(ConfigurationError, match="choose a dataset"):
        asyncio.run(run(s))
    s.load_eval_dataset("weather.jsonl")
    with pytest.raises(ConfigurationError, match="unknown"):
        asyncio.run(run(s, ["no_such_scorer"]))
    with pytest.raises(ConfigurationError, match="up to 4"):
        asyncio.run(run(s, ["contains"], ["demo"] * 5))
    with pytest.raises(ConfigurationError, match="no evaluation"):
        s.export_eval_report()


def test_stop_keeps_the_finished_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from playground.evals import runner

    real = runner.run_case

    def paced(*args: Any, **kwargs: Any) -> Any:  # cases slow enough for Stop to land between them
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_case", paced)
    s = session()
    s.load_eval_dataset("arithmetic.csv")

    async def go() -> None:
        async for p in s.run_evaluation(["contains"], "demo", concurrency=1):
            if p.done == 2:
                assert s.stop_evaluation()

    asyncio.run(go())
    assert s.eval_report is not None and s.eval_report.stopped
    assert 2 <= len(s.eval_report.results) < 6
    assert "Stopped before every case ran" in s.eval_summary_markdown()
    assert not s.stop_evaluation()


@pytest.mark.browser
def test_evaluate_tab_runs_a_dataset_and_opens_a_case(browser: Any, app_url: str) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    try:
        page.goto(app_url)
        page.get_by_role("button", name="Send", exact=True).wait_for(timeout=60_000)
        page.get_by_label("Agent", exact=True).click()
        page.get_by_role("option", name="weather", exact=True).click()
        expect(page.locator("body")).to_contain_text("Agent weather on", timeout=30_000)
        page.get_by_role("tab", name="Evaluate").click()
        page.get_by_label("Dataset (datasets/)", exact=True).click()
        page.get_by_role("option", name="weather.jsonl", exact=True).click()
        expect(page.locator("#pg-eval-dataset-info")).to_contain_text("4 cases", timeout=30_000)
        page.locator("#pg-eval-more textarea").fill("tool_called:get_weather")
        page.locator("#pg-eval-run").click()
        summary = page.locator("#pg-eval-summary")
        expect(summary).to_contain_text("75%", timeout=60_000)
        expect(page.locator("#pg-eval-progress")).to_contain_text("4/4 cases")
        table = page.locator("#pg-eval-table")
        expect(table).to_contain_text("PASS", timeout=10_000)
        expect(table).to_contain_text("FAIL")
        table.get_by_text("PASS", exact=False).first.click()
        expect(page.locator("#pg-eval-case")).to_contain_text("Case ", timeout=20_000)
        expect(page.locator("#pg-eval-case")).to_contain_text("contains")
        page.locator("#pg-eval-case-box").get_by_role("tab", name="Steps").click()
        expect(page.locator("#pg-eval-case-steps")).to_contain_text("get_weather", timeout=10_000)
    finally:
        page.close()
