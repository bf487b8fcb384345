"""The notebook playground's Evaluate tab: a dataset from datasets/ or an upload, scorers, configurations, Run with
progress, the report table, a case opened with its raw panels, and a bad upload's message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from playground.ui.session import PlaygroundSession, load_agents
from playground.ui.widgets import PlaygroundWidget

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg() -> Any:
    session = PlaygroundSession(load_agents(REPO / "agents"), agent="weather")
    session.datasets_dir = REPO / "datasets"
    widget = PlaygroundWidget(session)
    widget.evals_ui.refresh_files()
    return widget


async def test_run_an_evaluation_from_the_tab(pg: PlaygroundWidget) -> None:
    ui = pg.evals_ui
    assert "Evaluate" in [pg.main_tabs.get_title(i) for i in range(len(pg.main_tabs.children))]
    assert ("weather.jsonl", "weather.jsonl") in ui.dataset_menu.options
    ui.dataset_menu.value = "weather.jsonl"
    assert "<b>weather.jsonl</b>: 4 cases" in ui.dataset_info.value
    ui.more_scorers.value = "tool_called:get_weather"
    ui.models.value = "demo\ndemo:demo-1"
    ui.run_button.click()
    await pg.wait()
    assert "8/8 cases, 2 failed (done)" in ui.progress.value
    assert '<table border="1"' in ui.report.value and "75%" in ui.report.value
    assert "75% pass, mean" in ui.report.value  # the summary chart
    assert not ui.run_button.disabled and ui.stop_button.disabled
    paris = next(v for _, v in ui.case_menu.options if v.startswith("paris\x1fdemo:demo-1"))
    ui.case_menu.value = paris
    assert "Case paris</b> on <b>demo:demo-1" in ui.case_view.value
    assert "get_weather" in ui.case_view.value and "Raw request" in ui.case_view.value
    assert all(f"<summary>{name}</summary>" in ui.case_view.value for name in ("Reasoning", "Usage", "Steps"))


def _file(name: str, content: bytes) -> dict[str, Any]:
    return {"name": name, "type": "", "size": len(content), "last_modified": datetime.now(UTC),
            "content": memoryview(content)}


def test_a_bad_upload_says_why(pg: PlaygroundWidget) -> None:
    ui = pg.evals_ui
    ui.upload.value = (_file("bad.csv", b"q\nhello\n"),)
    assert "Could not read the dataset" in ui.dataset_info.value
    assert "no &#x27;input&#x27; column" in ui.dataset_info.value
    ui.upload.value = (_file("good.jsonl", b'{"input": "What is 2 + 2?", "expected": "4"}\n'),)
    assert "good.jsonl</b>: 1 cases" in ui.dataset_info.value
