"""Drivers: fulfil the loop's effects with real I/O. The sync driver needs no event loop (so it works inside Jupyter's);
the async driver runs everything on the caller's loop. Both yield stream events and end with `FinishEvent`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from datetime import UTC, datetime
from typing import Any

from .errors import AbortedError, ProviderError, ToolError
from .events import FinishEvent, StreamEvent
from .loop import CallbackError, Emit, Invoke, LoopGen, ModelOutcome, ModelRequest, RunTools, ToolRun
from .processors import TripwireError
from .providers.base import ModelResponse, SSEEvent, loads_json
from .providers.guard import (
    PARSE_ERRORS,
    finish_stream,
    malformed_event,
    mask_events,
    parse_whole,
    partial_response,
)
from .providers.transport import (
    HttpResult,
    StreamHandle,
    contains_secret,
    mask_headers,
    mask_text,
    mask_value,
    masked_request,
)
from .raw_events import RawEvents
from .result import RawRequest, RawResponse, ToolResult, fast_construct
from .settings import AbortSignal
from .tools import run_coroutine_sync


def _raw_request(req: ModelRequest) -> RawRequest:
    return fast_construct(RawRequest, **masked_request(req.spec, req.transport.secrets))


def _masked_error(exc: ProviderError, secrets: list[str], provider: str | None = None) -> ProviderError:
    exc.message = mask_text(exc.message, secrets)
    exc.args = (exc.message,)
    exc.raw_body = mask_value(exc.raw_body, secrets)
    if exc.provider is None and provider is not None:
        exc.provider = provider
    return exc


def _error_from(req: ModelRequest, http: HttpResult) -> ProviderError:
    try:
        err = req.provider.parse_error(http.status, http.headers, http.body)
    except PARSE_ERRORS as exc:  # an error body a provider's parser did not expect: still a ProviderError
        from .errors import error_class_for_status

        err = error_class_for_status(http.status)(
            f"HTTP {http.status} ({type(exc).__name__} while reading the error body)",
            status=http.status,
            provider=req.provider.name,
            raw_body=_json_or_text(http.body),
        )
    err.attempts = http.attempts
    err.raw_request = _raw_request(req)  # type: ignore[attr-defined]  # key masked; shown by the error's display
    if http.retry_after is not None:  # asked to wait longer than the retry cap: raised at once, not retried early
        err.retry_after = http.retry_after
        err.message = (
            f"{err.message} (the server asked to retry after {http.retry_after:.0f} s, longer than the client "
            "waits between retries; try again later)"
        )
    return _masked_error(err, req.transport.secrets, req.provider.name)


def _keep_partial(
    exc: ProviderError, req: ModelRequest, handle: StreamHandle, parser: Any, started_at: datetime
) -> ProviderError:
    """Keep what a stream produced before it failed as a step on the error, for the run's `.result`."""
    from .loop import _make_step

    exc = _masked_error(exc, req.transport.secrets, req.provider.name)
    exc.attempts = handle.attempts
    outcome = _stream_outcome(req, handle, partial_response(parser), started_at, False)
    step = _make_step(req.step, None, req.provider, outcome, req.spec)  # type: ignore[arg-type]
    step.finish_reason = "error"
    exc.partial_step = step  # type: ignore[attr-defined]
    return exc


