"""The "Code" panel: Python (using this library) and curl that reproduce an exchange. Keys never appear: the Python
reads them from the environment (the library does that) and curl refers to the variable, e.g. `$OPENAI_API_KEY`."""

from __future__ import annotations

import json
import pprint
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..providers.registry import PROVIDERS
from ..providers.transport import SECRET_HEADERS


def _py(value: Any) -> str:
    return pprint.pformat(value, width=100, sort_dicts=False)


def _simple_message(m: dict[str, Any]) -> dict[str, Any]:
    content = m.get("content") or []
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        return {"role": m.get("role"), "content": "".join(p.get("text", "") for p in content)}
    return {k: v for k, v in m.items() if k in ("role", "content", "name")}


def key_variable(provider: str) -> str:
    entry = PROVIDERS.get(provider)
    if entry is not None and entry.env_keys:
        return entry.env_keys[0]
    return "API_KEY"


def python_code(config: dict[str, Any], history: list[dict[str, Any]], text: str,
                agent_source: str | None = None, *, decisions: Sequence[Mapping[str, Any]] = (),
                stream: bool = False, tools: Mapping[str, Any] | None = None,
                memory: Mapping[str, Any] | None = None, memory_setup: Any = None) -> str:
    """Python that makes the same call with `playground` (the key comes from the environment).

    `memory` is the exchange's `memory=` (thread, resource, options) and `memory_setup` the session's Memory: the
    script makes an Agent with the same Memory (same store: PLAYGROUND_HOME or PLAYGROUND_DATABASE_URL) and calls it
    in the same thread, so the model gets the thread's history, recall and working memory as it did.

    `decisions` are the person's approval decisions of the exchange, in order (`tool`, `approved`, `args` as approved,
    `reason` of a decline): the script makes the same ones, so a declined call is declined and an edited one runs with
    the edited arguments. `stream=True` streams the reply as the page did. `tools` (the agent's Tool objects) are
    imported from their modules when the agent has no file (an agent made in a notebook); tools defined in the
    notebook itself are referred to by name, with a comment saying where they come from."""
    provider = str(config.get("provider") or "demo")
    model = str(config.get("model") or "")
    model_string = "demo" if provider == "demo" and model in ("", "demo-1") else f"{provider}:{model}"
    lines = ['"""Reproduces an Agent Playground exchange."""', ""]
    if agent_source:
        lines.append("import runpy")
        lines.append("")
    lines.append("from playground import Agent, Memory, ModelSettings" if memory else
                 "from playground import Agent, ModelSettings")
    lines.append("")
    if memory:
        lines += [*_memory_setup_lines(memory_setup), ""]
    tools_arg = ""
    if agent_source:
        shown = str(Path(agent_source).resolve())  # absolute: the script runs from any folder
        lines.append(f"base = runpy.run_path({shown!r})[\"agent\"]  # the agent's tools")
        tools_arg = "    tools=base.tools,\n"
    elif tools:
        imports, names = _tool_imports(tools)
        lines += [*imports, ""]
        tools_arg = f"    tools=[{', '.join(names)}],\n"
    agent_kwargs = f"    name={config.get('agent', 'agent')!r},\n" if agent_source or tools else ""
    lines.append(f"INSTRUCTIONS = {_py(config.get('instructions') or '')}")
    lines.append("")
    base_url = config.get("base_url")
    key_comment = ""
    if PROVIDERS.get(provider) and PROVIDERS[provider].env_keys:
        key_comment = f"  # the key is read from ${key_variable(provider)}"
    lines.append(
        "agent = Agent(\n" + agent_kwargs + "    instructions=INSTRUCTIONS,\n"
        f"    model={model_string!r},{key_comment}\n" + tools_arg
        + (f"    base_url={base_url!r},\n" if base_url and PROVIDERS.get(provider, None) and
           (PROVIDERS[provider].needs_base_url or provider == "ollama") else "")
        + ("    memory=memory,\n" if memory else "")
        + ")"
    )
    lines.append("")
    messages = [_simple_message(m) for m in history] + [{"role": "user", "content": text}]
    if memory:
        lines.append("# memory puts the thread's history (as stored now: this exchange was saved to it) before these")
    lines.append(f"messages = {_py(messages)}")
    lines.append("")
    options: list[str] = []
    settings = config.get("settings") or {}
    if settings:
        args = ", ".join(f"{k}={v!r}" for k, v in settings.items())
        options.append(f"    model_settings=ModelSettings({args}),")
    options.append(f"    max_steps={config.get('max_steps', 5)!r},")
    active = config.get("active_tools")
    working = bool(memory and ((memory.get("options") or {}).get("working_memory") or {}))
    if (agent_source or tools) and active is not None:
        options.append(f"    active_tools={[*active, *(['update_working_memory'] if working else [])]!r},")
        choice = config.get("tool_choice") or "auto"
        if choice not in ("auto", "none", "required"):
            choice = {"type": "tool", "tool_name": choice}
        if active:
            options.append(f"    tool_choice={choice!r},")
    if config.get("require_approval"):
        options.append("    require_tool_approval=True,")
    if config.get("output_schema"):  # the answer parsed into the same JSON Schema: result.object
        options.append(f"    structured_output={{'schema': {_py(config['output_schema'])}}},")
    if memory:  # the same thread, resource and memory options (recall, working memory) as the exchange
        lines += ["# the exchange's thread, resource and memory options (semantic recall, working memory)",
                  f"MEMORY = {_py(dict(memory))}", ""]
        options.append("    memory=MEMORY,")
    if stream:
        lines += _stream_helper()
        lines.append("result = show(agent.stream(\n    messages,\n" + "\n".join(options) + "\n))")
    else:
        lines.append("result = agent.generate(\n    messages,\n" + "\n".join(options) + "\n)")
    lines += _decision_lines(decisions, stream=stream)
    if not stream:
        lines.append("print(result.text)")
    if config.get("output_schema"):
        lines.append("print(result.object)  # the parsed structured output")
    lines.append("print(result.usage)")
    return "\n".join(lines) + "\n"


