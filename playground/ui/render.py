"""Result and stream events -> view models shared by both front ends (no UI toolkit imported here).

- `ExchangeView`: the live picture of one exchange, built event by event (`apply`), as a list of `Block`s:
  reasoning, text, tool calls (with approval state), errors.
- `chat_messages(exchanges)`: Gradio-style message dicts `{"role", "content", "metadata"?}` (metadata has title/status
  for collapsible reasoning and tool blocks) and, per message, the index of its exchange.
- `exchange_panels(exchange)`: `Panels`, the text of every panel (Inspect, Raw request, Raw response, Reasoning,
  Sources, Usage with an HTML bar chart, Steps timeline).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NotRequired, Protocol, TypedDict

from ..events import (
    FinishEvent,
    ReasoningDeltaEvent,
    SourceEvent,
    StepFinishEvent,
    StreamEvent,
    TextDeltaEvent,
    ToolApprovalEvent,
    ToolCallDeltaEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from ..pricing import format_cost
from ..raw_events import RawEvents
from ..result import GenerationResult, Step

BlockKind = Literal["reasoning", "text", "tool", "error", "notice"]
ToolStatus = Literal["streaming", "running", "approval", "approved", "declined", "done", "error", "stopped"]


SETTING_LABELS: dict[str, str] = {
    "temperature": "Temperature",
    "max_output_tokens": "Max output tokens",
    "top_p": "Top p",
    "top_k": "Top k",
    "presence_penalty": "Presence penalty",
    "frequency_penalty": "Frequency penalty",
    "stop_sequences": "Stop sequences",
    "seed": "Seed",
    "max_retries": "Max retries",
}
"""Model settings as both front ends label them."""


@dataclass
class Block:
    kind: BlockKind
    text: str = ""
    step: int = 0
    done: bool = False
    tool_call_id: str = ""
    tool_name: str = ""
    args: dict[str, Any] | None = None
    args_text: str = ""
    result: Any = None
    status: ToolStatus = "streaming"
    reason: str | None = None
    duration_ms: float | None = None


@dataclass
class ExchangeView:
    """The live picture of one exchange, updated with each stream event."""

    blocks: list[Block] = field(default_factory=list)
    sources: list[dict[str, str | None]] = field(default_factory=list)
    finish_reason: str | None = None

    def _last(self, kind: BlockKind, step: int) -> Block | None:
        if self.blocks and self.blocks[-1].kind == kind and self.blocks[-1].step == step and not self.blocks[-1].done:
            return self.blocks[-1]
        return None

    def _find_tool(self, call_id: str) -> Block | None:
        return next((b for b in self.blocks if b.kind == "tool" and b.tool_call_id == call_id), None)

    def _tool(self, step: int, call_id: str, tool_name: str) -> Block:
        """The block of a tool call, made on its first event."""
        block = self._find_tool(call_id)
        if block is None:
            block = Block("tool", step=step, tool_call_id=call_id, tool_name=tool_name)
            self.blocks.append(block)
        return block

    def apply(self, ev: StreamEvent) -> None:
        if isinstance(ev, TextDeltaEvent | ReasoningDeltaEvent):
            kind: BlockKind = "text" if isinstance(ev, TextDeltaEvent) else "reasoning"
            block = self._last(kind, ev.step)
            if block is None:
                if kind == "text":  # text after reasoning closes the reasoning block
                    for b in self.blocks:
                        if b.kind == "reasoning" and b.step == ev.step:
                            b.done = True
                block = Block(kind, step=ev.step)
                self.blocks.append(block)
            block.text += ev.text
        elif isinstance(ev, ToolCallDeltaEvent):
            block = self._tool(ev.step, ev.tool_call_id, ev.tool_name)
            block.args_text += ev.args_delta
        elif isinstance(ev, ToolCallEvent):
            block = self._tool(ev.step, ev.tool_call_id, ev.tool_name)
            block.args = dict(ev.args)
            block.status = "running"
        elif isinstance(ev, ToolApprovalEvent):
            block = self._tool(ev.step, ev.tool_call_id, ev.tool_name)
            block.args = dict(ev.args)
            block.status = "approval"
        elif isinstance(ev, ToolResultEvent):
            block = self._tool(ev.step, ev.tool_call_id, ev.tool_name)
            block.args = dict(ev.args)
            block.result = _jsonable(ev.result)
            block.duration_ms = ev.duration_ms
            if block.status not in ("declined",):
                block.status = "error" if ev.is_error else "done"
            block.done = True
        elif isinstance(ev, SourceEvent):
            if not ev.url or not any(s["url"] == ev.url for s in self.sources):  # each cited document counts
                self.sources.append({"url": ev.url, "title": ev.title})
        elif isinstance(ev, StepFinishEvent):
            for b in self.blocks:
                if b.step == ev.step.index and b.kind == "reasoning":
                    b.done = True
        elif isinstance(ev, FinishEvent):
            self.finish_reason = ev.result.finish_reason
            if ev.result.finish_reason != "suspended":
                self.finish()

    def decided(self, call_id: str, *, approved: bool, reason: str | None = None,
                args: dict[str, Any] | None = None) -> None:
        block = self._find_tool(call_id)
        if block is None:
            return
        block.status = "approved" if approved else "declined"
        block.reason = (reason or "").strip() or None
        if args is not None:
            block.args = dict(args)

    def error(self, message: str) -> None:
        self.finish()
        self.blocks.append(Block("error", text=message, done=True))

    def finish(self) -> None:
        for b in self.blocks:
            b.done = True
            if b.kind == "tool" and b.status in ("streaming", "running"):
                b.status = "stopped"

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.blocks if b.kind == "text")

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocks": [asdict(b) for b in self.blocks], "sources": self.sources, "finish_reason": self.finish_reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExchangeView:
        return cls(
            blocks=[Block(**b) for b in data.get("blocks") or []],
            sources=list(data.get("sources") or []),
            finish_reason=data.get("finish_reason"),
        )


class ExchangeLike(Protocol):
    user_text: str
    preview: dict[str, Any] | None
    view: ExchangeView
    result: GenerationResult | None
    error: str | None
    status: str


# ----------------------------------------------------------------------------------------------------------------
# Chat


class ChatMetadata(TypedDict, total=False):
    title: str
    status: Literal["pending", "done"]
    log: str
    duration: float
    id: str


class ChatMessageView(TypedDict):
    role: Literal["user", "assistant"]
    content: str
    metadata: NotRequired[ChatMetadata]


TOOL_STATUS_LABELS: dict[str, str] = {
    "streaming": "calling…",
    "running": "running…",
    "approval": "waits for your approval",
    "approved": "approved",
    "declined": "declined",
    "done": "done",
    "error": "failed",
    "stopped": "stopped",
}


def fenced(text: str, lang: str = "json") -> str:
    """`text` in a code fence it cannot close (the fence is longer than any run of backticks in it)."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def tool_block_markdown(b: Block) -> str:
    args = b.args if b.args is not None else (b.args_text or "")
    parts = [f"**Arguments**\n{fenced(pretty_json(args) if not isinstance(args, str) else args)}"]
    if b.reason:
        parts.append(f"**Reason given:** {safe_markdown(b.reason)}")
    if b.result is not None:
        parts.append(f"**Result**\n{fenced(pretty_json(b.result))}")
    return "\n\n".join(parts)


