"""Memory: threads that persist, semantic recall and working memory (Mastra's `memory` option, snake_case).

    from playground import Agent, Memory
    memory = Memory(last_messages=10, semantic_recall={"top_k": 3, "message_range": 2, "scope": "resource"},
                    working_memory={"enabled": True, "template": "# User\\n- Name:\\n- City:\\n"},
                    generate_title=True, embedder="demo")
    agent = Agent(name="assistant", model="demo", memory=memory)
    agent.generate("My name is Ada", memory={"thread": "t1", "resource": "user-1"})
    agent.generate("What is my name?", memory={"thread": "t1", "resource": "user-1"}).remembered_messages

Memory works on the messages BEFORE the request is built: the thread's last messages are put in front of the input,
recalled messages and the working-memory document go into system messages, so `request_preview()` and the raw request
show exactly what memory added. After the run (also when it suspends for approval, and again when it resumes, in any
process) the exchange is saved to the thread: user, assistant, tool calls and results. Each saved message has the id
`<run_id>:<index>`, so saving again is a no-op. Loaded messages carry `provider_metadata["playground_memory"]`
(kind, id, thread, score); providers never send message metadata.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from .errors import ConfigurationError
from .messages import Message, ToolCallPart, ToolResultPart
from .store.memory_base import MemoryStore, StoredMessage, ThreadInfo, open_memory_store, pack_vector
from .tools import Tool

if TYPE_CHECKING:
    from .result import GenerationResult
    from .runs import RunState

META = "playground_memory"
WORKING_MEMORY_TOOL = "update_working_memory"
TITLE_INSTRUCTIONS = (
    "Generate a short title for a conversation that starts with the user's message below. "
    "Reply with the title only: at most 6 words, no quotes, no punctuation at the end."
)
Scope = Literal["thread", "resource"]

__all__ = [
    "Memory",
    "MemoryCall",
    "MemoryOptions",
    "MemoryReport",
    "MemoryStore",
    "RecalledMessage",
    "SemanticRecallOptions",
    "ThreadInfo",
    "WorkingMemoryOptions",
    "parse_memory_option",
]


# -- options --------------------------------------------------------------------------------------------------------


class _Options(BaseModel):
    model_config = ConfigDict(defer_build=True, alias_generator=to_camel, populate_by_name=True, extra="forbid",
                              arbitrary_types_allowed=True)


class SemanticRecallOptions(_Options):
    """`top_k` similar messages, each with `message_range` neighbours, from the thread or the whole resource."""

    top_k: int = Field(3, ge=1, le=100)
    message_range: int | dict[str, int] = 2
    """Neighbours around each hit: a number for both sides, or {"before": n, "after": m}."""
    scope: Scope = "resource"
    threshold: float | None = Field(None, ge=-1.0, le=1.0)
    """Drop hits whose cosine similarity is below this."""

    def around(self) -> tuple[int, int]:
        if isinstance(self.message_range, int):
            return self.message_range, self.message_range
        return int(self.message_range.get("before", 0)), int(self.message_range.get("after", 0))


class WorkingMemoryOptions(_Options):
    """A document the model keeps up to date with the `update_working_memory` tool; injected into the system prompt.

    `template` is Markdown the model fills in; `schema` (a pydantic model or a JSON schema) makes it a JSON object
    whose updates are merged. Scope "resource" shares it across a user's threads, "thread" keeps one per thread.
    """

    enabled: bool = True
    scope: Scope = "resource"
    template: str | None = None
    schema_: Any = Field(None, alias="schema")

    @field_validator("schema_")
    @classmethod
    def _schema(cls, v: Any) -> Any:
        if v is None or isinstance(v, dict) or (isinstance(v, type) and issubclass(v, BaseModel)):
            return v
        raise ValueError("expected a pydantic model class or a JSON schema dict")

    def json_schema(self) -> dict[str, Any] | None:
        if self.schema_ is None:
            return None
        if isinstance(self.schema_, dict):
            return dict(self.schema_)
        return self.schema_.model_json_schema()

    def default_document(self) -> str:
        if self.schema_ is not None:
            return "{}"
        return self.template if self.template is not None else DEFAULT_TEMPLATE


DEFAULT_TEMPLATE = "# User information\n- Name:\n- Location:\n- Occupation:\n- Interests:\n- Preferences:\n"


class MemoryOptions(_Options):
    """What memory does in a call: last_messages, semantic_recall, working_memory, generate_title, read_only."""

    last_messages: int | Literal[False] = 10
    semantic_recall: SemanticRecallOptions | None = None
    working_memory: WorkingMemoryOptions | None = None
    generate_title: bool | dict[str, Any] = False
    """True: a title from the first exchange by the agent's model; or {"model": "...", "instructions": "..."}."""
    read_only: bool = False
    """Load history, recall and working memory, but save nothing and offer no update tool."""

    @field_validator("last_messages", mode="before")
    @classmethod
    def _last(cls, v: Any) -> Any:
        if v is None or v is False:
            return False
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError("expected a number of messages (0 or more) or False")
        return v

    @field_validator("semantic_recall", mode="before")
    @classmethod
    def _recall(cls, v: Any) -> Any:
        if v is True:
            return {}
        if v is None or v is False:
            return None
        return v

    @field_validator("working_memory", mode="before")
    @classmethod
    def _working(cls, v: Any) -> Any:
        if v is True:
            return {}
        if v is None or v is False:
            return None
        if isinstance(v, Mapping) and v.get("enabled") is False:
            return None
        return v

    def recall(self) -> SemanticRecallOptions | None:
        return self.semantic_recall

    def working(self) -> WorkingMemoryOptions | None:
        wm = self.working_memory
        return wm if wm is not None and wm.enabled else None


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _merged_options(base: MemoryOptions, override: Mapping[str, Any] | None, where: str) -> MemoryOptions:
    if not override:
        return base
    if not isinstance(override, Mapping):
        raise ConfigurationError(
            f"{where}: expected a dict of memory options (last_messages, semantic_recall, working_memory, "
            f"generate_title, read_only), got {type(override).__name__}",
            field="memory",
        )
    data = base.model_dump(by_alias=False, exclude_unset=False)
    data["working_memory"] = None
    if base.working_memory is not None:
        data["working_memory"] = {**base.working_memory.model_dump(by_alias=False),
                                  "schema_": base.working_memory.schema_}
    for raw_key, value in override.items():
        key = _snake(raw_key)
        if isinstance(value, Mapping) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **{_snake(k): v for k, v in value.items()}}
        else:
            data[key] = value
    return _validate_options(data, where)