def _memory_setup_lines(setup: Any) -> list[str]:
    """`memory = Memory(...)` as the session's: last_messages, embedder and where threads are stored (a database URL's
    password is never written: the script reads the URL from $PLAYGROUND_DATABASE_URL instead)."""
    from urllib.parse import urlsplit

    options = getattr(setup, "options", None)
    last = getattr(options, "last_messages", 10)
    args = [f"last_messages={last!r}"]
    embedder = getattr(setup, "embedder", None)
    note = ""
    if isinstance(embedder, str):
        args.append(f"embedder={embedder!r}")
    elif embedder is not None:
        note = "  # the session's embedder is a function: pass it as embedder=... for semantic recall"
    storage = getattr(setup, "_storage", None)  # None: the default store (not the one it opened)
    where = str(storage) if isinstance(storage, str | Path) else getattr(storage, "url", None)
    head = ""
    if where and "://" in where and not where.startswith("sqlite:"):
        head = "import os\n\n"
        args.append("storage=os.environ['PLAYGROUND_DATABASE_URL']")
        note = note or f"  # the playground's threads: {urlsplit(where).hostname or 'the database'}"
    elif where:
        args.append(f"storage={where!r}")
    else:
        note = note or "  # the playground's threads: under PLAYGROUND_HOME (or at PLAYGROUND_DATABASE_URL)"
    return [f"{head}memory = Memory({', '.join(args)}){note}"]


