"""What a person reads when an approval cannot be recorded: an empty or unknown id, an id the model gave to several
calls, a call already decided (still to run, being run by another process, run, or not run), and how long a claim
holds. These are the messages `approve_tool_call`, `playground approve` and the playgrounds show."""

from __future__ import annotations

import time

import pytest

from playground import ApprovalError, InMemoryRunStore, RunState
from playground.runs import DEFAULT_LEASE_SECONDS, PendingCall, lease_seconds, record_decision


def run(*calls: PendingCall, status: str = "suspended", resolved: list[PendingCall] | None = None) -> RunState:
    return RunState(run_id="run_m", status=status, pending=list(calls), resolved=resolved or [])  # type: ignore[arg-type]


def refused(state: RunState, call_id: str, decision: str = "approved") -> str:
    with pytest.raises(ApprovalError) as info:
        record_decision(state, call_id, decision)  # type: ignore[arg-type]
    return str(info.value)


def test_empty_and_unknown_ids() -> None:
    state = run(PendingCall(tool_call_id="c1", tool_name="refund"), PendingCall(tool_call_id="c2", tool_name="refund"))
    assert refused(state, "") == (
        "tool_call_id: expected the id of a pending call, got ''; use an id from result.suspend_payload.pending "
        "(pending calls: c1, c2)"
    )
    assert refused(state, "c9") == "run 'run_m' has no pending tool call 'c9'; pending calls: c1, c2"
    assert refused(run(status="finished"), "c9") == "run 'run_m' is not waiting for approval (status: finished)"
    assert refused(run(), "c9") == "run 'run_m' has no pending tool call 'c9'; pending calls: none"


def test_an_id_the_model_gave_to_several_calls_is_refused_and_one_given_once_is_found() -> None:
    state = run(
        PendingCall(tool_call_id="call_a", tool_name="refund", provider_id="dup"),
        PendingCall(tool_call_id="call_b", tool_name="cancel", provider_id="dup"),
        PendingCall(tool_call_id="call_c", tool_name="refund", provider_id="once"),
    )
    assert refused(state, "dup") == (
        "run 'run_m': the model gave 2 tool calls the id 'dup', so it cannot say which one to resolve; use the run's "
        "own id of the call: call_a (refund), call_b (cancel)"
    )
    assert record_decision(state, "once", "approved").tool_call_id == "call_c"
    assert record_decision(state, "call_a", "declined").decision == "declined"


def test_a_decided_call_says_what_became_of_it() -> None:
    now = time.time()
    waiting = PendingCall(tool_call_id="c9", tool_name="refund")
    decided = PendingCall(tool_call_id="c1", tool_name="refund", decision="approved")
    running = PendingCall(tool_call_id="c2", tool_name="refund", decision="approved", claimed_by="p",
                          claimed_until=now + 30)
    ran = PendingCall(tool_call_id="c3", tool_name="refund", decision="approved", done=True, result="x" * 300)
    declined = PendingCall(tool_call_id="c4", tool_name="refund", decision="declined", done=True)
    state = run(waiting, decided, running)
    assert refused(state, "c1", "declined") == (
        "run 'run_m' waits on tool call 'c1' (refund): it was already approved, it is being resolved now by another "
        "process; it is not run again; calls still waiting: c9"
    )
    message = refused(state, "c2")
    assert message.startswith(
        "run 'run_m' waits on tool call 'c2' (refund): it was already approved, it is being resolved now by another "
        "process (if that process died, it shows as interrupted in "
    )
    left = int(message.split("interrupted in ")[1].split(" s ")[0])
    assert 25 <= left <= 30
    assert message.endswith(" s and can be retried or declined); it is not run again; calls still waiting: c9")
    finished = run(status="finished", resolved=[ran, declined])
    assert refused(finished, "c3") == (
        f"no suspended run 'run_m' waits on tool call 'c3' (refund): it was already approved, it ran once and returned "
        f"'{'x' * 199}; it is not run again"
    )
    assert refused(finished, "c4") == (
        "no suspended run 'run_m' waits on tool call 'c4' (refund): it was already declined, it was not run; it is not "
        "run again"
    )
    expired = run(decided, status="expired")
    assert refused(expired, "c1") == (
        "run 'run_m' is not waiting for approval (status: expired) (expired with `playground runs expire`)"
    )


