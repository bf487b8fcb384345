"""Write the walkthrough notebooks under notebooks/ and execute them so they are committed with outputs.

    .venv/bin/python tests/notebooks/make_notebooks.py            # every notebook
    .venv/bin/python tests/notebooks/make_notebooks.py 02 05      # some

The demo model needs no key and no network. Keys are removed from the kernel's environment so the saved outputs of
06_real_providers.ipynb show the explained skip, never a real call.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
KEY_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST")

Cell = tuple[str, str]  # ("md" | "py", source)


def md(text: str) -> Cell:
    return ("md", text.strip("\n"))


def py(code: str) -> Cell:
    return ("py", code.strip("\n"))


QUICKSTART: list[Cell] = [
    md("""
# Agent Playground: quickstart

An `Agent` has instructions, a model and tools. `agent.prompt(...)` builds a **Generation**: the call, fully
inspectable, with nothing sent yet. `generate_now()` sends it and returns a **GenerationResult** with every step kept.

This notebook runs offline on the **demo model**, a deterministic simulated model that speaks the OpenAI Chat
Completions wire format in-process: no key and no network, yet the raw request and response are real wire JSON.
"""),
    py("""
from playground import Agent

agent = Agent(name="helper", instructions="Answer briefly.", model="demo")
agent
"""),
    md("""
## Prompt: build the call, send nothing

Options follow Mastra's `generate()` in snake_case (`temperature`, `max_output_tokens`, `tool_choice`, `max_steps` ...).
Displayed in a notebook, a Generation shows the inspect view: messages, tools, settings and the exact request body.
"""),
    py("""
gen = agent.prompt("What is 2+2?", temperature=0.2, max_output_tokens=100)
gen
"""),
    py("""
for message in gen.messages:
    print(f"{message.role:>9}: {message.text}")
print("settings:", gen.settings.set_fields())
print("request body:", gen.request_preview()["body"])
"""),
    md("""
## Generate

`generate_now()` sends the call. A result shows the answer, the reasoning (collapsed), tool calls, sources, a usage
table and the raw JSON of every step.
"""),
    py("""
result = gen.generate_now()
result
"""),
    py("""
print(result.text)
print(result.finish_reason, "|", result.usage.total_tokens, "tokens |", len(result.steps), "step")
print(repr(result))
"""),
    md("""
`agent.generate(...)` is `prompt(...).generate_now()` in one call. The demo model cites sources when asked to:
"""),
    py("""
answer = agent.generate("What is retrieval-augmented generation? Cite sources.")
for source in answer.sources:
    print(source.title, "->", source.url)
"""),
    md("""
## Sync and async in a notebook

A notebook cell runs inside the kernel's event loop. The sync calls do not need one (they use a blocking HTTP
client), so they work here as they do in a script; and `await agent.generate_async(...)` works in a cell.
"""),
    py("""
import asyncio

print("a loop is running:", asyncio.get_running_loop().is_running())
print(agent.generate("What is 6 * 7?").text)
"""),
    py("""
result = await agent.generate_async("What is 10 / 4?")
print(result.text)
"""),
    md("""
## Embeddings

The demo model embeds text too (hashed character n-grams, 64 dimensions).
"""),
    py("""
agent.embed(["a cat sat on the mat", "a dog sat on the log"]).embed_now()
"""),
]

TOOLS: list[Cell] = [
    md("""
# Tools and approval

A tool is a Python function with type hints and a docstring; `@tool` derives its JSON schema. A tool that moves money
is marked `requires_approval=True`: the run **suspends** before calling it, and a person approves (optionally with
edited arguments) or declines. Runs are stored, so approval can come later, even from another process.
"""),
    py("""
from playground import Agent, tool

ORDERS = {"42": {"order_id": "42", "item": "Mechanical keyboard", "total": 89.0, "status": "delivered"}}


@tool
def lookup_order(order_id: str) -> dict[str, object]:
    \"\"\"Look up an order by its id.

    Args:
        order_id: The order id, e.g. "42".
    \"\"\"
    if order_id not in ORDERS:
        raise ValueError(f"no order {order_id!r}")
    return ORDERS[order_id]


@tool(requires_approval=True)
def refund(order_id: str, amount: float | None = None) -> dict[str, object]:
    \"\"\"Refund an order (needs a person's approval).

    Args:
        order_id: The order to refund.
        amount: Amount in dollars; the whole order when omitted.
    \"\"\"
    total = float(ORDERS[order_id]["total"])  # type: ignore[arg-type]
    return {"order_id": order_id, "refunded": total if amount is None else amount, "status": "refunded"}