def _validate_options(data: Mapping[str, Any], where: str) -> MemoryOptions:
    try:
        return MemoryOptions.model_validate(dict(data))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            parts = [p for p in err["loc"] if not str(p).startswith(("function-", "int", "dict"))]
            loc = ".".join(_snake(str(p)) for p in parts)
            if err["type"] == "extra_forbidden":
                problems.append(
                    f"{where}.{loc}: unknown memory option; known options are last_messages, semantic_recall "
                    "(top_k, message_range, scope, threshold), working_memory (enabled, scope, template, schema), "
                    "generate_title, read_only"
                )
            else:
                problems.append(f"{where}.{loc}: {err['msg'].removeprefix('Value error, ')}")
        raise ConfigurationError("; ".join(dict.fromkeys(problems)), field="memory") from None


@dataclass
class MemoryCall:
    """The memory of one call: which thread, whose, and the options in force (the agent's, overridden per call)."""

    thread_id: str
    resource_id: str | None
    title: str | None
    metadata: dict[str, Any] | None
    options: MemoryOptions


_THREAD_KEYS = ("thread", "thread_id", "threadId")
_RESOURCE_KEYS = ("resource", "resource_id", "resourceId")
_OPTION_KEYS = ("options", "memory_options", "memoryOptions")


def parse_memory_option(value: Any, base: MemoryOptions) -> MemoryCall:
    """Validate a call's `memory=`: {"thread": id | {"id", "title", "metadata"}, "resource": ..., "options": {...}}.

    The older seed's spelling (`thread_id`, `resource_id`, `memory_options`) and camelCase keys are accepted.
    """
    if isinstance(value, str):
        value = {"thread": value}
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"memory: expected a dict like {{'thread': 'chat-1', 'resource': 'user-1'}}, got {type(value).__name__}",
            field="memory",
        )
    known = set(_THREAD_KEYS + _RESOURCE_KEYS + _OPTION_KEYS)
    unknown = [k for k in value if k not in known]
    if unknown:
        raise ConfigurationError(
            f"memory.{unknown[0]}: unknown key; memory takes thread (an id or {{id, title, metadata}}), resource and "
            "options",
            field="memory",
        )
    thread = next((value[k] for k in _THREAD_KEYS if value.get(k) is not None), None)
    resource = next((value[k] for k in _RESOURCE_KEYS if value.get(k) is not None), None)
    options = next((value[k] for k in _OPTION_KEYS if value.get(k) is not None), None)
    title = metadata = None
    if isinstance(thread, Mapping):
        extra = [k for k in thread if k not in ("id", "title", "metadata")]
        if extra:
            raise ConfigurationError(f"memory.thread.{extra[0]}: unknown key; a thread takes id, title and metadata",
                                     field="memory")
        title, metadata, thread = thread.get("title"), thread.get("metadata"), thread.get("id")
    if not isinstance(thread, str) or not thread.strip():
        raise ConfigurationError(
            "memory.thread: required, a thread id such as 'chat-1' (or {'id': 'chat-1', 'title': ...})", field="memory"
        )
    if resource is not None and (not isinstance(resource, str) or not resource.strip()):
        raise ConfigurationError("memory.resource: expected a non-empty string such as 'user-1'", field="memory")
    if metadata is not None and not isinstance(metadata, Mapping):
        raise ConfigurationError("memory.thread.metadata: expected a dict", field="memory")
    if title is not None and not isinstance(title, str):
        raise ConfigurationError("memory.thread.title: expected a string", field="memory")
    merged = _merged_options(base, options, "memory.options")
    return MemoryCall(thread, resource, title, dict(metadata) if metadata is not None else None, merged)


