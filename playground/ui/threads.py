"""Threads and the Memory panel for PlaygroundSession (a mixin, so both front ends reach it through the session).

With memory on (`PlaygroundSession(memory=True)`, what the browser and notebook playgrounds do), every exchange is
saved to the current thread in the memory store (SQLite under PLAYGROUND_HOME, or PLAYGROUND_DATABASE_URL), the model
gets the thread's history from memory, and the conversation comes back from the thread after a page reload or a
server restart. Semantic recall and working memory are switched on per session (`set_memory_options`); the Memory
panel of each exchange shows what memory added: history, recalled messages (thread, score), working memory
before/after.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..memory import WORKING_MEMORY_TOOL, Memory, MemoryReport, memory_meta
from ..messages import Message, ReasoningPart, TextPart, ToolCallPart, ToolResultPart
from .render import Block, ExchangeView

if TYPE_CHECKING:
    from ..agent import Agent

_T = TypeVar("_T")

DEFAULT_RESOURCE = "playground"
SESSION_LAST_MESSAGES = 100
UNTITLED = "New thread"
WORKING_TEMPLATE = "# User\n- Name:\n- Location:\n- Occupation:\n- Interests:\n"


def default_session_memory() -> Memory:
    """The playground's memory: threads in the default store, the demo embedder for recall (offline)."""
    return Memory(last_messages=SESSION_LAST_MESSAGES, embedder="demo",
                  working_memory={"enabled": False, "template": WORKING_TEMPLATE})


def title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 48 else line[:47].rstrip() + "…"


def view_from_messages(messages: list[Message]) -> ExchangeView:
    """The chat blocks of a stored exchange's replies (text, reasoning, tool calls with their results)."""
    view = ExchangeView()
    results = {p.tool_call_id: p for m in messages for p in m.content if isinstance(p, ToolResultPart)}
    for step, m in enumerate(x for x in messages if x.role == "assistant"):
        for p in m.content:
            if isinstance(p, ReasoningPart) and p.text:
                view.blocks.append(Block("reasoning", text=p.text, step=step, done=True))
            elif isinstance(p, TextPart) and p.text:
                view.blocks.append(Block("text", text=p.text, step=step, done=True))
            elif isinstance(p, ToolCallPart):
                r = results.get(p.tool_call_id)
                view.blocks.append(Block(
                    "tool", step=step, done=True, tool_call_id=p.tool_call_id, tool_name=p.tool_name, args=p.args,
                    result=r.result if r is not None else None,
                    status=("error" if r.is_error else "done") if r is not None else "approval",
                ))
    view.finish_reason = "stop"
    return view


def memory_markdown(report: MemoryReport | None) -> str:
    """The Memory panel of one exchange."""
    if report is None:
        return "*Memory was not used in this exchange (switch memory on, or pick a thread).*"
    title = report.title or UNTITLED
    out = [f"**Thread** `{report.thread_id}` — {title} · resource `{report.resource_id or '-'}`"
           + (" · *read only*" if report.read_only else f" · {report.saved} message(s) saved")]
    out.append(f"\n**History loaded**: {len(report.history)} message(s) from this thread.")
    if report.recalled:
        out.append("\n**Recalled** (semantic recall):\n\n| thread | score | message |\n|---|---|---|")
        for r in report.recalled:
            score = f"{r.score:.3f}" if r.score is not None else "(neighbour)"
            text = " ".join(r.message.text.split())[:120].replace("|", "\\|") or "(tool call)"
            out.append(f"| `{r.thread_id}` | {score} | {r.message.role}: {text} |")
    else:
        out.append("\n**Recalled**: nothing (semantic recall off, or nothing similar stored).")
    if report.working_memory_before is not None or report.working_memory_after is not None:
        changed = report.working_memory_before != report.working_memory_after
        out.append(f"\n**Working memory before**:\n```\n{report.working_memory_before or ''}\n```")
        out.append(f"**Working memory after** ({'updated' if changed else 'unchanged'}):\n"
                   f"```\n{report.working_memory_after or ''}\n```")
    return "\n".join(out)


