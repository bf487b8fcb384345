"""The demo model: a deterministic simulated model that speaks the OpenAI Chat Completions wire format through an
in-process httpx2 transport. No key, no network; the raw request and response views show real wire JSON and the same
parsing code runs as for a real server.

It calls an offered tool when the user's words name it (arguments drawn from the message and the tool's schema),
answers from tool results, emits reasoning and sources, counts tokens, honours max tokens and stop sequences, returns
schema-valid JSON for structured output, and embeds text with hashed character n-grams. `/error 429` as a message
makes it answer with that HTTP error, for trying error handling.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar

import httpx2

from . import demo_extract
from .base import Capabilities, EmbeddingResponse, HttpRequestSpec
from .openai_chat import OpenAIChatProvider

DEMO_BASE_URL = "http://demo.playground.local/v1"
DEMO_MODELS = ("demo-1",)
EMBED_DIMENSIONS = 64
_TOKEN = re.compile(r"\w+|[^\w\s]")
_STOP_WORDS = frozenset(
    (
        "get",
        "set",
        "the",
        "and",
        "for",
        "with",
        "from",
        "into",
        "what",
        "whats",
        "is",
        "are",
        "was",
        "to",
        "of",
        "in",
        "on",
        "a",
        "an",
        "do",
        "does",
        "please",
        "can",
        "you",
        "me",
        "my",
        "tool",
        "call",
        "use",
        "run",
        "check",
        "find",
        "look",
    )
)


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def _chunk_delay() -> float:
    try:
        return float(os.environ.get("PLAYGROUND_DEMO_DELAY", "0.03"))
    except ValueError:
        return 0.03


# ----------------------------------------------------------------------------------------------------------------
# The simulated model


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _tool_words(name: str) -> list[str]:
    return [w for w in re.split(r"[_\-\s]+|(?<=[a-z])(?=[A-Z])", name.lower()) if w and w not in _STOP_WORDS]


def _pick_tools(text: str, tools: list[dict[str, Any]], tool_choice: Any) -> list[dict[str, Any]]:
    if tool_choice == "none" or not tools:
        return []
    if isinstance(tool_choice, dict):
        wanted = (tool_choice.get("function") or {}).get("name")
        return [t for t in tools if t["function"]["name"] == wanted][:1]
    low = text.lower()
    scored: list[tuple[int, int, dict[str, Any]]] = []
    for t in tools:
        positions = [
            m.start() for w in _tool_words(t["function"]["name"]) for m in re.finditer(rf"\b{re.escape(w)}", low)
        ]
        if positions:
            scored.append((len(positions), -min(positions), t))
    if scored:
        scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
        return [scored[0][2]]
    if tool_choice == "required":
        return tools[:1]
    return []


_CAPITALISED = re.compile(r"\b([A-Z][a-zA-Z\u00C0-\u017F]+(?:\s+[A-Z][a-zA-Z\u00C0-\u017F]+)*)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _place_names(text: str, exclude: set[str]) -> list[str]:
    found = []
    for m in _CAPITALISED.finditer(text):
        name = m.group(1)
        at_start = m.start() == 0 or text[: m.start()].rstrip().endswith((".", "!", "?"))
        if name.lower() in exclude or (
            at_start and " " not in name and name.lower() in _STOP_WORDS | {"refund", "what"}
        ):
            continue
        if at_start and name.split()[0].lower() in exclude | _STOP_WORDS | {"what", "how", "tell", "show"}:
            rest = name.split()[1:]
            if not rest:
                continue
            name = " ".join(rest)
        found.append(name)
    after = re.findall(r"\b(?:in|for|at|about|near)\s+([a-z][a-z]+)", text)
    return found or [a.title() for a in after if a not in _STOP_WORDS]


_AMOUNT_WORDS = ("amount", "price", "total", "cost", "sum", "refund", "value", "dollars", "money")


def _in_range(value: Any, prop: Mapping[str, Any]) -> Any:
    """A number moved inside the schema's minimum / maximum, so the demo's JSON is always schema-valid."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return value
    low, high = prop.get("minimum"), prop.get("maximum")
    if isinstance(high, int | float) and value > high:
        value = type(value)(high)
    if isinstance(low, int | float) and value < low:
        value = type(value)(low)
    return value