def _json_or_text(body: bytes) -> Any:
    try:
        return loads_json(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def _whole_outcome(req: ModelRequest, http: HttpResult, started_at: datetime) -> ModelOutcome:
    if not http.ok:
        raise _error_from(req, http)
    secrets = req.transport.secrets
    try:
        response = parse_whole(req.provider, http.status, http.headers, http.body, secrets)
    except ProviderError as exc:
        exc.attempts = http.attempts
        raise _masked_error(exc, secrets, req.provider.name) from None
    body = _json_or_text(http.body)
    raw = fast_construct(
        RawResponse,
        status=http.status,
        headers=mask_headers(http.headers, secrets),
        body=mask_value(body, secrets) if contains_secret(http.body, secrets) else body,
        stream=False,
    )
    return ModelOutcome(response, _raw_request(req), raw, started_at, http.elapsed_ms, None, http.attempts)


def _stream_outcome(
    req: ModelRequest,
    handle: StreamHandle,
    response: ModelResponse,
    started_at: datetime,
    aborted: bool,
    echoed: bool | None = None,
) -> ModelOutcome:
    """`echoed`: whether a stream event carried a key back (None: not tracked, look at every event)."""
    now = time.perf_counter()
    secrets = req.transport.secrets
    events = handle.raw_events
    if echoed is None:
        echoed = bool(secrets) and any(contains_secret(e, secrets) for e in events)
    if echoed:  # a key echoed back in a stream event
        events = [mask_text(e, secrets) for e in events]
    raw = fast_construct(
        RawResponse,
        status=handle.status,
        headers=mask_headers(handle.headers, secrets),
        body=RawEvents(events),  # the list appended to while live, kept compactly once the step ends
        stream=True,
    )
    ttfc = (handle.first_chunk_at - handle.started) * 1000 if handle.first_chunk_at else None
    return ModelOutcome(
        response, _raw_request(req), raw, started_at, (now - handle.started) * 1000, ttfc, handle.attempts, aborted
    )


def _aborted_outcome(req: ModelRequest, started_at: datetime, t0: float) -> ModelOutcome:
    return ModelOutcome(
        ModelResponse(finish_reason="aborted"),
        _raw_request(req),
        None,
        started_at,
        (time.perf_counter() - t0) * 1000,
        aborted=True,
    )


def _tool_error_text(exc: BaseException) -> str:
    if isinstance(exc, ToolError):
        return str(exc)
    return f"Error: {type(exc).__name__}: {exc}"


def _tool_result(run: ToolRun, value: Any, is_error: bool, t0: float) -> ToolResult:
    return fast_construct(
        ToolResult,
        tool_call_id=run.call.tool_call_id,
        tool_name=run.tool.name,
        args=run.call.args,
        result=value,
        is_error=is_error,
        duration_ms=(time.perf_counter() - t0) * 1000,
        exchange=_exchange_of(run),
    )


def _exchange_of(run: ToolRun) -> dict[str, Any] | None:
    """An MCP tool's JSON-RPC exchange for this call (other tools have none)."""
    exchange_for = getattr(run.tool, "exchange_for", None)
    return exchange_for(run.call.tool_call_id) if exchange_for is not None else None


# ----------------------------------------------------------------------------------------------------------------
# Sync


def _chunk_sync(on_chunk: Callable[..., Any], event: StreamEvent) -> None:
    """`on_chunk` takes the event as its one positional argument, whatever the callback names it."""
    try:
        _call_sync(on_chunk, {}, (event,))
    except Exception as exc:
        raise CallbackError("on_chunk", exc) from exc


def _call_sync(fn: Callable[..., Any], kwargs: dict[str, Any], args: tuple[Any, ...] = ()) -> Any:
    value = fn(*args, **kwargs)
    if inspect.isawaitable(value):
        value = run_coroutine_sync(value)
    return value


def _run_tool_sync(run: ToolRun) -> ToolResult:
    t0 = time.perf_counter()
    try:
        return _tool_result(run, run.tool.run(run.args, run.ctx, validated=True), False, t0)
    except Exception as exc:
        return _tool_result(run, _tool_error_text(exc), True, t0)


def _run_tools_sync(effect: RunTools) -> list[ToolResult]:
    if len(effect.runs) == 1 or effect.concurrency <= 1:
        return [_run_tool_sync(r) for r in effect.runs]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(effect.concurrency, len(effect.runs))) as pool:
        return list(pool.map(_run_tool_sync, effect.runs))


def _data_feeder(parser: Any) -> Callable[[str], list[StreamEvent]]:
    """The parser's `feed_data(data)` (every parser here has one); a parser written to the protocol only gets an
    SSEEvent built for each plain event."""
    feed_data = getattr(parser, "feed_data", None)
    if feed_data is not None:
        return feed_data  # type: ignore[no-any-return]
    feed = parser.feed
    return lambda data: feed(SSEEvent(data))  # type: ignore[no-any-return]


