"""Scorers: grade an answer, on every run (`agent.generate(..., scorers={...})`) or over a dataset (`run_eval`).

    from playground import scorers
    r = agent.generate("Weather in Paris?", scorers={
            "mentions_city": {"scorer": scorers.contains("Paris"), "sampling": {"type": "ratio", "rate": 1.0}},
            "judge": scorers.llm_judge(model="demo", rubric="Is the answer grounded in the tool result?")},
        return_scorer_data=True)
    r.scores["mentions_city"].passed

A scorer is any callable `(case) -> float | bool | Score` (sync or async); `case` is a `ScoringCase`: the input, the
output text and object, the tool calls and results, the expected value when a dataset gives one, latency, cost and the
whole result. Built in: `exact_match`, `contains`, `regex`, `json_schema`, `tool_called`, `llm_judge`, `max_latency`,
`max_cost`. A scorer that raises gives a Score with `error` set and value 0; it never breaks the run.

On a run, scorers start after the answer is complete and run on a background thread, so they never delay it;
`result.scores` waits for them (bounded) the first time it is read. Scores are kept with the run in the playground's
store (`scores_for(run_id)`).
"""

from __future__ import annotations

import inspect
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from .errors import ConfigurationError

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from .result import GenerationResult

SCORES_WAIT_SECONDS = 300.0
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


class Score(BaseModel):
    """One scorer's verdict: `value` in 0..1, `passed` against the scorer's threshold, and why."""
    model_config = ConfigDict(defer_build=True)

    name: str = ""
    value: float = 0.0
    passed: bool = False
    reason: str | None = None
    scorer: str = ""
    run_id: str | None = None
    trace_id: str | None = None
    error: str | None = None
    duration_ms: float = 0.0


@dataclass
class ScoringCase:
    """What a scorer sees (Mastra's scoring data): input, output, tool calls and results, expected, metrics."""

    input: Any = None
    output: str = ""
    object: Any = None
    expected: Any = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_results: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float | None = None
    cost: float | None = None
    run_id: str | None = None
    trace_id: str | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    result: Any = None

    def data(self) -> dict[str, Any]:
        """The JSON view (`result.scoring_data`): everything but the result object itself."""
        return {
            "input": _jsonable(self.input), "output": self.output, "object": _jsonable(self.object),
            "expected": _jsonable(self.expected), "tool_calls": self.tool_calls, "tool_results": self.tool_results,
            "latency_ms": self.latency_ms, "cost": self.cost, "run_id": self.run_id, "trace_id": self.trace_id,
            "vars": _jsonable(self.vars),
        }


class Scorer:
    """A named scoring function with a pass threshold. Built-ins return one; any callable can be wrapped."""

    def __init__(self, name: str, fn: Callable[[ScoringCase], Any], *, threshold: float = 1.0,
                 description: str = "") -> None:
        if not callable(fn):
            raise ConfigurationError(f"scorer {name!r}: give a callable (case) -> float | bool | Score",
                                     field="scorers")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise ConfigurationError(f"scorer {name!r}: threshold must be a number from 0 to 1", field="threshold")
        self.name = name
        self.fn = fn
        self.threshold = float(threshold)
        self.description = description

    def __call__(self, case: ScoringCase) -> Any:
        return self.fn(case)

    def __repr__(self) -> str:
        return f"Scorer({self.name!r})"

    def score(self, case: ScoringCase, name: str | None = None) -> Score:
        """Run the scorer on a case; never raises (an error is on the Score)."""
        t0 = time.perf_counter()
        label = name or self.name
        try:
            raw = self.fn(case)
            if inspect.isawaitable(raw):
                raw = _run_coroutine(raw)
            out = _as_score(raw, self.threshold)
        except Exception as exc:
            out = Score(value=0.0, passed=False, error=f"{type(exc).__name__}: {exc}",
                        reason=f"the scorer failed: {type(exc).__name__}: {exc}")
        out.name = label
        out.scorer = out.scorer or self.name
        out.run_id = case.run_id
        out.trace_id = case.trace_id
        out.duration_ms = round((time.perf_counter() - t0) * 1000, 3)
        return out


