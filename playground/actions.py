"""ActiveAgent's parameterized and action-based generation, with prompt templates (Jinja2, sandboxed).

    from playground import ActionAgent, action

    class Translator(ActionAgent):
        model = "demo"
        instructions = "You translate into {{ lang | default('French') }}."   # a string, or a template file's name

        @action
        def translate(self):                      # returns a Generation: inspect it, then now / stream / later
            return self.prompt(template="translate.md.j2")      # templates/translator/translate.md.j2 beside the file

    Translator.with_(text="Hello", lang="fr").translate().generate_now()
    Translator.with_(text="Hello").translate().request_preview()      # the rendered template in the exact request
    agent.with_(name="Ada").prompt("Greet {{ name }}")                # plain agents take params too

Direct (`agent.prompt(...)`), parameterized (`agent.with_(...).prompt(...)`) and action-based generation all return
the same `Generation`, so `generate_now`, `stream`, `generate_later` and `request_preview` work for each. Params fill
`{{ name }}` in instructions and messages (a missing one is an error naming it and the template) and reach tools and
processors as the call's `request_context` (ToolContext.request_context). Templates run in Jinja2's sandbox: template
code cannot reach Python internals.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .agent import Agent
    from .generation import Generation, StreamRun
    from .result import GenerationResult

T = TypeVar("T", bound="ActionAgent")
TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")


class TemplateError(ConfigurationError):
    """A template that cannot be rendered: a missing variable (named), unsafe code, or bad syntax."""


def _environment(search: Sequence[Path] = ()) -> Any:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False,
        loader=FileSystemLoader([str(p) for p in search]) if search else None,
    )


def template_variables(text: str) -> list[str]:
    """The `{{ names }}` a template needs, in order of appearance (for the playgrounds' variable fields)."""
    if "{{" not in text and "{%" not in text:
        return []
    from jinja2 import TemplateSyntaxError, meta

    env = _environment()
    try:
        needed = meta.find_undeclared_variables(env.parse(text))
    except TemplateSyntaxError:
        return []
    order = {name: text.find(name) for name in needed}
    return sorted(needed, key=lambda n: order[n])


def render_text(text: str, params: Mapping[str, Any], where: str = "template") -> str:
    """`text` with `{{ name }}` filled from params (sandboxed, strict). Text with no template syntax is kept as is."""
    if "{{" not in text and "{%" not in text:
        return text
    return _rendered(lambda: _environment().from_string(text).render(**params), params, where)


def _rendered(render: Callable[[], str], params: Mapping[str, Any], where: str) -> str:
    """Run a render; Jinja2's errors become TemplateErrors that name the variable, the template and the fix."""
    from jinja2 import TemplateError as JinjaError
    from jinja2 import TemplateNotFound, UndefinedError
    from jinja2.exceptions import SecurityError

    try:
        return render()
    except TemplateNotFound:
        raise
    except UndefinedError as exc:
        raise TemplateError(f"{where}: {exc.message}; pass it with with_({_missing(exc.message)}=...) "
                            f"(given: {', '.join(sorted(params)) or 'nothing'})", field="params") from None
    except SecurityError as exc:
        raise TemplateError(f"{where}: refused by the template sandbox ({exc})", field="template") from None
    except JinjaError as exc:
        raise TemplateError(f"{where}: not a valid template ({exc})", field="template") from None


def _missing(message: str | None) -> str:
    text = message or ""
    if "'" in text:
        return text.split("'")[1]
    return "name"


def render_file(name: str, params: Mapping[str, Any], search: Sequence[Path]) -> str:
    """Render the template file `name`, looked up in `search` (in order)."""
    from jinja2 import TemplateNotFound

    env = _environment(search)
    try:
        return _rendered(lambda: env.get_template(name).render(**params).strip(), params, f"template {name!r}")
    except TemplateNotFound:
        looked = ", ".join(str(p / name) for p in search) or "(nowhere)"
        raise TemplateError(f"template {name!r} not found; looked in {looked}", field="template") from None


def _is_template_name(text: str) -> bool:
    return "\n" not in text and text.strip().endswith(TEMPLATE_SUFFIXES)


def _check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    for key in params:
        if not isinstance(key, str) or not key.isidentifier():
            raise ConfigurationError(f"with_: param {key!r} must be a Python identifier", field="params")
    return dict(params)


# ----------------------------------------------------------------------------------------------------------------
# Parameterized generation on any agent


class ParameterizedAgent:
    """`agent.with_(**params)`: the agent's calls with params filled into instructions and messages."""

    def __init__(self, agent: Agent, params: Mapping[str, Any], search: Sequence[Path] = ()) -> None:
        self.agent = agent
        self.params = _check_params(params)
        self._search = list(search)

    def __repr__(self) -> str:
        return f"{self.agent!r}.with_({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"

    def with_(self, **params: Any) -> ParameterizedAgent:
        return ParameterizedAgent(self.agent, {**self.params, **params}, self._search)

    def _render_messages(self, messages: Any) -> Any:
        if isinstance(messages, str):
            return render_text(messages, self.params, "message")
        if isinstance(messages, list):
            out = []
            for m in messages:
                if isinstance(m, str):
                    out.append(render_text(m, self.params, "message"))
                elif isinstance(m, Mapping) and isinstance(m.get("content"), str):
                    out.append({**m, "content": render_text(m["content"], self.params, f"{m.get('role')} message")})
                else:
                    out.append(m)
            return out
        return messages

    def _options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        opts = dict(options)
        given = opts.pop("instructions", None)
        instructions = given if given is not None else self.agent.instructions
        if isinstance(instructions, str):
            opts["instructions"] = self.render_instructions(instructions)
        elif isinstance(instructions, list | tuple) and all(isinstance(x, str) for x in instructions):
            opts["instructions"] = [render_text(x, self.params, "instructions") for x in instructions]
        elif given is not None:
            opts["instructions"] = given
        context = opts.get("request_context") or opts.get("requestContext") or {}
        if not isinstance(context, Mapping):
            raise ConfigurationError("request_context: give a mapping", field="request_context")
        opts.pop("requestContext", None)
        opts["request_context"] = {**self.params, **context}  # params reach tools and processors
        return opts

    def render_instructions(self, instructions: str) -> str:
        if _is_template_name(instructions) and self._search:
            return render_file(instructions.strip(), self.params, self._search)
        return render_text(instructions, self.params, "instructions")

    def prompt(self, messages: Any, **options: Any) -> Generation:
        return self.agent.prompt(self._render_messages(messages), **self._options(options))

    def generate(self, messages: Any, **options: Any) -> GenerationResult:
        return self.prompt(messages, **options).generate_now()

    async def generate_async(self, messages: Any, **options: Any) -> GenerationResult:
        return await self.agent.generate_async(self._render_messages(messages), **self._options(options))

    def stream(self, messages: Any, **options: Any) -> StreamRun:
        return self.prompt(messages, **options).stream()


# ----------------------------------------------------------------------------------------------------------------
# Action-based generation


def action(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an ActionAgent method as an action: it returns a Generation (usually `self.prompt(...)`). The class's
    `before_generation` / `after_generation` callbacks run around it."""

    @functools.wraps(fn)
    def run(self: ActionAgent, *args: Any, **kwargs: Any) -> Any:
        self.action_name = fn.__name__
        for cb in type(self)._callbacks("before_generation"):
            cb(self)
        out = fn(self, *args, **kwargs)
        for cb in type(self)._callbacks("after_generation"):
            replaced = cb(self, out)
            if replaced is not None:
                out = replaced
        return out

    run.__playground_action__ = True  # type: ignore[attr-defined]
    return run


def before_generation(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a method to run before every action (it may read or change `self.params`)."""
    fn.__playground_callback__ = "before_generation"  # type: ignore[attr-defined]
    return fn


def after_generation(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a method `(self, generation)` to run after every action built its Generation (return a new one to
    replace it, or None to keep it)."""
    fn.__playground_callback__ = "after_generation"  # type: ignore[attr-defined]
    return fn


class ActionAgent:
    """An agent defined as a class: class attributes configure it (`model`, `instructions`, `tools`,
    `model_settings`, `name`, `description`, `default_options`, plus any Agent argument in `agent_options`), and
    methods decorated with `@action` build prompts from templates and `self.params`.

    Templates are found beside the class's file, in `templates/<name>/` then `templates/` then the file's folder."""

    model: ClassVar[Any] = "demo"
    instructions: ClassVar[str | Sequence[str]] = ""
    tools: ClassVar[Sequence[Any] | Mapping[str, Any] | None] = None
    model_settings: ClassVar[Any] = None
    name: ClassVar[str | None] = None
    description: ClassVar[str] = ""
    default_options: ClassVar[Mapping[str, Any] | None] = None
    agent_options: ClassVar[Mapping[str, Any]] = {}
    _agents: ClassVar[dict[type, Agent]] = {}

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = _check_params(params)
        self.action_name: str | None = None
        self.call_options: dict[str, Any] = {}
        """Options added to every prompt this instance builds (the CLI's --max-steps, tracing ...)."""

    @classmethod
    def with_(cls: type[T], **params: Any) -> T:
        """An instance holding these params; call one of its actions."""
        return cls(**params)

    # -- the class as an agent ------------------------------------------------------------------------------------
    @classmethod
    def agent_name(cls) -> str:
        if cls.name:
            return cls.name
        out = "".join(f"_{c.lower()}" if c.isupper() else c for c in cls.__name__).lstrip("_")
        return out.removesuffix("_agent") or out

    @classmethod
    def source_dir(cls) -> Path | None:
        """The folder of the file that defines the class (also when it was loaded from a path, not imported)."""
        try:
            return Path(inspect.getfile(cls)).resolve().parent
        except (TypeError, OSError):
            pass
        for value in vars(cls).values():
            fn = inspect.unwrap(value) if callable(value) else None
            code = getattr(fn, "__code__", None)
            if code is not None:
                return Path(code.co_filename).resolve().parent
        return None

    @classmethod
    def template_dirs(cls) -> list[Path]:
        here = cls.source_dir()
        if here is None:
            return []
        return [here / "templates" / cls.agent_name(), here / "templates", here]

    @classmethod
    def as_agent(cls) -> Agent:
        """The Agent behind the class (made once): what the playgrounds and `generate_later` use."""
        from .agent import Agent

        agent = ActionAgent._agents.get(cls)
        if agent is None:
            instructions = cls.instructions
            if isinstance(instructions, str) and _is_template_name(instructions):
                instructions = cls._template_source(instructions.strip())  # its {{ params }} filled at each call
            agent = Agent(
                name=cls.agent_name(), description=cls.description or (cls.__doc__ or "").strip().split("\n")[0],
                instructions=instructions if isinstance(instructions, str) else list(instructions),
                model=cls.model, tools=cls.tools, model_settings=cls.model_settings,
                default_options=cls.default_options, **dict(cls.agent_options),
            )
            ActionAgent._agents[cls] = agent
        return agent

    @classmethod
    def _template_source(cls, name: str) -> str:
        for d in cls.template_dirs():
            if (d / name).is_file():
                return (d / name).read_text(encoding="utf-8").strip()
        looked = ", ".join(str(d / name) for d in cls.template_dirs()) or "(nowhere)"
        raise TemplateError(f"{cls.__name__}.instructions: template {name!r} not found; looked in {looked}",
                            field="instructions")

    @classmethod
    def actions(cls) -> dict[str, list[str]]:
        """Each action's name and the params its templates use (for the playgrounds' action picker)."""
        out: dict[str, list[str]] = {}
        for attr in dir(cls):
            fn = getattr(cls, attr, None)
            if callable(fn) and getattr(fn, "__playground_action__", False):
                out[attr] = cls._action_params(attr)
        return out

    @classmethod
    def _action_params(cls, name: str) -> list[str]:
        found: list[str] = []
        texts: list[str] = []
        for d in cls.template_dirs():
            for suffix in TEMPLATE_SUFFIXES:
                for candidate in (d / f"{name}.md{suffix}", d / f"{name}{suffix}"):
                    if candidate.is_file():
                        texts.append(candidate.read_text(encoding="utf-8"))
        instructions = cls.instructions if isinstance(cls.instructions, str) else "\n".join(cls.instructions)
        if _is_template_name(instructions):
            for d in cls.template_dirs():
                if (d / instructions.strip()).is_file():
                    texts.append((d / instructions.strip()).read_text(encoding="utf-8"))
                    break
        else:
            texts.append(instructions)
        for text in texts:
            found += [v for v in template_variables(text) if v not in found]
        return found

    @classmethod
    def _callbacks(cls, kind: str) -> list[Callable[..., Any]]:
        out: list[Callable[..., Any]] = []
        listed = getattr(cls, kind, None)
        if isinstance(listed, list | tuple):
            for entry in listed:
                fn = getattr(cls, entry) if isinstance(entry, str) else entry
                out.append(fn)
        for attr in dir(cls):
            fn = getattr(cls, attr, None)
            if getattr(fn, "__playground_callback__", None) == kind:
                out.append(fn)  # type: ignore[arg-type]
        return out

    # -- building prompts -----------------------------------------------------------------------------------------
    def parameterized(self) -> ParameterizedAgent:
        return ParameterizedAgent(self.as_agent(), self.params, self.template_dirs())

    def render(self, template: str) -> str:
        """Render a template file (searched beside the class) with `self.params`."""
        return render_file(template, self.params, self.template_dirs())

    def prompt(self, message: Any = None, *, template: str | None = None, **options: Any) -> Generation:
        """The action's Generation: the message (or the rendered template; by default `<action>.md.j2`), with
        instructions and messages filled from `self.params`. Options are the call options of `Agent.prompt`."""
        if message is None:
            name = template or self._default_template()
            message = self.render(name)
        elif template is not None:
            raise ConfigurationError("prompt: give a message or a template, not both", field="template")
        return self.parameterized().prompt(message, **{**self.call_options, **options})

    def _default_template(self) -> str:
        if not self.action_name:
            raise ConfigurationError("prompt: give message= or template= (outside an action there is no default)",
                                     field="template")
        for d in self.template_dirs():
            for suffix in TEMPLATE_SUFFIXES:
                for candidate in (f"{self.action_name}.md{suffix}", f"{self.action_name}{suffix}"):
                    if (d / candidate).is_file():
                        return candidate
        return f"{self.action_name}.md.j2"

    def __repr__(self) -> str:
        return f"{type(self).__name__}.with_({', '.join(f'{k}={v!r}' for k, v in self.params.items())})"


# ----------------------------------------------------------------------------------------------------------------
# The command line: playground run agents/translator.py:Translator.translate --param text=Hello --param lang=fr


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """`--param name=value` (repeatable) as a dict; a value that reads as JSON (a number, true, a list) is parsed."""
    import json

    out: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ConfigurationError(f"--param {item!r}: write NAME=VALUE, e.g. --param lang=fr", field="param")
        try:
            out[name.strip()] = json.loads(value) if value[:1] in "[{0123456789-" or value in ("true", "false") \
                else value
        except ValueError:
            out[name.strip()] = value
    return out


def cli_generation(path: str, agent: Agent, message: str | None, params: Mapping[str, Any],
                   options: Mapping[str, Any]) -> Generation:
    """The Generation `playground run` sends: an action of an ActionAgent (`file.py:Class.action`), or the message
    to the agent, with params filled in."""
    _, _, attr = path.partition(":")
    owner, _, action_name = attr.partition(".")
    cls = action_class_of(agent)
    if cls is not None and action_name:
        method = getattr(cls, action_name, None)
        if not callable(method) or not getattr(method, "__playground_action__", False):
            raise ConfigurationError(f"{owner} has no action {action_name!r}; actions: "
                                     f"{', '.join(cls.actions()) or 'none'}", field="action")
        if message is not None:
            raise ConfigurationError("an action builds its own message: give --param values, not a message",
                                     field="message")
        instance = cls.with_(**params)
        instance.call_options = dict(options)
        gen = getattr(instance, action_name)()
        from .generation import Generation

        if not isinstance(gen, Generation):
            raise ConfigurationError(f"{owner}.{action_name} must return self.prompt(...) (a Generation)",
                                     field="action")
        return gen
    if action_name and cls is None:
        raise ConfigurationError(f"{owner} is not an ActionAgent: run it with a message", field="action")
    if message is None:
        raise ConfigurationError("give the message to send (or an action: file.py:Class.action)", field="message")
    if params:
        return ParameterizedAgent(agent, params).prompt(message, **options)
    return agent.prompt(message, **options)


def action_class_of(agent: Any) -> type[ActionAgent] | None:
    """The ActionAgent class an Agent was made from (`Class.as_agent()`), if any."""
    return next((c for c, a in ActionAgent._agents.items() if a is agent), None)