def _storable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _storable(v) for k, v in value.items() if not callable(v) or isinstance(v, type)}
    if isinstance(value, type) and issubclass(value, BaseModel):
        return value.model_json_schema()
    return value


# -- reports --------------------------------------------------------------------------------------------------------


class RecalledMessage(BaseModel):
    """A message semantic recall found: from which thread, and its similarity (None for a neighbour of a hit)."""
    model_config = ConfigDict(defer_build=True)

    id: str
    thread_id: str
    score: float | None = None
    message: Message


class MemoryReport(BaseModel):
    """What memory did in one call (`result.memory`): the thread, what was loaded, and working memory before/after."""
    model_config = ConfigDict(defer_build=True)

    thread_id: str
    resource_id: str | None = None
    title: str | None = None
    history: list[Message] = Field(default_factory=list)
    recalled: list[RecalledMessage] = Field(default_factory=list)
    working_memory_before: str | None = None
    working_memory_after: str | None = None
    saved: int = 0
    read_only: bool = False


@dataclass
class Prepared:
    history: list[Message]
    recalled: list[RecalledMessage]
    system: list[Message]
    working_memory: str | None

    @property
    def remembered(self) -> list[Message]:
        """What memory added, in the order the model reads it: recalled (in a system message), then the history."""
        return [r.message for r in self.recalled] + self.history


def _mark(message: Message, **meta: Any) -> Message:
    message.provider_metadata = {**(message.provider_metadata or {}), META: meta}
    return message


def memory_meta(message: Message) -> dict[str, Any] | None:
    """The memory marker of a message loaded by memory (kind, id, thread_id, score), or None."""
    meta = (message.provider_metadata or {}).get(META)
    return meta if isinstance(meta, dict) else None


