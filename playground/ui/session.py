"""PlaygroundSession: the UI-agnostic state and actions of one person's playground. Both front ends (Gradio in
`gradio_app.py`, ipywidgets in `widgets.py`) only lay out widgets and forward events here, so they stay at parity and
the behaviour is tested without a browser. Nothing here imports a UI toolkit.

    from playground.ui.session import PlaygroundSession, load_agents
    session = PlaygroundSession(load_agents("agents"))
    session.set_agent("support"); session.set_settings({"temperature": 0.3})
    preview = session.inspect("refund order 42")          # the exact request, key masked, nothing sent
    async for event in session.send("refund order 42"):   # typed events from playground.events
        ...                                                # re-render: session.exchanges[-1].view / render.py
    if session.pending:                                     # a tool call waits for a person
        async for event in session.approve(session.pending.tool_call_id, args='{"order_id": "42"}'):
            ...
    session.export_code(); data = session.save(); session.load(data)

State (read it, change it through the setters):
    agents             name -> template Agent (from `load_agents`, plus BLANK_AGENT)
    agent_name, provider (a registry prefix: "demo", "openai", ..., "openai-compatible"), model, base_url
    instructions, settings (ModelSettings; unset fields are not sent), active_tools, tool_choice,
    require_approval, max_steps, timeout
    messages           the conversation the model sees next (list[Message])
    exchanges          every exchange: user text, request preview, live view (render.ExchangeView), result, error
    selected           index of the exchange the panels show (None: the last)
    pending            PendingApproval | None (the tool call a suspended run waits on)
    busy               a reply is streaming
    notice             the last problem, as a sentence for an inline message (None when all is well)
    load_errors        agents files that failed to import, with the reason

Setters: set_agent, set_provider, set_model, set_base_url, set_api_key, set_instructions, set_settings,
set_active_tools, set_tool_choice, set_require_approval, set_max_steps; `configure(**fields)` applies many at once and
returns the problems (each naming the field) instead of raising.
Actions: inspect(text) -> dict; send(text), approve(call_id, args=None), decline(call_id, reason) -> async iterators of
StreamEvent (failures arrive as ErrorEvent and in `notice`, never as exceptions); stop(); reset(); export_code();
save() -> str (JSON, no secrets); load(data); list_models(); compare(text, columns) -> list[CompareOutcome].
refresh_pending() -> bool: the waiting call was decided, expired or deleted elsewhere (`playground approve`, another
server on the same run store) and the page now shows that; runs waiting for approval live in the configured run store
(shared_runs.py), so `playground runs` lists them.
Setters and `inspect` raise `ConfigurationError` (a ValueError) whose message names the problem.

The API key lives only in this object (one per browser session): it is never part of `save()`, a view, an error or a
log line; every text that leaves the session passes through the transport's masking with the key as a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..agent import Agent
from ..errors import ApprovalError, ConfigurationError, ConnectionFailedError, PlaygroundError, StorageError
from ..events import ErrorEvent, FinishEvent, StepFinishEvent, StepStartEvent, StreamEvent
from ..generation import Generation, StreamRun
from ..memory import Memory
from ..messages import Message
from ..pricing import Cost, total_cost
from ..providers.registry import PROVIDERS, available_providers, env_api_key, resolve_provider
from ..providers.transport import RetryPolicy, Transport, mask_text, mask_value
from ..result import GenerationResult, Usage
from ..runs import InMemoryRunStore, RunState, RunStore
from ..settings import ModelSettings
from ..tracing import dynamic_instructions, local_spans, playground_tracer_provider
from .attachments_session import AttachmentsMixin
from .evals_session import EvalMixin
from .failures import content_type_hint
from .history import complete_tool_results, keep_in_thread, resumed_messages, step_messages
from .jobs_session import JobsMixin
from .mcp_tools import MCPMixin
from .prompts_session import PromptsMixin
from .render import Block, ExchangeView, _jsonable
from .report_session import ReportMixin
from .shared_runs import SharedRunsMixin
from .threads import ThreadsMixin

BLANK_AGENT = "(blank agent)"
COMPATIBLE = "openai-compatible"
SERVER_BASE_URL_ENV = "OPENAI_COMPATIBLE_BASE_URL"
"""The OpenAI-compatible server the operator configured: $OPENAI_COMPATIBLE_API_KEY is sent only there."""
SAVE_VERSION = 1
MAX_STEPS_LIMIT = 50
STOP_GRACE_SECONDS = 0.5  # after Stop, a run that has not ended by itself is cancelled
DEFAULT_MODELS: dict[str, str] = {
    "demo": "demo-1",
    "openai": "gpt-4.1-mini",
    "openai-chat": "gpt-4.1-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "ollama": "llama3.2",
    COMPATIBLE: "",
}
SETTING_FIELDS: tuple[str, ...] = tuple(ModelSettings.model_fields)
INT_SETTINGS = frozenset({"max_output_tokens", "top_k", "seed", "max_retries"})


# ----------------------------------------------------------------------------------------------------------------
# Agents found on disk


PREFERRED_AGENTS = ("support", "weather")


def load_agents(agents_dir: str | Path | None) -> tuple[dict[str, Agent], list[str]]:
    """Import each `agents_dir/*.py` and take its module-level `agent`. Returns (name -> Agent, problems).

    A file that fails to import, or has no `agent`, is reported (file name and reason) and skipped.
    """
    agents: dict[str, Agent] = {}
    problems: list[str] = []
    if agents_dir is None:
        return agents, problems
    folder = Path(agents_dir)
    if not folder.is_dir():
        return agents, [f"agents folder {str(folder)!r} does not exist"]
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module_name = f"playground_agents_{path.stem}"
        try:
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:
                raise ImportError("not a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except Exception as exc:  # an example with a bug must not stop the playground
            sys.modules.pop(module_name, None)
            problems.append(f"{path.name}: {type(exc).__name__}: {exc}")
            continue
        agent = getattr(module, "agent", None)
        from ..actions import ActionAgent

        if isinstance(agent, type) and issubclass(agent, ActionAgent):
            agent = agent.as_agent()  # an action agent: its actions are offered as a form (prompts_session.py)
        if not isinstance(agent, Agent):
            problems.append(f"{path.name}: defines no `agent = Agent(...)`")
            continue
        name = agent.name if agent.name not in agents else f"{agent.name} ({path.stem})"
        agents[name] = agent
        setattr(agent, "_playground_source", str(path))  # noqa: B010 - for the code export
    return agents, problems


def provider_choices() -> list[tuple[str, str]]:
    """(label, prefix) for the Provider menu: the demo, each provider whose key is set, and OpenAI-compatible."""
    out = [(e.label, e.prefix) for e in available_providers()]
    if not any(p == COMPATIBLE for _, p in out):
        out.append((PROVIDERS[COMPATIBLE].label, COMPATIBLE))
    return out


# ----------------------------------------------------------------------------------------------------------------
# Records


@dataclass
class PendingApproval:
    """A tool call a suspended run waits on."""

    run_id: str
    tool_call_id: str
    tool_name: str
    args: dict[str, Any]
    exchange: int
    schema: dict[str, Any] = field(default_factory=dict)


@dataclass
class Exchange:
    """One message sent and everything that came of it."""

    index: int
    user_text: str
    config: dict[str, Any]
    history: list[dict[str, Any]]
    preview: dict[str, Any] | None = None
    view: ExchangeView = field(default_factory=ExchangeView)
    result: GenerationResult | None = None
    error: str | None = None
    status: str = "running"  # running | done | suspended | error | stopped
    started: float = field(default_factory=time.time)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    """The person's approval decisions, in order: {tool, approved, args (as approved), reason} (for the code export)."""
    streamed: bool = True
    attempts: list[dict[str, Any]] = field(default_factory=list)
    """Every HTTP attempt to a real provider: {attempt, method, url, status, headers} (masked; retries included)."""
    failure: dict[str, Any] | None = None
    """How the exchange failed: {error, message, status, retry_after, body} (masked), for the raw panels."""
    memory: dict[str, Any] | None = None
    """The call's memory= (thread, resource, options) when memory was on, for the code export (threads.py)."""

    @property
    def steps(self) -> list[Any]:
        return list(self.result.steps) if self.result is not None else []


@dataclass
class CompareColumn:
    """One column of a comparison: a provider/model and settings that override the session's."""

    provider: str = "demo"
    model: str = ""
    base_url: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    version: int | None = None
    """A prompt version of the agent (its instructions and settings) to run in this column."""


