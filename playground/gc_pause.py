"""Pause CPython's cyclic garbage collector while a bulk of long-lived objects is built (a long history's messages).

Each message of a history becomes a few container objects that live until the call ends. Built with the collector on,
they are scanned by a young collection every 700 allocations and promoted to the oldest generation, and every ~50,000
promotions set off a full collection over the whole heap (every module, every Gradio component): measured, that was
more than half the cost of a call with a 1,000-message history. Built with the collector paused, they meet one young
collection, and die (by reference counting: a run's objects hold no cycles) before they are promoted again.

Process-wide and thread-safe: the collector is switched off by the first section to enter and back on by the last to
leave, and only if it was on when the first entered (a program that turned it off itself keeps it off).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_restore = False


@contextmanager
def paused_gc() -> Iterator[None]:
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = gc.isenabled()
            if _restore:
                gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore:
                gc.enable()
