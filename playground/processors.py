"""Processors: small classes that see (and may change or stop) what goes into and comes out of a run.

Hooks, named as in Mastra's reference (snake_case), each optional:

    input processors (`input_processors=[...]`)
        process_input(messages, ctx)        once per run, before the first step; return the new messages or None
        process_input_step(messages, ctx)   before every step, on exactly what is sent (system messages first);
                                            return the messages for this step or None
    output processors (`output_processors=[...]`)
        process_output_stream(chunk, ctx)   every chunk the model streams (text, reasoning, tool-call and source
                                            deltas, also for generate_now); return the chunk, a changed one, or None
                                            to drop it. Called inline on the hot path: keep it synchronous and quick
        process_output_step(step, ctx)      after each model step, before its tools run
        process_output_result(result, ctx)  on the GenerationResult; return a changed result or None

Any hook may call `ctx.abort(reason)`: the run ends with finish_reason "tripwire" and `result.tripwire` says why and
which processor stopped it. In `process_output_step`, `ctx.abort(reason, retry=True)` instead asks the model to try the
step again with the reason as feedback, up to `max_processor_retries` (2 by default) times; then it trips.

Hooks may be `async def` (except process_output_stream); the async driver awaits them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

from .errors import PlaygroundError
from .events import ReasoningDeltaEvent, TextDeltaEvent
from .messages import Message, ReasoningPart, TextPart, ToolResultPart

HOOKS_IN = ("process_input", "process_input_step")
HOOKS_OUT = ("process_output_stream", "process_output_step", "process_output_result")


class TripwireError(PlaygroundError):
    """Raised by `ProcessorContext.abort`; the loop turns it into a `tripwire` finish (or a retry)."""

    def __init__(
        self, reason: str, *, processor_id: str | None = None, retry: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.processor_id = processor_id
        self.retry = retry
        self.metadata = metadata

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "processor_id": self.processor_id, "metadata": self.metadata}


@dataclass
class ProcessorContext:
    """What a hook knows about the run, and `abort()`."""

    run_id: str
    processor_id: str
    step_number: int = 0
    retry_count: int = 0
    context: Any = None
    state: dict[str, Any] = field(default_factory=dict)
    """Scratch space kept for this processor for the whole run (e.g. tokens counted so far)."""
    request_context: dict[str, Any] = field(default_factory=dict)
    """The call's `request_context=` (who asked, tenant, feature flags ...)."""

    def abort(self, reason: str, *, retry: bool = False, metadata: dict[str, Any] | None = None) -> NoReturn:
        """Stop the run (a tripwire), or with `retry=True` (in process_output_step) ask for the step again."""
        raise TripwireError(reason, processor_id=self.processor_id, retry=retry, metadata=metadata)


class Processor:
    """Base class for processors: override the hooks you need. `id` names it in `result.tripwire`."""

    id: str | None = None

    @property
    def processor_id(self) -> str:
        return self.id or type(self).__name__


def processor_id(processor: Any) -> str:
    return getattr(processor, "id", None) or type(processor).__name__


def hook(processor: Any, name: str) -> Callable[..., Any] | None:
    """The processor's hook `name`, or None when it does not define one."""
    fn = getattr(processor, name, None)
    return fn if callable(fn) else None


def check_processors(processors: Any, field_name: str) -> list[Any]:
    """Validate a processors option: objects with at least one hook of the right kind."""
    from .errors import ConfigurationError

    if processors is None:
        return []
    if not isinstance(processors, list | tuple):
        raise ConfigurationError(
            f"{field_name}: expected a list of processors, got {type(processors).__name__} {processors!r:.40}",
            field=field_name,
        )
    items = list(processors)
    names = HOOKS_IN if field_name == "input_processors" else HOOKS_OUT
    for i, p in enumerate(items):
        if not any(hook(p, n) for n in names):
            raise ConfigurationError(
                f"{field_name}[{i}]: {p!r:.60} has none of the hooks {', '.join(names)}; subclass "
                "playground.Processor and define one",
                field=field_name,
            )
    return items


def _map_text(messages: list[Message], fn: Callable[[str], str]) -> list[Message]:
    """Copies of `messages` with `fn` applied to every text, reasoning and string tool result."""
    out = []
    for m in messages:
        parts: list[Any] = []
        for p in m.content:
            if isinstance(p, TextPart) or (isinstance(p, ReasoningPart) and p.text):
                p = p.model_copy(update={"text": fn(p.text)})
            elif isinstance(p, ToolResultPart) and isinstance(p.result, str):
                p = p.model_copy(update={"result": fn(p.result)})
            parts.append(p)
        out.append(m.model_copy(update={"content": parts}))
    return out


