"""Shared test set-up: the demo model streams without delay, and the recorded fixtures are found beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("PLAYGROUND_DEMO_DELAY", "0")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
for _var in (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OPENAI_BASE_URL",
    "OLLAMA_HOST",
):
    os.environ.pop(_var, None)  # no test may reach a real provider
os.environ.pop("PLAYGROUND_DATABASE_URL", None)  # a developer's shared database is never written: tests name their own

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    if not (FIXTURES / "recorded").is_dir():
        pytest.skip("../shared/fixtures not present (a user's clone): recorded-traffic replays are skipped")
    return FIXTURES


@pytest.fixture(autouse=True)
def _playground_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test writes the playground's data (suspended runs, sessions) into its own temp folder."""
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path_factory.mktemp("playground_home")))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Real-browser tests drive a page on a shared, loaded machine: a missed timing is run again (at most twice, shown
    as R in the summary) before it fails; a real fault fails every time."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.flaky(reruns=2, reruns_delay=2))