_CODE = re.compile(r"(```.*?(?:```|$)|`[^`\n]*`)", re.S)


def safe_markdown(text: str) -> str:
    """User or model text for a Markdown view, never live HTML: `<`, `>` and `&` outside code are escaped (so a tag
    shows as text), and an image (`![alt](url)`) shows as its text instead of being fetched. Code spans and fenced
    blocks are left as they are: Markdown shows their content as text already."""
    out: list[str] = []
    for i, piece in enumerate(_CODE.split(text)):
        if i % 2:  # code
            out.append(piece)
        else:
            out.append(html.escape(piece, quote=False).replace("![", "!\\["))
    return "".join(out)


def block_messages(b: Block) -> list[ChatMessageView]:
    if b.kind == "text":
        return [{"role": "assistant", "content": safe_markdown(b.text)}] if b.text else []
    if b.kind == "reasoning":
        return [{"role": "assistant", "content": safe_markdown(b.text),
                 "metadata": {"title": "Reasoning", "status": "done" if b.done else "pending"}}]
    if b.kind == "tool":
        meta: ChatMetadata = {
            "title": f"Tool call: {b.tool_name}",
            "status": "pending" if b.status in ("streaming", "running", "approval") else "done",
            "log": TOOL_STATUS_LABELS.get(b.status, b.status),
            "id": b.tool_call_id,
        }
        if b.duration_ms is not None and b.status not in ("approval",):
            meta["duration"] = round(b.duration_ms / 1000, 3)
        return [{"role": "assistant", "content": tool_block_markdown(b), "metadata": meta}]
    if b.kind == "error":
        return [{"role": "assistant", "content": f"**Error.** {safe_markdown(b.text)}\n\n*The conversation is kept; "
                                                 "fix the problem and send again.*"}]
    return [{"role": "assistant", "content": f"*{safe_markdown(b.text)}*"}]


