"""Structured output: the `structured_output=` option, how it reaches the model, and how the answer is validated.

`structured_output` takes a pydantic model (or any type pydantic can validate, e.g. `list[Contact]`), a JSON Schema
(bare, or `{"schema": ...}`), or options in Mastra's shape (snake_case or camelCase keys):

    schema                 the pydantic model or JSON Schema
    model                  a separate structuring model: it runs after the agent over its text, reasoning and tool
                           results and returns the JSON (so the agent itself may answer in prose and use tools)
    error_strategy         "strict" (raise StructuredOutputError), "warn" (a warning, object None),
                           "fallback" (object = fallback_value)
    fallback_value         see error_strategy
    instructions           extra instructions for the structuring model (or the injected prompt)
    json_prompt_injection  put the schema in the system prompt instead of the provider's native JSON mode
    provider_options       provider options for the structuring model's call
    name, description      the name and description sent with a native response format

How the schema reaches the model follows the provider's capability table (`provider.capabilities.structured_output`):
"native" sends `ModelCall.response_format` on every step (the adapters map it to their wire shape), anything else
injects the schema into the system prompt. The final step's text is parsed (strict JSON first, then the JSON found in
prose or a code fence) and validated; `result.object` is the model instance (pydantic) or the plain value (schemas).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import ConfigurationError
from .messages import extract_json
from .providers.base import ResponseFormat

ErrorStrategy = Literal["strict", "warn", "fallback"]

_OPTION_KEYS = {
    "schema": "schema",
    "model": "model",
    "error_strategy": "error_strategy",
    "errorStrategy": "error_strategy",
    "fallback_value": "fallback_value",
    "fallbackValue": "fallback_value",
    "instructions": "instructions",
    "json_prompt_injection": "json_prompt_injection",
    "jsonPromptInjection": "json_prompt_injection",
    "provider_options": "provider_options",
    "providerOptions": "provider_options",
    "name": "name",
    "description": "description",
    "strict": "strict",
    "logger": "logger",
}
_SCHEMA_KEYS = {"type", "properties", "$ref", "anyOf", "oneOf", "allOf", "$schema", "items", "enum", "const", "$defs"}


@dataclass
class StructuredOutput:
    """The parsed `structured_output` option."""

    schema: dict[str, Any]
    name: str = "output"
    description: str | None = None
    output_type: Any = None
    """The Python type the answer is validated into (a pydantic model, list[...] ...); None for a JSON Schema."""
    model: str | None = None
    error_strategy: ErrorStrategy = "strict"
    fallback_value: Any = None
    instructions: str | None = None
    json_prompt_injection: bool = False
    provider_options: dict[str, Any] = field(default_factory=dict)
    strict: bool | None = None
    unwrap: bool = False
    """The root type is not an object, so it was sent wrapped as {"items": ...}; the answer is unwrapped."""

    # -- to the model ------------------------------------------------------------------------------------------------
    def response_format(self) -> ResponseFormat:
        strict = self.strict if self.strict is not None else is_strict_compatible(self.schema)
        return ResponseFormat(schema=self.schema, name=self.name, description=self.description, strict=strict)

    def prompt(self) -> str:
        """The system prompt that asks for JSON when the schema cannot be sent natively."""
        text = (
            "Answer with a single JSON value and nothing else (no prose, no code fences). It must match this JSON "
            f"Schema:\n{json.dumps(self.schema, ensure_ascii=False)}"
        )
        return f"{text}\n\n{self.instructions}" if self.instructions else text

    # -- from the model ----------------------------------------------------------------------------------------------
    def parse(self, text: str) -> tuple[Any, list[str]]:
        """(value, problems): the validated value, or None and what is wrong (each problem names its field)."""
        if not text or not text.strip():
            return None, ["(answer): the model returned no text to parse as JSON"]
        try:
            data = json.loads(text)
        except ValueError:
            data = extract_json(text)
            if data is None:
                return None, [f"(answer): not JSON: {text.strip()[:120]!r}"]
        if self.output_type is not None:
            try:
                value = TypeAdapter(self.output_type).validate_python(data)
                return (value.items if self.unwrap else value), []
            except ValidationError as exc:
                return None, [
                    f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
                ]
        problems = schema_errors(self.schema, data)
        return (data, []) if not problems else (None, problems)

    def to_stored(self) -> dict[str, Any]:
        """A JSON form for a suspended run's stored options (the Python type becomes its schema)."""
        out: dict[str, Any] = {"schema": self.schema, "name": self.name, "error_strategy": self.error_strategy}
        for key in ("model", "instructions", "description", "strict"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.json_prompt_injection:
            out["json_prompt_injection"] = True
        if self.provider_options:
            out["provider_options"] = self.provider_options
        try:
            json.dumps(self.fallback_value)
            if self.fallback_value is not None:
                out["fallback_value"] = self.fallback_value
        except (TypeError, ValueError):
            pass
        return out


def parse_structured_output(value: Any, field_name: str = "structured_output") -> StructuredOutput | None:
    """The `structured_output` option in any accepted shape. Raises ConfigurationError naming the bad key."""
    if value is None:
        return None
    if isinstance(value, StructuredOutput):
        return value
    if isinstance(value, dict) and value.get("type") == "json_schema" and isinstance(value.get("json_schema"), dict):
        inner = value["json_schema"]  # an OpenAI response_format pasted in
        return _from_schema(inner.get("schema") or {}, field_name, name=inner.get("name"))
    if isinstance(value, dict) and "schema" in value:
        unknown = [k for k in value if k not in _OPTION_KEYS]
        if unknown:
            raise ConfigurationError(
                f"{field_name}: unknown keys {unknown}; known keys are {sorted(set(_OPTION_KEYS.values()))}",
                field=field_name,
            )
        opts = {_OPTION_KEYS[k]: v for k, v in value.items()}
        out = _from_schema(opts.pop("schema"), f"{field_name}.schema", name=opts.pop("name", None))
        opts.pop("logger", None)
        strategy = opts.get("error_strategy", "strict")
        if strategy not in ("strict", "warn", "fallback"):
            raise ConfigurationError(
                f"{field_name}.error_strategy: {strategy!r} is not one of 'strict', 'warn', 'fallback'",
                field=field_name,
            )
        if strategy == "fallback" and "fallback_value" not in opts:
            raise ConfigurationError(
                f"{field_name}.fallback_value: error_strategy='fallback' needs a fallback_value", field=field_name
            )
        model = opts.get("model")
        if model is not None and not isinstance(model, str):
            model = getattr(model, "model_string", None)
            if model is None:
                raise ConfigurationError(
                    f"{field_name}.model: expected a model string such as 'openai:gpt-4.1-mini'", field=field_name
                )
        for key, val in opts.items():
            if key in ("model",):
                continue
            setattr(out, key, val)
        out.model = model
        out.provider_options = dict(opts.get("provider_options") or {})
        out.json_prompt_injection = bool(opts.get("json_prompt_injection", False))
        return out
    return _from_schema(value, field_name)


def _from_schema(value: Any, field_name: str, *, name: str | None = None) -> StructuredOutput:
    if isinstance(value, type) and issubclass(value, BaseModel):
        schema = strict_schema(value.model_json_schema())
        return StructuredOutput(schema=schema, name=_wire_name(name or value.__name__), output_type=value,
                                description=(value.__doc__ or "").strip() or None)
    if isinstance(value, dict):
        if not (_SCHEMA_KEYS & set(value)):
            raise ConfigurationError(
                f"{field_name}: {value!r:.80} is not a JSON Schema (no type, properties, $ref or anyOf); pass a "
                "pydantic model, a JSON Schema, or {'schema': ...} with options",
                field=field_name,
            )
        return StructuredOutput(schema=dict(value), name=_wire_name(name or value.get("title") or "output"))
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(value)
        schema = adapter.json_schema()
    except Exception as exc:
        raise ConfigurationError(
            f"{field_name}: expected a pydantic model, a type pydantic can validate, or a JSON Schema dict; "
            f"got {value!r:.80}",
            field=field_name,
        ) from exc
    if schema.get("type") != "object":
        # providers want an object at the root: wrap other types and unwrap the answer
        wrapped = {"type": "object", "properties": {"items": schema}, "required": ["items"],
                   "additionalProperties": False}
        if "$defs" in schema:
            wrapped["$defs"] = schema.pop("$defs")
        from pydantic import create_model

        wrapper = create_model("StructuredOutputItems", items=(value, ...))
        return StructuredOutput(schema=wrapped, name=_wire_name(name or "output"), output_type=wrapper, unwrap=True)
    return StructuredOutput(schema=schema, name=_wire_name(name or "output"), output_type=value)


def _wire_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "output"


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy with `additionalProperties: false` on every object (what OpenAI's strict mode asks for) and no titles."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: walk(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
            if out.get("type") == "object" and "properties" in out:
                out.setdefault("additionalProperties", False)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def is_strict_compatible(schema: dict[str, Any]) -> bool:
    """True when every object lists all its properties as required and forbids others (OpenAI strict mode)."""

    def ok(node: Any) -> bool:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                props = set(node["properties"])
                if node.get("additionalProperties") is not False or set(node.get("required") or []) != props:
                    return False
            if "default" in node:
                return False
            return all(ok(v) for v in node.values())
        if isinstance(node, list):
            return all(ok(v) for v in node)
        return True

    return ok(schema)


# ----------------------------------------------------------------------------------------------------------------
# JSON Schema validation (the subset models are asked to follow)

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "object": (dict,),
    "array": (list,), "null": (type(None),),
}


def schema_errors(schema: dict[str, Any], value: Any, path: str = "", defs: dict[str, Any] | None = None) -> list[str]:
    """Problems of `value` against `schema`, each prefixed with its path (`items.0.email: ...`)."""
    defs = defs if defs is not None else {**schema.get("definitions", {}), **schema.get("$defs", {})}
    where = path or "(root)"
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1])
        return schema_errors(target, value, path, defs) if target is not None else []
    for key in ("anyOf", "oneOf"):
        if key in schema:
            if any(not schema_errors(s, value, path, defs) for s in schema[key]):
                break
            return [f"{where}: matches none of the allowed shapes"]
    problems: list[str] = []
    for sub in schema.get("allOf") or []:
        problems += schema_errors(sub, value, path, defs)
    kind = schema.get("type")
    if kind is not None:
        names = kind if isinstance(kind, list) else [kind]
        allowed = tuple(t for n in names for t in _TYPES.get(n, ()))
        bad_bool = isinstance(value, bool) and "boolean" not in names
        bad_int = isinstance(value, float) and "integer" in names and "number" not in names and not value.is_integer()
        if (allowed and not isinstance(value, allowed)) or bad_bool or bad_int:
            return [*problems, f"{where}: expected {' or '.join(names)}, got {type(value).__name__} {value!r:.40}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: expected one of {schema['enum']}, got {value!r:.40}")
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: expected {schema['const']!r}")
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties") or {}
        for req in schema.get("required") or []:
            if req not in value:
                problems.append(f"{path + '.' if path else ''}{req}: field required")
        for key, item in value.items():
            sub_path = f"{path}.{key}" if path else str(key)
            if key in props:
                problems += schema_errors(props[key], item, sub_path, defs)
            elif schema.get("additionalProperties") is False:
                problems.append(f"{sub_path}: not allowed by the schema")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += schema_errors(schema["items"], item, f"{path}.{i}" if path else str(i), defs)
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(f"{where}: shorter than {schema['minLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(f"{where}: does not match {schema['pattern']!r}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where}: less than {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where}: greater than {schema['maximum']}")
    return problems
