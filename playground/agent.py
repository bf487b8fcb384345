"""Agent: instructions, a model, tools and default options; `prompt` / `generate` / `stream` / `embed`, and the
approval calls that resume a suspended run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from .errors import ApprovalError, ConfigurationError, ToolArgumentsError
from .generation import Generation, StreamRun
from .loop import RunSetup, new_run_id, run_loop
from .messages import Message, normalize_input, normalize_messages, system_messages
from .output import StructuredOutput, parse_structured_output
from .providers.registry import resolve_provider
from .providers.transport import Transport
from .result import EmbeddingResult, GenerationResult, fast_construct, fast_replace
from .runs import RunState, RunStore, find_call, lease_seconds, record_decision, update_run
from .settings import CallOptions, ModelSettings, parse_model_settings
from .tools import Tool, check_guard_options, tools_by_name
from .tracing import (
    check_observability_options,
    dynamic_instructions,
    merged_prices,
    split_embed_options,
    stored_observability_options,
    traced_embedding,
)

if TYPE_CHECKING:
    import os

    import httpx2

    from .actions import ParameterizedAgent
    from .memory import Memory, MemoryCall

DEFAULT_MODEL = "demo"


class Agent:
    """An agent: `Agent(name=..., instructions=..., model="openai:gpt-4.1-mini", tools=[...])`.

    `model` is a model string (`"demo"`, `"openai:gpt-4.1-mini"`, `"anthropic:claude-..."`) or a provider instance.
    `http_client` (httpx2.Client or AsyncClient) is used for every request, which is how tests inject MockTransport.
    `record="demo.cassette"` keeps every request and response (keys masked) in a cassette that
    `model="replay:demo.cassette"` serves back offline (replay.py).
    """

    def __init__(
        self,
        name: str = "agent",
        instructions: str | Sequence[str] | Callable[..., Any] = "",
        model: Any = DEFAULT_MODEL,
        tools: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        description: str = "",
        toolsets: Sequence[Any] | None = None,
        model_settings: ModelSettings | Mapping[str, Any] | None = None,
        default_options: Mapping[str, Any] | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx2.Client | httpx2.AsyncClient | None = None,
        async_http_client: httpx2.AsyncClient | None = None,
        storage: RunStore | None = None,
        timeout: float | None = None,
        always_approve: Sequence[str] | None = None,
        input_processors: Sequence[Any] | None = None,
        output_processors: Sequence[Any] | None = None,
        max_processor_retries: int | None = None,
        prices: Mapping[str, Any] | None = None,
        memory: Memory | None = None,
        record: str | os.PathLike[str] | None = None,
    ) -> None:
        from .processors import check_processors
        from .validation import check_agent_args

        check_agent_args(
            name=name, model=model, api_key=api_key, base_url=base_url, headers=headers, storage=storage,
            timeout=timeout, always_approve=always_approve, max_processor_retries=max_processor_retries,
            instructions=instructions, description=description,
        )
        from .masking import check_api_key
        from .providers.transport import check_http_clients

        check_api_key(api_key)  # whitespace or a line break around a key: refused up front, shown masked
        check_http_clients(http_client, async_http_client)  # anything but httpx2: refused, never silently replaced
        self.name = name
        self.description = description
        self.instructions = instructions
        self.model = model
        self.tools: dict[str, Tool] = tools_by_name(tools)
        self.toolsets: list[Any] = _checked_toolsets(toolsets)
        """Toolsets served from outside (MCP servers): their tools join the agent's own at each call."""
        self.model_settings = parse_model_settings(model_settings, "model_settings")
        self.default_options = dict(default_options or {})
        self._api_key = api_key
        self._base_url = base_url
        self._headers = dict(headers or {})
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._timeout = timeout
        self._storage: RunStore | None = storage  # the default store is made on first use (see `storage`)
        self.always_approve: set[str] = set(always_approve or ())
        """Tools this agent runs without asking, in every run (a session's "always approve"); see approve_tool_call."""
        self.input_processors = check_processors(input_processors, "input_processors")
        self.output_processors = check_processors(output_processors, "output_processors")
        self.max_processor_retries = max_processor_retries
        from .pricing import parse_prices

        self.prices = parse_prices(prices)
        """Price overrides for this agent's models (pricing.py); a call's `prices=` goes on top."""
        self.memory: Memory | None = _checked_memory(memory)
        """Threads, recall and working memory (memory.py) for calls that pass `memory={"thread": ...}`."""
        self._providers: dict[str, tuple[Any, Transport]] = {}
        from .replay import check_record

        self.recorder = check_record(record)
        """Where this agent records its wire traffic (`record="demo.cassette"`; replay.py), or None."""
        self._lock = threading.Lock()
        self._live: dict[str, CallOptions] = {}
        if self.default_options:
            # fail at construction, not at the first call
            parse_structured_output(CallOptions.parse(self.default_options).structured_output)

    def close(self) -> None:
        """Stop the agent's MCP servers (they start again on next use). `with Agent(...) as agent:` does it for you."""
        for ts in self.toolsets:
            ts.close()

    async def aclose(self) -> None:
        for ts in self.toolsets:
            await ts.aclose()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Agent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Agent(name={self.name!r}, model={self.model_string!r}, tools={list(self.tools)})"

    def use_model(self, model: Any, *, api_key: str | None = None, base_url: str | None = None) -> None:
        """Switch to another model (and key or server), checked now: the CLI's --model, --api-key-env, --base-url."""
        from .validation import check_model

        check_model(model)
        for field, value in (("api_key", api_key), ("base_url", base_url)):
            if value is not None and not isinstance(value, str):
                raise ConfigurationError(f"{field}: expected a string, got {type(value).__name__}", field=field)
        with self._lock:
            self.model = model
            if api_key is not None:
                self._api_key = api_key
            if base_url is not None:
                self._base_url = base_url
            self._providers.clear()

    @property
    def storage(self) -> RunStore:
        """Where suspended runs are kept: SQLite in the data directory by default, so approvals survive a restart;
        PostgreSQL when PLAYGROUND_DATABASE_URL is a postgresql:// URL (servers and workers then share approvals).
        The default store is made on first use, so an agent built at import writes where the environment points then."""
        if self._storage is None:
            from .storage import default_run_store

            self._storage = default_run_store()
        return self._storage

    @storage.setter
    def storage(self, value: RunStore) -> None:
        self._storage = value

    # -- model resolution ---------------------------------------------------------------------------------------------
    @property
    def model_string(self) -> str:
        if isinstance(self.model, str):
            return self.model
        return getattr(self.model, "model_string", type(self.model).__name__)

    @property
    def provider(self) -> Any:
        return self._resolve(self.model_string)[0]

    def _owns_credentials(self, model: str) -> bool:
        """The agent's api_key, base_url and headers belong to its own model's provider: never sent elsewhere."""
        from .providers.registry import key_family, split_model_string

        own = self.model if isinstance(self.model, str) else str(getattr(self.model, "name", ""))
        own_prefix = split_model_string(own)[0] if ":" in own or own == "demo" else own
        return key_family(split_model_string(model)[0]) == key_family(own_prefix)

    def _resolve(self, model: str) -> tuple[Any, Transport]:
        cached = self._providers.get(model)  # entries are only added, or all cleared, under the lock: a read needs none
        if cached is not None:
            return cached
        with self._lock:
            cached = self._providers.get(model)
            if cached is not None:
                return cached
            if not isinstance(self.model, str) and model == self.model_string:
                provider = self.model
            elif self._owns_credentials(model):
                provider = resolve_provider(
                    model, api_key=self._api_key, base_url=self._base_url, headers=self._headers or None
                )
            else:  # another provider (prepare_step, structured output, embed): its own key from its env variable
                provider = resolve_provider(model)
            client = self._http_client
            async_client = self._async_http_client
            if (client is None and async_client is None) or getattr(provider, "is_replay", False) is True:
                make = getattr(provider, "default_http_clients", None)  # a replay never reaches the network
                if make is not None:
                    client, async_client = make()
            if self.recorder is not None:
                from .replay import recording_clients

                client, async_client = recording_clients(self.recorder, provider, model, client, async_client)
            transport = Transport(
                client,
                async_client=async_client,
                secrets=provider.secrets(),
                timeout=self._timeout,
                provider=getattr(provider, "name", None),
            )
            self._providers[model] = (provider, transport)
            return provider, transport

    # -- options ------------------------------------------------------------------------------------------------------
    def _options(self, options: Mapping[str, Any]) -> CallOptions:
        if not options and not self.default_options:  # a call with no options: the same checked options every time
            return _no_options()
        from .memory import fold_legacy_memory_options

        merged = fold_legacy_memory_options({**self.default_options, **options})
        check_guard_options(merged)  # require_tool_approval="no" or 0 is refused, never read as False
        parsed = CallOptions.parse(merged)
        parse_structured_output(parsed.structured_output)  # a bad schema fails before anything is sent
        check_observability_options(parsed)  # telemetry, tracing_options, request_context, prices
        return parsed

    def _output_for(self, options: CallOptions) -> tuple[StructuredOutput | None, str]:
        """The structured output spec and how it reaches the model: "native", "prompt", "model" or "" (none)."""
        output = parse_structured_output(options.structured_output)
        if output is None:
            return None, ""
        if output.model:
            return output, "model"
        if output.json_prompt_injection:
            return output, "prompt"
        provider = self._resolve(self._model_for(options))[0]
        capability = getattr(getattr(provider, "capabilities", None), "structured_output", "prompt")
        return output, "native" if capability == "native" else "prompt"

    def _model_for(self, options: CallOptions) -> str:
        return self.model_string

    def _settings_for(self, options: CallOptions) -> ModelSettings:
        return self.model_settings.merged(options.model_settings)

    def _tools_for(self, options: CallOptions) -> tuple[dict[str, Tool], dict[str, Tool]]:
        tools = dict(self.tools)
        if self.toolsets:
            from .mcp import toolset_tools

            tools.update(toolset_tools(self.toolsets, tools))
        for set_name, toolset in (options.toolsets or {}).items():
            for name, t in _toolset_by_name(toolset, f"toolsets.{set_name}").items():
                if name in tools:
                    raise ConfigurationError(
                        f"toolsets.{set_name}: tool {name!r} is already defined; tool names must be unique",
                        field="toolsets",
                    )
                tools[name] = t
        client = tools_by_name(options.client_tools, "client_tools") if options.client_tools else {}
        for name, t in client.items():
            if name in tools:
                raise ConfigurationError(
                    f"client_tools: {name!r} is also a server tool; tool names must be unique", field="client_tools"
                )
            if not t.is_client_tool:
                # a client tool is executed by the caller, never here
                client[name] = Tool(
                    t.name, t.description, t.parameters, None, requires_approval=t.requires_approval, strict=t.strict
                )
        call = self._memory_call(options)
        if call is not None:  # working memory's update tool (the agent's own tool of that name wins)
            for t in self._memory_for().tools_for(call):
                tools.setdefault(t.name, t)
        return tools, client

    def _memory_for(self) -> Memory:
        """The agent's Memory; a call with memory= on an agent without one uses the defaults (SQLite, last 10)."""
        if self.memory is None:
            from .memory import Memory

            self.memory = Memory()
        return self.memory

    def _memory_call(self, options: CallOptions) -> MemoryCall | None:
        if options.memory is None:
            return None
        return self._memory_for().call(options.memory)

    def _system_for(self, options: CallOptions) -> list[Message]:
        base = options.instructions if options.instructions is not None else self.instructions
        if callable(base):  # dynamic instructions: a function of the call's request_context
            base = dynamic_instructions(base, options.request_context)
        out = system_messages(base or None, "instructions")
        out += system_messages(options.system, "system")
        output, mode = self._output_for(options)
        if output is not None and mode == "prompt":
            out.append(Message.system(output.prompt()))
        return out

    def _setup(self, options: CallOptions, *, stream: bool) -> RunSetup:
        tools, client = self._tools_for(options)
        output, mode = self._output_for(options)
        retries = options.max_processor_retries
        if retries is None:
            retries = self.max_processor_retries if self.max_processor_retries is not None else 2
        return RunSetup(
            options=options,
            tools=tools,
            client_tools=client,
            model=self._model_for(options),
            resolve=self._resolve,
            store=self.storage,
            stream=stream,
            settings=self._settings_for(options),
            agent_name=self.name,
            on_status=self._track_live_options(options),
            output=output,
            response_format=output.response_format() if output is not None and mode == "native" else None,
            input_processors=list(
                options.input_processors if options.input_processors is not None else self.input_processors
            ),
            output_processors=list(
                options.output_processors if options.output_processors is not None else self.output_processors
            ),
            max_processor_retries=retries,
            prices=merged_prices(self.prices, options.prices),
            finalize=self._memory_finalize(options),
        )

    def _memory_finalize(self, options: CallOptions) -> Callable[[GenerationResult, RunState], GenerationResult] | None:
        """Saves the exchange to the thread when the run finishes or suspends (memory.py); None without memory."""
        call = self._memory_call(options)
        if call is None:
            return None
        from .drivers import OffLoop

        memory = self._memory_for()
        # store writes, embeddings and a title call block: async runs do them in a worker thread (drivers.OffLoop)
        return OffLoop(lambda result, state: memory.finish(call, result, state, self._title_text), "memory.finish")

    def _title_text(self, first_message: str) -> str:
        """A thread title from the first user message, by this agent's model (memory's generate_title=True)."""
        from .memory import TITLE_INSTRUCTIONS

        return self.generate(first_message, instructions=TITLE_INSTRUCTIONS, memory=None, active_tools=[],
                             max_steps=1, structured_output=None, input_processors=[], output_processors=[]).text

    def _new_state(self, messages: list[Message], options: CallOptions,
                   embed_cache: dict[str, list[float]] | None = None) -> RunState:
        context = normalize_messages(options.context) if options.context is not None else []
        warnings = []
        system = self._system_for(options)
        remembered: list[Message] = []
        call = self._memory_call(options)
        if call is not None:  # history before the input, recall and working memory as system messages (memory.py)
            prepared = self._memory_for().prepare(call, messages, embed_cache=embed_cache)
            messages = [*prepared.history, *messages]
            system = [*system, *prepared.system]
            remembered = prepared.remembered
        return fast_construct(
            RunState,
            run_id=options.run_id or new_run_id(),
            agent_name=self.name,
            model=self._model_for(options),
            system=system,
            messages=list(messages),
            response_start=len(messages),
            remembered=remembered,
            context=context if not context or all(isinstance(m, Message) for m in context) else [],
            warnings=warnings,
            always_approve=sorted(self.always_approve | set(options.always_approve or ())),
        )

    def _track_live_options(self, options: CallOptions) -> Callable[[RunState], None]:
        """Keep a suspended run's options (callbacks and processors cannot be stored) until the run finishes."""

        def on_status(state: RunState) -> None:
            if state.status == "suspended":
                if not state.options:  # what another process needs to resume; serialised only when needed
                    state.options = _serialisable_options(options)
                self._live[state.run_id] = options
            else:
                self._live.pop(state.run_id, None)

        return on_status

    # -- generation ---------------------------------------------------------------------------------------------------
    def with_(self, **params: Any) -> ParameterizedAgent:
        """ActiveAgent's parameterized generation: `agent.with_(name="Ada").prompt("Greet {{ name }}")`. Params fill
        `{{ name }}` in instructions and messages and reach tools and processors as the call's request_context."""
        from .actions import ParameterizedAgent

        return ParameterizedAgent(self, params)

    def prompt(self, messages: Any, **options: Any) -> Generation:
        """A Generation that has sent nothing: inspect it, then `generate_now()`, `stream()` or `generate_later()`."""
        if type(messages) is str and messages.strip():  # the common agent.generate("text"): what normalize_input builds
            return Generation(self, [Message.user(messages)], self._options(options))
        return Generation(self, normalize_input(messages), self._options(options))

    def generate(self, messages: Any, **options: Any) -> GenerationResult:
        return self.prompt(messages, **options).generate_now()

    async def generate_async(self, messages: Any, **options: Any) -> GenerationResult:
        return await self.prompt(messages, **options).generate_async()

    def stream(self, messages: Any, **options: Any) -> StreamRun:
        return self.prompt(messages, **options).stream()

    # -- approval -----------------------------------------------------------------------------------------------------
    def _load_suspended(self, run_id: str) -> RunState:
        state = self.storage.load(run_id)
        if state is None:
            raise ApprovalError(
                f"no suspended run {run_id!r}: it finished, was never suspended, or was stored elsewhere "
                "(pass the same storage= to the Agent)"
            )
        return state

    def _resume_options(self, state: RunState, overrides: Mapping[str, Any]) -> CallOptions:
        live = self._live.get(state.run_id)
        if live is not None and not overrides:
            return live
        if live is not None:
            return CallOptions.parse({**live.model_dump(exclude_none=True), **overrides})
        # another process (or a restart): the stored options, with this agent's defaults for what cannot be stored
        stored = dict(state.options)
        default_output = parse_structured_output(CallOptions.parse(self.default_options).structured_output)
        stored_schema = (stored.get("structured_output") or {}).get("schema")
        if default_output is not None and stored_schema == default_output.schema:
            stored.pop("structured_output")  # the agent's own option (e.g. a pydantic model) is better than its schema
        return CallOptions.parse({**self.default_options, **stored, **overrides})

    def _decide(
        self, run_id: str, tool_call_id: str, decision: Literal["approved", "declined"], *,
        args: dict[str, Any] | None = None, reason: str | None = None, always: bool = False,
    ) -> RunState:
        """Record a decision atomically in the store (a call decided twice raises ApprovalError, in any process)."""
        if not isinstance(always, bool):  # "no" must not approve the tool for the rest of the run
            raise ApprovalError(f"always: expected True or False, got {always!r:.40}")
        for name, value in (("run_id", run_id), ("tool_call_id", tool_call_id)):
            if not isinstance(value, str):  # e.g. a README's `run_id=...` pasted as is (an empty id: find_call says)
                raise ApprovalError(
                    f"{name}: expected the id as a string (result.run_id / "
                    f"result.suspend_payload.pending[i].tool_call_id, or `playground runs`), got {value!r:.40}"
                )
        state = self._load_suspended(run_id)
        call = find_call(state, tool_call_id)  # our id, or the model's where unambiguous; else ApprovalError
        if args is not None and not isinstance(args, dict):
            raise ApprovalError(f"args: expected a dict of the tool's arguments, got {type(args).__name__}")
        if decision == "approved" and args is not None and call in state.pending and call.awaits_person:
            self._check_edited_args(state, call.tool_name, call.tool_call_id, args)
        fresh, _ = update_run(
            self.storage, run_id,
            lambda s: record_decision(
                s, tool_call_id, decision, args=args, reason=reason, always=always, lease=lease_seconds(self.storage)
            ),
        )
        return fresh

    def _check_edited_args(self, state: RunState, tool_name: str, tool_call_id: str, args: dict[str, Any]) -> None:
        tools, _ = self._tools_for(self._resume_options(state, {}))
        tool = tools.get(tool_name)
        if tool is None:
            return  # answered as "not available" when the run resumes
        try:
            tool.validate_args(args)
        except ToolArgumentsError as exc:
            problems = str(exc).split(": ", 1)[-1].rsplit(". Call it again", 1)[0]
            raise ToolArgumentsError(
                f"Edited arguments for tool call {tool_call_id!r} ({tool_name}) are invalid: {problems}. "
                f"Fix them and approve again; the schema is {tool.parameters}",
                tool_name=tool_name, tool_call_id=tool_call_id,
            ) from None

    def _resume_gen(self, state: RunState, options: CallOptions, *, stream: bool) -> Any:
        setup = self._setup(options, stream=stream)
        return run_loop(setup, state, resume=True)

    def approve_tool_call(
        self, run_id: str, tool_call_id: str, args: dict[str, Any] | None = None, *, always: bool = False,
        **options: Any,
    ) -> GenerationResult:
        """Approve a pending tool call (optionally with edited `args`, validated against the tool's schema) and resume.

        Works in any process that opens the same storage (the SQLite default: after a restart too), given only the
        run and call ids and an agent with the same tools. `always=True` approves this tool for the rest of the run,
        including its other pending calls in this step; to carry it across runs, add the name to
        `agent.always_approve` or pass `always_approve=[...]` to the next call. While other calls of the step are still
        undecided the returned result is `suspended` again, listing them.

        `tool_call_id` is the run's own id for the call (`suspend_payload.pending[i].tool_call_id`); the id the model
        sent is accepted only when it names exactly one call of the run. Approving an interrupted call (its process
        died while running it) retries it.
        """
        state = self._decide(run_id, tool_call_id, "approved", args=args, always=always)
        return self._resume_now(state, options)

    def decline_tool_call(
        self, run_id: str, tool_call_id: str, reason: str | None = None, **options: Any
    ) -> GenerationResult:
        """Decline a pending tool call; the model is told it was declined (and why) and the run resumes."""
        state = self._decide(run_id, tool_call_id, "declined", reason=reason)
        return self._resume_now(state, options)

    def _resume_now(self, state: RunState, options: Mapping[str, Any]) -> GenerationResult:
        from .drivers import drive_sync
        from .events import FinishEvent

        opts = self._resume_options(state, options)
        result = None
        for ev in drive_sync(self._resume_gen(state, opts, stream=False), opts.on_chunk, opts.abort_signal):
            if isinstance(ev, FinishEvent):
                result = ev.result
        assert result is not None
        return result

    async def approve_tool_call_async(
        self, run_id: str, tool_call_id: str, args: dict[str, Any] | None = None, *, always: bool = False,
        **options: Any,
    ) -> GenerationResult:
        state = self._decide(run_id, tool_call_id, "approved", args=args, always=always)
        return await self._resume_async(state, options)

    async def decline_tool_call_async(
        self, run_id: str, tool_call_id: str, reason: str | None = None, **options: Any
    ) -> GenerationResult:
        state = self._decide(run_id, tool_call_id, "declined", reason=reason)
        return await self._resume_async(state, options)

    async def _resume_async(self, state: RunState, options: Mapping[str, Any]) -> GenerationResult:
        from .drivers import drive_async
        from .events import FinishEvent

        opts = self._resume_options(state, options)
        result = None
        async for ev in drive_async(self._resume_gen(state, opts, stream=False), opts.on_chunk, opts.abort_signal):
            if isinstance(ev, FinishEvent):
                result = ev.result
        assert result is not None
        return result

    def resume_stream(
        self, run_id: str, tool_call_id: str, *, approve: bool, args: dict[str, Any] | None = None,
        reason: str | None = None, always: bool = False, **options: Any,
    ) -> StreamRun:
        """Approve or decline one call and stream the resumed run (what the playgrounds use)."""
        from .settings import AbortSignal

        if not isinstance(approve, bool):  # approve="no" is not an approval
            raise ApprovalError(f"approve: expected True or False, got {approve!r:.40}")
        if approve:
            state = self._decide(run_id, tool_call_id, "approved", args=args, always=always)
        else:
            state = self._decide(run_id, tool_call_id, "declined", reason=reason)
        opts = self._resume_options(state, options)
        abort = opts.abort_signal or AbortSignal()
        opts = fast_replace(opts, abort_signal=abort)
        return StreamRun(lambda: self._resume_gen(state, opts, stream=True), opts, abort)

    # -- embeddings ---------------------------------------------------------------------------------------------------
    def embed(self, input: str | Sequence[str], *, model: str | None = None, **options: Any) -> EmbedGeneration:
        """An embedding call that has sent nothing: `embed_now()`, `embed_async()` or `embed_later()`."""
        from .validation import check_embed_input

        return EmbedGeneration(self, check_embed_input(input), model, options)


