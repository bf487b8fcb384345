"""The README's examples are true as a new user would find them on a fresh clone.

Every ```python block of README.md runs, on its own, in a fresh process, the way a user pastes it:
- offline on the demo model: no provider key in the environment, PLAYGROUND_DATABASE_URL unset, the demo streams with
  no delay;
- PLAYGROUND_HOME in a temp folder, and that temp folder as the working directory, with the repo's example folders
  (agents/, datasets/, ...) linked into it: the README's relative paths (`agents/support.py`,
  `datasets/arithmetic.csv`) work as in the repo, while the files an example writes (`report.csv`, a cassette) stay out
  of the repo;
- top-level `await` is allowed (the README says such lines are "also fine inside Jupyter").
A traceback names README.md and the README's own line number.

A block can say otherwise in an HTML comment (invisible on GitHub) on the line right before its fence:
- `<!-- readme-test: continue -->` runs it after the block before it, in the same process (it uses that block's names,
  e.g. `agent` from the quick start);
- `<!-- readme-test: skip REASON -->` does not run it; REASON is required (e.g. "needs an OpenAI key").
A block with neither runs, so a new section's examples are tested unless their author says why not.

The ```bash blocks are checked too: each `playground ...` line parses with the real command line's parser (a renamed
subcommand or flag fails), and each `make TARGET` the README names is a target of the Makefile.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
# The repo's folders an example may name by a relative path (linked into the example's working directory).
LINKED = ("agents", "datasets", "notebooks", "assets", "benchmarks", "scripts")
PROVIDER_ENV = (
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST",
    "OPENAI_COMPATIBLE_BASE_URL", "PLAYGROUND_DATABASE_URL", "PLAYGROUND_QUEUE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT",
)
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*readme-test:\s*(?P<what>.*?)\s*-->\s*$")
TIMEOUT = 120  # seconds per example group; a hung example fails instead of hanging the suite


@dataclass
class Block:
    lang: str
    line: int  # 1-based README line of the block's first code line
    code: str
    marker: str | None = None


@dataclass
class Example:
    """One or more python blocks run in one process (the first, then the ones marked `continue`)."""

    blocks: list[Block] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "README.md:" + "+".join(str(b.line) for b in self.blocks)


def parse_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, with the readme-test marker written right before each."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group("lang"):
            i += 1
            continue
        indent, lang = m.group("indent"), m.group("lang")
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        if j == len(lines):
            raise AssertionError(f"README.md:{i + 1}: the ```{lang} block is never closed")
        code = "\n".join(ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[i + 1 : j])
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mark = MARKER.match(lines[k]) if k >= 0 else None
        blocks.append(Block(lang=lang, line=i + 2, code=code, marker=mark.group("what") if mark else None))
        i = j + 1
    return blocks


def plan(blocks: list[Block]) -> tuple[list[Example], list[tuple[Block, str]]]:
    """The python examples to run, and the blocks not run with their reasons. A bad marker is an error."""
    examples: list[Example] = []
    skipped: list[tuple[Block, str]] = []
    previous: str | None = None  # "run" / "skip" for the python block before
    for b in (b for b in blocks if b.lang == "python"):
        what = b.marker
        if what is None:
            examples.append(Example([b]))
            previous = "run"
        elif what == "continue":
            if previous != "run":
                raise AssertionError(f"README.md:{b.line}: `readme-test: continue` but the python block before it "
                                     "is not run; continue a block that runs, or skip this one with a reason")
            examples[-1].blocks.append(b)
        elif what.startswith("skip"):
            reason = what[len("skip"):].strip(" :-—")
            if not reason:
                raise AssertionError(f"README.md:{b.line}: `readme-test: skip` needs a reason, "
                                     "e.g. <!-- readme-test: skip needs an OpenAI key -->")
            skipped.append((b, reason))
            previous = "skip"
        else:
            raise AssertionError(f"README.md:{b.line}: unknown marker `readme-test: {what}`; "
                                 "use `continue` or `skip REASON`")
    return examples, skipped


# Runs the blocks in one namespace, each compiled against README.md at its own line, with top-level await allowed.
RUNNER = r"""
import ast, asyncio, json, sys
ns = {"__name__": "__main__", "__file__": sys.argv[1]}
for line, code in json.load(open(sys.argv[2], encoding="utf-8")):
    compiled = compile("\n" * (line - 1) + code, sys.argv[1], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, ns)
    if asyncio.iscoroutine(result):
        asyncio.run(result)
