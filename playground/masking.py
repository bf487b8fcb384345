"""The one masking module: every view, error, log, saved session and exported snippet masks secrets through here.

Where a secret can hide:
- a known key (the provider's API key) anywhere in text or inside a JSON-like value, short keys (4 characters) too;
- a header whose name looks like a credential (authorization, proxy-authorization, cookie, set-cookie, and any name
  containing key, token, secret, password, auth or credential; rate-limit headers such as `x-ratelimit-remaining-tokens`
  are counts, not credentials, and stay visible);
- a password in URL userinfo (`https://user:pass@host`);
- a credential-looking query parameter (`?key=`, `api_key`, `apikey`, `token`, `access_token`, `secret`, `password`,
  `sig`, `signature`, ... in any letter case).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

MASK = "****"
MIN_SECRET_LENGTH = 4
"""Known secrets this long or longer are replaced wherever they occur (shorter ones look like ordinary text)."""

_EXACT_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-goog-api-key"}
)
_SECRET_HEADER_WORDS = re.compile(r"key|secret|passw|pwd|credential|auth|token(?!s)|cookie|session|signature", re.I)

_QUERY_NAMES = (
    r"key|api[_-]?key|apikey|x-goog-api-key|token|access[_-]?token|refresh[_-]?token|id[_-]?token|auth|"
    r"auth[_-]?token|secret|client[_-]?secret|password|passwd|pwd|sig|signature|x-amz-signature|"
    r"x-amz-credential|x-amz-security-token|credential|session[_-]?token"
)
_KEY_QUERY = re.compile(rf"([?&;](?:{_QUERY_NAMES})=)([^&#\s\"'<>]+)", re.I)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s/:@\"'<>]*:)([^\s/@\"'<>]+)@", re.I)


class _SecretHeaderNames(frozenset[str]):
    """`name.lower() in SECRET_HEADERS` is true for every credential-looking header name, not only the listed ones."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and is_secret_header(name)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(_EXACT_SECRET_HEADERS))


SECRET_HEADERS: frozenset[str] = _SecretHeaderNames(_EXACT_SECRET_HEADERS)


_header_verdicts: dict[str, bool] = {}
"""is_secret_header's answers by header name: the same few names come with every request and response."""


def is_secret_header(name: str) -> bool:
    """Whether a header of this name may carry a credential (and so is always masked)."""
    verdict = _header_verdicts.get(name)
    if verdict is None:
        low = name.lower()
        verdict = low in _EXACT_SECRET_HEADERS or _SECRET_HEADER_WORDS.search(low) is not None
        if len(_header_verdicts) >= 1024:  # bounded: a server inventing header names cannot grow it for ever
            _header_verdicts.clear()
        _header_verdicts[name] = verdict
    return verdict


def mask_secret(value: str) -> str:
    """`sk-proj-abc...wxyz` -> `sk-...wxyz`: enough to tell keys apart, nothing to use. Short values -> `****`."""
    if len(value) <= 8:
        return MASK
    return f"{value[:3]}...{value[-4:]}" if len(value) >= 20 else f"...{value[-2:]}"


def looks_masked(value: str) -> bool:
    return MASK in value or "..." in value


_usable_sets: dict[tuple[str | None, ...], tuple[str, ...]] = {}
"""_usable's answers by the secrets given: a transport passes the same list on every call."""


