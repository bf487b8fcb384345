"""The browser chat's repaints while a reply streams (gradio_app._stream): a step's first words are shown at once, and
words that came too soon after a repaint are shown when the interval ends, even when the model then pauses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from playground.events import ErrorEvent, StepStartEvent, StreamEvent, TextDeltaEvent
from playground.ui.gradio_app import CHAT_STREAM_INTERVAL, N_TURN, _stream
from playground.ui.session import PlaygroundSession


def test_words_are_shown_without_waiting_for_the_next_event() -> None:
    async def scenario() -> list[str]:
        s = PlaygroundSession()
        log: list[str] = []
        repainted = asyncio.Event()
        resume = asyncio.Event()

        async def events() -> AsyncIterator[StreamEvent]:
            yield StepStartEvent(step=1)
            log.append("first word")
            yield TextDeltaEvent(text="Hello")  # right after the step's repaint: shown at once all the same
            log.append("second word")
            yield TextDeltaEvent(text=" world")  # too soon after the first: held for the rest of the interval ...
            await asyncio.wait_for(resume.wait(), 10)  # ... and the model pauses: it must be shown meanwhile
            log.append("finish")
            yield ErrorEvent(error=RuntimeError("the end"))  # the last event (a finish repaints as this does)

        async def consume() -> None:
            async for updates in _stream(s, events()):
                assert len(updates) == N_TURN  # every turn output, skipped or not
                log.append("repaint")
                if log.count("repaint") == 3 and "finish" not in log:
                    repainted.set()

        async def pause_until_repainted() -> None:
            await asyncio.wait_for(repainted.wait(), 10 * CHAT_STREAM_INTERVAL + 5)
            resume.set()

        await asyncio.gather(consume(), pause_until_repainted())
        return log

    log = asyncio.run(scenario())
    # step, first word, held word (before the pause ends), last event, everything
    assert log == ["repaint", "first word", "repaint", "second word", "repaint", "finish", "repaint", "repaint"], log


def first_repaint_after(events: list[StreamEvent]) -> int:
    async def run() -> int:
        count = 0

        async def source() -> AsyncIterator[StreamEvent]:
            for ev in events:
                yield ev

        async for _ in _stream(PlaygroundSession(), source()):
            count += 1
        return count

    return asyncio.run(run())


def test_a_burst_of_words_repaints_a_few_times_not_once_per_word() -> None:
    burst: list[StreamEvent] = [StepStartEvent(step=1), *[TextDeltaEvent(text=f"w{i} ") for i in range(200)],
                                ErrorEvent(error=RuntimeError("the end"))]
    repaints = first_repaint_after(burst)
    assert 3 <= repaints <= 10, repaints  # step, first word, (held words,) last event, everything: not 200