@dataclass
class CompareOutcome:
    label: str
    model: str
    text: str = ""
    usage: Usage = field(default_factory=Usage)
    latency_ms: float | None = None
    finish_reason: str = ""
    error: str | None = None
    request: dict[str, Any] | None = None
    cost: Cost | None = None
    """What this column's answer cost (None: the model's price is not known)."""


# ----------------------------------------------------------------------------------------------------------------
# The session


class PlaygroundSession(AttachmentsMixin, ThreadsMixin, MCPMixin, EvalMixin, PromptsMixin, ReportMixin, JobsMixin,
                        SharedRunsMixin):
    """All state and actions of one person's playground (see the module docstring for the API).

    `memory=True` (the front ends) saves every exchange to a thread and adds thread actions (threads.py).
    `run_store`: where runs waiting for approval are kept (default: the configured store, shared with
    `playground runs` / `approve` and other servers; shared_runs.py)."""

    def __init__(
        self,
        agents: Mapping[str, Agent] | tuple[dict[str, Agent], list[str]] | None = None,
        *,
        agent: str | None = None,
        timeout: float | None = 60.0,
        memory: Memory | bool | None = None,
        run_store: RunStore | None = None,
    ) -> None:
        problems: list[str] = []
        if isinstance(agents, tuple):
            agents, problems = agents
        self.agents: dict[str, Agent] = dict(agents or {})
        self.agents[BLANK_AGENT] = Agent(name="blank", instructions="", model="demo")
        self.load_errors: list[str] = list(problems)
        self.timeout = timeout
        self.agent_name = BLANK_AGENT
        self.provider = "demo"
        self.model = DEFAULT_MODELS["demo"]
        self.base_url: str | None = None
        self._api_key: str | None = None
        self._key_owner: tuple[str, str | None] | None = None  # the provider and host the typed key belongs to
        self.key_notice: str | None = None  # why a typed key was just cleared (the front ends clear their field)
        self._cleared_key: str | None = None
        self.instructions = ""
        self.settings = ModelSettings.model_validate({})
        self.active_tools: list[str] = []
        self.tool_choice: str = "auto"
        self.require_approval = False
        self.max_steps = 5
        self.messages: list[Message] = []
        self.exchanges: list[Exchange] = []
        self.selected: int | None = None
        self.pending: PendingApproval | None = None
        self.busy = False
        self.notice: str | None = None
        self._run: StreamRun | None = None
        self._init_runs(run_store)  # the shared run store (shared_runs.py)
        self._agent_cache: tuple[tuple[Any, ...], Agent] | None = None
        self._stop_hook: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self._http: tuple[asyncio.AbstractEventLoop, Any] | None = None  # the async client that counts attempts
        self.wait_started: float | None = None  # monotonic time a request started waiting for its first byte
        self.attempt = 0  # the attempt the waiting request is on (real providers)
        self._live_attempts: list[dict[str, Any]] | None = None  # the running exchange's attempt log
        self._agent_own: tuple[str, str, str | None] | None = None  # the agent's own provider, model, base URL
        self._init_memory(memory)  # threads (threads.py)
        self._init_mcp()  # MCP servers added by the person (mcp_tools.py)
        self._init_evals()  # Evaluate: a dataset over configurations, graded (evals_session.py)
        self._init_prompts()  # variables, prompt versions, actions (prompts_session.py)
        self._init_attachments()  # images and files for the next message (attachments_session.py)
        self._init_jobs()  # Send later and the Jobs panel (jobs_session.py)
        named = [n for n in self.agents if n != BLANK_AGENT]
        # open on the agent that shows the most (tools and an approval), else the first one found
        preferred = next((n for n in PREFERRED_AGENTS if n in named), named[0] if named else BLANK_AGENT)
        first = agent or preferred
        self.set_agent(first)

    def __deepcopy__(self, memo: dict[int, Any]) -> PlaygroundSession:
        # Gradio deep-copies a gr.State's initial value; the value comes fresh from a factory per browser session,
        # and a session owns live clients and locks, so the copy is the session itself.
        return self

    def __repr__(self) -> str:
        return (
            f"PlaygroundSession(agent={self.agent_name!r}, model={self.model_string!r}, "
            f"exchanges={len(self.exchanges)}, key={'set' if self._api_key else 'unset'})"
        )

    # -- derived --------------------------------------------------------------------------------------------------
    @property
    def template(self) -> Agent:
        return self.agents[self.agent_name]

    @property
    def model_string(self) -> str:
        return f"{self.provider}:{self.model}" if self.model else self.provider

    @property
    def has_api_key(self) -> bool:
        return bool(self._api_key)

    @property
    def simulated(self) -> bool:
        return self.provider == "demo"

    @property
    def secrets(self) -> list[str]:
        return [self._api_key] if self._api_key else []

    def mask(self, text: str) -> str:
        """Any text with this session's key masked (also keys in URL query strings)."""
        return mask_text(text, self.secrets)

    def tool_schemas(self) -> list[dict[str, Any]]:
        """Every tool of the chosen agent as {name, description, parameters, requires_approval}."""
        return [
            {**t.schema(), "requires_approval": t.requires_approval is not False} for t in self.all_tools().values()
        ]

    def selected_exchange(self) -> Exchange | None:
        if not self.exchanges:
            return None
        if self.selected is None or not 0 <= self.selected < len(self.exchanges):
            return self.exchanges[-1]
        return self.exchanges[self.selected]

    def select(self, index: int | None) -> Exchange | None:
        """Choose the exchange the panels show (None or out of range: the last)."""
        self.selected = index if index is not None and 0 <= index < len(self.exchanges) else None
        return self.selected_exchange()

    def config(self) -> dict[str, Any]:
        """The current choices as a JSON-friendly dict (no key)."""
        return {
            "agent": self.agent_name,
            "provider": self.provider,
            "model": self.model,
            "base_url": self.mask(self.base_url) if self.base_url else None,
            "instructions": self.instructions,
            "settings": self.settings.set_fields(),
            "active_tools": list(self.active_tools),
            "tool_choice": self.tool_choice,
            "require_approval": self.require_approval,
            "max_steps": self.max_steps,
            "output_schema": self.output_schema(),
        }

    # -- setters --------------------------------------------------------------------------------------------------
    def set_agent(self, name: str) -> None:
        """Choose an agent: its instructions, tools (all active) and settings become the session's."""
        if name not in self.agents:
            raise ConfigurationError(
                f"Agent: no agent named {name!r}; choose one of {', '.join(self.agents)}", field="agent"
            )
        self.agent_name = name
        template = self.agents[name]
        instructions = template.instructions
        if callable(instructions):  # dynamic instructions: what they say with no request_context
            instructions = dynamic_instructions(instructions, {})
        self.instructions = instructions if isinstance(instructions, str) else "\n\n".join(instructions)
        self.settings = template.model_settings
        self.active_tools = list(self.all_tools())
        self.tool_choice = "auto"
        self.require_approval = bool(template.default_options.get("require_tool_approval", False) is True)
        self.max_steps = int(template.default_options.get("max_steps", 5))
        self._use_agent_model(template)

    def _use_agent_model(self, template: Agent) -> None:
        """Choose the agent's own model, base URL and key: `Playground(agent)` is the agent as given. When that model
        cannot be used as it is (no key anywhere, no base URL, unknown provider), it stays chosen and `notice` says why,
        so the person can type a key or pick another provider; nothing silently falls back to the demo model."""
        self._agent_own = None
        prefix, _, name = template.model_string.partition(":")
        if prefix == "demo":
            return
        if prefix not in PROVIDERS:
            self.notice = (f"Agent {template.name!r}: its model {template.model_string!r} names no provider the "
                           f"playground knows ({', '.join(PROVIDERS)}); choose a provider and model.")
            return
        entry = PROVIDERS[prefix]
        instance = None if isinstance(template.model, str) else template.model  # a provider made by the person
        own_url = getattr(instance, "base_url", None) if instance is not None else getattr(template, "_base_url", None)
        self.provider, self.model = prefix, name or DEFAULT_MODELS.get(prefix, "")
        self.base_url = own_url.rstrip("/") if isinstance(own_url, str) and own_url else None
        self._agent_own = (self.provider, self.model, self.base_url)
        own_key = getattr(instance if instance is not None else template, "api_key" if instance is not None
                          else "_api_key", None)
        if entry.key_required and not own_key and not self._api_key and not env_api_key(entry):
            self.notice = (f"Agent {template.name!r} uses {template.model_string!r}, which needs an API key: the agent "
                           f"has none and ${entry.env_keys[0]} is not set. Type a key in API key (kept for this "
                           "session only), or choose the Demo provider to try the agent offline.")
        elif entry.needs_base_url and not self.base_url and not (entry.env_base_url and
                                                                  os.environ.get(entry.env_base_url)):
            self.notice = (f"Agent {template.name!r} uses {template.model_string!r}, an OpenAI-compatible server, but "
                           "has no base_url: type the server's address in Base URL, e.g. http://127.0.0.1:8000/v1.")

    def _agent_model_chosen(self, provider: str, model: str, url: str | None) -> bool:
        """The chosen provider, model and base URL are the agent's own (so its key, headers and clients apply)."""
        return self._agent_own is not None and self._agent_own == (provider, model, url)

    @property
    def uses_agent_key(self) -> bool:
        """The agent's own api_key is what the next request sends (no key typed in this session)."""
        return (not self._api_key and bool(getattr(self.template, "_api_key", None))
                and self._agent_model_chosen(self.provider, self.model, self.base_url))

    def set_provider(self, provider: str) -> None:
        """Choose a provider (a registry prefix) and its default model; the base URL is kept for OpenAI-compatible."""
        if provider not in PROVIDERS:
            raise ConfigurationError(
                f"Provider: unknown provider {provider!r}; choose one of {', '.join(PROVIDERS)}", field="provider"
            )
        self.provider = provider
        self.model = DEFAULT_MODELS.get(provider, "")
        if provider == COMPATIBLE and not self.base_url and os.environ.get(SERVER_BASE_URL_ENV):
            self.base_url = os.environ[SERVER_BASE_URL_ENV].strip().rstrip("/") or None  # the operator's server
        self._keep_key_with_host()

    def set_model(self, model: str | None) -> None:
        model = (model or "").strip()
        if not model:
            raise ConfigurationError("Model: type a model name, e.g. 'gpt-4.1-mini'", field="model")
        if any(c.isspace() for c in model):
            raise ConfigurationError(f"Model: {model!r} contains spaces; model names have none", field="model")
        self.model = model

    def set_base_url(self, url: str | None) -> None:
        url = (url or "").strip()
        if url and not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"Base URL: {self.mask(url)!r} must start with http:// or https://, e.g. http://127.0.0.1:8000/v1",
                field="base_url",
            )
        self.base_url = url.rstrip("/") or None
        self._keep_key_with_host()

    def set_api_key(self, key: str | None) -> None:
        """Keep a key for this session only (empty: use the environment's). It is never shown or saved.

        The key belongs to the provider and host chosen when it is typed: choosing another provider or base URL
        clears it (see `key_host`), so it is never sent anywhere else."""
        key = (key or "").strip()
        self._api_key = key or None
        self._key_owner = self._host_of(self.provider, self.base_url) if key else None

    def set_instructions(self, text: str | None) -> None:
        self.instructions = text or ""

    def set_settings(self, values: Mapping[str, Any]) -> None:
        """Replace the model settings. None or "" leaves a setting unset (and unset is not sent).

        Numbers may be given as text (form fields); `stop_sequences` takes a list or a string with one sequence per
        line. Raises ConfigurationError naming the bad setting; nothing changes then.
        """
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name not in SETTING_FIELDS:
                raise ConfigurationError(
                    f"Model settings: unknown setting {name!r}; known: {', '.join(SETTING_FIELDS)}", field=name
                )
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if name == "stop_sequences" and isinstance(value, str):
                value = [s for s in value.splitlines() if s]
                if not value:
                    continue
            if name != "stop_sequences" and isinstance(value, str):  # text fields of a form
                try:
                    value = float(value.strip())
                except ValueError:
                    raise ConfigurationError(
                        f"Model settings: {_label(name)} must be a number, got {value.strip()!r}", field=name
                    ) from None
            if name in INT_SETTINGS and isinstance(value, float):
                if value != int(value):
                    raise ConfigurationError(f"Model settings: {_label(name)} must be a whole number, got {value}",
                                             field=name)
                value = int(value)
            clean[name] = value
        try:
            self.settings = ModelSettings(**clean)
        except ValueError as exc:
            raise ConfigurationError(_settings_problem(exc), field="model_settings") from None

    def _merged_settings(self, overrides: Mapping[str, Any]) -> ModelSettings:
        """The session's settings with `overrides` on top (same parsing and messages as set_settings)."""
        saved = self.settings
        try:
            self.set_settings(overrides)
            return saved.merged(self.settings)
        finally:
            self.settings = saved

    def set_active_tools(self, names: Sequence[str]) -> None:
        every = self.all_tools()
        unknown = [n for n in names if n not in every]
        if unknown:
            raise ConfigurationError(
                f"Tools: the {self.agent_name!r} agent has no tool {', '.join(map(repr, unknown))}", field="tools"
            )
        self.active_tools = [n for n in every if n in names]
        if self.tool_choice not in ("auto", "none", "required") and self.tool_choice not in self.active_tools:
            self.tool_choice = "auto"

    def set_tool_choice(self, choice: str | None) -> None:
        """'auto', 'none', 'required', or the name of one active tool."""
        choice = choice or "auto"
        if choice not in ("auto", "none", "required") and choice not in self.active_tools:
            raise ConfigurationError(
                f"Tool choice: {choice!r} is not an active tool; use auto, none, required or one of: "
                f"{', '.join(self.active_tools) or '(no active tools)'}",
                field="tool_choice",
            )
        self.tool_choice = choice

    def set_require_approval(self, value: bool) -> None:
        self.require_approval = bool(value)

    def set_max_steps(self, value: Any) -> None:
        try:
            steps = int(value)
            if steps != float(value):
                raise ValueError
        except (TypeError, ValueError):
            raise ConfigurationError(f"Max steps: {value!r} is not a whole number", field="max_steps") from None
        if not 1 <= steps <= MAX_STEPS_LIMIT:
            raise ConfigurationError(
                f"Max steps: {steps} is out of range; use 1 to {MAX_STEPS_LIMIT}", field="max_steps"
            )
        self.max_steps = steps

    # -- keys stay with their provider and host (issue 17 item 2, issue 9) ------------------------------------------
    @staticmethod
    def _host_of(provider: str, url: str | None) -> tuple[str, str | None]:
        """What a key belongs to: the provider, and the base URL where the provider uses one."""
        uses_url = provider in PROVIDERS and (PROVIDERS[provider].needs_base_url or provider == "ollama")
        return (provider, (url or "").rstrip("/") or None if uses_url else None)

    def _keep_key_with_host(self) -> None:
        """After a change of provider or base URL: a typed key for another provider or host is cleared."""
        if self._api_key is None or self._key_owner == self._host_of(self.provider, self.base_url):
            return
        old_provider, old_url = self._key_owner or ("?", None)
        label = PROVIDERS[old_provider].label if old_provider in PROVIDERS else old_provider
        where = f" at {self.mask(old_url)}" if old_url else ""
        self._cleared_key = self._api_key
        self._api_key = None
        self._key_owner = None
        self._agent_cache = None
        self.key_notice = (f"API key: the key typed for {label}{where} was cleared; a key is sent only to the provider "
                           "and host it was typed for. Type the key for this one.")

    def _stale_key(self, value: Any) -> bool:
        cleared = self._cleared_key
        return bool(cleared) and isinstance(value, str) and value.strip() == cleared and self._api_key is None

    def server_key_allowed(self, provider: str | None = None, url: str | None = None) -> bool:
        """Whether the operator's key from the environment may be sent to this provider and host. For
        OpenAI-compatible servers only when the base URL is the one in $OPENAI_COMPATIBLE_BASE_URL; other providers
        use their fixed host (or the operator's $..._BASE_URL), which a visitor cannot change."""
        provider = provider or self.provider
        if provider != COMPATIBLE:
            return True
        url = url if url is not None else self.base_url
        configured = (os.environ.get(SERVER_BASE_URL_ENV) or "").strip().rstrip("/")
        return bool(configured) and (url or "").rstrip("/") == configured

    def set_api_key_for(self, key: str | None, provider: str, url: str | None) -> bool:
        """Set a key typed while `provider` and `url` were shown. A front end's late event (the key field left after
        another provider was chosen) must not bind the key to the new host: then nothing changes and False."""
        if self._host_of(provider, (url or "").strip() or None) != self._host_of(self.provider, self.base_url):
            return False
        self.set_api_key(key)
        return True

    def key_for(self, provider: str, url: str | None) -> tuple[str | None, bool]:
        """(the typed key if it belongs to this provider and host, whether the environment's key may be used)."""
        typed = self._api_key if self._key_owner == self._host_of(provider, url) else None
        return typed, typed is None and self.server_key_allowed(provider, url)

    def _model_for(self, provider: str, model: str, url: str | None, key: str | None) -> Any:
        """The model for an Agent: its model string, or (when the environment's key must not be sent to this host)
        a provider instance made with exactly `key`, so the registry's fallback to the environment cannot apply."""
        model_string = f"{provider}:{model}" if model else provider
        if key is not None or self.server_key_allowed(provider, url) or provider not in PROVIDERS:
            return model_string
        entry = PROVIDERS[provider]
        cls = getattr(importlib.import_module(entry.module), entry.cls)
        return cls(model, api_key=None, base_url=url)

    def configure(self, **fields: Any) -> list[str]:
        """Apply many choices at once (keys: agent, provider, model, base_url, api_key, instructions, settings,
        active_tools, tool_choice, require_approval, max_steps). Each bad value is skipped and its problem returned.
        """
        order = ("agent", "provider", "base_url", "api_key", "model", "instructions", "settings", "active_tools",
                 "tool_choice", "require_approval", "max_steps", "timeout")
        setters: dict[str, Any] = {
            "agent": self.set_agent, "provider": self.set_provider, "model": self.set_model,
            "base_url": self.set_base_url, "api_key": self.set_api_key, "instructions": self.set_instructions,
            "settings": self.set_settings, "active_tools": self.set_active_tools, "tool_choice": self.set_tool_choice,
            "require_approval": self.set_require_approval, "max_steps": self.set_max_steps,
            "timeout": self.set_timeout,
        }
        unknown = set(fields) - set(order)
        if unknown:
            raise TypeError(f"configure() got unknown fields: {', '.join(sorted(unknown))}")
        problems: list[str] = []
        self._cleared_key = None
        for name in order:
            if name not in fields:
                continue
            if name == "agent" and fields[name] == self.agent_name:
                continue
            if name == "provider" and fields[name] == self.provider:
                continue
            if name == "api_key" and self._stale_key(fields[name]):
                continue  # the field still holds the key of the host just left: it does not follow the switch
            if name == "tool_choice" and "active_tools" in fields and fields[name] in self.template.tools \
                    and fields[name] not in self.active_tools:
                continue  # the tool chosen was just unchecked in the same change: "auto" (set_active_tools)
            try:
                setters[name](fields[name])
            except ConfigurationError as exc:
                problems.append(self.mask(str(exc)))
        return problems

    # -- the working agent ----------------------------------------------------------------------------------------
    def _working_agent(self, provider: str | None = None, model: str | None = None,
                       base_url: str | None = None, *, scratch: bool = False) -> Agent:
        """An Agent for the chosen template and model, with this session's key and run store (cached). `scratch`:
        runs that suspend stay in this process (Compare, Evaluate: nobody can approve them from the page)."""
        provider = provider or self.provider
        model = model if model is not None else self.model
        model_string = f"{provider}:{model}" if model else provider
        url = base_url if base_url is not None else self.base_url
        needs_url = PROVIDERS[provider].needs_base_url if provider in PROVIDERS else False
        own = self._agent_model_chosen(provider, model, url)  # the agent's own model: its base URL, key, clients
        if provider in PROVIDERS and not needs_url and provider not in ("ollama",) and not own:
            url = None  # a base URL is only used by OpenAI-compatible servers (and Ollama)
        if needs_url and not url:
            raise ConfigurationError(
                "Base URL: an OpenAI-compatible server needs its address, e.g. http://127.0.0.1:8000/v1",
                field="base_url",
            )
        key, _server_key = self.key_for(provider, url)  # a typed key only for its own provider and host
        if own and key is None:  # the agent's key goes only to the agent's own provider and host
            key = getattr(self.template, "_api_key", None)
        extras = _as_given(self.template) if own else self._counting_clients(provider)
        extras = {**extras, **self._record_extras()}  # the Record toggle (report_session.py)
        cache_key = (self.agent_name, model_string, url, key, tuple(id(v) for v in extras.values()),
                     tuple(id(s) for s in self.mcp_servers))
        if self._agent_cache is not None and self._agent_cache[0] == cache_key and not scratch:
            return self._agent_cache[1]
        template = self.template
        agent = Agent(
            name=template.name, description=template.description, instructions=template.instructions,
            model=template.model if own else self._model_for(provider, model, url, key), tools=self.all_tools(),
            api_key=key, base_url=url,
            storage=InMemoryRunStore() if scratch else self._store, timeout=self.timeout, **extras,
        )
        agent.provider  # noqa: B018 - resolve now so a missing key or bad model string is reported before sending
        if provider == self.provider and model == self.model and base_url is None and not scratch:
            self._agent_cache = (cache_key, agent)
        return agent

    def _options(self, settings: ModelSettings | None = None) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "instructions": self.render_variables(self.instructions, "Instructions"),
            "model_settings": settings if settings is not None else self.settings,
            "max_steps": self.max_steps,
            "active_tools": list(self.active_tools),
            "require_tool_approval": self.require_approval,
        }
        if self.active_tools:
            choice = self.tool_choice
            opts["tool_choice"] = choice if choice in ("auto", "none", "required") else {"type": "tool",
                                                                                        "tool_name": choice}
        output = self._structured_output_option()
        if output is not None:
            opts["structured_output"] = output
        traces = playground_tracer_provider()  # spans kept in the local store for the Traces tab
        if traces is not None:
            opts["tracing_options"] = {"tracer_provider": traces}
        return opts

    # -- structured output (issue 17 item 10): the agent's own, or a JSON Schema typed on the page ------------------
    def _output_choice(self) -> Any:
        """"agent" (the agent's own structured_output), a JSON Schema dict typed by the person, or None (text)."""
        chosen = getattr(self, "_output", None)
        if chosen is None or chosen[0] != self.agent_name:  # a new agent: its own choice again
            return "agent" if self.template.default_options.get("structured_output") is not None else None
        return chosen[1]

    def output_schema(self) -> dict[str, Any] | None:
        """The JSON Schema the answer is parsed into (the agent's own or the typed one), or None for plain text."""
        choice = self._output_choice()
        if choice == "agent":
            from ..output import parse_structured_output

            parsed = parse_structured_output(self.template.default_options.get("structured_output"))
            return dict(parsed.schema) if parsed is not None else None
        return choice

    def output_schema_text(self) -> str:
        schema = self.output_schema()
        return json.dumps(schema, indent=2) if schema is not None else ""

    def set_output_schema(self, schema: str | Mapping[str, Any] | None) -> None:
        """Parse answers into this JSON Schema (text or dict); empty: plain text. The agent's own schema, given back
        unchanged, keeps the agent's own option (a pydantic model, its error strategy). Raises ConfigurationError."""
        from ..output import parse_structured_output

        if isinstance(schema, str):
            text = schema.strip()
            if not text:
                self._output = (self.agent_name, None)
                return
            try:
                schema = json.loads(text)
            except ValueError as exc:
                raise ConfigurationError(f"Structured output: not valid JSON ({exc}); give a JSON Schema such as "
                                         '{"type": "object", "properties": {...}}', field="output_schema") from None
        if schema is None:
            self._output = (self.agent_name, None)
            return
        if not isinstance(schema, Mapping):
            raise ConfigurationError("Structured output: the schema must be a JSON object", field="output_schema")
        own = self.template.default_options.get("structured_output")
        own_schema = parse_structured_output(own).schema if own is not None else None  # type: ignore[union-attr]
        if own_schema is not None and dict(schema) == dict(own_schema):
            self._output = (self.agent_name, "agent")
            return
        try:
            parse_structured_output({"schema": dict(schema)}, "Structured output")
        except (PlaygroundError, ValueError) as exc:
            raise ConfigurationError(str(exc), field="output_schema") from None
        self._output = (self.agent_name, dict(schema))

    def configure_output_schema(self, schema: Any) -> list[str]:
        """`set_output_schema`, with its problem returned instead of raised (as `configure` does)."""
        try:
            self.set_output_schema(schema)
        except ConfigurationError as exc:
            return [self.mask(str(exc))]
        return []

    def _structured_output_option(self) -> Any:
        choice = self._output_choice()
        if choice == "agent":
            return self.template.default_options.get("structured_output")
        return {"schema": choice} if choice is not None else None

    def _history(self) -> list[dict[str, Any]]:
        return [m.model_dump(mode="json", exclude_none=True) for m in self.messages]

    # -- actions --------------------------------------------------------------------------------------------------
    def inspect(self, text: str) -> dict[str, Any]:
        """The exact request `send(text)` would make (method, URL, headers with the key masked, body, warnings)."""
        text = self.render_variables(_message_text(text), "Message")
        agent = self._working_agent()
        turn, options = self._memory_turn(agent, self._options(), text)
        gen = agent.prompt(turn, **options)
        preview = gen.request_preview(stream=True)
        return mask_value(preview, self.secrets)

    async def send(self, text: str, attachments: Sequence[Any] = ()) -> AsyncIterator[StreamEvent]:
        """Send a message and stream the reply. Events are playground.events types; the live view of the exchange
        (`self.exchanges[-1].view`) is updated before each event is yielded. Failures arrive as ErrorEvent."""
        problem = self._cannot_start()
        if problem is None:
            try:
                for item in attachments:  # paths, bytes or (name, bytes): queued like attach() (attachments_session.py)
                    self.attach(item)
                text = self.render_variables(_message_text(text), "Message")  # {{ variables }} filled in
                self._options()  # the instructions' variables too: a missing one is said before anything is sent
            except ConfigurationError as exc:
                problem = str(exc)
        if problem is not None:
            self.notice = problem
            yield ErrorEvent(ConfigurationError(problem))
            return
        self.notice = None
        exchange = Exchange(len(self.exchanges), text, self.config(), self._history())
        self.exchanges.append(exchange)
        self.selected = None
        try:
            agent = self._working_agent()

            def prepare() -> tuple[Generation, dict[str, Any], list[Message], Any]:
                turn, options = self._memory_turn(agent, self._options(), text)  # memory off if its store is down
                # page_...: a page's run in `playground runs`; fresh, so checking it reads nothing (shared_runs.py)
                options["run_id"] = self._store.new_run_id()
                gen = agent.prompt(turn, **options)
                return gen, gen.request_preview(stream=True), turn, options.get("memory")

            # with memory: the thread's store and the recall embedder answer in a worker thread (threads.py)
            gen, preview, turn, memory = await self._memory_io(prepare)
            exchange.preview = mask_value(preview, self.secrets)
            if memory is not None:  # the export calls with the same memory= and the history sent beside it
                exchange.memory = memory
                exchange.history = [m.model_dump(mode="json", exclude_none=True) for m in turn[:-1]]
            run = gen.stream()
            self._attachments_sent(exchange.index)
        except (PlaygroundError, ValueError) as exc:
            yield self._fail(exchange, exc)
            return
        self._record_version()  # the prompt as written, numbered (prompts_session.py)
        async for ev in self._drive(run, exchange):
            yield ev

    async def approve(self, call_id: str, args: str | Mapping[str, Any] | None = None) -> AsyncIterator[StreamEvent]:
        """Approve the pending call (optionally with edited arguments: a dict or JSON text) and stream the rest."""
        async for ev in self._decide(call_id, approve=True, args=args):
            yield ev

    async def decline(self, call_id: str, reason: str | None = None) -> AsyncIterator[StreamEvent]:
        """Decline the pending call; the model is told (with the reason) and the run goes on."""
        async for ev in self._decide(call_id, approve=False, reason=reason):
            yield ev

    async def _decide(
        self, call_id: str, *, approve: bool, args: str | Mapping[str, Any] | None = None, reason: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        pending = self.pending
        problem: str | None = None
        if self.busy:
            problem = "A reply is still streaming; wait for it or press Stop."
        elif pending is None:
            problem = "No tool call is waiting for approval."
        elif call_id != pending.tool_call_id:
            problem = f"Tool call {call_id!r} is not the one waiting for approval ({pending.tool_call_id!r})."
        parsed: dict[str, Any] | None = None
        if problem is None and approve and args is not None:
            parsed, problem = _parse_args(args)
        if problem is not None or pending is None:
            self.notice = problem
            yield ErrorEvent(ConfigurationError(problem or "No tool call is waiting for approval."))
            return
        exchange = self.exchanges[pending.exchange]
        try:
            agent = self._working_agent()
            run = agent.resume_stream(
                pending.run_id, pending.tool_call_id, approve=approve, args=parsed,
                reason=(reason or "").strip() or None,
            )
        except (PlaygroundError, ValueError) as exc:  # e.g. edited arguments that break the tool's schema
            if self._lost_to_elsewhere(pending, exc):  # decided elsewhere first: the page shows what happened there
                yield ErrorEvent(ApprovalError(self.notice or str(exc)))
                return
            self.notice = self.mask(f"Run store: {exc}" if isinstance(exc, StorageError) else
                                    _args_problem(f"{_label_error(exc)}: {exc}", pending.schema))
            yield ErrorEvent(exc)
            return
        self.notice = None
        self.pending = None
        exchange.view.decided(pending.tool_call_id, approved=approve, reason=reason, args=parsed)
        self._record_decision(exchange, pending, approve=approve, args=parsed, reason=reason)
        async for ev in self._drive(run, exchange):
            yield ev

    @staticmethod
    def _record_decision(exchange: Exchange, pending: PendingApproval, *, approve: bool,
                         args: dict[str, Any] | None, reason: str | None) -> None:
        """Keep what the person decided, so the code export makes the same decision (never a blanket approval)."""
        decision: dict[str, Any] = {"tool": pending.tool_name, "approved": approve}
        if approve:
            decision["args"] = dict(args) if args is not None else dict(pending.args)
        else:
            decision["reason"] = (reason or "").strip() or None
        exchange.decisions.append(decision)

    async def _drive(self, run: StreamRun, exchange: Exchange) -> AsyncIterator[StreamEvent]:
        self._run = run
        self.busy = True
        exchange.status = "running"
        try:
            async for ev in self._until_stopped(run, exchange):
                if isinstance(ev, ErrorEvent):
                    if ev.error is run.error:
                        continue  # the stream raises it next: shown once, below
                    exchange.view.error(self.mask(f"{_label_error(ev.error)}: {ev.error}"))
                    yield ev
                    continue
                exchange.view.apply(ev)
                if isinstance(ev, FinishEvent):
                    self._finished(exchange, ev.result)
                yield ev
        except Exception as exc:  # every failure becomes an inline message; the conversation is kept
            partial = getattr(exc, "result", None)
            if isinstance(partial, GenerationResult):
                exchange.result = partial
            yield self._fail(exchange, exc)
        finally:
            self.busy = False
            self._run = None
            if exchange.status == "running":
                exchange.status = "stopped"
                exchange.view.finish()

    def _finished(self, exchange: Exchange, result: GenerationResult) -> None:
        exchange.result = result
        if result.finish_reason == "suspended" and result.suspend_payload is not None:
            sp = result.suspend_payload
            exchange.status = "suspended"
            tool = self.all_tools().get(sp.tool_name)
            self.pending = PendingApproval(sp.run_id, sp.tool_call_id, sp.tool_name, dict(sp.args), exchange.index,
                                           tool.schema() if tool else {})
            self._page_run_suspended()  # now and then: expire page runs abandoned long ago (shared_runs.py)
            return
        exchange.status = "stopped" if result.finish_reason == "aborted" else "done"
        self._note_empty_answer(exchange, result)
        self.messages = complete_tool_results(result.messages)  # a stopped tool call still gets its result

    def _fail(self, exchange: Exchange, exc: BaseException) -> ErrorEvent:
        message = self.mask(f"{_label_error(exc)}: {exc}")
        if not isinstance(exc, PlaygroundError):  # a parser's own error: say what it means
            message = self.mask(f"The model's answer could not be read ({type(exc).__name__}: {exc}). The server "
                                "sent something that is not the provider's format; see the Raw response tab.")
        message += self.mask(content_type_hint(exc, exchange.attempts))  # failures.py: an HTML page reads as one
        exchange.error = message
        exchange.failure = self._failure_record(exc)
        exchange.status = "error"
        exchange.view.error(message)
        self.notice = message
        return ErrorEvent(PlaygroundError(message))

    @staticmethod
    def _note_empty_answer(exchange: Exchange, result: GenerationResult) -> None:
        """A finished answer with nothing in it (no text, tool call or object) is said to be empty, never shown as
        a silent success."""
        if result.finish_reason in ("aborted", "suspended", "tripwire") or result.text.strip():
            return
        if result.tool_calls or result.object is not None or any(s.tool_calls for s in result.steps):
            return
        exchange.view.blocks.append(Block(
            "notice", done=True,
            text=f"The model's answer was empty (finish reason: {result.finish_reason}). If that is unexpected, "
                 "check the Raw response tab: the server may have sent something the provider's format does not "
                 "have."))

    def _failure_record(self, exc: BaseException) -> dict[str, Any]:
        """The error as the raw panels show it: class, message, status, Retry-After and the error body (masked)."""
        record = {"error": type(exc).__name__, "message": str(exc), "status": getattr(exc, "status", None),
                  "retry_after": getattr(exc, "retry_after", None), "attempts": getattr(exc, "attempts", None),
                  "body": getattr(exc, "raw_body", None)}
        return mask_value(_jsonable(record), self.secrets)

    def _cannot_start(self) -> str | None:
        if self.busy:
            return "A reply is still streaming; wait for it or press Stop."
        if self.pending is not None:
            self.refresh_pending()  # decided elsewhere meanwhile: the page shows that, and a new message may go
        if self.pending is not None:
            return (f"The {self.pending.tool_name} call waits for approval: approve or decline it first "
                    "(or press Clear).")
        return None

    def stop(self) -> bool:
        """Stop the reply now: a streaming reply ends at its next chunk (what arrived is kept); a request the server
        has not answered, or a retry wait, is cancelled within STOP_GRACE_SECONDS. False when nothing runs.
        Safe to call from another thread (Gradio runs Stop beside the streaming handler)."""
        run = self._run
        if run is None:
            return False
        run.abort("stopped by the user")
        hook = self._stop_hook
        if hook is not None:
            loop, event = hook
            with contextlib.suppress(RuntimeError):  # a closed loop: the run is over anyway
                loop.call_soon_threadsafe(event.set)
        return True

    async def _until_stopped(self, run: StreamRun, exchange: Exchange) -> AsyncIterator[StreamEvent]:
        """The run's events, until it ends or the person presses Stop. After Stop the run has STOP_GRACE_SECONDS to
        end by itself (a stream does, at its next chunk, keeping what arrived); else it is cancelled, which closes an
        unanswered request's connection, and the exchange is marked stopped with the conversation as it was."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        self._stop_hook = (loop, stop)
        self._live_attempts = exchange.attempts
        self._begin_wait()
        it = run.__aiter__()
        deadline: float | None = None
        stopper = asyncio.ensure_future(stop.wait())  # one waiter for the whole run
        nxt: asyncio.Future[StreamEvent] | None = None
        done_steps: list[Any] = []  # steps finished in this run (their tools ran): kept if the run is cancelled
        try:
            while True:
                nxt = asyncio.ensure_future(it.__anext__())
                while not nxt.done():
                    if deadline is None:
                        await asyncio.wait({nxt, stopper}, return_when=asyncio.FIRST_COMPLETED)
                        if stop.is_set():
                            deadline = loop.time() + STOP_GRACE_SECONDS
                    else:
                        await asyncio.wait({nxt}, timeout=max(0.0, deadline - loop.time()))
                        if not nxt.done():
                            nxt.cancel()
                            await asyncio.gather(nxt, return_exceptions=True)
                            self._hard_stopped(exchange, done_steps)
                            return
                try:
                    ev = nxt.result()
                except StopAsyncIteration:
                    return
                self._note_progress(ev)
                if isinstance(ev, StepFinishEvent):
                    done_steps.append(ev.step)
                yield ev
        finally:
            stopper.cancel()
            if nxt is not None and not nxt.done():  # the consumer went away (a closed page): end the request too
                nxt.cancel()
            self._stop_hook = None
            self._live_attempts = None
            self.wait_started = None

    def _hard_stopped(self, exchange: Exchange, done_steps: Sequence[Any] = ()) -> None:
        """A run cancelled while it waited for the server. Steps it finished (tools that ran) stay in the
        conversation with the message that started them; with none, the conversation is as it was."""
        exchange.status = "stopped"
        exchange.view.finish()
        suspended = exchange.result  # a run resumed by Approve / Decline: the result it was suspended with
        if exchange.decisions and suspended is not None and suspended.finish_reason == "suspended":
            stored = self._store.load(suspended.run_id) if suspended.run_id else None
            self.messages = resumed_messages(suspended.messages, stored, done_steps)
            keep_in_thread(self, exchange, suspended.run_id, self.messages)  # with memory on, the thread too
            note = ("Stopped while waiting; the decision, the tool results and the finished steps before it stay "
                    "in the conversation.")
        elif done_steps and not exchange.decisions:  # a send: its finished steps stay with its message
            kept = complete_tool_results([Message.user(exchange.user_text), *step_messages(done_steps)])
            self.messages = complete_tool_results([*self.messages, *kept])
            keep_in_thread(self, exchange, f"stopped_{os.urandom(8).hex()}", kept)
            note = (f"Stopped while waiting for the server; the {len(done_steps)} finished step(s) before it, and "
                    "the tool results they produced, stay in the conversation.")
        else:
            note = "Stopped before the server answered; the conversation is as it was before this message."
        exchange.view.blocks.append(Block("notice", text=note, done=True))
        self.notice = None

    # -- waiting: what a slow call shows (issue 17 item 3) ------------------------------------------------------------
    def _begin_wait(self) -> None:
        self.wait_started = time.monotonic()
        self.attempt = 0

    def _note_progress(self, ev: StreamEvent) -> None:
        if isinstance(ev, StepStartEvent):
            self._begin_wait()
        elif not isinstance(ev, FinishEvent | ErrorEvent):
            self.wait_started = None  # the server answers

    async def _count_attempt(self, request: Any) -> None:
        self.attempt += 1
        if self._live_attempts is not None:
            self._live_attempts.append({"attempt": len(self._live_attempts) + 1, "method": request.method,
                                        "url": self.mask(str(request.url)), "status": None, "headers": {}})

    async def _note_response(self, response: Any) -> None:
        log = self._live_attempts
        if log:
            log[-1]["status"] = response.status_code
            log[-1]["headers"] = mask_value(dict(response.headers), self.secrets)

    def waiting_text(self) -> str | None:
        """While a request waits for the server's first byte: "Waiting for the server: 12 s · attempt 2 of 3 ·
        timeout 60 s" (None otherwise). The front ends show it in place of the reply."""
        if not self.busy or self.wait_started is None:
            return None
        waited = time.monotonic() - self.wait_started
        retries = self.settings.max_retries if self.settings.max_retries is not None else 2
        parts = [f"Waiting for the {'demo model' if self.simulated else 'server'}: {waited:.0f} s"]
        if self.attempt > 1 or not self.simulated:
            parts.append(f"attempt {max(self.attempt, 1)} of {retries + 1}")
        if self.timeout:
            parts.append(f"timeout {self.timeout:g} s")
        return " · ".join(parts) + " (Stop cancels it)"

    def set_timeout(self, value: Any) -> None:
        """Seconds a request may wait for the server (each attempt); empty: the default, 60."""
        if value is None or (isinstance(value, str) and not value.strip()):
            self.timeout = 60.0
            self._agent_cache = None
            return
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"Timeout: {value!r} is not a number of seconds", field="timeout") from None
        if not 1 <= seconds <= 3600:
            raise ConfigurationError(f"Timeout: {seconds:g} s is out of range; use 1 to 3600 seconds",
                                     field="timeout")
        if seconds != self.timeout:
            self.timeout = seconds
            self._agent_cache = None

    def _counting_clients(self, provider: str) -> dict[str, Any]:
        """For a real provider, an async client of this session whose request hook counts attempts (retries are
        new requests), so a slow call can say which attempt it is on. {} outside an event loop or for the demo."""
        if provider in ("demo", "replay") or provider not in PROVIDERS:  # a replay never reaches the network
            return {}
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return {}
        held = self._http
        if held is None or held[0] is not loop or held[1].is_closed:
            import httpx2

            client = httpx2.AsyncClient(follow_redirects=True, event_hooks={
                "request": [self._count_attempt], "response": [self._note_response]})
            self._http = held = (loop, client)
        return {"async_http_client": held[1]}

    def reset(self, keep: str | None = None) -> None:
        """Clear the conversation, the exchanges and any pending approval (its stored run is expired, unless its run id
        is `keep`); the settings stay."""
        self.stop()
        self.messages = []
        self.exchanges = []
        self.selected = None
        self._expire_own_run(keep)  # the dropped waiting call can no longer be approved anywhere (shared_runs.py)
        self.pending = None
        self.notice = None
        self._agent_cache = None
        self.thread_id = None  # with memory: the next message starts a new thread

    # -- traces and cost (tracing.py, pricing.py) -----------------------------------------------------------------
    def trace_view(self, span_id: str | None = None, exchange: Exchange | None = None) -> dict[str, Any]:
        """The Traces tab of an exchange (the selected one, else the last): its trace id, waterfall rows and HTML,
        the spans to pick from as (label, span id), and the picked span's details (attributes, request/response)."""
        from .render import span_details, span_label, trace_rows, trace_waterfall_html

        ex = exchange or self.selected_exchange()
        result = ex.result if ex is not None else None
        trace_id = result.trace_id if result is not None else None
        spans = local_spans(trace_id)
        rows = trace_rows(spans)
        picked = next((s for s in spans if s["span_id"] == span_id), None)
        if ex is None:
            note = "Send a message to see its trace."
        elif trace_id is None:
            note = ('No trace was recorded for this exchange: tracing was off for it (telemetry={"is_enabled": False}) '
                    "or it ended before the model was called.")
        else:
            note = f"Trace {trace_id} is kept by your own tracer provider, not in the playground's store."
        return {
            "trace_id": trace_id,
            "rows": rows,
            "html": trace_waterfall_html(rows, span_id, note),
            "choices": [(span_label(r), r["span_id"]) for r in rows],
            "details": span_details(picked, list(result.steps) if result is not None else []),
        }

    def session_cost(self) -> Cost | None:
        """What every finished exchange of this session cost (None when any model's price is unknown)."""
        return total_cost(ex.result.cost for ex in self.exchanges if ex.result is not None)

    def cost_markdown(self) -> str:
        """Cost per exchange and for the session, as the Usage tab shows it."""
        from .render import session_cost_markdown

        return session_cost_markdown([ex.result for ex in self.exchanges])

    def export_code(self, exchange: Exchange | None = None) -> dict[str, str]:
        """{"python": ..., "curl": ...} that reproduce the selected exchange (or the current settings), key masked."""
        from .codegen import curl_command, python_code

        ex = exchange or self.selected_exchange()
        if ex is not None:
            config, history, text = ex.config, ex.history, ex.user_text
            request = ex.steps[0].raw_request.model_dump() if ex.steps and ex.steps[0].raw_request else ex.preview
        else:
            config, history, text = self.config(), self._history(), "Hello"
            try:
                request = self.inspect(text)
            except (PlaygroundError, ValueError):
                request = None
        template = self.agents.get(str(config.get("agent")), None)
        source = getattr(template, "_playground_source", None)
        return {
            "python": self.mask(python_code(config, history, text, agent_source=source,
                                            decisions=ex.decisions if ex is not None else (),
                                            stream=ex.streamed if ex is not None else False,
                                            tools=template.tools if template is not None and not source else None,
                                            memory=ex.memory if ex is not None else None,  # same thread (threads.py)
                                            memory_setup=self.memory)),
            "curl": self.mask(curl_command(request, config.get("provider", "demo"))) if request else
            "# no request yet: send a message first",
        }

    # -- models -----------------------------------------------------------------------------------------------
    def list_models(self) -> list[str]:
        """Models the chosen provider lists (the demo does, offline). [] when listing fails: type a name then;
        the reason is in `notice`. Nothing is asked (and nothing said) before the person could give what the listing
        needs: the base URL of an OpenAI-compatible server, or a key where the provider needs one."""
        reason = self.cannot_list_models()
        if reason is not None:
            return []
        try:
            key, _server_key = self.key_for(self.provider, self.base_url)
            made = self._model_for(self.provider, self.model or "x", self.base_url, key)
            provider = made if not isinstance(made, str) else resolve_provider(
                made, api_key=key, base_url=self.base_url)
        except (PlaygroundError, ValueError) as exc:
            self.notice = self.mask(str(exc))
            return []
        if not hasattr(provider, "build_list_models_request"):
            return []
        make = getattr(provider, "default_http_clients", None)
        client = make()[0] if make is not None else None
        transport = Transport(client, secrets=provider.secrets(), timeout=min(self.timeout or 10.0, 10.0))
        try:
            # one attempt: a person waits on this list, and a down server should say so at once
            http = transport.send(provider.build_list_models_request(), retry=RetryPolicy(max_retries=0))
            if not http.ok:
                raise provider.parse_error(http.status, http.headers, http.body)
            return sorted(provider.parse_list_models(http.status, http.headers, http.body))
        except ConnectionFailedError as exc:
            where = self.mask(self.base_url or PROVIDERS[self.provider].label)
            self.notice = self.mask(f"Models: the server at {where} did not answer ({exc}). Is it running, and is "
                                    "the base URL right?")
            return []
        except Exception as exc:
            self.notice = self.mask(f"Models: could not list them ({_label_error(exc)}: {exc}); type a model name.")
            return []

    def cannot_list_models(self) -> str | None:
        """Why the model list cannot be asked for yet (shown as the Model field's hint), or None."""
        entry = PROVIDERS.get(self.provider)
        if entry is None:
            return None
        if self.provider == "replay":  # the model is a cassette's path (replay.py)
            return "type the path of a cassette (recorded with Agent(record=...) or playground record)"
        if entry.needs_base_url and not self.base_url:
            return "type the server's base URL first"
        key, server_key = self.key_for(self.provider, self.base_url)
        if entry.key_required and key is None and not (server_key and env_api_key(entry)):
            return "type an API key to list the models"
        return None

    def key_hint(self) -> str:
        """Where the next request's key comes from, for the API key field (never the key itself)."""
        entry = PROVIDERS.get(self.provider)
        key, server_key = self.key_for(self.provider, self.base_url)
        if key is not None:
            return "your key: kept for this browser session and sent only to this provider and host"
        if entry is None or self.provider == "demo":
            return "the demo model needs no key"
        if server_key and env_api_key(entry):
            return f"empty: the server's ${entry.env_keys[0]} is used (for this host only)"
        if not entry.key_required:
            return "optional: type the key this server needs, if any"
        return f"type your {entry.label} key (kept for this browser session only)"

    # -- compare ----------------------------------------------------------------------------------------------
    async def compare(self, text: str, columns: Sequence[CompareColumn]) -> list[CompareOutcome]:
        """Send the same message (with the conversation so far) to 2-4 columns at once. The conversation is not
        changed. Each column's failure is reported in its own outcome."""
        text = self.render_variables(_message_text(text), "Message")
        if not 1 <= len(columns) <= 4:
            raise ConfigurationError(f"Compare: use 1 to 4 columns, got {len(columns)}", field="columns")

        async def one(i: int, col: CompareColumn) -> CompareOutcome:
            model = col.model or DEFAULT_MODELS.get(col.provider, "")
            label = col.label or f"{i + 1}. {col.provider}:{model}" + (f" v{col.version}" if col.version else "")
            out = CompareOutcome(label=label, model=f"{col.provider}:{model}")
            try:
                settings = self._merged_settings(col.settings)
                agent = self._working_agent(col.provider, model, col.base_url, scratch=True)
                options = self._options(settings)
                if col.version is not None:  # a prompt version's instructions and settings (prompts_session.py)
                    options = self.version_options(col.version, options)
                gen = agent.prompt([*self.messages, Message.user(text)], **options)
                out.request = mask_value(gen.request_preview(stream=True), self.secrets)
                started = time.perf_counter()
                result = await gen.stream().afinal_result()  # streamed as Chat is: the latencies compare
                out.latency_ms = result.latency_ms or (time.perf_counter() - started) * 1000
                out.text = result.text
                if result.suspended and result.suspend_payload is not None:
                    out.text = (out.text + f"\n\n(waits for approval of {result.suspend_payload.tool_name})").strip()
                out.usage = result.usage
                out.cost = result.cost
                out.finish_reason = result.finish_reason
            except Exception as exc:
                out.error = self.mask(f"{_label_error(exc)}: {exc}")
            return out

        return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(columns))))

    # -- save / load ----------------------------------------------------------------------------------------------
    def save(self) -> str:
        """The session as JSON: settings, conversation and exchanges. Never the key (nor anything containing it)."""
        data = {
            "playground_session": SAVE_VERSION,
            "config": self.config(),
            "messages": self._history(),
            "exchanges": [
                {
                    "user_text": ex.user_text,
                    "config": ex.config,
                    "history": ex.history,
                    "preview": ex.preview,
                    "view": ex.view.to_dict(),
                    "result": ex.result.model_dump(mode="json", exclude={"error"}) if ex.result else None,
                    "error": ex.error,
                    "status": ex.status if ex.status != "running" else "stopped",
                    "decisions": ex.decisions,
                    "attempts": ex.attempts,
                    "failure": ex.failure,
                    "memory": ex.memory,
                }
                for ex in self.exchanges
            ],
            "pending": self._saved_pending(),
        }
        text = json.dumps(mask_value(data, self.secrets), indent=2, default=str, ensure_ascii=False)
        for secret in self.secrets:
            text = text.replace(secret, "****")
        return text

    def load(self, data: str | bytes | Mapping[str, Any]) -> list[str]:
        """Restore a saved session (the key stays as it is). Returns problems (e.g. an agent that is not here)."""
        try:
            raw: Any = json.loads(data) if isinstance(data, str | bytes) else dict(data)
        except ValueError as exc:
            raise ConfigurationError(f"Load session: the file is not valid JSON ({exc})", field="session") from None
        if not isinstance(raw, dict) or raw.get("playground_session") != SAVE_VERSION:
            raise ConfigurationError("Load session: this is not a saved playground session", field="session")
        # read every part before changing anything: a damaged file leaves the current conversation as it was
        messages, exchanges, pending, run_state = _read_saved(raw)
        config = raw.get("config") or {}
        if not isinstance(config, dict):
            raise ConfigurationError("Load session: 'config' must be an object of settings", field="session")
        config = dict(config)
        problems: list[str] = []
        if config.get("agent") not in self.agents:
            problems.append(f"Agent {config.get('agent')!r} is not available here; using {BLANK_AGENT!r}")
            config["agent"] = BLANK_AGENT
        self.reset(keep=pending.run_id if pending is not None else None)  # the same run loaded again: kept
        self.agent_name = ""  # force set_agent
        problems += self.configure(agent=config["agent"])
        fields = {k: config[k] for k in ("provider", "base_url", "model", "instructions", "settings", "active_tools",
                                         "tool_choice", "require_approval", "max_steps") if k in config}
        if "base_url" in fields and fields["base_url"] is None:
            fields["base_url"] = ""
        problems += self.configure(**fields)
        if "output_schema" in config:
            problems += self.configure_output_schema(config["output_schema"])
        self.messages = messages
        self.exchanges = exchanges
        if pending is not None and run_state is not None:  # attach to the stored run (never over it; shared_runs.py)
            restored = self._restore_pending(pending, run_state)
            problems += [restored] if restored else []
        return problems

    def _saved_pending(self) -> dict[str, Any] | None:
        """The pending approval and its suspended run (data only, no key), so a loaded session can decide it."""
        p = self.pending
        if p is None:
            return None
        try:
            state = self._store.load(p.run_id)
        except PlaygroundError:  # the store is down now: the run as this page last saw it (a file is no decision)
            state = self._store.last_seen(p.run_id)
        if state is None:
            return None
        return {"run_id": p.run_id, "tool_call_id": p.tool_call_id, "tool_name": p.tool_name, "args": p.args,
                "exchange": p.exchange, "schema": p.schema, "run": state.model_dump(mode="json")}


