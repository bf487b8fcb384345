"""pytest plugin for `make mutation` only (enabled by `-p tests.safety.mutation_order` in pyproject's [tool.mutmut]):
run a mutant's tests fastest first.

mutmut runs, for each mutant, the tests that called the mutated function, with `-x`, in no particular order. A mutant
that the tests kill stops at its first failing test, so starting with the fast tests (a few ms each) rather than one
that spawns processes or waits for a lease (seconds) makes most mutants cost a fraction of a second. The durations
come from mutmut's own stats run (`mutants/mutmut-stats.json`, the current directory while mutmut runs tests); without
that file (the stats run itself) the order is left alone. Which tests run is unchanged: only their order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

_durations: dict[str, float] | None = None


def durations() -> dict[str, float]:
    """Seconds per test id as mutmut measured them (read once per process; forked test runs inherit it)."""
    global _durations
    if _durations is None:
        stats = Path("mutmut-stats.json")
        try:
            _durations = {str(k): float(v) for k, v in json.loads(stats.read_text())["duration_by_test"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            _durations = {}
    return _durations


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    known = durations()
    if not known:
        return
    slowest = max(known.values(), default=0.0)
    # an unknown test (added after the stats run) goes last: it may be slow
    items.sort(key=lambda item: known.get(item.nodeid, known.get(f"mutants/{item.nodeid}", slowest)))
