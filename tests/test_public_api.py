import subprocess
import sys
from types import ModuleType

import playground


def test_all_is_complete_and_importable() -> None:
    # submodules (playground.agent, playground.cli_runs ...) are not public names, except those __all__ lists
    # (`scorers`, used as `from playground import scorers`)
    public = {
        n for n in dir(playground) if not n.startswith("_") and not isinstance(getattr(playground, n), ModuleType)
    }
    assert public <= set(playground.__all__), f"missing from __all__: {sorted(public - set(playground.__all__))}"
    modules = {n for n in playground.__all__ if isinstance(getattr(playground, n), ModuleType)}
    assert modules == {"scorers"}, modules
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
