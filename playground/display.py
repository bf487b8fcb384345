"""Rich display of generations and results in notebooks, and readable plain text for terminals.

The classes delegate here from tiny `_repr_html_` / `_repr_pretty_` methods, so this module is imported only when
something is displayed. Everything a person or a model wrote is HTML-escaped; links are kept only for http(s) URLs;
headers that carry credentials are masked again here (the transport masks them already: this is a second lock).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .masking import mask_headers, mask_text, mask_url_credentials
from .raw_events import RawEvents

if TYPE_CHECKING:
    from .generation import Generation
    from .messages import Message
    from .result import EmbeddingResult, GenerationResult, RawRequest, RawResponse, Step, Usage

__all__ = [
    "embedding_html",
    "embedding_text",
    "generation_html",
    "generation_text",
    "pretty",
    "result_html",
    "result_text",
    "step_html",
    "usage_html",
]

_MAX_PRE = 200_000  # characters of JSON shown in one collapsed block

_CSS = """
<style>
.pg-display{font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;line-height:1.45;
  color:var(--jp-content-font-color1,#1f2328);max-width:980px}
.pg-display .pg-head{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:0 0 6px 0}
.pg-display .pg-title{font-weight:600}
.pg-display .pg-badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:11px;
  background:var(--jp-layout-color2,#eef1f4);border:1px solid var(--jp-border-color2,#d0d7de)}
.pg-display .pg-badge.pg-ok{background:#dafbe1;border-color:#4ac26b;color:#116329}
.pg-display .pg-badge.pg-warn{background:#fff8c5;border-color:#d4a72c;color:#7d4e00}
.pg-display .pg-badge.pg-err{background:#ffebe9;border-color:#ff8182;color:#a40e26}
.pg-display .pg-answer{white-space:pre-wrap;padding:8px 10px;margin:4px 0 8px 0;border-radius:6px;
  background:var(--jp-layout-color1,#fff);border:1px solid var(--jp-border-color2,#d0d7de)}
.pg-display .pg-callout{padding:6px 10px;margin:6px 0;border-left:4px solid #d4a72c;background:#fff8c5;color:#3b2300}
.pg-display .pg-error{padding:6px 10px;margin:6px 0;border-left:4px solid #cf222e;background:#ffebe9;color:#3b0007}
.pg-display details{margin:4px 0}
.pg-display summary{cursor:pointer;font-weight:600}
.pg-display pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;padding:6px 8px;border-radius:4px;
  background:var(--jp-layout-color2,#f6f8fa);font-family:var(--jp-code-font-family,monospace);font-size:12px;
  max-height:420px;overflow:auto}
.pg-display table{border-collapse:collapse;margin:4px 0}
.pg-display th,.pg-display td{border:1px solid var(--jp-border-color2,#d0d7de);padding:2px 8px;text-align:left;
  vertical-align:top}
.pg-display td.pg-num,.pg-display th.pg-num{text-align:right;font-variant-numeric:tabular-nums}
.pg-display h4{margin:10px 0 2px 0;font-size:13px}
.pg-display .pg-muted{color:var(--jp-content-font-color2,#656d76)}
</style>
"""


class _Printer(Protocol):
    """The part of IPython's pretty printer used here."""

    def text(self, obj: str) -> None: ...


# ----------------------------------------------------------------------------------------------------------------
# Small helpers


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too, so the result is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, RawEvents):  # a stream's raw events: the list of str
        return value.tolist()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return str(value)


def to_json(value: Any) -> str:
    """Indented JSON of any value (pydantic models, datetimes and other objects via their str)."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=_to_jsonable)
    except (TypeError, ValueError):
        text = str(value)
    if len(text) > _MAX_PRE:
        text = text[:_MAX_PRE] + f"\n... ({len(text) - _MAX_PRE} more characters)"
    return text


def _pre(value: Any) -> str:
    return f"<pre>{esc(value if isinstance(value, str) else to_json(value))}</pre>"


def _details(summary: str, body: str, *, open_: bool = False) -> str:
    return f"<details{' open' if open_ else ''}><summary>{summary}</summary>{body}</details>"


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with every credential masked (values the transport already masked are kept as they are)."""
    return mask_headers({name: str(value) for name, value in headers.items()})


def safe_url(url: str) -> str:
    return mask_url_credentials(url)


def _scrub(text: str, secrets: Iterable[str]) -> str:
    return mask_text(text, secrets)


def _link(url: str, title: str | None) -> str:
    label = esc(title or url)
    if re.match(r"^https?://", url, re.I):
        return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{label}</a>'
    return f"{label} <span class='pg-muted'>({esc(url)})</span>"


def _fmt_ms(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _args(args: Mapping[str, Any]) -> str:
    return json.dumps(dict(args), ensure_ascii=False, default=str)


def _wrap(body: str) -> str:
    return f'{_CSS}<div class="pg-display">{plain_structure(body)}</div>'


# Committed notebooks open untrusted: JupyterLab drops the <style> block but keeps inline styles and table attributes.
# So the structure is in the markup itself (separators, table borders, alignment), and inline styles also win over
# JupyterLab's own table rules (right-aligned cells, no borders, centred tables) when the notebook is trusted.
_CELL = "border:1px solid #d0d7de;padding:2px 8px;vertical-align:top;"
_INLINE: dict[str, str] = {
    "pg-answer": "white-space:pre-wrap;padding:8px 10px;margin:4px 0 8px 0;border:1px solid #d0d7de;"
                 "border-radius:6px",
    "pg-callout": "padding:6px 10px;margin:6px 0;border-left:4px solid #d4a72c;background-color:#fff8c5;color:#3b2300",
    "pg-error": "padding:6px 10px;margin:6px 0;border-left:4px solid #cf222e;background-color:#ffebe9;color:#3b0007",
    "pg-badge": "padding:0 7px;border:1px solid #d0d7de;border-radius:10px;font-size:11px",
    "pg-head": "margin:0 0 6px 0",
}
_TABLE = '<table border="1" cellspacing="0" cellpadding="4" style="border-collapse:collapse;margin:4px 0;' \
         'table-layout:auto;border:1px solid #d0d7de">'
_HEAD_SEP = '<span class="pg-sep" style="color:#8c959f"> · </span>'


def _inline_cell(match: re.Match[str]) -> str:
    tag, attrs = match.group(1), match.group(2) or ""
    align = "right" if "pg-num" in attrs else "left"
    style = f"{_CELL}text-align:{align};"
    found = re.search(r"""style=(["'])(.*?)\1""", attrs)
    if found:
        attrs = attrs.replace(found.group(0), f'style="{style}{found.group(2)}"')
        return f"<{tag}{attrs}>"
    return f'<{tag}{attrs} style="{style}">'


def _inline_class(match: re.Match[str]) -> str:
    tag, classes = match.group(1), match.group(2)
    styles = [_INLINE[c] for c in classes.split() if c in _INLINE]
    return f'<{tag} class="{classes}" style="{";".join(styles)}">' if styles else match.group(0)


def _separate_head(match: re.Match[str]) -> str:
    return match.group(0).replace("</span><span", f"</span>{_HEAD_SEP}<span")


def plain_structure(body: str) -> str:
    """HTML that reads correctly without any stylesheet: header items separated by " · ", tables with borders and
    alignment in the markup, callouts and answers with inline styles (see the comment above)."""
    body = re.sub(r'<div class="pg-head">.*?</div>', _separate_head, body, flags=re.S)
    body = body.replace("<table>", _TABLE)
    body = re.sub(r"<(td|th)(\s[^>]*)?>", _inline_cell, body)
    return re.sub(r'<(div|span) class="([^"]*)">', _inline_class, body)


def _finish_badge(reason: str) -> str:
    kind = {"stop": "pg-ok", "tool-calls": "pg-ok", "suspended": "pg-warn", "length": "pg-warn",
            "aborted": "pg-warn", "error": "pg-err", "content-filter": "pg-err", "tripwire": "pg-err"}.get(reason, "")
    return f'<span class="pg-badge {kind}">{esc(reason)}</span>'


# ----------------------------------------------------------------------------------------------------------------
# Usage and steps


_USAGE_COLUMNS = (
    ("input_tokens", "input"),
    ("output_tokens", "output"),
    ("reasoning_tokens", "reasoning"),
    ("cached_input_tokens", "cached input"),
    ("total_tokens", "total"),
)


def _usage_row(label: str, usage: Usage, extra: Sequence[str] = (), *, bold: bool = False) -> str:
    cells = "".join(f'<td class="pg-num">{getattr(usage, field):,}</td>' for field, _ in _USAGE_COLUMNS)
    more = "".join(f"<td>{esc(x)}</td>" for x in extra)
    row = f"<td>{esc(label)}</td>{cells}{more}"
    return f"<tr style='font-weight:600'>{row}</tr>" if bold else f"<tr>{row}</tr>"


def _usage_header(extra: Sequence[str] = ()) -> str:
    cols = "".join(f'<th class="pg-num">{esc(name)}</th>' for _, name in _USAGE_COLUMNS)
    return f"<tr><th></th>{cols}{''.join(f'<th>{esc(x)}</th>' for x in extra)}</tr>"


def usage_table(steps: Sequence[Step], total: Usage, latency_ms: float | None = None) -> str:
    """Tokens per step and in total, with each step's finish reason and latency."""
    from .pricing import format_cost, total_cost

    extra = ("finish", "latency", "cost")
    rows = [_usage_header(extra)]
    for s in steps:
        rows.append(_usage_row(f"step {s.index + 1}", s.usage, (s.finish_reason, _fmt_ms(s.latency_ms),
                                                                 format_cost(s.cost))))
    cost = format_cost(total_cost(s.cost for s in steps)) if steps else ""
    rows.append(_usage_row("total", total, ("", _fmt_ms(latency_ms), cost), bold=True))
    return f"<table>{''.join(rows)}</table>"


def _cost(cost: Any) -> str:
    """A cost as people read it: "$0.000412", "$0 (demo)", or "unknown" (a model genai-prices does not know)."""
    from .pricing import format_cost

    return format_cost(cost)


def usage_html(usage: Usage) -> str:
    return _wrap(f"<table>{_usage_header()}{_usage_row('tokens', usage)}</table>")


def _raw_blocks(index: int, request: RawRequest | None, response: RawResponse | None) -> str:
    out = []
    if request is not None:
        req = {"method": request.method, "url": safe_url(request.url), "headers": safe_headers(request.headers),
               "body": request.body}
        out.append(_details(f"Raw request, step {index + 1}", _pre(req)))
    if response is not None:
        label = "Raw response (stream events)" if response.stream else "Raw response"
        resp = {"status": response.status, "headers": safe_headers(response.headers), "body": response.body}
        out.append(_details(f"{label}, step {index + 1}", _pre(resp)))
    return "".join(out)


def step_html(step: Step) -> str:
    parts = [
        '<div class="pg-head"><span class="pg-title">Step', f" {step.index + 1}</span>",
        f'<span class="pg-badge">{esc(step.step_type)}</span>', _finish_badge(step.finish_reason),
        f'<span class="pg-muted">{esc(step.model)} {_fmt_ms(step.latency_ms)} · cost {esc(_cost(step.cost))}'
        "</span></div>",
    ]
    if step.text:
        parts.append(f'<div class="pg-answer">{esc(step.text)}</div>')
    if step.reasoning_text:
        parts.append(_details("Reasoning", f"<pre>{esc(step.reasoning_text)}</pre>"))
    if step.tool_calls:
        parts.append(_tool_table(step.tool_calls, step.tool_results))
    parts.append(f"<table>{_usage_header()}{_usage_row('tokens', step.usage)}</table>")
    parts.append(_raw_blocks(step.index, step.raw_request, step.raw_response))
    return _wrap("".join(parts))


def _tool_table(calls: Sequence[Any], results: Sequence[Any], pending: Iterable[str] = ()) -> str:
    by_id = {r.tool_call_id: r for r in results}
    waiting = set(pending)
    rows = ["<tr><th>tool</th><th>arguments</th><th>result</th><th>approval</th><th>time</th></tr>"]
    for c in calls:
        r = by_id.get(c.tool_call_id)
        if r is None:
            state = "waiting for approval" if c.tool_call_id in waiting else "not run"
            result, approval, took = f"<span class='pg-muted'>({state})</span>", "", ""
        else:
            shown = r.result if isinstance(r.result, str) else to_json(r.result)
            style = " style='color:#cf222e'" if r.is_error else ""
            result = f"<code{style}>{esc(_short(shown, 400))}</code>"
            approval, took = r.approval, _fmt_ms(r.duration_ms)
        rows.append(
            f"<tr><td><code>{esc(c.tool_name)}</code></td><td><code>{esc(_args(c.args))}</code></td>"
            f"<td>{result}</td><td>{esc(approval)}</td><td>{esc(took)}</td></tr>"
        )
    return f"<table>{''.join(rows)}</table>"


# ----------------------------------------------------------------------------------------------------------------
# GenerationResult


def _reasoning_of(result: GenerationResult) -> str:
    """Reasoning of every step, one paragraph per step (the result's own field runs them together)."""
    per_step = [s.reasoning_text for s in result.steps if s.reasoning_text]
    if per_step:
        return "\n\n".join(per_step)
    return result.reasoning_text or ""


def result_html(result: GenerationResult) -> str:
    """The answer, collapsible reasoning, tool calls, sources, a usage table and the raw JSON of every step."""
    head = [
        '<div class="pg-head"><span class="pg-title">GenerationResult</span>',
        _finish_badge(result.finish_reason),
        f'<span class="pg-badge">{esc(result.model or "?")}</span>',
        f'<span class="pg-muted">{len(result.steps)} step{"s" if len(result.steps) != 1 else ""} · '
        f"{result.usage.total_tokens:,} tokens · {_fmt_ms(result.latency_ms)} · cost {esc(_cost(result.cost))}"
        "</span></div>",
    ]
    body: list[str] = ["".join(head)]
    if result.text:
        body.append(f'<div class="pg-answer">{esc(result.text)}</div>')
    elif not result.suspended:
        body.append('<div class="pg-answer pg-muted">(no text)</div>')
    if result.object is not None:
        body.append("<h4>Structured output (result.object)</h4>" + _pre(result.object))
    payload = result.suspend_payload
    if payload is not None:
        body.append(
            '<div class="pg-callout">Suspended: waiting for approval of '
            f"<code>{esc(payload.tool_name)}({esc(_args(payload.args))})</code>.<br>"
            f"<code>agent.approve_tool_call(run_id={esc(repr(payload.run_id))}, "
            f"tool_call_id={esc(repr(payload.tool_call_id))})</code> or "
            "<code>agent.decline_tool_call(...)</code></div>"
        )
    if result.error is not None:
        body.append(f'<div class="pg-error">Error: {esc(result.error)}</div>')
    if result.tripwire is not None:
        body.append(f'<div class="pg-error">Tripwire: {esc(result.tripwire.reason)}</div>')
    for w in result.warnings:
        body.append(f'<div class="pg-callout">Warning: {esc(w)}</div>')
    reasoning = _reasoning_of(result)
    if reasoning:
        tokens = result.usage.reasoning_tokens
        label = f"Reasoning ({tokens:,} tokens)" if tokens else "Reasoning"
        body.append(_details(label, f"<pre>{esc(reasoning)}</pre>"))
    calls = [c for s in result.steps for c in s.tool_calls]
    results = [r for s in result.steps for r in s.tool_results]
    if calls:
        pending = [c.tool_call_id for c in payload.pending] if payload is not None else []
        if payload is not None:
            pending.append(payload.tool_call_id)
        body.append(f"<h4>Tool calls ({len(calls)})</h4>" + _tool_table(calls, results, pending))
    if result.sources:
        items = "".join(f"<li>{_link(s.url, s.title)}</li>" for s in result.sources)
        body.append(f"<h4>Sources ({len(result.sources)})</h4><ol>{items}</ol>")
    if result.steps:
        body.append("<h4>Usage</h4>" + usage_table(result.steps, result.usage, result.latency_ms))
    raw = "".join(_raw_blocks(s.index, s.raw_request, s.raw_response) for s in result.steps)
    if raw:
        body.append(_details("Raw JSON (request and response of every step)", raw))
    if result.run_id:
        trace = f" · trace_id {esc(result.trace_id)}" if result.trace_id else ""
        body.append(f'<div class="pg-muted">run_id {esc(result.run_id)}{trace}</div>')
    return _wrap("".join(body))


def result_text(result: GenerationResult) -> str:
    """A readable multi-line view for terminals and IPython."""
    u = result.usage
    lines = [
        f"GenerationResult  finish_reason={result.finish_reason}  model={result.model or '?'}  "
        f"steps={len(result.steps)}  tokens={u.total_tokens} (input {u.input_tokens}, output {u.output_tokens})"
        f"  cost={_cost(result.cost)}",
    ]
    if result.text:
        lines.append("text: " + result.text)
    if result.object is not None:
        lines.append("object: " + json.dumps(result.object, ensure_ascii=False, default=_to_jsonable))
    reasoning = _reasoning_of(result)
    if reasoning:
        lines.append("reasoning: " + _short(reasoning, 200))
    by_id = {r.tool_call_id: r for s in result.steps for r in s.tool_results}
    for s in result.steps:
        for c in s.tool_calls:
            r = by_id.get(c.tool_call_id)
            outcome = "(not run)" if r is None else _short(r.result if isinstance(r.result, str)
                                                              else json.dumps(r.result, default=str), 120)
            approval = f" [{r.approval}]" if r is not None and r.approval != "not-required" else ""
            lines.append(f"tool: {c.tool_name}({_args(c.args)}) -> {outcome}{approval}")
    for i, src in enumerate(result.sources, 1):
        lines.append(f"source [{i}]: {src.title or ''} <{src.url}>".replace(":  <", ": <"))
    if result.suspend_payload is not None:
        p = result.suspend_payload
        lines.append(
            f"suspended: waiting for approval of {p.tool_name}({_args(p.args)}); "
            f"run_id={p.run_id!r} tool_call_id={p.tool_call_id!r}"
        )
    if result.error is not None:
        lines.append(f"error: {result.error}")
    for w in result.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------
# Generation (the inspect view)


def _part_html(part: Any) -> str:
    from .messages import FilePart, ImagePart, ReasoningPart, SourcePart, TextPart, ToolCallPart, ToolResultPart

    if isinstance(part, TextPart):
        return f"<div style='white-space:pre-wrap'>{esc(part.text)}</div>"
    if isinstance(part, ToolCallPart):
        return f"<code>call {esc(part.tool_name)}({esc(_args(part.args))})</code>"
    if isinstance(part, ToolResultPart):
        return f"<code>result of {esc(part.tool_name)}: {esc(_short(part.result_text(), 300))}</code>"
    if isinstance(part, ReasoningPart):
        return _details("reasoning", f"<pre>{esc(part.text)}</pre>")
    if isinstance(part, SourcePart):
        return _link(part.url, part.title)
    if isinstance(part, ImagePart | FilePart):
        label = (part.filename if isinstance(part, FilePart) else None) or part.url or part.media_type or ""
        return f"<span class='pg-muted'>[{esc(part.type)}: {esc(_short(label, 80))}]</span>"
    return f"<span class='pg-muted'>[{esc(getattr(part, 'type', type(part).__name__))}]</span>"


def _message_rows(messages: Sequence[Message]) -> str:
    rows = ["<tr><th>role</th><th>content</th></tr>"]
    for m in messages:
        rows.append(f"<tr><td><b>{esc(m.role)}</b></td><td>{''.join(_part_html(p) for p in m.content)}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _tool_rows(generation: Generation) -> str:
    agent_tools = getattr(generation.agent, "tools", {})
    rows = ["<tr><th>tool</th><th>description</th><th>approval</th><th>parameters</th></tr>"]
    for schema in generation.tools:
        name = str(schema.get("name", ""))
        t = agent_tools.get(name)
        approval = "required" if t is not None and getattr(t, "requires_approval", False) else ""
        rows.append(
            f"<tr><td><code>{esc(name)}</code></td><td>{esc(schema.get('description', ''))}</td>"
            f"<td>{esc(approval)}</td><td>{_details('schema', _pre(schema.get('parameters', {})))}</td></tr>"
        )
    return f"<table>{''.join(rows)}</table>"


def _preview(generation: Generation) -> tuple[dict[str, Any] | None, str | None]:
    try:
        preview = generation.request_preview()
    except Exception as exc:  # e.g. a missing key: the view still shows everything else
        return None, f"{type(exc).__name__}: {exc}"
    preview["url"] = safe_url(str(preview.get("url", "")))
    preview["headers"] = safe_headers(preview.get("headers") or {})
    return preview, None


def _option_rows(generation: Generation) -> list[tuple[str, str]]:
    opts = generation.options
    choice = opts.tool_choice
    rows = [("model", generation.model), ("tool_choice", choice if isinstance(choice, str) else choice.tool_name)]
    for name in ("max_steps", "require_tool_approval", "active_tools"):
        value = getattr(opts, name, None)
        if value is not None and not callable(value):
            rows.append((name, str(value)))
    for name, value in generation.settings.set_fields().items():
        rows.append((name, json.dumps(value)))
    return rows


def generation_html(generation: Generation) -> str:
    """The inspect view: messages, tools, settings and the exact request body; nothing has been sent."""
    secrets = _secrets_of(generation)
    preview, problem = _preview(generation)
    body = [
        '<div class="pg-head"><span class="pg-title">Generation</span>',
        f'<span class="pg-badge">{esc(generation.model)}</span>',
        '<span class="pg-muted">nothing sent yet: call <code>.generate_now()</code>, <code>.stream()</code> '
        "or <code>await .generate_async()</code></span></div>",
        "<h4>Messages</h4>",
        _message_rows(generation.messages),
    ]
    if generation.tools:
        body += ["<h4>Tools</h4>", _tool_rows(generation)]
    rows = "".join(f"<tr><td>{esc(k)}</td><td><code>{esc(v)}</code></td></tr>" for k, v in _option_rows(generation))
    body += ["<h4>Settings</h4>", f"<table><tr><th>option</th><th>value</th></tr>{rows}</table>"]
    if preview is not None:
        warnings = preview.pop("warnings", [])
        body.append("<h4>Request</h4>")
        body.append(f"<div><code>{esc(preview.get('method', ''))} {esc(preview.get('url', ''))}</code></div>")
        body.append(_details("headers", _pre(preview.get("headers", {}))))
        body.append(_details("body (what will be sent)", _pre(preview.get("body")), open_=True))
        for w in warnings or []:
            body.append(f'<div class="pg-callout">Warning: {esc(w)}</div>')
    else:
        body.append(f'<div class="pg-error">The request cannot be built yet: {esc(problem)}</div>')
    return _wrap(_scrub("".join(body), secrets))


def generation_text(generation: Generation) -> str:
    lines = [f"Generation  model={generation.model}  (nothing sent yet)"]
    for m in generation.messages:
        lines.append(f"  {m.role}: {_short(m.text, 100)}")
    if generation.tools:
        lines.append("tools: " + ", ".join(str(t.get("name")) for t in generation.tools))
    lines.append("settings: " + ", ".join(f"{k}={v}" for k, v in _option_rows(generation)))
    preview, problem = _preview(generation)
    if preview is not None:
        lines.append(f"request: {preview.get('method')} {preview.get('url')}")
    else:
        lines.append(f"request: cannot be built yet ({problem})")
    return _scrub("\n".join(lines), _secrets_of(generation))


def _secrets_of(generation: Generation) -> list[str]:
    key = getattr(generation.agent, "_api_key", None)
    return [key] if isinstance(key, str) and key else []


# ----------------------------------------------------------------------------------------------------------------
# EmbeddingResult


def embedding_html(result: EmbeddingResult) -> str:
    dims = len(result.data[0].embedding) if result.data else 0
    rows = ["<tr><th>#</th><th>input</th><th>first values</th><th class='pg-num'>norm</th></tr>"]
    for d in result.data[:20]:
        text = result.context[d.index] if d.index < len(result.context) else ""
        first = ", ".join(f"{v:.4f}" for v in d.embedding[:4])
        norm = sum(v * v for v in d.embedding) ** 0.5
        rows.append(
            f"<tr><td>{d.index}</td><td>{esc(_short(text, 80))}</td><td><code>[{esc(first)}, ...]</code></td>"
            f"<td class='pg-num'>{norm:.3f}</td></tr>"
        )
    if len(result.data) > 20:
        rows.append(f"<tr><td colspan='4' class='pg-muted'>... {len(result.data) - 20} more</td></tr>")
    body = [
        '<div class="pg-head"><span class="pg-title">EmbeddingResult</span>',
        f'<span class="pg-badge">{esc(result.model)}</span>',
        f'<span class="pg-muted">{len(result.data)} vector{"s" if len(result.data) != 1 else ""} · '
        f"{dims} dimensions · {result.usage.input_tokens:,} tokens · {_fmt_ms(result.latency_ms)} · "
        f"cost {esc(_cost(result.cost))}</span></div>",
        f"<table>{''.join(rows)}</table>",
        _raw_blocks(0, result.raw_request, None).replace(", step 1", ""),
    ]
    return _wrap("".join(body))


def embedding_text(result: EmbeddingResult) -> str:
    dims = len(result.data[0].embedding) if result.data else 0
    return (
        f"EmbeddingResult  model={result.model}  vectors={len(result.data)}  dimensions={dims}  "
        f"tokens={result.usage.input_tokens}  cost={_cost(result.cost)}"
    )


# ----------------------------------------------------------------------------------------------------------------
# IPython's pretty printer


def pretty(text: str, printer: _Printer, cycle: bool) -> None:
    """Body of a `_repr_pretty_` method: IPython prints `text`."""
    printer.text("..." if cycle else text)


# ----------------------------------------------------------------------------------------------------------------
# Errors: what a person needs instead of a traceback through the library's internals


def _error_parts(exc: BaseException) -> dict[str, Any]:
    """The facts of an error: title, message, details, raw request and response, the partial result."""
    status = getattr(exc, "status", None)
    provider = getattr(exc, "provider", None)
    details = [
        f"HTTP {status}" if status is not None else None,
        f"provider {provider}" if provider else None,
        f"code {getattr(exc, 'code', None)}" if getattr(exc, "code", None) else None,
        f"request id {getattr(exc, 'request_id', None)}" if getattr(exc, "request_id", None) else None,
        f"{getattr(exc, 'attempts', None)} attempts" if (getattr(exc, "attempts", None) or 0) > 1 else None,
        ("a retry may help" if getattr(exc, "retryable", False) else "retrying will not help")
        if status is not None or provider else None,
        f"retry after {getattr(exc, 'retry_after', 0):.0f} s" if getattr(exc, "retry_after", None) else None,
        f"field {getattr(exc, 'field', None)}" if getattr(exc, "field", None) else None,
    ]
    partial = getattr(exc, "result", None)
    steps = list(getattr(partial, "steps", None) or [])
    request = getattr(exc, "raw_request", None)
    if request is None and steps:
        request = steps[-1].raw_request
    response: Any = None
    if steps and steps[-1].raw_response is not None:
        response = steps[-1].raw_response
    raw_body = getattr(exc, "raw_body", None)
    return {
        "title": type(exc).__name__.rstrip("_"),
        "message": str(getattr(exc, "message", None) or exc),
        "details": [d for d in details if d],
        "request": request,
        "response": response,
        "raw_body": raw_body,
        "status": status,
        "partial": partial,
    }


def _partial_summary(partial: Any) -> str | None:
    if partial is None:
        return None
    text = getattr(partial, "text", "") or ""
    calls = [c for s in getattr(partial, "steps", []) for c in s.tool_calls]
    if not text and not calls and not getattr(partial, "reasoning_text", ""):
        return None
    bits = [f"{len(text):,} characters of text" if text else None,
            f"{len(calls)} tool call{'s' if len(calls) != 1 else ''}" if calls else None]
    return "Kept before the failure (on .result): " + ", ".join(b for b in bits if b) if any(bits) else \
        "Kept before the failure (on .result): reasoning"


def _request_dict(request: Any) -> dict[str, Any]:
    return {"method": request.method, "url": safe_url(request.url), "headers": safe_headers(request.headers),
            "body": request.body}


def error_html(exc: BaseException) -> str:
    """An error as a notebook shows it: status, provider, what went wrong, the raw request and response, and what
    was kept of a failed run (its `.result`)."""
    p = _error_parts(exc)
    head = ['<div class="pg-head"><span class="pg-title">' + esc(p["title"]) + "</span>"]
    head += [f'<span class="pg-badge pg-err">{esc(d)}</span>' for d in p["details"][:2]]
    if p["details"][2:]:
        head.append(f'<span class="pg-muted">{esc(" · ".join(p["details"][2:]))}</span>')
    body = ["".join(head) + "</div>", f'<div class="pg-error"><b>What went wrong:</b> {esc(p["message"])}</div>']
    summary = _partial_summary(p["partial"])
    if summary:
        body.append(f'<div class="pg-callout">{esc(summary)}</div>')
        text = getattr(p["partial"], "text", "")
        if text:
            body.append(f'<div class="pg-answer">{esc(text)}</div>')
    if p["request"] is not None:
        body.append(_details("Raw request (key masked)", _pre(_request_dict(p["request"]))))
    if p["response"] is not None:
        resp = p["response"]
        body.append(_details("Raw response", _pre({"status": resp.status, "headers": safe_headers(resp.headers),
                                                   "body": resp.body})))
    elif p["raw_body"] is not None:
        body.append(_details("Raw response", _pre({"status": p["status"], "body": p["raw_body"]}), open_=True))
    return _wrap("".join(body))


def error_text(exc: BaseException) -> list[str]:
    """The lines IPython shows for an error raised in a cell (`_render_traceback_`), instead of ~60 lines of the
    library's internals. A bug in the person's own code (the error's cause) keeps its traceback."""
    import traceback

    p = _error_parts(exc)
    red, bold, reset = "\x1b[0;31m", "\x1b[1m", "\x1b[0m"
    title = p["title"] + (f" ({', '.join(p['details'])})" if p["details"] else "")
    lines = [f"{red}{bold}{title}{reset}", f"{bold}What went wrong:{reset} {p['message']}"]
    summary = _partial_summary(p["partial"])
    if summary:
        lines.append(summary)
    if p["request"] is not None:
        req = p["request"]
        lines.append(f"{bold}Request:{reset} {req.method} {safe_url(req.url)} (key masked; exc.raw_request)")
        lines.append(_short(json.dumps(req.body, ensure_ascii=False, default=str), 600))
    if p["response"] is not None:
        lines.append(f"{bold}Response:{reset} HTTP {p['response'].status}")
        lines.append(_short(json.dumps(p["response"].body, ensure_ascii=False, default=_to_jsonable), 600))
    elif p["raw_body"] is not None:
        lines.append(f"{bold}Response body:{reset} "
                     + _short(json.dumps(p["raw_body"], ensure_ascii=False, default=str), 600))
    cause = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    if cause is not None and not type(cause).__module__.startswith("playground"):
        lines.append(f"{bold}Caused by:{reset}")
        lines += [line.rstrip("\n") for line in traceback.format_exception(cause)]
    lines.append("(the full traceback: import sys, traceback; traceback.print_exception(sys.last_value))")
    return lines


# ----------------------------------------------------------------------------------------------------------------
# StreamRun: live while it streams, the result after


def stream_html(run: Any, *, live: bool = False) -> str:
    """A StreamRun's state: the result when it finished; else the text, reasoning and tool calls so far, and the
    error with what was kept when it failed."""
    from .events import ReasoningDeltaEvent, TextDeltaEvent, ToolCallEvent

    error = getattr(run, "error", None)
    result = getattr(run, "result", None)
    if result is not None and error is None and not live:
        return result_html(result)
    events = list(getattr(run, "events", []))
    text = "".join(ev.text for ev in events if isinstance(ev, TextDeltaEvent))
    reasoning = "".join(ev.text for ev in events if isinstance(ev, ReasoningDeltaEvent))
    calls = [ev for ev in events if isinstance(ev, ToolCallEvent)]
    state = "failed" if error is not None else "streaming…" if live else "not started"
    kind = "pg-err" if error is not None else "pg-warn"
    body = ['<div class="pg-head"><span class="pg-title">StreamRun</span>',
            f'<span class="pg-badge {kind}">{esc(state)}</span>',
            f'<span class="pg-muted">{len(text):,} characters so far</span></div>']
    if text:
        body.append(f'<div class="pg-answer">{esc(text)}</div>')
    if reasoning:
        body.append(_details("Reasoning", f"<pre>{esc(reasoning)}</pre>"))
    for c in calls:
        body.append(f"<div>Tool call: <code>{esc(c.tool_name)}({esc(_args(c.args))})</code></div>")
    html_out = _wrap("".join(body))
    if error is not None:
        html_out += error_html(error)
    return html_out


def stream_text(run: Any) -> str:
    error = getattr(run, "error", None)
    result = getattr(run, "result", None)
    if result is not None and error is None:
        return result_text(result)
    state = f"failed: {type(error).__name__}: {error}" if error is not None else "not finished"
    text = getattr(result, "text", "") if result is not None else ""
    return f"StreamRun ({state})" + (f"\ntext so far: {text}" if text else "")


def display_stream(run: Any, *, interval: float = 0.1) -> None:
    """Show a StreamRun in a notebook: consumed here with a live view when nobody iterated it yet (the view becomes
    the result at the end, or the error with the partial result); its current state otherwise."""
    import time

    from IPython.display import display

    def bundle(live: bool) -> dict[str, str]:
        return {"text/html": stream_html(run, live=live), "text/plain": stream_text(run)}

    if getattr(run, "_started", True):
        display(bundle(False), raw=True)
        return
    handle: Any = display(bundle(True), raw=True, display_id=True)
    last = time.monotonic()
    try:
        for _ in run:
            now = time.monotonic()
            if now - last >= interval:
                last = now
                handle.update(bundle(True), raw=True)
    except Exception:  # the error is on run.error and shown below, with what was kept
        pass
    handle.update(bundle(False), raw=True)