"""


def run_example(
    blocks: list[tuple[int, str]], workdir: Path, readme: Path = README
) -> subprocess.CompletedProcess[str]:
    """Run README blocks (line, code) in a fresh process, as the module docstring describes."""
    for name in LINKED:
        if (REPO / name).exists() and not (workdir / name).exists():
            (workdir / name).symlink_to(REPO / name)
    home = workdir / "playground_home"
    home.mkdir(exist_ok=True)
    (workdir / "blocks.json").write_text(json.dumps(blocks), encoding="utf-8")
    (workdir / "run_readme_blocks.py").write_text(RUNNER, encoding="utf-8")
    # a fresh user's environment: no key, and none of a developer's PLAYGROUND_* / OTEL_* settings
    env = {k: v for k, v in os.environ.items()
           if k not in PROVIDER_ENV and not k.startswith(("PLAYGROUND_", "OTEL_")) and not k.endswith("_API_KEY")}
    env.update(PLAYGROUND_HOME=str(home), PLAYGROUND_DEMO_DELAY="0", PYTHONPATH=str(REPO),
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, str(workdir / "run_readme_blocks.py"), str(readme), str(workdir / "blocks.json")],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )


EXAMPLES, SKIPPED = plan(parse_blocks(README.read_text(encoding="utf-8")))


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_readme_example_runs(example: Example, tmp_path: Path) -> None:
    done = run_example([(b.line, b.code) for b in example.blocks], tmp_path)
    assert done.returncode == 0, (
        f"the README example at {example.name} fails as a user would run it (offline, demo model, no keys):\n"
        f"{done.stderr[-4000:]}\n{done.stdout[-1500:]}"
    )


def test_readme_has_runnable_examples_and_says_why_others_are_not_run() -> None:
    assert len(EXAMPLES) >= 8, "the README's python examples stopped being collected (fence or marker format changed?)"
    for block, reason in SKIPPED:
        assert len(reason) > 8, f"README.md:{block.line}: say why this example is not run"


def test_a_broken_example_fails_and_points_at_its_readme_line(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# t\n\n```python\nfrom playground import Agent\nAgent(model='demo').generate(42j)\n```\n")
    blocks = plan(parse_blocks(readme.read_text()))[0]
    (tmp_path / "w").mkdir()
    done = run_example([(b.line, b.code) for b in blocks[0].blocks], tmp_path / "w", readme)
    assert done.returncode != 0
    assert f'File "{readme}", line 5' in done.stderr


def test_markers_are_checked() -> None:
    with pytest.raises(AssertionError, match="needs a reason"):
        plan(parse_blocks("<!-- readme-test: skip -->\n```python\nx = 1\n```\n"))
    with pytest.raises(AssertionError, match="is not run"):
        plan(parse_blocks("<!-- readme-test: skip needs a key -->\n```python\nx = 1\n```\n"
                          "<!-- readme-test: continue -->\n```python\nx\n```\n"))
    with pytest.raises(AssertionError, match="unknown marker"):
        plan(parse_blocks("<!-- readme-test: maybe -->\n```python\nx = 1\n```\n"))
    examples, skipped = plan(parse_blocks("```python\nx = 1\n```\n\n<!-- readme-test: continue -->\n\n```python\n"
                                          "x\n```\n<!-- readme-test: skip needs a key -->\n```python\ny\n```\n"))
    assert [[b.line for b in e.blocks] for e in examples] == [[2, 8]] and [b.line for b, _ in skipped] == [12]


# --- shell commands ---------------------------------------------------------------------------------------------------

def _shell_commands() -> list[tuple[int, list[str]]]:
    """`playground ...` lines of the README's bash blocks (with `\\` continuations), as argument lists."""
    out: list[tuple[int, list[str]]] = []
    for b in parse_blocks(README.read_text(encoding="utf-8")):
        if b.lang not in ("bash", "sh", "shell", "console"):
            continue
        lines = b.code.splitlines()
        i = 0
        while i < len(lines):
            start, cmd = b.line + i, lines[i]
            while cmd.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd = cmd.rstrip()[:-1] + " " + lines[i]
            i += 1
            # usage notation: `[--json]` / `[JOB_ID]` are written as optional; both the flag and the name must parse
            words = [w[1:-1] if re.fullmatch(r"\[[\w-]+\]", w) else w for w in shlex.split(cmd, comments=True)]
            if words and words[0] in ("playground", ".venv/bin/playground"):
                out.append((start, words[1:]))
    return out + _inline_commands()


def _inline_commands() -> list[tuple[int, list[str]]]:
    """`playground ...` in the README's text, usage notation expanded: `[--json]` is tried with the flag and
    `expire|delete` as each choice. A span with `...`, or naming only a subcommand, is not a whole command."""
    text = README.read_text(encoding="utf-8")
    out: list[tuple[int, list[str]]] = []
    for m in re.finditer(r"`(?:\.venv/bin/)?playground ([^`]+)`", text):
        span = " ".join(m.group(1).split())
        words = shlex.split(span.replace("[", " ").replace("]", " "))
        if "..." in span or len(words) < 2 or "|" in words[0]:
            continue
        line = text[: m.start()].count("\n") + 1
        # a placeholder value after an option (`--older-than DAYS`) stands for a number or text: "1" is both
        words = ["1" if re.fullmatch(r"[A-Z][A-Z_]*", w) and i and words[i - 1].startswith("--") else w
                 for i, w in enumerate(words)]
        variants: list[list[str]] = [[]]
        for w in words:
            choices = w.split("|") if "|" in w and not w.startswith(("{", "'")) else [w]
            variants = [[*v, c] for v in variants for c in choices]
        out += [(line, v) for v in variants]
    return out