class ThreadsMixin:
    """Thread and memory actions of PlaygroundSession (see the module docstring)."""

    # provided by PlaygroundSession
    messages: list[Message]
    exchanges: list[Any]
    selected: int | None
    pending: Any
    notice: str | None
    busy: bool

    def _init_memory(self, memory: Memory | bool | None) -> None:
        self.memory: Memory | None = default_session_memory() if memory is True else memory or None
        self.thread_id: str | None = None
        self.resource_id = DEFAULT_RESOURCE
        self.memory_recall = False
        self.memory_working = False

    @property
    def memory_enabled(self) -> bool:
        return self.memory is not None

    # -- threads --------------------------------------------------------------------------------------------------
    def threads(self) -> list[dict[str, Any]]:
        """This resource's threads, newest first: {id, title, updated, current}."""
        if self.memory is None:
            return []
        return [
            {"id": t.id, "title": t.title or UNTITLED, "updated": t.updated_at, "current": t.id == self.thread_id}
            for t in self.memory.list_threads(resource=self.resource_id)
        ]

    def thread_choices(self) -> list[tuple[str, str]]:
        """(label, id) for a thread menu."""
        return [(f"{t['title']} · {time.strftime('%d %b %H:%M', time.localtime(t['updated']))}", t["id"])
                for t in self.threads()]

    def _require_memory(self, *, idle: bool = False) -> Memory:
        from ..errors import ConfigurationError

        if self.memory is None:
            raise ConfigurationError("Threads: memory is off in this session; start it with memory=True",
                                     field="memory")
        if idle and getattr(self, "busy", False):
            raise ConfigurationError("Threads: a reply is still streaming; wait for it or press Stop first",
                                     field="thread")
        return self.memory

    def new_thread(self) -> str:
        """Start a new, empty thread and make it current."""
        memory = self._require_memory(idle=True)
        self.reset()  # type: ignore[attr-defined]
        self.thread_id = f"thread_{secrets.token_hex(5)}"
        memory.create_thread(self.thread_id, resource=self.resource_id)
        return self.thread_id

    def switch_thread(self, thread_id: str) -> None:
        """Make a stored thread current: its conversation is loaded into the chat."""
        memory = self._require_memory(idle=True)
        info = memory.get_thread(thread_id)
        if info is None:
            from ..errors import ConfigurationError

            raise ConfigurationError(f"Threads: no thread {thread_id!r} (it may have been deleted)", field="thread")
        self.reset()  # type: ignore[attr-defined]
        self.thread_id = thread_id
        self._load_thread_messages()

    def _load_thread_messages(self) -> None:
        from .session import Exchange

        memory = self._require_memory()
        assert self.thread_id is not None
        stored = memory.messages(self.thread_id)
        self.messages = stored
        exchanges: list[Any] = []
        turn: list[Message] = []
        user_text = None
        for m in [*stored, Message.user("")]:
            if m.role == "user":
                if user_text is not None:
                    ex = Exchange(len(exchanges), user_text, {}, [], view=view_from_messages(turn), status="done",
                                  streamed=False)
                    exchanges.append(ex)
                user_text, turn = m.text, []
            else:
                turn.append(m)
        self.exchanges = exchanges

    def open_thread(self, thread_id: str | None) -> bool:
        """Reopen a thread by id if it exists (after a page reload); returns whether it was opened."""
        if self.memory is None or not thread_id or self.memory.get_thread(thread_id) is None:
            return False
        self.switch_thread(thread_id)
        return True

    def rename_thread(self, thread_id: str, title: str) -> None:
        memory = self._require_memory()
        title = " ".join((title or "").split())
        if not title:
            from ..errors import ConfigurationError

            raise ConfigurationError("Rename: type a title", field="title")
        memory.update_thread(thread_id, title=title)

    def delete_thread(self, thread_id: str) -> None:
        """Delete a thread and its messages; deleting the current one clears the chat."""
        memory = self._require_memory(idle=thread_id == self.thread_id)
        memory.delete_thread(thread_id)
        if thread_id == self.thread_id:
            self.reset()  # type: ignore[attr-defined]
            self.thread_id = None

    def set_memory_options(self, *, semantic_recall: bool | None = None, working_memory: bool | None = None) -> None:
        """Switch semantic recall (over this resource's threads) and working memory on or off for the next sends."""
        if semantic_recall is not None:
            self.memory_recall = bool(semantic_recall)
        if working_memory is not None:
            self.memory_working = bool(working_memory)

    # -- used by send / inspect -----------------------------------------------------------------------------------
    async def _memory_io(self, fn: Callable[[], _T]) -> _T:
        """`fn()` in a worker thread when memory is on (the thread's store and the recall embedder block), so one
        session's memory reads never stall the others served by the same event loop; this session counts as busy
        meanwhile (no second send, no thread switch). Without memory it is called here: nothing blocks."""
        if self.memory is None:
            return fn()
        import asyncio

        busy = getattr(self, "busy", False)
        self.busy = True
        try:
            return await asyncio.to_thread(fn)
        finally:
            self.busy = busy

    def _turn_messages(self, text: str) -> list[Message]:
        if self.memory is None:
            return [*self.messages, Message.user(text)]
        stored = self.thread_id is not None and bool(self.memory.store.messages(self.thread_id, 1))
        if self.messages and not stored:
            # a conversation not in the store yet (a loaded session file): sent, and saved to the new thread
            return [*(_unmarked(m) for m in self.messages), Message.user(text)]
        return [Message.user(text)]  # memory puts the thread's history in front

    def _memory_turn(self, agent: Agent, options: dict[str, Any], text: str) -> tuple[list[Message], dict[str, Any]]:
        """The turn's messages and options with memory; when the memory store cannot be read (an unwritable
        PLAYGROUND_HOME, a PostgreSQL that is down), memory is turned off for this page and said in the notice, and
        the turn goes on from the page's own history: a store that is down never stops a chat."""
        from ..errors import StorageError

        try:
            return self._turn_messages(text), self._with_memory(agent, options, text)
        except StorageError as exc:
            if self.memory is None:
                raise
            self.memory = None
            agent.memory = None
            self.thread_id = None
            self.notice = (f"Memory store unavailable: {exc} Threads and memory are off in this page; the chat goes "
                           "on from the page's own history.")
            return self._turn_messages(text), self._with_memory(agent, options, text)

    def _with_memory(self, agent: Agent, options: dict[str, Any], text: str) -> dict[str, Any]:
        """The call options with memory= for the current thread (its id is chosen now; it is stored on send)."""
        if self.memory is None:
            return options
        agent.memory = self.memory
        if self.thread_id is None:
            self.thread_id = f"thread_{secrets.token_hex(5)}"
        thread: dict[str, Any] = {"id": self.thread_id}
        info = self.memory.get_thread(self.thread_id)
        if info is None or info.title is None:
            thread["title"] = title_from(text)
        out = {**options, "memory": {"thread": thread, "resource": self.resource_id,
                                     "options": self._memory_switches()}}
        if self.memory_working:
            out["active_tools"] = [*options.get("active_tools", []), WORKING_MEMORY_TOOL]
        return out

    def _memory_switches(self) -> dict[str, Any]:
        return {
            "semantic_recall": {"top_k": 3, "message_range": 1, "scope": "resource"} if self.memory_recall else False,
            "working_memory": {"enabled": True, "scope": "resource", "template": WORKING_TEMPLATE}
            if self.memory_working else False,
        }

    def memory_panel(self, exchange: Any = None) -> str:
        """Markdown of the Memory panel for an exchange (default: the selected one)."""
        ex = exchange if exchange is not None else self.selected_exchange()  # type: ignore[attr-defined]
        if ex is None:
            return "*Send a message to see what memory adds.*" if self.memory is not None else \
                "*Memory is off in this session.*"
        report = getattr(ex.result, "memory", None) if ex.result is not None else None
        if isinstance(report, dict):  # a loaded session file keeps the report as data
            try:
                report = MemoryReport.model_validate(report)
            except ValueError:
                report = None
        return memory_markdown(report)


def _unmarked(message: Message) -> Message:
    """The message without memory's marker (so it is saved as part of this exchange)."""
    if memory_meta(message) is None:
        return message
    meta = {k: v for k, v in (message.provider_metadata or {}).items() if k != "playground_memory"}
    return message.model_copy(update={"provider_metadata": meta or None})

