"""Checks of the arguments that enter through `Agent(...)` and `agent.embed(...)`, each error naming its field.

Call options (`generate(..., **options)`) are checked by `CallOptions` in settings.py; messages by messages.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ConfigurationError


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_model(model: Any, field: str = "model") -> None:
    """A model string that names a provider and a model, or a provider instance (anything with build_request)."""
    if isinstance(model, str):
        from .providers.registry import split_model_string

        split_model_string(model)
        return
    if model is None or not callable(getattr(model, "build_request", None)):
        raise ConfigurationError(
            f"{field}: expected a model string such as 'demo' or 'openai:gpt-4.1-mini', or a provider instance; "
            f"got {type(model).__name__} {model!r:.40}",
            field=field,
        )


def check_agent_args(
    *,
    name: Any,
    model: Any,
    api_key: Any,
    base_url: Any,
    headers: Any,
    storage: Any,
    timeout: Any,
    always_approve: Any,
    max_processor_retries: Any,
    instructions: Any = "",
    description: Any = "",
) -> None:
    """Raise ConfigurationError naming the first wrong argument of `Agent(...)`."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"name: expected a non-empty string, got {name!r:.40}", field="name")
    if not isinstance(description, str):
        raise ConfigurationError(f"description: expected a string, got {type(description).__name__}",
                                 field="description")
    if instructions is not None and not callable(instructions):
        from .messages import system_messages

        system_messages(instructions, "instructions")  # a string, a list of them, or system messages
    check_model(model)
    for field, value in (("api_key", api_key), ("base_url", base_url)):
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(
                f"{field}: expected a string (or None to read it from the environment), got {type(value).__name__}",
                field=field,
            )
    if headers is not None:
        if not isinstance(headers, Mapping):
            raise ConfigurationError(f"headers: expected a dict of str to str, got {type(headers).__name__}",
                                     field="headers")
        for key, value in headers.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ConfigurationError(
                    f"headers: {key!r:.40}: {value!r:.40} is not a string pair; header names and values are strings "
                    f"(write str({value!r:.20}))",
                    field="headers",
                )
    if storage is not None and not all(callable(getattr(storage, m, None)) for m in ("save", "load", "delete")):
        raise ConfigurationError(
            f"storage: expected a run store with save(), load() and delete() (e.g. playground.storage."
            f"SqliteRunStore(path)), got {type(storage).__name__}",
            field="storage",
        )
    if timeout is not None and (not _is_number(timeout) or timeout <= 0):
        raise ConfigurationError(
            f"timeout: expected a number of seconds greater than 0, got {type(timeout).__name__} {timeout!r:.20}",
            field="timeout",
        )
    if always_approve is not None and (
        isinstance(always_approve, str) or not all(isinstance(t, str) for t in always_approve)
    ):
        raise ConfigurationError(
            f"always_approve: expected a list of tool names, got {always_approve!r:.60}", field="always_approve"
        )
    retries = max_processor_retries
    if retries is not None and (not isinstance(retries, int) or isinstance(retries, bool) or retries < 0):
        raise ConfigurationError(
            f"max_processor_retries: expected a whole number >= 0, got {max_processor_retries!r:.20}",
            field="max_processor_retries",
        )


def check_embed_input(value: Any) -> list[str]:
    """`agent.embed(input)`: a non-empty string or a non-empty list of non-empty strings."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items or not all(isinstance(i, str) and i for i in items):
        raise ConfigurationError(
            f"embed: input must be a non-empty string or a non-empty list of strings, got {value!r:.60}",
            field="input",
        )
    return list(items)
