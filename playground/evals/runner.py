"""Run a prompt over a dataset on one or more targets, graded by scorers.

    report = run_eval([agent, {"name": "terse", "instructions": "Answer in one word."}], Dataset.from_csv(path),
                      scorers=[scorers.contains(), scorers.max_latency(2000)], concurrency=4,
                      checkpoint="capitals.progress.jsonl")

A target is an Agent, or a configuration (a dict: `name`, `model`, `instructions`, `model_settings`, any call option,
and optionally `agent` as its base; without one, the first Agent among the targets, or run_eval's `agent=`). A failure
in one case is recorded on that case and the rest go on. With a `checkpoint` file, every finished case is appended to
it, and a rerun skips the cases already finished (errors run again). A run that waits for a person's approval is
recorded as such: an evaluation never approves a guarded tool.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..scorers import ScorerEntry, case_from_result, parse_scorers, score_case
from .dataset import Dataset, EvalCase
from .report import CaseResult, EvalReport

if TYPE_CHECKING:
    from ..agent import Agent

Progress = Callable[[int, int, CaseResult], None]
_CONFIG_KEYS = {"name", "agent", "model", "instructions", "model_settings", "settings", "api_key", "base_url"}


@dataclass
class Target:
    """What a case runs on: an agent and the options of its calls."""

    name: str
    agent: Agent
    options: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes when the target's model, instructions or options change (a checkpoint is kept per fingerprint)."""
        text = json.dumps({"model": self.agent.model_string, "instructions": self.agent.instructions,
                           "settings": self.agent.model_settings.set_fields(),
                           "options": self.options}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_targets(targets: Any, base: Agent | None = None) -> list[Target]:
    """Agents and configurations as Targets with unique names."""
    from ..agent import Agent

    items = [targets] if isinstance(targets, Agent | Mapping | Target) else list(targets or [])
    if not items:
        raise ConfigurationError("targets: give at least one agent or configuration", field="targets")
    if base is None:  # a configuration without its own agent varies the first agent given
        base = next((x for x in items if isinstance(x, Agent)), None)
    out: list[Target] = []
    for i, item in enumerate(items):
        if isinstance(item, Target):
            out.append(item)
        elif isinstance(item, Agent):
            out.append(Target(item.name, item))
        elif isinstance(item, Mapping):
            out.append(_config_target(dict(item), base, i))
        else:
            raise ConfigurationError(f"targets[{i}]: {type(item).__name__} is not an Agent or a configuration dict",
                                     field="targets")
    names = [t.name for t in out]
    for i, t in enumerate(out):  # two targets of one agent: number them
        if names.count(t.name) > 1:
            t.name = f"{t.name} #{names[:i + 1].count(t.name)}"
    return out


def _config_target(cfg: dict[str, Any], base: Agent | None, i: int) -> Target:
    from ..agent import Agent
    from ..runs import InMemoryRunStore

    agent = cfg.get("agent") or base
    if agent is not None and not isinstance(agent, Agent):
        raise ConfigurationError(f"targets[{i}].agent: give an Agent", field="targets")
    model = cfg.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise ConfigurationError(f"targets[{i}].model: give a model string such as 'openai:gpt-4.1-mini'",
                                 field="targets")
    settings = cfg.get("model_settings", cfg.get("settings"))
    if agent is None or model is not None or "instructions" in cfg or settings is not None:
        same_model = agent is not None and (model is None or model == agent.model_string)
        agent = Agent(
            name=(agent.name if agent is not None else "agent"),
            instructions=cfg.get("instructions", agent.instructions if agent is not None else ""),
            model=(agent.model if same_model and agent is not None else model or "demo"),
            tools=agent.tools if agent is not None else None,
            toolsets=agent.toolsets if agent is not None else None,
            model_settings=settings if settings is not None else (agent.model_settings if agent else None),
            # a key goes only to its own provider: the base agent's key only when the model is the same
            api_key=cfg.get("api_key") or (agent._api_key if same_model and agent is not None else None),
            base_url=cfg.get("base_url") or (agent._base_url if same_model and agent is not None else None),
            default_options=agent.default_options if agent is not None else None,
            storage=InMemoryRunStore(),
        )
    options = {k: v for k, v in cfg.items() if k not in _CONFIG_KEYS}
    name = cfg.get("name") or (model or agent.model_string)
    return Target(str(name), agent, options)


def _key(target: Target, case: EvalCase) -> str:
    return f"{target.name}\x1f{target.fingerprint()}\x1f{case.id}"


def _read_checkpoint(path: Path) -> dict[str, CaseResult]:
    done: dict[str, CaseResult] = {}
    if not path.exists():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            done[entry["key"]] = CaseResult.model_validate(entry["result"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a crash: that case runs again
    return done


def run_eval(
    targets: Any,
    dataset: Dataset | Sequence[Any],
    scorers: Any = (),
    *,
    concurrency: int = 4,
    checkpoint: str | Path | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    name: str = "eval",
    agent: Agent | None = None,
    keep_results: bool = True,
) -> EvalReport:
    """Run every case of `dataset` on every target and grade it; see the module doc."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= 64:
        raise ConfigurationError("concurrency: a whole number from 1 to 64", field="concurrency")
    data = dataset if isinstance(dataset, Dataset) else Dataset.from_list(list(dataset))
    entries = parse_scorers(scorers if isinstance(scorers, Mapping) else list(scorers or []))
    plan = as_targets(targets, agent)
    report = EvalReport(name=name, dataset=data.name, targets=[t.name for t in plan],
                        scorers=[e.name for e in entries])
    cp = Path(checkpoint) if checkpoint is not None else None
    finished = _read_checkpoint(cp) if cp is not None else {}
    lock = threading.Lock()
    jobs: list[tuple[Target, EvalCase]] = []
    results: dict[tuple[str, str], CaseResult] = {}
    for case in data:
        for t in plan:
            prior = finished.get(_key(t, case))
            if prior is not None and prior.error is None:
                results[(case.id, t.name)] = prior
            else:
                jobs.append((t, case))
    total = len(data) * len(plan)
    count = [len(results)]
    started = time.perf_counter()

    def one(job: tuple[Target, EvalCase]) -> None:
        t, case = job
        if stop is not None and stop.is_set():
            return
        res = run_case(t, case, entries, keep_result=keep_results)
        with lock:
            results[(case.id, t.name)] = res
            count[0] += 1
            if cp is not None:
                with cp.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"key": _key(t, case), "result": res.model_dump(mode="json")}) + "\n")
            if progress is not None:
                progress(count[0], total, res)

    if concurrency == 1:
        for job in jobs:
            one(job)
    else:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="playground-eval") as pool:
            list(pool.map(one, jobs))
    report.results = [results[(c.id, t.name)] for c in data for t in plan if (c.id, t.name) in results]
    report.stopped = len(report.results) < total
    report.duration_s = round(time.perf_counter() - started, 3)
    return report


def run_case(target: Target, case: EvalCase, entries: Sequence[ScorerEntry], *,
             keep_result: bool = True) -> CaseResult:
    """One case on one target: never raises; a failure is the case's `error`."""
    base = CaseResult(case_id=case.id, row=case.row, target=target.name, input=case.input,
                      expected=case.expected, vars=case.vars)
    t0 = time.perf_counter()
    try:
        result = target.agent.generate(case.input, **target.options)
    except Exception as exc:
        base.error = f"{type(exc).__name__}: {exc}"
        base.latency_ms = (time.perf_counter() - t0) * 1000
        partial = getattr(exc, "result", None)
        if partial is not None and hasattr(partial, "text"):
            base.output = partial.text or ""
        return base
    base.output = result.text
    base.object = _jsonable(result.object)
    base.finish_reason = result.finish_reason
    base.run_id = result.run_id
    base.input_tokens = result.usage.input_tokens or 0
    base.output_tokens = result.usage.output_tokens or 0
    base.total_tokens = result.usage.total_tokens or 0
    total = getattr(getattr(result, "cost", None), "total", None)
    base.cost = float(total) if total is not None else None
    base.latency_ms = result.latency_ms if result.latency_ms is not None else (time.perf_counter() - t0) * 1000
    if keep_result:
        base.result = json.loads(result.model_dump_json(exclude={"scoring"}))
    if result.finish_reason == "suspended":
        tool = result.suspend_payload.tool_name if result.suspend_payload else "a tool"
        base.error = f"the run waits for a person's approval of {tool}; an evaluation never approves a guarded tool"
        return base
    scoring_case = case_from_result(result, case.input, expected=case.expected, vars=case.vars)
    base.scores = score_case(entries, scoring_case, sample=False)
    base.passed = all(s.passed for s in base.scores.values())
    if base.scores:
        try:  # kept with the run too (PostgreSQL with PLAYGROUND_DATABASE_URL): scores_for(run_id) on any server
            from ..store.scores import save_scores

            save_scores(list(base.scores.values()))
        except Exception:  # the store is a convenience here: the report keeps the scores
            pass
    return base


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    try:
        return json.loads(json.dumps(value, default=lambda o: o.model_dump(mode="json")
                                     if hasattr(o, "model_dump") else str(o)))
    except (TypeError, ValueError):
        return str(value)
