"""`status --check`'s verdict on a status document: the worst finding sets the state, and the
line stays one line with its perfdata."""

from __future__ import annotations

from typing import Any

import pytest

from domchat.app.status import verdict
from domchat.settings import StatusSettings

LIMITS = StatusSettings(pull_age_warning=100, pull_age_critical=1000, pending_warning=10, pending_critical=20)


def _doc(status: str = "ok", pull_age: float | None = 5.0, pending: int = 0, error: str | None = None, **phases: str) -> dict[str, Any]:
    run = {
        "run_id": "r1",
        "status": status,
        "phases": {"updates": "ok", "pull": "ok", "plan": "ok", "execute": "ok", **phases},
        "error": error,
    }
    return {
        "last_cycle": run,
        "last_pull_cycle": {**run, "run_id": "r1"},
        "last_successful_pull": None if pull_age is None else {"at": "2026-11-21T09:00:00+00:00", "age_s": pull_age},
        "pending_actions": pending,
        "oldest_pending_age_s": 30.0 if pending else None,
        "retrying_actions": 0,
        "failures": {"given_up": {}, "retrying": {}, "pull": []},
        "conflicts": [],
    }


@pytest.mark.parametrize(
    ("doc", "code", "words"),
    [
        (_doc(), 0, "DOMCHAT OK - last cycle ok, GIS pulled 5s ago, 0 pending"),
        (_doc(pull_age=100), 1, "DOMCHAT WARNING - no successful GIS pull for 100s (warning from 100s)"),
        (_doc(pull_age=5000), 2, "DOMCHAT CRITICAL - no successful GIS pull for 83m (critical from 16m)"),
        (_doc(pending=15), 1, "DOMCHAT WARNING - pending actions: 15 (warning from 10)"),
        (_doc(pending=25), 2, "DOMCHAT CRITICAL - pending actions: 25 (critical from 20)"),
        (_doc("stopped", error="the plan takes away 12 of 40 admins"), 2, "DOMCHAT CRITICAL - last cycle stopped: the plan takes"),
        (_doc("degraded", plan="degraded"), 1, "DOMCHAT WARNING - last cycle degraded: plan degraded"),
    ],
)
def test_states(doc: dict[str, Any], code: int, words: str) -> None:
    check = verdict(doc, LIMITS)
    assert check.code == code and check.line.startswith(words), check.line


def test_the_worst_finding_comes_first_and_the_line_has_no_stray_bar_or_break() -> None:
    check = verdict(_doc("degraded", pull_age=5000, error="pull: house a|b\nrefused", pull="degraded"), LIMITS)
    text, bar, perfdata = check.line.partition(" | ")
    assert check.code == 2 and bar and "\n" not in check.line and "|" not in text
    assert text.startswith("DOMCHAT CRITICAL - no successful GIS pull for") and "house a/b refused" in text
    assert perfdata.split()[2] == "last_pull_age=5000s;100;1000;0"


def test_a_failed_pull_is_not_hidden_by_the_cycles_after_it() -> None:
    doc = _doc()
    doc["last_pull_cycle"] = {**doc["last_cycle"], "run_id": "r0", "status": "failed", "phases": {"pull": "failed"}}
    doc["failures"]["pull"] = ["GIS ZhKH unreachable"]
    check = verdict(doc, LIMITS)
    assert check.code == 2 and check.line.startswith("DOMCHAT CRITICAL - last GIS pull failed: GIS ZhKH unreachable |")
