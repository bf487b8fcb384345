"""The `playground` command.

playground run agents/support.py "refund order 42"     # answer, tool calls, approval prompts (y/n), usage
playground run agents/weather.py "weather in Paris" --json
playground ui [--agents DIR] [--host 127.0.0.1] [--port 7860] [--auth USER:PASS]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from .agent import Agent
from .cli_runs import COMMANDS as RUN_COMMANDS
from .cli_runs import add_parsers as add_run_commands
from .cli_runs import run_command, write_waiting
from .errors import PlaygroundError
from .pricing import format_cost
from .result import GenerationResult
from .tracing import playground_tracer_provider


def load_agent(path: str) -> Agent:
    """The `agent` defined by a Python file (or `module:attribute`)."""
    file, _, attr = path.partition(":")
    p = Path(file)
    if p.is_dir():
        raise SystemExit(
            f"playground: {file} is a folder, not an agent file; give one file, e.g. {p / 'support.py'} "
            f"(a folder of agents is for `playground ui --agents {file}`)"
        )
    if not p.is_file():
        raise SystemExit(f"playground: no such agent file: {file}")
    spec = importlib.util.spec_from_file_location(f"playground_agent_{p.stem}", p)
    if spec is None or spec.loader is None:
        raise SystemExit(f"playground: cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # one clear line, not a traceback
        sys.modules.pop(spec.name, None)
        raise SystemExit(f"playground: {file} failed to import{_where(exc, p)}: {type(exc).__name__}: {exc}") from None
    owner, _, _action = (attr or "agent").partition(".")
    agent = getattr(module, owner, None)
    from .actions import ActionAgent

    if isinstance(agent, type) and issubclass(agent, ActionAgent):
        agent = agent.as_agent()  # an action agent class (file.py:Class or file.py:Class.action)
    if not isinstance(agent, Agent):
        raise SystemExit(f"playground: {file} defines no Agent named {owner!r}")
    return agent


def _where(exc: BaseException, file: Path) -> str:
    """ " (line N)" of the agent file where an import error happened, when the traceback says."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f" (line {exc.lineno})"
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == file.resolve():
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more (got {number}): a run needs at least one step")
    return number


def _use_model_options(agent: Agent, args: argparse.Namespace) -> None:
    """--model, --base-url and --api-key-env (an openai-compatible: model from the shell)."""
    import os

    if args.model is not None and not args.model.strip():
        raise SystemExit("playground run: --model is empty; give a model string such as openai:gpt-4.1-mini or demo")
    key = None
    if args.api_key_env is not None:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise SystemExit(
                f"playground run: --api-key-env {args.api_key_env}: that environment variable is not set or empty"
            )
    if args.base_url is not None and not args.base_url.startswith(("http://", "https://")):
        raise SystemExit(f"playground run: --base-url {args.base_url!r} is not an http(s) URL, e.g. http://127.0.0.1:8000/v1")
    if args.model is not None or key is not None or args.base_url is not None:
        agent.use_model(args.model.strip() if args.model else agent.model, api_key=key, base_url=args.base_url)


def _print_result(result: GenerationResult, out: TextIO) -> None:
    for step in result.steps:
        for call in step.tool_calls:
            out.write(f"  -> tool call {call.tool_name}({json.dumps(call.args)})\n")
        for res in step.tool_results:
            marker = "!!" if res.is_error else "<-"
            text = res.result if isinstance(res.result, str) else json.dumps(res.result, default=str)
            out.write(f"  {marker} {res.tool_name}: {text}\n")
    if result.text:
        out.write(f"\n{result.text}\n")
    for src in result.sources:
        out.write(f"  [source] {_source_line(src)}\n")
    for warning in result.warnings:
        out.write(f"  warning: {warning}\n")
    u = result.usage
    latency = f", {result.latency_ms:.0f} ms" if result.latency_ms is not None else ""
    out.write(
        f"\n[{result.finish_reason}] tokens: {u.input_tokens} in, {u.output_tokens} out, {u.total_tokens} total"
        f" ({len(result.steps)} steps{latency})\n"
    )
    out.write(f"cost: {format_cost(result.cost)}" + (f"  trace: {result.trace_id}" if result.trace_id else "") + "\n")


def _source_line(src: Any) -> str:
    """A web page as `title <url>`; a cited document as `title, page 3: "cited text"`."""
    return f"{src.label()} <{src.url}>" if src.url else src.label()


def _ask(prompt: str, stdin: TextIO, out: TextIO) -> bool:
    out.write(prompt)
    out.flush()
    answer = stdin.readline().strip().lower()
    return answer in ("y", "yes")


