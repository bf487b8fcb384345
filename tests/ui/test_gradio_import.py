"""Gradio imported without the work the playground never uses (playground/ui/gradio_import.py): no .pyi stub
rewriting, no Jinja for docstrings, no `mcp` package and pandas only when used; everything else as shipped. Each case
runs in a fresh interpreter. The tables that show rows without pandas (gradio_table.py) match gr.Dataframe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import playground.ui.gradio_app as app
import gradio as gr
import gradio.component_meta as cm
from playground.ui import gradio_import
state = {
    "rewriter": cm.create_or_modify_pyi.__name__,
    "mcp_loaded": "mcp" in sys.modules,
    "finder_left": any(type(f).__name__ == "_PatchAfterLoad" for f in sys.meta_path),
    "import_seconds": gradio_import.import_seconds,
    "docs": {f"{name}.{event}": getattr(getattr(gr, name), event).__doc__ for name in gr.components.__all__
             if isinstance(getattr(gr, name, None), type) and issubclass(getattr(gr, name), gr.components.Component)
             for event in [str(getattr(e, "event_name", e)) for e in getattr(getattr(gr, name), "EVENTS", [])]},
}
import mcp  # installed: importable as usual once Gradio is in
state["mcp_after"] = mcp.__name__
state["pandas_after_import"] = "pandas" in sys.modules
app.build_app(sys.argv[1])  # every tab, the Evaluate and Jobs tables included
state["pandas_after_build"] = "pandas" in sys.modules
import pathlib
state["table_stub"] = pathlib.Path(app.__file__).with_name("gradio_table.pyi").exists()  # never written by Gradio
import gradio.caching
state["deferred_pandas_works"] = gradio.caching.pd.DataFrame({"a": [1]}).shape == (1, 1)
import pandas
state["pandas_is_real"] = type(pandas).__name__ == "module" and gradio.caching.pd.DataFrame is pandas.DataFrame
with gr.Blocks() as demo:  # components, events and a Dataframe still build
    box = gr.Textbox("hi", elem_id="box")
    table = gr.Dataframe(value=[["a", 1]], headers=["k", "v"])
    gr.Button("go").click(lambda t: t.upper(), box, box)
config = demo.get_config_file()
state["components"] = sorted({c["type"] for c in config["components"]})
print(json.dumps(state))
"""


def probe(**env: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if k not in ("PLAYGROUND_FULL_GRADIO_IMPORT", "GRADIO_MCP_SERVER")}
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "agents")], capture_output=True, text=True,
                         cwd=ROOT, timeout=180, env={**environ, **env}, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_gradio_loads_without_stub_rewriting_or_mcp_and_builds_a_page() -> None:
    state = probe()
    shipped = probe(PLAYGROUND_FULL_GRADIO_IMPORT="1")
    docs: dict[str, str] = state["docs"]  # type: ignore[assignment]
    assert len(docs) > 150 and docs == shipped["docs"]  # every listener's docstring as Jinja renders it
    assert docs["Textbox.change"].startswith("Triggered when the value of the Textbox changes")
    assert state["rewriter"] == "_no_stub_rewrite"
    assert state["mcp_loaded"] is False and state["mcp_after"] == "mcp"
    assert state["finder_left"] is False  # the import hook is gone once Gradio is in
    assert state["table_stub"] is False
    assert state["pandas_after_import"] is False and state["pandas_after_build"] is False  # the page needs no pandas
    assert state["deferred_pandas_works"] is True and state["pandas_is_real"] is True  # gr.cache's pandas when used
    assert {"textbox", "dataframe", "button"} <= set(state["components"])  # type: ignore[arg-type]


@pytest.mark.parametrize("env", [{"PLAYGROUND_FULL_GRADIO_IMPORT": "1"}, {"GRADIO_MCP_SERVER": "true"}])
def test_gradio_as_shipped_when_asked(env: dict[str, str]) -> None:
    state = probe(**env)
    assert state["mcp_loaded"] is True  # an app served as an MCP server gets its package
    assert state["table_stub"] is False  # Gradio as shipped writes .pyi stubs for new components; not into playground/
    if "PLAYGROUND_FULL_GRADIO_IMPORT" in env:
        assert state["rewriter"] == "create_or_modify_pyi" and state["pandas_after_import"] is True
    else:
        assert state["rewriter"] == "_no_stub_rewrite"


def test_the_playground_runs_events_at_once_and_leaves_the_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The queue Blocks() makes is the one served (no demo.queue() building the web app again): events without a
    limit of their own run at once, and the environment variable used for it is gone after."""
    from playground.ui.gradio_app import CONCURRENCY_ENV, build_app

    monkeypatch.delenv(CONCURRENCY_ENV, raising=False)
    demo = build_app(ROOT / "agents")
    assert demo._queue.default_concurrency_limit is None
    assert CONCURRENCY_ENV not in os.environ
    monkeypatch.setenv(CONCURRENCY_ENV, "3")  # a person's own setting is put back as it was
    build_app(ROOT / "agents")
    assert os.environ[CONCURRENCY_ENV] == "3"


@pytest.mark.parametrize("value", [None, [], [[]], [["a", 1]], [["a", 1, True], ["b", 2, False]], [["only"]]])
def test_the_table_shows_rows_as_gr_dataframe_does(value: list[list[object]] | None) -> None:
    import gradio as gr

    from playground.ui.gradio_table import Table

    for headers in (["case", "input"], ["one"], ["a", "b", "c", "d"]):
        ours = Table(value=[], headers=headers, interactive=False).postprocess(value)
        shipped = gr.Dataframe(value=[], headers=headers, interactive=False).postprocess(value)
        assert ours.model_dump() == shipped.model_dump()


def test_the_table_passes_other_values_to_gr_dataframe() -> None:
    from playground.ui.gradio_table import Table

    table = Table(value=[], headers=["k", "v"])
    assert table.postprocess({"headers": ["x"], "data": [[1]]}).model_dump()["data"] == [[1]]
    assert table.get_block_name() == "dataframe"  # the page draws it with Dataframe's own component