_NO_OPTIONS: list[CallOptions] = []


def _no_options() -> CallOptions:
    """`CallOptions.parse({})`, parsed once: a call's options are read, never changed (a stream or a resume that
    needs other options makes a copy with `model_copy(update=...)`)."""
    if not _NO_OPTIONS:
        _NO_OPTIONS.append(CallOptions.parse({}))
    return _NO_OPTIONS[0]


def _serialisable_options(options: CallOptions) -> dict[str, Any]:
    """The options a resumed run needs that can be written to disk (no callables, no signals)."""
    keep = ("max_steps", "active_tools", "tool_call_concurrency", "provider_options", "timeout")
    out: dict[str, Any] = {k: getattr(options, k) for k in keep if getattr(options, k) is not None}
    out.update(stored_observability_options(options))  # telemetry, metadata, request_context, prices (JSON only)
    choice = options.tool_choice
    out["tool_choice"] = choice if isinstance(choice, str) else choice.model_dump()
    if isinstance(options.require_tool_approval, bool):
        out["require_tool_approval"] = options.require_tool_approval
    else:
        out["require_tool_approval"] = True  # a callable policy cannot be stored: fail closed
    if options.model_settings is not None:
        out["model_settings"] = options.model_settings.set_fields()
    if options.always_approve:
        out["always_approve"] = list(options.always_approve)
    output = parse_structured_output(options.structured_output)
    if output is not None:
        out["structured_output"] = output.to_stored()
    if options.max_processor_retries is not None:
        out["max_processor_retries"] = options.max_processor_retries
    if options.memory is not None:  # the thread the resumed run saves to, in any process
        from .memory import storable_memory_option

        out["memory"] = storable_memory_option(options.memory)
    return out


