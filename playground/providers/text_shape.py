"""Text deltas read by slicing: the learnt shape of a provider's text-delta event (see `learn_text_shape`).

Used by the stream parsers' hot path (OpenAI Chat Completions and compatible servers, Anthropic).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic_core import from_json


def learnable(text: str) -> bool:
    """Whether a text's JSON literal is the text itself between quotes (a shape can be learnt from it)."""
    return bool(text) and '"' not in text and "\\" not in text and text.isprintable()


def learn_text_shape(
    data: str, chunk: Any, text: str, holder: Callable[[Any], dict[str, Any]], key: str
) -> tuple[str, str] | None:
    """`(head, tail)` with `data == head + text + tail` for a text-delta event, if proven, else None.

    Most servers send every text delta of a stream with the same bytes around the text (same id, model, index ...).
    `head` ends with, and `tail` starts with, the quote of the text's JSON string literal. It is kept only if proven:
    the same bytes around another text parse to this very event (`chunk`, parsed from `data`) with that other text at
    `holder(chunk)[key]`. A literal that needs no unescaping (no quote, no backslash, no control character) is one
    JSON token whatever it holds, so any later `head + text + tail` with such a text parses to this event with its
    own text: a parser may then read the text by slicing, without parsing the JSON again."""
    if not learnable(text):
        return None
    literal = f'"{text}"'
    for at in (data.rfind(literal), data.find(literal)):
        if at < 0:
            return None
        head, tail = data[:at], data[at + len(literal) :]
        try:
            probe = from_json(f'{head}"probe-x"{tail}')
            where = holder(probe)
            if where[key] != "probe-x":
                continue
            where[key] = text
            if probe == chunk:
                return head + '"', '"' + tail
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            continue
    return None

