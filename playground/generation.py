"""Generation: a call that has not been sent. Inspect it, then run it now, stream it, or queue it for later.

`request_preview()` is built by the same pure provider code that `generate_now()` uses, so the preview is exactly the
request that will be sent (with the key masked).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .drivers import _call_sync, drive_async, drive_sync
from .events import ErrorEvent, FinishEvent, StreamEvent, TextDeltaEvent
from .jobs import Job
from .loop import Invoke, LoopGen, RunSetup, _plan_step, _process_input, _process_input_step, run_loop
from .messages import Message
from .processors import TripwireError
from .providers.base import ModelCall
from .providers.transport import masked_request
from .result import GenerationResult, fast_replace
from .runs import RunState
from .settings import AbortSignal, CallOptions, ModelSettings

if TYPE_CHECKING:
    from .agent import Agent


def _drive_calls(gen: Generator[Any, Any, Any]) -> Any:
    """Run a loop helper that only asks for user callables (processors, prepare_step), without I/O."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = None, None
        if isinstance(effect, Invoke):
            try:
                value = _call_sync(effect.fn, effect.kwargs, effect.args)
            except Exception as exc:
                if not effect.throw:
                    raise
                error = exc


class StreamRun:
    """A run in progress as a stream of typed events. Iterate it (sync or async); `result` is set when it ends.

    Each StreamRun is consumed once. `text_stream()` yields only text; `abort()` stops it at the next chunk.
    """

    def __init__(self, make_gen: Any, options: CallOptions, abort: AbortSignal, *,
                 make_gen_async: Callable[[], Awaitable[LoopGen]] | None = None) -> None:
        self._make_gen = make_gen
        self._make_gen_async = make_gen_async
        """For `async for`: builds the run with its blocking preparation (memory reads) off the event loop."""
        self._options = options
        self.abort_signal = abort
        self.result: GenerationResult | None = None
        self.events: list[StreamEvent] = []
        self.error: BaseException | None = None
        """The error the stream raised (after yielding it as an ErrorEvent), if any."""
        self._started = False

    def _claim(self) -> LoopGen:
        if self._started:
            raise RuntimeError("this stream was already consumed; call stream() again for a new run")
        self._started = True
        return self._make_gen()

    async def _aclaim(self) -> LoopGen:
        if self._make_gen_async is None:
            return self._claim()
        if self._started:
            raise RuntimeError("this stream was already consumed; call stream() again for a new run")
        self._started = True
        return await self._make_gen_async()

    def __iter__(self) -> Iterator[StreamEvent]:
        gen = self._claim()
        try:
            # the driver appends each event to self.events and sets self.result itself: no loop of our own per event
            yield from drive_sync(gen, self._options.on_chunk, self.abort_signal, self)
        except Exception as exc:
            yield self._error_event(exc)  # reported as an `error` event first (as Mastra's stream does) ...
            raise  # ... then raised, with the partial result on `exc.result` and `self.result`

    async def __aiter__(self) -> AsyncIterator[StreamEvent]:
        gen = await self._aclaim()
        try:
            async for ev in drive_async(gen, self._options.on_chunk, self.abort_signal, self):
                yield ev
        except Exception as exc:
            yield self._error_event(exc)
            raise

    def _error_event(self, exc: BaseException) -> ErrorEvent:
        self.error = exc
        partial = getattr(exc, "result", None)
        if isinstance(partial, GenerationResult):
            self.result = partial
        ev = ErrorEvent(exc, len(partial.steps) if isinstance(partial, GenerationResult) else 0)
        self.events.append(ev)
        return ev

    def _ipython_display_(self) -> None:
        """In a notebook: streams live into the cell's output (when not iterated yet), then shows the result, or the
        error with the partial result kept (see display.display_stream)."""
        from .display import display_stream

        display_stream(self)

    def __repr__(self) -> str:
        state = "failed" if self.error is not None else "finished" if self.result is not None else (
            "streaming" if self._started else "not started")
        return f"StreamRun({state}, events={len(self.events)})"

    def text_stream(self) -> Iterator[str]:
        """The text deltas only (every event is still kept in `events`; an error is recorded, then raised)."""
        gen = self._claim()
        try:
            for ev in drive_sync(gen, self._options.on_chunk, self.abort_signal, self):
                if ev.__class__ is TextDeltaEvent:
                    yield ev.text  # type: ignore[union-attr]
        except Exception as exc:
            self._error_event(exc)
            raise

    async def atext_stream(self) -> AsyncIterator[str]:
        gen = await self._aclaim()
        try:
            async for ev in drive_async(gen, self._options.on_chunk, self.abort_signal, self):
                if ev.__class__ is TextDeltaEvent:
                    yield ev.text  # type: ignore[union-attr]
        except Exception as exc:
            self._error_event(exc)
            raise

    def final_result(self) -> GenerationResult:
        """Consume what is left of the stream and return the result."""
        if not self._started:
            for _ in self:
                pass
        if self.result is None:
            raise RuntimeError("the stream ended without a result")
        return self.result

    async def afinal_result(self) -> GenerationResult:
        if not self._started:
            async for _ in self:
                pass
        if self.result is None:
            raise RuntimeError("the stream ended without a result")
        return self.result

    def abort(self, reason: str | None = None) -> None:
        self.abort_signal.abort(reason or "stopped")