def _tool_imports(tools: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(import lines, names for `tools=[...]`) for an agent's tools: each function imported from its module; those
    defined in a notebook (or the running script) are named with a comment, since no import can reach them."""
    imports: list[str] = []
    names: list[str] = []
    local: list[str] = []
    for tool in tools.values():
        fn = getattr(tool, "fn", None)
        module = getattr(fn, "__module__", None)
        name = getattr(fn, "__name__", None)
        if not isinstance(name, str) or not name.isidentifier():
            name = str(getattr(tool, "name", "tool"))
            local.append(name)
        elif not isinstance(module, str) or module == "__main__" or module.startswith("playground_agents_"):
            local.append(name)
        else:
            imports.append(f"from {module} import {name}")
        names.append(name)
    if local:
        imports.append(f"# {', '.join(local)}: defined in your notebook; run this there (after those cells) or paste "
                       "their definitions here")
    return imports, names


def _stream_helper() -> list[str]:
    return [
        "",
        "def show(run):",
        "    \"\"\"Print the reply as it streams; return the finished result.\"\"\"",
        "    for piece in run.text_stream():",
        "        print(piece, end=\"\", flush=True)",
        "    print()",
        "    return run.final_result()",
        "",
        "",
    ]


def _decision_lines(decisions: Sequence[Mapping[str, Any]], *, stream: bool) -> list[str]:
    """The person's decisions, made again in order on each suspension (never an approval they did not give)."""
    lines: list[str] = []
    if decisions:
        shown = [{"tool": d.get("tool"), "approved": bool(d.get("approved")),
                  **({"args": d.get("args")} if d.get("approved") else {"reason": d.get("reason")})}
                 for d in decisions]
        lines.append(f"decisions = {_py(shown)}  # as decided in the playground, in order")
        lines.append("for decision in decisions:")
        lines.append("    if not result.suspended:")
        lines.append("        break")
        lines.append("    call = result.suspend_payload")
        lines.append("    if call.tool_name != decision[\"tool\"]:")
        lines.append("        raise SystemExit(f\"the model asked for {call.tool_name}, not {decision['tool']}: \"")
        lines.append("                         \"decide it yourself\")")
        if stream:
            lines.append("    result = show(agent.resume_stream(")
            lines.append("        result.run_id, call.tool_call_id, approve=decision[\"approved\"],")
            lines.append("        args=decision.get(\"args\"), reason=decision.get(\"reason\"),")
            lines.append("    ))")
        else:
            lines.append("    if decision[\"approved\"]:")
            lines.append("        result = agent.approve_tool_call(result.run_id, call.tool_call_id,")
            lines.append("                                         args=decision[\"args\"])")
            lines.append("    else:")
            lines.append("        result = agent.decline_tool_call(result.run_id, call.tool_call_id,")
            lines.append("                                         reason=decision[\"reason\"])")
    lines.append("if result.suspended:  # a tool call waits for a person: nothing runs without one")
    lines.append("    call = result.suspend_payload")
    lines.append("    print(f\"{call.tool_name}({call.args}) waits for approval: agent.approve_tool_call(...) or \"")
    lines.append("          \"agent.decline_tool_call(...)\")")
    return lines


def curl_command(request: dict[str, Any], provider: str) -> str:
    """curl for a (masked) request: secret headers and key query parameters refer to the environment variable."""
    var = key_variable(provider)
    url = str(request.get("url", ""))
    url_has_key = bool(re.search(r"[?&](key|api_key|apikey|access_token)=", url, re.I))
    url = re.sub(r"([?&](?:key|api_key|apikey|access_token)=)[^&#\s]+", rf"\1${var}", url, flags=re.I)
    lines: list[str] = []
    if provider == "demo":
        lines.append("# The demo model runs inside the playground process (demo.playground.local is not a real host);")
        lines.append("# this is the exact request it receives. Point the URL at a real server to send it.")
    method = str(request.get("method", "POST")).upper()
    quoted_url = f'"{url}"' if url_has_key else _sh(url)
    cmd = [f"curl -X {method} {quoted_url}"]
    for name, value in (request.get("headers") or {}).items():
        if name.lower() in SECRET_HEADERS:
            scheme, _, token = str(value).partition(" ")
            shown = f"{scheme} ${var}" if token else f"${var}"
            cmd.append(f'-H "{name}: {shown}"')
        else:
            cmd.append(f"-H {_sh(f'{name}: {value}')}")
    body = request.get("body")
    if body is not None:
        cmd.append("-d @- <<'JSON'")
    out = " \\\n  ".join(cmd)
    if body is not None:
        out += "\n" + json.dumps(body, indent=2, ensure_ascii=False) + "\nJSON"
    return "\n".join([*lines, out]) + "\n"


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