agent = Agent(
    name="support",
    instructions="You are a careful support agent. Refunds need approval.",
    model="demo",
    tools=[lookup_order, refund],
)
lookup_order.schema()
"""),
    md("""
## A tool call, then the answer

The demo model calls a tool when the message names it. The result keeps both steps: the model's tool call, then its
answer from the tool's result.
"""),
    py("""
result = agent.generate("look up order 42")
result
"""),
    py("""
for step in result.steps:
    print(step.index, step.finish_reason, [c.tool_name for c in step.tool_calls])
print(result.tool_results[0].result)
"""),
    md("""
## Approval: the run suspends

`refund` requires approval, so the run stops before calling it and says what it waits on.
"""),
    py("""
pending = agent.generate("refund order 42")
print(pending.finish_reason)
print(pending.suspend_payload)
pending
"""),
    md("""
### Approve
"""),
    py("""
call = pending.suspend_payload
approved = agent.approve_tool_call(run_id=pending.run_id, tool_call_id=call.tool_call_id)
print(approved.text)
"""),
    md("""
### Approve with edited arguments

A person may change the arguments; they are validated against the tool's schema.
"""),
    py("""
second = agent.generate("refund order 42")
partial = agent.approve_tool_call(
    run_id=second.run_id,
    tool_call_id=second.suspend_payload.tool_call_id,
    args={"order_id": "42", "amount": 20.0},
)
print(partial.text)
"""),
    md("""
### Decline

The model is told the call was declined, and why, and answers accordingly.
"""),
    py("""
third = agent.generate("refund order 42")
declined = agent.decline_tool_call(
    run_id=third.run_id,
    tool_call_id=third.suspend_payload.tool_call_id,
    reason="refunds over $50 need a manager",
)
print(declined.text)
print(declined.tool_results[0].approval)
"""),
    md("""
## Approval for every tool, tool choice, max steps

`require_tool_approval=True` suspends before any tool; `tool_choice="none"` offers no tool call; `max_steps` bounds
the loop.
"""),
    py("""
print(agent.generate("look up order 42", require_tool_approval=True).finish_reason)
print(agent.generate("look up order 42", tool_choice="none").text)
print(agent.generate("look up order 42", max_steps=1).finish_reason)
"""),
]

STRUCTURED: list[Cell] = [
    md("""
# Structured output

Pass `structured_output=` a pydantic model (or a JSON Schema) and `result.object` is the validated value. Providers
with a native JSON mode get the schema as a response format; others get it in the system prompt. The demo model
returns schema-valid JSON drawn from the message.
"""),
    py("""
from pydantic import BaseModel

from playground import Agent


class Contact(BaseModel):
    name: str
    email: str


agent = Agent(name="extractor", instructions="Extract the contact details.", model="demo")
"""),
    md("""
## Inspect: the schema travels with the request
"""),
    py("""
gen = agent.prompt("Ada Lovelace <ada@example.com> works at Analytical Engines", structured_output=Contact)
body = gen.request_preview()["body"]
print(body.get("response_format", {}).get("type"))
print(sorted(body.get("response_format", {}).get("json_schema", {}).get("schema", {}).get("properties", {})))
"""),
    md("""
## Generate: `result.object` is a `Contact`
"""),
    py("""
result = agent.generate("Ada Lovelace <ada@example.com> works at Analytical Engines", structured_output=Contact)
contact = result.object
print(type(contact).__name__, "|", contact.email)
contact
"""),
    py("""
result
"""),
    md("""
## A JSON Schema works too; the object is then a plain dict
"""),
    py("""
schema = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city", "days"],
}
trip = agent.generate("3 days in Lisbon, please", structured_output=schema)
print(trip.object)
"""),
    md("""
## Set it once on the agent

`default_options` apply to every call of the agent (`agents/extractor.py` does this, with an error strategy).
"""),
    py("""
extractor = Agent(
    name="extractor",
    instructions="Extract the contact details.",
    model="demo",
    default_options={"structured_output": Contact},
)
print(repr(extractor.generate("Grace Hopper can be reached at grace@example.com").object))
"""),
]

STREAMING: list[Cell] = [
    md("""
# Streaming and usage

