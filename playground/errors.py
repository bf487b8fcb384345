"""One exception tree for everything the library raises.

`ProviderError` and its subclasses carry what a person needs to act: HTTP status, the provider's error code and message,
the request id and the raw body. They never carry an API key: the transport masks secrets before an error is built.
"""

from __future__ import annotations

from typing import Any

RETRYABLE_STATUSES = frozenset({408, 409, 429, *range(500, 600)}) - {501, 505}
"""Statuses the transport retries and `ProviderError.retryable` calls retryable: a request timeout, a conflict, rate
limits and server errors (not 501 Not Implemented / 505 HTTP Version Not Supported: a retry cannot help those)."""


class PlaygroundError(Exception):
    """Base of every error raised by the playground."""

    def _repr_html_(self) -> str:
        """Displayed in a notebook: status, provider, what went wrong, the raw request and response, the partial
        result (playground/display.py)."""
        from .display import error_html

        return error_html(self)

    def _render_traceback_(self) -> list[str]:
        """What IPython shows when this error is raised in a cell, instead of a traceback through our internals."""
        from .display import error_text

        return error_text(self)


class ConfigurationError(PlaygroundError, ValueError):
    """A setting, option or model string is wrong. The message names the field and the fix."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class OptionsError(ConfigurationError):
    """A call option failed validation."""


class MissingAPIKeyError(ConfigurationError):
    """A provider needs a key that is not set."""

    def __init__(self, provider: str, env_vars: list[str]) -> None:
        names = " or ".join(env_vars)
        super().__init__(
            f"No API key for provider {provider!r}: set {names} in the environment or pass api_key=... to Agent(...).",
            field="api_key",
        )
        self.provider = provider
        self.env_vars = env_vars


class ProviderError(PlaygroundError):
    """An error answered by a model provider (or the transport on its way there)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        provider: str | None = None,
        request_id: str | None = None,
        raw_body: Any = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.provider = provider
        self.request_id = request_id
        self.raw_body = raw_body
        self.retryable = retryable if retryable is not None else status in RETRYABLE_STATUSES
        """True exactly for the statuses the transport retries (RETRYABLE_STATUSES): a later try may succeed."""
        self.retry_after = retry_after
        self.attempts: int | None = None
        """How many requests were sent before this error was raised (retries included), when known."""

    def __str__(self) -> str:
        parts = [self.message]
        details = [
            f"status {self.status}" if self.status is not None else None,
            f"code {self.code}" if self.code else None,
            f"provider {self.provider}" if self.provider else None,
            f"request id {self.request_id}" if self.request_id else None,
        ]
        shown = [d for d in details if d]
        if shown:
            parts.append(f"({', '.join(shown)})")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "message": self.message,
            "status": self.status,
            "code": self.code,
            "provider": self.provider,
            "request_id": self.request_id,
            "raw_body": self.raw_body,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
        }


class AuthenticationError(ProviderError):
    """401/403: the key is wrong, expired or lacks permission."""


class PermissionDeniedError(AuthenticationError):
    """403: the key is valid but may not use this resource."""


class NotFoundError(ProviderError):
    """404: usually an unknown model name."""


class RateLimitError(ProviderError):
    """429: too many requests or tokens; retried with backoff before it is raised."""


class ContextLengthError(ProviderError):
    """The prompt does not fit the model's context window."""


class InvalidRequestError(ProviderError):
    """400/422: the provider rejected the request body."""


class ServerError(ProviderError):
    """5xx or an overloaded provider; retried before it is raised."""


class ConnectionFailedError(ProviderError):
    """The server could not be reached (refused, DNS, TLS) or did not answer in time."""


class TimeoutError_(ConnectionFailedError):
    """The request timed out."""


class StreamError(ProviderError):
    """The provider reported an error in the middle of a stream."""


class MalformedResponseError(ProviderError):
    """A 2xx answer that is not what the protocol promises: HTML, truncated or empty JSON, a JSON array where an object
    belongs, a garbage stream line, a body that fails to decompress, an empty stream. Not retried."""


class RequestTimeoutError(ProviderError):
    """408: the server gave up waiting for the request; retried before it is raised."""


class ConflictError(ProviderError):
    """409: a conflicting request was in flight (OpenAI, Anthropic); retried before it is raised."""


class AbortedError(PlaygroundError):
    """The call was aborted through its abort signal or `stop()`."""


class ToolError(PlaygroundError):
    """A tool failed. Inside a run this becomes an error tool result the model sees; raised only on direct calls."""

    def __init__(self, message: str, *, tool_name: str | None = None, tool_call_id: str | None = None) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.tool_call_id = tool_call_id


class ToolArgumentsError(ToolError):
    """Tool arguments did not validate against the tool's schema."""


class ApprovalError(PlaygroundError):
    """An approval or decline could not be applied (unknown run, unknown call, already resolved)."""


class StorageError(PlaygroundError):
    """The run store could not be read or written (unwritable folder, a file that is not a database, a disk that is
    full, a store made by a newer version). Raised during a run, `.result` keeps what the model answered so far."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.result: Any = None


class StructuredOutputError(PlaygroundError):
    """The model's answer did not validate against the structured output schema (error_strategy='strict')."""

    def __init__(self, message: str, *, text: str | None = None, errors: Any = None) -> None:
        super().__init__(message)
        self.text = text
        self.errors = errors


def error_class_for_status(status: int) -> type[ProviderError]:
    """The most specific ProviderError subclass for an HTTP status."""
    if status in (401,):
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 429:
        return RateLimitError
    if status == 408:
        return RequestTimeoutError
    if status == 409:
        return ConflictError
    if status in (400, 413, 422):
        return InvalidRequestError
    if status >= 500:
        return ServerError
    return ProviderError