# ----------------------------------------------------------------------------------------------------------------
# Built-in: secrets and PII

_PATTERNS: dict[str, re.Pattern[str]] = {
    "api_key": re.compile(
        r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}|gh[pousr]_[A-Za-z0-9]{20,}"
        r"|xox[abprs]-[A-Za-z0-9-]{10,})"
    ),
    "bearer": re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{8,}=*"),
    "email": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    "phone": re.compile(r"(?<![\w+])\+?\d[\d\s().-]{5,}\d(?![\w])"),
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")


def _is_phone(text: str) -> bool:
    """A phone-shaped match that is not a date or a bare short number: 7-15 digits (10+ when unseparated)."""
    digits = sum(c.isdigit() for c in text)
    if _DATE.fullmatch(text.strip()):
        return False
    if text.isdigit():
        return 10 <= digits <= 15
    return 7 <= digits <= 15


_LABELS = {"api_key": "[API_KEY]", "bearer": "Bearer [TOKEN]", "email": "[EMAIL]", "phone": "[PHONE]"}

PIIKind = Literal["api_key", "bearer", "email", "phone"]


class PIIRedactor(Processor):
    """Redacts emails, phone numbers and secrets (sk-... and AKIA... keys, Bearer tokens, GitHub/Slack/Google keys).

    As an input processor it redacts the conversation before the model sees it; as an output processor it redacts
    streamed chunks and the result (text, steps, messages). `strategy="block"` trips the run instead of redacting.
    Chunks are redacted one by one: a value split across two chunks of a real stream can slip through the stream
    hook, but never the result hook.
    """

    id = "pii-redactor"

    def __init__(
        self, kinds: list[PIIKind] | None = None, *, strategy: Literal["redact", "block"] = "redact",
        replacement: str | None = None,
    ) -> None:
        unknown = [k for k in kinds or [] if k not in _PATTERNS]
        if unknown:
            from .errors import ConfigurationError

            raise ConfigurationError(f"PIIRedactor kinds: unknown {unknown}; use {sorted(_PATTERNS)}", field="kinds")
        self.kinds: list[str] = list(kinds or _PATTERNS)
        self.strategy = strategy
        self.replacement = replacement

    def find(self, text: str) -> list[tuple[str, str]]:
        """(kind, value) of everything this redactor would replace in `text`."""
        found = []
        for kind in self.kinds:
            for m in _PATTERNS[kind].finditer(text):
                if kind != "phone" or _is_phone(m.group(0)):
                    found.append((kind, m.group(0)))
        return found

    def redact(self, text: str) -> str:
        for kind in self.kinds:
            label = self.replacement or _LABELS[kind]
            if kind == "phone":
                text = _PATTERNS[kind].sub(
                    lambda m, label=label: label if _is_phone(m.group(0)) else m.group(0), text
                )
            else:
                text = _PATTERNS[kind].sub(label, text)
        return text

    def _guard(self, text: str, ctx: ProcessorContext) -> str:
        if self.strategy == "block":
            found = self.find(text)
            if found:
                kinds = sorted({k for k, _ in found})
                ctx.abort(f"blocked: the text contains {', '.join(kinds)}", metadata={"kinds": kinds})
            return text
        return self.redact(text)

    def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        return _map_text(messages, lambda t: self._guard(t, ctx))

    def process_output_stream(self, chunk: Any, ctx: ProcessorContext) -> Any:
        if isinstance(chunk, TextDeltaEvent | ReasoningDeltaEvent):
            chunk.text = self._guard(chunk.text, ctx)
        return chunk

    def process_output_result(self, result: Any, ctx: ProcessorContext) -> Any:
        result.text = self._guard(result.text, ctx)
        for step in result.steps:
            step.text = self.redact(step.text)
        result.messages = _map_text(result.messages, self.redact)
        result.response.messages = _map_text(result.response.messages, self.redact)
        result.reasoning = [r.model_copy(update={"text": self.redact(r.text)}) for r in result.reasoning]
        return result


# ----------------------------------------------------------------------------------------------------------------
# Built-in: a token budget

_TOKEN = re.compile(r"\w+|[^\w\s]")


def approx_tokens(text: str) -> int:
    """A quick, model-independent token estimate: words and punctuation marks."""
    return len(_TOKEN.findall(text))


