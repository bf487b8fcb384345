"""OpenAI Chat Completions: `POST /chat/completions`, whole and streamed (SSE with `data: [DONE]`).

Pure translation. `_map_*` goes to the wire, `_parse_*` comes from it. Fields we do not model are kept in
`provider_metadata` rather than dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic_core import from_json

from ..errors import ProviderError, StreamError
from ..events import StreamEvent, TextDeltaEvent
from ..messages import FilePart, ImagePart, Message, ReasoningPart, TextPart, ToolCallPart, ToolResultPart, text_part
from ..result import FinishReason, Usage, no_usage, usage_of
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
    loads_json,
    parse_tool_args,
)
from .options import OPENAI_CHAT, pick_options
from .text_shape import learn_text_shape, learnable

FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool-calls",
    "function_call": "tool-calls",
    "content_filter": "content-filter",
}

# Known top-level response keys; anything else is kept in provider_metadata.
_KNOWN_KEYS = frozenset({"id", "object", "created", "model", "choices", "usage"})


class OpenAIChatProvider(BaseProvider, openai_common.OpenAIEndpoints):
    name: ClassVar[str] = "openai-chat"
    default_base_url: ClassVar[str] = "https://api.openai.com/v1"
    env_key: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    capabilities = Capabilities(
        reasoning=True, structured_output="native", images=True, files=True, embeddings=True, sources=True
    )

    #: OpenAI wants `max_completion_tokens`; most compatible servers only know `max_tokens`.
    max_tokens_field: str = "max_completion_tokens"
    #: "system", or "developer" for OpenAI reasoning models.
    system_role: str = "system"
    #: OpenAI reasoning models (o1, o3, gpt-5 ...) reject sampling settings: leave them out with a warning.
    drop_sampling_for_reasoning_models: bool = True

    # -- to the wire --------------------------------------------------------------------------------------------------
    def build_request(self, call: ModelCall) -> HttpRequestSpec:
        body: dict[str, Any] = {"model": call.model or self.model, "messages": self._map_messages(call.messages)}
        warnings: list[str] = []
        if call.tools:
            body["tools"] = [self._map_tool(t) for t in call.tools]
            body["tool_choice"] = self._map_tool_choice(call.tool_choice)
        elif call.tool_choice not in ("auto", "none"):
            warnings.append(f"tool_choice {call.tool_choice!r} was not sent: no tools are active")
        body.update(self._map_settings(call, warnings))
        if call.response_format is not None:
            rf = call.response_format
            schema: dict[str, Any] = {"name": rf.name, "schema": rf.schema, "strict": rf.strict}
            if rf.description:
                schema["description"] = rf.description
            body["response_format"] = {"type": "json_schema", "json_schema": schema}
        if call.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        mine = ("openai", "openai-chat", "demo") if self.name == "demo" else ("openai", "openai-chat")
        options = pick_options(call.provider_options, mine, OPENAI_CHAT, warnings) if call.provider_options else {}
        if "text_verbosity" in options:  # the AI SDK's name for Chat Completions' `verbosity`
            options.setdefault("verbosity", options.pop("text_verbosity"))
        if self.name not in ("openai-chat", "demo"):
            # an OpenAI-compatible server's own extensions (vLLM's top_k, Ollama's keep_alive ...): sent as given
            options.update({k: v for k, v in (call.provider_options.get(self.name) or {}).items()})
        body.update(options)
        return HttpRequestSpec(
            "POST", f"{self.base_url}/chat/completions", self.headers(), body, stream=call.stream, warnings=warnings
        )

    def _map_settings(self, call: ModelCall, warnings: list[str]) -> dict[str, Any]:
        s = call.settings
        out: dict[str, Any] = {}
        dropped: set[str] = set()
        if self.drop_sampling_for_reasoning_models:
            dropped = openai_common.drop_sampling_for_reasoning(call.model or self.model, s, warnings)
        if s.temperature is not None and "temperature" not in dropped:
            out["temperature"] = s.temperature
        if s.max_output_tokens is not None:
            out[self.max_tokens_field] = s.max_output_tokens
        if s.top_p is not None and "top_p" not in dropped:
            out["top_p"] = s.top_p
        if s.top_k is not None:
            warnings.append("top_k is not supported by the Chat Completions API and was not sent")
        if s.presence_penalty is not None and "presence_penalty" not in dropped:
            out["presence_penalty"] = s.presence_penalty
        if s.frequency_penalty is not None and "frequency_penalty" not in dropped:
            out["frequency_penalty"] = s.frequency_penalty
        if s.stop_sequences:
            out["stop"] = s.stop_sequences
        if s.seed is not None:
            out["seed"] = s.seed
        return out

    @staticmethod
    def _map_tool(tool: Any) -> dict[str, Any]:
        fn: dict[str, Any] = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
        if tool.strict is not None:
            fn["strict"] = tool.strict
        return {"type": "function", "function": fn}

    @staticmethod
    def _map_tool_choice(choice: Any) -> Any:
        if isinstance(choice, NamedToolChoice):
            return {"type": "function", "function": {"name": choice.tool_name}}
        return choice

    def _map_messages(self, messages: list[Message]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for m in messages:
            parts = m.content
            if len(parts) == 1 and type(parts[0]) is TextPart and m.name is None and m.role in ("user", "assistant"):
                # a plain text turn (most of a long history): the dict the mapping below builds, without its scans
                out.append({"role": m.role, "content": parts[0].text or (None if m.role == "assistant" else "")})
                continue
            if m.role == "system":
                out.append({"role": self.system_role, "content": m.text})
            elif m.role == "user":
                out.append(self._map_user(m))
            elif m.role == "assistant":
                out.append(self._map_assistant(m))
            else:
                for part in m.content:
                    if isinstance(part, ToolResultPart):
                        out.append({"role": "tool", "tool_call_id": part.tool_call_id, "content": part.result_text()})
        return out

    @staticmethod
    def _map_user(m: Message) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "user"}
        if m.name:
            msg["name"] = m.name
        if all(isinstance(p, TextPart) for p in m.content):
            msg["content"] = m.text
            return msg
        parts: list[dict[str, Any]] = []
        for p in m.content:
            if isinstance(p, TextPart):
                parts.append({"type": "text", "text": p.text})
            elif isinstance(p, ImagePart):
                image: dict[str, Any] = {"url": p.data_url()}
                if p.detail:
                    image["detail"] = p.detail
                parts.append({"type": "image_url", "image_url": image})
            elif isinstance(p, FilePart):
                if p.url:
                    parts.append({"type": "text", "text": f"[file: {p.url}]"})
                else:
                    parts.append(
                        {"type": "file", "file": {"filename": p.filename or "file", "file_data": p.data_url()}}
                    )
        msg["content"] = parts
        return msg

    @staticmethod
    def _map_assistant(m: Message) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": m.text or None}
        calls = [
            {
                "id": p.tool_call_id,
                "type": "function",
                "function": {"name": p.tool_name, "arguments": json.dumps(p.args, ensure_ascii=False)},
            }
            for p in m.content
            if isinstance(p, ToolCallPart)
        ]
        if calls:
            msg["tool_calls"] = calls
        return msg

    # -- from the wire ------------------------------------------------------------------------------------------------
    def parse_response(self, status: int, headers: Mapping[str, str], body: bytes) -> ModelResponse:
        data = loads_json(body)
        if "error" in data and not data.get("choices"):
            raise self.parse_error(status, headers, body)
        return self._parse_completion(data)

    def _parse_completion(self, data: dict[str, Any]) -> ModelResponse:
        usage = data.get("usage")
        resp = ModelResponse(
            id=data.get("id"),
            model_id=data.get("model"),
            created=data.get("created"),
            usage=self._parse_usage(usage) if usage else no_usage(),  # one Usage, not a default then the real one
        )
        extra = {k: v for k, v in data.items() if k not in _KNOWN_KEYS}
        choices = data.get("choices") or []
        if choices:
            choice = choices[0]
            message = choice.get("message") or {}
            reasoning = self._parse_reasoning_field(message)
            if reasoning:
                resp.parts.append(ReasoningPart(text=reasoning))
            content = message.get("content")
            if isinstance(content, list):  # some compatible servers answer with parts
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            if content:
                resp.parts.append(text_part(content))
            if message.get("refusal"):
                extra["refusal"] = message["refusal"]
            for tc in message.get("tool_calls") or []:
                fn = tc.get("function") or {}
                resp.parts.append(
                    ToolCallPart(
                        tool_call_id=tc.get("id") or "",
                        tool_name=fn.get("name") or "",
                        args=parse_tool_args(fn.get("arguments")),
                    )
                )
            for ann in message.get("annotations") or []:
                self._parse_annotation(ann, resp.parts)
            raw_reason = choice.get("finish_reason")
            resp.raw_finish_reason = raw_reason
            resp.finish_reason = self._parse_finish_reason(raw_reason)
            if choice.get("logprobs"):
                extra["logprobs"] = choice["logprobs"]
        if extra:
            resp.provider_metadata[self.name] = extra
        return resp

    @staticmethod
    def _parse_reasoning_field(obj: Mapping[str, Any]) -> str | None:
        """Reasoning as compatible servers send it: `reasoning_content` (vLLM, llama.cpp, DeepSeek) or `reasoning`."""
        value = obj.get("reasoning_content")
        if value is None:
            value = obj.get("reasoning")
        return value if isinstance(value, str) and value else None

    @staticmethod
    def _parse_annotation(ann: Mapping[str, Any], parts: list[Any]) -> None:
        from ..messages import SourcePart

        if ann.get("type") == "url_citation":
            cit = ann.get("url_citation") or ann
            url = cit.get("url")
            if url and not any(isinstance(p, SourcePart) and p.url == url for p in parts):
                parts.append(SourcePart(url=url, title=cit.get("title")))

    @staticmethod
    def _parse_finish_reason(raw: str | None) -> FinishReason:
        if raw is None:
            return "unknown"
        return FINISH_REASONS.get(raw, "other")

    @staticmethod
    def _parse_usage(u: Mapping[str, Any]) -> Usage:
        prompt = u.get("prompt_tokens") or 0
        completion = u.get("completion_tokens") or 0
        pdet = u.get("prompt_tokens_details") or {}
        cdet = u.get("completion_tokens_details") or {}
        return usage_of(
            input_tokens=prompt,
            output_tokens=completion,
            total_tokens=u.get("total_tokens") or (prompt + completion),
            reasoning_tokens=cdet.get("reasoning_tokens") or 0,
            cached_input_tokens=pdet.get("cached_tokens") or 0,
            cache_creation_input_tokens=pdet.get("cache_write_tokens") or 0,
        )

    def stream_parser(self, call: ModelCall) -> OpenAIChatStreamParser:
        return OpenAIChatStreamParser(self)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        return super().parse_error(status, headers, body)

    # -- embeddings and models ----------------------------------------------------------------------------------------


def _first_delta(chunk: Any) -> dict[str, Any]:
    return chunk["choices"][0]["delta"]  # type: ignore[no-any-return]


class OpenAIChatStreamParser:
    """Chat Completions chunks -> stream events, accumulating the same ModelResponse a whole response gives."""

    def __init__(self, provider: OpenAIChatProvider, step: int = 0) -> None:
        self.provider = provider
        self.acc = ResponseAccumulator(step)
        self.done = False
        self._extra: dict[str, Any] = {}
        self._head: str | None = None
        """With `_tail`: the text chunk's shape, each with the quote of the text's literal (see `_learn_shape`)."""
        self._tail = ""
        self._start = self._tail_len = 0
        self._plain = False
        """The accumulator is a plain ResponseAccumulator (its text hot path may be taken inline)."""
        self._learning = 2
        """Attempts left at learning the shape (a stream whose chunks vary is not looked at for ever)."""

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        return self.feed_data(event.data)

    def feed_data(self, data: str) -> list[StreamEvent]:
        """Consume one event's data.

        Fastest path: most servers send every text chunk with the same bytes around the text (same id, model,
        created, fingerprint ...). Once that shape is learnt and checked (`_learn_shape`), a chunk that is
        `head + text + tail`, with a text that needs no JSON unescaping, is the learnt chunk with another
        text: the text is read by slicing, without parsing the JSON again. Any other chunk is parsed (hot path: a
        chunk after the first whose one choice carries only text reads four keys)."""
        head = self._head
        if head is not None and data.startswith(head) and data.endswith(self._tail):
            start = self._start
            end = len(data) - self._tail_len
            if end >= start:
                text = data[start:end]
                if '"' not in text and "\\" not in text and text.isprintable():
                    acc = self.acc
                    if text and self._plain and acc._last.__class__ is TextPart:
                        acc._pieces.append(text)  # ResponseAccumulator.text's own hot path, one call less
                        return [TextDeltaEvent(text, acc.step)]
                    return acc.text(text)
        if data == "[DONE]":
            self.done = True
            return []
        if not data:
            return []
        chunk = from_json(data)
        resp = self.acc.response
        if resp.id is None or "error" in chunk:
            return self._first_or_error(chunk, data)
        usage = chunk.get("usage")
        if usage:
            resp.usage = self.provider._parse_usage(usage)
        choices = chunk.get("choices")
        if not choices:
            return []
        if len(choices) == 1:
            choice = choices[0]
            if choice.get("index", 0) != 0:
                return []
            raw_reason = choice.get("finish_reason")
            if raw_reason:
                resp.raw_finish_reason = raw_reason
                resp.finish_reason = self.provider._parse_finish_reason(raw_reason)
            delta = choice.get("delta")
            if not delta:
                return []
            if len(delta) == 1:
                text = delta.get("content")
                if text.__class__ is str:
                    if self._learning and head is None and not usage and not raw_reason and learnable(text):  # type: ignore[arg-type]
                        self._learn_shape(data, chunk, text)  # type: ignore[arg-type]
                    return self._text(text)  # type: ignore[arg-type]
            return self._delta(delta)
        return self._choices(choices)

    def _text(self, text: str) -> list[StreamEvent]:
        acc = self.acc
        if text and acc.__class__ is ResponseAccumulator and acc._last.__class__ is TextPart:
            acc._pieces.append(text)  # ResponseAccumulator.text's own hot path, one call less
            return [TextDeltaEvent(text, acc.step)]
        return acc.text(text)

    def _learn_shape(self, data: str, chunk: dict[str, Any], text: str) -> None:
        """Learn the shape of a text-only chunk (no usage, no finish reason, one choice, index 0): see
        `learn_text_shape`. One probe parse per attempt."""
        self._learning -= 1
        shape = learn_text_shape(data, chunk, text, _first_delta, "content")
        if shape is not None:
            self._head, self._tail = shape
            self._start, self._tail_len = len(self._head), len(self._tail)
            self._plain = self.acc.__class__ is ResponseAccumulator

    def _first_or_error(self, chunk: dict[str, Any], data: str) -> list[StreamEvent]:
        if "error" in chunk and not chunk.get("choices"):
            err = self.provider.parse_error(200, {}, data.encode())
            raise StreamError(
                err.message, code=err.code, provider=self.provider.name, raw_body=chunk, status=err.status
            )
        resp = self.acc.response
        if resp.id is None:  # id, model and fingerprint are the same in every chunk: read them once
            resp.id = chunk.get("id")
            resp.model_id = chunk.get("model")
            resp.created = chunk.get("created")
            if chunk.get("system_fingerprint"):
                self._extra["system_fingerprint"] = chunk["system_fingerprint"]
        usage = chunk.get("usage")
        if usage:
            resp.usage = self.provider._parse_usage(usage)
        choices = chunk.get("choices")
        return self._choices(choices) if choices else []

    def _choices(self, choices: list[dict[str, Any]]) -> list[StreamEvent]:
        resp = self.acc.response
        events: list[StreamEvent] = []
        for choice in choices:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if delta:
                events = self._delta(delta) if not events else events + self._delta(delta)
            raw_reason = choice.get("finish_reason")
            if raw_reason:
                resp.raw_finish_reason = raw_reason
                resp.finish_reason = self.provider._parse_finish_reason(raw_reason)
        return events

    def _delta(self, delta: dict[str, Any]) -> list[StreamEvent]:
        """One pass over the delta's keys (the hot path: most deltas hold one short content string)."""
        acc = self.acc
        text = reasoning = tool_calls = annotations = None
        for key, value in delta.items():
            if not value:
                continue
            if key == "content":
                text = value
            elif key == "reasoning_content" or key == "reasoning":  # two compares: cheaper than a tuple test
                if reasoning is None and isinstance(value, str):
                    reasoning = value
            elif key == "tool_calls":
                tool_calls = value
            elif key == "annotations":
                annotations = value
        if reasoning is None and tool_calls is None and annotations is None:
            return acc.text(text) if isinstance(text, str) else []
        events: list[StreamEvent] = acc.reasoning(reasoning) if reasoning else []
        if isinstance(text, str):
            events += acc.text(text)
        if tool_calls:
            events += self._tool_calls(tool_calls)
        for ann in annotations or ():
            cit = ann.get("url_citation") or ann
            if ann.get("type") == "url_citation" and cit.get("url"):
                events += acc.source(cit["url"], cit.get("title"))
        return events

    def _tool_calls(self, tool_calls: list[dict[str, Any]]) -> list[StreamEvent]:
        acc = self.acc
        events: list[StreamEvent] = []
        for tc in tool_calls:
            key = tc.get("index", 0)
            fn = tc.get("function") or {}
            if not acc.has_tool_call(key):
                events += acc.tool_call_start(key, tc.get("id") or "", fn.get("name") or "")
            else:
                acc.tool_call_update(key, tool_call_id=tc.get("id"), tool_name=fn.get("name"))
            if fn.get("arguments"):
                events += acc.tool_call_args(key, fn["arguments"])
        return events

    def finish(self) -> ModelResponse:
        resp = self.acc.finish()
        if self._extra:
            resp.provider_metadata[self.provider.name] = self._extra
        return resp