class _Parsed(Exception):
    pass


@pytest.mark.parametrize("line,argv", _shell_commands(), ids=[f"README.md:{n}" for n, _ in _shell_commands()])
def test_readme_command_line_parses(line: int, argv: list[str], monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """The command parses with the real parser: its subcommand and every flag exist (nothing is run)."""
    from playground import cli

    original = argparse.ArgumentParser.parse_args

    def parse_only(self: argparse.ArgumentParser, args: list[str] | None = None, namespace: object = None) -> object:
        raise _Parsed(original(self, args))  # SystemExit(2) on an unknown subcommand or flag

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
    try:
        cli.main(argv)
    except SystemExit:
        pytest.fail(f"README.md:{line}: `playground {shlex.join(argv)}` does not parse: {capsys.readouterr().err}")
    except _Parsed:
        return
    pytest.fail(f"README.md:{line}: the command line's parser was not reached")


def test_readme_make_targets_exist() -> None:
    targets = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(encoding="utf-8"), re.M))
    named = set(re.findall(r"`make ([\w-]+)", README.read_text(encoding="utf-8")))
    for b in parse_blocks(README.read_text(encoding="utf-8")):
        named |= set(re.findall(r"^make ([\w-]+)", b.code, re.M))
    assert named, "the README names no make target"
    assert named <= targets, f"the README names make targets the Makefile lacks: {sorted(named - targets)}"


def test_placeholder_ids_pasted_from_the_readme_give_a_clear_error() -> None:
    """`approve_tool_call(run_id=..., tool_call_id=...)` copied literally names the field, not a storage failure."""
    from playground import Agent
    from playground.errors import ApprovalError

    agent = Agent(model="demo")
    for kwargs, field_name in (({"run_id": ..., "tool_call_id": "call_1"}, "run_id"),
                               ({"run_id": "run_1", "tool_call_id": None}, "tool_call_id")):
        with pytest.raises(ApprovalError, match=f"^{field_name}: expected the id as a string"):
            agent.approve_tool_call(**kwargs)  # type: ignore[arg-type]
        with pytest.raises(ApprovalError, match=f"^{field_name}: "):
            agent.decline_tool_call(**kwargs)  # type: ignore[arg-type]


def test_files_the_readme_names_exist() -> None:
    """Every repo path the README names (`agents/notes.py`, `tests/faults/`, a screenshot) is in the repo."""
    text = README.read_text(encoding="utf-8")
    folders = "playground|tests|agents|notebooks|benchmarks|scripts|datasets|assets|\\.ci"
    pattern = rf"(?<![\w/.$-])((?:{folders})/[\w./*-]*[\w/*])"
    named = set(re.findall(pattern, text))
    assert len(named) > 20, "the README's file references stopped being found"
    missing = sorted(p for p in named if not (list(REPO.glob(p)) if "*" in p else (REPO / p).exists()))
    assert not missing, f"the README names files that do not exist: {missing}"


def test_environment_variables_the_readme_names_are_read() -> None:
    """Every PLAYGROUND_* / OTEL_* setting the README tells a user to set is read somewhere in the package."""
    named = set(re.findall(r"\b((?:PLAYGROUND|OTEL)_[A-Z_]+[A-Z])\b", README.read_text(encoding="utf-8")))
    assert "PLAYGROUND_HOME" in named
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "playground").rglob("*.py"))
    unread = sorted(v for v in named if v not in source)
    assert not unread, f"the README names settings the package never reads: {unread}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_inside_the_readme_reach_a_heading() -> None:
    text = README.read_text(encoding="utf-8")
    prose = re.sub(r"^ *```.*?^ *```", "", text, flags=re.M | re.S)  # a `# comment` in a code block is no heading
    headings = {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", prose, re.M)}
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links, "the README's contents links stopped being found"
    assert links <= headings, f"links to no heading: {sorted(links - headings)}"


def test_layout_lists_every_module_of_the_package() -> None:
    """The README's Layout names each module and sub-package of playground/ (a new module gets a line there)."""
    text = README.read_text(encoding="utf-8")
    layout = text[text.index("## Layout"):]
    layout = layout[: layout.index("\n## ")] if "\n## " in layout else layout
    package = REPO / "playground"
    names = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    names += [p.name + "/" for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    missing = sorted(n for n in names if not re.search(rf"(?<![\w/]){re.escape(n)}", layout))
    assert not missing, f"README.md's Layout does not list: {missing}; add each with a few words on what it is"