# ----------------------------------------------------------------------------------------------------------------
# Helpers


def _message_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ConfigurationError("Message: type a message first", field="message")
    return text.strip()


def _label(name: str) -> str:
    return name.replace("_", " ")


def _args_problem(message: str, schema: Mapping[str, Any]) -> str:
    """An invalid-arguments message for a person: the problems, then the expected arguments as JSON (never a
    Python dict dump of the whole schema)."""
    head = message.split("; the schema is ", 1)[0].split(" Fix them and approve again", 1)[0].rstrip(". ")
    inner = schema.get("parameters")
    params: Mapping[str, Any] = inner if isinstance(inner, Mapping) else schema
    props = params.get("properties")
    if not isinstance(props, Mapping) or not props:
        return f"{head}. Fix them and approve again."
    required = set(params.get("required") or [])
    fields = ", ".join(
        f"{name} ({_json_type(spec)}{', required' if name in required else ''})" for name, spec in props.items()
    )
    return f"{head}. Fix them and approve again; expected arguments: {fields}."


def _json_type(spec: Any) -> str:
    if not isinstance(spec, Mapping):
        return "any"
    if "type" in spec:
        return str(spec["type"])
    options = [str(o.get("type")) for o in spec.get("anyOf") or [] if isinstance(o, Mapping) and o.get("type")]
    return " or ".join(options) or "any"