def _value_for(
    name: str, prop: Mapping[str, Any], text: str, numbers: list[str], places: list[str], i: int,
    *, extracting: bool = False,
) -> Any:
    for key in ("anyOf", "oneOf"):  # `float | None`: the non-null choice
        if key in prop and "type" not in prop:
            choice = next((o for o in prop[key] if o.get("type") != "null"), prop[key][0])
            prop = {**{k: v for k, v in prop.items() if k != key}, **choice}
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in prop:
        low = text.lower()
        return next((v for v in prop["enum"] if str(v).lower() in low), prop["enum"][0])
    lname = name.lower()
    if kind in ("integer", "number"):
        meant = demo_extract.age(text) if "age" in lname.split("_") else None
        if meant is None and any(w in lname for w in _AMOUNT_WORDS):
            meant = demo_extract.amount(text)
        if meant is not None and meant in numbers:
            numbers.remove(meant)
        if meant is None and numbers:
            meant = numbers.pop(0)
        if meant is not None:
            return _in_range(int(float(meant)) if kind == "integer" else float(meant), prop)
        return _in_range(prop.get("default", 0 if extracting else 1), prop)
    if kind == "boolean":
        return bool(re.search(r"\b(yes|true|enable|on)\b", text.lower()))
    if kind == "array":
        items = prop.get("items") or {"type": "string"}
        return [_value_for(name, items, text, numbers, places, i)]
    if kind == "object":
        return instance_for_schema(prop, text)
    if any(k in lname for k in ("phone", "mobile", "tel")):
        found = demo_extract.phones(text)
        return found[0] if found else ("" if extracting else "+1 555 0100")
    if "id" in lname.split("_") or lname.endswith("id") or "number" in lname:
        stem = re.sub(r"_?(id|number|no)$", "", lname).replace("_", " ").strip()
        value = demo_extract.id_after(text, stem)
        if value is None:
            m = re.search(r"\b[A-Z]*-?\d[\w-]*\b", demo_extract.without_contacts(text))
            value = m.group(0) if m else None
        if value is not None:
            if value in numbers:
                numbers.remove(value)
            return value
    if lname in ("name", "full_name", "person", "contact", "customer", "author") or lname.endswith("_name"):
        people = demo_extract.person_names(text)
        if people and not any(k in lname for k in ("city", "place", "country", "tool", "file", "company")):
            return people[i] if i < len(people) else people[0]
    if any(k in lname for k in ("city", "location", "place", "country", "name", "where", "destination")):
        if i < len(places):
            return places[i]
        if places:
            return places[0]
    if any(k in lname for k in ("query", "question", "topic", "text", "prompt", "search", "q")):
        return text.strip()
    if "email" in lname:
        found = demo_extract.emails(text)
        return found[0] if found else ("" if extracting else "user@example.com")
    if "reason" in lname:
        return "requested by the customer"
    if "default" in prop:
        return prop["default"]
    return places[0] if places else text.strip()[:80]


def args_for_tool(tool: Mapping[str, Any], text: str, index: int = 0) -> dict[str, Any]:
    """Arguments drawn from the message for a tool's JSON schema: numbers, names, ids, enums."""
    schema = tool.get("parameters") or {}
    props: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    numbers = demo_extract.plain_numbers(text)
    places = _place_names(text, set(_tool_words(tool.get("name", ""))))
    out: dict[str, Any] = {}
    for name, prop in props.items():
        if name not in required and "default" in prop:
            given = any(w in name.lower() for w in _AMOUNT_WORDS) and demo_extract.amount(text) is not None
            if not given:  # optional, and the message says nothing about it: the tool's default applies
                continue
        out[name] = _value_for(name, prop, text, numbers, places, index)
    return out