def result_messages(result: GenerationResult | None) -> list[ChatMessageView]:
    """What a finished exchange adds below its reply: the parsed structured object, and warnings (e.g. a setting the
    provider does not take, which was not sent) so nothing is dropped without a word."""
    if result is None:
        return []
    out: list[ChatMessageView] = []
    if result.object is not None:
        out.append({"role": "assistant", "content": f"```json\n{pretty_json(result.object)}\n```",
                    "metadata": {"title": "Structured output (parsed object)", "status": "done"}})
    for w in result.warnings:  # in the open, not in a collapsed block: a person must see it
        out.append({"role": "assistant", "content": f"**Warning:** {safe_markdown(str(w))}"})
    return out


def chat_messages(exchanges: list[Any]) -> tuple[list[ChatMessageView], list[int]]:
    """Every exchange as chat messages, and for each message the index of its exchange."""
    out: list[ChatMessageView] = []
    owner: list[int] = []
    for i, ex in enumerate(exchanges):
        items: list[ChatMessageView] = [{"role": "user", "content": safe_markdown(ex.user_text)}]
        for b in ex.view.blocks:
            items += block_messages(b)
        items += result_messages(ex.result)
        if ex.status == "stopped":
            items.append({"role": "assistant", "content": "*Stopped.*"})
        if ex.status == "running" and len(items) == 1:
            items.append({"role": "assistant", "content": "…"})
        out += items
        owner += [i] * len(items)
    return out, owner


# ----------------------------------------------------------------------------------------------------------------
# Panels


@dataclass
class Panels:
    inspect: str = ""
    raw_request: str = ""
    raw_response: str = ""
    reasoning: str = ""
    sources: str = ""
    usage: str = ""
    usage_chart: str = ""
    steps: str = ""
    usage_rows: list[dict[str, Any]] = field(default_factory=list)


def pretty_json(value: Any) -> str:
    return json.dumps(_jsonable(value), indent=2, ensure_ascii=False)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda o: o.model_dump(mode="json") if hasattr(o, "model_dump")
                                 else str(o)))


