"""Agent Playground: a Python agent core (the counterpart of Mastra's `Agent.generate()` and ActiveAgent's generation
methods) with a browser playground and a notebook playground over it.

    from playground import Agent, tool
    agent = Agent(name="helper", instructions="Be brief.", model="demo")
    result = agent.generate("What is 2+2?")
"""

from . import scorers
from .actions import ActionAgent, ParameterizedAgent, TemplateError, action, after_generation, before_generation
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
from .mcp import MCPServerError, MCPServerHTTP, MCPServerStdio, MCPTool
from .memory import Memory, MemoryReport
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
from .storage import SqliteRunStore, playground_home
from .tools import Tool, ToolContext, tool

__version__ = "0.1.0"

__all__ = [
    "AbortSignal",
    "AbortedError",
    "ActionAgent",
    "Agent",
    "ApprovalError",
    "AuthenticationError",
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
    "Processor",
    "ProcessorContext",
    "ProviderError",
    "RateLimitError",
    "RawRequest",
    "RawResponse",
    "ReasoningDeltaEvent",
    "ReasoningPart",
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
    "before_generation",
    "has_tool_call",
    "playground_home",
    "scorers",
    "step_count_is",
    "tool",
]