def instance_for_schema(schema: Mapping[str, Any], text: str, defs: Mapping[str, Any] | None = None) -> Any:
    """A schema-valid JSON value with values drawn from `text` (structured output on the demo model)."""
    table: Mapping[str, Any] = defs if defs is not None else (schema.get("$defs") or schema.get("definitions") or {})
    if "$ref" in schema:
        ref = schema["$ref"].rsplit("/", 1)[-1]
        return instance_for_schema(table.get(ref, {}), text, table)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return instance_for_schema(options[0], text, table)
    if "allOf" in schema:
        return instance_for_schema(schema["allOf"][0], text, table)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        props: dict[str, Any] = schema.get("properties") or {}
        numbers = demo_extract.plain_numbers(text)
        places = _place_names(text, set())
        out: dict[str, Any] = {}
        for name, prop in props.items():
            resolved = prop
            if "$ref" in prop:
                resolved = table.get(prop["$ref"].rsplit("/", 1)[-1], {})
            nested = resolved.get("type") in ("object", "array") or "properties" in resolved
            if nested or any(
                k in resolved and any(o.get("type") == "object" or "$ref" in o for o in resolved[k])
                for k in ("anyOf", "oneOf")
            ):
                out[name] = instance_for_schema(resolved, text, table)
            else:
                out[name] = _value_for(name, resolved, text, numbers, places, 0, extracting=True)
        return out
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        return [instance_for_schema(items, piece, table) for piece in _pieces_per_person(items, text, table)]
    if kind in ("integer", "number"):
        nums = _NUMBER.findall(text)
        return (int(float(nums[0])) if kind == "integer" else float(nums[0])) if nums else 0
    if kind == "boolean":
        return True
    if "enum" in schema:
        return schema["enum"][0]
    return text.strip()[:80]


def _pieces_per_person(items: Mapping[str, Any], text: str, table: Mapping[str, Any]) -> list[str]:
    """For a list of objects with a name (list[Contact]): the text cut at each person named, one item each."""
    if "$ref" in items:
        items = table.get(str(items["$ref"]).rsplit("/", 1)[-1], {})
    if "name" not in (items.get("properties") or {}):
        return [text]
    people = demo_extract.person_names(text)
    starts = sorted({text.find(p) for p in people if text.find(p) >= 0})
    if len(starts) < 2:
        return [text]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def _requested_schema(body: Mapping[str, Any], system: str) -> dict[str, Any] | None:
    """The JSON Schema the caller wants: the native `response_format`, or one written into the system prompt
    (structured output by prompt injection: "... JSON Schema: {...}")."""
    rf = body.get("response_format") or {}
    if rf.get("type") == "json_schema":
        return (rf.get("json_schema") or {}).get("schema") or {}
    at = system.lower().find("json schema")
    start = system.find("{", at) if at >= 0 else -1
    if start < 0:
        return None
    try:
        schema, _ = json.JSONDecoder().raw_decode(system[start:])
    except ValueError:
        return None
    return schema if isinstance(schema, dict) else None


