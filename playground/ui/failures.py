"""What a failed exchange's message adds for a person (issue 17 item 6): a malformed answer names the content type
the server sent, so an HTML error page answered with 200 reads as such rather than as an empty stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import MalformedResponseError


def content_type_hint(exc: BaseException, attempts: Sequence[dict[str, Any]]) -> str:
    """For a malformed answer whose last attempt says which content type it had (an HTML proxy page, a JSON error):
    a sentence naming it, to add to the error message; "" otherwise."""
    if not isinstance(exc, MalformedResponseError) or not attempts:
        return ""
    headers = {str(k).lower(): str(v) for k, v in (attempts[-1].get("headers") or {}).items()}
    ctype = headers.get("content-type", "").split(";", 1)[0].strip()
    if not ctype:
        return ""
    page = " (a web page, not the API's answer: is the base URL the API's, e.g. ending in /v1?)" \
        if ctype == "text/html" else ""
    return f" The server answered with content-type {ctype}{page}; see the Raw response tab."
