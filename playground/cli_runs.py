"""`playground approve`, `playground decline` and `playground runs`: resume and look after stored runs from the shell.

    playground runs                                  # stored runs: pending, interrupted, running, finished, expired
    playground approve RUN_ID CALL_ID [--args JSON]  # approve one waiting call (or retry an interrupted one), resume
    playground decline RUN_ID CALL_ID [--reason ...] # decline it; the model is told why, and the run resumes
    playground runs expire RUN_ID | delete RUN_ID | prune [--older-than DAYS]

The run is resumed by the agent that suspended it: the file given with `--agent`, else the agent of the same name in
the `--agents` folder (default `agents/`), so its tools are the ones that run. Runs are read from the SQLite store in
PLAYGROUND_HOME (or `--store PATH`), the same one `playground run` and the playgrounds write; with
PLAYGROUND_DATABASE_URL=postgresql://... (or `--store postgresql://...`) from that PostgreSQL database, which
several servers share.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .errors import ApprovalError, PlaygroundError, StorageError
from .storage import RunInfo, SqliteRunStore, open_run_store, playground_home

if TYPE_CHECKING:
    from .agent import Agent
    from .result import GenerationResult
    from .store.runs_postgres import PostgresRunStore

COMMANDS = ("approve", "decline", "runs")
STATUSES = ("pending", "interrupted", "running", "finished", "failed", "expired", "damaged")


def add_parsers(sub: Any) -> None:
    """Add the approve, decline and runs subcommands to `playground`'s subparsers."""
    for name, help_text in (
        ("approve", "approve a tool call a stored run waits on (or retry an interrupted one) and resume the run"),
        ("decline", "decline a tool call a stored run waits on and resume the run"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("run_id", help="the run's id (run_id=... in the output of `playground run` / `playground runs`)")
        p.add_argument("call_id", help="the tool call's id (tool_call_id=... / the id `playground runs` lists)")
        if name == "approve":
            p.add_argument("--args", default=None, help='edited arguments as a JSON object, e.g. \'{"amount": 10}\'')
        else:
            p.add_argument("--reason", default=None, help="why, for the model (it is told the call was declined)")
        _common(p)
        p.add_argument("--agent", default=None, help="the agent file (file.py or file.py:name) that made the run")
        p.add_argument("--agents", default="agents", help="folder to find the run's agent in by name (default: agents)")
        p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    runs = sub.add_parser(
        "runs", help="list stored runs (pending, interrupted, finished); expire, delete or prune them"
    )
    runs.add_argument(
        "action", nargs="?", default="list", choices=("list", "expire", "delete", "prune"),
        help="list (default); expire RUN_ID... (no more approvals); delete RUN_ID...; prune finished runs",
    )
    runs.add_argument("run_ids", nargs="*", metavar="RUN_ID")
    runs.add_argument("--status", choices=STATUSES, default=None, help="list only runs in this state")
    runs.add_argument(
        "--older-than", type=float, default=None, metavar="DAYS",
        help="prune: finished, failed and expired runs changed more than DAYS ago (default: the retention setting)",
    )
    runs.add_argument("--json", action="store_true", help="print the runs as JSON")
    _common(runs)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store", default=None,
        help="the run store: a file or a postgresql:// URL (default: $PLAYGROUND_DATABASE_URL, else "
        "$PLAYGROUND_HOME/runs.sqlite3)",
    )


def run_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run `approve`, `decline` or `runs`; a PlaygroundError is one line on stderr and exit status 1."""
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    try:
        store = _store(args)
        if args.command == "runs":
            return _runs(args, store, stdout)
        return _decide(args, store, stdout)
    except PlaygroundError as exc:
        stderr.write(f"playground {args.command}: {exc}\n")
        return 1


def _store(args: argparse.Namespace) -> SqliteRunStore | PostgresRunStore:
    url = os.environ.get("PLAYGROUND_DATABASE_URL", "").strip()
    given = args.store or url or None
    if given is not None and given.startswith(("postgresql://", "postgres://")):
        return open_run_store(given)
    path = Path(given.removeprefix("sqlite:///")) if given else playground_home() / "runs.sqlite3"
    if not path.is_file():
        where = "--store" if args.store else "PLAYGROUND_DATABASE_URL" if url else "PLAYGROUND_HOME"
        raise ApprovalError(
            f"no run store at {path} (check {where}); runs are stored there when one waits for approval"
        )
    return SqliteRunStore(path)


# -- approve / decline ------------------------------------------------------------------------------------------------


def _decide(args: argparse.Namespace, store: SqliteRunStore | PostgresRunStore, out: TextIO) -> int:
    edited: dict[str, Any] | None = None
    if args.command == "approve" and args.args is not None:
        try:
            edited = json.loads(args.args)
        except json.JSONDecodeError as exc:
            raise ApprovalError(
                f"--args: not valid JSON ({exc.msg} at position {exc.pos}); give a JSON object"
            ) from None
        if not isinstance(edited, dict):
            raise ApprovalError(f"--args: expected a JSON object of the tool's arguments, got {args.args!r:.60}")
    state = store.load(args.run_id)
    if state is None:
        raise ApprovalError(f"no stored run {args.run_id!r} in {store.path}; `playground runs` lists the stored runs")
    agent = _agent_for(args, state.agent_name)
    agent.storage = store
    if args.command == "approve":
        result = agent.approve_tool_call(args.run_id, args.call_id, args=edited)
    else:
        result = agent.decline_tool_call(args.run_id, args.call_id, reason=args.reason or "declined at the CLI")
    if args.json:
        out.write(result.model_dump_json(indent=2) + "\n")
    else:
        from .cli import _print_result

        _print_result(result, out)
        write_waiting(result, out)
    return 0


def _agent_for(args: argparse.Namespace, name: str | None) -> Agent:
    from .agent import Agent

    if args.agent:
        from .cli import load_agent

        return load_agent(args.agent)
    from .ui.session import load_agents

    agents, problems = load_agents(args.agents)
    for agent in agents.values():
        if isinstance(agent, Agent) and agent.name == name:
            return agent
    found = ", ".join(sorted(a.name for a in agents.values())) or "none"
    extra = f" ({'; '.join(problems)})" if problems else ""
    raise ApprovalError(
        f"the run was made by agent {name!r}, which is not in the {args.agents!r} folder (agents there: {found})"
        f"{extra}; pass --agent FILE (the file that defines it) or --agents DIR"
    )


def write_waiting(result: GenerationResult, out: TextIO) -> None:
    """For a suspended result: each waiting call and the commands that resume the stored run."""
    payload = result.suspend_payload
    if result.finish_reason != "suspended" or payload is None:
        return
    calls = payload.pending or []
    for call in calls:
        out.write(
            f"Waiting for approval: {call.tool_name}({json.dumps(call.args)}) run_id={payload.run_id} "
            f"tool_call_id={call.tool_call_id}\n"
            f"  approve: playground approve {payload.run_id} {call.tool_call_id} [--args JSON]\n"
            f"  decline: playground decline {payload.run_id} {call.tool_call_id} [--reason TEXT]\n"
        )


# -- runs -------------------------------------------------------------------------------------------------------


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _runs(args: argparse.Namespace, store: SqliteRunStore | PostgresRunStore, out: TextIO) -> int:
    action = args.action
    if action in ("expire", "delete") and not args.run_ids:
        raise ApprovalError(f"runs {action}: give the id of at least one run (`playground runs` lists them)")
    if action != "prune" and args.older_than is not None:
        raise ApprovalError("--older-than goes with `playground runs prune`")
    if action in ("list", "prune") and args.run_ids:
        raise ApprovalError(f"runs {action} takes no run ids; did you mean `playground runs expire|delete RUN_ID`?")
    if action == "list":
        infos = store.list_runs(args.status)
        if args.json:
            out.write(json.dumps([_info_json(i) for i in infos], indent=2) + "\n")
        else:
            _print_runs(infos, store, out)
        return 0
    if action == "prune":
        if args.older_than is not None and not args.older_than >= 0:
            raise ApprovalError(f"--older-than: expected a number of days >= 0, got {args.older_than}")
        if args.older_than is None and store.retention_days is None:
            out.write("Retention is off (PLAYGROUND_RUN_RETENTION_DAYS=never): pass --older-than DAYS to prune.\n")
            return 0
        count = store.prune(args.older_than)
        out.write(f"Deleted {count} finished, failed or expired run(s) from {store.path}.\n")
        return 0
    for run_id in args.run_ids:
        if action == "expire":
            store.expire(run_id)
            out.write(f"Expired {run_id}: its calls can no longer be approved.\n")
        else:
            try:
                state = store.load(run_id)
            except StorageError:  # a damaged row: deleting it is the fix
                state = None
                damaged = True
            else:
                damaged = False
            if state is None and not damaged:
                raise ApprovalError(f"no stored run {run_id!r} in {store.path}")
            pending = state.pending if state is not None else []
            running = [p.tool_call_id for p in pending if p.claimed_by and not p.done and not p.is_interrupted()]
            if running:
                raise ApprovalError(
                    f"run {run_id!r}: tool call(s) {', '.join(running)} are running now in another process; delete it "
                    "once they are done or interrupted"
                )
            store.delete(run_id)
            out.write(f"Deleted {run_id}.\n")
    return 0


def _info_json(info: RunInfo) -> dict[str, Any]:
    return {
        "run_id": info.run_id,
        "agent": info.agent_name,
        "status": info.status,
        "created_at": _when(info.created_at),
        "updated_at": _when(info.updated_at),
        "calls": info.calls,
    }


def _print_runs(infos: list[RunInfo], store: SqliteRunStore | PostgresRunStore, out: TextIO) -> None:
    if not infos:
        out.write(f"No stored runs in {store.path}.\n")
        return
    for info in infos:
        agent = info.agent_name or "?"
        out.write(f"{info.run_id}  {info.status:<11}  agent {agent}  updated {_when(info.updated_at)}\n")
        for call in info.calls:
            out.write(f"    {call['id']}  {call['tool']}({json.dumps(call['args'])})  {call['state']}\n")
    if any(i.status == "running" for i in infos):
        out.write(
            "\nA run shows as running while a process continues it after its approvals; if that process died, its "
            "tools' results are kept but it cannot be continued: `playground runs expire RUN_ID` closes it.\n"
        )
    if any(i.status in ("pending", "interrupted") for i in infos):
        out.write(
            "\nApprove: playground approve RUN_ID CALL_ID [--args JSON]   (an interrupted call: approve to retry)\n"
            "Decline: playground decline RUN_ID CALL_ID [--reason TEXT]\n"
        )