def _tool_values(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Every key/value of the JSON objects the tools returned, for filling a schema by field name."""
    values: dict[str, Any] = {}
    for m in messages:
        if m.get("role") != "tool":
            continue
        try:
            data = json.loads(_text_of(m.get("content")))
        except ValueError:
            continue
        if isinstance(data, dict):
            values.update(data)
    return values


def _fill_schema(schema: Mapping[str, Any], values: Mapping[str, Any], text: str) -> Any:
    """An instance of `schema` whose fields take the tools' values where names match, the message's otherwise."""
    base = instance_for_schema(schema, text)
    if not isinstance(base, dict):
        return base
    kinds = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}
    for name, prop in (schema.get("properties") or {}).items():
        if name in values:
            expected = kinds.get(prop.get("type", ""), object)
            if isinstance(values[name], expected) and not (isinstance(values[name], bool) and expected is not bool):
                base[name] = values[name]
    return base


def _arithmetic(text: str) -> str | None:
    m = re.search(r"(-?\d+(?:\.\d+)?)\s*([-+*/x×÷])\s*(-?\d+(?:\.\d+)?)", text)
    if not m:
        return None
    a, op, b = float(m.group(1)), m.group(2), float(m.group(3))
    ops = {"+": a + b, "-": a - b, "*": a * b, "x": a * b, "×": a * b}
    if op in ("/", "÷"):
        if b == 0:
            return f"{m.group(1)} {op} {m.group(3)} is undefined: division by zero."
        value = a / b
    else:
        value = ops[op]
    shown = int(value) if value == int(value) else round(value, 6)
    return f"{m.group(1)} {op} {m.group(3)} = {shown}."


def _summarise(result: str) -> str:
    try:
        value = json.loads(result)
    except ValueError:
        return result
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


class DemoBrain:
    """Decides what the demo model says for a Chat Completions request body."""

    def respond(self, body: Mapping[str, Any]) -> dict[str, Any]:
        messages: list[dict[str, Any]] = list(body.get("messages") or [])
        tools: list[dict[str, Any]] = list(body.get("tools") or [])
        system = " ".join(_text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
        user = next((_text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        last = messages[-1] if messages else {}
        reply: dict[str, Any] = {"content": "", "reasoning": "", "tool_calls": [], "annotations": []}
        from .demo_memory import memory_reply  # memory in play: recall facts, update working memory, titles

        remembered = memory_reply(body)
        if remembered is not None:
            return remembered

        from ..attachments import describe_wire_content  # images and files: say what arrived (name, type, size)

        received = describe_wire_content(last.get("content")) if last.get("role") == "user" else []
        if received:
            reply["reasoning"] = f"The message carries {len(received)} attachment(s); I describe what I received."
            reply["content"] = (f"I received {len(received)} attachment{'s' if len(received) != 1 else ''}: "
                                + "; ".join(received) + (f". You wrote: \u201c{user.strip()}\u201d." if user.strip()
                                                         else "."))
            return reply
        schema = _requested_schema(body, system)
        if last.get("role") == "tool":
            self._answer_from_tools(messages, reply)
            if schema is not None:  # structured output after tools: fill the schema from the tool results
                reply["content"] = json.dumps(
                    _fill_schema(schema, _tool_values(messages), f"{user} {reply['content']}")
                )
            return reply
        picked = _pick_tools(user, tools, body.get("tool_choice", "auto"))
        if picked:
            fn = picked[0]["function"]
            args = args_for_tool(fn, user)
            calls = [args]
            places = _place_names(user, set(_tool_words(fn["name"])))
            place_keys = [k for k, v in args.items() if isinstance(v, str) and places and v == places[0]]
            if place_keys and len(places) > 1:  # "weather in Paris and Rome": parallel calls
                calls = [{**args, place_keys[0]: p} for p in places[:3]]
            reply["reasoning"] = (
                f"The user's words name the {fn['name']} tool, so I will call it with "
                + " and ".join(json.dumps(a) for a in calls)
                + "."
            )
            for i, a in enumerate(calls):
                digest = hashlib.sha1(f"{fn['name']}{json.dumps(a, sort_keys=True)}{len(messages)}{i}".encode())
                reply["tool_calls"].append(
                    {
                        "id": f"call_{digest.hexdigest()[:24]}",
                        "type": "function",
                        "function": {"name": fn["name"], "arguments": json.dumps(a)},
                    }
                )
            return reply

        rf = body.get("response_format") or {}
        if schema is not None:
            reply["reasoning"] = "The caller asked for JSON matching a schema; I fill it from the message."
            reply["content"] = json.dumps(instance_for_schema(schema, demo_extract.answer_section(user)))
            return reply
        if rf.get("type") == "json_object":
            reply["content"] = json.dumps({"answer": user})
            return reply

        wants_sources = re.search(r"\b(source|sources|cite|citation|research|according)\b", f"{system} {user}", re.I)
        topic = " ".join(w for w in _words(user) if w not in _STOP_WORDS)[:60] or "the question"
        math_answer = _arithmetic(user)
        if math_answer:
            reply["reasoning"] = f"This is arithmetic: {math_answer}"
            reply["content"] = math_answer
        elif re.match(r"^\s*(hi|hello|hey)\b", user, re.I):
            reply["reasoning"] = "A greeting: answer briefly and say what I can do."
            reply["content"] = (
                "Hello! I am the demo model, a simulated model that runs offline. Ask me about the weather, "
                "an order, some arithmetic, or for sources."
            )
        else:
            reply["reasoning"] = f"The user asks about {topic}. No tool fits, so I answer directly."
            reply["content"] = (
                f"You asked: \u201c{user.strip()}\u201d. I am the demo model, so this answer is simulated: "
                f"a real model would answer about {topic} here."
            )
        if wants_sources:
            slug = "_".join(w.capitalize() for w in topic.split()[:3]) or "Agent"
            sources = [
                (f"https://en.wikipedia.org/wiki/{slug}", f"{topic.title()} - Wikipedia"),
                (f"https://www.britannica.com/search?query={topic.replace(' ', '+')}", f"{topic.title()} | Britannica"),
            ]
            reply["content"] += " According to the sources [1][2], this is a well-studied topic."
            for url, title in sources:
                reply["annotations"].append({"type": "url_citation", "url_citation": {"url": url, "title": title}})
        return reply

    @staticmethod
    def _answer_from_tools(messages: list[dict[str, Any]], reply: dict[str, Any]) -> None:
        results = []
        for m in reversed(messages):
            if m.get("role") != "tool":
                break
            results.append(m)
        results.reverse()
        names: dict[str, str] = {}
        for m in messages:
            for tc in m.get("tool_calls") or []:
                names[tc.get("id", "")] = (tc.get("function") or {}).get("name", "tool")
        lines = []
        for r in results:
            name = names.get(r.get("tool_call_id", ""), "the tool")
            content = _text_of(r.get("content"))
            if "declined" in content.lower():
                lines.append(f"The {name} call was declined, so I did not do it. {content}")
            elif content.lower().startswith(("error", "invalid arguments", "tool ")):
                lines.append(f"The {name} tool reported a problem: {content}")
            else:
                lines.append(f"{name} returned: {_summarise(content)}.")
        reply["reasoning"] = f"I have {len(results)} tool result(s); I summarise them for the user."
        reply["content"] = " ".join(lines) or "The tools returned nothing."


# ----------------------------------------------------------------------------------------------------------------
# The in-process server (Chat Completions, embeddings, models)


def embed_text(text: str, dimensions: int = EMBED_DIMENSIONS) -> list[float]:
    """A deterministic unit vector from hashed content words and their trigrams: similar texts get similar vectors
    (what semantic recall needs offline; see demo_memory.embedding_features)."""
    from .demo_memory import embedding_features

    vec = [0.0] * dimensions
    for feature, weight in embedding_features(text):
        h = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=4).digest(), "little")
        vec[h % dimensions] += weight if h & 0x10000 else -weight
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [round(v / norm, 6) for v in vec]


class DemoServer(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """Answers Chat Completions, embeddings and model listing in-process, streaming at a readable pace."""

    def __init__(self, chunk_delay: float | None = None) -> None:
        self.brain = DemoBrain()
        self.chunk_delay = chunk_delay
        self.requests = 0

    def _delay(self) -> float:
        return _chunk_delay() if self.chunk_delay is None else self.chunk_delay

    # -- routing ------------------------------------------------------------------------------------------------------
    def _route(self, request: httpx2.Request) -> tuple[int, dict[str, Any] | None, list[str] | None]:
        self.requests += 1
        path = request.url.path
        if request.method == "GET" and path.endswith("/models"):
            return (
                200,
                {
                    "object": "list",
                    "data": [{"id": m, "object": "model", "owned_by": "playground"} for m in DEMO_MODELS],
                },
                None,
            )
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return 400, _error("The request body is not valid JSON.", "invalid_request_error"), None
        if path.endswith("/embeddings"):
            inputs = body.get("input")
            inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
            data = [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": embed_text(t, body.get("dimensions") or EMBED_DIMENSIONS),
                }
                for i, t in enumerate(inputs)
            ]
            tokens = sum(count_tokens(t) for t in inputs)
            return (
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": body.get("model", "demo-1"),
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
                None,
            )
        if not path.endswith("/chat/completions"):
            return 404, _error(f"Unknown path {path}", "not_found"), None
        if body.get("model") not in DEMO_MODELS:
            return (
                404,
                _error(
                    f"The model {body.get('model')!r} does not exist; the demo server has {', '.join(DEMO_MODELS)}.",
                    "model_not_found",
                ),
                None,
            )
        user = next(
            (_text_of(m.get("content")) for m in reversed(body.get("messages") or []) if m.get("role") == "user"), ""
        )
        m = re.match(r"^\s*/error\s+(\d{3})", user)
        if m and (body.get("messages") or [{}])[-1].get("role") == "user":
            status = int(m.group(1))
            return (
                status,
                _error(
                    f"Simulated error {status} requested by the message.",
                    "rate_limit_exceeded" if status == 429 else "simulated_error",
                ),
                None,
            )
        reply = self.brain.respond(body)
        return 200, None, self._render(body, reply)  # type: ignore[return-value]

    def _render(self, body: Mapping[str, Any], reply: dict[str, Any]) -> Any:
        """Apply max tokens and stop sequences, count tokens; returns (completion, chunks)."""
        content: str = reply["content"]
        finish = "tool_calls" if reply["tool_calls"] else "stop"
        for stop in body.get("stop") or []:
            if stop and stop in content:
                content = content[: content.index(stop)]
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if limit and not reply["tool_calls"]:
            # the answer comes first: reasoning gets what the answer leaves, so a small limit never gives
            # reasoning with no text (at least the first word of the answer is kept)
            content, cut = _fit(content, int(limit), keep_one=True)
            if cut:
                finish = "length"
                reply["reasoning"] = ""
            else:
                reply["reasoning"], _ = _fit(reply["reasoning"], max(0, int(limit) - count_tokens(content)))
        reasoning_tokens = count_tokens(reply["reasoning"])
        prompt_text = json.dumps(body.get("messages")) + json.dumps(body.get("tools") or [])
        prompt_tokens = count_tokens(prompt_text)
        completion_tokens = (
            count_tokens(content)
            + reasoning_tokens
            + sum(count_tokens(tc["function"]["arguments"]) + 3 for tc in reply["tool_calls"])
        )
        cached = (prompt_tokens // 64) * 32 if len(body.get("messages") or []) > 2 else 0
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        }
        created = int(time.time())
        seed = json.dumps(body, sort_keys=True).encode()
        cid = "chatcmpl-demo" + hashlib.sha1(seed).hexdigest()[:20]
        message: dict[str, Any] = {
            "role": "assistant",
            "content": content or None,
            "reasoning_content": reply["reasoning"] or None,
        }
        if reply["tool_calls"]:
            message["tool_calls"] = reply["tool_calls"]
        if reply["annotations"]:
            message["annotations"] = reply["annotations"]
        completion = {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": body.get("model"),
            "system_fingerprint": "fp_demo",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": usage,
        }
        return completion, self._chunks(cid, created, body, message, finish, usage)

    @staticmethod
    def _chunks(
        cid: str, created: int, body: Mapping[str, Any], message: dict[str, Any], finish: str, usage: dict[str, Any]
    ) -> list[str]:
        base = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body.get("model"),
            "system_fingerprint": "fp_demo",
        }

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
            return json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]})

        out = [chunk({"role": "assistant", "content": ""})]
        for piece in re.findall(r"\S+\s*", message.get("reasoning_content") or ""):
            out.append(chunk({"reasoning_content": piece}))
        for piece in re.findall(r"\S+\s*", message.get("content") or ""):
            out.append(chunk({"content": piece}))
        for ann in message.get("annotations") or []:
            out.append(chunk({"annotations": [ann]}))
        for i, tc in enumerate(message.get("tool_calls") or []):
            args = tc["function"]["arguments"]
            half = len(args) // 2
            out.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": i,
                                "id": tc["id"],
                                "type": "function",
                                "function": {"name": tc["function"]["name"], "arguments": ""},
                            }
                        ]
                    }
                )
            )
            out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": args[:half]}}]}))
            out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": args[half:]}}]}))
        out.append(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            out.append(json.dumps({**base, "choices": [], "usage": usage}))
        out.append("[DONE]")
        return out

    # -- transports ---------------------------------------------------------------------------------------------------
    def _response(self, request: httpx2.Request, stream_factory: Any) -> httpx2.Response:
        status, payload, rendered = self._route(request)
        headers = {
            "x-request-id": f"req_demo{self.requests:06d}",
            "openai-model": "demo-1",
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-remaining-requests": "9999",
        }
        if rendered is None:
            if status == 429:
                headers["retry-after"] = "0"
            return httpx2.Response(status, json=payload, headers=headers, request=request)
        completion, chunks = rendered  # type: ignore[misc]
        try:
            wants_stream = bool(json.loads(request.content).get("stream"))
        except ValueError:
            wants_stream = False
        if not wants_stream:
            return httpx2.Response(200, json=completion, headers=headers, request=request)
        headers["content-type"] = "text/event-stream; charset=utf-8"
        return httpx2.Response(200, headers=headers, stream=stream_factory(chunks), request=request)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        return self._response(request, lambda chunks: _SyncSSE(chunks, self._delay()))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return self._response(request, lambda chunks: _AsyncSSE(chunks, self._delay()))


def _fit(text: str, budget: int, *, keep_one: bool = False) -> tuple[str, bool]:
    """`text` cut at a word boundary to `budget` tokens; (text, whether it was cut)."""
    if count_tokens(text) <= budget:
        return text, False
    kept: list[str] = []
    used = 0
    for piece in re.findall(r"\S+\s*", text):
        n = count_tokens(piece)
        if used + n > budget and (kept or not keep_one):
            break
        kept.append(piece)
        used += n
    return "".join(kept).rstrip(), True


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


class _SyncSSE(httpx2.SyncByteStream):
    def __init__(self, chunks: list[str], delay: float) -> None:
        self.chunks, self.delay = chunks, delay

    def __iter__(self) -> Iterator[bytes]:
        for i, c in enumerate(self.chunks):
            if self.delay and i:
                time.sleep(self.delay)
            yield f"data: {c}\n\n".encode()


class _AsyncSSE(httpx2.AsyncByteStream):
    def __init__(self, chunks: list[str], delay: float) -> None:
        self.chunks, self.delay = chunks, delay

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i, c in enumerate(self.chunks):
            if self.delay and i:
                await asyncio.sleep(self.delay)
            yield f"data: {c}\n\n".encode()


# ----------------------------------------------------------------------------------------------------------------
# The provider


class DemoProvider(OpenAIChatProvider):
    """The offline demo model: Chat Completions translation, served by `DemoServer` in-process."""

    name: ClassVar[str] = "demo"
    default_base_url: ClassVar[str] = DEMO_BASE_URL
    env_key: ClassVar[tuple[str, ...]] = ()
    capabilities = Capabilities(reasoning=True, structured_output="native", images=True, files=True, embeddings=True,
                                sources=True)
    simulated = True

    def __init__(
        self,
        model: str = "demo-1",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        chunk_delay: float | None = None,
    ) -> None:
        super().__init__(model or "demo-1", api_key=None, base_url=base_url, headers=headers)
        self.chunk_delay = chunk_delay

    def default_http_clients(self) -> tuple[httpx2.Client, httpx2.AsyncClient]:
        server = DemoServer(self.chunk_delay)
        return httpx2.Client(transport=server), httpx2.AsyncClient(transport=server)

    def build_embed_request(self, inputs: list[str], options: Mapping[str, Any] | None = None) -> HttpRequestSpec:
        body: dict[str, Any] = {"model": self.model, "input": inputs, "encoding_format": "float"}
        if options and options.get("dimensions"):
            body["dimensions"] = options["dimensions"]
        return HttpRequestSpec("POST", f"{self.base_url}/embeddings", self.headers(), body)

    def parse_embed_response(self, status: int, headers: Mapping[str, str], body: bytes) -> EmbeddingResponse:
        from ..result import Usage

        data = json.loads(body)
        vectors = [d["embedding"] for d in sorted(data["data"], key=lambda d: d["index"])]
        tokens = (data.get("usage") or {}).get("prompt_tokens", 0)
        return EmbeddingResponse(vectors, Usage(input_tokens=tokens, total_tokens=tokens), data.get("model"))

    def build_list_models_request(self) -> HttpRequestSpec:
        return HttpRequestSpec("GET", f"{self.base_url}/models", self.headers())

    def parse_list_models(self, status: int, headers: Mapping[str, str], body: bytes) -> list[str]:
        return [m["id"] for m in json.loads(body).get("data", [])]
