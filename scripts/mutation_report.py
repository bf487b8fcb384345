"""Mutation testing of the safety code: run mutmut over it and print a score per module with the surviving mutants.

    .venv/bin/python scripts/mutation_report.py              # what `make mutation` runs
    .venv/bin/python scripts/mutation_report.py --report     # re-print the last run's figures without running
    .venv/bin/python scripts/mutation_report.py --jobs 1 --min-score 90
    .venv/bin/python scripts/mutation_report.py --only loop._commit --only storage   # test some functions again
    .venv/bin/python scripts/mutation_report.py --retest    # after adding tests: only mutants not yet killed

mutmut (configured in pyproject.toml, [tool.mutmut]) mutates whole files; this script asks it to test only the mutants
of the safety functions below (approval policies, run state and store, the loop's approval path, secret masking) and
scores only those. Mutants listed in tests/safety/EQUIVALENT_MUTANTS.md (function + mutated line, with the reason the
mutant cannot change behaviour) are excluded from the score. Exit status 1 when a module scores below --min-score.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MUTANTS = REPO / "mutants"
# the first mutmut run tests only this mutant (a one-line function with a few fast tests): it makes every mutant and the
# stats of which tests call which function, so the second run can be given the mutants to test by name
SEED = "playground.storage.xǁSqliteRunStoreǁ__repr__*"
EQUIVALENTS_FILE = REPO / "tests" / "safety" / "EQUIVALENT_MUTANTS.md"

# file -> function names counted (None: every function of the file). Methods are "Class.method".
# A name ending in "*" is a prefix; loop functions whose names say they belong to the approval path are counted too
# (LOOP_APPROVAL_WORDS), so helpers added there later are scored without editing this list.
SAFETY: dict[str, list[str] | None] = {
    "playground/runs.py": None,
    "playground/storage.py": None,
    "playground/store/runs_postgres.py": None,
    "playground/tools.py": [
        "evaluate_policy",
        "Tool.requires_approval_for",
        "run_coroutine_sync",
        "check_policy",
        "check_guard_options",
    ],
    "playground/loop.py": [
        "needs_approval",
        "_handle_tool_calls",
        "_tool_run",
        "_execute",
        "_approval_possible",
        "_suspend",
        "_adopt",
        "_claim",
        "_commit",
        "_resume_pending",
        "_own_ids",
        "_record_failure",
    ],
    "playground/providers/transport.py": [
        "mask_*",
        "contains_secret",
        "masked_request",
        "_masked_request_headers",
        "_mask*",
    ],
}
LOOP_APPROVAL_WORDS = re.compile(r"claim|lease|commit|approv|pending|suspend|decision|decide")
# a separate masking module (wherever it lands) is safety code as a whole
MASKING_GLOBS = ("playground/*mask*.py", "playground/providers/*mask*.py")

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # failed tests, pytest internal error, timeouts, type check
STATUS = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 35: "suspicious", None: "not checked"}


def safety_files() -> dict[str, list[str] | None]:
    files = dict(SAFETY)
    for pattern in MASKING_GLOBS:
        for path in sorted(REPO.glob(pattern)):
            files.setdefault(str(path.relative_to(REPO)), None)
    return {f: names for f, names in files.items() if (REPO / f).exists()}


def module_of(path: str) -> str:
    return path[: -len(".py")].replace("/", ".")


def function_of(key: str) -> str:
    """`playground.storage.xǁSqliteRunStoreǁupdate__mutmut_3` -> `SqliteRunStore.update`."""
    mangled = key.rpartition(".")[2].partition("__mutmut_")[0]
    if mangled.startswith("xǁ"):
        cls, _, meth = mangled[2:].partition("ǁ")
        return f"{cls}.{meth}"
    return mangled[2:] if mangled.startswith("x_") else mangled


def counted(path: str, function: str, names: list[str] | None) -> bool:
    if names is None:
        return True
    for name in names:
        if name.endswith("*") and function.startswith(name[:-1]):
            return True
        if function == name:
            return True
    return path == "playground/loop.py" and bool(LOOP_APPROVAL_WORDS.search(function))


def functions_in(path: str) -> list[str]:
    """Top-level functions and methods (`Class.method`) of a source file, as mutmut names them."""
    tree = ast.parse((REPO / path).read_text())
    out: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out.append(node.name)
        elif isinstance(node, ast.ClassDef):
            out += [f"{node.name}.{n.name}" for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return out


def mutant_globs(files: dict[str, list[str] | None], only: list[str] | None = None) -> list[str]:
    """What to ask mutmut to test: the mutants of each counted function (of those named in `only`, if given)."""
    out: list[str] = []
    for path, names in files.items():
        mod = module_of(path)
        for function in functions_in(path):
            if only and not any(o in f"{mod}.{function}" for o in only):
                continue
            if counted(path, function, names):
                cls, _, meth = function.rpartition(".")
                out.append(f"{mod}.xǁ{cls}ǁ{meth}__mutmut_*" if cls else f"{mod}.x_{meth}__mutmut_*")
    return out


@dataclass
class Mutant:
    key: str
    path: str
    function: str
    exit_code: int | None
    diff: str = ""
    equivalent: str | None = None

    @property
    def status(self) -> str:
        if self.exit_code in KILLED:
            return "killed"
        return STATUS.get(self.exit_code, "suspicious")

    @property
    def change(self) -> tuple[str, str]:
        """(removed lines, added lines) of the mutant, whitespace-normalised, for matching equivalents."""
        minus = [ln[1:].strip() for ln in self.diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
        plus = [ln[1:].strip() for ln in self.diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
        return " / ".join(minus), " / ".join(plus)


@dataclass
class Equivalent:
    function: str
    mutated: str
    reason: str
    used: list[str] = field(default_factory=list)


def load_equivalents() -> list[Equivalent]:
    """Rows `| function | mutated line | reason |` of EQUIVALENT_MUTANTS.md (code in backticks)."""
    if not EQUIVALENTS_FILE.exists():
        return []
    out: list[Equivalent] = []
    for line in EQUIVALENTS_FILE.read_text().splitlines():
        # cells split on unescaped pipes: a mutated line with `a \| b` keeps its pipe (as markdown tables write it)
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip()[1:-1])] if line.startswith("|") else []
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        mutated = cells[1].strip("`").replace("\\|", "|").replace("\\`", "`")
        out.append(Equivalent(cells[0].strip("`"), mutated, cells[2]))
    return out


def normalise(code: str) -> str:
    return re.sub(r"\s+", " ", code).strip()


def read_mutants(files: dict[str, list[str] | None], *, diffs: bool = True) -> list[Mutant]:
    sys.path.insert(0, str(REPO))
    os.chdir(REPO)
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    out: list[Mutant] = []
    for path, names in files.items():
        meta = MUTANTS / f"{path}.meta"
        if not meta.exists():
            continue
        for key, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            function = function_of(key)
            if not counted(path, function, names):
                continue
            m = Mutant(key, path, function, code)
            out.append(m)
            if not diffs:
                continue
            try:
                m.diff = get_diff_for_mutant(key, path=Path(path))
            except Exception as exc:  # an unreadable diff must not hide the result
                m.diff = f"(no diff: {exc}; try `mutmut show {key}`)"
    return out


def mark_equivalents(mutants: Iterable[Mutant], equivalents: list[Equivalent]) -> None:
    for m in mutants:
        _, plus = m.change
        for eq in equivalents:
            if eq.function == f"{module_of(m.path)}.{m.function}" and normalise(eq.mutated) == normalise(plus):
                m.equivalent = eq.reason
                eq.used.append(m.key)
                break


def report(mutants: list[Mutant], equivalents: list[Equivalent], min_score: float, show_diffs: bool) -> int:
    """Score per module = killed / (mutants - equivalent - not yet checked); survivors listed with their diffs."""
    by_path: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_path.setdefault(m.path, []).append(m)
    failing = []
    print()
    print("Mutation score of the safety code (killed / (mutants - equivalent - not checked)):")
    print(
        f"  {'module':36} {'mutants':>7} {'equiv':>5} {'killed':>6} {'survived':>8} {'no tests':>8} {'unchecked':>9} "
        f"{'score':>7}"
    )
    rows = [*by_path.items(), ("all safety code", mutants)]
    for path, ms in rows:
        scored = [m for m in ms if m.equivalent is None and m.status not in ("skipped", "not checked")]
        unchecked = sum(m.status == "not checked" and m.equivalent is None for m in ms)
        killed = sum(m.status == "killed" for m in scored)
        survived = sum(m.status == "survived" for m in scored)
        untested = sum(m.status == "no tests" for m in scored)
        score = 100.0 * killed / len(scored) if scored else 100.0
        if path != "all safety code" and (score < min_score or unchecked):
            failing.append(path)
        name = module_of(path) if path.endswith(".py") else path
        print(
            f"  {name:36} {len(ms):7} {sum(m.equivalent is not None for m in ms):5} {killed:6} {survived:8} "
            f"{untested:8} {unchecked:9} {score:6.1f}%"
        )
    survivors = [m for m in mutants if m.equivalent is None and m.status not in ("killed", "skipped", "not checked")]
    if survivors:
        print()
        print(f"Surviving mutants ({len(survivors)}): `mutmut show NAME` shows one again")
        for m in survivors:
            print(f"  [{m.status}] {m.key}")
            if show_diffs:
                for line in m.diff.splitlines()[2:]:
                    if line.startswith(("+", "-")):
                        print(f"      {line}")
    stale = [eq for eq in equivalents if not eq.used]
    if stale:
        print()
        print(f"Listed as equivalent but no longer generated ({len(stale)}; the code changed: update the list):")
        for eq in stale:
            print(f"  {eq.function}: {eq.mutated}")
    print()
    if failing:
        print(f"Below {min_score:g}% or not fully checked: {', '.join(module_of(p) for p in failing)}")
        return 1
    print(f"Every safety module scores at least {min_score:g}%.")
    return 0


@contextmanager
def test_tmpdir() -> Iterator[str | None]:
    """A temporary folder in memory (/dev/shm) for the tests' tmp_path: every mutant's tests write SQLite run stores,
    and on a disk each commit waits for fsync. None (the default TMPDIR) where there is no /dev/shm."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield None
        return
    tmp = tempfile.mkdtemp(prefix="playground-mutation-", dir=shm)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def mutmut_run(names: list[str], jobs: int, what: str) -> None:
    """`mutmut run --max-children JOBS NAMES...`, its progress shown every 30 s and logged to mutants/mutmut-run.log."""
    mutmut = Path(sys.executable).with_name("mutmut")
    cmd = [str(mutmut) if mutmut.exists() else "mutmut", "run", "--max-children", str(jobs), *names]
    print(f"$ {' '.join(cmd[:4])} <{what}>", flush=True)
    MUTANTS.mkdir(exist_ok=True)
    log = MUTANTS / "mutmut-run.log"
    tail: list[str] = []
    with log.open("a") as out, test_tmpdir() as tmp:
        env = {**os.environ, "TMPDIR": tmp} if tmp else None
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, env=env
        )
        assert proc.stdout is not None
        progress = 0.0
        for raw in proc.stdout:
            out.write(raw)
            # mutmut redraws a progress line per mutant: show one every 30 s, and its other lines as they come
            for line in raw.replace("\r", "\n").splitlines():
                if not line.strip():
                    continue
                tail = [*tail[-39:], line]
                is_progress = "🎉" in line and "🙁" in line
                spinner = line.lstrip()[:1] in SPINNER
                if not is_progress and not spinner and not line.startswith(("🎉", "🙁", "🫥", "⏰", "🤔", "🔇", "🧙")):
                    print("  " + line, flush=True)
                elif is_progress and time.monotonic() - progress > 30:
                    progress = time.monotonic()
                    print("  " + line.strip(" " + SPINNER), flush=True)
        code = proc.wait()
    if code != 0:
        print("\n".join(tail))
        raise SystemExit(f"mutmut failed (exit {code}); its output is in {log}")


