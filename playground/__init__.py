"""Agent Playground: a Python agent core (the counterpart of Mastra's `Agent.generate()` and ActiveAgent's generation
methods) with a browser playground and a notebook playground over it.

    from playground import Agent, tool
    agent = Agent(name="helper", instructions="Be brief.", model="demo")
    result = agent.generate("What is 2+2?")
"""

import typing as _typing

from . import scorers
from .agent import Agent, EmbedGeneration
from .errors import (
    AbortedError,
    ApprovalError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    ConnectionFailedError,
    ContextLengthError,
    InvalidRequestError,
    MalformedResponseError,
    MissingAPIKeyError,
    NotFoundError,
    OptionsError,
    PermissionDeniedError,
    PlaygroundError,
    ProviderError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    StorageError,
    StreamError,
    StructuredOutputError,
    TimeoutError_,
    ToolArgumentsError,
    ToolError,
)
from .events import (
    ErrorEvent,
    FinishEvent,
    ReasoningDeltaEvent,
    SourceEvent,
    StepFinishEvent,
    StepStartEvent,
    StreamEvent,
    TextDeltaEvent,
    ToolApprovalEvent,
    ToolCallDeltaEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from .generation import Generation, StreamRun
from .jobs import Job, JobError, JobNotDurableWarning
from .loop import has_tool_call, step_count_is
from .messages import FilePart, ImagePart, Message, ReasoningPart, SourcePart, TextPart, ToolCallPart, ToolResultPart
from .output import StructuredOutput
from .pricing import Cost
from .processors import PIIRedactor, Processor, ProcessorContext, TokenLimiter, TripwireError
from .result import (
    Embedding,
    EmbeddingResult,
    GenerationResult,
    RawRequest,
    RawResponse,
    Source,
    Step,
    SuspendPayload,
    ToolCall,
    ToolResult,
    Tripwire,
    Usage,
)
from .runs import InMemoryRunStore, RunState
from .settings import AbortSignal, ModelSettings, NamedToolChoice
from .tools import Tool, ToolContext, tool

if _typing.TYPE_CHECKING:  # loaded on first use, see __getattr__ below
    from .actions import ActionAgent, ParameterizedAgent, TemplateError, action, after_generation, before_generation
    from .attachments import Attachment, attachment
    from .mcp import MCPServerError, MCPServerHTTP, MCPServerStdio, MCPTool
    from .memory import Memory, MemoryReport
    from .raw_events import RawEvents
    from .replay import Cassette, ReplayMismatchError
    from .storage import SqliteRunStore, open_run_store, playground_home
    from .store.runs_postgres import PostgresRunStore

__version__ = "0.1.0"

# Rarely needed names load on first use (PEP 562), so `import playground` stays fast: `from playground import Memory`
# and `playground.Memory` work as before.
_LAZY = {
    "ActionAgent": "actions",
    "ParameterizedAgent": "actions",
    "TemplateError": "actions",
    "action": "actions",
    "after_generation": "actions",
    "before_generation": "actions",
    "MCPServerError": "mcp",
    "MCPServerHTTP": "mcp",
    "MCPServerStdio": "mcp",
    "MCPTool": "mcp",
    "Memory": "memory",
    "MemoryReport": "memory",
    "SqliteRunStore": "storage",
    "playground_home": "storage",
    "open_run_store": "storage",
    "PostgresRunStore": "store.runs_postgres",
    "Attachment": "attachments",
    "attachment": "attachments",
    "Cassette": "replay",
    "ReplayMismatchError": "replay",
    "RawEvents": "raw_events",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'playground' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AbortSignal",
    "AbortedError",
    "ActionAgent",
    "Agent",
    "ApprovalError",
    "Attachment",
    "AuthenticationError",
    "Cassette",
    "ConfigurationError",
    "ConflictError",
    "ConnectionFailedError",
    "ContextLengthError",
    "Cost",
    "EmbedGeneration",
    "Embedding",
    "EmbeddingResult",
    "ErrorEvent",
    "FilePart",
    "FinishEvent",
    "Generation",
    "GenerationResult",
    "ImagePart",
    "InMemoryRunStore",
    "InvalidRequestError",
    "Job",
    "JobError",
    "JobNotDurableWarning",
    "MCPServerError",
    "MCPServerHTTP",
    "MCPServerStdio",
    "MCPTool",
    "MalformedResponseError",
    "Memory",
    "MemoryReport",
    "Message",
    "MissingAPIKeyError",
    "ModelSettings",
    "NamedToolChoice",
    "NotFoundError",
    "OptionsError",
    "PIIRedactor",
    "ParameterizedAgent",
    "PermissionDeniedError",
    "PlaygroundError",
    "PostgresRunStore",
    "Processor",
    "ProcessorContext",
    "ProviderError",
    "RateLimitError",
    "RawEvents",
    "RawRequest",
    "RawResponse",
    "ReasoningDeltaEvent",
    "ReasoningPart",
    "ReplayMismatchError",
    "RequestTimeoutError",
    "RunState",
    "ServerError",
    "Source",
    "SourceEvent",
    "SourcePart",
    "SqliteRunStore",
    "Step",
    "StepFinishEvent",
    "StepStartEvent",
    "StorageError",
    "StreamError",
    "StreamEvent",
    "StreamRun",
    "StructuredOutput",
    "StructuredOutputError",
    "SuspendPayload",
    "TemplateError",
    "TextDeltaEvent",
    "TextPart",
    "TimeoutError_",
    "TokenLimiter",
    "Tool",
    "ToolApprovalEvent",
    "ToolArgumentsError",
    "ToolCall",
    "ToolCallDeltaEvent",
    "ToolCallEvent",
    "ToolCallPart",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "ToolResultEvent",
    "ToolResultPart",
    "Tripwire",
    "TripwireError",
    "Usage",
    "__version__",
    "action",
    "after_generation",
    "attachment",
    "before_generation",
    "has_tool_call",
    "open_run_store",
    "playground_home",
    "scorers",
    "step_count_is",
    "tool",
]