def _end_stream(
    req: ModelRequest, handle: StreamHandle, parser: Any, started_at: datetime, aborted: bool, echoed: bool
) -> ModelOutcome:
    try:
        secrets = req.transport.secrets
        response = finish_stream(
            req.provider, parser, handle.status, handle.raw_events, secrets, aborted=aborted, echoed=echoed
        )
    except ProviderError as exc:
        raise _keep_partial(exc, req, handle, parser, started_at) from None
    return _stream_outcome(req, handle, response, started_at, aborted, echoed)


def _model_sync(
    req: ModelRequest, abort: AbortSignal | None, on_chunk: Any, put: Callable[[Any], None] | None
) -> Generator[StreamEvent, None, ModelOutcome]:
    """One model call: yields its stream events (each also given to `put`, the StreamRun's event list), returns the
    outcome. The stream loop is the hot path of every streamed answer: one pass per network read decodes its events
    (transport.stream_batches), then each event goes parser -> raw record -> consumer with no other layer between."""
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    transport = req.transport
    try:
        if not req.call.stream:
            http = transport.send(req.spec, retry=req.retry, abort=abort, timeout=req.timeout)
            return _whole_outcome(req, http, started_at)
        handle = transport.open_stream(
            req.spec, req.provider.stream_format, retry=req.retry, abort=abort, timeout=req.timeout
        )
    except AbortedError:
        return _aborted_outcome(req, started_at, t0)
    if isinstance(handle, HttpResult):
        raise _error_from(req, handle)
    parser = req.provider.stream_parser(req.call)
    feed_data = _data_feeder(parser)
    step = req.step
    keep = req.chunk_filter
    secrets = transport.secrets
    one = secrets[0] if len(secrets) == 1 else None  # the common case: one key, one `in` per event
    record = handle.raw_events.append
    aborted = False
    echoed = False  # did any stream event carry a key back? (then the raw view and the answer are masked)
    data: Any = None  # the event being read (named in a parse error)
    batches = transport.stream_batches(handle)
    try:
        for items in batches:
            for item in items:
                if item.__class__ is str:
                    data = item
                    record(data)
                    evs = feed_data(data)
                else:
                    data = item.data  # type: ignore[union-attr]
                    record(data)
                    evs = parser.feed(item)
                if secrets and ((one in data) if one is not None else contains_secret(data, secrets)):
                    echoed = True  # a key echoed back inside the stream
                    mask_events(evs, secrets)
                for ev in evs:
                    ev.step = step  # type: ignore[union-attr]
                    if keep is not None and (ev := keep(ev)) is None:
                        continue
                    if on_chunk is not None:
                        _chunk_sync(on_chunk, ev)
                    if put is not None:
                        put(ev)
                    yield ev
                if abort is not None and abort.aborted:
                    raise AbortedError(abort.reason or "aborted")
    except AbortedError:
        aborted = True
    except ProviderError as exc:
        raise _keep_partial(exc, req, handle, parser, started_at) from None
    except PARSE_ERRORS as exc:
        err = malformed_event(req.provider, handle.status, data, exc, secrets)
        raise _keep_partial(err, req, handle, parser, started_at) from None
    finally:
        batches.close()  # an abort, an error or a consumer that stopped early: the connection is released now
    return _end_stream(req, handle, parser, started_at, aborted, echoed)


