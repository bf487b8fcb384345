"""A long history is normalised with the cyclic garbage collector paused (gc_pause.py), and the collector always
comes back on: after the work, after an error, across threads, and never when the program had turned it off."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from playground import ConfigurationError
from playground import messages as messages_module
from playground.gc_pause import paused_gc
from playground.messages import BULK_MESSAGES, normalize_messages


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def history(n: int) -> list[dict[str, Any]]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(n)]


def test_paused_inside_and_back_on_after() -> None:
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():  # nested sections: the outer one turns it back on
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_on_after_an_error() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_program_that_turned_it_off_keeps_it_off() -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_sections_in_threads_turn_it_back_on_once_all_have_left() -> None:
    inside, release = threading.Barrier(3), threading.Event()
    seen: list[bool] = []

    def work() -> None:
        with paused_gc():
            inside.wait(timeout=10)
            release.wait(timeout=10)
            seen.append(gc.isenabled())

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait(timeout=10)  # both threads are inside
    assert not gc.isenabled()
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert gc.isenabled()
    assert len(seen) == 2


def test_a_long_history_is_built_with_the_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    states: list[bool] = []
    real = messages_module._plain_message

    def spy(role: str, text: str, named: bool = True) -> Any:
        states.append(gc.isenabled())
        return real(role, text, named)

    monkeypatch.setattr(messages_module, "_plain_message", spy)
    long = normalize_messages(history(BULK_MESSAGES + 1))
    assert len(long) == BULK_MESSAGES + 1 and set(states) == {False}
    assert gc.isenabled()
    states.clear()
    normalize_messages(history(3))  # a short one is not worth the switch
    assert set(states) == {True}


def test_the_same_messages_either_way_and_the_collector_on_after_a_refused_item() -> None:
    items = history(BULK_MESSAGES + 5)
    long = normalize_messages(items)
    assert long == [m for i in range(0, len(items), 5) for m in normalize_messages(items[i : i + 5])]
    items[BULK_MESSAGES] = {"role": "wizard", "content": "x"}
    with pytest.raises(ConfigurationError, match=rf"messages\[{BULK_MESSAGES}\]\.role"):
        normalize_messages(items)
    assert gc.isenabled()