class TokenLimiter(Processor):
    """Keeps a run within a token budget (counted with `count`, by default `approx_tokens`).

    As an input processor: when the conversation is over `max_tokens`, drops the oldest non-system messages until it
    fits (`strategy="truncate"`, the last message is always kept) or trips (`strategy="abort"`). As an output
    processor: stops the streamed text at the budget and cuts `result.text` to it, or trips.
    """

    id = "token-limiter"

    def __init__(
        self, max_tokens: int, *, strategy: Literal["truncate", "abort"] = "truncate",
        count: Callable[[str], int] = approx_tokens,
    ) -> None:
        if max_tokens <= 0:
            from .errors import ConfigurationError

            raise ConfigurationError(f"TokenLimiter max_tokens: expected > 0, got {max_tokens}", field="max_tokens")
        self.max_tokens = max_tokens
        self.strategy = strategy
        self.count = count

    def _size(self, messages: list[Message]) -> int:
        total = 0
        for m in messages:
            for p in m.content:
                if isinstance(p, TextPart | ReasoningPart):
                    total += self.count(p.text)
                elif isinstance(p, ToolResultPart):
                    total += self.count(p.result_text())
                else:
                    total += self.count(str(getattr(p, "args", "")))
        return total

    def process_input(self, messages: list[Message], ctx: ProcessorContext) -> list[Message]:
        size = self._size(messages)
        if size <= self.max_tokens:
            return messages
        if self.strategy == "abort":
            ctx.abort(f"the input has about {size} tokens, over the budget of {self.max_tokens}",
                      metadata={"tokens": size, "max_tokens": self.max_tokens})
        kept = list(messages)
        while self._size(kept) > self.max_tokens:
            drop = next((i for i, m in enumerate(kept[:-1]) if m.role != "system"), None)
            if drop is None:
                break
            del kept[drop]
            while kept and kept[0].role == "tool":  # a tool result without its call is rejected by providers
                del kept[0]
        return kept

    def process_output_stream(self, chunk: Any, ctx: ProcessorContext) -> Any:
        if not isinstance(chunk, TextDeltaEvent):
            return chunk
        used = ctx.state.get("tokens", 0)
        n = self.count(chunk.text)
        if used + n <= self.max_tokens:
            ctx.state["tokens"] = used + n
            return chunk
        if self.strategy == "abort":
            ctx.abort(f"the answer went over the budget of {self.max_tokens} tokens",
                      metadata={"max_tokens": self.max_tokens})
        ctx.state["tokens"] = self.max_tokens
        ctx.state["cut"] = True
        return None

    def truncate(self, text: str) -> str:
        """`text` cut after the first `max_tokens` tokens (whitespace kept as written)."""
        if self.count(text) <= self.max_tokens:
            return text
        pieces = re.findall(r"\S+\s*", text)
        out, used = [], 0
        for piece in pieces:
            n = self.count(piece)
            if used + n > self.max_tokens:
                break
            out.append(piece)
            used += n
        return "".join(out).rstrip()

    def process_output_result(self, result: Any, ctx: ProcessorContext) -> Any:
        size = self.count(result.text)
        if size <= self.max_tokens:
            if ctx.state.get("cut"):  # the stream hook already cut it (and that is what result.text holds)
                result.text = result.text.rstrip()
                result.warnings.append(f"the answer was cut to {self.max_tokens} tokens by the token limiter")
            return result
        if self.strategy == "abort":
            ctx.abort(f"the answer has about {size} tokens, over the budget of {self.max_tokens}",
                      metadata={"tokens": size, "max_tokens": self.max_tokens})
        result.text = self.truncate(result.text)
        result.warnings.append(f"the answer was cut to {self.max_tokens} tokens by the token limiter")
        return result


class StreamRecord:
    """Wraps a run's chunk filter (the process_output_stream hooks) and keeps the text and reasoning that passed it,
    so `result.text` and `result.reasoning` are what the hooks made of the stream, not the model's raw words."""

    __slots__ = ("keep", "reasoning", "text")

    def __init__(self, keep: Callable[[Any], Any]) -> None:
        self.keep = keep
        self.text: list[str] = []
        self.reasoning: list[str] = []

    def __call__(self, chunk: Any) -> Any:
        kept = self.keep(chunk)
        if isinstance(kept, TextDeltaEvent):
            self.text.append(kept.text)
        elif isinstance(kept, ReasoningDeltaEvent):
            self.reasoning.append(kept.text)
        return kept

    def apply(self, step: Any, message: Message | None) -> None:
        """Put the kept text and reasoning on the step (and the kept text in the assistant message it produced)."""
        text = "".join(self.text)
        if text != step.text:
            step.text = text
            if message is not None:
                parts: list[Any] = []
                for p in message.content:
                    if isinstance(p, TextPart):
                        if not any(isinstance(q, TextPart) for q in parts) and text:
                            parts.append(TextPart(text=text))
                    else:
                        parts.append(p)
                message.content = parts
        reasoning = "".join(self.reasoning)
        if reasoning != "".join(r.text for r in step.reasoning):
            step.reasoning = [ReasoningPart(text=reasoning)] if reasoning else []
