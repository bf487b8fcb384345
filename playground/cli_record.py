"""`playground record` and `playground report`: demos that cannot fail on stage.

playground record agents/weather.py "weather in Paris" --cassette demo.cassette [--approve] [--html report.html]
    runs the agent once (like `playground run`) and keeps every request and response, keys masked, in the cassette;
playground run agents/weather.py "weather in Paris" --model replay:demo.cassette
    shows it again offline (replay.py);
playground report agents/weather.py "weather in Paris" --model replay:demo.cassette -o report.html
    runs the agent (live or replayed) and writes one self-contained HTML report of the exchange (report_html.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from .errors import PlaygroundError

COMMANDS = frozenset({"record", "report"})


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("agent", help="path to a Python file defining `agent` (or file.py:name)")
    p.add_argument("message", help="the message to send")
    p.add_argument("--model", help="override the agent's model, e.g. openai:gpt-4.1-mini or replay:demo.cassette")
    p.add_argument("--base-url", default=None, help="the server's URL, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--api-key-env", default=None, metavar="VAR", help="read the API key from this environment variable")
    p.add_argument("--max-steps", type=int, default=None)
    decide = p.add_mutually_exclusive_group()
    decide.add_argument("--approve", dest="approve", action="store_const", const=True, default=None,
                        help="approve every tool call that asks")
    decide.add_argument("--decline", dest="approve", action="store_const", const=False,
                        help="decline every tool call that asks")


def add_parser(sub: Any) -> None:
    rec = sub.add_parser("record", help="run an agent once and record its wire traffic into a cassette")
    _common(rec)
    rec.add_argument("--cassette", required=True, metavar="PATH", help="the cassette file to write (keys masked)")
    rec.add_argument("--html", default=None, metavar="PATH", help="also write the exchange as an HTML report")
    rep = sub.add_parser("report", help="run an agent (live or replay:CASSETTE) and write a self-contained HTML report")
    _common(rep)
    rep.add_argument("-o", "--output", required=True, metavar="PATH", help="the HTML file to write")


def run_command(args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    # the streams are read at call time: sys.stdin / sys.stdout may be replaced after import
    return _run(args, stdin if stdin is not None else sys.stdin, out if out is not None else sys.stdout)


def _run(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    from .cli import _ask, _print_result, _use_model_options, load_agent
    from .replay import Recorder

    agent = load_agent(args.agent)
    options: dict[str, Any] = {}
    if args.max_steps:
        options["max_steps"] = args.max_steps
    try:
        _use_model_options(agent, args)
        if args.command == "record":
            agent.recorder = Recorder(args.cassette)
            agent._providers.clear()  # resolved again, through the recording client
        result = agent.generate(args.message, **options)
        interactive = stdin.isatty() or args.approve is not None
        while result.finish_reason == "suspended" and result.suspend_payload is not None:
            pending = result.suspend_payload
            if args.approve is not None:
                approve = args.approve
            elif interactive:
                approve = _ask(f"Approve {pending.tool_name}({json.dumps(pending.args)})? [y/n] ", stdin, out)
            else:
                break
            if approve:
                result = agent.approve_tool_call(pending.run_id, pending.tool_call_id)
            else:
                result = agent.decline_tool_call(pending.run_id, pending.tool_call_id, reason="declined at the CLI")
    except PlaygroundError as exc:
        sys.stderr.write(f"playground {args.command}: {exc}\n")
        return 1
    _print_result(result, out)
    html_path = args.html if args.command == "record" else args.output
    if html_path:
        Path(html_path).write_text(result.to_html(), encoding="utf-8")
        out.write(f"report: {html_path}\n")
    if args.command == "record":
        recorder = agent.recorder
        count = len(recorder.cassette.interactions) if recorder is not None else 0
        out.write(f"recorded {count} request{'s' if count != 1 else ''} into {args.cassette} (keys masked); "
                  f"replay it with --model replay:{args.cassette}\n")
    return 0