def _usable(secrets: Iterable[str | None]) -> tuple[str, ...]:
    """Known secrets, longest first (so a key that contains another is replaced whole)."""
    given = tuple(secrets)
    usable = _usable_sets.get(given)
    if usable is None:
        usable = tuple(sorted({s for s in given if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True))
        if len(_usable_sets) >= 256:  # bounded (keys are already held for log masking)
            _usable_sets.clear()
        _usable_sets[given] = usable
    return usable


def mask_url_credentials(text: str) -> str:
    """Userinfo passwords and credential-looking query parameters in any URL inside `text`."""
    if "=" in text:
        text = _KEY_QUERY.sub(lambda m: m.group(1) + MASK, text)
    if "@" in text:
        text = _USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    return text


def mask_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret and every URL credential masked."""
    for s in _usable(secrets):
        if s in text:
            text = text.replace(s, mask_secret(s))
    return mask_url_credentials(text)


def mask_header_value(value: str) -> str:
    if looks_masked(value):
        return value
    scheme, sep, token = value.partition(" ")
    if sep and token and scheme.isalpha():
        return f"{scheme} {mask_secret(token)}"
    return mask_secret(value)


def mask_headers(headers: Mapping[str, str], secrets: Iterable[str | None] = ()) -> dict[str, str]:
    """Headers with every credential-looking header masked whole and known secrets masked in the others."""
    known = _usable(secrets)
    out: dict[str, str] = {}
    for name, value in headers.items():
        value = str(value)
        if is_secret_header(name):
            out[name] = mask_header_value(mask_text(value, known) if known else value)
        elif known or "=" in value or "@" in value:
            out[name] = mask_text(value, known)
        else:
            out[name] = value
    return out


def mask_value(value: Any, secrets: Iterable[str | None] = ()) -> Any:
    """Secrets masked anywhere inside a JSON-like value (strings, dict keys and values, lists, tuples)."""
    known = _usable(secrets)
    return _mask_value(value, known)


def _mask_value(value: Any, known: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return mask_text(value, known) if known or "=" in value or "@" in value else value
    if isinstance(value, Mapping):
        return {(_mask_value(k, known) if isinstance(k, str) else k): _mask_value(v, known) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v, known) for v in value]
    return value


def contains_secret(data: bytes | str, secrets: Iterable[str | None]) -> bool:
    """A cheap check before a deep mask: most bodies hold no known secret."""
    if isinstance(data, str):  # runs once per stream event when a key is set: no set or sort here
        return any(s and len(s) >= MIN_SECRET_LENGTH and s in data for s in secrets)
    return any(s and len(s) >= MIN_SECRET_LENGTH and s.encode() in data for s in secrets)


def check_api_key(key: str | None, *, provider: str = "", field: str = "api_key") -> str | None:
    """A key with surrounding whitespace or a line break is refused up front; the error shows only its masked form."""
    if key is None or key == "":
        return key
    from .errors import ConfigurationError

    if not isinstance(key, str):
        raise ConfigurationError(f"{field}: an API key must be a string, not {type(key).__name__}", field=field)
    if key != key.strip() or any(c in key for c in "\r\n\t\x00"):
        where = f" for {provider}" if provider else ""
        shown = mask_secret(key.strip())
        raise ConfigurationError(
            f"{field}{where}: the key {shown!s} has surrounding whitespace or a line break (often pasted with a "
            "newline); remove it and try again.",
            field=field,
        )
    return key


# ----------------------------------------------------------------------------------------------------------------
# Logs: httpx2 / httpcore2 log URLs at INFO and whole header lists at DEBUG. A filter masks what they would leak.

_LOG_SECRETS: set[str] = set()
_HEADER_TUPLE = re.compile(r"\((b?)(['\"])([^'\"]{1,100})\2,\s*(b?)(['\"])(.*?)\5\)")
_LOGGER_PREFIXES = ("httpx", "httpcore")
_seen_loggers = 0


def mask_log_text(text: str) -> str:
    """A log line with every known key, URL credential and credential-looking header value masked."""
    text = mask_text(text, _LOG_SECRETS)
    if "('" in text or '("' in text or "(b'" in text or '(b"' in text:  # repr() quotes with " when a value has '

        def header(m: re.Match[str]) -> str:
            if not is_secret_header(m.group(3)):
                return m.group(0)
            name_q, value_q = m.group(2), m.group(5)
            name = f"{m.group(1)}{name_q}{m.group(3)}{name_q}"
            return f"({name}, {m.group(4)}{value_q}{mask_header_value(m.group(6))}{value_q})"

        text = _HEADER_TUPLE.sub(header, text)
    return text


class SecretLogFilter(logging.Filter):
    """Rewrites a log record's message with secrets masked (installed on the HTTP libraries' loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: leave it to logging's own error handling
            return True
        masked = mask_log_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


_FILTER = SecretLogFilter()


def guard_library_logs(secrets: Iterable[str | None] = ()) -> None:
    """Remember `secrets` for log masking and put the filter on every httpx2/httpcore2 logger (new ones too)."""
    global _seen_loggers
    _LOG_SECRETS.update(_usable(secrets))
    loggers = logging.root.manager.loggerDict
    if len(loggers) == _seen_loggers:
        return
    _seen_loggers = len(loggers)
    for name in list(loggers):
        if name.startswith(_LOGGER_PREFIXES):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