def _read_saved(raw: dict[str, Any]) -> tuple[list[Message], list[Exchange], PendingApproval | None, RunState | None]:
    """The conversation, exchanges and pending approval of a saved session, read whole before anything changes.
    A damaged part raises ConfigurationError naming it, e.g. "exchanges[1].result: ..."."""

    def bad(where: str, exc: Exception | str) -> ConfigurationError:
        detail = exc if isinstance(exc, str) else (
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
            if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}")
        return ConfigurationError(f"Load session: {where} is damaged ({detail}); nothing was changed",
                                  field="session")

    items = raw.get("messages") or []
    if not isinstance(items, list):
        raise bad("messages", "expected a list")
    messages: list[Message] = []
    for i, m in enumerate(items):
        try:
            messages.append(Message.model_validate(m))
        except (ValueError, TypeError) as exc:
            raise bad(f"messages[{i}]", exc) from None
    saved = raw.get("exchanges") or []
    if not isinstance(saved, list):
        raise bad("exchanges", "expected a list")
    exchanges: list[Exchange] = []
    for i, item in enumerate(saved):
        if not isinstance(item, dict):
            raise bad(f"exchanges[{i}]", "expected an object")
        part = "view"
        try:
            view = ExchangeView.from_dict(item.get("view") or {})
            part = "result"
            result = GenerationResult.model_validate(item["result"]) if item.get("result") else None
        except (ValueError, KeyError, TypeError) as exc:
            raise bad(f"exchanges[{i}].{part}", exc) from None
        status = item.get("status", "done")
        if status not in ("done", "suspended", "error", "stopped"):
            raise bad(f"exchanges[{i}].status", f"unknown status {status!r}")
        exchanges.append(Exchange(i, str(item.get("user_text", "")), dict(item.get("config") or {}),
                                  list(item.get("history") or []), preview=item.get("preview"), view=view,
                                  result=result, error=item.get("error"), status=status,
                                  decisions=list(item.get("decisions") or []),
                                  attempts=list(item.get("attempts") or []), failure=item.get("failure"),
                                  memory=item["memory"] if isinstance(item.get("memory"), dict) else None))
    p = raw.get("pending")
    if not p:
        return messages, exchanges, None, None
    try:
        state = RunState.model_validate(p["run"])
        pending = PendingApproval(str(p["run_id"]), str(p["tool_call_id"]), str(p["tool_name"]), dict(p["args"]),
                                  int(p["exchange"]), dict(p.get("schema") or {}))
    except (ValueError, KeyError, TypeError) as exc:
        raise bad("pending", exc) from None
    if state.run_id != pending.run_id or not 0 <= pending.exchange < len(exchanges):
        raise bad("pending", "its run or exchange does not match the rest of the file")
    if not any(c.tool_call_id == pending.tool_call_id and c.decision is None for c in state.pending):
        raise bad("pending", f"the run has no undecided call {pending.tool_call_id!r}")
    return messages, exchanges, pending, state


