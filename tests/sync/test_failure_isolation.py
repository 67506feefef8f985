"""Errors survive copying; a cycle's report holds none; a run's outcome is the worst of its phases."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta

import pytest

from domchat import errors
from domchat.sync import pull as pulling
from domchat.sync.engine import CycleReport
from domchat.sync.executor import RetryPolicy

SAMPLES = [
    errors.ConfigError("max.token_file", "no such file"),
    errors.GisUnavailable("GIS ZhKH unreachable at http://x: refused"),
    errors.GisFault("FMT001300", "bad request", operation="hm exportHouseData", message_guid="g-1"),
    errors.GisAccessDenied("AUT011003", "access denied to house h", operation="hm exportHouseData"),
    errors.MaxUnavailable("MAX /chats: 503", retry_after=7.0),
    errors.MaxApiError(403, "chat.denied", "not an admin", endpoint="/chats/1/members"),
    errors.LeaseLost("lost the lease on region:86"),
    errors.CycleFailed("cycle failed: pull: x", exit_code_of_run=3),
]


@pytest.mark.parametrize("error", SAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_survives_copy_and_pickle_with_its_fields(error: errors.DomchatError) -> None:
    for twin in (copy.deepcopy(error), pickle.loads(pickle.dumps(error))):  # noqa: S301 - our own bytes
        assert type(twin) is type(error) and str(twin) == str(error) and vars(twin) == vars(error)
        assert errors.exit_code(twin) == errors.exit_code(error)


def test_a_report_after_a_gis_fault_turns_into_a_dict() -> None:
    # Reports once kept the GisFault itself, which dataclasses.asdict deep-copies: TypeError.
    report = CycleReport(run_id="r", now=datetime(2026, 11, 21, tzinfo=UTC))
    report.fail("pull", errors.GisFault("EXP001000", "still failing after 3 re-sends", operation="hm exportHouseData"))
    report.pull = pulling.PullReport(ok=False, error="GIS EXP001000: still failing")
    report.phases |= {"updates": "ok", "plan": "ok", "execute": "ok"}
    d = report.as_dict()
    assert d["status"] == "failed" and d["phases"]["pull"] == "failed" and d["pull"]["ok"] is False
    assert report.exit_code == 1 and report.error.startswith("cycle failed: pull: GIS EXP001000")


def test_never_ok_after_a_failed_or_degraded_phase() -> None:
    report = CycleReport(run_id="r", now=datetime(2026, 11, 21, tzinfo=UTC))
    report.phases |= {"updates": "ok", "pull": "skipped", "plan": "ok", "execute": "ok"}
    assert report.status == "ok" and report.exit_code == 0 and report.error == ""
    report.degrade("execute", "1 action failed this time and will be retried")
    assert report.status == "degraded" and report.exit_code == 1
    report.fail("updates", errors.MaxUnavailable("MAX /updates: 503"))
    assert report.status == "failed" and report.exit_code == 3


def test_retry_waits_grow_are_capped_spread_and_honour_retry_after() -> None:
    policy = RetryPolicy(attempts=5, backoff=timedelta(seconds=10), cap=timedelta(seconds=60))
    assert [policy.delay(n, None, 0.999999).seconds for n in (1, 2, 3, 4, 5)] == [9, 19, 39, 59, 59]
    assert policy.delay(1, None, 0.0) == timedelta(seconds=5)
    assert policy.delay(1, 120.0, 0.5) == timedelta(seconds=120)
