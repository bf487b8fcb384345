"""A shareable report: one exchange or a whole session as one self-contained HTML file.

`result.to_html()`, `PlaygroundSession.export_html()` and `playground report ...` all write through `report_html`.
The file needs no network and no server: CSS inline, no script, no font, image or stylesheet to fetch (source links
are plain links a reader may click). It shows the chat, reasoning, tool calls with their approvals, sources, usage and
cost, every step, and each step's raw request and response. Secrets are masked three times: by the transport, by the
panels (display.py re-masks credential headers) and here over the whole document (the known keys passed in, URL
credentials, credential headers).

Every panel carries a `data-panel` attribute (chat, reasoning, tools, sources, usage, steps, raw-request,
raw-response) so a reader's tools, and the tests, can find it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .masking import mask_text

if TYPE_CHECKING:
    from .messages import Message
    from .result import GenerationResult, Step

PANELS = ("chat", "reasoning", "tools", "sources", "usage", "steps", "raw-request", "raw-response")

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f8fa;color:#1f2328;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{background:#fff;border-bottom:1px solid #d0d7de;padding:14px 24px}
header h1{margin:0;font-size:20px}
header .meta{color:#656d76;font-size:12px}
main{max-width:1040px;margin:0 auto;padding:16px 24px 48px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;margin:14px 0}
section>h2{margin:0 0 8px;font-size:16px}
h3{font-size:14px;margin:12px 0 4px}
.chat{display:flex;flex-direction:column;gap:8px}
.msg{max-width:80%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;word-break:break-word}
.msg.user{align-self:flex-end;background:#ddf4ff;border:1px solid #54aeff}
.msg.assistant{align-self:flex-start;background:#fff;border:1px solid #d0d7de}
.msg.tool{align-self:flex-start;background:#fff8c5;border:1px solid #d4a72c;font-size:12px}
.msg .who{display:block;font-size:11px;color:#656d76;margin-bottom:2px}
.msg .call{display:block;font-family:ui-monospace,monospace;font-size:12px;color:#0550ae}
details{margin:6px 0}
summary{cursor:pointer;font-weight:600}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border:1px solid #eaeef2;border-radius:6px;
  padding:8px;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace;max-height:480px;overflow:auto}
table{border-collapse:collapse;margin:4px 0}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 7px;border-radius:10px;font-size:11px;border:1px solid #d0d7de;
  background:#eef1f4}
.ok{background:#dafbe1;border-color:#4ac26b}.warn{background:#fff8c5;border-color:#d4a72c}
.err{background:#ffebe9;border-color:#ff8182}
.muted{color:#656d76}
.step{border-top:1px dashed #d0d7de;padding-top:8px;margin-top:8px}
footer{color:#656d76;font-size:12px;text-align:center}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _json(value: Any) -> str:
    from .display import to_json

    return _esc(value if isinstance(value, str) else to_json(value))


def _ms(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _badge(reason: str) -> str:
    kind = {"stop": "ok", "tool-calls": "ok", "suspended": "warn", "length": "warn", "aborted": "warn",
            "error": "err", "content-filter": "err", "tripwire": "err"}.get(reason, "")
    return f'<span class="badge {kind}">{_esc(reason)}</span>'


def _chat(messages: Sequence[Message], results: Sequence[GenerationResult]) -> str:
    approvals = {r.tool_call_id: r.approval for res in results for s in res.steps for r in s.tool_results}
    rows: list[str] = []
    for m in messages:
        if m.role == "system":
            continue
        parts: list[str] = []
        for p in m.content:
            kind = type(p).__name__
            if kind == "TextPart":
                parts.append(_esc(getattr(p, "text", "")))
            elif kind == "ToolCallPart":
                args = json.dumps(getattr(p, "args", {}), ensure_ascii=False, default=str)
                call_id = getattr(p, "tool_call_id", "")
                approval = approvals.get(call_id, "")
                note = f" ({_esc(approval)})" if approval and approval != "not-required" else ""
                parts.append(f'<span class="call">→ {_esc(getattr(p, "tool_name", ""))}({_esc(args)}){note}</span>')
            elif kind == "ToolResultPart":
                out = getattr(p, "result", getattr(p, "output", ""))
                shown = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False, default=str)
                parts.append(f'<span class="call">← {_esc(getattr(p, "tool_name", ""))}: {_esc(shown[:600])}</span>')
            elif kind in ("ImagePart", "FilePart"):
                name = getattr(p, "filename", None) or getattr(p, "media_type", None) or kind
                parts.append(f'<span class="call">[{_esc(kind[:-4].lower())}: {_esc(name)}]</span>')
        if parts:
            who = _esc(m.role)
            rows.append(f'<div class="msg {who}"><span class="who">{who}</span>{"".join(parts)}</div>')
    return f'<section data-panel="chat"><h2>Chat</h2><div class="chat">{"".join(rows)}</div></section>'


def _tools(results: Sequence[GenerationResult]) -> str:
    rows = ["<tr><th>step</th><th>tool</th><th>arguments</th><th>result</th><th>approval</th><th>time</th></tr>"]
    n = 0
    for res in results:
        pending = set()
        if res.suspend_payload is not None:
            pending = {c.tool_call_id for c in res.suspend_payload.pending} | {res.suspend_payload.tool_call_id}
        for s in res.steps:
            by_id = {r.tool_call_id: r for r in s.tool_results}
            for c in s.tool_calls:
                n += 1
                r = by_id.get(c.tool_call_id)
                if r is None:
                    result = "(waiting for approval)" if c.tool_call_id in pending else "(not run)"
                    approval, took = ("pending" if c.tool_call_id in pending else ""), ""
                else:
                    result = r.result if isinstance(r.result, str) else json.dumps(r.result, default=str)
                    result = ("error: " if r.is_error else "") + result
                    approval, took = r.approval, _ms(r.duration_ms)
                args = json.dumps(c.args, ensure_ascii=False, default=str)
                rows.append(f"<tr><td>{s.index + 1}</td><td><code>{_esc(c.tool_name)}</code></td>"
                            f"<td><code>{_esc(args)}</code></td><td>{_esc(result[:800])}</td>"
                            f"<td>{_esc(approval)}</td><td>{_esc(took)}</td></tr>")
    body = f"<table>{''.join(rows)}</table>" if n else '<p class="muted">No tool calls.</p>'
    return f'<section data-panel="tools"><h2>Tool calls and approvals ({n})</h2>{body}</section>'


def _reasoning(results: Sequence[GenerationResult]) -> str:
    many = len(results) > 1
    texts = [f"{f'Exchange {i + 1}, ' if many else ''}Step {s.index + 1}: {s.reasoning_text}"
             for i, res in enumerate(results) for s in res.steps if s.reasoning_text]
    body = f"<pre>{_esc(chr(10).join(texts))}</pre>" if texts else '<p class="muted">No reasoning.</p>'
    return f'<section data-panel="reasoning"><h2>Reasoning</h2>{body}</section>'


def _sources(results: Sequence[GenerationResult]) -> str:
    items = []
    for res in results:
        for src in res.sources:
            label = src.label() if hasattr(src, "label") else (src.title or src.url)
            if src.url.startswith(("http://", "https://")):
                items.append(f'<li><a href="{_esc(src.url)}" rel="noopener noreferrer">{_esc(label)}</a></li>')
            else:
                items.append(f"<li>{_esc(label)}</li>")
    body = f"<ol>{''.join(items)}</ol>" if items else '<p class="muted">No sources.</p>'
    return f'<section data-panel="sources"><h2>Sources ({len(items)})</h2>{body}</section>'


def _usage(results: Sequence[GenerationResult]) -> str:
    from .pricing import format_cost, total_cost
    from .result import Usage

    head = ("<tr><th></th><th>model</th><th>finish</th><th>input</th><th>output</th><th>reasoning</th>"
            "<th>total</th><th>latency</th><th>cost</th></tr>")
    rows = [head]
    total = Usage()
    for i, res in enumerate(results):
        for s in res.steps:
            u = s.usage
            total = total + u
            rows.append(f"<tr><td>{'exchange ' + str(i + 1) + ', ' if len(results) > 1 else ''}step {s.index + 1}</td>"
                        f"<td>{_esc(s.model)}</td><td>{_badge(s.finish_reason)}</td>"
                        f'<td class="num">{u.input_tokens:,}</td><td class="num">{u.output_tokens:,}</td>'
                        f'<td class="num">{u.reasoning_tokens:,}</td><td class="num">{u.total_tokens:,}</td>'
                        f"<td>{_ms(s.latency_ms)}</td><td>{_esc(format_cost(s.cost))}</td></tr>")
    cost = format_cost(total_cost(s.cost for res in results for s in res.steps))
    rows.append(f'<tr style="font-weight:600"><td>total</td><td></td><td></td>'
                f'<td class="num">{total.input_tokens:,}</td><td class="num">{total.output_tokens:,}</td>'
                f'<td class="num">{total.reasoning_tokens:,}</td><td class="num">{total.total_tokens:,}</td>'
                f"<td></td><td>{_esc(cost)}</td></tr>")
    return f'<section data-panel="usage"><h2>Usage and cost</h2><table>{"".join(rows)}</table></section>'


def _step(step: Step, prefix: str) -> str:
    from .attachments import elide_bytes
    from .display import safe_headers, safe_url

    out = [f'<div class="step"><h3>{_esc(prefix)}Step {step.index + 1} <span class="badge">{_esc(step.step_type)}'
           f"</span> {_badge(step.finish_reason)} <span class='muted'>{_esc(step.model)} {_ms(step.latency_ms)}"
           "</span></h3>"]
    if step.text:
        out.append(f'<div class="msg assistant">{_esc(step.text)}</div>')
    if step.reasoning_text:
        out.append(f"<details><summary>Reasoning</summary><pre>{_esc(step.reasoning_text)}</pre></details>")
    for c in step.tool_calls:
        out.append(f'<div class="muted">tool call <code>{_esc(c.tool_name)}</code> '
                   f"<code>{_esc(json.dumps(c.args, ensure_ascii=False, default=str))}</code></div>")
    req, resp = step.raw_request, step.raw_response
    if req is not None:
        shown = {"method": req.method, "url": safe_url(req.url), "headers": safe_headers(req.headers),
                 "body": elide_bytes(req.body)}
        out.append(f'<details data-panel="raw-request"><summary>Raw request, step {step.index + 1}</summary>'
                   f"<pre>{_json(shown)}</pre></details>")
    if resp is not None:
        label = "Raw response (stream events)" if resp.stream else "Raw response"
        shown = {"status": resp.status, "headers": safe_headers(resp.headers), "body": resp.body}
        out.append(f'<details data-panel="raw-response"><summary>{label}, step {step.index + 1}</summary>'
                   f"<pre>{_json(shown)}</pre></details>")
    out.append("</div>")
    return "".join(out)


def _steps(results: Sequence[GenerationResult]) -> str:
    blocks = []
    for i, res in enumerate(results):
        prefix = f"Exchange {i + 1}, " if len(results) > 1 else ""
        blocks.extend(_step(s, prefix) for s in res.steps)
        if res.error is not None:
            blocks.append(f'<div class="msg tool">Error: {_esc(res.error)}</div>')
    body = "".join(blocks) or '<p class="muted">No steps.</p>'
    return f'<section data-panel="steps"><h2>Steps, with the raw request and response of each</h2>{body}</section>'


def _conversation(results: Sequence[GenerationResult]) -> list[Message]:
    """The results' messages in order: a run that continues the conversation so far adds only its new messages."""
    shown: list[Message] = []
    for res in results:
        msgs = list(res.messages)
        shown.extend(msgs[len(shown):] if msgs[: len(shown)] == shown else msgs)
    return shown


