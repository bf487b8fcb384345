"""Send later and the Jobs panel in both front ends: the browser playground's API (gradio_client against the app served
in-process, whose own job consumer runs the job: nothing else is started) and the notebook playground's Jobs tab."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from playground.jobs import Job

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _fast_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_DEMO_DELAY", "0")
    monkeypatch.setenv("PLAYGROUND_INPROCESS_WORKER", "1")


def _rows(table: Any) -> list[list[Any]]:
    """The rows of a Dataframe output (an update carries them under value.data)."""
    while isinstance(table, dict) and "value" in table:
        table = table["value"]
    return list(table["data"]) if isinstance(table, dict) else list(table)


def test_send_later_in_the_browser_runs_on_the_servers_own_consumer() -> None:
    from gradio_client import Client

    from playground.ui.gradio_app import serve

    port = _free_port()
    demo = serve(REPO / "agents", host="127.0.0.1", port=port)
    try:
        c = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
        notice, table, message = c.predict("What is 6 * 7?", "default", 0, 3, api_name="/send_later")
        assert notice.startswith("Queued job job_") and message == ""
        job_id = notice.split()[2]
        rows = _rows(table)
        assert rows[0][0] == job_id and rows[0][3] == 3
        assert "= 42" in Job.get(job_id).result(timeout=30).text  # run by the server's in-process consumer
        rows = _rows(c.predict(api_name="/jobs"))
        assert rows[0][:2] == [job_id, "succeeded"]
        bad, _t, _m = c.predict("What is 1 + 1?", "no spaces", 0, 0, api_name="/send_later")
        assert bad.startswith("**Could not queue:**") and "queue" in bad
    finally:
        demo.close()


def test_the_notebook_jobs_tab_queues_lists_and_opens_a_job() -> None:
    from playground.ui.session import PlaygroundSession, load_agents
    from playground.ui.widgets import PlaygroundWidget

    pg = PlaygroundWidget(PlaygroundSession(load_agents(REPO / "agents"), agent="weather"))
    titles = [pg.main_tabs.get_title(i) for i in range(len(pg.main_tabs.children))]
    assert "Jobs" in titles
    ui = pg.jobs_ui
    ui.message.value = "What's the weather in Paris?"
    ui.priority.value = 4
    info = ui.send()
    assert info is not None and info["durable"] and "Queued job" in ui.notice.value
    assert info["id"] in ui.table.value and ui.message.value == ""
    Job.get(info["id"]).wait(30)  # this process's consumer runs it
    ui.refresh()
    assert "succeeded" in ui.table.value
    assert info["id"] in [v for _, v in ui.job_menu.options]
    ui.job_menu.value = info["id"]
    assert "Raw request" in ui.job_view.value and "Paris" in ui.job_view.value
    ui.queue.value = "bad queue"
    ui.message.value = "again"
    assert ui.send() is None and "Could not queue" in ui.notice.value
    deadline = time.monotonic() + 5
    while pg.session.busy and time.monotonic() < deadline:
        time.sleep(0.05)
