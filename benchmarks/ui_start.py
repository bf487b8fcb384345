"""Time from `make run` to the playground's first 200: the command started as a subprocess, GET / polled every 10 ms.

    .venv/bin/python benchmarks/ui_start.py [--runs 5] [--direct] [--compare DIR]

`make run` is run as a user runs it (`make -s run UI_ARGS="--port N"`: the install check, the bytecode check, then
`playground ui`); --direct starts `python -m playground.cli ui` itself (what benchmarks/overhead.py's ui_start_s row
times). Prints each run, then one JSON line: the median, min and max in seconds (target, issue 18: <= 2.5 s) and
the median CPU seconds of the process tree until the 200 (cpu_s: on a shared machine the wall clock includes waiting
for other work; the CPU time does not). --compare DIR (with --direct) alternates each run with the same command in
another checkout, e.g. `git archive HEAD~3 | tar -x -C /tmp/before` with .venv linked in: a before/after in one run.
The page polled is the full playground: a 200 on / comes only once Gradio has built every tab and started serving.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command(port: int, direct: bool) -> list[str]:
    if direct:
        return [sys.executable, "-m", "playground.cli", "ui", "--port", str(port)]
    return ["make", "-s", "run", f"UI_ARGS=--port {port}"]


def tree_cpu_seconds(session: int) -> float:
    """CPU seconds (user + system) of every process in the session, with the children they have reaped (make's
    compileall step): what the start cost the machine, steadier than the wall clock when other work shares it."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # fields[3] is the session id (field 6 of proc(5))
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return total / tick


def time_to_200(cmd: list[str], port: int, timeout: float = 60.0, cwd: Path = ROOT) -> tuple[float, float]:
    """(seconds from starting `cmd` to GET http://127.0.0.1:PORT/ answering 200, CPU seconds the process tree used
    until then); the process group is stopped after."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # its own group: make's child is stopped with it
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    if r.status == 200:
                        return time.perf_counter() - t0, tree_cpu_seconds(proc.pid)
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(cmd)} exited ({proc.returncode}) before serving its page")
            time.sleep(0.01)
        raise RuntimeError(f"no 200 within {timeout} s")
    finally:
        os.killpg(proc.pid, 15)
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--direct", action="store_true", help="python -m playground.cli ui instead of make run")
    parser.add_argument("--compare", type=Path, default=None, help="another checkout, run alternately (--direct)")
    args = parser.parse_args()
    if args.compare is not None and not args.direct:
        parser.error("--compare needs --direct (another checkout's Makefile may not take UI_ARGS)")
    trees = {"this": ROOT, **({"compare": args.compare.resolve()} if args.compare else {})}
    times: dict[str, list[float]] = {name: [] for name in trees}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    for i in range(args.runs):
        for name, tree in trees.items():
            port = free_port()
            t, c = time_to_200(command(port, args.direct), port, cwd=tree)
            times[name].append(t)
            cpu[name].append(c)
            print(f"run {i + 1} {name}: {t:.2f} s (CPU {c:.2f} s, load {os.getloadavg()[0]:.1f})", flush=True)
    out: dict[str, object] = {}
    for name in trees:
        prefix = "" if name == "this" else f"{name}_"
        out.update({f"{prefix}ui_start_s": round(statistics.median(times[name]), 2),
                    f"{prefix}min_s": round(min(times[name]), 2), f"{prefix}max_s": round(max(times[name]), 2),
                    f"{prefix}cpu_s": round(statistics.median(cpu[name]), 2)})
    if args.compare:
        out["cpu_ratio"] = round(statistics.median(cpu["this"]) / statistics.median(cpu["compare"]), 3)
    out.update({"runs": args.runs, "command": "direct" if args.direct else "make run"})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
