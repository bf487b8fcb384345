"""What keeping a page's waiting runs in the shared run store costs a playground page, on the demo model.

    .venv/bin/python benchmarks/page_runs.py      # prints a table, then one JSON line of figures and ratios

Per send (a reply with no tool call: the store is not touched, so send's ratio is noise around 1.0) and per approval
round trip (send, the run stored as waiting, Approve: the decision claimed and committed in the store), a
PlaygroundSession on the shared SQLite store (and on PostgreSQL when PLAYGROUND_BENCH_POSTGRES names a server, e.g.
postgresql://postgres@127.0.0.1:5432/postgres) against the same session on an InMemoryRunStore, measured in the same
run. Ratios, not timings, are the figures to compare across machines (1.0 = no cost over the in-memory store).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PLAYGROUND_DEMO_DELAY"] = "0"
os.environ.setdefault("PLAYGROUND_HOME", tempfile.mkdtemp(prefix="playground-bench-"))

from playground.runs import InMemoryRunStore, RunStore  # noqa: E402
from playground.storage import open_run_store  # noqa: E402
from playground.ui.session import PlaygroundSession, load_agents  # noqa: E402

SENDS = 60
ROUNDS = 30
AGENTS = load_agents(ROOT / "agents")


async def _drain(events: Any) -> None:
    async for _ in events:
        pass


def _session(store: RunStore) -> PlaygroundSession:
    return PlaygroundSession(AGENTS, agent="support", run_store=store)


async def _send(s: PlaygroundSession) -> float:
    s.reset()
    started = time.perf_counter()
    await _drain(s.send("look up order 42"))
    assert s.exchanges[-1].status == "done", s.notice
    return (time.perf_counter() - started) * 1000


async def _round_trip(s: PlaygroundSession) -> float:
    s.reset()
    started = time.perf_counter()
    await _drain(s.send("refund order 42"))
    assert s.pending is not None, s.notice
    await _drain(s.approve(s.pending.tool_call_id))
    assert s.pending is None and s.exchanges[-1].status == "done", s.notice
    return (time.perf_counter() - started) * 1000


async def _measure(stores: list[tuple[str, RunStore]]) -> dict[str, dict[str, float]]:
    """Each store in turn, round after round (so a busy moment of the machine falls on all of them alike); medians."""
    sessions = {label: _session(store) for label, store in stores}
    for s in sessions.values():  # warm up: the store file or pool, the agent
        await _round_trip(s)
    times: dict[str, dict[str, list[float]]] = {label: {"send_ms": [], "approval_ms": []} for label in sessions}
    for i in range(max(SENDS, ROUNDS)):
        for label, s in sessions.items():
            if i < SENDS:
                times[label]["send_ms"].append(await _send(s))
            if i < ROUNDS:
                times[label]["approval_ms"].append(await _round_trip(s))
    return {label: {k: statistics.median(v) for k, v in t.items()} for label, t in times.items()}


@contextmanager
def _postgres() -> Iterator[RunStore | None]:
    admin_url = os.environ.get("PLAYGROUND_BENCH_POSTGRES")
    if not admin_url:
        yield None
        return
    import psycopg

    name = f"bench_page_runs_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
        store = open_run_store(f"{admin_url.rsplit('/', 1)[0]}/{name}")
        try:
            yield store
        finally:
            store.close()  # type: ignore[attr-defined]
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


def main() -> None:
    with _postgres() as pg:
        stores: list[tuple[str, RunStore]] = [("in-memory (baseline)", InMemoryRunStore()),
                                              ("SQLite", open_run_store())]
        if pg is not None:
            stores.append(("PostgreSQL", pg))
        rows = asyncio.run(_measure(stores))
    base = rows["in-memory (baseline)"]
    print(f"{'store':<22} {'send ms':>9} {'ratio':>6} {'send+approve ms':>16} {'ratio':>6}")
    out: dict[str, Any] = {}
    for label, r in rows.items():
        ratios = {k: r[k] / base[k] for k in r}
        print(f"{label:<22} {r['send_ms']:>9.2f} {ratios['send_ms']:>6.2f} {r['approval_ms']:>16.2f} "
              f"{ratios['approval_ms']:>6.2f}")
        out[label] = {**{k: round(v, 3) for k, v in r.items()},
                      **{f"{k}_ratio": round(v, 3) for k, v in ratios.items()}}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
