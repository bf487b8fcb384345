"""OpenAI-compatible servers (Ollama, vLLM, LM Studio, llama.cpp, OpenRouter ...): Chat Completions plus their quirks.

- Reasoning arrives as `delta.reasoning` (Ollama, OpenRouter) or `delta.reasoning_content` (llama.cpp, vLLM, DeepSeek)
  (handled by the Chat Completions parser), or inline as `<think>...</think>` in the content, split off here, also
  when a tag is cut across stream chunks.
- Streams may end without `data: [DONE]` (llama-box); `content: ""` and `content: null` both mean no text.
- Many servers ignore `tool_choice`; saying so is better than pretending it was honoured.
- `max_tokens`, not `max_completion_tokens`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ..events import StreamEvent
from ..messages import ReasoningPart, TextPart
from .base import (
    Capabilities,
    EmbeddingResponse,
    HttpRequestSpec,
    ModelCall,
    ModelResponse,
    ResponseAccumulator,
    loads_json,
)
from .openai_chat import OpenAIChatProvider, OpenAIChatStreamParser

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
_THINK_BLOCK = re.compile(r"<think>(.*?)(?:</think>|$)", re.S)


class ThinkTagSplitter:
    """Splits streamed text into ("text" | "reasoning", piece) runs at `<think>` / `</think>`.

    A tag may be cut across chunks (`"<thi"` + `"nk>"`): a possible tag prefix at the end of a chunk is held back until
    the next chunk decides it. Whitespace right after `</think>` is dropped (models put a blank line there).
    """

    __slots__ = ("_inside", "_pending", "_strip")

    def __init__(self) -> None:
        self._inside = False
        self._pending = ""
        self._strip = False

    def feed(self, chunk: str) -> list[tuple[str, str]]:
        text = self._pending + chunk if self._pending else chunk
        self._pending = ""
        if "<" not in text:  # fast path: no tag can start here
            return self._emit(text)
        out: list[tuple[str, str]] = []
        while text:
            tag = CLOSE_TAG if self._inside else OPEN_TAG
            idx = text.find(tag)
            if idx >= 0:
                out += self._emit(text[:idx])
                text = text[idx + len(tag) :]
                self._inside = not self._inside
                self._strip = not self._inside
                continue
            keep = _partial_suffix(text, tag)
            out += self._emit(text[: len(text) - keep])
            self._pending = text[len(text) - keep :]
            break
        return out

    def flush(self) -> list[tuple[str, str]]:
        text, self._pending = self._pending, ""
        return self._emit(text)

    def _emit(self, text: str) -> list[tuple[str, str]]:
        if self._strip and not self._inside:
            text = text.lstrip()
            if not text:
                return []
            self._strip = False
        if not text:
            return []
        return [("reasoning" if self._inside else "text", text)]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a proper prefix of `tag` (0 when none)."""
    start = text.rfind("<", max(0, len(text) - len(tag) + 1))
    if start < 0:
        return 0
    tail = text[start:]
    return len(tail) if tag.startswith(tail) else 0


def split_think_tags(content: str) -> tuple[str, str]:
    """(reasoning, text) from a whole content string with `<think>` blocks."""
    if OPEN_TAG not in content:
        return "", content
    reasoning = "".join(m.group(1) for m in _THINK_BLOCK.finditer(content))
    text = _THINK_BLOCK.sub("", content).lstrip()
    return reasoning.strip(), text


class _ThinkAccumulator(ResponseAccumulator):
    """Routes text deltas through a ThinkTagSplitter so inline `<think>` blocks become reasoning."""

    __slots__ = ("splitter",)

    def __init__(self, step: int = 0) -> None:
        super().__init__(step)
        self.splitter = ThinkTagSplitter()

    def text(self, delta: str) -> list[StreamEvent]:
        splitter = self.splitter
        # fast path: no tag in sight, nothing held back (private slots read directly: this runs once per chunk)
        if "<" not in delta and not splitter._pending and not splitter._strip:
            return (
                ResponseAccumulator.reasoning(self, delta)
                if splitter._inside
                else ResponseAccumulator.text(self, delta)
            )
        events: list[StreamEvent] = []
        for kind, piece in splitter.feed(delta):
            events += super().reasoning(piece) if kind == "reasoning" else super().text(piece)
        return events

    def flush(self) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        for kind, piece in self.splitter.flush():
            events += super().reasoning(piece) if kind == "reasoning" else super().text(piece)
        return events


class CompatibleStreamParser(OpenAIChatStreamParser):
    """The Chat Completions parser with `<think>` splitting; `finish()` works whether or not `[DONE]` came."""

    def __init__(self, provider: OpenAICompatibleProvider, step: int = 0) -> None:
        super().__init__(provider, step)
        if provider.split_think_tags:
            self.acc = _ThinkAccumulator(step)

    def finish(self) -> ModelResponse:
        if isinstance(self.acc, _ThinkAccumulator):
            self.acc.flush()
        resp = super().finish()
        if resp.finish_reason == "unknown" and resp.parts:
            # the stream ended without a finish_reason (some proxies): infer it, raw_finish_reason stays None
            resp.finish_reason = "tool-calls" if resp.tool_calls else "stop"
        return resp


