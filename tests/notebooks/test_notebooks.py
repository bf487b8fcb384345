"""Every walkthrough notebook executes headless (nbclient) on the demo model, with no error output and the expected
text in its outputs. The kernel is this interpreter (the venv's), registered under a temporary kernel spec whose
environment sets PLAYGROUND_DEMO_DELAY=0 and has no provider keys."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
KERNEL = "playground-test"
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST")


EXPECTED: dict[str, list[str]] = {
    "01_quickstart": [
        "nothing sent yet",  # the Generation's inspect view
        "Generation  model=demo",
        "2 + 2 = 4.",
        "GenerationResult  finish_reason=stop",
        "<details><summary>Reasoning",  # collapsible reasoning in the result's HTML
        "https://en.wikipedia.org/wiki/",
        "a loop is running: True",  # sync call inside the kernel's running loop
        "6 * 7 = 42.",
        "10 / 4 = 2.5.",  # await agent.generate_async(...) in a cell
        "EmbeddingResult",
    ],
    "02_tools_and_approval": [
        "lookup_order returned: order id 42, item Mechanical keyboard",
        "0 tool-calls ['lookup_order']",
        "suspended",
        "Suspended: waiting for approval of",
        "refund returned: order id 42, refunded 89.0",
        "refunded 20.0",  # approved with edited arguments
        "The refund call was declined",
        "refunds over $50 need a manager",
    ],
    "03_structured_output": [
        "json_schema",
        "['email', 'name']",
        "{'city': 'Lisbon', 'days': 3}",
        "Contact | ada@example.com",
        "Structured output (result.object)",
        "Contact(name='Grace Hopper', email='grace@example.com')",
    ],
    "04_streaming_and_usage": [
        "According to the sources",
        "tool-call get_weather {'city': 'Paris'}",
        "tool-result get_weather {'city': 'Rome'}",
        "text chunks: 3 * 14 = 42.",
        "step 2: input",
        "total:",
        "aborted",
        "steps: ['tool-calls', 'stop']",
        "a real model would answer about retrieval augmented generation",  # a StreamRun as a value: its result
        "What went wrong:",  # an error's display
        "RateLimitError",
    ],
    "05_playground_widget": [
        "application/vnd.jupyter.widget-view+json",
        "Agent Playground (support, demo:demo-1)",
        "lookup_order returned: order id 42",
        "waiting for approval: refund {'order_id': '42'}",
        "refund returned: order id 42, refunded 89.0",
        "POST http://demo.playground.local/v1/chat/completions",
        "curl -X POST",
        "0 exchanges",
    ],
    "06_real_providers": [
        "No API key is set",
        "Authorization: Bearer sk-...0000",
        "skipped: no API key",
    ],
    "07_memory": [
        "Got it, I'll remember that (name: Ada; location: Oslo).",
        "tool called: ['update_working_memory']",
        "- Name: Ada",
        "system: 'WORKING MEMORY: what you know about the user",  # the preview shows what memory added
        "Your name is Ada. (I remember it from working memory.)",
        "You live in Oslo. (I remember it from a recalled message (thread trip-planning).)",
        "[trip-planning]",
        "Name Ada Live Oslo",  # the title the demo model gave the thread
        '{"name": "Grace", "location": "Arlington"}',
        "0 saved;",
    ],
    "08_evaluate": [
        "Dataset('weather.jsonl', 4 cases)",
        "mentions_city: 1.00 passed=True",
        "used_the_tool: 1.00 passed=True",
        "scorers saw the tool calls: ['get_weather']",
        "weather  4      75%",
        "terse    4      75%",
        '<table border="1"',  # the report's notebook view
        "pass rate before 83%, after 83%",
        "0 better, 0 worse, 6 the same",
        "case_id,target,input,expected,output,passed,score:contains",
    ],
    "09_demo_replay": [
        "suspended -> get_weather {'city': 'Paris'}",
        "playground-cassette version 1 model demo",
        "suspended - the approval pauses as it did",  # replayed: the approval pauses again
        "raw requests identical: [True, True]",
        "raw responses identical: [True, True]",
        "refused: [\"body.messages[0].content: recorded 'What is the weather in Paris?', now 'What is the weather in "
        "Rome?'\"]",
        "panels: ['chat', 'reasoning', 'tools', 'sources', 'usage', 'steps', 'raw-request', 'raw-response']",
        "chart.png (image/png, 433 bytes, 120x90 px)",
        "I received 1 attachment: image 1 (image/png, 433 bytes, 120x90 px)",
    ],
}


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A kernel spec for this interpreter with the test environment, found through JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    env = {"PLAYGROUND_DEMO_DELAY": "0", "PLAYGROUND_HOME": str(tmp_path_factory.mktemp("home"))}
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Playground tests",
        "language": "python",
        "env": env,
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "PYDEVD_DISABLE_FILE_VALIDATION", *KEY_VARS)}
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(root), saved["JUPYTER_PATH"]) if p)
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    for var in KEY_VARS:
        os.environ.pop(var, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _output_text(nb: nbformat.NotebookNode) -> tuple[str, list[str]]:
    texts: list[str] = []
    errors: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                errors.append(f"{out.get('ename')}: {out.get('evalue')}")
            elif kind == "stream":  # chunks printed one by one join up again
                if out.get("name") == "stderr" and "Traceback" in out.get("text", ""):
                    errors.append(out["text"])
                texts.append(out.get("text", ""))
            elif kind in ("execute_result", "display_data"):
                data = out.get("data", {})
                texts.extend(f"\n{v}\n" for v in data.values())
                texts.extend(f"\n{k}\n" for k in data)
    return "".join(texts), errors


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_executes(name: str, kernel_env: None) -> None:
    path = NOTEBOOKS / f"{name}.ipynb"
    assert path.is_file(), f"{path} is missing"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    text, errors = _output_text(nb)
    assert not errors, f"{name} produced errors: {errors}"
    missing = [s for s in EXPECTED[name] if s not in text]
    assert not missing, f"{name}: expected text not in the outputs: {missing}"


def test_committed_notebooks_have_outputs_and_no_errors() -> None:
    """The committed notebooks read well on a code host: executed, outputs saved, no error, no local paths."""
    for name in EXPECTED:
        path = NOTEBOOKS / f"{name}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), f"{name}: not every cell was executed"
        assert any(c.get("outputs") for c in code), f"{name}: saved without outputs"
        _, errors = _output_text(nb)
        assert not errors, f"{name}: saved with errors: {errors}"
        raw = path.read_text()
        assert str(REPO) not in raw, f"{name}: a local path is saved in the outputs"


def test_every_notebook_is_tested() -> None:
    on_disk = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    assert on_disk == set(EXPECTED)