`agent.stream(...)` returns a **StreamRun**: iterate it with `for` or `async for` to get typed events as they arrive
(text and reasoning deltas, tool calls, tool results, sources, step ends), ending with the same `GenerationResult`
that `generate()` returns. The demo model streams at a readable pace.
"""),
    py("""
from playground import Agent, tool


@tool
def get_weather(city: str) -> dict[str, object]:
    \"\"\"Current weather for a city.

    Args:
        city: The city name, e.g. "Paris".
    \"\"\"
    return {"city": city, "temperature": 8 + len(city), "conditions": "sunny"}


agent = Agent(name="weather", instructions="Use get_weather for every city.", model="demo", tools=[get_weather])
"""),
    md("""
## Text as it arrives
"""),
    py("""
for text in agent.stream("Tell me about tea, with sources").text_stream():
    print(text, end="", flush=True)
"""),
    md("""
## A StreamRun as a cell's value

Displayed in a notebook, a StreamRun that nobody has iterated streams live into the cell's output, then shows the
result (or, when it fails, the error with what arrived before it).
"""),
    py("""
agent.stream("What is retrieval-augmented generation? Cite sources.")
"""),
    md("""
## Every event

Two cities: the demo model calls the tool twice in one step, then answers.
"""),
    py("""
from collections import Counter

run = agent.stream("What's the weather in Paris and Rome?")
kinds = Counter()
for event in run:
    kinds[event.type] += 1
    if event.type in ("tool-call", "tool-result"):
        print(event.type, event.tool_name, event.args, getattr(event, "result", ""))
print(dict(kinds))
print(run.result.text)
"""),
    md("""
## `async for` in a cell
"""),
    py("""
chunks = []
async for event in agent.stream("What is 3 * 14?"):
    if event.type == "text-delta":
        chunks.append(event.text)
print(len(chunks), "text chunks:", "".join(chunks))
"""),
    md("""
## Usage: per step and in total

`result.usage` sums the steps; each step keeps its own usage, latency and time to first chunk.
"""),
    py("""
result = run.result
for step in result.steps:
    u = step.usage
    print(f"step {step.index + 1}: input {u.input_tokens}, output {u.output_tokens}, "
          f"reasoning {u.reasoning_tokens}, cached {u.cached_input_tokens}, total {u.total_tokens}")
print("total:", result.usage.total_tokens, "tokens")
result.usage
"""),
    py("""
result.steps[0]
"""),
    md("""
## Stopping a stream

`run.abort()` stops at the next chunk; what arrived is kept and the result says `aborted`.
"""),
    py("""
run = agent.stream("Tell me a long story about the sea")
received = []
for event in run:
    if event.type == "text-delta":
        received.append(event.text)
        if len(received) == 5:
            run.abort()
print("".join(received))
print(run.result.finish_reason if run.result else "no result")
"""),
    md("""
## When a call fails

Errors show what a person needs: the status, the provider, what went wrong, the raw request and response (key
masked) and what was kept. Raised in a cell, the same facts replace the traceback through the library's internals.
The demo model answers `/error 429` with that HTTP error.
"""),
    py("""
from playground import ProviderError

try:
    agent.generate("/error 429")
except ProviderError as exc:
    display(exc)
"""),
    md("""
## Callbacks

`on_chunk` sees each event, `on_step_finish` each step, `on_finish` the result: handy for logging.
"""),
    py("""
seen = Counter()
steps = []
agent.generate(
    "What's the weather in Oslo?",
    on_chunk=lambda chunk: seen.update([chunk.type]),
    on_step_finish=lambda step: steps.append(step.finish_reason),
)
print("steps:", steps)
print("events:", dict(seen))
"""),
]

WIDGET: list[Cell] = [
    md("""
# The notebook playground

`Playground(...)` shows the playground as ipywidgets: provider, model, key, instructions, model settings, tools, tool
choice, approval and max steps on the left; the chat (streaming, with reasoning and tool calls as collapsible
blocks), Approve / Decline, and the panels (Inspect, Raw request, Raw response, Reasoning, Sources, Usage, Steps,
Code) on the right. It runs on the same `PlaygroundSession` as the browser playground (`playground` command).

![The notebook playground](../assets/notebook-playground.png)

Run the cell below, type **refund order 42**, press **Send**, then **Approve**.
(Widgets need a live kernel: on a code host you see the screenshot above instead.)
"""),
    py("""
from playground.notebook import Playground