def run_mutmut(files: dict[str, list[str] | None], jobs: int, mode: str, only: list[str] | None) -> None:
    """mode "fresh": every safety mutant from scratch (as on a fresh clone); "only": the functions named in `only`;
    "retest": only mutants without a kill on record (new or changed functions, earlier survivors).

    Two mutmut runs: the first (one small function's mutants) makes the mutants of every safety file and measures which
    tests call each function; the second tests the chosen mutants by name. Mutants listed as equivalent are not run:
    no test can kill them, and each would cost the full run of every test that covers its function."""
    if mode == "fresh" and MUTANTS.exists():
        shutil.rmtree(MUTANTS)  # no cached results or test-coverage stats
    globs = mutant_globs(files, only)
    if not globs:
        raise SystemExit(f"--only {only}: no safety function matches")
    if mode == "retest" and not read_mutants(files, diffs=False):
        raise SystemExit("--retest: no earlier run in mutants/; run without --retest first")
    # mutmut renumbers the mutants of a changed function and keeps the results of unchanged ones: (re)generate them
    stale = [f for f in files if not (MUTANTS / f"{f}.meta").exists()
             or (REPO / f).stat().st_mtime > (MUTANTS / f"{f}.meta").stat().st_mtime]
    if stale or not (MUTANTS / "mutmut-stats.json").exists():
        mutmut_run([SEED], jobs, f"make the mutants of {len(stale)} file(s) and find the tests of each function")
    selected = set(globs)
    mutants = read_mutants(files)
    mark_equivalents(mutants, load_equivalents())
    names = [
        m.key for m in mutants
        if m.equivalent is None and f"{m.key.partition('__mutmut_')[0]}__mutmut_*" in selected
        and (mode != "retest" or m.status != "killed")
    ]
    skipped = sum(m.equivalent is not None for m in mutants)
    if names:
        mutmut_run(names, jobs, f"{len(names)} mutants of {len(globs)} safety functions ({skipped} equivalent not run)")
    else:
        print("nothing to test: every selected mutant has a kill on record or is listed as equivalent")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="mutmut --max-children (the machine is shared)")
    parser.add_argument("--min-score", type=float, default=90.0, help="per-module score required (percent)")
    parser.add_argument("--report", action="store_true", help="only re-print the last run's results")
    parser.add_argument(
        "--retest",
        action="store_true",
        help="keep mutants/ and test only mutants with no kill on record (after adding tests or changing code)",
    )
    parser.add_argument("--no-diffs", action="store_true", help="list survivors without their diffs")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="test only the safety functions whose module.function contains NAME (repeatable); the others keep "
        "their last results",
    )
    args = parser.parse_args(argv)
    files = safety_files()
    if not args.report:
        mode = "retest" if args.retest else "only" if args.only else "fresh"  # --retest --only X: X's unkilled mutants
        run_mutmut(files, args.jobs, mode, args.only)
    mutants = read_mutants(files)
    if not mutants:
        print("no mutants found: run without --report first", file=sys.stderr)
        return 2
    equivalents = load_equivalents()
    mark_equivalents(mutants, equivalents)
    return report(mutants, equivalents, args.min_score, show_diffs=not args.no_diffs)


if __name__ == "__main__":
    raise SystemExit(main())
