"""Anthropic Messages API: `POST /v1/messages`, whole and streamed (typed SSE events; `ping`s; padded JSON).

Thinking blocks come back as ReasoningPart with their `signature` (redacted thinking: `redacted=True`, the opaque data
in `signature`), and go out again unchanged on the next turn: Anthropic rejects a tool-use turn whose thinking was
altered or dropped. Citations and web search results become sources. `usage.input_tokens` here is the whole prompt
(Anthropic's uncached `input_tokens` + cache reads + cache writes), so it means the same as OpenAI's prompt tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import ProviderError, StreamError
from ..events import StreamEvent
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
    _loads_or_text,
    loads_json,
    make_provider_error,
    parse_tool_args,
)
from .options import ANTHROPIC, pick_options
from .text_shape import learn_text_shape, learnable

META = "anthropic"
API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
STOP_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool-calls",
    "refusal": "content-filter",
    "pause_turn": "other",
}
#: Models from Claude Sonnet 4.5 / Haiku 4.5 / Opus 4.1 on accept temperature or top_p, not both.
_ONE_SAMPLER = re.compile(r"claude-(opus-4-[1-9]|sonnet-4-[5-9]|haiku-4-[5-9]|(opus|sonnet|haiku)-[5-9])", re.I)


def _document_options(part: FilePart) -> dict[str, Any]:
    """A file's own Anthropic options (the AI SDK's part-level providerOptions): `citations` (True or
    {"enabled": True}), `title` (the filename by default when citations are on), `context`, `cache_control`."""
    raw = (part.provider_options or {}).get(META) or {}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        name = {"cacheControl": "cache_control"}.get(key, key)
        if name == "citations":
            out["citations"] = {"enabled": bool(value)} if isinstance(value, bool) else dict(value)
        elif name in ("title", "context", "cache_control"):
            out[name] = value
    if (out.get("citations") or {}).get("enabled") and "title" not in out and part.filename:
        out["title"] = part.filename
    return out


_LOCATION_KEYS = (
    "document_index", "start_char_index", "end_char_index", "start_page_number", "end_page_number",
    "start_block_index", "end_block_index", "search_result_index", "file_id",
)


def citation_source(cit: Mapping[str, Any]) -> SourcePart | None:
    """Any Anthropic citation as a source: web results (`web_search_result_location`) by URL; documents the caller
    sent (`char_location`, `page_location`, `content_block_location`) and search results (`search_result_location`)
    by title, cited text and location."""
    if not isinstance(cit, Mapping) or not cit:
        return None
    kind = str(cit.get("type") or "")
    meta = {META: {k: v for k, v in cit.items() if k not in ("cited_text",)}}
    location = {k: cit[k] for k in _LOCATION_KEYS if cit.get(k) is not None} or None
    url = cit.get("url") or (cit.get("source") if kind == "search_result_location" else None)
    if url and str(url).startswith(("http://", "https://")):
        return SourcePart(url=str(url), title=cit.get("title"), cited_text=cit.get("cited_text"), location=location,
                          provider_metadata=meta)
    title = cit.get("document_title") or cit.get("title") or cit.get("source")
    if title is None and "document_index" in cit:
        title = f"document {cit['document_index'] + 1}"
    return SourcePart(source_type="document", title=title, cited_text=cit.get("cited_text"), location=location,
                      provider_metadata=meta)


class AnthropicProvider(BaseProvider):
    name: ClassVar[str] = "anthropic"
    default_base_url: ClassVar[str] = "https://api.anthropic.com/v1"
    env_key: ClassVar[tuple[str, ...]] = ("ANTHROPIC_API_KEY",)
    capabilities = Capabilities(
        reasoning=True, structured_output="prompt", images=True, files=True, embeddings=False, sources=True
    )

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json", "anthropic-version": API_VERSION}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        headers.update(self.extra_headers)
        return headers

    # -- to the wire --------------------------------------------------------------------------------------------------
    def build_request(self, call: ModelCall) -> HttpRequestSpec:
        model = call.model or self.model
        warnings: list[str] = []
        system, messages = self._map_messages(call.messages)
        body: dict[str, Any] = {"model": model, "messages": messages}
        options = pick_options(call.provider_options, (META,), ANTHROPIC, warnings)
        thinking = options.get("thinking")
        body.update(self._map_settings(call, model, bool(thinking and thinking.get("type") != "disabled"), warnings))
        if call.response_format is not None:
            schema = json.dumps(call.response_format.schema, ensure_ascii=False)
            system.append(
                f"Answer with a JSON value only (no prose, no code fences) matching this JSON schema:\n{schema}"
            )
            warnings.append("structured output is requested through the prompt: Anthropic has no native JSON mode")
        if system:
            body["system"] = "\n\n".join(system)
        if call.tools and call.tool_choice != "none":
            body["tools"] = [self._map_tool(t) for t in call.tools]
            choice = self._map_tool_choice(call.tool_choice)
            if choice is not None:
                body["tool_choice"] = choice
        elif call.tools:
            body["tools"] = [self._map_tool(t) for t in call.tools]
            body["tool_choice"] = {"type": "none"}
        elif call.tool_choice not in ("auto", "none"):
            warnings.append(f"tool_choice {call.tool_choice!r} was not sent: no tools are active")
        if options.pop("disable_parallel_tool_use", None) and "tools" in body:
            body["tool_choice"] = {**body.get("tool_choice", {"type": "auto"}), "disable_parallel_tool_use": True}
        body.update(options)
        if call.stream:
            body["stream"] = True
        return HttpRequestSpec("POST", f"{self.base_url}/messages", self.headers(), body, call.stream, warnings)

    def _map_settings(self, call: ModelCall, model: str, thinking: bool, warnings: list[str]) -> dict[str, Any]:
        s = call.settings
        out: dict[str, Any] = {}
        if s.max_output_tokens is not None:
            out["max_tokens"] = s.max_output_tokens
        else:
            out["max_tokens"] = DEFAULT_MAX_TOKENS
            warnings.append(f"max_tokens is required by Anthropic; sent {DEFAULT_MAX_TOKENS} (set max_output_tokens)")
        if s.temperature is not None:
            if thinking and s.temperature != 1:
                warnings.append("temperature was not sent: extended thinking requires the default temperature")
            else:
                out["temperature"] = s.temperature
        if s.top_p is not None:
            if s.temperature is not None and _ONE_SAMPLER.search(model):
                warnings.append(f"top_p was not sent: {model} accepts temperature or top_p, not both")
            else:
                out["top_p"] = s.top_p
        if s.top_k is not None:
            if thinking:
                warnings.append("top_k was not sent: extended thinking does not allow it")
            else:
                out["top_k"] = s.top_k
        if s.stop_sequences:
            out["stop_sequences"] = s.stop_sequences
        for name in ("presence_penalty", "frequency_penalty", "seed"):
            if getattr(s, name) is not None:
                warnings.append(f"{name} is not supported by Anthropic and was not sent")
        return out

    @staticmethod
    def _map_tool(tool: ToolDefinition) -> dict[str, Any]:
        native = (tool.provider_metadata or {}).get(META)
        if native:  # a server tool such as {"type": "web_search_20250305", "name": "web_search"}
            return dict(native)
        out: dict[str, Any] = {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
        if tool.strict is not None:
            out["strict"] = tool.strict
        return out

    @staticmethod
    def _map_tool_choice(choice: Any) -> dict[str, Any] | None:
        if isinstance(choice, NamedToolChoice):
            return {"type": "tool", "name": choice.tool_name}
        if choice == "required":
            return {"type": "any"}
        return None  # "auto" is the default

    def _map_messages(self, messages: list[Message]) -> tuple[list[str], list[dict[str, Any]]]:
        """(system texts, messages). Consecutive messages of one role are merged: tool results travel as `user`."""
        system: list[str] = []
        out: list[dict[str, Any]] = []
        for m in messages:
            if m.role == "system":
                system.append(m.text)
                continue
            role = "assistant" if m.role == "assistant" else "user"
            blocks = self._map_assistant(m) if role == "assistant" else self._map_user(m)
            if not blocks:
                continue
            if out and out[-1]["role"] == role:
                out[-1]["content"].extend(blocks)
            else:
                out.append({"role": role, "content": blocks})
        return system, out

    @staticmethod
    def _source(part: ImagePart | FilePart) -> dict[str, Any]:
        if part.url:
            return {"type": "url", "url": part.url}
        return {"type": "base64", "media_type": part.media_type or "image/png", "data": part.data}

    def _map_user(self, m: Message) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        for p in m.content:
            if isinstance(p, TextPart):
                blocks.append({"type": "text", "text": p.text})
            elif isinstance(p, ImagePart):
                blocks.append({"type": "image", "source": self._source(p)})
            elif isinstance(p, FilePart):
                if p.media_type.startswith("text/") and p.data and not p.url:
                    import base64

                    text = base64.b64decode(p.data).decode("utf-8", "replace")
                    blocks.append(
                        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": text}}
                    )
                else:
                    blocks.append({"type": "document", "source": self._source(p)})
                blocks[-1].update(_document_options(p))
            elif isinstance(p, ToolResultPart):
                block: dict[str, Any] = {
                    "type": "tool_result",
                    "tool_use_id": p.tool_call_id,
                    "content": p.result_text(),
                }
                if p.is_error:
                    block["is_error"] = True
                blocks.append(block)
        return blocks

    @staticmethod
    def _map_assistant(m: Message) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        for p in m.content:
            if isinstance(p, ReasoningPart):
                if p.redacted:
                    blocks.append({"type": "redacted_thinking", "data": p.signature or ""})
                elif p.signature:
                    blocks.append({"type": "thinking", "thinking": p.text, "signature": p.signature})
                # reasoning without a signature (another provider's) cannot be verified by Anthropic: left out
            elif isinstance(p, TextPart):
                if p.text:
                    blocks.append({"type": "text", "text": p.text})
            elif isinstance(p, ToolCallPart):
                blocks.append({"type": "tool_use", "id": p.tool_call_id, "name": p.tool_name, "input": p.args})
        return blocks

    # -- from the wire ------------------------------------------------------------------------------------------------
    def parse_response(self, status: int, headers: Mapping[str, str], body: bytes) -> ModelResponse:
        data = loads_json(body)
        if data.get("type") == "error" or (data.get("error") and not data.get("content")):
            raise self.parse_error(status, headers, body)
        resp = ModelResponse(id=data.get("id"), model_id=data.get("model"))
        server: list[dict[str, Any]] = []
        for block in data.get("content") or ():
            kind = block.get("type")
            if kind == "text":
                resp.parts.append(TextPart(text=block.get("text") or ""))
                for cit in block.get("citations") or ():
                    self._add_citation(cit, resp.parts)
            elif kind == "thinking":
                resp.parts.append(ReasoningPart(text=block.get("thinking") or "", signature=block.get("signature")))
            elif kind == "redacted_thinking":
                resp.parts.append(ReasoningPart(text="", signature=block.get("data"), redacted=True))
            elif kind == "tool_use":
                resp.parts.append(
                    ToolCallPart(
                        tool_call_id=block["id"], tool_name=block["name"], args=parse_tool_args(block.get("input"))
                    )
                )
            else:
                server.append(block)
                self._add_result_sources(block, resp.parts)
        if server:
            resp.provider_metadata[META] = {"server_tool_blocks": server}
        raw = data.get("stop_reason")
        resp.raw_finish_reason = raw
        resp.finish_reason = STOP_REASONS.get(raw, "other") if raw else "unknown"
        resp.usage = self._parse_usage(data.get("usage") or {})
        return resp

    @staticmethod
    def _add_citation(cit: Mapping[str, Any], parts: list[Any]) -> SourcePart | None:
        src = citation_source(cit)
        if src is None or any(isinstance(p, SourcePart) and p.key() == src.key() for p in parts):
            return None
        parts.append(src)
        return src

    @staticmethod
    def _add_result_sources(block: Mapping[str, Any], parts: list[Any]) -> list[SourcePart]:
        """Sources from a `web_search_tool_result` block (each result has url, title, page_age)."""
        added: list[SourcePart] = []
        content = block.get("content")
        if block.get("type") != "web_search_tool_result" or not isinstance(content, list):
            return added
        for r in content:
            url = r.get("url") if isinstance(r, dict) else None
            if url and not any(isinstance(p, SourcePart) and p.url == url for p in parts):
                src = SourcePart(
                    url=url, title=r.get("title"), provider_metadata={META: {"page_age": r.get("page_age")}}
                )
                parts.append(src)
                added.append(src)
        return added

    @staticmethod
    def _parse_usage(u: Mapping[str, Any]) -> Usage:
        uncached = u.get("input_tokens") or 0
        read = u.get("cache_read_input_tokens") or 0
        written = u.get("cache_creation_input_tokens") or 0
        out = u.get("output_tokens") or 0
        prompt = uncached + read + written
        return Usage(
            input_tokens=prompt,
            output_tokens=out,
            total_tokens=prompt + out,
            cached_input_tokens=read,
            cache_creation_input_tokens=written,
        )

    def stream_parser(self, call: ModelCall) -> AnthropicStreamParser:
        return AnthropicStreamParser(self)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        payload = _loads_or_text(body)
        err = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(err, dict):
            return super().parse_error(status, headers, body)
        code = err.get("type")
        if code == "overloaded_error" and status < 500:
            status = 529
        error = make_provider_error(
            status=status,
            message=str(err.get("message") or f"HTTP {status}"),
            code=code,
            provider=self.name,
            headers=headers,
            raw_body=payload,
        )
        if error.request_id is None and isinstance(payload, dict):
            error.request_id = payload.get("request_id")
        return error

    # -- models -------------------------------------------------------------------------------------------------------
    def build_list_models_request(self) -> HttpRequestSpec:
        return HttpRequestSpec("GET", f"{self.base_url}/models?limit=1000", self.headers())

    def parse_list_models(self, status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
        if status >= 300:
            raise self.parse_error(status, headers, body)
        return openai_common.parse_list_models(body)


def _delta_of(event: Any) -> dict[str, Any]:
    return event["delta"]  # type: ignore[no-any-return]


class AnthropicStreamParser:
    """Messages stream events -> stream events. Blocks are keyed by their `index`."""

    def __init__(self, provider: AnthropicProvider, step: int = 0) -> None:
        self.provider = provider
        self.acc = ResponseAccumulator(step)
        self.done = False
        self._kinds: dict[int, str] = {}
        self._server: dict[int, dict[str, Any]] = {}
        self._server_json: dict[int, list[str]] = {}
        self._usage: dict[str, Any] = {}
        self._head: str | None = None
        """With `_tail`: the learnt shape of a text_delta event (see text_shape.learn_text_shape)."""
        self._tail = ""
        self._start = self._tail_len = 0
        self._learning = 3
        """Attempts left at learning the shape (a text block with another index has another shape)."""

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        return self.feed_data(event.data)

    def feed_data(self, data: str) -> list[StreamEvent]:
        """Consume one event's data (the event name repeats the JSON's `type`, which is what is read). A text_delta
        of the learnt shape has its text read by slicing, without parsing the JSON again."""
        head = self._head
        if head is not None and data.startswith(head) and data.endswith(self._tail):
            end = len(data) - self._tail_len
            if end >= self._start:
                text = data[self._start : end]
                if '"' not in text and "\\" not in text and text.isprintable():
                    return self.acc.text(text)
        if not data:
            return []
        ev = loads_json(data)  # padded JSON (spaces before `}`) is still JSON
        kind = ev.get("type")
        acc = self.acc
        if kind == "content_block_delta":
            delta = ev.get("delta") or {}
            dkind = delta.get("type")
            if dkind == "text_delta":  # the hot path
                text = delta.get("text") or ""
                if self._learning and text.__class__ is str and learnable(text):
                    self._learning -= 1  # one probe parse per attempt
                    shape = learn_text_shape(data, ev, text, _delta_of, "text")
                    if shape is not None:
                        self._head, self._tail = shape
                        self._start, self._tail_len = len(self._head), len(self._tail)
                return acc.text(text)
            index = ev.get("index", 0)
            if dkind == "thinking_delta":
                return acc.reasoning(delta.get("thinking") or "")
            if dkind == "signature_delta":
                return acc.reasoning("", signature=delta.get("signature"))
            if dkind == "input_json_delta":
                if index in self._server:
                    self._server_json[index].append(delta.get("partial_json") or "")
                    return []
                return acc.tool_call_args(index, delta.get("partial_json") or "")
            if dkind == "citations_delta":
                src = citation_source(delta.get("citation") or {})
                if src is not None:
                    return acc.source_part(src)
            return []
        if kind == "content_block_start":
            return self._block_start(ev.get("index", 0), ev.get("content_block") or {})
        if kind == "content_block_stop":
            index = ev.get("index", 0)
            if index in self._server and self._server_json.get(index):
                self._server[index]["input"] = parse_tool_args("".join(self._server_json[index]))
            return []
        if kind == "message_start":
            msg = ev.get("message") or {}
            resp = acc.response
            resp.id, resp.model_id = msg.get("id"), msg.get("model")
            self._usage.update(msg.get("usage") or {})
            resp.usage = self.provider._parse_usage(self._usage)
            return []
        if kind == "message_delta":
            delta = ev.get("delta") or {}
            resp = acc.response
            if delta.get("stop_reason"):
                resp.raw_finish_reason = delta["stop_reason"]
                resp.finish_reason = STOP_REASONS.get(delta["stop_reason"], "other")
            if ev.get("usage"):  # repeats some fields (output_tokens always): present fields win
                self._usage.update({k: v for k, v in ev["usage"].items() if v is not None})
                resp.usage = self.provider._parse_usage(self._usage)
            return []
        if kind == "message_stop":
            self.done = True
            return []
        if kind == "error":
            err = ev.get("error") or {}
            code = err.get("type")
            raise StreamError(
                str(err.get("message") or code or "stream error"),
                code=code,
                provider=self.provider.name,
                raw_body=ev,
                status=529 if code == "overloaded_error" else None,
                retryable=code in ("overloaded_error", "api_error", "rate_limit_error"),
            )
        return []  # ping and future event types

    def _block_start(self, index: int, block: Mapping[str, Any]) -> list[StreamEvent]:
        kind = str(block.get("type"))
        self._kinds[index] = kind
        acc = self.acc
        acc.break_block()
        if kind == "text":
            events = acc.text(block.get("text") or "")
            for cit in block.get("citations") or ():
                if (src := citation_source(cit)) is not None:
                    events += acc.source_part(src)
            return events
        if kind == "thinking":
            return acc.reasoning(block.get("thinking") or "", signature=block.get("signature") or None, new_block=True)
        if kind == "redacted_thinking":
            return acc.reasoning_part(ReasoningPart(text="", signature=block.get("data"), redacted=True))
        if kind == "tool_use":
            events = acc.tool_call_start(index, block.get("id") or "", block.get("name") or "")
            if block.get("input"):
                events += acc.tool_call_args(index, json.dumps(block["input"]))
            return events
        self._server[index] = dict(block)
        self._server_json[index] = []
        events: list[StreamEvent] = []
        content = block.get("content")
        if kind == "web_search_tool_result" and isinstance(content, list):
            for r in content:
                if isinstance(r, dict) and r.get("url"):
                    events += acc.source(r["url"], r.get("title"))
        return events

    def finish(self) -> ModelResponse:
        resp = self.acc.finish()
        if self._server:
            resp.provider_metadata[META] = {"server_tool_blocks": [self._server[i] for i in sorted(self._server)]}
        return resp