def _event_json(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def raw_requests(steps: list[Step]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in steps:
        out[f"step {s.index + 1}"] = s.raw_request.model_dump(mode="json") if s.raw_request else None
        out.update(_tool_exchanges(s, "request"))
    return out


def _tool_exchanges(step: Step, part: str) -> dict[str, Any]:
    """The JSON-RPC exchange of each MCP tool call of the step, beside the model's wire."""
    return {
        f"step {step.index + 1} · MCP {r.exchange.get('server', '')} · {r.tool_name}": r.exchange.get(part)
        for r in step.tool_results
        if r.exchange is not None
    }


def raw_responses(steps: list[Step]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for s in steps:
        r = s.raw_response
        if r is None:
            out[f"step {s.index + 1}"] = None
            continue
        body = [_event_json(e) for e in r.body] if r.stream and isinstance(r.body, (list, RawEvents)) else r.body
        out[f"step {s.index + 1}"] = {"status": r.status, "headers": r.headers, "stream": r.stream, "body": body}
        out.update(_tool_exchanges(s, "response"))
    return out


def reasoning_markdown(steps: list[Step], live: ExchangeView | None = None) -> str:
    parts = [f"**Step {s.index + 1}**\n\n{s.reasoning_text}" for s in steps if s.reasoning_text]
    if not parts and live is not None:
        parts = [f"**Step {b.step + 1}**\n\n{b.text}" for b in live.blocks if b.kind == "reasoning" and b.text]
    return "\n\n".join(parts) or "*No reasoning in this exchange.*"


def sources_markdown(result: GenerationResult | None, live: ExchangeView | None = None) -> str:
    sources: list[tuple[str, str]] = []
    if result is not None:
        sources = [(s.url, s.label()) for s in result.sources]  # a cited document has no URL: its title and text
    if not sources and live is not None:
        sources = [(str(s["url"]), str(s.get("title") or s["url"])) for s in live.sources]
    if not sources:
        return "*No sources in this exchange.*"
    return "\n".join(
        f"{i}. [{_md_escape(title)}]({url})" if url else f"{i}. {_md_escape(title)}"
        for i, (url, title) in enumerate(sources, 1)
    )


def _md_escape(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def usage_rows(steps: list[Step]) -> list[dict[str, Any]]:
    rows = []
    for s in steps:
        u = s.usage
        rows.append({
            "step": s.index + 1,
            "input": u.input_tokens,
            "output": u.output_tokens,
            "reasoning": u.reasoning_tokens,
            "cached": u.cached_input_tokens,
            "total": u.total_tokens,
            "latency_ms": round(s.latency_ms, 1) if s.latency_ms is not None else None,
            "first_chunk_ms": round(s.time_to_first_chunk_ms, 1) if s.time_to_first_chunk_ms is not None else None,
            "cost": format_cost(s.cost),
        })
    return rows


def usage_markdown(result: GenerationResult | None) -> str:
    if result is None or not result.steps:
        return "*No usage yet.*"
    rows = usage_rows(result.steps)
    lines = ["| Step | Input | Output | Reasoning | Cached | Total | Latency (ms) | First chunk (ms) | Cost |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['step']} | {r['input']} | {r['output']} | {r['reasoning']} | {r['cached']} | {r['total']} "
                     f"| {_num(r['latency_ms'])} | {_num(r['first_chunk_ms'])} | {r['cost']} |")
    u = result.usage
    lines.append(f"| **Total** | **{u.input_tokens}** | **{u.output_tokens}** | **{u.reasoning_tokens}** | "
                 f"**{u.cached_input_tokens}** | **{u.total_tokens}** | **{_num(result.latency_ms)}** | | "
                 f"**{format_cost(result.cost)}** |")
    return "\n".join(lines)


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:,.0f}" if v >= 10 else f"{v:.1f}"


_BAR_COLOURS = {"input": "#6366f1", "output": "#10b981", "reasoning": "#f59e0b"}


def usage_chart_html(rows: list[dict[str, Any]]) -> str:
    """A horizontal stacked bar per step (input, output incl. reasoning): plain HTML, no scripts, no external files."""
    if not rows:
        return '<div class="pg-chart pg-empty">No usage yet.</div>'
    biggest = max(r["input"] + r["output"] for r in rows) or 1
    legend = "".join(
        f'<span class="pg-legend"><i style="background:{c}"></i>{name}</span>' for name, c in _BAR_COLOURS.items()
    )
    bars = []
    for r in rows:
        plain_out = max(r["output"] - r["reasoning"], 0)
        segs = [("input", r["input"]), ("reasoning", r["reasoning"]), ("output", plain_out)]
        inner = "".join(
            f'<span class="pg-seg" title="{name}: {n} tokens" '
            f'style="width:{100 * n / biggest:.2f}%;background:{_BAR_COLOURS[name]}"></span>'
            for name, n in segs if n
        )
        latency = f" · {r['latency_ms']:.0f} ms" if r["latency_ms"] is not None else ""
        bars.append(
            f'<div class="pg-bar-row"><span class="pg-bar-label">Step {r["step"]}</span>'
            f'<span class="pg-bar">{inner}</span><span class="pg-bar-value">{r["total"]} tokens{latency}</span></div>'
        )
    return f'<div class="pg-chart" role="img" aria-label="Tokens per step">{legend}{"".join(bars)}</div>'


def steps_html(result: GenerationResult | None, live: ExchangeView | None = None) -> str:
    """A timeline: each model call, then the tools it ran."""
    if result is None or not result.steps:
        return '<div class="pg-steps pg-empty">No steps yet.</div>'
    items = []
    for s in result.steps:
        latency = f"{s.latency_ms:.0f} ms" if s.latency_ms is not None else "–"
        calls = ", ".join(c.tool_name for c in s.tool_calls)
        what = f"called {html.escape(calls)}" if calls else (f"answered ({len(s.text)} characters)" if s.text else "")
        items.append(
            f'<li class="pg-step pg-model"><b>Step {s.index + 1} · model call</b> '
            f"<code>{html.escape(s.model)}</code> · {latency} · {s.usage.total_tokens} tokens · "
            f"finish: <code>{html.escape(s.finish_reason)}</code> {what}</li>"
        )
        for tr in s.tool_results:
            status = "error" if tr.is_error else tr.approval if tr.approval != "not-required" else "ok"
            items.append(
                f'<li class="pg-step pg-tool">↳ tool <code>{html.escape(tr.tool_name)}</code> '
                f"({html.escape(json.dumps(tr.args, ensure_ascii=False)[:120])}) · {tr.duration_ms:.1f} ms · "
                f"{html.escape(status)}</li>"
            )
        if not s.tool_results and s.tool_calls and live is not None:
            for c in s.tool_calls:
                b = live._find_tool(c.tool_call_id)
                if b is not None and b.status == "approval":
                    items.append(f'<li class="pg-step pg-tool">↳ tool <code>{html.escape(c.tool_name)}</code> '
                                 "waits for approval</li>")
    total = f"{result.latency_ms:.0f} ms" if result.latency_ms is not None else "–"
    items.append(f'<li class="pg-step pg-end"><b>Finish:</b> <code>{html.escape(result.finish_reason)}</code> · '
                 f"{len(result.steps)} step(s) · {result.usage.total_tokens} tokens · {total}</li>")
    return f'<ol class="pg-steps">{"".join(items)}</ol>'


def exchange_panels(exchange: ExchangeLike | None, inspect: dict[str, Any] | None = None) -> Panels:
    """Every panel's content for one exchange. `inspect` (a request preview) overrides the exchange's own."""
    if exchange is None:
        return Panels(
            inspect=pretty_json(inspect) if inspect else "",
            raw_request="{}", raw_response="{}",
            reasoning="*Send a message to see the model's reasoning.*",
            sources="*No sources yet.*", usage="*No usage yet.*", usage_chart=usage_chart_html([]),
            steps=steps_html(None),
        )
    result = exchange.result
    steps = list(result.steps) if result is not None else []
    preview = inspect if inspect is not None else exchange.preview
    rows = usage_rows(steps)
    requests, responses = raw_requests(steps), raw_responses(steps)
    failure: dict[str, Any] | None = getattr(exchange, "failure", None)
    attempts: list[dict[str, Any]] = list(getattr(exchange, "attempts", None) or [])
    timeline = steps_html(result, exchange.view)
    if failure is not None or (exchange.status in ("error", "stopped") and not steps and exchange.preview):
        # the call that failed (or was stopped) has no step: show what was sent, every attempt and the answer
        # (a stream that failed mid-way left a partial step: it is that call, shown once, with what arrived)
        partial = steps[-1] if failure is not None and steps and steps[-1].finish_reason == "error" else None
        done = steps[:-1] if partial is not None else steps
        sent = requests.pop(f"step {partial.index + 1}", None) if partial is not None else None
        received = responses.pop(f"step {partial.index + 1}", None) if partial is not None else None
        label = f"step {len(done) + 1} (failed)" if failure is not None else f"step {len(done) + 1} (stopped)"
        requests[label] = {**(sent or exchange.preview or {}), "attempts": [
            {k: a.get(k) for k in ("attempt", "method", "url")} for a in attempts]}
        responses[label] = {"error": failure, "attempts": attempts}
        if received is not None:
            responses[label]["received"] = received
        shown = result.model_copy(update={"steps": done}) if result is not None and partial is not None else result
        timeline = failure_html(done, shown, failure, attempts, exchange.status)
    from ..attachments import elide_bytes  # images and files: their size, not their bytes

    return Panels(
        inspect=pretty_json(elide_bytes(preview)) if preview else "",
        raw_request=pretty_json(elide_bytes(requests)),
        raw_response=pretty_json(responses),
        reasoning=reasoning_markdown(steps, exchange.view),
        sources=sources_markdown(result, exchange.view),
        usage=usage_markdown(result),
        usage_chart=usage_chart_html(rows),
        steps=timeline,
        usage_rows=rows,
    )


def failure_html(steps: list[Step], result: GenerationResult | None, failure: dict[str, Any] | None,
                 attempts: list[dict[str, Any]], status: str) -> str:
    """The timeline of an exchange whose last model call failed or was stopped: its finished steps, each attempt of
    the failed call (status, Retry-After), and the error."""
    done = steps_html(result, None) if steps else ""
    items = []
    for a in attempts:
        headers = {str(k).lower(): v for k, v in (a.get("headers") or {}).items()}
        retry = f" · retry-after {html.escape(str(headers['retry-after']))}" if "retry-after" in headers else ""
        shown = a.get("status") if a.get("status") is not None else "no answer"
        items.append(f'<li class="pg-step pg-attempt">Attempt {a.get("attempt")} · {html.escape(str(a.get("method")))} '
                     f"<code>{html.escape(str(a.get('url')))}</code> · {html.escape(str(shown))}{retry}</li>")
    if failure is not None:
        status_text = f" (HTTP {failure.get('status')})" if failure.get("status") else ""
        items.append(f'<li class="pg-step pg-end pg-failed"><b>Failed:</b> {html.escape(str(failure.get("error")))}'
                     f"{status_text}: {html.escape(str(failure.get('message'))[:500])}</li>")
    else:
        items.append('<li class="pg-step pg-end"><b>Stopped</b> before the server answered.</li>')
    n = len(steps) + 1
    return f'{done}<ol class="pg-steps" start="{n}"><li class="pg-step pg-model"><b>Step {n} · model call</b>' \
           f'</li>{"".join(items)}</ol>'


# ----------------------------------------------------------------------------------------------------------------
# Traces (issue 12): the exchange's spans as a waterfall, and one span's details


def _span_kind(name: str, attributes: dict[str, Any]) -> str:
    op = str(attributes.get("gen_ai.operation.name") or name.split(" ", 1)[0])
    return {"invoke_agent": "agent", "chat": "model", "execute_tool": "tool", "await_approval": "approval",
            "embeddings": "model"}.get(op, "other")


def trace_rows(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans (TraceStore dicts) -> waterfall rows in tree order: id, label, kind (agent/model/tool/approval/other),
    depth, offset and duration in ms, status, the share of the trace's width each bar takes."""
    if not spans:
        return []
    start = min(s["start_ns"] for s in spans)
    end = max(s["end_ns"] for s in spans)
    width = max(end - start, 1)
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in spans:
        parent = s.get("parent_id") if s.get("parent_id") in ids else None
        children.setdefault(parent, []).append(s)
    rows: list[dict[str, Any]] = []

    def walk(parent: str | None, depth: int) -> None:
        for s in sorted(children.get(parent, []), key=lambda x: (x["start_ns"], x["end_ns"])):
            attrs = s.get("attributes") or {}
            rows.append({
                "span_id": s["span_id"],
                "name": s["name"],
                "kind": _span_kind(s["name"], attrs),
                "depth": depth,
                "offset_ms": (s["start_ns"] - start) / 1e6,
                "duration_ms": (s["end_ns"] - s["start_ns"]) / 1e6,
                "left_pct": 100 * (s["start_ns"] - start) / width,
                "width_pct": max(100 * (s["end_ns"] - s["start_ns"]) / width, 0.5),
                "status": s.get("status", "UNSET"),
                "error": attrs.get("error.type"),
            })
            walk(s["span_id"], depth + 1)

    walk(None, 0)
    return rows


def span_label(row: dict[str, Any]) -> str:
    """How a span is listed for picking: indented name and duration."""
    return f"{'  ' * row['depth']}{row['name']} · {row['duration_ms']:.1f} ms"


_KIND_COLOURS = {"agent": "#6366f1", "model": "#0ea5e9", "tool": "#10b981", "approval": "#f59e0b", "other": "#94a3b8"}


def trace_waterfall_html(rows: list[dict[str, Any]], selected: str | None = None, note: str = "") -> str:
    """The waterfall: one bar per span, placed by start time and sized by duration (plain HTML, no scripts)."""
    if not rows:
        text = html.escape(note or "No trace for this exchange yet.")
        return f'<div class="pg-trace pg-empty">{text}</div>'
    items = []
    for r in rows:
        colour = "#ef4444" if r["status"] == "ERROR" else _KIND_COLOURS[r["kind"]]
        sel = " pg-span-selected" if r["span_id"] == selected else ""
        err = f" · error {html.escape(str(r['error']))}" if r["error"] else ""
        items.append(
            f'<div class="pg-span pg-span-{r["kind"]}{sel}" data-span-id="{r["span_id"]}">'
            f'<span class="pg-span-name" style="padding-left:{r["depth"] * 14}px">{html.escape(r["name"])}</span>'
            f'<span class="pg-span-track"><span class="pg-span-bar" title="{html.escape(r["name"])}" '
            f'style="left:{r["left_pct"]:.2f}%;width:{r["width_pct"]:.2f}%;background:{colour}"></span></span>'
            f'<span class="pg-span-ms">{r["duration_ms"]:.1f} ms{err}</span></div>'
        )
    legend = "".join(f'<span class="pg-legend"><i style="background:{c}"></i>{k}</span>'
                     for k, c in _KIND_COLOURS.items() if k != "other")
    return f'<div class="pg-trace" role="img" aria-label="Trace waterfall">{legend}{"".join(items)}</div>'


def span_details(span: dict[str, Any] | None, steps: list[Step]) -> dict[str, Any]:
    """One span for the details panel: name, timing, status, attributes; for a model call its step's raw request
    and response (already masked), for a tool call its result."""
    if span is None:
        return {}
    attrs = dict(span.get("attributes") or {})
    out: dict[str, Any] = {
        "name": span["name"],
        "span_id": span["span_id"],
        "trace_id": span["trace_id"],
        "duration_ms": round((span["end_ns"] - span["start_ns"]) / 1e6, 3),
        "status": span.get("status"),
        "attributes": attrs,
    }
    if span.get("message"):
        out["status_message"] = span["message"]
    if span.get("links"):
        out["links"] = span["links"]
    step = next((s for s in steps if s.span_id == span["span_id"]), None)
    if step is not None:
        out["request"] = _jsonable(step.raw_request) if step.raw_request is not None else None
        out["response"] = _jsonable(step.raw_response) if step.raw_response is not None else None
        out["cost"] = _jsonable(step.cost) if step.cost is not None else None
    call_id = attrs.get("gen_ai.tool.call.id")
    if call_id and _span_kind(span["name"], attrs) == "tool":
        for s in steps:
            for tr in s.tool_results:
                if tr.tool_call_id == call_id:
                    out["tool"] = {"args": tr.args, "result": tr.result, "is_error": tr.is_error}
    return out


def session_cost_markdown(results: list[GenerationResult | None]) -> str:
    """Cost per exchange and for the session ("unknown" where a model's price is not known)."""
    from ..pricing import total_cost

    done = [r for r in results if r is not None]
    if not done:
        return "*No cost yet.*"
    lines = ["| Exchange | Model | Cost |", "|---:|---|---:|"]
    for i, r in enumerate(results):
        if r is not None:
            lines.append(f"| {i + 1} | `{r.model}` | {format_cost(r.cost)} |")
    lines.append(f"| **Session** | | **{format_cost(total_cost(r.cost for r in done))}** |")
    return "\n".join(lines)


FINISH_NOTES: dict[str, str] = {
    "length": "Cut short: the answer reached the maximum output tokens{limit}. Raise Max output tokens in Model "
              "settings (or leave it unset) to get the rest.",
    "content-filter": "Stopped by the provider's content filter.",
    "aborted": "Stopped before the end; what arrived is kept.",
}
"""Why an answer ended early, as both front ends show it under the answer."""


def finish_note(finish_reason: str | None, max_output_tokens: int | None = None) -> str | None:
    """The sentence shown under an answer that did not end by itself (None when it did)."""
    note = FINISH_NOTES.get(finish_reason or "")
    if note is None:
        return None
    return note.replace("{limit}", f" ({max_output_tokens:,})" if max_output_tokens else "")
