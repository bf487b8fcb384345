"""`playground worker` and `playground jobs`: run queued jobs, and look at them, from the shell.

    playground worker                          # run jobs of the "default" queue until Ctrl-C
    playground worker --queue agents --queue default --concurrency 4
    playground worker --burst                  # run what is queued (and its retries), then exit
    playground jobs                            # recent jobs: id, status, queue, priority, attempts, agent
    playground jobs JOB_ID [--json]            # one job: timestamps, attempts, error, the result's text

Jobs come from the queue location of playground/jobs.py: SQLite in PLAYGROUND_HOME, or Redis by PLAYGROUND_QUEUE_URL.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from .errors import PlaygroundError

COMMANDS = ("worker", "jobs")


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {n}")
    return n


def add_parser(sub: Any) -> None:
    """Add `worker` and `jobs` to `playground`'s subparsers."""
    w = sub.add_parser("worker", help="run queued jobs (generate_later / embed_later) from the job queue")
    w.add_argument("--queue", action="append", default=None, metavar="Q",
                   help="a queue to take jobs from (repeat for several; default: default)")
    w.add_argument("--concurrency", type=_positive, default=1, metavar="N", help="jobs run at once (default 1)")
    w.add_argument("--burst", action="store_true",
                   help="run what is queued (and its retries), then exit; jobs running in other workers are left to "
                        "them, and a dead worker's job is taken once its lease has run out")
    j = sub.add_parser("jobs", help="list queued and finished jobs, or show one")
    j.add_argument("job_id", nargs="?", default=None)
    j.add_argument("--limit", type=_positive, default=20)
    j.add_argument("--json", action="store_true", help="print JSON")


def run_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else sys.stderr
    try:
        if args.command == "worker":
            return _worker(args, stdout)
        return _jobs(args, stdout)
    except PlaygroundError as exc:
        print(f"playground: {exc}", file=stderr)
        return 1


def _worker(args: argparse.Namespace, out: TextIO) -> int:
    from .jobs import Worker, queue_location

    worker = Worker(args.queue or ["default"], concurrency=args.concurrency, burst=args.burst)
    where = queue_location().rpartition("#")[0] or queue_location()
    if "://" in where:  # redis:// or postgresql://: no user or password in the log
        scheme, _, rest = where.partition("://")
        where = f"{scheme}://{rest.split('@')[-1]}"
    print(f"worker {worker.id}: queues {', '.join(worker.queues)} on {where}, concurrency {worker.concurrency}"
          f"{' (burst)' if args.burst else ''}", file=out, flush=True)
    done = worker.run()
    print(f"worker {worker.id}: ran {done} job{'s' if done != 1 else ''}", file=out, flush=True)
    return 0


def _jobs(args: argparse.Namespace, out: TextIO) -> int:
    from .jobs import Job

    if args.job_id:
        job = Job.get(args.job_id)
        info = job.info()
        if job.status == "succeeded":
            info["text"] = getattr(job.result(), "text", None)
        if args.json:
            print(json.dumps(info, indent=2), file=out)
            return 0
        for key, value in info.items():
            if value not in (None, ""):
                print(f"{key:12} {value}", file=out)
        return 0
    jobs = [j.info() for j in Job.list(args.limit)]
    if args.json:
        print(json.dumps(jobs, indent=2), file=out)
        return 0
    if not jobs:
        print("no jobs", file=out)
    for i in jobs:
        print(f"{i['id']}  {i['status']:9}  {i['queue']:10} p={i['priority']:<3} tries={i['attempts']}  "
              f"{i['agent']}: {i['summary'][:50]}", file=out)
    return 0