def report_html(
    results: Sequence[GenerationResult],
    *,
    title: str = "Agent Playground report",
    messages: Sequence[Message] | None = None,
    secrets: Iterable[str | None] = (),
    errors: Sequence[str] = (),
) -> str:
    """One self-contained HTML document for these results (one exchange, or a session's exchanges in order).

    `messages`: the conversation to show as the chat (default: every result's messages, a continued conversation
    shown once). `secrets`: keys to mask wherever they might appear. `errors`: failures to list."""
    results = list(results)
    if messages is None:
        messages = _conversation(results)
    models = sorted({r.model for r in results if r.model})
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = f"{len(results)} exchange{'s' if len(results) != 1 else ''} · {', '.join(models) or 'no model'} · {when}"
    problems = "".join(f'<div class="msg tool">{_esc(e)}</div>' for e in errors)
    body = "".join([
        _chat(messages, results),
        f"<section><h2>Errors</h2>{problems}</section>" if problems else "",
        _reasoning(results), _tools(results), _sources(results), _usage(results), _steps(results),
    ])
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{_esc(title)}</h1><div class="meta">{_esc(meta)}</div></header>'
        f"<main>{body}</main><footer>Exported from Agent Playground. Keys are masked.</footer></body></html>\n"
    )
    return mask_text(doc, secrets)


def result_to_html(result: GenerationResult, *, title: str | None = None, secrets: Iterable[str | None] = ()) -> str:
    return report_html([result], title=title or "Agent Playground report", secrets=secrets)