def cmd_run(args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    # the streams are read at call time: sys.stdin / sys.stdout may be replaced after import (tests, IDEs)
    return _cmd_run(args, stdin if stdin is not None else sys.stdin, out if out is not None else sys.stdout)


def _cmd_run(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    from .actions import cli_generation, parse_params

    agent = load_agent(args.agent)
    try:
        params = parse_params(getattr(args, "param", None) or [])
    except PlaygroundError as exc:
        sys.stderr.write(f"playground: {exc}\n")
        return 2
    options: dict[str, Any] = {}
    if args.max_steps:
        options["max_steps"] = args.max_steps
    try:
        _use_model_options(agent, args)
    except PlaygroundError as exc:
        sys.stderr.write(f"playground: {exc}\n")
        return 1
    traces = playground_tracer_provider()  # spans kept under PLAYGROUND_HOME (or sent to the user's own set-up)
    if traces is not None:
        options["tracing_options"] = {"tracer_provider": traces}
    try:
        gen = cli_generation(args.agent, agent, args.message, params, options)
        result = gen.generate_now()
        interactive = stdin.isatty() or args.approve is not None
        while result.finish_reason == "suspended" and result.suspend_payload is not None:
            pending = result.suspend_payload
            if args.approve is not None:
                approve = args.approve
            elif interactive:
                approve = _ask(f"Approve {pending.tool_name}({json.dumps(pending.args)})? [y/n] ", stdin, out)
            else:
                break  # not a terminal: report the suspended run and how to resume it
            if approve:
                result = agent.approve_tool_call(pending.run_id, pending.tool_call_id)
            else:
                result = agent.decline_tool_call(pending.run_id, pending.tool_call_id, reason="declined at the CLI")
    except PlaygroundError as exc:
        sys.stderr.write(f"playground: {exc}\n")
        return 1
    if args.json:
        out.write(result.model_dump_json(indent=2) + "\n")
    else:
        _print_result(result, out)
        write_waiting(result, out)  # the stored run resumes with `playground approve|decline RUN_ID CALL_ID`
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from .serving import AUTH_ENV, auth_from_env, parse_auth

    # say so at once: loading Gradio takes seconds, and the URL is printed only when the page can be opened
    print("Agent Playground: starting (loading the web UI)…", file=sys.stderr, flush=True)
    from .ui.gradio_app import launch

    try:  # --auth shows in `ps`; PLAYGROUND_AUTH=user:pass does not
        auth = parse_auth(args.auth, "--auth") if args.auth else auth_from_env()
    except PlaygroundError as exc:
        raise SystemExit(f"playground ui: {exc}") from None
    if args.auth:
        print(f"playground ui: note: --auth is visible to other users in `ps`; prefer {AUTH_ENV}=user:pass.",
              file=sys.stderr)
    launch(agents_dir=args.agents, host=args.host, port=args.port, auth=auth)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="playground", description="Agent Playground")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an agent file on one message")
    run.add_argument("agent", help="path to a Python file defining `agent` (or file.py:name)")
    run.add_argument("message", nargs="?", default=None,
                     help="the message (not needed for an action: file.py:Class.action with --param)")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="a param for the agent's templates (with_), e.g. --param lang=fr (repeat)")
    run.add_argument("--json", action="store_true", help="print the whole result as JSON")
    run.add_argument("--model", help="override the agent's model, e.g. openai:gpt-4.1-mini")
    run.add_argument(
        "--base-url", default=None, help="the server's URL, e.g. http://127.0.0.1:8000/v1 for openai-compatible:MODEL"
    )
    run.add_argument(
        "--api-key-env", default=None, metavar="VAR", help="read the API key from this environment variable"
    )
    run.add_argument("--max-steps", type=_positive_int, default=None)
    decide = run.add_mutually_exclusive_group()
    decide.add_argument(
        "--approve",
        dest="approve",
        action="store_const",
        const=True,
        default=None,
        help="approve every tool call that asks",
    )
    decide.add_argument(
        "--decline", dest="approve", action="store_const", const=False, help="decline every tool call that asks"
    )
    ui = sub.add_parser("ui", help="start the browser playground")
    ui.add_argument("--agents", default="agents", help="folder of agent files (default: agents)")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=7860)
    ui.add_argument("--auth", default=None, help="USER:PASS to require a login (better: PLAYGROUND_AUTH=USER:PASS)")
    add_run_commands(sub)  # approve, decline, runs (cli_runs.py)
    from .evals.cli import add_parser as add_eval_command

    add_eval_command(sub)  # eval (evals/cli.py)
    from . import cli_worker

    cli_worker.add_parser(sub)  # worker, jobs (cli_worker.py)
    from . import cli_record

    cli_record.add_parser(sub)  # record, report (cli_record.py)
    args = parser.parse_args(argv)
    if args.command in cli_worker.COMMANDS:
        return cli_worker.run_command(args)
    if args.command in cli_record.COMMANDS:
        return cli_record.run_command(args)
    if args.command == "run":
        return cmd_run(args)
    if args.command in RUN_COMMANDS:
        return run_command(args)
    if args.command == "eval":
        from .evals.cli import cmd_eval

        return cmd_eval(args)
    return cmd_ui(args)


if __name__ == "__main__":
    raise SystemExit(main())
