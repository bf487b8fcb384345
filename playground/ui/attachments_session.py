"""Images and files in the composer (a PlaygroundSession mixin, for both front ends).

`session.attach(path | bytes | (name, bytes))` queues an attachment for the next message (or pass
`send(text, attachments=[...])`); it goes on the wire as an image/file part of the user message. A model that does not
take images or files is refused with a clear message before anything is sent; the attachments stay queued then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ..attachments import Attachment, attachment, check_supported
from ..errors import PlaygroundError
from ..messages import Message

if TYPE_CHECKING:
    from ..agent import Agent


class AttachmentsMixin:
    """attach / remove_attachment / clear_attachments of PlaygroundSession; adds them to the user's message."""

    def _init_attachments(self) -> None:
        self.attachments: list[Attachment] = []
        self.sent_attachments: dict[int, list[dict[str, Any]]] = {}
        """What each exchange (by index) carried: [{name, type, size, dimensions, description}]."""

    def attach(self, source: Any, *, name: str | None = None, media_type: str | None = None) -> dict[str, Any]:
        """Queue an image or file for the next message; returns {name, type, size, dimensions, description}."""
        item = attachment(source, name=name, media_type=media_type)
        self.attachments.append(item)
        return item.info()

    def remove_attachment(self, index: int) -> None:
        if 0 <= index < len(self.attachments):
            del self.attachments[index]

    def clear_attachments(self) -> None:
        self.attachments = []

    def attachments_text(self) -> str:
        """One line per queued attachment, for the composer ("" when none)."""
        return "\n".join(f"📎 {a.describe()}" for a in self.attachments)

    def _attachments_sent(self, exchange_index: int) -> None:
        if self.attachments:
            self.sent_attachments[exchange_index] = [a.info() for a in self.attachments]
            self.attachments = []

    def _turn_messages(self, text: str) -> list[Message]:
        messages: list[Message] = cast(Any, super())._turn_messages(text)
        if not getattr(self, "attachments", None) or not messages:
            return messages
        agent: Agent = cast(Any, self)._working_agent()
        try:
            provider = agent.provider
        except PlaygroundError:
            provider = None  # the send itself reports what is wrong with the model
        if provider is not None:
            check_supported(provider, self.attachments, agent.model_string)
        last = messages[-1]
        parts = [a.part() for a in self.attachments]
        return [*messages[:-1], Message(role=last.role, content=[*last.content, *parts], name=last.name)]
