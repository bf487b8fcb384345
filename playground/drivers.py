"""Drivers: fulfil the loop's effects with real I/O. The sync driver needs no event loop (so it works inside Jupyter's);
the async driver runs everything on the caller's loop. Both yield stream events and end with `FinishEvent`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from .errors import AbortedError, ProviderError, ToolError
from .events import FinishEvent, StreamEvent
from .loop import CallbackError, Emit, Invoke, LoopGen, ModelOutcome, ModelRequest, RunTools, ToolRun
from .processors import TripwireError
from .providers.base import ModelResponse, loads_json
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
        body=events,
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


def _model_sync(req: ModelRequest, abort: AbortSignal | None, on_chunk: Any) -> Iterator[StreamEvent | ModelOutcome]:
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    transport = req.transport
    try:
        if not req.call.stream:
            http = transport.send(req.spec, retry=req.retry, abort=abort, timeout=req.timeout)
            yield _whole_outcome(req, http, started_at)
            return
        handle = transport.open_stream(
            req.spec, req.provider.stream_format, retry=req.retry, abort=abort, timeout=req.timeout
        )
    except AbortedError:
        yield _aborted_outcome(req, started_at, t0)
        return
    if isinstance(handle, HttpResult):
        raise _error_from(req, handle)
    parser = req.provider.stream_parser(req.call)
    step = req.step
    aborted = False
    keep = req.chunk_filter
    secrets = transport.secrets
    one = secrets[0] if len(secrets) == 1 else None  # the common case: one key, one `in` per event
    echoed = False  # did any stream event carry a key back? (then the raw view and the answer are masked)
    sse: Any = None
    try:
        for sse in transport.stream_events(handle, abort):
            evs = parser.feed(sse)
            if secrets and ((one in sse.data) if one is not None else contains_secret(sse.data, secrets)):
                echoed = True  # a key echoed back inside the stream
                mask_events(evs, secrets)
            for ev in evs:
                ev.step = step  # type: ignore[union-attr]
                if keep is not None and (ev := keep(ev)) is None:
                    continue
                if on_chunk is not None:
                    _chunk_sync(on_chunk, ev)
                yield ev
    except AbortedError:
        aborted = True
    except ProviderError as exc:
        raise _keep_partial(exc, req, handle, parser, started_at) from None
    except PARSE_ERRORS as exc:
        data = sse.data if sse is not None else None
        err = malformed_event(req.provider, handle.status, data, exc, transport.secrets)
        raise _keep_partial(err, req, handle, parser, started_at) from None
    try:
        response = finish_stream(
            req.provider, parser, handle.status, handle.raw_events, transport.secrets, aborted=aborted, echoed=echoed
        )
    except ProviderError as exc:
        raise _keep_partial(exc, req, handle, parser, started_at) from None
    yield _stream_outcome(req, handle, response, started_at, aborted, echoed)


def drive_sync(gen: LoopGen, on_chunk: Callable[..., Any] | None, abort: AbortSignal | None) -> Iterator[StreamEvent]:
    """Run the loop with blocking I/O, yielding every event; the last one is FinishEvent(result)."""
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
            yield effect.event
        elif isinstance(effect, ModelRequest):
            try:
                for item in _model_sync(effect, abort, on_chunk):
                    if type(item) is ModelOutcome:
                        value = item
                    else:
                        yield item  # type: ignore[misc]
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


async def _model_async(
    req: ModelRequest, abort: AbortSignal | None, on_chunk: Any
) -> AsyncIterator[StreamEvent | ModelOutcome]:
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    transport = req.transport
    try:
        if not req.call.stream:
            http = await transport.send_async(req.spec, retry=req.retry, abort=abort, timeout=req.timeout)
            yield _whole_outcome(req, http, started_at)
            return
        handle = await transport.open_stream_async(
            req.spec, req.provider.stream_format, retry=req.retry, abort=abort, timeout=req.timeout
        )
    except AbortedError:
        yield _aborted_outcome(req, started_at, t0)
        return
    if isinstance(handle, HttpResult):
        raise _error_from(req, handle)
    parser = req.provider.stream_parser(req.call)
    step = req.step
    aborted = False
    keep = req.chunk_filter
    secrets = transport.secrets
    one = secrets[0] if len(secrets) == 1 else None  # the common case: one key, one `in` per event
    echoed = False  # did any stream event carry a key back? (then the raw view and the answer are masked)
    sse: Any = None
    try:
        async for sse in transport.astream_events(handle, abort):
            evs = parser.feed(sse)
            if secrets and ((one in sse.data) if one is not None else contains_secret(sse.data, secrets)):
                echoed = True  # a key echoed back inside the stream
                mask_events(evs, secrets)
            for ev in evs:
                ev.step = step  # type: ignore[union-attr]
                if keep is not None and (ev := keep(ev)) is None:
                    continue
                if on_chunk is not None:
                    await _chunk_async(on_chunk, ev)
                yield ev
    except AbortedError:
        aborted = True
    except ProviderError as exc:
        raise _keep_partial(exc, req, handle, parser, started_at) from None
    except PARSE_ERRORS as exc:
        data = sse.data if sse is not None else None
        err = malformed_event(req.provider, handle.status, data, exc, transport.secrets)
        raise _keep_partial(err, req, handle, parser, started_at) from None
    try:
        response = finish_stream(
            req.provider, parser, handle.status, handle.raw_events, transport.secrets, aborted=aborted, echoed=echoed
        )
    except ProviderError as exc:
        raise _keep_partial(exc, req, handle, parser, started_at) from None
    yield _stream_outcome(req, handle, response, started_at, aborted, echoed)


async def drive_async(
    gen: LoopGen, on_chunk: Callable[..., Any] | None, abort: AbortSignal | None
) -> AsyncIterator[StreamEvent]:
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
            yield effect.event
        elif isinstance(effect, ModelRequest):
            try:
                async for item in _model_async(effect, abort, on_chunk):
                    if type(item) is ModelOutcome:
                        value = item
                    else:
                        yield item  # type: ignore[misc]
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