def as_scorer(value: Any, name: str = "scorer") -> Scorer:
    if isinstance(value, Scorer):
        return value
    if callable(value):
        return Scorer(getattr(value, "__name__", name) if name == "scorer" else name, value, threshold=0.5)
    raise ConfigurationError(
        f"scorers.{name}: {type(value).__name__} is not a scorer; give scorers.contains(...), any callable "
        "(case) -> float | bool | Score, or {'scorer': ..., 'sampling': {...}}",
        field="scorers",
    )


def _as_score(raw: Any, threshold: float) -> Score:
    if isinstance(raw, Score):
        return raw
    if isinstance(raw, bool):
        return Score(value=1.0 if raw else 0.0, passed=raw)
    if isinstance(raw, int | float):
        value = float(raw)
        if not math.isfinite(value) or not 0 <= value <= 1:
            raise ValueError(f"a score must be a number from 0 to 1, got {raw!r}")
        return Score(value=value, passed=value >= threshold)
    if isinstance(raw, tuple) and len(raw) == 2:
        score = _as_score(raw[0], threshold)
        score.reason = str(raw[1])
        return score
    raise TypeError(f"a scorer returns a float, a bool or a Score, not {type(raw).__name__}")


def _run_coroutine(coro: Any) -> Any:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


# ----------------------------------------------------------------------------------------------------------------
# Built-in scorers


def exact_match(expected: Any = None, *, ignore_case: bool = False, strip: bool = True) -> Scorer:
    """1 when the output equals `expected` (or the dataset's expected value), else 0."""

    def fn(case: ScoringCase) -> Score:
        want = expected if expected is not None else case.expected
        if want is None:
            raise ValueError("exact_match needs an expected value (give exact_match('...') or an expected column)")
        got, target = case.output, str(want)
        if strip:
            got, target = got.strip(), target.strip()
        if ignore_case:
            got, target = got.lower(), target.lower()
        ok = got == target
        return Score(value=float(ok), passed=ok, reason=None if ok else f"expected {target!r}, got {got[:200]!r}")

    return Scorer("exact_match", fn)


def contains(text: str | Sequence[str] | None = None, *, ignore_case: bool = True, all_of: bool = True) -> Scorer:
    """1 when the output contains `text` (each of several, or any with all_of=False); default: the expected value."""

    def fn(case: ScoringCase) -> Score:
        wanted = text if text is not None else case.expected
        if wanted is None:
            raise ValueError("contains needs a text (contains('Paris')) or an expected column")
        needles = [str(x) for x in wanted] if isinstance(wanted, list | tuple | set) else [str(wanted)]
        hay = case.output.lower() if ignore_case else case.output
        found = [n for n in needles if (n.lower() if ignore_case else n) in hay]
        missing = [n for n in needles if n not in found]
        value = len(found) / len(needles) if all_of else float(bool(found))
        ok = not missing if all_of else bool(found)
        return Score(value=value, passed=ok, reason=None if ok else f"missing: {', '.join(map(repr, missing))}")

    return Scorer("contains", fn)


def regex(pattern: str, *, flags: int = 0) -> Scorer:
    """1 when the pattern is found in the output."""
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigurationError(f"regex: the pattern {pattern!r} is not valid ({exc})", field="pattern") from None

    def fn(case: ScoringCase) -> Score:
        m = compiled.search(case.output)
        return Score(value=float(m is not None), passed=m is not None,
                     reason=f"matched {m.group(0)[:80]!r}" if m else f"no match for /{pattern}/")

    return Scorer("regex", fn)