pg = Playground(agents_dir="../agents", select="support")
pg
"""),
    md("""
## The same actions from code

Each button has a method: `await pg.send(text)`, `await pg.approve(args)`, `await pg.decline(reason)`,
`pg.inspect(text)`, `pg.stop()`, `pg.reset()`, `pg.save()`. The widget above updates as they run.
"""),
    py("""
await pg.send("look up order 42")
print(pg.session.exchanges[-1].result.text)
"""),
    py("""
await pg.send("refund order 42")
print("waiting for approval:", pg.session.pending.tool_name, pg.session.pending.args)
await pg.approve()
print(pg.session.exchanges[-1].result.text)
"""),
    md("""
## Inspect before sending, and the code that reproduces an exchange
"""),
    py("""
preview = pg.inspect("What's the weather in Paris?")
print(preview["method"], preview["url"])
print([m["role"] for m in preview["body"]["messages"]])
"""),
    py("""
print(pg.session.export_code()["curl"][:400])
"""),
    md("""
`pg.session` is the `PlaygroundSession`: its state (`exchanges`, `pending`, `settings` ...) is there to read.
`pg.reset()` (the **Clear** button) starts over; the settings stay.
"""),
    py("""
pg.reset()
print(len(pg.session.exchanges), "exchanges")
"""),
]

REAL: list[Cell] = [
    md("""
# Real providers

