"""Run one agent call in one of the four ways a user makes it (generate, generate_async, stream, async stream) against
an httpx2.MockTransport handler, recording requests, retry sleeps (patched: no real waiting), events and the outcome."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest

from playground import Agent, GenerationResult, PlaygroundError, TextDeltaEvent
from playground.providers.transport import Transport
from tests.faults.wire import KEY, Wire

MODES = ["generate", "generate_async", "stream", "stream_async"]
WHOLE_MODES = ["generate", "generate_async"]
STREAM_MODES = ["stream", "stream_async"]
MAX_RETRIES = 2

Handler = Callable[[httpx2.Request, int], httpx2.Response]
"""(request, attempt number from 0) -> response (or raises an httpx2 transport exception)."""


@dataclass
class Outcome:
    result: GenerationResult | None = None
    error: BaseException | None = None
    events: list[Any] = field(default_factory=list)
    requests: list[httpx2.Request] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    @property
    def partial(self) -> GenerationResult | None:
        return self.result if self.error is None else getattr(self.error, "result", None)


def run(wire: Wire, mode: str, handler: Handler, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    out = Outcome()

    def record(request: httpx2.Request) -> httpx2.Response:
        out.requests.append(request)
        return handler(request, len(out.requests) - 1)

    def fake_sleep(seconds: float, abort: Any) -> None:
        out.sleeps.append(seconds)

    async def fake_asleep(seconds: float, abort: Any) -> None:
        out.sleeps.append(seconds)

    monkeypatch.setattr(Transport, "_sleep", staticmethod(fake_sleep))
    monkeypatch.setattr(Transport, "_asleep", staticmethod(fake_asleep))
    mock = httpx2.MockTransport(record)
    is_async = mode.endswith("_async")
    client: httpx2.Client | httpx2.AsyncClient = (
        httpx2.AsyncClient(transport=mock) if is_async else httpx2.Client(transport=mock)
    )
    agent = Agent(model=wire.model, api_key=KEY, base_url=wire.base_url, http_client=client)
    try:
        if mode == "generate":
            out.result = agent.generate("hi", max_retries=MAX_RETRIES)
        elif mode == "generate_async":
            out.result = asyncio.run(agent.generate_async("hi", max_retries=MAX_RETRIES))
        elif mode == "stream":
            run_ = agent.stream("hi", max_retries=MAX_RETRIES)
            for ev in run_:
                out.events.append(ev)
            out.result = run_.final_result()
        else:

            async def consume() -> GenerationResult:
                run_ = agent.stream("hi", max_retries=MAX_RETRIES)
                async for ev in run_:
                    out.events.append(ev)
                return await run_.afinal_result()

            out.result = asyncio.run(consume())
    except PlaygroundError as exc:
        out.error = exc
    return out


def sse_response(chunks: list[bytes], **headers: str) -> httpx2.Response:
    return httpx2.Response(200, headers={"content-type": "text/event-stream", **headers}, content=b"".join(chunks))


def json_response(status: int, body: Any, **headers: str) -> httpx2.Response:
    return httpx2.Response(
        status, headers={"content-type": "application/json", **headers}, content=json.dumps(body).encode()
    )


def assert_no_key(out: Outcome, caplog: pytest.LogCaptureFixture) -> None:
    """The planted key appears on no surface: the error's text, repr, dict, the (partial) result, events, logs."""
    surfaces: list[str] = [repr(ev) for ev in out.events]
    if out.error is not None:
        err = out.error
        surfaces += [str(err), repr(err), repr(err.args)]
        to_dict = getattr(err, "to_dict", None)
        if to_dict is not None:
            surfaces.append(json.dumps(to_dict(), default=str))
    partial = out.partial
    if partial is not None:
        surfaces += [partial.model_dump_json(), repr(partial)]
    surfaces += [r.getMessage() for r in caplog.records]
    leaks = [s for s in surfaces if KEY in s]
    assert not leaks, f"the key leaked into: {leaks[0][:300]}"


def stream_text(out: Outcome) -> str:
    """The text the caller saw arrive, delta by delta."""
    return "".join(ev.text for ev in out.events if isinstance(ev, TextDeltaEvent))
