"""Where a playground page keeps the runs it suspends for approval: the configured run store, shared.

A page (browser or notebook: both go through PlaygroundSession) stores a run that waits for a person in the same store
as `playground run`, `playground runs` and `playground approve`: SQLite under PLAYGROUND_HOME by default, PostgreSQL
with PLAYGROUND_DATABASE_URL. So the call shows in `playground runs`, can be approved from the CLI or from another
server on the same database, and outlives a restart of the server (Save/Load brings the page back to it).

What each party can do:
- A page sees and decides only its own waiting call (the run id and call id it was given); nothing on a page lists or
  approves another page's runs. Whoever can open the store (the CLI, code, another server's operator) can decide any
  run *by its id*: that is what sharing the store is for. A saved session file carries its run id, so loading it
  elsewhere attaches to the same run (never overwriting it); where the run is not stored, it is stored again from the
  file with every call that has not run undecided (a file is not an approval).
- A decision is recorded atomically in the store (`update_run`): the first one wins, a second one anywhere is refused
  and the guarded tool runs once. When the page's Approve or Decline loses to a decision made elsewhere, or a Send finds
  one, the page shows what happened there (approved or declined, the tool's result, the answer the run went on to)
  instead of offering the card again: `refresh_pending()`.
- Keys: a stored run holds data only (messages, steps with masked raw requests, serialisable options); the key stays in
  the session object.
- Retention: Clear (and loading another session, switching threads) expires the page's waiting run unless it was
  decided meanwhile, as the in-memory store used to drop it. A page closed without Clear leaves its run waiting, for
  `playground approve` or a Load of its saved session. Runs a page suspends get ids `page_...`; those still waiting
  after PLAYGROUND_PAGE_RUN_DAYS (default 7, "never" keeps them) are expired when a page next suspends a run (at most
  hourly per process). Expired and finished runs are then deleted by the store's own retention
  (PLAYGROUND_RUN_RETENTION_DAYS, default 30).
- A store that is down: a send that never waits for approval does not touch the store (its run id is a fresh random
  id: nothing to check; the store's INSERT-only create would still refuse a reused one), so an unwritable
  PLAYGROUND_HOME or a PostgreSQL that is down fails no plain chat. A run that waits, when it cannot be stored, is kept
  in the page (in memory), said so on the page, and its Approve / Decline work there (`PageRunStore`).
- Live: while a card shows, the page reads its run every PENDING_CHECK_SECONDS (`check_pending()`; the browser's
  timer, the notebook's `PendingWatch` task), so a decision made elsewhere turns the card into its outcome without a
  click. When the call was resolved elsewhere and the run goes on there (the model's next step), the page shows the
  call's outcome at once and keeps reading the run until it ends, then shows its answer (`watching`); a new message,
  Clear or Load stops that. Without a card or such a run nothing is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ApprovalError, ConfigurationError, PlaygroundError, StorageError
from ..messages import Message
from ..pricing import total_cost
from ..result import GenerationResult, ResponseInfo, SuspendPayload, ToolCall, Usage
from ..runs import InMemoryRunStore, PendingCall, RunState, RunStore, create_run, update_run
from ..runs import lease_seconds as _lease_of
from .render import Block, ExchangeView

if TYPE_CHECKING:
    from .session import Exchange, PendingApproval

T = TypeVar("T")

PAGE_RUN_PREFIX = "page_"
DEFAULT_PAGE_RUN_DAYS = 7.0
SWEEP_EVERY_SECONDS = 3600.0
ELSEWHERE = "Already decided elsewhere (`playground approve` / `decline`, or another playground on the same run store)"
PENDING_CHECK_SECONDS = 3.0
"""While a card shows, how often the page reads its run to follow a decision made elsewhere (one small read)."""
KEPT_HERE = ("Run store unavailable: {error}. This approval lives only in this page until you approve or decline it "
             "here: `playground runs` does not list it, `playground approve` and other servers cannot decide it, and "
             "Clear drops it, as do a reload and a server restart while the store is down (Save session keeps it: "
             "loading that file where the run store works stores it there).")

_last_sweep: dict[str, float] = {}
_sweep_lock = threading.Lock()


_ENV = ("PLAYGROUND_DATABASE_URL", "PLAYGROUND_HOME", "PLAYGROUND_RUN_RETENTION_DAYS", "PLAYGROUND_LEASE_SECONDS")
_configured: tuple[tuple[str | None, ...], RunStore] | None = None


def _configured_store() -> RunStore:
    """The configured run store (`default_run_store()`), one per process for the same settings: the pages of a server
    share it, so the SQLite file is opened (migrated, pruned, and its one idle connection kept) once, not per page."""
    global _configured
    from ..storage import default_run_store

    key = tuple(os.environ.get(name) for name in _ENV)
    with _sweep_lock:
        if _configured is None or _configured[0] != key:
            _configured = (key, default_run_store())
        return _configured[1]


def new_page_run_id() -> str:
    """The id of a run a page starts: `page_<random>`, so `playground runs` tells page runs apart (and the abandoned-
    run expiry touches nothing else)."""
    return f"{PAGE_RUN_PREFIX}{secrets.token_hex(10)}"


def page_run_days() -> float | None:
    """PLAYGROUND_PAGE_RUN_DAYS: days a page's run may wait before it is expired (None: never)."""
    raw = os.environ.get("PLAYGROUND_PAGE_RUN_DAYS", "").strip()
    if not raw:
        return DEFAULT_PAGE_RUN_DAYS
    if raw.lower() in ("never", "forever", "none"):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise ConfigurationError(
            f"PLAYGROUND_PAGE_RUN_DAYS: expected a number of days >= 0 (or 'never'), got {raw!r}",
            field="PLAYGROUND_PAGE_RUN_DAYS",
        )
    return value