class EmbedGeneration:
    """An embedding call not yet sent; `request_preview()` shows the request."""

    def __init__(self, agent: Agent, inputs: list[str], model: str | None, options: dict[str, Any]) -> None:
        if not inputs or not all(isinstance(i, str) for i in inputs):
            raise ConfigurationError("embed: input must be a string or a non-empty list of strings", field="input")
        self.agent = agent
        self.inputs = inputs
        self.model = model or agent.model_string
        self.options, self._observe = split_embed_options(options)  # telemetry/tracing/prices are not sent

    def _provider(self) -> tuple[Any, Transport]:
        provider, transport = self.agent._resolve(self.model)
        if not hasattr(provider, "build_embed_request"):
            raise ConfigurationError(
                f"model {self.model!r} has no embeddings API; pass model='demo' or an embedding model "
                "such as 'openai:text-embedding-3-small'",
                field="model",
            )
        return provider, transport

    def request_preview(self) -> dict[str, Any]:
        from .providers.transport import masked_request

        provider, transport = self._provider()
        return masked_request(provider.build_embed_request(self.inputs, self.options), transport.secrets)

    def _result(self, provider: Any, transport: Transport, spec: Any, http: Any) -> EmbeddingResult:
        from .drivers import _json_or_text, _masked_error
        from .providers.transport import mask_headers, masked_request
        from .result import Embedding, RawRequest, RawResponse

        if not http.ok:
            raise _masked_error(provider.parse_error(http.status, http.headers, http.body), transport.secrets)
        from .providers.guard import parse_embed

        parsed = parse_embed(provider, http.status, http.headers, http.body, transport.secrets)  # no bare ValueError
        return EmbeddingResult(
            data=[Embedding(index=i, embedding=v) for i, v in enumerate(parsed.vectors)],
            model=parsed.model_id or getattr(provider, "model_string", self.model),
            usage=parsed.usage,
            raw_request=RawRequest(**masked_request(spec, transport.secrets)),
            raw_response=RawResponse(
                status=http.status, headers=mask_headers(http.headers, transport.secrets), body=_json_or_text(http.body)
            ),
            context=list(self.inputs),
            latency_ms=http.elapsed_ms,
        )

    def embed_now(self) -> EmbeddingResult:
        provider, transport = self._provider()
        spec = provider.build_embed_request(self.inputs, self.options)
        with traced_embedding(provider, self.inputs, self._observe, self.agent.prices) as done:
            return done(self._result(provider, transport, spec, transport.send(spec)))

    async def embed_async(self) -> EmbeddingResult:
        provider, transport = self._provider()
        spec = provider.build_embed_request(self.inputs, self.options)
        with traced_embedding(provider, self.inputs, self._observe, self.agent.prices) as done:
            return done(self._result(provider, transport, spec, await transport.send_async(spec)))

    def embed_later(self, *, queue: str = "default", wait: Any = None, wait_until: Any = None, priority: int = 0,
                    durable: bool | None = None, max_attempts: int | None = None) -> Any:
        """Queue the embedding on Huey like `generate_later` (playground/jobs.py); `job.result()` is the result."""
        from .jobs import embed_later

        return embed_later(self, queue=queue, wait=wait, wait_until=wait_until, priority=priority,
                           durable=durable, max_attempts=max_attempts)


