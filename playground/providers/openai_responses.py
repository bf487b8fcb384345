"""OpenAI Responses API: `POST /responses`, whole and streamed (typed SSE events, no `[DONE]`).

Output items map onto our parts: `message` -> text (its `url_citation` annotations -> sources), `function_call` ->
tool calls (several per turn), `reasoning` -> a ReasoningPart whose `provider_metadata["openai"]` keeps the item id,
the summary parts and the `encrypted_content`, so the next request can hand the reasoning item back (required with
`store: false`, and what keeps reasoning models fast across tool calls). Server-side `web_search_call` items are kept
in `provider_metadata`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import ProviderError, StreamError
from ..events import ReasoningDeltaEvent, StreamEvent
from ..messages import FilePart, ImagePart, Message, ReasoningPart, SourcePart, TextPart, ToolCallPart, ToolResultPart
from ..result import FinishReason, Usage
from ..settings import NamedToolChoice
from . import openai_common
from .base import (
    BaseProvider,
    Capabilities,
    HttpRequestSpec,
    ModelCall,
    ModelResponse,
    ResponseAccumulator,
    SSEEvent,
    ToolDefinition,
    loads_json,
    parse_tool_args,
)
from .options import OPENAI_RESPONSES, pick_options

META = "openai"
_INCOMPLETE_REASONS: dict[str, FinishReason] = {"max_output_tokens": "length", "content_filter": "content-filter"}


def _search_sources(item: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """The pages a `web_search_call` consulted (present with `include: ["web_search_call.action.sources"]`)."""
    if item.get("type") != "web_search_call":
        return []
    action = item.get("action") or {}
    return [(s["url"], s.get("title")) for s in action.get("sources") or () if isinstance(s, dict) and s.get("url")]


def annotation_source(ann: Mapping[str, Any]) -> SourcePart | None:
    """Every citation the Responses API returns as a source: `url_citation` (a web page), `file_citation` and
    `container_file_citation` (a file: its name and where it is cited), `file_path` (a file the model made)."""
    kind = ann.get("type")
    if kind == "url_citation" and ann.get("url"):
        return SourcePart(url=str(ann["url"]), title=ann.get("title"))
    if kind in ("file_citation", "container_file_citation", "file_path"):
        location = {k: ann[k] for k in ("file_id", "container_id", "index", "start_index", "end_index") if k in ann}
        return SourcePart(
            source_type="document", title=ann.get("filename") or ann.get("file_id"), id=ann.get("file_id"),
            location=location or None, provider_metadata={META: dict(ann)},
        )
    return None


class OpenAIResponsesProvider(BaseProvider, openai_common.OpenAIEndpoints):
    name: ClassVar[str] = "openai"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    env_key: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    capabilities = Capabilities(
        reasoning=True, structured_output="native", images=True, files=True, embeddings=True, sources=True
    )

    # -- to the wire --------------------------------------------------------------------------------------------------
    def build_request(self, call: ModelCall) -> HttpRequestSpec:
        model = call.model or self.model
        warnings: list[str] = []
        instructions, items = self._map_input(call.messages, warnings)
        body: dict[str, Any] = {"model": model, "input": items}
        if instructions:
            body["instructions"] = instructions
        if call.tools:
            body["tools"] = [self._map_tool(t) for t in call.tools]
            body["tool_choice"] = self._map_tool_choice(call.tool_choice)
        elif call.tool_choice not in ("auto", "none"):
            warnings.append(f"tool_choice {call.tool_choice!r} was not sent: no tools are active")
        body.update(self._map_settings(call, model, warnings))
        if call.response_format is not None:
            rf = call.response_format
            fmt: dict[str, Any] = {"type": "json_schema", "name": rf.name, "schema": rf.schema, "strict": rf.strict}
            if rf.description:
                fmt["description"] = rf.description
            body["text"] = {"format": fmt}
        options = pick_options(call.provider_options, (META,), OPENAI_RESPONSES, warnings)
        verbosity = options.pop("text_verbosity", None)
        if verbosity:
            body.setdefault("text", {})["verbosity"] = verbosity
        effort = options.pop("reasoning_effort", None)
        summary = options.pop("reasoning_summary", None)
        if effort or summary:
            reasoning: dict[str, Any] = {}
            if effort:
                reasoning["effort"] = effort
            if summary:
                reasoning["summary"] = summary
            body["reasoning"] = reasoning
        body.update(options)
        if body.get("store") is False and openai_common.is_reasoning_model(model):
            include = list(body.get("include") or [])
            if "reasoning.encrypted_content" not in include:
                include.append("reasoning.encrypted_content")  # without it reasoning cannot be handed back
            body["include"] = include
        if call.stream:
            body["stream"] = True
        return HttpRequestSpec("POST", f"{self.base_url}/responses", self.headers(), body, call.stream, warnings)

    def _map_settings(self, call: ModelCall, model: str, warnings: list[str]) -> dict[str, Any]:
        s = call.settings
        dropped = openai_common.drop_sampling_for_reasoning(model, s, warnings)
        out: dict[str, Any] = {}
        for name in ("temperature", "top_p"):
            value = getattr(s, name)
            if value is not None and name not in dropped:
                out[name] = value
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(s, name) is not None and name not in dropped:
                warnings.append(f"{name} is not supported by the Responses API and was not sent")
        if s.max_output_tokens is not None:
            out["max_output_tokens"] = s.max_output_tokens
        for name in ("top_k", "seed", "stop_sequences"):
            if getattr(s, name):
                warnings.append(f"{name} is not supported by the Responses API and was not sent")
        return out

    @staticmethod
    def _map_tool(tool: ToolDefinition) -> dict[str, Any]:
        native = (tool.provider_metadata or {}).get(META)
        if native:  # a built-in tool such as {"type": "web_search"}
            return dict(native)
        out: dict[str, Any] = {
            "type": "function",
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        }
        if tool.strict is not None:
            out["strict"] = tool.strict
        return out

    @staticmethod
    def _map_tool_choice(choice: Any) -> Any:
        if isinstance(choice, NamedToolChoice):
            return {"type": "function", "name": choice.tool_name}
        return choice

    def _map_input(self, messages: list[Message], warnings: list[str]) -> tuple[str | None, list[dict[str, Any]]]:
        """(instructions, input items). Leading system messages become `instructions`; later ones stay in place."""
        items: list[dict[str, Any]] = []
        lead: list[str] = []
        for m in messages:
            if m.role == "system":
                if not items:
                    lead.append(m.text)
                else:
                    items.append({"role": "system", "content": m.text})
            elif m.role == "user":
                items.append(self._map_user(m))
            elif m.role == "assistant":
                items.extend(self._map_assistant(m, warnings))
            else:
                for part in m.content:
                    if isinstance(part, ToolResultPart):
                        items.append(
                            {"type": "function_call_output", "call_id": part.tool_call_id, "output": part.result_text()}
                        )
        return ("\n\n".join(lead) or None), items

    @staticmethod
    def _map_user(m: Message) -> dict[str, Any]:
        if all(isinstance(p, TextPart) for p in m.content):
            return {"role": "user", "content": m.text}
        content: list[dict[str, Any]] = []
        for p in m.content:
            if isinstance(p, TextPart):
                content.append({"type": "input_text", "text": p.text})
            elif isinstance(p, ImagePart):
                content.append({"type": "input_image", "image_url": p.data_url(), "detail": p.detail or "auto"})
            elif isinstance(p, FilePart):
                if p.url:
                    content.append({"type": "input_file", "file_url": p.url})
                else:
                    content.append({"type": "input_file", "filename": p.filename or "file", "file_data": p.data_url()})
        return {"role": "user", "content": content}

    @staticmethod
    def _map_assistant(m: Message, warnings: list[str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        text: list[str] = []

        def flush_text() -> None:
            if text:
                items.append({"role": "assistant", "content": "".join(text)})
                text.clear()

        for p in m.content:
            if isinstance(p, TextPart):
                text.append(p.text)
            elif isinstance(p, ToolCallPart):
                flush_text()
                items.append(
                    {
                        "type": "function_call",
                        "call_id": p.tool_call_id,
                        "name": p.tool_name,
                        "arguments": json.dumps(p.args, ensure_ascii=False),
                    }
                )
            elif isinstance(p, ReasoningPart):
                flush_text()
                meta = (p.provider_metadata or {}).get(META) or {}
                if not meta.get("item_id"):
                    if p.text:
                        warnings.append("reasoning from another provider was not sent to the Responses API")
                    continue
                summary = meta.get("summary")
                if summary is None:
                    summary = [{"type": "summary_text", "text": p.text}] if p.text else []
                item: dict[str, Any] = {"type": "reasoning", "id": meta["item_id"], "summary": summary}
                if meta.get("encrypted_content"):
                    item["encrypted_content"] = meta["encrypted_content"]
                items.append(item)
        flush_text()
        return items

    # -- from the wire ------------------------------------------------------------------------------------------------
    def parse_response(self, status: int, headers: Mapping[str, str], body: bytes) -> ModelResponse:
        data = loads_json(body)
        if data.get("error") and not data.get("output"):
            raise self.parse_error(status, headers, body)
        return self._parse_response_object(data)

    def _parse_response_object(self, data: Mapping[str, Any]) -> ModelResponse:
        resp = ModelResponse(id=data.get("id"), model_id=data.get("model"), created=data.get("created_at"))
        server_items: list[dict[str, Any]] = []
        for item in data.get("output") or ():
            kind = item.get("type")
            if kind == "message":
                for c in item.get("content") or ():
                    if c.get("type") == "output_text":
                        resp.parts.append(TextPart(text=c.get("text") or ""))
                        for ann in c.get("annotations") or ():
                            self._parse_annotation(ann, resp.parts)
                    elif c.get("type") == "refusal":
                        resp.provider_metadata.setdefault(META, {})["refusal"] = c.get("refusal")
            elif kind == "function_call":
                resp.parts.append(
                    ToolCallPart(
                        tool_call_id=item.get("call_id") or "",
                        tool_name=item.get("name") or "",
                        args=parse_tool_args(item.get("arguments")),
                        provider_metadata={META: {"item_id": item.get("id")}},
                    )
                )
            elif kind == "reasoning":
                resp.parts.append(self._parse_reasoning_item(item))
            else:
                server_items.append(dict(item))
                for url, title in _search_sources(item):
                    if not any(isinstance(p, SourcePart) and p.url == url for p in resp.parts):
                        resp.parts.append(SourcePart(url=url, title=title))
        if server_items:
            resp.provider_metadata.setdefault(META, {})["server_tool_calls"] = server_items
        self._parse_status(data, resp)
        return resp

    @staticmethod
    def _parse_reasoning_item(item: Mapping[str, Any]) -> ReasoningPart:
        summary = list(item.get("summary") or [])
        text = "\n\n".join(s.get("text") or "" for s in summary)
        meta: dict[str, Any] = {"item_id": item.get("id"), "summary": summary}
        if item.get("encrypted_content"):
            meta["encrypted_content"] = item["encrypted_content"]
        return ReasoningPart(text=text, provider_metadata={META: meta})

    @staticmethod
    def _parse_annotation(ann: Mapping[str, Any], parts: list[Any]) -> SourcePart | None:
        source = annotation_source(ann)
        if source is None or any(isinstance(p, SourcePart) and p.key() == source.key() for p in parts):
            return None
        parts.append(source)
        return source

    def _parse_status(self, data: Mapping[str, Any], resp: ModelResponse) -> None:
        status = data.get("status")
        resp.raw_finish_reason = status
        if status == "completed":
            resp.finish_reason = "tool-calls" if resp.tool_calls else "stop"
        elif status == "incomplete":
            reason = (data.get("incomplete_details") or {}).get("reason")
            resp.raw_finish_reason = reason or status
            resp.finish_reason = _INCOMPLETE_REASONS.get(reason or "", "other")
        elif status == "failed":
            resp.finish_reason = "error"
        if data.get("usage"):
            resp.usage = self._parse_usage(data["usage"])

    @staticmethod
    def _parse_usage(u: Mapping[str, Any]) -> Usage:
        inp = u.get("input_tokens") or 0
        out = u.get("output_tokens") or 0
        return Usage(
            input_tokens=inp,
            output_tokens=out,
            total_tokens=u.get("total_tokens") or inp + out,
            reasoning_tokens=(u.get("output_tokens_details") or {}).get("reasoning_tokens") or 0,
            cached_input_tokens=(u.get("input_tokens_details") or {}).get("cached_tokens") or 0,
            cache_creation_input_tokens=(u.get("input_tokens_details") or {}).get("cache_write_tokens") or 0,
        )

    def stream_parser(self, call: ModelCall) -> OpenAIResponsesStreamParser:
        return OpenAIResponsesStreamParser(self)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        return super().parse_error(status, headers, body)

    def stream_error(self, payload: Mapping[str, Any]) -> StreamError:
        """An `error` event or a `response.failed` response -> StreamError (with the provider's code and message)."""
        inner = payload.get("error")
        err: Mapping[str, Any] = inner if isinstance(inner, dict) else payload
        message = str(err.get("message") or "the response failed")
        return StreamError(
            message,
            code=err.get("code") or err.get("type"),
            provider=self.name,
            raw_body=dict(payload),
            retryable=err.get("code") in ("server_error", "rate_limit_exceeded"),
        )


class OpenAIResponsesStreamParser:
    """Responses stream events -> stream events, accumulating the same ModelResponse a whole response gives."""

    def __init__(self, provider: OpenAIResponsesProvider, step: int = 0) -> None:
        self.provider = provider
        self.acc = ResponseAccumulator(step)
        self.done = False
        self._summary_index: dict[str, int] = {}
        self._reasoning: dict[str, ReasoningPart] = {}
        self._server_items: list[dict[str, Any]] = []

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        return self.feed_data(event.data, event.event)

    def feed_data(self, data: str, name: str | None = None) -> list[StreamEvent]:
        """Consume one event's data; `name` (the SSE event name) is read only when the JSON has no `type`."""
        if not data or data == "[DONE]":
            return []
        ev = loads_json(data)
        kind = ev.get("type") or name
        acc = self.acc
        if kind == "response.output_text.delta":
            return acc.text(ev.get("delta") or "")
        if kind == "response.function_call_arguments.delta":
            key = ev.get("item_id") or ev.get("output_index")
            return acc.tool_call_args(key, ev.get("delta") or "") if acc.has_tool_call(key) else []
        if kind == "response.reasoning_summary_text.delta":
            return self._reasoning_delta(ev)
        if kind == "response.output_item.added":
            return self._item_added(ev.get("item") or {})
        if kind == "response.output_item.done":
            self._item_done(ev.get("item") or {})
            return []
        if kind == "response.output_text.annotation.added":
            source = annotation_source(ev.get("annotation") or {})
            return acc.source_part(source) if source is not None else []
        if kind in ("response.created", "response.in_progress"):
            r = ev.get("response") or {}
            resp = acc.response
            resp.id, resp.model_id, resp.created = r.get("id"), r.get("model"), r.get("created_at")
            return []
        if kind in ("response.completed", "response.incomplete"):
            self.provider._parse_status(ev.get("response") or {}, acc.finish())
            self.done = True
            return []
        if kind in ("error", "response.failed"):
            raise self.provider.stream_error((ev.get("response") or ev) if kind == "response.failed" else ev)
        return []

    def _item_added(self, item: Mapping[str, Any]) -> list[StreamEvent]:
        kind = item.get("type")
        self.acc.break_block()
        if kind == "function_call":
            key = item.get("id")
            meta = {META: {"item_id": key}}
            events = self.acc.tool_call_start(key, item.get("call_id") or "", item.get("name") or "", **meta)
            if item.get("arguments"):
                events += self.acc.tool_call_args(key, item["arguments"])
            return events
        if kind == "reasoning":
            part = ReasoningPart(text="", provider_metadata={META: {"item_id": item.get("id"), "summary": []}})
            self._reasoning[str(item.get("id"))] = part
            self.acc.reasoning_part(part)
        return []

    def _reasoning_delta(self, ev: Mapping[str, Any]) -> list[StreamEvent]:
        item_id = str(ev.get("item_id"))
        index = ev.get("summary_index", 0)
        part = self._reasoning.get(item_id)
        delta = ev.get("delta") or ""
        if part is None:
            return self.acc.reasoning(delta)
        if self._summary_index.get(item_id, index) != index:
            delta = "\n\n" + delta  # a new summary part of the same reasoning item
        self._summary_index[item_id] = index
        part.text += delta
        return [ReasoningDeltaEvent(delta, self.acc.step)] if delta else []

    def _item_done(self, item: Mapping[str, Any]) -> None:
        kind = item.get("type")
        if kind == "reasoning":
            part = self._reasoning.get(str(item.get("id")))
            done = OpenAIResponsesProvider._parse_reasoning_item(item)
            if part is not None:
                part.provider_metadata = done.provider_metadata
                part.text = done.text or part.text
        elif kind == "function_call":
            key = item.get("id")
            if self.acc.has_tool_call(key):
                self.acc.tool_call_update(key, tool_call_id=item.get("call_id"))
        elif kind not in ("message",):
            self._server_items.append(dict(item))
            for url, title in _search_sources(item):
                self.acc.source(url, title)

    def finish(self) -> ModelResponse:
        resp = self.acc.finish()
        if self._server_items:
            resp.provider_metadata.setdefault(META, {})["server_tool_calls"] = self._server_items
        if resp.finish_reason == "tool-calls" or (resp.finish_reason == "stop" and resp.tool_calls):
            resp.finish_reason = "tool-calls"
        return resp