def expire_abandoned_page_runs(store: Any, older_than_days: float | None = None, now: float | None = None) -> list[str]:
    """Expire page runs (`page_...`) still waiting for a person and unchanged for `older_than_days` (default:
    PLAYGROUND_PAGE_RUN_DAYS). Returns their ids. A store that cannot list runs (InMemoryRunStore) expires nothing."""
    days = page_run_days() if older_than_days is None else older_than_days
    list_runs = getattr(store, "list_runs", None)
    expire = getattr(store, "expire", None)
    if days is None or list_runs is None or expire is None:
        return []
    cutoff = (time.time() if now is None else now) - days * 86400
    expired: list[str] = []
    for info in list_runs("pending"):
        if info.run_id.startswith(PAGE_RUN_PREFIX) and info.updated_at < cutoff:
            with contextlib.suppress(PlaygroundError):  # decided or expired meanwhile: left as it is
                expire(info.run_id)
                expired.append(info.run_id)
    return expired


def _sweep_in_background(store: Any) -> None:
    """`expire_abandoned_page_runs` in a daemon thread, at most once per SWEEP_EVERY_SECONDS per store and process."""
    where = repr(store)
    with _sweep_lock:
        now = time.monotonic()
        if now - _last_sweep.get(where, -SWEEP_EVERY_SECONDS) < SWEEP_EVERY_SECONDS:
            return
        _last_sweep[where] = now

    def sweep() -> None:
        with contextlib.suppress(Exception):  # housekeeping: a store that cannot be read now is tried next hour
            expire_abandoned_page_runs(store)

    threading.Thread(target=sweep, name="playground-page-run-expiry", daemon=True).start()