class OpenAICompatibleProvider(OpenAIChatProvider):
    """Any server that speaks Chat Completions. Needs `base_url`; the key is optional."""

    name: ClassVar[str] = "openai-compatible"
    default_base_url: ClassVar[str] = "http://127.0.0.1:8000/v1"
    capabilities = Capabilities(
        reasoning=True, structured_output="native", images=True, files=False, embeddings=True, sources=False
    )
    env_key: ClassVar[tuple[str, ...]] = ("OPENAI_COMPATIBLE_API_KEY",)
    max_tokens_field: str = "max_tokens"
    drop_sampling_for_reasoning_models = False
    #: split `<think>...</think>` out of the content into reasoning
    split_think_tags: bool = True
    #: whether the server honours tool_choice ("required" / a named tool); unknown servers: maybe not
    honours_tool_choice: bool | None = None

    def build_request(self, call: ModelCall) -> HttpRequestSpec:
        spec = super().build_request(call)
        body = spec.json
        choice = body.get("tool_choice") if isinstance(body, dict) else None
        if choice == "none" and self.honours_tool_choice is False:
            # the server would ignore "none" and still call tools: not offering them is how "none" is kept
            del body["tool_choice"]
            body.pop("tools", None)
        elif choice is not None and choice != "auto":
            if self.honours_tool_choice is False:
                del body["tool_choice"]
                spec.warnings.append(f"tool_choice {choice!r} was not sent: {self.name} ignores it")
            elif self.honours_tool_choice is None:
                spec.warnings.append(
                    f"tool_choice {choice!r} was sent, but some OpenAI-compatible servers ignore it; check the response"
                )
        return spec

    def _parse_completion(self, data: dict[str, Any]) -> ModelResponse:
        resp = super()._parse_completion(data)
        if not self.split_think_tags:
            return resp
        parts: list[Any] = []
        for p in resp.parts:
            if isinstance(p, TextPart) and OPEN_TAG in p.text:
                reasoning, text = split_think_tags(p.text)
                if reasoning:
                    parts.append(ReasoningPart(text=reasoning))
                if text:
                    parts.append(TextPart(text=text))
            else:
                parts.append(p)
        resp.parts = parts
        return resp

    def stream_parser(self, call: ModelCall) -> CompatibleStreamParser:
        return CompatibleStreamParser(self)


def ollama_host(value: str | None = None) -> str:
    """The Ollama server root from a value or OLLAMA_HOST, read the way Ollama's own clients read it.

    `gpu-box` -> `http://gpu-box:11434`; `0.0.0.0:11434` (a bind address) -> `http://127.0.0.1:11434`;
    with an explicit scheme the scheme's default port applies (`https://ollama.example.com`); a trailing `/v1` is cut.
    """
    host = (value or os.environ.get("OLLAMA_HOST") or "127.0.0.1:11434").strip().rstrip("/")
    host = host.removesuffix("/v1").rstrip("/")
    scheme, sep, rest = host.partition("://")
    if not sep:
        scheme, rest = "http", host
        hostname = rest.split("/", 1)[0]
        if ":" not in hostname.rsplit("]", 1)[-1]:
            rest = rest.replace(hostname, f"{hostname}:11434", 1)
    if rest.startswith("0.0.0.0"):
        rest = "127.0.0.1" + rest[len("0.0.0.0") :]  # a bind address, not one to connect to
    return f"{scheme}://{rest}"


class OllamaProvider(OpenAICompatibleProvider):
    """A local Ollama server through its OpenAI-compatible API (`/v1`); embeddings through `/api/embed`."""

    name: ClassVar[str] = "ollama"
    default_base_url: ClassVar[str] = "http://127.0.0.1:11434/v1"
    env_key: ClassVar[tuple[str, ...]] = ()
    capabilities = Capabilities(
        tool_choice_required=False,
        reasoning=True,
        structured_output="native",
        images=True,
        files=False,
        embeddings=True,
        sources=False,
    )
    honours_tool_choice = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.host = ollama_host(base_url)
        super().__init__(model, api_key=api_key, base_url=f"{self.host}/v1", headers=headers)

    def build_embed_request(self, inputs: list[str], options: dict[str, Any]) -> HttpRequestSpec:
        """`POST /api/embed` (Ollama's native endpoint). Options: `truncate`, `dimensions`, `keep_alive`."""
        body: dict[str, Any] = {"model": options.get("model") or self.model, "input": list(inputs)}
        warnings: list[str] = []
        for key, value in options.items():
            if key in ("truncate", "dimensions", "keep_alive", "options"):
                body[key] = value
            elif key != "model":
                warnings.append(f"embedding option {key!r} is not known to Ollama and was not sent")
        return HttpRequestSpec("POST", f"{self.host}/api/embed", self.headers(), body, warnings=warnings)

    def parse_embed_response(self, status: int, headers: Mapping[str, str], body: bytes) -> EmbeddingResponse:
        if status >= 300:
            raise self.parse_error(status, headers, body)
        from ..result import Usage

        data = loads_json(body)
        prompt = data.get("prompt_eval_count") or 0
        return EmbeddingResponse(
            vectors=[list(map(float, v)) for v in data.get("embeddings") or []],
            usage=Usage(input_tokens=prompt, total_tokens=prompt),
            model_id=data.get("model"),
        )