def json_schema(schema: Mapping[str, Any] | type[BaseModel] | None = None) -> Scorer:
    """1 when the structured output (or the output parsed as JSON) is valid against the schema. With no schema:
    valid when the run's structured output parsed."""

    def fn(case: ScoringCase) -> Score:
        value = case.object
        if value is None:
            try:
                value = json.loads(case.output)
            except ValueError:
                return Score(value=0.0, passed=False, reason="the output is not JSON")
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        if schema is None:
            return Score(value=1.0, passed=True, reason="structured output parsed")
        problems = _schema_problems(schema, value)
        ok = not problems
        return Score(value=float(ok), passed=ok, reason=None if ok else "; ".join(problems[:5]))

    return Scorer("json_schema", fn)


def _schema_problems(schema: Mapping[str, Any] | type[BaseModel], value: Any) -> list[str]:
    from pydantic import TypeAdapter, ValidationError

    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            TypeAdapter(schema).validate_python(value)
        except ValidationError as exc:
            return [f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()]
        return []
    return _check_json_schema(dict(schema), value, "")


def _check_json_schema(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    """A compact JSON Schema check (type, required, properties, items, enum, additionalProperties)."""
    where = path or "(root)"
    types = schema.get("type")
    names = types if isinstance(types, list) else [types] if types else []
    checks = {"string": str, "integer": int, "number": int | float, "boolean": bool, "object": dict, "array": list,
              "null": type(None)}
    if names:
        ok = any(isinstance(value, checks[n]) and not (n in ("integer", "number") and isinstance(value, bool))
                 for n in names if n in checks)
        if not ok:
            return [f"{where}: expected {' or '.join(names)}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: expected one of {schema['enum']}"]
    problems: list[str] = []
    if isinstance(value, dict):
        for req in schema.get("required") or []:
            if req not in value:
                problems.append(f"{path + '.' if path else ''}{req}: required")
        props = schema.get("properties") or {}
        for k, v in value.items():
            if k in props:
                problems += _check_json_schema(props[k], v, f"{path + '.' if path else ''}{k}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{path + '.' if path else ''}{k}: not allowed")
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += _check_json_schema(schema["items"], item, f"{path}[{i}]")
    return problems


def tool_called(name: str, args: Mapping[str, Any] | None = None, *, times: int | None = None) -> Scorer:
    """1 when the run called the tool `name` (with these arguments, if given; `times` exactly, if given)."""

    def fn(case: ScoringCase) -> Score:
        calls = [c for c in case.tool_calls if c.get("tool_name") == name]
        if args is not None:
            calls = [c for c in calls if all(c.get("args", {}).get(k) == v for k, v in args.items())]
        ok = bool(calls) if times is None else len(calls) == times
        called = [c.get("tool_name") for c in case.tool_calls]
        reason = (f"{name} called {len(calls)} time(s)" if ok else
                  f"expected a call of {name}{' with ' + json.dumps(dict(args)) if args else ''}"
                  f"{f' {times} time(s)' if times is not None else ''}; calls: {called or 'none'}")
        return Score(value=float(ok), passed=ok, reason=reason)

    return Scorer(f"tool_called:{name}", fn)


def max_latency(ms: float) -> Scorer:
    """1 when the run took at most `ms` milliseconds."""

    def fn(case: ScoringCase) -> Score:
        if case.latency_ms is None:
            raise ValueError("no latency was measured for this run")
        ok = case.latency_ms <= ms
        return Score(value=float(ok), passed=ok, reason=f"{case.latency_ms:.0f} ms (limit {ms:g} ms)")

    return Scorer("max_latency", fn)


def max_cost(usd: float) -> Scorer:
    """1 when the run cost at most `usd` (a run whose cost is unknown fails, with the reason)."""

    def fn(case: ScoringCase) -> Score:
        if case.cost is None:
            return Score(value=0.0, passed=False, reason="the cost of this model is not known")
        ok = case.cost <= usd
        return Score(value=float(ok), passed=ok, reason=f"${case.cost:.6f} (limit ${usd:g})")

    return Scorer("max_cost", fn)


class _Verdict(BaseModel):
    model_config = ConfigDict(defer_build=True)
    score: float = Field(ge=0, le=1, description="0 (fails the rubric) to 1 (fully meets it)")
    reason: str = Field(description="one or two sentences on why")


JUDGE_INSTRUCTIONS = (
    "You grade an AI assistant's answer against a rubric. Read the input, the answer, the tool calls and, if given, "
    "the expected answer. Reply with a score from 0 (fails the rubric) to 1 (fully meets it) and a short reason."
)


def llm_judge(model: str = "demo", rubric: str = "Is the answer correct and helpful?", *,
              threshold: float = 0.5, **agent_options: Any) -> Scorer:
    """A model grades the answer against `rubric` (any model string; offline on the demo model)."""
    if not isinstance(rubric, str) or not rubric.strip():
        raise ConfigurationError("llm_judge: give the rubric the answer is graded against", field="rubric")
    judge_agent: list[Any] = []

    def fn(case: ScoringCase) -> Score:
        from .agent import Agent
        from .runs import InMemoryRunStore

        if not judge_agent:
            judge_agent.append(Agent(name="judge", instructions=JUDGE_INSTRUCTIONS, model=model,
                                     storage=InMemoryRunStore(), **agent_options))
        prompt = (f"Rubric: {rubric}\n\nInput: {_text(case.input)}\n\nAnswer: {case.output}\n\n"
                  f"Tool calls: {json.dumps(case.tool_calls)[:2000]}\n\nTool results: "
                  f"{json.dumps(_jsonable(case.tool_results))[:2000]}")
        if case.expected is not None:
            prompt += f"\n\nExpected answer: {_text(case.expected)}"
        verdict = judge_agent[0].generate(prompt, structured_output=_Verdict).object
        if not isinstance(verdict, _Verdict):
            raise ValueError("the judge gave no verdict")
        return Score(value=verdict.score, passed=verdict.score >= threshold, reason=verdict.reason,
                     scorer=f"llm_judge:{model}")

    return Scorer("llm_judge", fn, threshold=threshold, description=rubric)


BUILT_IN: dict[str, Callable[..., Scorer]] = {
    "exact_match": exact_match, "contains": contains, "regex": regex, "json_schema": json_schema,
    "tool_called": tool_called, "llm_judge": llm_judge, "max_latency": max_latency, "max_cost": max_cost,
}


def scorer_from_spec(spec: str) -> Scorer:
    """A built-in scorer from a short spec (the CLI's --scorer and the Evaluate tab):
    `exact_match`, `contains`, `contains:Paris`, `regex:^\\d+$`, `json_schema`, `tool_called:get_weather`,
    `llm_judge:RUBRIC` (or `llm_judge@MODEL:RUBRIC`), `max_latency:2000`, `max_cost:0.01`."""
    name, _, arg = spec.partition(":")
    name = name.strip()
    model = "demo"
    if name.startswith("llm_judge@"):
        name, model = "llm_judge", name.split("@", 1)[1]
    if name not in BUILT_IN:
        raise ConfigurationError(f"scorer {spec!r}: unknown; use one of {', '.join(BUILT_IN)}", field="scorer")
    if name in ("exact_match", "json_schema"):
        return BUILT_IN[name]()
    if name == "contains":
        return contains(arg or None)
    if name == "llm_judge":
        return llm_judge(model=model, rubric=arg or "Is the answer correct and helpful?")
    if not arg:
        raise ConfigurationError(f"scorer {spec!r}: {name} needs a value after ':'", field="scorer")
    try:
        if name in ("max_latency", "max_cost"):
            return BUILT_IN[name](float(arg))
        return BUILT_IN[name](arg)
    except ValueError:
        raise ConfigurationError(f"scorer {spec!r}: {arg!r} is not a number", field="scorer") from None


# ----------------------------------------------------------------------------------------------------------------
# Scorers on a run


@dataclass
class ScorerEntry:
    name: str
    scorer: Scorer
    rate: float = 1.0


def parse_scorers(value: Any) -> list[ScorerEntry]:
    """`scorers=` of a call: {name: scorer | {"scorer": ..., "sampling": {"type": "ratio", "rate": r}}} or a list."""
    if value is None:
        return []
    items: list[tuple[str, Any]]
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        items = [(getattr(v, "name", None) or getattr(v, "__name__", f"scorer_{i}"), v) for i, v in enumerate(value)]
    else:
        raise ConfigurationError("scorers: give a mapping {name: scorer} or a list of scorers", field="scorers")
    out: list[ScorerEntry] = []
    for name, spec in items:
        rate = 1.0
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"scorer", "sampling"}
            if unknown or "scorer" not in spec:
                raise ConfigurationError(
                    f"scorers.{name}: expected {{'scorer': ..., 'sampling': {{...}}}}"
                    + (f"; unknown key(s) {sorted(unknown)}" if unknown else ""), field="scorers")
            rate = _sampling_rate(spec.get("sampling"), name)
            spec = spec["scorer"]
        if isinstance(spec, str):
            spec = scorer_from_spec(spec)
        out.append(ScorerEntry(name, as_scorer(spec, name), rate))
    return out