def drive_sync(
    gen: LoopGen, on_chunk: Callable[..., Any] | None, abort: AbortSignal | None, run: Any = None
) -> Iterator[StreamEvent]:
    """Run the loop with blocking I/O, yielding every event; the last one is FinishEvent(result).

    `run` (a StreamRun): each event is appended to `run.events` before it is yielded, and `run.result` is set before
    the FinishEvent goes out, so the StreamRun needs no layer of its own around this one."""
    put = run.events.append if run is not None else None
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            final = FinishEvent(stop.value)
            if on_chunk is not None:
                try:
                    _chunk_sync(on_chunk, final)
                except CallbackError as exc:
                    raise exc.error from None
            if run is not None:
                run.events.append(final)
                run.result = final.result
            yield final
            return
        except CallbackError as exc:  # the loop called on_error and kept the partial result on the error
            raise exc.error from None
        value, error = None, None
        if isinstance(effect, Emit):
            if on_chunk is not None:
                try:
                    _chunk_sync(on_chunk, effect.event)
                except CallbackError as exc:
                    error = exc
                    continue
            if put is not None:
                put(effect.event)
            yield effect.event
        elif isinstance(effect, ModelRequest):
            try:
                value = yield from _model_sync(effect, abort, on_chunk, put)
            except (ProviderError, TripwireError, CallbackError) as exc:
                error = exc
        elif isinstance(effect, RunTools):
            value = _run_tools_sync(effect)
        elif isinstance(effect, Invoke):
            if effect.throw:
                try:
                    value = _call_sync(effect.fn, effect.kwargs, effect.args)
                except Exception as exc:
                    error = exc
            else:
                try:
                    value = _call_sync(effect.fn, effect.kwargs, effect.args)
                except Exception as exc:
                    error = CallbackError(getattr(effect.fn, "__name__", "a callback"), exc)


class OffLoop:
    """A blocking callable (a database read or write, an embedding HTTP call) that the loop asks for with `Invoke`:
    the sync driver calls it; the async driver runs it in a worker thread (`asyncio.to_thread`), so one run's memory
    I/O never stalls the other coroutines on the event loop (every browser session of a playground server)."""

    __slots__ = ("__name__", "fn")

    def __init__(self, fn: Callable[..., Any], name: str | None = None) -> None:
        self.fn = fn
        self.__name__ = name or getattr(fn, "__name__", "a blocking call")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# Async


async def _chunk_async(on_chunk: Callable[..., Any], event: StreamEvent) -> None:
    try:
        await _call_async(on_chunk, {}, (event,))
    except Exception as exc:
        raise CallbackError("on_chunk", exc) from exc


async def _call_async(fn: Callable[..., Any], kwargs: dict[str, Any], args: tuple[Any, ...] = ()) -> Any:
    if isinstance(fn, OffLoop):  # blocking I/O (memory's store and embedder): in a worker thread, the loop runs on
        import asyncio

        value = await asyncio.to_thread(fn, *args, **kwargs)
    else:
        value = fn(*args, **kwargs)
    if inspect.isawaitable(value):
        value = await value
    return value


async def _run_tool_async(run: ToolRun) -> ToolResult:
    t0 = time.perf_counter()
    try:
        return _tool_result(run, await run.tool.arun(run.args, run.ctx, validated=True), False, t0)
    except Exception as exc:
        return _tool_result(run, _tool_error_text(exc), True, t0)


async def _run_tools_async(effect: RunTools) -> list[ToolResult]:
    if len(effect.runs) == 1 or effect.concurrency <= 1:
        return [await _run_tool_async(r) for r in effect.runs]
    import asyncio

    sem = asyncio.Semaphore(effect.concurrency)

    async def bounded(run: ToolRun) -> ToolResult:
        async with sem:
            return await _run_tool_async(run)

    return list(await asyncio.gather(*(bounded(r) for r in effect.runs)))


async def _open_async(
    req: ModelRequest, abort: AbortSignal | None, started_at: datetime
) -> ModelOutcome | StreamHandle:
    """A whole answer's outcome, or the open stream's handle."""
    t0 = time.perf_counter()
    transport = req.transport
    try:
        if not req.call.stream:
            http = await transport.send_async(req.spec, retry=req.retry, abort=abort, timeout=req.timeout)
            return _whole_outcome(req, http, started_at)
        handle = await transport.open_stream_async(
            req.spec, req.provider.stream_format, retry=req.retry, abort=abort, timeout=req.timeout
        )
    except AbortedError:
        return _aborted_outcome(req, started_at, t0)
    if isinstance(handle, HttpResult):
        raise _error_from(req, handle)
    return handle


