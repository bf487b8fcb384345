"""Datasets for evaluation: cases with an input, an optional expected value, and any other columns as variables.

    Dataset.from_csv("datasets/arithmetic.csv")      # columns: id, input, expected, a, b
    Dataset.from_jsonl("datasets/weather.jsonl")     # one JSON object a line
    Dataset.from_list(["What is 2+2?", {"input": "Capital of {{ country }}?", "country": "France"}])

`{{ name }}` in an input is filled from the case's other columns (Jinja2, sandboxed, a missing variable is an error
naming it). Every problem in a file is an error naming the file, the row and the column.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError


class DatasetError(ConfigurationError):
    """A dataset that cannot be read: the message names the file, the row and the column."""


@dataclass
class EvalCase:
    """One case: `id` (the `id` column, else the row number), the input sent, the expected value, the variables."""

    id: str
    input: str
    expected: Any = None
    vars: dict[str, Any] = field(default_factory=dict)
    row: int = 0


class Dataset:
    """A list of EvalCases (iterate it, `len()` it)."""

    def __init__(self, cases: Sequence[EvalCase], name: str = "dataset") -> None:
        ids = [c.id for c in cases]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise DatasetError(f"{name}: case ids must be unique; repeated: {', '.join(dupes[:5])}", field="id")
        self.cases = list(cases)
        self.name = name

    def __len__(self) -> int:
        return len(self.cases)

    def __iter__(self) -> Iterator[EvalCase]:
        return iter(self.cases)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} cases)"

    @classmethod
    def from_list(cls, rows: Sequence[str | Mapping[str, Any]], *, name: str = "list", input_column: str = "input",
                  expected_column: str = "expected") -> Dataset:
        """Cases from strings (inputs) or mappings (columns)."""
        if isinstance(rows, str | bytes) or not isinstance(rows, Sequence):
            raise DatasetError(f"{name}: give a list of inputs or of rows (dicts)", field="rows")
        cases = [_case({input_column: r} if isinstance(r, str) else r, n, name, input_column, expected_column)
                 for n, r in enumerate(rows, 1)]
        if not cases:
            raise DatasetError(f"{name}: the dataset has no cases", field="rows")
        return cls(cases, name)

    @classmethod
    def from_csv(cls, path: str | Path, *, input_column: str = "input", expected_column: str = "expected") -> Dataset:
        """Cases from a CSV file with a header row (`input`, optional `expected`, any other column a variable)."""
        p = _existing(path)
        try:
            with p.open(newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f)
                header = list(reader.fieldnames or [])
                if input_column not in header:
                    raise DatasetError(
                        f"{p}: no {input_column!r} column; columns: {', '.join(header) or '(none)'}; "
                        f"rename one, or pass input_column= (CLI: --input-column)", field="input_column")
                rows = []
                for n, row in enumerate(reader, 2):  # row 1 is the header
                    if None in row:
                        raise DatasetError(f"{p} row {n}: more values than columns", field="row")
                    rows.append((n, row))
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{p}: not UTF-8 text ({exc})", field="path") from None
        except csv.Error as exc:
            raise DatasetError(f"{p}: not valid CSV ({exc})", field="path") from None
        if expected_column != "expected" and expected_column not in header:
            raise DatasetError(f"{p}: no {expected_column!r} column; columns: {', '.join(header)}",
                               field="expected_column")
        cases = [_case(row, n, str(p), input_column, expected_column) for n, row in rows]
        if not cases:
            raise DatasetError(f"{p}: the file has a header but no rows", field="path")
        return cls(cases, p.name)

    @classmethod
    def from_jsonl(cls, path: str | Path, *, input_column: str = "input",
                   expected_column: str = "expected") -> Dataset:
        """Cases from a JSON Lines file: one object a line."""
        p = _existing(path)
        cases = []
        try:
            lines = p.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{p}: not UTF-8 text ({exc})", field="path") from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise DatasetError(f"{p} line {n}: not valid JSON ({exc})", field="row") from None
            if not isinstance(row, dict):
                raise DatasetError(f"{p} line {n}: expected a JSON object, got {type(row).__name__}", field="row")
            cases.append(_case(row, n, str(p), input_column, expected_column))
        if not cases:
            raise DatasetError(f"{p}: the file has no cases", field="path")
        return cls(cases, p.name)

    @classmethod
    def load(cls, path: str | Path, **columns: str) -> Dataset:
        """A dataset from a .csv, .jsonl or .json (a list of rows) file, by its extension."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix == ".csv":
            return cls.from_csv(p, **columns)
        if suffix in (".jsonl", ".ndjson"):
            return cls.from_jsonl(p, **columns)
        if suffix == ".json":
            try:
                rows = json.loads(_existing(p).read_text(encoding="utf-8"))
            except ValueError as exc:
                raise DatasetError(f"{p}: not valid JSON ({exc})", field="path") from None
            if not isinstance(rows, list):
                raise DatasetError(f"{p}: expected a JSON list of rows", field="path")
            return cls.from_list(rows, name=p.name, **columns)
        raise DatasetError(f"{p}: use a .csv, .jsonl or .json file", field="path")


def _existing(path: str | Path) -> Path:
    p = Path(path)
    if p.is_dir():
        raise DatasetError(f"{p} is a folder; give a .csv or .jsonl file", field="path")
    if not p.is_file():
        raise DatasetError(f"no such dataset file: {p}", field="path")
    return p


def _case(row: Mapping[str, Any], n: int, where: str, input_column: str, expected_column: str) -> EvalCase:
    label = f"{where} row {n}"
    if not isinstance(row, Mapping):
        raise DatasetError(f"{label}: expected a row (a dict) or a string", field="row")
    raw = row.get(input_column)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise DatasetError(f"{label}: column {input_column!r} is empty", field=input_column)
    if not isinstance(raw, str):
        raw = json.dumps(raw, ensure_ascii=False)
    expected = row.get(expected_column)
    if isinstance(expected, str) and expected == "":
        expected = None
    variables = {k: v for k, v in row.items() if k not in (input_column, expected_column, "id")}
    text = render(raw, variables, label, input_column)
    case_id = str(row.get("id") or n)
    return EvalCase(id=case_id, input=text, expected=expected, vars=variables, row=n)


def render(template: str, variables: Mapping[str, Any], where: str, column: str) -> str:
    """`{{ name }}` filled from the row (sandboxed Jinja2, strict): a missing variable names itself and the row."""
    if "{{" not in template and "{%" not in template:
        return template
    from jinja2 import StrictUndefined, TemplateError, UndefinedError
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    try:
        return env.from_string(template).render(**variables)
    except UndefinedError as exc:
        raise DatasetError(f"{where}: column {column!r} uses a variable the row does not have ({exc.message}); "
                           f"columns: {', '.join(variables) or '(none)'}", field=column) from None
    except TemplateError as exc:
        raise DatasetError(f"{where}: column {column!r} is not a valid template ({exc})", field=column) from None