class PageRunStore:
    """The run store a page's agent uses: the configured store (`shared`), plus what a page needs of it.

    - `new_run_id()` makes a send's run id (`page_<random>`, never given out before), so the new-run check needs no
      read: a send that never waits for approval never touches the store. The shared store's `create` is INSERT-only,
      so a reused id would still be refused when the run is stored at suspension.
    - A run that waits and cannot be stored (StorageError: an unwritable PLAYGROUND_HOME, PostgreSQL down) is kept in
      this page's in-memory store instead of being lost; `kept_here(run_id)` says why, and every later read and
      write of that run (Approve, Decline, Clear) goes there.
    - `last_seen(run_id)`: the run as this page last stored or read it (Save session while the store is down)."""

    KEEP_IDS = 64  # fresh ids of sends that never suspended, and runs last seen: only the newest are kept

    def __init__(self, shared: RunStore) -> None:
        self.shared = shared
        self.local = InMemoryRunStore(lease_seconds=_lease_of(shared))
        self._fresh: dict[str, None] = {}
        self._here: dict[str, str] = {}  # run id -> why it is kept in this page
        self._seen: dict[str, str] = {}  # run id -> the run's JSON as last stored or read
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PageRunStore({self.shared!r})"

    @property
    def lease_seconds(self) -> float:
        return _lease_of(self.shared)

    def new_run_id(self) -> str:
        run_id = new_page_run_id()
        with self._lock:
            self._fresh[run_id] = None
            _trim(self._fresh, self.KEEP_IDS)
        return run_id

    def kept_here(self, run_id: str) -> str | None:
        """Why the run is kept in this page only (the store's error), or None when it is in the shared store."""
        return self._here.get(run_id)

    def last_seen(self, run_id: str) -> RunState | None:
        raw = self._seen.get(run_id)
        return RunState.model_validate_json(raw) if raw is not None else None

    def _where(self, run_id: str) -> RunStore:
        return self.local if run_id in self._here else self.shared

    def _saw(self, state: RunState | None) -> RunState | None:
        if state is not None:
            with self._lock:
                self._seen.pop(state.run_id, None)
                self._seen[state.run_id] = state.dump()
                _trim(self._seen, self.KEEP_IDS)
        return state

    def load(self, run_id: str) -> RunState | None:
        if run_id in self._fresh:  # made by new_run_id and not stored yet: nothing to read
            return None
        return self._saw(self._where(run_id).load(run_id))

    def create(self, state: RunState) -> None:
        with self._lock:
            self._fresh.pop(state.run_id, None)
        try:
            create_run(self.shared, state)
        except StorageError as exc:  # the run is not lost: this page keeps it (and says so: SharedRunsMixin)
            self.local.create(state)
            self._here[state.run_id] = str(exc)
        self._saw(state)

    def save(self, state: RunState) -> None:
        with self._lock:
            self._fresh.pop(state.run_id, None)
        self._where(state.run_id).save(state)
        self._saw(state)

    def delete(self, run_id: str) -> None:
        self._where(run_id).delete(run_id)

    def update(self, run_id: str, mutate: Callable[[RunState], T]) -> tuple[RunState, T]:
        state, value = update_run(self._where(run_id), run_id, mutate)
        self._saw(state)
        return state, value


