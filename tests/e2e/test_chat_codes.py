"""`chats pending` only lists; new binding codes come from `chats codes issue`, audited; the
audit export takes the filters of the audit list."""

from __future__ import annotations

import json

from sqlmodel import Session, select
from typer.testing import CliRunner

from domchat.cli import cli
from domchat.storage.tables import BindingCodeRow
from support.stage import Stage

runner = CliRunner()


def _ok(stage: Stage, *args: str) -> str:
    result = runner.invoke(cli, [*args, "--config", str(stage.config)])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_pending_lists_without_cancelling_and_issuing_codes_is_explicit_and_audited(stage: Stage) -> None:
    stage.sync()
    pending = json.loads(_ok(stage, "chats", "pending", "--json"))
    assert len(pending) == len(stage.world["buildings"])
    assert {p["code_expires_at"] for p in pending} == {""}

    issued = _ok(stage, "chats", "codes", "issue", "--all", "--operator", "ivanova", "--csv").splitlines()
    assert issued[0] == "building,address,code,expires_at" and len(issued) == len(pending) + 1
    for _ in range(2):  # listing again cancels nothing
        again = json.loads(_ok(stage, "chats", "pending", "--json"))
        assert all(p["code_expires_at"] for p in again)
    with Session(stage.app().db) as s:
        assert {c.status for c in s.exec(select(BindingCodeRow))} == {"active"}

    one = pending[0]["building"]
    line = _ok(stage, "chats", "codes", "issue", "--building", one, "--operator", "petrov")
    assert one in line
    with Session(stage.app().db) as s:
        statuses = sorted(c.status for c in s.exec(select(BindingCodeRow).where(BindingCodeRow.building == one)))
    assert statuses == ["active", "superseded"]

    events = [json.loads(x) for x in _ok(stage, "audit", "list", "--json", "--actor", "ivanova").splitlines()]
    assert [(e["action"], e["trigger"], e["after"]) for e in events] == [
        ("chat.codes_issued", "cli:chats-codes-issue", {"buildings": len(pending)})
    ]
    refused = runner.invoke(cli, ["chats", "codes", "issue", "--config", str(stage.config)])
    assert refused.exit_code == 2 and "exactly one of --building, --all" in refused.stderr


def test_audit_export_takes_the_filters_of_audit_list(stage: Stage) -> None:
    stage.sync()
    _ok(stage, "chats", "codes", "issue", "--all", "--operator", "ivanova")
    one = stage.world["buildings"][0]["fias_guid"]
    _ok(stage, "chats", "codes", "issue", "--building", one, "--operator", "petrov")
    everything = _ok(stage, "audit", "export").splitlines()
    for flags in (["--actor", "ivanova"], ["--building", one, "--actor", "petrov"], ["--user", "1"]):
        listed = [json.loads(x)["seq"] for x in _ok(stage, "audit", "list", "--json", *flags).splitlines()]
        exported = [json.loads(x)["seq"] for x in _ok(stage, "audit", "export", *flags).splitlines()]
        assert exported == listed and len(exported) < len(everything)
    assert len(_ok(stage, "audit", "export", "--building", one, "--actor", "petrov").splitlines()) == 1