async def drive_async(
    gen: LoopGen, on_chunk: Callable[..., Any] | None, abort: AbortSignal | None, run: Any = None
) -> AsyncIterator[StreamEvent]:
    """`drive_sync` on the caller's event loop. The model stream is read inline (async generators cannot delegate),
    so each event crosses one async layer here, not one per step of the pipeline."""
    put = run.events.append if run is not None else None
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = gen.throw(error) if error is not None else gen.send(value)
        except StopIteration as stop:
            final = FinishEvent(stop.value)
            if on_chunk is not None:
                try:
                    await _chunk_async(on_chunk, final)
                except CallbackError as exc:
                    raise exc.error from None
            if run is not None:
                run.events.append(final)
                run.result = final.result
            yield final
            return
        except CallbackError as exc:  # the loop called on_error and kept the partial result on the error
            raise exc.error from None
        value, error = None, None
        if isinstance(effect, Emit):
            if on_chunk is not None:
                try:
                    await _chunk_async(on_chunk, effect.event)
                except CallbackError as exc:
                    error = exc
                    continue
            if put is not None:
                put(effect.event)
            yield effect.event
        elif isinstance(effect, ModelRequest):
            req = effect
            started_at = datetime.now(UTC)
            try:
                opened = await _open_async(req, abort, started_at)
            except (ProviderError, TripwireError, CallbackError) as exc:
                error = exc
                continue
            if type(opened) is ModelOutcome:
                value = opened
                continue
            handle: StreamHandle = opened  # type: ignore[assignment]
            transport = req.transport
            parser = req.provider.stream_parser(req.call)
            feed_data = _data_feeder(parser)
            step = req.step
            keep = req.chunk_filter
            secrets = transport.secrets
            one = secrets[0] if len(secrets) == 1 else None
            record = handle.raw_events.append
            aborted = False
            echoed = False
            data: Any = None  # the event being read (named in a parse error)
            batches = transport.astream_batches(handle)
            try:
                try:
                    async for items in batches:
                        for item in items:
                            if item.__class__ is str:
                                data = item
                                record(data)
                                evs = feed_data(data)
                            else:
                                data = item.data  # type: ignore[union-attr]
                                record(data)
                                evs = parser.feed(item)
                            if secrets and ((one in data) if one is not None else contains_secret(data, secrets)):
                                echoed = True
                                mask_events(evs, secrets)
                            for ev in evs:
                                ev.step = step  # type: ignore[union-attr]
                                if keep is not None and (ev := keep(ev)) is None:
                                    continue
                                if on_chunk is not None:
                                    await _chunk_async(on_chunk, ev)
                                if put is not None:
                                    put(ev)
                                yield ev
                            if abort is not None and abort.aborted:
                                raise AbortedError(abort.reason or "aborted")
                except AbortedError:
                    aborted = True
                except ProviderError as exc:
                    raise _keep_partial(exc, req, handle, parser, started_at) from None
                except PARSE_ERRORS as exc:
                    err = malformed_event(req.provider, handle.status, data, exc, secrets)
                    raise _keep_partial(err, req, handle, parser, started_at) from None
                finally:
                    await batches.aclose()
                value = _end_stream(req, handle, parser, started_at, aborted, echoed)
            except (ProviderError, TripwireError, CallbackError) as exc:
                error = exc
        elif isinstance(effect, RunTools):
            value = await _run_tools_async(effect)
        elif isinstance(effect, Invoke):
            if effect.throw:
                try:
                    value = await _call_async(effect.fn, effect.kwargs, effect.args)
                except Exception as exc:
                    error = exc
            else:
                try:
                    value = await _call_async(effect.fn, effect.kwargs, effect.args)
                except Exception as exc:
                    error = CallbackError(getattr(effect.fn, "__name__", "a callback"), exc)
