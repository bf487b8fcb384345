"""The playground front ends' shared layer. `session.PlaygroundSession` holds all state and actions, `render` turns
results and stream events into view models; `gradio_app` (browser) and `widgets` (Jupyter) only lay out and wire.

Importing this package imports no UI toolkit: Gradio is imported only by `playground.ui.gradio_app`.
"""

from .render import ExchangeView, Panels, chat_messages, exchange_panels
from .session import (
    BLANK_AGENT,
    CompareColumn,
    CompareOutcome,
    Exchange,
    PendingApproval,
    PlaygroundSession,
    load_agents,
    provider_choices,
)

__all__ = [
    "BLANK_AGENT",
    "CompareColumn",
    "CompareOutcome",
    "Exchange",
    "ExchangeView",
    "Panels",
    "PendingApproval",
    "PlaygroundSession",
    "chat_messages",
    "exchange_panels",
    "load_agents",
    "provider_choices",
]