def _settings_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ())) or "settings"
            parts.append(f"{_label(loc)}: {err.get('msg')} (got {err.get('input')!r})")
        return "Model settings: " + "; ".join(parts)
    return f"Model settings: {exc}"


def _parse_args(args: str | Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    if isinstance(args, Mapping):
        return dict(args), None
    try:
        value = json.loads(args)
    except ValueError as exc:
        return None, f"Arguments: not valid JSON ({exc.args[0] if exc.args else exc}); fix them and approve again."
    if not isinstance(value, dict):
        return None, "Arguments: must be a JSON object such as {\"order_id\": \"42\"}; fix them and approve again."
    return value, None


def _label_error(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    name = type(exc).__name__.rstrip("_")
    return f"{name} (HTTP {status})" if status else name


def _as_given(template: Agent) -> dict[str, Any]:
    """The agent's own headers and HTTP clients, for a working agent on the agent's own model and host."""
    return {
        "headers": getattr(template, "_headers", None) or None,
        "http_client": getattr(template, "_http_client", None),
        "async_http_client": getattr(template, "_async_http_client", None),
    }


def key_source(provider: str) -> str | None:
    """The environment variable a provider's key comes from when the session has none."""
    entry = PROVIDERS.get(provider)
    if entry is None:
        return None
    return entry.env_keys[0] if entry.env_keys and env_api_key(entry) else None