class Generation:
    """An inspectable call: `messages`, `instructions`, `tools`, `settings`, `request_preview()`; nothing sent yet."""

    def __init__(
        self, agent: Agent, messages: list[Message], options: CallOptions, *, state: RunState | None = None
    ) -> None:
        self.agent = agent
        self.options = options
        self._input = messages
        self._state = state
        self._embedded: dict[str, list[float]] = {}
        """Memory's semantic-recall query vectors (text -> vector): the preview and the run embed the input once."""

    # -- inspection -------------------------------------------------------------------------------------------------
    @property
    def messages(self) -> list[Message]:
        """The conversation the model will see (system messages first)."""
        state = self._new_state()
        return [*state.system, *state.context, *state.messages]

    @property
    def instructions(self) -> str:
        return "\n\n".join(m.text for m in self._new_state().system)

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The active tools with their JSON schemas."""
        tools, client = self.agent._tools_for(self.options)
        every = {**tools, **client}
        names = self.options.active_tools if self.options.active_tools is not None else list(every)
        return [every[n].schema() for n in names if n in every]

    @property
    def settings(self) -> ModelSettings:
        return self.agent._settings_for(self.options)

    @property
    def model(self) -> str:
        return self.agent._model_for(self.options)

    def model_call(self, *, stream: bool = False) -> ModelCall:
        """The provider-neutral call of the first step, as the run will build it: input processors run on the
        messages, and `prepare_step` is called for step 0 (see `request_preview`)."""
        return self._first_call(stream=stream)[0]

    def _first_call(self, *, stream: bool) -> tuple[ModelCall, Any, Any]:
        setup = self._setup(stream=stream)
        state = self._new_state().model_copy()  # processors and prepare_step replace its lists; the original stays

        def build() -> Generator[Any, Any, tuple[ModelCall, Any, Any]]:
            if setup.input_processors:
                yield from _process_input(setup, state)
            plan = yield from _plan_step(setup, state, 0)
            provider, transport = setup.resolve(plan.model)
            sent = [*state.system, *plan.system, *state.context, *state.messages]
            if setup.input_processors:
                sent = yield from _process_input_step(setup, state, 0, sent)
            call = ModelCall(
                model=provider.model,
                messages=sent,
                tools=[t.definition() for t in plan.active.values()],
                tool_choice=plan.tool_choice if plan.active else "auto",
                settings=plan.settings,
                provider_options=plan.provider_options,
                response_format=setup.response_format,
                stream=stream,
            )
            return call, provider, transport

        return _drive_calls(build())

    def request_preview(self, *, stream: bool = False) -> dict[str, Any]:
        """The exact HTTP request of the first step: method, URL, headers (key masked), JSON body, warnings.

        It is built as the run builds it: the input processors run (a PII redactor's output shows here) and
        `prepare_step` is called for step 0. What it cannot know in advance: the requests of later steps, which
        depend on the model's answers, tool results and what `prepare_step` returns at step 2 and after. A processor
        that would stop the run (a tripwire) is reported in `warnings`, and the request shown is the unprocessed one.
        """
        try:
            call, provider, transport = self._first_call(stream=stream)
            tripped = None
        except TripwireError as trip:
            tripped = trip
            setup = self._setup(stream=stream)
            provider, transport = setup.resolve(setup.model)
            state = self._new_state()
            call = ModelCall(
                model=provider.model, messages=[*state.system, *state.context, *state.messages],
                settings=setup.settings, provider_options=dict(self.options.provider_options or {}),
                response_format=setup.response_format, stream=stream,
            )
        spec = provider.build_request(call)
        preview = masked_request(spec, transport.secrets)
        preview["warnings"] = list(spec.warnings)
        if tripped is not None:
            preview["warnings"].append(
                f"input processor {tripped.processor_id or ''} would stop this run: {tripped.reason}".replace("  ", " ")
            )
        return preview

    def __repr__(self) -> str:
        last = self._input[-1].text[:60] if self._input else ""
        return f"Generation(model={self.model!r}, messages={len(self.messages)}, last={last!r})"

    def _repr_html_(self) -> str:
        from .display import generation_html

        return generation_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from .display import generation_text, pretty

        pretty(generation_text(self), p, cycle)

    # -- running ----------------------------------------------------------------------------------------------------
    def _setup(self, *, stream: bool) -> RunSetup:
        return self.agent._setup(self.options, stream=stream)

    def _new_state(self) -> RunState:
        if self._state is not None:
            return self._state
        return self.agent._new_state(self._input, self.options, embed_cache=self._embedded)

    def _gen(self, *, stream: bool, options: CallOptions | None = None) -> LoopGen:
        setup = self.agent._setup(options if options is not None else self.options, stream=stream)
        return run_loop(setup, self._new_state())

    async def _agen(self, *, stream: bool, options: CallOptions | None = None) -> LoopGen:
        """`_gen` for the async paths: memory's reads and the recall embedding run in a worker thread, so the event
        loop (every other session of a playground server) keeps running while the store or the embedder answers."""
        setup = self.agent._setup(options if options is not None else self.options, stream=stream)
        if self._state is None and self.options.memory is not None:
            import asyncio

            state = await asyncio.to_thread(self._new_state)
        else:
            state = self._new_state()
        return run_loop(setup, state)

    def generate_now(self) -> GenerationResult:
        """Send the call and run every step; returns the result (also from inside a running event loop)."""
        result: GenerationResult | None = None
        for ev in drive_sync(self._gen(stream=False), self.options.on_chunk, self.options.abort_signal):
            if isinstance(ev, FinishEvent):
                result = ev.result
        assert result is not None
        return result

    prompt_now = generate_now

    async def generate_async(self) -> GenerationResult:
        result: GenerationResult | None = None
        async for ev in drive_async(await self._agen(stream=False), self.options.on_chunk, self.options.abort_signal):
            if isinstance(ev, FinishEvent):
                result = ev.result
        assert result is not None
        return result

    def stream(self) -> StreamRun:
        """A StreamRun; iterate it with `for` or `async for`.

        Each stream has its own abort signal (`StreamRun.abort()` stops that run only; the generation can run again);
        an `abort_signal=` passed to the call also stops it."""
        abort = AbortSignal()
        user = self.options.abort_signal
        if user is not None:
            if user.aborted:
                abort.abort(user.reason)
            user.on_abort(lambda: abort.abort(user.reason))
        options = fast_replace(self.options, abort_signal=abort)
        return StreamRun(lambda: self._gen(stream=True, options=options), options, abort,
                         make_gen_async=lambda: self._agen(stream=True, options=options))

    def generate_later(
        self, *, queue: str = "default", wait: float | timedelta | None = None, wait_until: datetime | None = None,
        priority: int = 0, durable: bool | None = None, max_attempts: int | None = None,
    ) -> Job[GenerationResult]:
        """Queue the call on Huey (playground/jobs.py): it runs in a worker, after `wait` seconds or at `wait_until`,
        higher `priority` first; `job.result()` waits for the GenerationResult, `Job.get(job.id)` finds it anywhere.
        An agent or options that cannot be stored run in this process instead (see jobs.py; durable=True refuses)."""
        from .jobs import generate_later

        return generate_later(self, queue=queue, wait=wait, wait_until=wait_until, priority=priority,
                              durable=durable, max_attempts=max_attempts)

    prompt_later = generate_later