def _sampling_rate(sampling: Any, name: str) -> float:
    if sampling is None:
        return 1.0
    if not isinstance(sampling, Mapping) or sampling.get("type") not in ("ratio", "none"):
        raise ConfigurationError(
            f"scorers.{name}.sampling: give {{'type': 'ratio', 'rate': 0..1}} or {{'type': 'none'}}", field="sampling")
    if sampling["type"] == "none":
        return 1.0
    rate = sampling.get("rate")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ConfigurationError(f"scorers.{name}.sampling.rate: a number from 0 to 1, not {rate!r}",
                                 field="sampling")
    return float(rate)


def case_from_result(result: GenerationResult, input: Any = None, *, expected: Any = None,
                     vars: Mapping[str, Any] | None = None) -> ScoringCase:
    """What the scorers of a run see."""
    if input is None:
        users = [m for m in result.messages if m.role == "user"]
        input = users[-1].text if users else None
    total = getattr(getattr(result, "cost", None), "total", None)
    cost = float(total) if total is not None else None
    return ScoringCase(
        input=input, output=result.text, object=result.object, expected=expected,
        tool_calls=[{"tool_name": c.tool_name, "args": c.args, "tool_call_id": c.tool_call_id}
                    for c in result.tool_calls],
        tool_results=[{"tool_name": r.tool_name, "result": _jsonable(r.result), "is_error": r.is_error}
                      for r in result.tool_results],
        latency_ms=getattr(result, "latency_ms", None), cost=cost, run_id=result.run_id,
        trace_id=result.trace_id, vars=dict(vars or {}), result=result,
    )


