"""benchmarks/instructions.py: its workloads give raw httpx2's answers, and a count under callgrind is one number
per operation (the benchmark itself takes minutes: `make bench-instructions`)."""

from __future__ import annotations

import importlib.util
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _instructions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_instructions", ROOT / "benchmarks" / "instructions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_workload_does_what_its_raw_httpx2_twin_does() -> None:
    work = _instructions().workloads()
    for name in ("call", "tool_loop", "stream", "history", "short"):
        assert work[name]() == work[f"raw_{name}"](), name
    assert work["stream"]() == sum(len(f"tok{i} ") for i in range(200))  # every chunk's text arrived
    assert work["tool_loop"]() == "Hello from the benchmark server."  # the tool ran, then the model answered


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (apt-get install valgrind)")
def test_callgrind_counts_the_operations_run() -> None:
    bench = _instructions()
    with ThreadPoolExecutor(2) as pool:  # two valgrind runs side by side
        none, some = pool.map(bench.count, ["raw_call", "raw_call"], [0, 4])
    assert 0 < none < some
    assert 100_000 < (some - none) / 4 < 50_000_000  # one raw call: a plausible count, not start-up noise