def test_an_interrupted_call_may_be_decided_again() -> None:
    stale = PendingCall(tool_call_id="c1", tool_name="refund", decision="approved", claimed_by="dead",
                        claimed_until=time.time() - 1, attempts=1, auto=True)
    state = run(stale)
    call = record_decision(state, "c1", "declined", reason="gave up")
    assert (call.decision, call.reason, call.claimed_by, call.auto, call.interrupted) == (
        "declined", "gave up", None, False, 1
    )
    assert call.claimed_until is not None and call.claimed_until > time.time() + 50  # a fresh decision lease


def test_the_lease_a_store_gives_its_claims() -> None:
    assert lease_seconds(InMemoryRunStore(lease_seconds=5)) == 5.0
    assert isinstance(lease_seconds(InMemoryRunStore(lease_seconds=5)), float)
    assert lease_seconds(object()) == DEFAULT_LEASE_SECONDS == 60.0

    class Odd:
        lease_seconds = True

    assert lease_seconds(Odd()) == DEFAULT_LEASE_SECONDS


def test_when_a_claim_counts_as_interrupted() -> None:
    claimed = PendingCall(tool_call_id="c1", tool_name="t", decision="approved", claimed_by="p", claimed_until=100.0)
    assert claimed.is_interrupted(now=100.0) and claimed.is_interrupted(now=101.0)
    assert not claimed.is_interrupted(now=99.9)
    done = claimed.model_copy(update={"done": True})
    assert not done.is_interrupted(now=200.0)
    waiting = PendingCall(tool_call_id="c2", tool_name="t")
    assert not waiting.is_interrupted(now=200.0)
    state = run(claimed, waiting)
    assert state.lifecycle(now=99.0) == "pending" and state.lifecycle(now=100.0) == "interrupted"
    assert run(done, waiting).lifecycle(now=200.0) == "pending"  # a call that finished is not interrupted
    assert run(status="finished").lifecycle() == "finished"


def test_messages_add_the_calls_still_waiting_only_when_there_are_some() -> None:
    decided = PendingCall(tool_call_id="c1", tool_name="refund", decision="approved")
    assert refused(run(decided), "c1") == (
        "run 'run_m' waits on tool call 'c1' (refund): it was already approved, it is being resolved now by another "
        "process; it is not run again"
    )
    ran = PendingCall(tool_call_id="c3", tool_name="refund", decision="approved", done=True, result="ok")
    expired = run(PendingCall(tool_call_id="c9", tool_name="refund"), status="expired", resolved=[ran])
    assert refused(expired, "c3") == (
        "no suspended run 'run_m' waits on tool call 'c3' (refund): it was already approved, it ran once and returned "
        "'ok'; it is not run again"
    )
    ending = PendingCall(tool_call_id="c2", tool_name="refund", decision="approved", claimed_by="p",
                         claimed_until=time.time() + 0.4)
    assert "it shows as interrupted in 0 s and can be retried" in refused(run(ending), "c2")


def test_decisions_take_the_given_time_and_count_every_interruption() -> None:
    stale = PendingCall(tool_call_id="c1", tool_name="refund", decision="approved", claimed_by="dead",
                        claimed_until=1000.0, interrupted=1)
    other = PendingCall(tool_call_id="c2", tool_name="refund")
    state = run(stale, other)
    call = record_decision(state, "c1", "approved", now=1000.5, lease=30.0, always=True)
    assert (call.claimed_until, call.interrupted, call.claimed_by) == (1030.5, 2, None)
    assert (other.decision, other.auto, other.claimed_until) == ("approved", True, 1030.5)  # same decision lease
    fresh = run(PendingCall(tool_call_id="c3", tool_name="refund", decision="approved", claimed_by="p",
                            claimed_until=time.time() + 60))
    with pytest.raises(ApprovalError, match="already approved"):
        record_decision(fresh, "c3", "declined")
    assert record_decision(fresh, "c3", "declined", now=time.time() + 61).decision == "declined"  # its lease is over
