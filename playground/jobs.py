"""Background runs: `generate_later()` / `embed_later()` return a `Job` that runs on a named in-process queue.

The counterpart of ActiveAgent's Active Job integration, kept in-process: each queue is a small thread pool, so a job
runs while the caller goes on, and `job.result()` waits for it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

_queues: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()
_jobs: dict[str, Job[Any]] = {}


def _queue(name: str, workers: int = 4) -> ThreadPoolExecutor:
    with _lock:
        pool = _queues.get(name)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"playground-{name}")
            _queues[name] = pool
        return pool


class Job(Generic[T]):
    """A run queued in the background."""

    def __init__(self, fn: Callable[[], T], *, queue: str = "default", priority: int = 0) -> None:
        self.id = f"job_{uuid.uuid4().hex[:16]}"
        self.queue = queue
        self.priority = priority
        self.enqueued_at = datetime.now(UTC)
        self.started_at: datetime | None = None
        self.finished_at: datetime | None = None
        self._fn = fn
        self._future: Future[T] = _queue(queue).submit(self._run)
        _jobs[self.id] = self

    def _run(self) -> T:
        self.started_at = datetime.now(UTC)
        try:
            return self._fn()
        finally:
            self.finished_at = datetime.now(UTC)

    @property
    def status(self) -> Literal["queued", "running", "succeeded", "failed", "cancelled"]:
        f = self._future
        if f.cancelled():
            return "cancelled"
        if f.done():
            return "failed" if f.exception() is not None else "succeeded"
        return "running" if self.started_at else "queued"

    @property
    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> T:
        """Wait for the job and return its result (re-raises its error)."""
        return self._future.result(timeout)

    def wait(self, timeout: float | None = None) -> Job[T]:
        self._future.exception(timeout)
        return self

    def error(self) -> BaseException | None:
        return self._future.exception() if self._future.done() else None

    def cancel(self) -> bool:
        """Cancel a job that has not started."""
        return self._future.cancel()

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, queue={self.queue!r}, status={self.status!r})"


def get_job(job_id: str) -> Job[Any] | None:
    return _jobs.get(job_id)