def _consistent(history: list[Message]) -> list[Message]:
    """History a provider accepts: no leading tool results, no tool calls without results (a run still suspended)."""
    answered = {p.tool_call_id for m in history for p in m.content if isinstance(p, ToolResultPart)}
    called = {p.tool_call_id for m in history for p in m.content if isinstance(p, ToolCallPart)}
    out: list[Message] = []
    for m in history:
        parts = [
            p for p in m.content
            if not (isinstance(p, ToolCallPart) and p.tool_call_id not in answered)
            and not (isinstance(p, ToolResultPart) and p.tool_call_id not in called)
        ]
        if not parts:
            continue
        if len(parts) != len(m.content):
            m = m.model_copy(update={"content": parts})
        out.append(m)
    while out and out[0].role == "tool":
        out.pop(0)
    return out


def _line(m: Message) -> str:
    text = m.text.strip()
    if not text:
        calls = [f"{p.tool_name}({json.dumps(p.args)})" for p in m.content if isinstance(p, ToolCallPart)]
        results = [f"{p.tool_name} -> {p.result_text()}" for p in m.content if isinstance(p, ToolResultPart)]
        text = "; ".join(calls + results)
    return f"{m.role}: {text}"


def _embedded_text(m: Message) -> str:
    """What semantic recall embeds of a saved message: its text; for a tool call or result without text, the call
    (`get_weather({"city": "Paris"})`) or the result (`get_weather -> sunny`), so recall finds what tools said."""
    if m.role in ("user", "assistant") and m.text.strip():
        return m.text
    if m.role in ("assistant", "tool") and any(isinstance(p, ToolCallPart | ToolResultPart) for p in m.content):
        return _line(m).split(": ", 1)[1].strip()
    return ""


# -- the memory -----------------------------------------------------------------------------------------------------

Embedder = str | Callable[[list[str]], Sequence[Sequence[float]]]