def score_case(entries: Sequence[ScorerEntry], case: ScoringCase, *, sample: bool = True) -> dict[str, Score]:
    out: dict[str, Score] = {}
    for entry in entries:
        if sample and entry.rate < 1.0 and random.random() >= entry.rate:
            continue
        out[entry.name] = entry.scorer.score(case, entry.name)
    return out


def start_scoring(result: GenerationResult, scorers: Any, *, return_data: bool = False) -> None:
    """Score a finished run on a background thread; the scores land on the result and in the store."""
    entries = parse_scorers(scorers)
    if not entries:
        return
    case = case_from_result(result)
    if return_data:
        result.scoring_data = case.data()

    def work() -> dict[str, Score]:
        scores = score_case(entries, case)
        try:
            from .store.scores import save_scores

            save_scores(list(scores.values()))
        except Exception:  # the store is a convenience here: the scores stay on the result
            pass
        return scores

    from concurrent.futures import ThreadPoolExecutor

    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="playground-scorers")
        future: Future[dict[str, Score]] = _POOL.submit(work)
    result._set_scoring(future)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(_jsonable(value), ensure_ascii=False)[:4000]


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=lambda o: o.model_dump(mode="json")
                                     if hasattr(o, "model_dump") else str(o)))
    except (TypeError, ValueError):
        return str(value)


__all__ = [
    "Score", "Scorer", "ScoringCase", "contains", "exact_match", "json_schema", "llm_judge", "max_cost",
    "max_latency", "regex", "scorer_from_spec", "tool_called",
]
