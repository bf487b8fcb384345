"""Import Gradio without the work the browser playground never uses: about 60% of `import gradio`'s CPU time.

Imported by `playground.ui.gradio_app` before anything imports Gradio (importing it again later costs nothing).
Three things Gradio 6 does on every import are skipped or made cheap; nothing the page or its events use changes:

- `gradio.component_meta.create_or_modify_pyi`: for each of its ~80 component classes Gradio reads the class's
  source file, parses it (twice, with its .pyi stub), and rewrites the stub when it differs: a type-stub generator
  for Gradio's own development, not needed to build or serve a page (the installed wheel ships its stubs). Here it
  does nothing.
- `gradio.events.EventListener.set_doc`: each of the ~220 event listeners' docstrings is compiled as a Jinja
  template to put the component's name in. Here the name is put in by replacing `{{ component }}` (the only thing
  those docstrings template; any other template syntax still goes to Jinja): the same docstrings, no compiling.
  (Both by a finder that wraps those two modules' loaders while Gradio is imported; every other module loads as
  usual, and the finder is gone after.)
- the `mcp` package (~15% of the import): `gradio.mcp` imports it in a class body, inside `try/except ImportError`,
  only to serve a Blocks app *as* an MCP server (`launch(mcp_server=True)`), which the playground never does (its own
  MCP client, `playground.mcp`, does not use that package). While Gradio is imported `mcp` reads as not installed;
  afterwards it imports as usual for anyone who wants it. With GRADIO_MCP_SERVER=true set, it is imported as usual.

- pandas (~0.3 s): `gradio.caching` imports it at its top for `gr.cache`, which hashes DataFrames; nothing else in
  Gradio's import does, and the playground's tables show rows without it (gradio_table.py). While Gradio is imported
  `pandas` is a stand-in that imports the real pandas the first time anything is asked of it; afterwards
  `import pandas` is the real thing as usual.

`PLAYGROUND_FULL_GRADIO_IMPORT=1` turns all of it off (Gradio imported exactly as it ships).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any


def _no_stub_rewrite(*args: Any, **kwargs: Any) -> None:
    """Gradio's .pyi regeneration, skipped (see the module docstring)."""


@contextmanager
def no_stub_files() -> Iterator[None]:
    """Define Gradio component classes inside this: Gradio (imported as shipped, e.g. by a test run or another app
    before the playground) would write a .pyi stub next to the class's own source file, here into the package."""
    meta = sys.modules.get(STUB_MODULE)
    rewrite = getattr(meta, "create_or_modify_pyi", None)
    if meta is None or rewrite is None or rewrite is _no_stub_rewrite:
        yield
        return
    meta.create_or_modify_pyi = _no_stub_rewrite  # type: ignore[attr-defined]
    try:
        yield
    finally:
        meta.create_or_modify_pyi = rewrite  # type: ignore[attr-defined]


def _skip_stub_rewrite(module: ModuleType) -> None:
    if callable(getattr(module, "create_or_modify_pyi", None)):
        module.create_or_modify_pyi = _no_stub_rewrite  # type: ignore[attr-defined]


def _plain_docs(module: ModuleType) -> None:
    listener_class = getattr(module, "EventListener", None)
    jinja_set_doc = getattr(listener_class, "set_doc", None)
    if listener_class is None or not callable(jinja_set_doc):
        return

    def set_doc(self: Any, component: str) -> None:
        doc = self.listener.__doc__
        if not doc:
            return
        plain = doc.replace("{{ component }}", component)
        if "{{" in plain or "{%" in plain or "{#" in plain or plain.endswith("\n"):
            jinja_set_doc(self, component)  # anything else a template could do: Jinja, as shipped
            return
        self.listener.__doc__ = plain

    set_doc.__doc__ = jinja_set_doc.__doc__
    listener_class.set_doc = set_doc


STUB_MODULE = "gradio.component_meta"
PATCHES: dict[str, Callable[[ModuleType], None]] = {
    STUB_MODULE: _skip_stub_rewrite,
    "gradio.events": _plain_docs,
}


class _PatchAfterLoad(importlib.abc.MetaPathFinder):
    """Finds the modules in PATCHES as the normal path finder does; right after one runs, its patch is applied,
    before any component class is defined (the metaclass looks `create_or_modify_pyi` up in its module at each
    call, and `set_doc` on the class)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None,
                  ) -> importlib.machinery.ModuleSpec | None:
        patch = PATCHES.get(fullname)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            patch(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


DEFERRED = ("pandas",)


class DeferredModule(ModuleType):
    """Stands in for a module while Gradio is imported: a module that does `import pandas as pd` at its top and uses
    `pd` only inside functions gets this, and the real module is imported the first time any attribute is asked for
    (then every attribute comes from it). Thread-safe: two first uses import it once."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_deferred_lock"] = threading.Lock()
        self.__dict__["_deferred_real"] = None

    def __getattr__(self, attr: str) -> Any:
        real = self.__dict__["_deferred_real"]
        if real is None:
            with self.__dict__["_deferred_lock"]:
                real = self.__dict__["_deferred_real"]
                if real is None:
                    name = self.__name__
                    if sys.modules.get(name) is self:  # asked for while Gradio is still importing
                        del sys.modules[name]
                    real = importlib.import_module(name)
                    self.__dict__["_deferred_real"] = real
        return getattr(real, attr)


def import_gradio() -> tuple[ModuleType, float]:
    """Import Gradio (once per process) as described above; returns the module and the seconds the import took."""
    started = time.perf_counter()
    if "gradio" in sys.modules:
        return sys.modules["gradio"], 0.0
    if os.environ.get("PLAYGROUND_FULL_GRADIO_IMPORT", "").strip().lower() in ("1", "true", "yes"):
        import gradio

        return gradio, time.perf_counter() - started
    finder = _PatchAfterLoad()
    sys.meta_path.insert(0, finder)
    block_mcp = "mcp" not in sys.modules and os.environ.get("GRADIO_MCP_SERVER", "").strip().lower() != "true"
    if block_mcp:
        sys.modules["mcp"] = None  # type: ignore[assignment]  # `import mcp` raises ImportError meanwhile
    deferred = {name: DeferredModule(name) for name in DEFERRED if name not in sys.modules}
    sys.modules.update(deferred)
    try:
        import gradio
    finally:
        sys.meta_path.remove(finder)
        if block_mcp and sys.modules.get("mcp", 0) is None:
            del sys.modules["mcp"]
        for name, stand_in in deferred.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]  # from now on `import pandas` is the real thing
    return gradio, time.perf_counter() - started


gradio_module, import_seconds = import_gradio()
