"""Send later and the Jobs panel (a PlaygroundSession mixin, for both front ends; jobs themselves: playground/jobs.py).

- `send_later(text, queue=, delay=, priority=)` queues the exchange the Send button would make (the conversation so
  far, the instructions, settings, tools and approval choice) as a background job, and says whether it is durable
  (queued for any worker) or runs in this process only, and why.
- `jobs_rows()` lists the recent jobs of the queue location (this playground's and others') with their live status;
  `open_job(job_id)` gives a finished job's exchange with every panel, as a chat exchange has.

The first use starts this process's job consumer (kept running) unless PLAYGROUND_INPROCESS_WORKER=0.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, PlaygroundError

if TYPE_CHECKING:
    from ..agent import Agent
    from ..messages import Message
    from .session import Exchange

JOB_COLUMNS = ["job", "status", "queue", "priority", "tries", "agent", "message", "queued at", "error"]


class JobsMixin:
    """Send later and the Jobs panel of PlaygroundSession."""

    provider: str
    model: str
    base_url: str | None
    _api_key: str | None

    @property
    def template(self) -> Agent:  # the session's chosen agent (PlaygroundSession.template)
        raise NotImplementedError

    def _init_jobs(self) -> None:
        self.job_ids: list[str] = []
        """The jobs this session queued, oldest first."""
        self.jobs_notice: str | None = None

    def _jobs_consumer(self) -> None:
        from ..jobs import start_inprocess_worker

        start_inprocess_worker("default", keep=True)

    def send_later(self, text: str, *, queue: str = "default", delay: float = 0.0, priority: int = 0) -> dict[str, Any]:
        """Queue the exchange `send(text)` would make; returns the job's info (with `durable` and, when it runs in
        this process only, `why`). Raises ConfigurationError naming the field for a bad queue, delay or priority.

        The job names the agent's file and the chosen model string, so any worker can run it; a key typed in the
        page, MCP servers added here, or an agent that is not in a file make it run in this process instead."""
        from .. import jobs
        from .session import _message_text  # type: ignore[attr-defined]

        me: Any = self
        if not isinstance(delay, int | float) or isinstance(delay, bool) or not math.isfinite(delay) or delay < 0:
            raise ConfigurationError(f"Send later: the delay is seconds, 0 or more (got {delay!r:.20})", field="delay")
        if isinstance(priority, float) and priority.is_integer():
            priority = int(priority)
        text = me.render_variables(_message_text(text), "Message")
        options = dict(me._options())
        options.pop("tracing_options", None)  # this process's trace store; a worker keeps its own
        messages: list[Message] = me._turn_messages(text)
        working: Agent = me._working_agent()
        kwargs: dict[str, Any] = {"queue": queue, "wait": float(delay) or None, "priority": priority}
        self._jobs_consumer()
        job: Any = None
        why = ""
        if self._api_key:
            why = "a key typed in the page is never written to a queue"
        elif getattr(self, "mcp_servers", None):
            why = "MCP servers added in the page live in this process"
        elif not isinstance(working.model, str):
            why = "the chosen server may not receive the environment's key"
        else:
            try:
                job = jobs.generate_later(self.template.prompt(messages, **options), model=working.model_string,
                                          base_url=working._base_url, durable=True, **kwargs)
            except ConfigurationError as exc:
                if exc.field != "durable":
                    raise
                why = str(exc).split(": ", 1)[-1].split(". Define", 1)[0]
        if job is None:
            job = jobs.generate_later(working.prompt(messages, **options), durable=False, **kwargs)
            job.not_durable_because = why
        self.job_ids.append(job.id)
        info = job.info()
        if not job.durable:
            info["why"] = why
            self.jobs_notice = f"Job {job.id} runs in this playground's process only (lost if it stops): {why}"
        else:
            self.jobs_notice = f"Queued job {job.id} on {queue!r}" + (f", to start in {delay:g} s" if delay else "")
        return info

    def jobs_rows(self, limit: int = 30) -> tuple[list[str], list[list[Any]]]:
        """The recent jobs (newest first) as table rows: id, status, queue, priority, tries, agent, message, when,
        error."""
        from ..jobs import Job

        self._jobs_consumer()
        rows: list[list[Any]] = []
        for job in Job.list(limit):
            i = job.info()
            err = i.get("error") or {}
            rows.append([i["id"], i["status"], i["queue"], i["priority"], f"{i['attempts']}/{i['max_attempts']}",
                         i["agent"], i["summary"][:80], (i["enqueued_at"] or "")[11:19],
                         f"{err.get('type', '')}: {err.get('message', '')}"[:120] if err else ""])
        return JOB_COLUMNS, rows

    def open_job(self, job_id: str) -> Exchange:
        """A finished job's exchange with every panel (raw request and response per step, usage, steps ...)."""
        from ..jobs import Job, JobError
        from .session import Exchange
        from .threads import view_from_messages

        try:
            job = Job.get(str(job_id))
        except JobError as exc:
            raise ConfigurationError(f"Jobs: {exc}", field="job") from None
        status = job.status
        summary = job.info()["summary"]
        if status not in ("succeeded", "failed", "cancelled"):
            raise ConfigurationError(f"Jobs: job {job.id} is {status}; open it once it has finished", field="job")
        ex = Exchange(index=0, user_text=summary, config={"job": job.id}, history=[],
                      status="done" if status == "succeeded" else "error")
        if status == "succeeded":
            result = job.result()
            if job.kind != "generate":
                ex.error = "an embedding job: it has no exchange to show"
                ex.status = "error"
                return ex
            ex.result = result
            ex.view = view_from_messages(result.messages)
            if result.finish_reason == "suspended":
                ex.status = "suspended"
        else:
            err = job.error()
            ex.error = str(err) if err is not None else status
        return ex

    def job_markdown(self, job_id: str) -> str:
        """The head of an opened job: status, attempts, errors, the answer."""
        try:
            ex = self.open_job(job_id)
        except PlaygroundError as exc:
            return f"**{exc}**"
        from ..jobs import Job

        i = Job.get(str(job_id)).info()
        head = (f"**Job {i['id']}** ({i['status']}, {i['attempts']} attempt{'s' if i['attempts'] != 1 else ''}, "
                f"queue {i['queue']}, priority {i['priority']})\n\n**Message:** {ex.user_text}\n\n")
        if ex.result is not None:
            head += f"**Answer:** {ex.result.text or '(no text)'}\n\n"
            if ex.result.finish_reason == "suspended" and ex.result.suspend_payload is not None:
                p = ex.result.suspend_payload
                head += (f"**Waiting for approval:** `playground approve {ex.result.run_id} {p.tool_call_id}`\n\n")
        if ex.error:
            head += f"**Error:** {ex.error}\n\n"
        return head