The same code runs against OpenAI, Anthropic, Gemini, Ollama or any OpenAI-compatible server: change the model
string. Keys come from the environment (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GEMINI_API_KEY`) or `api_key=`.

When no key is set, this notebook says so and its cells skip cleanly; the demo model notebooks need no key.
"""),
    py("""
import os

CANDIDATES = [
    ("OPENAI_API_KEY", "openai:gpt-4.1-mini"),
    ("ANTHROPIC_API_KEY", "anthropic:claude-sonnet-4-5"),
    ("GEMINI_API_KEY", "gemini:gemini-2.5-flash"),
    ("GOOGLE_API_KEY", "gemini:gemini-2.5-flash"),
]
MODEL = next((model for var, model in CANDIDATES if os.environ.get(var)), None)
if MODEL is None:
    print("No API key is set (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY): the calls below are skipped.")
    print("Set one and restart the kernel to run them against a real model.")
else:
    print("Using", MODEL)
"""),
    md("""
## What would be sent, key masked

Inspecting needs no network. Even with a key in the agent, the preview (and every raw view, log and error) shows it
masked. This cell uses a made-up key, so it always runs.
"""),
    py("""
from playground import Agent

example = Agent(model="openai:gpt-4.1-mini", api_key="sk-example-0000000000000000000000")
preview = example.prompt("Say hello in five words.", temperature=0.3).request_preview()
print(preview["method"], preview["url"])
print("Authorization:", preview["headers"]["Authorization"])
print(preview["body"])
"""),
    md("""
## A real call
"""),
    py("""
if MODEL is None:
    print("skipped: no API key")
else:
    agent = Agent(name="hello", instructions="Answer in one sentence.", model=MODEL)
    result = agent.generate("Say hello in five words.", max_output_tokens=60)
    display(result)
"""),
    md("""
## Streaming from a real model
"""),
    py("""
if MODEL is None:
    print("skipped: no API key")
else:
    run = agent.stream("Count from one to five in words.")
    for text in run.text_stream():
        print(text, end="", flush=True)
    print()
    print(run.result.usage)
"""),
    md("""
## Errors name the problem

A wrong key or model raises a `ProviderError` with the HTTP status, the provider's code and its message (key masked).
"""),
    py("""
if MODEL is None:
    print("skipped: no API key")
else:
    from playground import ProviderError

    try:
        Agent(model=MODEL.split(":")[0] + ":no-such-model").generate("hi")
    except ProviderError as exc:
        print(type(exc).__name__, exc.status, exc)
"""),
]

MEMORY: list[Cell] = [
    md("""
# Memory: threads that persist, semantic recall, working memory

Mastra's `memory` option in Python: pass `memory={"thread": ..., "resource": ...}` to a call and the agent remembers.
Memory works on the messages **before** the request is built, so `request_preview()` and the raw request show exactly
what it added; after the run the exchange (user, assistant, tool calls and results) is saved to the thread.

Everything runs offline: the demo model reads its memory like a real model would, and the demo embedder makes the
vectors for semantic recall. The store here is a SQLite file in a temporary folder (by default it is
`memory.sqlite3` under `PLAYGROUND_HOME`; a `postgresql://` URL shares threads between servers).
"""),
    py("""
import tempfile
from pathlib import Path

from playground import Agent, Memory

memory = Memory(
    last_messages=10,
    semantic_recall={"top_k": 2, "message_range": 1, "scope": "resource"},
    working_memory={"enabled": True, "scope": "resource", "template": "# User\\n- Name:\\n- City:\\n"},
    generate_title=True,
    embedder="demo",
    storage=str(Path(tempfile.mkdtemp()) / "memory.sqlite3"),
)
agent = Agent(name="assistant", instructions="Be brief.", model="demo", memory=memory)
ada = {"thread": "trip-planning", "resource": "user-1"}
"""),
    md("""
## Stating a fact updates working memory

Working memory is a document the model keeps up to date through the `update_working_memory` tool; it is injected into
the system prompt of every call of this user (scope `resource`).
"""),
    py("""
r = agent.generate("My name is Ada and I live in Oslo", memory=ada)
print(r.text)
print("tool called:", [c.tool_name for c in r.tool_calls])
print(memory.working_memory(resource="user-1"))
"""),
    md("""
## See what memory adds before anything is sent

The thread's last messages come first, the working memory is a system message. Nothing is sent by `prompt()`.
"""),
    py("""
gen = agent.prompt("What is my name?", memory=ada)
for m in gen.request_preview()["body"]["messages"]:
    print(f"{m['role']:>9}: {str(m.get('content'))[:90]!r}")
"""),
    py("""
r = gen.generate_now()
print(r.text)
print("remembered:", [f"{m.role}: {m.text[:40]}" for m in r.remembered_messages])
"""),
    md("""
## Semantic recall across threads

A new thread has no history, and here working memory is switched off for the call (`options` override the agent's
memory per call). Semantic recall still finds the fact in the user's other thread: each recalled message comes with
its thread and similarity score.
"""),
    py("""
r = agent.generate("Where do I live?", memory={"thread": "new-topic", "resource": "user-1",
                                               "options": {"workingMemory": {"enabled": False}}})
print(r.text)
for hit in r.memory.recalled:
    score = f"{hit.score:.3f}" if hit.score is not None else "neighbour"
    print(f"  [{hit.thread_id}] {score:>9}  {hit.message.role}: {hit.message.text[:60]}")
"""),
    md("""
## Threads: titles, messages, deletion

`generate_title=True` names a thread from its first exchange with the agent's model (the demo model too).
"""),
    py("""
for t in memory.list_threads(resource="user-1"):
    print(f"{t.id:<14} {t.title}")
print([f"{m.role}" for m in memory.messages("trip-planning")])
memory.delete_thread("new-topic")
print([t.id for t in memory.list_threads(resource="user-1")])
"""),
    md("""
## Working memory with a schema, and read-only calls

With a pydantic model the document is a JSON object and each update is merged. `read_only` loads memory but saves
nothing and offers no update tool.
"""),
    py("""
from pydantic import BaseModel

class Profile(BaseModel):
    name: str | None = None
    location: str | None = None

profiles = Memory(working_memory={"schema": Profile, "scope": "thread"},
                  storage=str(Path(tempfile.mkdtemp()) / "memory.sqlite3"))
bot = Agent(name="profiler", model="demo", memory=profiles)
bot.generate("My name is Grace", memory={"thread": "p1"})
bot.generate("I live in Arlington", memory={"thread": "p1"})
print(profiles.working_memory(thread="p1"))
r = bot.generate("My name is Bob", memory={"thread": "p1", "options": {"readOnly": True}})
print(r.memory.saved, "saved;", profiles.working_memory(thread="p1"))
"""),
    md("""
## In the notebook playground

`Playground()` keeps every conversation in a thread: the **Thread** menu switches between them (New, Rename, Delete),
the **Semantic recall** and **Working memory** switches turn those on, and the **Memory** panel shows what memory
added to each exchange. The browser playground (`playground serve`) has the same, and reopens the thread after a page
reload or a server restart.
"""),
    py("""
from playground.notebook import Playground

pg = Playground(agents_dir="../agents")
pg.memory_ui.working_box.value = True
await pg.send("My name is Ada and I live in Oslo")
await pg.wait()
print([title for title, _ in pg.memory_ui.thread_menu.options])
pg
"""),
]

EVALUATE: list[Cell] = [
    md("""
# Evaluate: a prompt over a dataset, graded, side by side

One answer tells you little; a prompt change is better or worse across many inputs. This notebook grades the
`weather` example agent on a small dataset shipped in `datasets/`, compares two configurations, runs scorers on a
single call, and compares two reports. It runs offline on the demo model.
"""),
    py("""
import importlib.util
from pathlib import Path

from playground import scorers
from playground.evals import Dataset, run_eval

spec = importlib.util.spec_from_file_location("weather_example", Path("../agents/weather.py"))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
agent = module.agent

data = Dataset.from_jsonl("../datasets/weather.jsonl")
print(data, [case.input for case in data])
"""),
    md("""
## Scorers on one call

`scorers=` grades a single run after the answer (on a background thread, so the answer is never delayed);
`result.scores` waits for them the first time it is read. `return_scorer_data=True` keeps what they saw.
"""),
    py("""
r = agent.generate("What's the weather in Paris?", scorers={
    "mentions_city": scorers.contains("Paris"),
    "used_the_tool": scorers.tool_called("get_weather", {"city": "Paris"}),
    "judge": scorers.llm_judge(model="demo", rubric="Is the answer grounded in the tool result?"),
}, return_scorer_data=True)
for name, score in r.scores.items():
    print(f"{name}: {score.value:.2f} passed={score.passed}")
print("scorers saw the tool calls:", [c["tool_name"] for c in r.scoring_data["tool_calls"]])
"""),
    md("""
## A dataset on two configurations

Targets are agents or configurations (a dict with `name`, `model`, `instructions`, settings ...). Every case runs
on every target; failures are recorded per case and the rest go on. With `checkpoint=`, a rerun skips finished cases.
"""),
    py("""
report = run_eval(
    [agent, {"name": "terse", "instructions": "Answer in one short line."}],
    data,
    scorers=[scorers.contains(), scorers.tool_called("get_weather")],
    concurrency=4,
)
print(report.summary_table())
report
"""),
    md("""
## Compare two reports

Change the prompt, run again, and see which cases got better or worse.
"""),
    py("""
before = run_eval(agent, Dataset.from_csv("../datasets/arithmetic.csv"), [scorers.contains()], name="v1")
after = run_eval({"agent": agent, "name": agent.name, "instructions": "Show your working."},
                 Dataset.from_csv("../datasets/arithmetic.csv"), [scorers.contains()], name="v2")
print(f"pass rate before {before.pass_rate():.0%}, after {after.pass_rate():.0%}")
print(after.compare(before).summary())
print(after.to_csv().splitlines()[0])
"""),
]

DEMO_REPLAY: list[Cell] = [
    md("""
# Demos that cannot fail: record, replay, report, attachments

A live demo can fail on stage (network, rate limits, a different answer). Record a run once, with every request and
response kept (keys masked) in a small **cassette** file, then replay it anywhere, offline, exactly as it happened:
the same wire data in every panel, the tools run, approvals pause, streams keep their pace. This notebook records the
demo model so it runs offline; with a real provider, only the model string changes (`model="openai:gpt-4.1-mini"`).
"""),
    py("""
import json
import tempfile
from pathlib import Path

from playground import Agent, tool


@tool(requires_approval=True)
def get_weather(city: str) -> str:
    \"\"\"Current weather for a city.\"\"\"
    return f"{city}: 21 degrees, sunny"


folder = Path(tempfile.mkdtemp())
cassette = folder / "weather.cassette"
live = Agent(name="weather", model="demo", tools=[get_weather], record=cassette)
first = live.generate("What is the weather in Paris?")
print(first.finish_reason, "->", first.suspend_payload.tool_name, first.suspend_payload.args)
done = live.approve_tool_call(first.run_id, first.suspend_payload.tool_call_id)
print(done.text)
"""),
    md("""
## The cassette

One JSON file, versioned and documented (`playground/replay.py`): each request (credential headers and keys masked)
and its response as chunks with their arrival times. Small enough to commit next to the agent.
"""),
    py("""
data = json.loads(cassette.read_text())
print(data["format"], "version", data["version"], "model", data["model"])
print(len(data["interactions"]), "requests,", f"{cassette.stat().st_size:,} bytes")
print(json.dumps(data["interactions"][0]["request"]["body"]["messages"]))
"""),
    md("""
## Replay

`model="replay:PATH"` serves the recording through the same transport, parser and step loop as a live call.
`?speed=4` (or `PLAYGROUND_REPLAY_SPEED=4`) streams four times faster than recorded.
"""),
    py("""
demo = Agent(name="weather", model=f"replay:{cassette}?speed=4", tools=[get_weather])
again = demo.generate("What is the weather in Paris?")
print(again.finish_reason, "- the approval pauses as it did")
replayed = demo.approve_tool_call(again.run_id, again.suspend_payload.tool_call_id)
print(replayed.text)
print("raw requests identical:", [a.raw_request == b.raw_request for a, b in zip(replayed.steps, done.steps)])
print("raw responses identical:", [a.raw_response == b.raw_response for a, b in zip(replayed.steps, done.steps)])
"""),
    md("""
A request that was not recorded is refused with what changed, never answered with the wrong recording:
"""),
    py("""
from playground.replay import ReplayMismatchError

try:
    demo.generate("What is the weather in Rome?")
except ReplayMismatchError as exc:
    print("refused:", exc.differences)
"""),
    md("""
## A shareable report

`result.to_html()` (and `session.export_html()`, the playground's **Export report** button, `playground report ...`)
writes one self-contained HTML file: no network, no server, keys masked. It opens in any browser.
"""),
    py("""
from playground.report_html import PANELS

report = folder / "weather-report.html"
html = replayed.to_html(str(report))
print(f"{len(html):,} characters; panels:", [p for p in PANELS if f'data-panel="{p}"' in html])
"""),
    md("""
## Images and files

`session.attach(path)` (the **Attach** button in the browser and the notebook) or an image/file part in a message.
The demo model describes what it received, so the flow shows offline; raw views elide the bytes.
"""),
    py("""
import struct

from playground.attachments import attachment
from playground.messages import Message, TextPart

png = b"\\x89PNG\\r\\n\\x1a\\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", 120, 90, 8, 2, 0, 0, 0)
chart = attachment(("chart.png", png + bytes(404)))
print(chart.describe())
r = Agent(model="demo").generate([Message(role="user", content=[TextPart(text="What does this chart show?"),
                                                                  chart.part()])])
print(r.text)
"""),
]


NOTEBOOK_CELLS: dict[str, list[Cell]] = {
    "01_quickstart": QUICKSTART,
    "02_tools_and_approval": TOOLS,
    "03_structured_output": STRUCTURED,
    "04_streaming_and_usage": STREAMING,
    "05_playground_widget": WIDGET,
    "06_real_providers": REAL,
    "07_memory": MEMORY,
    "08_evaluate": EVALUATE,
    "09_demo_replay": DEMO_REPLAY,
}


def build(name: str) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in NOTEBOOK_CELLS[name]:
        nb.cells.append(new_markdown_cell(source) if kind == "md" else new_code_cell(source))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name[:2]}-{i:02d}"
    return nb


def execute(nb: nbformat.NotebookNode, *, kernel_name: str = "python3", timeout: int = 120) -> nbformat.NotebookNode:
    client = NotebookClient(
        nb, kernel_name=kernel_name, timeout=timeout, resources={"metadata": {"path": str(NOTEBOOKS)}},
        store_widget_state=False,
    )
    client.execute()
    return nb


def coalesce_streams(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Merge consecutive stream outputs (a streamed answer printed chunk by chunk reads as one block)."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged: list[nbformat.NotebookNode] = []
        for out in cell.outputs:
            if merged and out.output_type == "stream" and merged[-1].output_type == "stream" \
                    and merged[-1].name == out.name:
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged
    return nb


def main(selected: list[str]) -> None:
    for var in KEY_VARS:
        os.environ.pop(var, None)
    os.environ["PLAYGROUND_DEMO_DELAY"] = "0"
    os.environ.setdefault("PLAYGROUND_HOME", tempfile.mkdtemp(prefix="playground-notebooks-"))
    NOTEBOOKS.mkdir(exist_ok=True)
    for name in NOTEBOOK_CELLS:
        if selected and not any(name.startswith(s) for s in selected):
            continue
        nb = build(name)
        coalesce_streams(execute(nb))
        nb.metadata.pop("widgets", None)
        nbformat.write(nb, NOTEBOOKS / f"{name}.ipynb")
        print("wrote", NOTEBOOKS / f"{name}.ipynb")


if __name__ == "__main__":
    main(sys.argv[1:])
