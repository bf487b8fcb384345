"""Tools: `@tool` builds the JSON schema from type hints and the docstring (pydantic), validates arguments, runs
sync or async functions, and carries the approval policy.

A tool with no function is a client tool: its calls are returned to the caller instead of run.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from .errors import ConfigurationError, ToolArgumentsError
from .providers.base import ToolDefinition

ApprovalPolicy = bool | Callable[..., Any]


@dataclass
class ToolContext:
    """Passed to a tool that declares a parameter annotated `ToolContext`."""

    run_id: str
    tool_call_id: str
    tool_name: str
    messages: list[Any] = field(default_factory=list)
    context: Any = None
    abort_signal: Any = None
    request_context: dict[str, Any] = field(default_factory=dict)
    """The call's `request_context=` (Mastra's RequestContext): who asked, tenant, feature flags ..."""
    span: Any = None
    """The tool's `execute_tool` OpenTelemetry span when one is recorded (add your own attributes or events)."""


_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:\s*$", re.I)
_SECTION = re.compile(r"^\s*(Returns?|Raises|Yields|Examples?|Notes?)\s*:\s*$", re.I)
_PARAM_LINE = re.compile(r"^\s*\**(\w+)\**\s*(\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(description, {param: description}) from a Google-style docstring (also `:param x:` reST lines)."""
    if not doc:
        return "", {}
    doc = inspect.cleandoc(doc)
    lines = doc.splitlines()
    desc_lines: list[str] = []
    params: dict[str, str] = {}
    mode = "desc"
    current: str | None = None
    for line in lines:
        rest = re.match(r"^\s*:param\s+(?:\w+\s+)?(\w+)\s*:\s*(.*)$", line)
        if rest:
            params[rest.group(1)] = rest.group(2).strip()
            current, mode = rest.group(1), "params"
            continue
        if _ARGS_HEADER.match(line):
            mode = "params"
            continue
        if _SECTION.match(line) or re.match(r"^\s*:(returns?|raises?)", line):
            mode = "other"
            continue
        if mode == "desc":
            desc_lines.append(line)
        elif mode == "params":
            m = _PARAM_LINE.match(line)
            indent = len(line) - len(line.lstrip())
            if m and (current is None or indent <= 4):  # deeper lines continue the previous parameter
                name = str(m.group(1))
                params[name] = str(m.group(3)).strip()
                current = name
                continue
            if current and line.strip():
                params[current] = (params[current] + " " + line.strip()).strip()
    description = "\n".join(desc_lines).strip()
    return description, params


class Tool:
    """A function the model may call.

    Build one with `@tool`, or directly: `Tool(name=..., description=..., parameters=<JSON schema or pydantic model>,
    execute=fn)`. With no `execute` it is a client tool.
    """

    def __init__(
        self,
        name: str,
        description: str = "",
        parameters: dict[str, Any] | type[BaseModel] | None = None,
        execute: Callable[..., Any] | None = None,
        *,
        requires_approval: ApprovalPolicy = False,
        strict: bool | None = None,
        output_schema: dict[str, Any] | None = None,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name or ""):
            raise ConfigurationError(
                f"tool name {name!r}: use 1-64 letters, digits, '_' or '-' (what every provider accepts)", field="name"
            )
        check_policy(requires_approval, f"tool {name!r}: requires_approval")
        self.name = name
        self.description = description
        self.fn = execute
        self.requires_approval = requires_approval
        self.strict = strict
        self.output_schema = output_schema
        self._context_param: str | None = None
        self._args_model: type[BaseModel] | None = None
        if isinstance(parameters, type) and issubclass(parameters, BaseModel):
            self._args_model = parameters
            self.parameters = _clean_schema(parameters.model_json_schema())
        elif isinstance(parameters, dict):
            self.parameters = parameters
        elif execute is not None:
            self._args_model, self._context_param, param_docs = _model_from_signature(execute, name)
            self.parameters = _clean_schema(self._args_model.model_json_schema(), param_docs)
        else:
            self.parameters = {"type": "object", "properties": {}}
        self.is_async = execute is not None and (
            inspect.iscoroutinefunction(execute) or inspect.iscoroutinefunction(type(execute).__call__)
        )
        if execute is not None and self._context_param is None:
            self._context_param = _find_context_param(execute)

    @property
    def is_client_tool(self) -> bool:
        return self.fn is None

    def definition(self) -> ToolDefinition:
        return ToolDefinition(self.name, self.description, self.parameters, self.strict)

    def schema(self) -> dict[str, Any]:
        """The tool as a person reads it: name, description and JSON schema of its arguments."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def validate_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments. Raises ToolArgumentsError naming each bad field."""
        from .providers.base import INVALID_JSON_KEY

        if INVALID_JSON_KEY in args:
            raise ToolArgumentsError(
                f"The arguments for tool {self.name!r} were not a JSON object: {str(args[INVALID_JSON_KEY])[:200]!r}. "
                "Call the tool again with a JSON object matching its schema.",
                tool_name=self.name,
            )
        self._refuse_non_finite(args)
        if self._args_model is None:
            return _validate_json_schema(self.name, self.parameters, dict(args))
        try:
            model = self._args_model.model_validate(dict(args))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}" for e in exc.errors()
            )
            raise ToolArgumentsError(
                f"Invalid arguments for tool {self.name!r}: {problems}. "
                "Call it again with arguments matching its schema.",
                tool_name=self.name,
            ) from None
        out = {k: getattr(model, k) for k in type(model).model_fields}
        self._refuse_non_finite(out)  # "nan" / "inf" strings that validation turned into floats
        return out

    def _refuse_non_finite(self, args: Mapping[str, Any]) -> None:
        """NaN and infinities are invalid arguments: every comparison with NaN is False, so `amount > 100` could never
        ask for approval, and no JSON can carry them back."""
        bad = non_finite_paths(args)
        if bad:
            raise ToolArgumentsError(
                f"Invalid arguments for tool {self.name!r}: "
                + "; ".join(f"{where}: {value} is not a finite number" for where, value in bad)
                + ". Call it again with arguments matching its schema.",
                tool_name=self.name,
            )

    def requires_approval_for(self, args: Mapping[str, Any], context: Any = None) -> bool:
        """The tool's own policy for these arguments. A policy that raises fails closed (approval required)."""
        return evaluate_policy(self.requires_approval, self.name, args, context)

    def _call_args(self, kwargs: dict[str, Any], ctx: ToolContext | None) -> dict[str, Any]:
        if self._context_param and ctx is not None:
            return {**kwargs, self._context_param: ctx}
        return kwargs

    def run(self, args: Mapping[str, Any], ctx: ToolContext | None = None, *, validated: bool = False) -> Any:
        """Run synchronously (an async tool runs on its own loop, also inside a running one).
        `validated=True` skips validation for arguments that came out of `validate_args`."""
        if self.fn is None:
            raise ConfigurationError(f"tool {self.name!r} is a client tool: it has no function to run")
        kwargs = self._call_args(dict(args) if validated else self.validate_args(args), ctx)
        if self.is_async:
            return run_coroutine_sync(self.fn(**kwargs))
        result = self.fn(**kwargs)
        if inspect.isawaitable(result):
            return run_coroutine_sync(result)
        return result

    async def arun(self, args: Mapping[str, Any], ctx: ToolContext | None = None, *, validated: bool = False) -> Any:
        if self.fn is None:
            raise ConfigurationError(f"tool {self.name!r} is a client tool: it has no function to run")
        kwargs = self._call_args(dict(args) if validated else self.validate_args(args), ctx)
        if self.is_async:
            return await self.fn(**kwargs)
        import asyncio

        result = await asyncio.to_thread(self.fn, **kwargs)
        if inspect.isawaitable(result):
            return await result
        return result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Calling the tool calls its function, so decorated functions stay usable."""
        if self.fn is None:
            raise ConfigurationError(f"tool {self.name!r} is a client tool: it has no function to call")
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        flags = " client" if self.is_client_tool else ""
        flags += " requires_approval" if self.requires_approval else ""
        return f"Tool({self.name!r}{flags})"


def non_finite_paths(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(where, value) of every NaN or infinity in `value` (floats and Decimals, in dicts, lists and models)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [(path or "(arguments)", repr(value))]
    if isinstance(value, Decimal):
        return [] if value.is_finite() else [(path or "(arguments)", str(value))]
    if isinstance(value, Mapping):
        found: list[tuple[str, str]] = []
        for k, v in value.items():
            found += non_finite_paths(v, f"{path}.{k}" if path else str(k))
        return found
    if isinstance(value, list | tuple | set | frozenset):
        found = []
        for i, v in enumerate(value):
            found += non_finite_paths(v, f"{path}.{i}" if path else str(i))
        return found
    if isinstance(value, BaseModel):
        return non_finite_paths({k: getattr(value, k) for k in type(value).model_fields}, path)
    return []


def check_policy(policy: Any, where: str, field: str = "requires_approval") -> None:
    """An approval policy is True, False or a callable; anything else (None, "no", 0) is refused, not guessed at."""
    if isinstance(policy, bool) or callable(policy):
        return
    raise ConfigurationError(
        f"{where}: expected True, False or a function of the arguments returning bool, got "
        f"{type(policy).__name__} {policy!r:.40}",
        field=field,
    )


def check_guard_options(options: Mapping[str, Any]) -> None:
    """Call options that decide approval must say what they mean: `require_tool_approval` is True, False or a
    function (a string such as "no" or a 0 is an error, not False)."""
    for key in ("require_tool_approval", "requireToolApproval"):
        if key in options:
            check_policy(options[key], key, "require_tool_approval")


def evaluate_policy(policy: ApprovalPolicy | None, tool_name: str, args: Mapping[str, Any], context: Any) -> bool:
    """True when approval is needed. Callables get (args), (args, context) or keyword tool_name; errors fail closed."""
    if policy is None or policy is False:
        return False
    if policy is True:
        return True
    if not callable(policy):
        return bool(policy)
    try:
        params = inspect.signature(policy).parameters
        kwargs: dict[str, Any] = {}
        positional: list[Any] = [dict(args)]
        if "tool_name" in params:
            kwargs["tool_name"] = tool_name
        n_pos = sum(1 for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
        if "context" in params or n_pos >= 2:
            if "context" in params:
                kwargs["context"] = context
            else:
                positional.append(context)
        result = policy(*positional, **kwargs)
        if inspect.isawaitable(result):
            result = run_coroutine_sync(result)
        return bool(result)
    except Exception:
        return True


def run_coroutine_sync(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, also when this thread already runs an event loop (Jupyter)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _find_context_param(fn: Callable[..., Any]) -> str | None:
    try:
        hints = get_type_hints(fn)
    except Exception:
        return None
    for pname, hint in hints.items():
        if hint is ToolContext:
            return pname
    return None


def _model_from_signature(fn: Callable[..., Any], name: str) -> tuple[type[BaseModel], str | None, dict[str, str]]:
    sig = inspect.signature(fn)
    try:
        hints = get_type_hints(fn)
    except Exception as exc:
        raise ConfigurationError(f"tool {name!r}: could not read its type hints ({exc})") from exc
    _, param_docs = parse_docstring(fn.__doc__)
    fields: dict[str, Any] = {}
    context_param: str | None = None
    for pname, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.kind is param.POSITIONAL_ONLY:
            raise ConfigurationError(
                f"tool {name!r}: parameter {pname!r} is positional-only (before '/'); tools are called with keyword "
                "arguments, so remove the '/'",
                field="tools",
            )
        hint = hints.get(pname, Any)
        if hint is ToolContext:
            context_param = pname
            continue
        from pydantic import Field

        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[pname] = (hint, Field(default, description=param_docs.get(pname)))
    model = create_model(  # type: ignore[call-overload]
        f"{name}_args", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model, context_param, param_docs


def _clean_schema(schema: dict[str, Any], docs: dict[str, str] | None = None) -> dict[str, Any]:
    """Provider-friendly schema: no titles, descriptions from the docstring, `additionalProperties: false`."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "title" or not isinstance(v, str)}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    out = strip(schema)
    out.setdefault("type", "object")
    out.setdefault("properties", {})
    if docs:
        for pname, text in docs.items():
            prop = out["properties"].get(pname)
            if isinstance(prop, dict) and text:
                prop.setdefault("description", text)
    return out


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def _validate_json_schema(tool_name: str, schema: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Light validation for tools given a raw JSON schema: required fields and top-level types."""
    problems: list[str] = []
    props: dict[str, Any] = schema.get("properties") or {}
    for req in schema.get("required") or []:
        if req not in args:
            problems.append(f"{req}: Field required")
    for key, value in args.items():
        prop = props.get(key)
        if prop is None:
            if schema.get("additionalProperties") is False:
                problems.append(f"{key}: Extra inputs are not permitted")
            continue
        types = prop.get("type")
        names = types if isinstance(types, list) else [types] if types else []
        allowed = tuple(t for n in names for t in _JSON_TYPES.get(n, ()))
        bool_as_number = isinstance(value, bool) and "boolean" not in names
        if allowed and (not isinstance(value, allowed) or bool_as_number):
            problems.append(f"{key}: expected {' or '.join(names)}, got {type(value).__name__}")
        elif "enum" in prop and value not in prop["enum"]:
            problems.append(f"{key}: expected one of {prop['enum']}")
    if problems:
        raise ToolArgumentsError(
            f"Invalid arguments for tool {tool_name!r}: {'; '.join(problems)}. "
            "Call it again with arguments matching its schema.",
            tool_name=tool_name,
        )
    return args


@overload
def tool(fn: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    requires_approval: ApprovalPolicy = False,
    strict: bool | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    requires_approval: ApprovalPolicy = False,
    strict: bool | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a tool from a function: `@tool` or `@tool(requires_approval=True)`.

    The schema comes from the type hints; the description and per-argument descriptions from the docstring.
    `requires_approval` is a bool or a callable of (args) / (args, context) returning bool.
    """

    def wrap(f: Callable[..., Any]) -> Tool:
        doc_desc, _ = parse_docstring(f.__doc__)
        t = Tool(
            name or f.__name__,
            description if description is not None else doc_desc,
            None,
            f,
            requires_approval=requires_approval,
            strict=strict,
        )
        t.__doc__ = f.__doc__
        t.__wrapped__ = f  # type: ignore[attr-defined]
        return t

    if fn is not None:
        return wrap(fn)
    return wrap


def as_tool(value: Any, name: str | None = None) -> Tool:
    """A Tool from a Tool, a plain function, or a client-tool dict {"description", "parameters"}."""
    if isinstance(value, Tool):
        return value
    if callable(value):
        t = tool(value)
        if name and name != t.name:
            t.name = name
        return t
    if isinstance(value, dict):
        return _tool_from_dict(value, name)
    raise ConfigurationError(
        f"tool {name or value!r}: expected a Tool, a function, or a dict with a name", field="tools"
    )


# The keys a tool dict may have (Mastra's createTool shape and ours), grouped by what they set. Two spellings of one
# setting must agree; any other key is an error, since a misspelt `requireApproval` would otherwise drop a guard.
_DICT_TOOL_KEYS: dict[str, tuple[str, ...]] = {
    "name": ("name", "id"),
    "description": ("description",),
    "parameters": ("parameters", "input_schema", "inputSchema"),
    "output_schema": ("output_schema", "outputSchema"),
    "execute": ("execute",),
    "requires_approval": ("requires_approval", "requireApproval"),
    "strict": ("strict",),
}


def _tool_from_dict(value: dict[str, Any], name: str | None) -> Tool:
    """A Tool from a dict such as Mastra's `{"id", "description", "inputSchema", "execute", "requireApproval"}`."""
    label = name or value.get("name") or value.get("id") or "?"
    known = {k for keys in _DICT_TOOL_KEYS.values() for k in keys}
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise ConfigurationError(
            f"tool {label!r}: unknown key(s) {unknown} in a tool dict; known keys are {sorted(known)}",
            field="tools",
        )
    picked: dict[str, Any] = {}
    for setting, keys in _DICT_TOOL_KEYS.items():
        given = [(k, value[k]) for k in keys if k in value]
        if len(given) > 1 and any(v is not given[0][1] and v != given[0][1] for _, v in given[1:]):
            spelled = " and ".join(repr(k) for k, _ in given)
            raise ConfigurationError(
                f"tool {label!r}: {spelled} are two spellings of one setting with different values; give one",
                field="tools",
            )
        if given:
            picked[setting] = given[0][1]
    tool_name = name or picked.get("name")
    if not isinstance(tool_name, str) or not tool_name:
        raise ConfigurationError(
            "a tool dict needs a name: give it a 'name' (or Mastra's 'id'), or pass tools as a {name: tool} dict",
            field="tools",
        )
    description = picked.get("description", "")
    if not isinstance(description, str):
        raise ConfigurationError(f"tool {tool_name!r}: description must be a string", field="tools")
    execute = picked.get("execute")
    if execute is not None and not callable(execute):
        raise ConfigurationError(f"tool {tool_name!r}: execute must be a function", field="tools")
    policy = picked.get("requires_approval", False)
    check_policy(policy, f"tool {tool_name!r}: requires_approval")
    return Tool(
        tool_name,
        description,
        picked.get("parameters"),
        execute,
        requires_approval=policy,
        strict=picked.get("strict"),
        output_schema=picked.get("output_schema"),
    )


def tools_by_name(tools: Any, field_name: str = "tools") -> dict[str, Tool]:
    """Normalise a list of tools or a {name: tool} mapping into {name: Tool}, rejecting duplicate names."""
    if tools is None:
        return {}
    if not isinstance(tools, Mapping | list | tuple | set | frozenset):
        raise ConfigurationError(
            f"{field_name}: expected a list of tools or a {{name: tool}} dict, got {type(tools).__name__} "
            f"{tools!r:.40}",
            field=field_name,
        )
    items: list[tuple[str | None, Any]] = (
        list(tools.items()) if isinstance(tools, Mapping) else [(None, t) for t in tools]
    )
    out: dict[str, Tool] = {}
    for key, value in items:
        t = as_tool(value, key)
        if key and key != t.name:
            t = _renamed(t, key)
        if t.name in out:
            raise ConfigurationError(f"{field_name}: two tools are named {t.name!r}; tool names must be unique")
        out[t.name] = t
    return out


def _renamed(t: Tool, name: str) -> Tool:
    clone = Tool.__new__(Tool)
    clone.__dict__.update(t.__dict__)
    clone.name = name
    return clone