class Memory:
    """Threads that persist, semantic recall and working memory for an Agent (`Agent(memory=Memory(...))`).

    `storage` is a MemoryStore, a path or URL (`sqlite:///...`, `postgresql://...`); None reads
    PLAYGROUND_DATABASE_URL, else `<PLAYGROUND_HOME>/memory.sqlite3`. `embedder` is an embedding model string
    (`"demo"` works offline, `"openai:text-embedding-3-small"`) or a function from texts to vectors; semantic
    recall needs one.
    """

    def __init__(
        self,
        *,
        last_messages: int | Literal[False] | None = 10,
        semantic_recall: bool | Mapping[str, Any] | SemanticRecallOptions | None = False,
        working_memory: bool | Mapping[str, Any] | WorkingMemoryOptions | None = False,
        generate_title: bool | Mapping[str, Any] = False,
        read_only: bool = False,
        embedder: Embedder | None = None,
        storage: MemoryStore | str | os.PathLike[str] | None = None,
    ) -> None:
        def plain(v: Any) -> Any:
            return v.model_dump(by_alias=False) | ({"schema_": v.schema_} if isinstance(v, WorkingMemoryOptions)
                                                   else {}) if isinstance(v, BaseModel) else v

        self.options = _validate_options(
            {
                "last_messages": last_messages,
                "semantic_recall": plain(semantic_recall),
                "working_memory": plain(working_memory),
                "generate_title": generate_title,
                "read_only": read_only,
            },
            "Memory",
        )
        if self.options.semantic_recall is not None and embedder is None:
            raise ConfigurationError(
                "Memory: semantic_recall needs an embedder; pass embedder='demo' (offline) or an embedding model "
                "such as 'openai:text-embedding-3-small'",
                field="embedder",
            )
        if embedder is not None and not (isinstance(embedder, str) or callable(embedder)):
            raise ConfigurationError("Memory: embedder must be a model string or a function", field="embedder")
        if storage is not None and not isinstance(storage, str | os.PathLike | MemoryStore):
            raise ConfigurationError(
                f"Memory: storage must be a path, a URL (sqlite:///..., postgresql://...) or a MemoryStore, got "
                f"{type(storage).__name__}",
                field="storage",
            )
        self.embedder = embedder
        self._storage = storage
        self._store: MemoryStore | None = storage if isinstance(storage, MemoryStore) else None
        self._lock = threading.Lock()
        self._embed_agent: Any = None

    def __repr__(self) -> str:
        where = self._store if self._store is not None else (self._storage or "default")
        return f"Memory(last_messages={self.options.last_messages!r}, storage={where!r})"

    @property
    def store(self) -> MemoryStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_memory_store(self._storage)  # type: ignore[arg-type]
        return self._store

    # -- public reads and edits -----------------------------------------------------------------------------------
    def list_threads(self, resource: str | None = None) -> list[ThreadInfo]:
        """Threads newest first, of one resource or all."""
        return self.store.list_threads(resource)

    def get_thread(self, thread_id: str) -> ThreadInfo | None:
        return self.store.get_thread(thread_id)

    def create_thread(self, thread_id: str | None = None, *, resource: str | None = None, title: str | None = None,
                      metadata: Mapping[str, Any] | None = None) -> ThreadInfo:
        import secrets

        now = time.time()
        info = ThreadInfo(thread_id or f"thread_{secrets.token_hex(6)}", resource, title, dict(metadata or {}), now,
                          now)
        self.store.save_thread(info)
        return info

    def update_thread(self, thread_id: str, *, title: str | None = None,
                      metadata: Mapping[str, Any] | None = None) -> ThreadInfo:
        """Rename a thread or replace its metadata."""
        info = self.store.get_thread(thread_id)
        if info is None:
            raise ConfigurationError(f"thread {thread_id!r} does not exist; list_threads() shows the threads",
                                     field="thread")
        if title is not None:
            info.title = title
        if metadata is not None:
            info.metadata = dict(metadata)
        info.updated_at = time.time()
        self.store.save_thread(info)
        return info

    def delete_thread(self, thread_id: str) -> None:
        """Delete a thread, its messages, vectors and thread-scoped working memory."""
        self.store.delete_thread(thread_id)

    def messages(self, thread: str, *, last: int | None = None) -> list[Message]:
        """The thread's messages, oldest first (user, assistant, tool calls and results)."""
        return [self._message(s) for s in self.store.messages(thread, last)]

    def working_memory(self, *, thread: str | None = None, resource: str | None = None) -> str | None:
        """The working-memory document for a resource (scope "resource") or a thread; None when never written."""
        wm = self.options.working()
        scope: Scope = wm.scope if wm is not None else "resource"
        if scope == "resource" and resource:
            return self.store.get_working_memory("resource", resource)
        if thread:
            return self.store.get_working_memory("thread", thread)
        if resource:
            return self.store.get_working_memory("resource", resource)
        raise ConfigurationError("working_memory: pass thread= or resource=", field="thread")

    def set_working_memory(self, content: str, *, thread: str | None = None, resource: str | None = None) -> None:
        wm = self.options.working()
        scope: Scope = wm.scope if wm is not None else "resource"
        if scope == "resource" and resource:
            self.store.set_working_memory("resource", resource, content)
        elif thread:
            self.store.set_working_memory("thread", thread, content)
        else:
            raise ConfigurationError("set_working_memory: pass thread= or resource=", field="thread")

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors of `texts` from the embedder."""
        if not texts:
            return []
        if self.embedder is None:
            raise ConfigurationError("Memory: no embedder; pass embedder='demo' or an embedding model",
                                     field="embedder")
        if callable(self.embedder):
            return [list(map(float, v)) for v in self.embedder(texts)]
        if self._embed_agent is None:
            from .agent import Agent
            from .runs import InMemoryRunStore

            self._embed_agent = Agent(name="memory-embedder", model=self.embedder, storage=InMemoryRunStore())
        result = self._embed_agent.embed(texts).embed_now()
        return [list(e.embedding) for e in result.data]

    # -- used by the agent ----------------------------------------------------------------------------------------
    def call(self, value: Any) -> MemoryCall:
        return parse_memory_option(value, self.options)

    @staticmethod
    def _message(s: StoredMessage, **meta: Any) -> Message:
        m = Message.model_validate_json(s.message)
        if meta:
            _mark(m, id=s.id, thread_id=s.thread_id, **meta)
        return m

    def _scope_key(self, call: MemoryCall, scope: Scope) -> tuple[Scope, str]:
        if scope == "resource" and call.resource_id:
            return "resource", call.resource_id
        return "thread", call.thread_id

    def _resource_of(self, call: MemoryCall, thread: ThreadInfo | None) -> str | None:
        if thread is not None and thread.resource_id and call.resource_id and thread.resource_id != call.resource_id:
            raise ConfigurationError(
                f"memory.resource: thread {call.thread_id!r} belongs to resource {thread.resource_id!r}, not "
                f"{call.resource_id!r}; use another thread id or the owner's resource",
                field="memory",
            )
        if call.resource_id is None and thread is not None:
            call.resource_id = thread.resource_id
        return call.resource_id

    def prepare(self, call: MemoryCall, inputs: Sequence[Message],
                embed_cache: dict[str, list[float]] | None = None) -> Prepared:
        """History, recalled messages and the working-memory system message for a call (reads only).

        `embed_cache` (query text -> vector) is kept by a Generation, so showing its preview and then running it
        embeds the query once; the store is read each time, so what was saved meanwhile is found."""
        opts = call.options
        thread = self.store.get_thread(call.thread_id)
        self._resource_of(call, thread)
        history: list[Message] = []
        if thread is not None and opts.last_messages:
            rows = self.store.messages(call.thread_id, opts.last_messages)
            history = _consistent([self._message(s, kind="history") for s in rows])
        recalled = self._recall(call, inputs, {memory_meta(m)["id"] for m in history if memory_meta(m)},  # type: ignore[index]
                                embed_cache)
        system: list[Message] = []
        if recalled:
            lines = "\n".join(
                f"[thread {r.thread_id}] {_line(r.message)}" for r in recalled
            )
            system.append(_mark(Message.system(
                "Messages recalled from memory (semantic recall over earlier conversations; use them when they "
                f"help, they may be from other threads):\n<recalled_messages>\n{lines}\n</recalled_messages>"
            ), kind="recall-block"))
        document = None
        wm = opts.working()
        if wm is not None:
            scope, key = self._scope_key(call, wm.scope)
            stored = self.store.get_working_memory(scope, key)
            document = stored if stored is not None else wm.default_document()
            system.append(_mark(Message.system(self._working_memory_prompt(wm, document, opts.read_only)),
                                kind="working_memory", document=document, stored=stored is not None))
        return Prepared(history, recalled, system, document)

    def _recall(self, call: MemoryCall, inputs: Sequence[Message], skip: set[str],
                embed_cache: dict[str, list[float]] | None = None) -> list[RecalledMessage]:
        recall = call.options.recall()
        query = next((m.text for m in reversed(inputs) if m.role == "user" and m.text.strip()), "")
        if recall is None or not query or self.embedder is None:
            return []
        cached = embed_cache.get(query) if embed_cache is not None else None
        vector = cached if cached is not None else self.embed([query])[0]
        if embed_cache is not None:
            embed_cache[query] = vector
        if recall.scope == "resource" and call.resource_id:
            hits = self.store.search(vector, recall.top_k, resource_id=call.resource_id, exclude=skip)
        else:
            hits = self.store.search(vector, recall.top_k, thread_id=call.thread_id, exclude=skip)
        if recall.threshold is not None:
            hits = [h for h in hits if h.score >= recall.threshold]
        before, after = recall.around()
        found: dict[str, tuple[StoredMessage, float | None]] = {}
        for hit in hits:
            for n in self.store.neighbours(hit.message.thread_id, hit.message.seq, before, after):
                if n.id in skip:
                    continue
                score = hit.score if n.id == hit.message.id else None
                prev = found.get(n.id)
                if prev is None or (score is not None and (prev[1] is None or score > prev[1])):
                    found[n.id] = (n, score)
        ordered = sorted(found.values(), key=lambda t: t[0].seq)
        out = []
        for s, score in ordered:
            m = self._message(s, kind="recall", score=score)
            out.append(RecalledMessage(id=s.id, thread_id=s.thread_id, score=score, message=m))
        return out

    @staticmethod
    def _working_memory_prompt(wm: WorkingMemoryOptions, document: str, read_only: bool) -> str:
        schema = wm.json_schema()
        how = (
            "" if read_only else
            f"When the user tells you something worth remembering about themselves (name, location, preferences, "
            f"goals), call the {WORKING_MEMORY_TOOL} tool with the COMPLETE updated "
            + ("JSON object (fields you leave out are kept)" if schema is not None else
               "document, keeping the template's layout")
            + ". Do not mention the tool or this memory to the user. "
        )
        template = json.dumps(schema, indent=1) if schema is not None else (wm.template or DEFAULT_TEMPLATE)
        return (
            "WORKING MEMORY: what you know about the user, kept across the conversation. " + how
            + f"\n<working_memory_template>\n{template}\n</working_memory_template>"
            + f"\n<working_memory_data>\n{document}\n</working_memory_data>"
        )

    def tools_for(self, call: MemoryCall) -> list[Tool]:
        """The `update_working_memory` tool when working memory is on and the call may write."""
        wm = call.options.working()
        if wm is None or call.options.read_only:
            return []
        scope, key = self._scope_key(call, wm.scope)
        schema = wm.json_schema()
        store = self.store

        if schema is not None:
            parameters: dict[str, Any] = {
                "type": "object",
                "properties": {"memory": {**schema, "description": "The fields to update; others are kept."}},
                "required": ["memory"],
            }
        else:
            parameters = {
                "type": "object",
                "properties": {"memory": {"type": "string", "description": "The complete updated document."}},
                "required": ["memory"],
            }

        def update_working_memory(memory: Any) -> dict[str, Any]:
            if schema is not None:
                if isinstance(memory, str):
                    try:
                        memory = json.loads(memory)
                    except ValueError:
                        return {"success": False, "error": "memory must be a JSON object matching the schema"}
                if not isinstance(memory, dict):
                    return {"success": False, "error": "memory must be a JSON object matching the schema"}
                current = json.loads(store.get_working_memory(scope, key) or "{}")
                merged = {**current, **{k: v for k, v in memory.items() if v is not None}}
                if isinstance(wm.schema_, type) and issubclass(wm.schema_, BaseModel):
                    try:
                        merged = wm.schema_.model_validate(merged).model_dump(mode="json", exclude_none=True)
                    except ValidationError as exc:
                        return {"success": False, "error": f"does not match the schema: {exc.errors()[0]['msg']}"}
                text = json.dumps(merged, ensure_ascii=False)
            else:
                text = str(memory)
            store.set_working_memory(scope, key, text)
            return {"success": True, "working_memory": text}

        return [Tool(
            WORKING_MEMORY_TOOL,
            "Update the working memory: what you know about the user, kept across conversations.",
            parameters,
            update_working_memory,
        )]

    def finish(
        self, call: MemoryCall, result: GenerationResult, state: RunState,
        title: Callable[[str], str] | None = None,
    ) -> GenerationResult:
        """Save the exchange (unless read_only or blocked by a processor) and attach `result.memory`."""
        saved = 0
        if not call.options.read_only and result.finish_reason != "tripwire":
            saved = self.save(call, state.run_id, state.messages, title)
        report = self.report(call, state)
        report.saved = saved
        result.memory = report
        return result

    def report(self, call: MemoryCall, state: RunState) -> MemoryReport:
        history = [m for m in state.remembered if (memory_meta(m) or {}).get("kind") == "history"]
        recalled = []
        for m in state.remembered:
            meta = memory_meta(m) or {}
            if meta.get("kind") == "recall":
                recalled.append(RecalledMessage(id=meta.get("id", ""), thread_id=meta.get("thread_id", ""),
                                                score=meta.get("score"), message=m))
        before = next(((memory_meta(m) or {}).get("document") for m in state.system
                       if (memory_meta(m) or {}).get("kind") == "working_memory"), None)
        after = None
        wm = call.options.working()
        if wm is not None:
            after = self.store.get_working_memory(*self._scope_key(call, wm.scope))
            if after is None:
                after = before
        thread = self.store.get_thread(call.thread_id)
        return MemoryReport(
            thread_id=call.thread_id, resource_id=call.resource_id, title=thread.title if thread else call.title,
            history=history, recalled=recalled, working_memory_before=before, working_memory_after=after,
            read_only=call.options.read_only,
        )

    def save(self, call: MemoryCall, run_id: str, messages: Sequence[Message],
             title: Callable[[str], str] | None = None) -> int:
        """Save a run's own messages (not those memory loaded) to the thread; returns how many were new."""
        exchange = [m for m in messages if memory_meta(m) is None and m.role != "system"]
        now = time.time()
        thread = self.store.get_thread(call.thread_id)
        self._resource_of(call, thread)
        if thread is None:
            thread = ThreadInfo(call.thread_id, call.resource_id, call.title, dict(call.metadata or {}), now, now)
        else:
            if call.title is not None:
                thread.title = call.title
            if call.metadata is not None:
                thread.metadata = dict(call.metadata)
            if thread.resource_id is None:
                thread.resource_id = call.resource_id
            thread.updated_at = now
        ids = [f"{run_id}:{i:04d}" for i in range(len(exchange))]
        have = self.store.existing_ids(ids)
        new = [(i, m) for i, m in zip(ids, exchange, strict=True) if i not in have]
        vectors: dict[str, bytes] = {}
        if self.embedder is not None:  # every saved message gets a vector, so recall switched on later finds it
            texts = [(i, t) for i, m in new if (t := _embedded_text(m))]  # tool calls and results too (as Mastra)
            if texts:
                for (i, _), v in zip(texts, self.embed([t for _, t in texts]), strict=True):
                    vectors[i] = pack_vector(v)
        rows = [
            StoredMessage(id=i, thread_id=call.thread_id, resource_id=thread.resource_id, role=m.role,
                          message=m.model_dump_json(exclude_none=True), text=m.text, created_at=now + n * 1e-6,
                          embedding=vectors.get(i))
            for n, (i, m) in enumerate(new)
        ]
        if thread.title is None and call.options.generate_title:
            first = next((m.text for m in exchange if m.role == "user" and m.text.strip()), "")
            if first:
                thread.title = self._title(first, title)
        self.store.save_thread(thread)
        return self.store.add_messages(rows)

    def _title(self, first: str, title: Callable[[str], str] | None) -> str:
        text = ""
        spec = self.options.generate_title
        try:
            if isinstance(spec, Mapping) and spec.get("model"):
                from .agent import Agent
                from .runs import InMemoryRunStore

                agent = Agent(name="title", model=spec["model"], storage=InMemoryRunStore(),
                              instructions=spec.get("instructions") or TITLE_INSTRUCTIONS)
                text = agent.generate(first, max_steps=1).text
            elif title is not None:
                text = title(first)
        except Exception:  # a failed title must not lose the exchange: fall back to the first words
            text = ""
        text = text.strip().splitlines()[0].strip(" \"'.") if text.strip() else ""
        if not text:
            text = first.strip().splitlines()[0]
        return text[:80]


_LEGACY = {"thread_id": "thread", "threadId": "thread", "resource_id": "resource", "resourceId": "resource",
           "memory_options": "options", "memoryOptions": "options"}


def fold_legacy_memory_options(options: dict[str, Any]) -> dict[str, Any]:
    """The older seed's top-level thread_id / resource_id / memory_options (or camelCase) folded into memory=."""
    if not any(k in options for k in _LEGACY):
        return options
    out = {k: v for k, v in options.items() if k not in _LEGACY}
    memory = dict(out.get("memory") or {}) if isinstance(out.get("memory"), Mapping) else {}
    if isinstance(out.get("memory"), str):
        memory = {"thread": out["memory"]}
    for key, target in _LEGACY.items():
        if key in options and options[key] is not None:
            memory.setdefault(target, options[key])
    out["memory"] = memory
    return out


def storable_memory_option(value: Any) -> Any:
    """A call's `memory=` as JSON-able data (a pydantic schema becomes its JSON schema), kept with suspended runs."""
    if isinstance(value, str):
        return {"thread": value}
    return _storable(value)