def _checked_toolsets(toolsets: Any) -> list[Any]:
    """Agent(toolsets=[...]): MCP servers (anything with tools() and close())."""
    if toolsets is None:
        return []
    if isinstance(toolsets, str | bytes | Mapping) or not isinstance(toolsets, Sequence):
        raise ConfigurationError(
            "toolsets: give a list of MCP servers, e.g. toolsets=[MCPServerStdio(...)]", field="toolsets"
        )
    for i, ts in enumerate(toolsets):
        if not (callable(getattr(ts, "tools", None)) and callable(getattr(ts, "close", None))):
            raise ConfigurationError(
                f"toolsets[{i}]: {type(ts).__name__} is not a toolset; give an MCPServerStdio or MCPServerHTTP "
                "(plain tools go in tools=)",
                field="toolsets",
            )
    return list(toolsets)


def _toolset_by_name(toolset: Any, field_name: str) -> dict[str, Tool]:
    """A per-call toolset: tools as a list or mapping, or an MCP server."""
    if callable(getattr(toolset, "tools", None)) and callable(getattr(toolset, "close", None)):
        return dict(toolset.tools())
    return tools_by_name(toolset, field_name)


def _checked_memory(memory: Any) -> Memory | None:
    """Agent(memory=Memory(...)): threads, recall and working memory (memory.py)."""
    if memory is None:
        return None
    from .memory import Memory

    if not isinstance(memory, Memory):
        raise ConfigurationError(
            f"memory: expected a Memory, e.g. memory=Memory(last_messages=10), got {type(memory).__name__}; "
            "the thread and resource go in each call: agent.generate(..., memory={'thread': 't1'})",
            field="memory",
        )
    return memory
