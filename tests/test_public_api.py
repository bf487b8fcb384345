import subprocess
import sys

import playground


def test_all_is_complete_and_importable() -> None:
    public = {n for n in dir(playground) if not n.startswith("_")} - {
        # submodules are not public names
        "agent",
        "errors",
        "events",
        "generation",
        "jobs",
        "loop",
        "messages",
        "result",
        "runs",
        "settings",
        "tools",
        "providers",
        "drivers",
        "output",
        "processors",
        "storage",
        "display",
        "notebook",
        "ui",
        "cli",
        "cli_runs",
        "masking",
        "serving",
        "memory",
        "mcp",
        "actions",
        "store",
        "pricing",
        "tracing",
    }
    assert public <= set(playground.__all__), f"missing from __all__: {sorted(public - set(playground.__all__))}"
    for name in playground.__all__:
        assert hasattr(playground, name), name
    assert {
        "Agent",
        "tool",
        "ModelSettings",
        "Generation",
        "GenerationResult",
        "Step",
        "Usage",
        "ProviderError",
    } <= set(playground.__all__)


def test_import_does_not_pull_ui_toolkits() -> None:
    code = "import sys, playground; print(sorted(m for m in ('gradio', 'ipywidgets', 'IPython') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