class PendingWatch:
    """The live check for a front end without a timer (the notebook): while the page's card shows, one asyncio task
    on the running loop (the kernel's in Jupyter, where widget callbacks run) awaits `session.check_pending()` every
    PENDING_CHECK_SECONDS and calls `changed()` when the page changed; the task ends as soon as no call waits. A task
    rather than a thread: the page is changed on the loop that runs its Approve / Send, never beside them. No card, no
    task: an idle page costs nothing. Without a running loop (a plain script) nothing is started; the card then
    follows a decision made elsewhere at the next action, as `refresh_pending` does."""

    def __init__(self, session: SharedRunsMixin, changed: Callable[[], None]) -> None:
        self.session = session
        self.changed = changed
        self.task: asyncio.Task[None] | None = None

    def ensure(self) -> None:
        """Start watching if a card shows (or a run goes on elsewhere) and no watch runs (call after each repaint)."""
        if not self.session.watching or (self.task is not None and not self.task.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.task = loop.create_task(self._watch())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def _watch(self) -> None:
        while self.session.watching:
            await asyncio.sleep(PENDING_CHECK_SECONDS)
            try:
                changed = await self.session.check_pending()
            except Exception:  # a check that fails is tried again at the next tick, never raised into the kernel
                continue
            if changed:
                self.changed()


def _trim(items: dict[str, Any], keep: int) -> None:
    while len(items) > keep:
        items.pop(next(iter(items)))


def find_stored_call(state: RunState | None, call_id: str) -> PendingCall | None:
    if state is None:
        return None
    return next((c for c in (*state.pending, *state.resolved) if c.tool_call_id == call_id), None)


def result_from_state(state: RunState) -> GenerationResult:
    """A GenerationResult for a stored run another process resumed: its steps, answer, usage and messages, so the
    page's panels (steps, raw request and response, usage) show what happened there."""
    steps = list(state.steps)
    last = steps[-1] if steps else None
    suspend = None
    if state.status == "suspended":
        waiting = [p for p in state.pending if p.awaits_person]
        if waiting:
            first = waiting[0]
            suspend = SuspendPayload(
                tool_call_id=first.tool_call_id, tool_name=first.tool_name, args=first.args, run_id=state.run_id,
                pending=[ToolCall(tool_call_id=p.tool_call_id, tool_name=p.tool_name, args=p.args) for p in waiting],
            )
    reason: Any = "suspended" if suspend is not None else (last.finish_reason if last is not None else "unknown")
    if state.status == "failed":
        reason = "error"
    return GenerationResult(
        text=last.text if last is not None else "",
        tool_calls=[c for s in steps for c in s.tool_calls],
        tool_results=[r for s in steps for r in s.tool_results],
        usage=Usage.total([s.usage for s in steps]),
        cost=total_cost(s.cost for s in steps) if steps else None,
        steps=steps,
        finish_reason=reason,
        response=ResponseInfo(messages=list(state.messages[state.response_start:])),
        warnings=list(dict.fromkeys([w for s in steps for w in s.warnings] + state.warnings)),
        reasoning=[r for s in steps for r in s.reasoning],
        suspend_payload=suspend,
        run_id=state.run_id,
        messages=list(state.messages),
        remembered_messages=list(state.remembered),
        model=last.model if last is not None else state.model,
        latency_ms=state.elapsed_ms,
    )


def _short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _only_undecided(state: RunState) -> None:
    """A run stored again from a session file: a file is not a decision. Every call that has not run waits for a
    person again, and no tool is approved for the rest of the run (a page never does that), so an edited file cannot
    let a guarded tool run without an approval given here."""
    for call in state.pending:
        if not call.done:
            call.decision = call.edited_args = call.reason = call.claimed_by = call.claimed_until = None
            call.auto = False
    state.always_approve = []
    state.options.pop("always_approve", None)


class SharedRunsMixin:
    """The run-store side of PlaygroundSession (see the module docstring)."""

    # provided by PlaygroundSession
    pending: PendingApproval | None
    exchanges: list[Exchange]
    messages: list[Message]
    notice: str | None
    busy: bool

    def _init_runs(self, run_store: RunStore | None) -> None:
        if run_store is None:
            run_store = _configured_store()  # reads PLAYGROUND_DATABASE_URL / PLAYGROUND_HOME now; connects on use
        self._store = PageRunStore(run_store)  # the agent's storage: fresh ids unread, a failing store kept in-page
        self._said_here: set[str] = set()
        self._going_on: tuple[str, Exchange, str] | None = None
        """A run whose waiting call was resolved elsewhere and that goes on there (run id, the exchange it answers, what
        was decided there): the page follows it to its end."""

    @property
    def watching(self) -> bool:
        """Whether the page's live check should run: a card shows, or a run resolved elsewhere is still going on
        there and its answer belongs in the page's last exchange."""
        if self.pending is not None:
            return True
        going = self._going_on
        if going is not None and not (self.exchanges and self.exchanges[-1] is going[1]):
            self._going_on = None  # a new message, Clear or Load since: the page no longer waits for that answer
        return self._going_on is not None

    @property
    def run_store(self) -> RunStore:
        """Where this page's waiting runs are kept (shared with `playground runs` / `approve` and other servers)."""
        return self._store.shared

    # -- a decision made elsewhere ------------------------------------------------------------------------------------
    def refresh_pending(self) -> bool:
        """Read the waiting call's run from the store; if it was decided, expired or deleted elsewhere, show that on
        the page (the outcome, the answer the run went on to, or the next call it waits on) and return True. False
        when the call still waits for this page (or nothing waits)."""
        p = self.pending
        if p is None or self.busy:
            return False
        try:
            state = self._store.load(p.run_id)
        except PlaygroundError as exc:
            self.notice = self.mask(f"Run store: {exc}")  # type: ignore[attr-defined]
            return False
        return self._follow(p, state)

    async def check_pending(self) -> bool:
        """The live check a page makes every PENDING_CHECK_SECONDS while its card shows (the browser's timer, the
        notebook's PendingWatch): `refresh_pending` with the store read off the event loop. True when the page
        changed (the card became an outcome or moved to another call, or the notice changed), so the front end
        repaints only then. Nothing waits, or a reply streams: False, and nothing is read."""
        p = self.pending
        if p is None and self.watching and not self.busy:
            return await self._check_going_on()
        if p is None or self.busy:
            return False
        before = self.notice
        try:
            state = await asyncio.to_thread(self._store.load, p.run_id)
        except PlaygroundError as exc:
            if self.pending is p and not self.busy:
                self.notice = self.mask(f"Run store: {exc}")  # type: ignore[attr-defined]
            return self.notice != before
        if self.pending is not p or self.busy:  # the person acted meanwhile: that action shows its own outcome
            return False
        moved = self._follow(p, state) and self.pending is not p  # an outcome, or the next call waits
        return moved or self.notice != before

    async def _check_going_on(self) -> bool:
        """The run resolved elsewhere goes on there: once it ends (or waits for a person again), show where it got."""
        going = self._going_on
        assert going is not None
        run_id, exchange, decided_there = going
        try:
            state = await asyncio.to_thread(self._store.load, run_id)
        except PlaygroundError:
            return False  # the store is down for a moment: the next tick reads again
        if self._going_on is not going or self.busy or not self.watching:
            return False
        if state is not None and state.status == "running":
            return False
        self._going_on = None
        if state is None:
            self._say(exchange, "The run that went on elsewhere is no longer in the run store (deleted, or pruned): "
                                "its answer cannot be shown here.")
            return True
        self._adopt(exchange, state)  # the exchange's view is the stored run's now: say again what was decided there
        if self.pending is not None:
            self._say(exchange, f"{decided_there} The run went on there and now waits for approval of "
                                f"{self.pending.tool_name}.")
        elif state.status == "failed":
            self._say(exchange, f"{decided_there} The run went on there and failed after it.")
        else:
            self._say(exchange, f"{decided_there} The run that went on there has ended: its answer is shown above.")
        return True

    def _follow(self, p: PendingApproval, state: RunState | None) -> bool:
        call = find_stored_call(state, p.tool_call_id)
        if state is not None and state.status == "suspended" and call in state.pending and call.awaits_person:
            if call.is_interrupted():  # approved before, and the process resolving it stopped: a person decides again
                self.notice = (f"The {p.tool_name} call was {self._decision_text(call)} before, and the process "
                               "resolving it stopped before it finished (interrupted): it may have partly run. Approve "
                               "retries it; Decline tells the model it was not retried.")
            return False
        self._show_elsewhere(p, state, call)
        return True

    def _show_elsewhere(self, p: PendingApproval, state: RunState | None, call: PendingCall | None) -> None:
        exchange = self.exchanges[p.exchange]
        tool = p.tool_name
        if state is None or call is None:
            self.pending = None
            self._close_card(exchange, p, "stopped")
            exchange.status = "stopped"
            self._say(exchange, f"The {tool} call is no longer in the run store (deleted with `playground runs "
                                "delete`, or pruned): it was not run from this page. Send the message again to retry.")
            return
        if call.decision is None:  # undecided, and the run is not suspended any more: expired elsewhere
            self.pending = None
            self._close_card(exchange, p, "stopped")
            exchange.status = "stopped"
            self._say(exchange, f"The {tool} call was expired elsewhere (`playground runs expire`, or it "
                                "waited longer than PLAYGROUND_PAGE_RUN_DAYS): it was not run, and can no longer be "
                                "approved.")
            return
        decided = self._decision_text(call)
        if not call.done:  # decided there, being resolved there now
            self._close_card(exchange, p, "approved" if call.decision == "approved" else "declined", call)
            self.notice = (f"{ELSEWHERE}: the {tool} call was {decided} and is being resolved there now; it is not "
                           "run again here. Its outcome shows here once it is done (or on the next Approve, Decline "
                           "or Send).")
            return
        outcome = ("it ran once and returned " + _short(call.result) if call.decision == "approved"
                   else "it was not run")
        self._adopt(exchange, state)
        self._record_elsewhere(exchange, call)
        head = f"{ELSEWHERE}: the {tool} call was {decided}; {outcome}. It was not run again here."
        if self.pending is not None:
            tail = f" The run now waits for approval of {self.pending.tool_name}."
        elif state.status == "running":
            self._going_on = (state.run_id, exchange, head)
            tail = " The run is going on there; its answer shows here once it ends."
        elif state.status == "failed":
            tail = " The run failed there after it."
        else:
            tail = " The answer the run went on to is shown above."
        self._say(exchange, head + tail)

    @staticmethod
    def _decision_text(call: PendingCall) -> str:
        if call.decision == "declined":
            return f"declined (reason: {call.reason})" if call.reason else "declined"
        if call.edited_args is not None:
            return f"approved with arguments {_short(call.edited_args, 200)}"
        return "approved"

    def _close_card(self, exchange: Exchange, p: PendingApproval, status: Any, call: PendingCall | None = None) -> None:
        block = next((b for b in exchange.view.blocks if b.kind == "tool" and b.tool_call_id == p.tool_call_id), None)
        if block is not None:
            block.status = status
            block.done = True
            if call is not None and call.decision == "declined":
                block.reason = call.reason
            if call is not None and call.edited_args is not None:
                block.args = dict(call.edited_args)

    def _say(self, exchange: Exchange, text: str) -> None:
        exchange.view.blocks.append(Block("notice", text=text, done=True))
        self.notice = text

    def _adopt(self, exchange: Exchange, state: RunState) -> None:
        """Take the stored run as it is now into the page: the exchange's view and result, the conversation (and the
        memory thread), and the next waiting call if the run suspended again."""
        from .history import complete_tool_results, keep_in_thread
        from .session import PendingApproval
        from .threads import view_from_messages

        view = view_from_messages(list(state.messages[state.response_start:]))
        calls = {c.tool_call_id: c for c in (*state.resolved, *state.pending)}
        for block in view.blocks:
            c = calls.get(block.tool_call_id) if block.kind == "tool" else None
            if c is None or not c.done:
                continue
            if c.decision == "declined":
                block.status, block.reason = "declined", c.reason
            elif block.result is None:  # resolved in a step still waiting on another call: not in the messages yet
                block.status, block.result = ("error" if c.is_error else "done"), c.result
        result = result_from_state(state)
        exchange.result = result
        self.pending = None
        if state.status == "suspended" and result.suspend_payload is not None:
            sp = result.suspend_payload
            view.finish_reason = "suspended"
            for block in view.blocks:
                if block.kind == "tool" and block.tool_call_id == sp.tool_call_id:
                    block.status, block.done = "approval", False
            tool = self.all_tools().get(sp.tool_name)  # type: ignore[attr-defined]
            self.pending = PendingApproval(sp.run_id, sp.tool_call_id, sp.tool_name, dict(sp.args), exchange.index,
                                           tool.schema() if tool else {})
            exchange.status = "suspended"
        else:
            exchange.status = "error" if state.status == "failed" else "done"
            self.messages = complete_tool_results(state.messages)
            if state.status != "running":  # still running there: that process saves the whole exchange when it ends
                keep_in_thread(self, exchange, state.run_id, self.messages)  # memory on: the thread has it
        exchange.view = ExchangeView(blocks=view.blocks, sources=exchange.view.sources,
                                     finish_reason=view.finish_reason)

    @staticmethod
    def _record_elsewhere(exchange: Exchange, call: PendingCall) -> None:
        """The decision made elsewhere, for the code export (which makes the same decision)."""
        decision: dict[str, Any] = {"tool": call.tool_name, "approved": call.decision == "approved",
                                    "elsewhere": True}
        if call.decision == "approved":
            decision["args"] = dict(call.edited_args if call.edited_args is not None else call.args)
        else:
            decision["reason"] = call.reason
        exchange.decisions.append(decision)

    def _lost_to_elsewhere(self, p: PendingApproval, exc: BaseException) -> bool:
        """After an Approve / Decline the store refused (ApprovalError): whether the call had been decided, expired or
        deleted elsewhere; then the page shows that (refresh_pending) and the refusal is not an error of the page."""
        return isinstance(exc, ApprovalError) and self.pending is p and self.refresh_pending()

    # -- the page's own waiting run -----------------------------------------------------------------------------------
    def _expire_own_run(self, keep: str | None = None) -> None:
        """Clear / Load / a thread switch drop the waiting call: its run is expired in the store so nobody approves a
        call the page no longer shows (the in-memory store used to forget it). A run decided meanwhile is left."""
        p = self.pending
        if p is None or p.run_id == keep:
            return
        from ..storage import close_for_expiry

        def expire_if_undecided(state: RunState) -> None:
            call = find_stored_call(state, p.tool_call_id)
            if call is None or call.decision is not None:
                raise ApprovalError("decided elsewhere meanwhile: left as it is")
            close_for_expiry(state)

        with contextlib.suppress(PlaygroundError):  # decided, expired or gone meanwhile: nothing to expire
            update_run(self._store, p.run_id, expire_if_undecided)  # atomic: never over a decision made elsewhere

    def _restore_pending(self, pending: PendingApproval, run_state: RunState) -> str | None:
        """A loaded session's waiting call: attach to its run in the store (never overwriting it: it may have been
        decided since the file was saved); a run not in this store (another machine's, or pruned) is stored again.
        Returns a problem (the store cannot be used; the call is then not offered) or what was decided elsewhere since
        the file was saved (then the page shows that instead of the card), for `load()` to return."""
        from ..runs import create_run

        try:
            existing = self._store.load(run_state.run_id)
            if existing is None:
                _only_undecided(run_state)
                with contextlib.suppress(ConfigurationError):  # stored meanwhile by another page loading the file
                    create_run(self._store, run_state)
        except PlaygroundError as exc:
            return self.mask(f"The waiting {pending.tool_name} call could not be restored: {exc}")  # type: ignore[attr-defined]
        self.pending = pending
        why = self._store.kept_here(pending.run_id)
        if why is not None:  # the store took the run's read but not its write: kept in this page, and said so
            self._said_here.add(pending.run_id)
            return self.mask(KEPT_HERE.format(error=why))  # type: ignore[attr-defined]
        if self.refresh_pending():  # decided elsewhere since it was saved: the page shows that instead of the card
            return self.notice
        return None

    def _page_run_suspended(self) -> None:
        """A page run was stored as waiting: now and then, expire page runs abandoned long ago (daemon thread). A run
        the store could not take is kept in this page: said once, in the chat and the notice."""
        p = self.pending
        why = self._store.kept_here(p.run_id) if p is not None else None
        if p is not None and why is not None:
            if p.run_id not in self._said_here:
                self._said_here.add(p.run_id)
                self._say(self.exchanges[p.exchange], self.mask(KEPT_HERE.format(error=why)))  # type: ignore[attr-defined]
            return
        try:
            days = page_run_days()
        except ConfigurationError as exc:  # said on the page; nothing is expired with a setting that cannot be read
            self.notice = str(exc)
            return
        if days is not None:
            _sweep_in_background(self._store.shared)
