"""Google Gemini API: `models/{model}:generateContent` and `:streamGenerateContent` (`?alt=sse`, or the JSON-array
stream without it: `GeminiProvider(..., stream_format="json-array")`; the transport reads `stream_format`).

Gemini function calls carry no id (Gemini 3 sometimes sends one): we synthesise a stable id from the response id and
the call's position, and map results back by function name. Thought signatures travel with the part they came on:
a function call keeps it in `ToolCallPart.provider_metadata["gemini"]`, a thought in `ReasoningPart.signature`, and a
signature on a text part becomes an empty ReasoningPart (signature only) placed just before that text, which the
next request turns back into the signed text part. The key goes in the `x-goog-api-key` header, never the URL.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import AuthenticationError, ProviderError, StreamError
from ..events import StreamEvent
from ..messages import (
    FilePart,
    ImagePart,
    Message,
    ReasoningPart,
    SourcePart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from ..result import FinishReason, Usage
from ..settings import NamedToolChoice
from .base import (
    BaseProvider,
    Capabilities,
    EmbeddingResponse,
    HttpRequestSpec,
    ModelCall,
    ModelResponse,
    ResponseAccumulator,
    SSEEvent,
    StreamFormat,
    ToolDefinition,
    _loads_or_text,
    loads_json,
    make_provider_error,
)
from .options import GEMINI, GEMINI_GENERATION, pick_options

META = "gemini"
FINISH_REASONS: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content-filter",
    "RECITATION": "content-filter",
    "BLOCKLIST": "content-filter",
    "PROHIBITED_CONTENT": "content-filter",
    "SPII": "content-filter",
    "IMAGE_SAFETY": "content-filter",
    "MALFORMED_FUNCTION_CALL": "error",
}
_AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"})
_DURATION = re.compile(r"^\s*([\d.]+)s\s*$")


def synthesize_call_id(response_id: str | None, index: int, name: str) -> str:
    """A stable id for a Gemini function call: the same response always yields the same ids."""
    digest = hashlib.sha1(f"{response_id or ''}:{index}:{name}".encode()).hexdigest()[:16]
    return f"call_{digest}"


class GeminiProvider(BaseProvider):
    name: ClassVar[str] = "gemini"
    default_base_url: ClassVar[str] = "https://generativelanguage.googleapis.com/v1beta"
    env_key: ClassVar[tuple[str, ...]] = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    capabilities = Capabilities(
        reasoning=True, structured_output="native", images=True, files=True, embeddings=True, sources=True
    )

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        stream_format: StreamFormat = "sse",
    ) -> None:
        super().__init__(model, api_key=api_key, base_url=base_url, headers=headers)
        self.stream_format = stream_format

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["x-goog-api-key"] = self.api_key
        headers.update(self.extra_headers)
        return headers

    def _model_path(self, model: str) -> str:
        return model if model.startswith(("models/", "tunedModels/")) else f"models/{model}"

    # -- to the wire --------------------------------------------------------------------------------------------------
    def build_request(self, call: ModelCall) -> HttpRequestSpec:
        model = call.model or self.model
        warnings: list[str] = []
        system, contents = self._map_contents(call.messages)
        body: dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = {"parts": [{"text": t} for t in system]}
        if call.tools:
            body["tools"] = self._map_tools(call.tools)
            config = self._map_tool_choice(call.tool_choice)
            if config:
                body["toolConfig"] = {"functionCallingConfig": config}
        elif call.tool_choice not in ("auto", "none"):
            warnings.append(f"tool_choice {call.tool_choice!r} was not sent: no tools are active")
        generation = self._map_settings(call, warnings)
        if call.response_format is not None:
            generation["responseMimeType"] = "application/json"
            generation["responseJsonSchema"] = call.response_format.schema
        options = pick_options(call.provider_options, (META,), GEMINI, warnings)
        for key in GEMINI_GENERATION & set(options):
            generation[key] = options.pop(key)
        if generation:
            body["generationConfig"] = generation
        body.update(options)
        if call.stream:
            url = f"{self.base_url}/{self._model_path(model)}:streamGenerateContent" + (
                "?alt=sse" if self.stream_format == "sse" else ""
            )
        else:
            url = f"{self.base_url}/{self._model_path(model)}:generateContent"
        return HttpRequestSpec("POST", url, self.headers(), body, call.stream, warnings)

    @staticmethod
    def _map_settings(call: ModelCall, warnings: list[str]) -> dict[str, Any]:
        s = call.settings
        out: dict[str, Any] = {}
        names = {
            "temperature": "temperature",
            "top_p": "topP",
            "top_k": "topK",
            "max_output_tokens": "maxOutputTokens",
            "presence_penalty": "presencePenalty",
            "frequency_penalty": "frequencyPenalty",
            "seed": "seed",
        }
        for ours, theirs in names.items():
            value = getattr(s, ours)
            if value is not None:
                out[theirs] = value
        if s.stop_sequences:
            if len(s.stop_sequences) > 5:
                warnings.append("Gemini accepts at most 5 stop sequences; the rest were not sent")
            out["stopSequences"] = s.stop_sequences[:5]
        return out

    @staticmethod
    def _map_tools(tools: list[ToolDefinition]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        functions: list[dict[str, Any]] = []
        for t in tools:
            native = (t.provider_metadata or {}).get(META)
            if native:  # e.g. {"google_search": {}}
                out.append(dict(native))
                continue
            decl: dict[str, Any] = {"name": t.name, "description": t.description}
            if t.parameters.get("properties"):
                decl["parametersJsonSchema"] = t.parameters
            functions.append(decl)
        if functions:
            out.insert(0, {"functionDeclarations": functions})
        return out

    @staticmethod
    def _map_tool_choice(choice: Any) -> dict[str, Any] | None:
        if isinstance(choice, NamedToolChoice):
            return {"mode": "ANY", "allowedFunctionNames": [choice.tool_name]}
        return {"auto": None, "none": {"mode": "NONE"}, "required": {"mode": "ANY"}}.get(choice)

    def _map_contents(self, messages: list[Message]) -> tuple[list[str], list[dict[str, Any]]]:
        system: list[str] = []
        contents: list[dict[str, Any]] = []
        names: dict[str, str] = {}  # tool_call_id -> function name, for results that lack it
        for m in messages:
            if m.role == "system":
                system.append(m.text)
                continue
            role = "model" if m.role == "assistant" else "user"
            if role == "model":
                for p in m.content:
                    if isinstance(p, ToolCallPart):
                        names[p.tool_call_id] = p.tool_name
            parts = self._map_model_parts(m) if role == "model" else self._map_user_parts(m, names)
            if not parts:
                continue
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"].extend(parts)
            else:
                contents.append({"role": role, "parts": parts})
        return system, contents

    @staticmethod
    def _blob(p: ImagePart | FilePart) -> dict[str, Any]:
        mime = p.media_type or "image/png"
        if p.url:
            return {"fileData": {"mimeType": mime, "fileUri": p.url}}
        return {"inlineData": {"mimeType": mime, "data": p.data}}

    def _map_user_parts(self, m: Message, names: dict[str, str]) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        for p in m.content:
            if isinstance(p, TextPart):
                parts.append({"text": p.text})
            elif isinstance(p, ImagePart | FilePart):
                parts.append(self._blob(p))
            elif isinstance(p, ToolResultPart):
                result = p.result if isinstance(p.result, dict) else {"result": p.result}
                if p.is_error:
                    result = {"error": p.result_text()}
                response: dict[str, Any] = {"name": p.tool_name or names.get(p.tool_call_id, ""), "response": result}
                parts.append({"functionResponse": response})
        return parts

    @staticmethod
    def _map_model_parts(m: Message) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        pending_signature: str | None = None
        for p in m.content:
            if isinstance(p, ReasoningPart):
                if not p.text and p.signature:
                    pending_signature = p.signature  # belongs to the next part
                elif p.text:
                    part: dict[str, Any] = {"text": p.text, "thought": True}
                    if p.signature:
                        part["thoughtSignature"] = p.signature
                    parts.append(part)
            elif isinstance(p, TextPart):
                part = {"text": p.text}
                if pending_signature:
                    part["thoughtSignature"] = pending_signature
                    pending_signature = None
                parts.append(part)
            elif isinstance(p, ToolCallPart):
                meta = (p.provider_metadata or {}).get(META) or {}
                call: dict[str, Any] = {"name": p.tool_name, "args": p.args}
                if meta.get("id"):
                    call["id"] = meta["id"]
                part = {"functionCall": call}
                signature = meta.get("thought_signature") or pending_signature
                pending_signature = None
                if signature:
                    part["thoughtSignature"] = signature
                parts.append(part)
        if pending_signature:  # streamed signatures may arrive on a trailing empty text part
            parts.append({"text": "", "thoughtSignature": pending_signature})
        return parts

    # -- from the wire ------------------------------------------------------------------------------------------------
    def parse_response(self, status: int, headers: Mapping[str, str], body: bytes) -> ModelResponse:
        data = loads_json(body)
        if isinstance(data, list):  # a whole JSON-array stream read at once
            parser = self.stream_parser(ModelCall(self.model, []))
            for chunk in data:
                parser.feed_chunk(chunk)
            return parser.finish()
        if data.get("error"):
            raise self.parse_error(status, headers, body)
        parser = self.stream_parser(ModelCall(self.model, []))
        parser.feed_chunk(data)
        return parser.finish()

    @staticmethod
    def _parse_usage(u: Mapping[str, Any]) -> Usage:
        prompt = (u.get("promptTokenCount") or 0) + (u.get("toolUsePromptTokenCount") or 0)
        thoughts = u.get("thoughtsTokenCount") or 0
        output = (u.get("candidatesTokenCount") or 0) + thoughts
        return Usage(
            input_tokens=prompt,
            output_tokens=output,
            total_tokens=u.get("totalTokenCount") or prompt + output,
            reasoning_tokens=thoughts,
            cached_input_tokens=u.get("cachedContentTokenCount") or 0,
        )

    def stream_parser(self, call: ModelCall) -> GeminiStreamParser:
        return GeminiStreamParser(self)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        payload = _loads_or_text(body)
        if isinstance(payload, list) and payload:
            payload = payload[0]
        err = payload.get("error") if isinstance(payload, dict) else None
        if not isinstance(err, dict):
            return super().parse_error(status, headers, body)
        code = err.get("status") or (str(err["code"]) if err.get("code") else None)
        message = str(err.get("message") or f"HTTP {status}")
        reasons = {d.get("reason") for d in err.get("details") or () if isinstance(d, dict)}
        error = make_provider_error(
            status=status, message=message, code=code, provider=self.name, headers=headers, raw_body=payload
        )
        if reasons & _AUTH_REASONS or code == "UNAUTHENTICATED":
            error = AuthenticationError(
                message,
                status=status,
                code=code,
                provider=self.name,
                request_id=error.request_id,
                raw_body=payload,
                retry_after=error.retry_after,
            )
        delay = self.retry_delay(status, headers, body)
        if delay is not None:
            error.retry_after = delay
        return error

    def retry_delay(self, status: int, headers: Mapping[str, str], body: bytes) -> float | None:
        """The delay a 429's `google.rpc.RetryInfo` asks for (`"retryDelay": "37s"`), in seconds."""
        if status != 429:
            return None
        payload = _loads_or_text(body)
        if isinstance(payload, list) and payload:
            payload = payload[0]
        err = payload.get("error") if isinstance(payload, dict) else None
        for detail in (err or {}).get("details") or ():
            if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
                m = _DURATION.match(str(detail.get("retryDelay", "")))
                if m:
                    return float(m.group(1))
        return None

    # -- embeddings and models ----------------------------------------------------------------------------------------
    def build_embed_request(self, inputs: list[str], options: dict[str, Any]) -> HttpRequestSpec:
        """`:batchEmbedContents`. Options: `task_type`, `output_dimensionality`, `title`."""
        model = self._model_path(options.get("model") or self.model)
        extra: dict[str, Any] = {}
        warnings: list[str] = []
        for key, value in options.items():
            wire = {"task_type": "taskType", "output_dimensionality": "outputDimensionality", "title": "title"}.get(key)
            if wire:
                extra[wire] = value
            elif key != "model":
                warnings.append(f"embedding option {key!r} is not known to Gemini and was not sent")
        requests = [{"model": model, "content": {"parts": [{"text": text}]}, **extra} for text in inputs]
        return HttpRequestSpec(
            "POST",
            f"{self.base_url}/{model}:batchEmbedContents",
            self.headers(),
            {"requests": requests},
            warnings=warnings,
        )

    def parse_embed_response(self, status: int, headers: Mapping[str, str], body: bytes) -> EmbeddingResponse:
        if status >= 300:
            raise self.parse_error(status, headers, body)
        data = loads_json(body)
        return EmbeddingResponse(
            vectors=[list(map(float, e.get("values") or [])) for e in data.get("embeddings") or []],
            model_id=self.model,
        )

    def build_list_models_request(self) -> HttpRequestSpec:
        return HttpRequestSpec("GET", f"{self.base_url}/models?pageSize=1000", self.headers())

    def parse_list_models(self, status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
        if status >= 300:
            raise self.parse_error(status, headers, body)
        data = loads_json(body)
        return sorted(str(m["name"]).removeprefix("models/") for m in data.get("models") or [] if m.get("name"))


class GeminiStreamParser:
    """GenerateContentResponse chunks (SSE events or JSON-array elements) -> stream events."""

    def __init__(self, provider: GeminiProvider, step: int = 0) -> None:
        self.provider = provider
        self.acc = ResponseAccumulator(step)
        self.done = False
        self._calls = 0
        self._grounding: dict[str, Any] = {}
        self._usage: Mapping[str, Any] | None = None

    def feed(self, event: SSEEvent) -> list[StreamEvent]:
        return self.feed_data(event.data)

    def feed_data(self, data: str) -> list[StreamEvent]:
        """Consume one event's data (an SSE event or a JSON-array element)."""
        if not data or data == "[DONE]":
            return []
        chunk = loads_json(data)
        if chunk.__class__ is list:  # a whole array in one event
            return [e for c in chunk for e in self.feed_chunk(c)]
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: Mapping[str, Any]) -> list[StreamEvent]:
        if "error" in chunk:
            err = self.provider.parse_error(200, {}, json.dumps(chunk).encode())
            raise StreamError(
                err.message, code=err.code, provider=self.provider.name, raw_body=chunk, status=err.status
            )
        acc = self.acc
        resp = acc.response
        if resp.id is None:
            resp.id = chunk.get("responseId")
            resp.model_id = chunk.get("modelVersion")
        if "usageMetadata" in chunk:
            self._usage = chunk["usageMetadata"]  # cumulative: the last one counts, parsed once in finish()
        if "promptFeedback" in chunk and chunk["promptFeedback"].get("blockReason"):
            resp.finish_reason = "content-filter"
            resp.raw_finish_reason = chunk["promptFeedback"]["blockReason"]
        events: list[StreamEvent] = []
        for cand in chunk.get("candidates") or ():
            if cand.get("index", 0) != 0:
                continue
            content = cand.get("content")
            for part in (content.get("parts") or ()) if content else ():
                if len(part) == 1 and "text" in part:  # the hot path: a plain text delta
                    events += acc.text(part["text"])
                else:
                    events += self._part(part)
            if "groundingMetadata" in cand:
                events += self._sources(cand["groundingMetadata"])
            for cit in (cand.get("citationMetadata") or {}).get("citationSources") or ():
                if isinstance(cit, dict) and cit.get("uri"):  # recitation of a source: a source too
                    where = {k: cit[k] for k in ("startIndex", "endIndex") if k in cit}
                    events += acc.source_part(SourcePart(url=str(cit["uri"]), title=cit.get("title"), location=where
                                                         or None, provider_metadata={META: dict(cit)}))
            raw = cand.get("finishReason")
            if raw:
                resp.raw_finish_reason = raw
                resp.finish_reason = FINISH_REASONS.get(raw, "other")
                self.done = True
        return events

    def _part(self, part: Mapping[str, Any]) -> list[StreamEvent]:
        acc = self.acc
        signature = part.get("thoughtSignature")
        if "functionCall" in part:
            fc = part["functionCall"] or {}
            name = fc.get("name") or ""
            meta: dict[str, Any] = {}
            if signature:
                meta["thought_signature"] = signature
            if fc.get("id"):
                meta["id"] = fc["id"]
            call_id = fc.get("id") or synthesize_call_id(acc.response.id, self._calls, name)
            self._calls += 1
            acc.break_block()
            return acc.tool_call(
                ToolCallPart(
                    tool_call_id=call_id,
                    tool_name=name,
                    args=dict(fc.get("args") or {}),
                    provider_metadata={META: meta} if meta else None,
                )
            )
        text = part.get("text")
        if part.get("thought"):
            return acc.reasoning(text or "", signature=signature)
        if signature:
            # a signature on a text part: keep it (as reasoning with no text) right before that text
            acc.break_block()
            acc.reasoning_part(ReasoningPart(text="", signature=signature, provider_metadata={META: {"on": "text"}}))
            acc.break_block()
        if text:
            return acc.text(text)
        return []

    def _sources(self, grounding: Mapping[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for chunk in grounding.get("groundingChunks") or ():
            web = chunk.get("web") or chunk.get("retrievedContext") or chunk.get("maps") or {}
            if web.get("uri"):
                events += self.acc.source(web["uri"], web.get("title"))
            elif web.get("title") or web.get("text"):  # a retrieved document with no URL (e.g. File Search)
                events += self.acc.source_part(
                    SourcePart(source_type="document", title=web.get("title"), cited_text=web.get("text"),
                               provider_metadata={META: dict(web)})
                )
        queries = grounding.get("webSearchQueries")
        if queries:
            self._grounding["web_search_queries"] = queries
        return events

    def finish(self) -> ModelResponse:
        resp = self.acc.finish()
        if self._usage is not None:
            resp.usage = self.provider._parse_usage(self._usage)
        if resp.finish_reason == "stop" and resp.tool_calls:
            resp.finish_reason = "tool-calls"
        if self._grounding:
            resp.provider_metadata[META] = dict(self._grounding)
        return resp
