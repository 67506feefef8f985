"""What auditors read, on a real run through the emulators: the history of a building across a
handover, and the trail in Russian with the hashes untouched."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select
from typer.testing import CliRunner

from domchat.cli import cli
from domchat.storage import audit, repo
from domchat.storage.tables import PeriodRow
from support.stage import Stage

runner = CliRunner()


def _handover(stage: Stage) -> dict[str, object]:
    """Bind every chat, then run past the first building's change of manager."""
    stage.running()
    b, midnight = stage.next_handover()
    stage.sync(now=midnight + timedelta(seconds=2), pull=False)
    return b


def _cli(stage: Stage, *args: str) -> str:
    result = runner.invoke(cli, [*args, "--config", str(stage.config)])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_history_shows_who_was_admin_when_why_and_on_which_document(stage: Stage) -> None:
    b = _handover(stage)
    fias = str(b["fias_guid"])
    old, new = b["management"][0]["ogrn"], b["management"][1]["ogrn"]  # type: ignore[index]
    doc = json.loads(_cli(stage, "history", "--building", fias.upper(), "--json", "--lang", "ru"))
    assert doc["building"] == fias and [c["chat_id"] for c in doc["chats"]] == [stage.chats[fias]]
    admins = [s for s in doc["stints"] if s["role"] == "admin" and s["org"] is not None]
    old_stints = [s for s in admins if s["org"] == old]
    new_stints = [s for s in admins if s["org"] == new]
    assert {s["user_id"] for s in old_stints} == stage.staff_of(old)
    assert {s["user_id"] for s in new_stints} == stage.staff_of(new)
    # The old manager's staff lost their rights at the handover, the new one's hold them now.
    assert all(
        s["until_seq"] is not None and s["until_seq"] > s["since_seq"] for s in old_stints if s["user_id"] not in stage.staff_of(new)
    )
    assert all(s["until"] is None for s in new_stints)
    assert all("сотрудник управляющей организации ОГРН" in s["why"] for s in new_stints)
    assert all("которая сейчас не управляет домом" in s["why_ended"] for s in old_stints if s["user_id"] not in stage.staff_of(new))
    # Each grant names the GIS documents of its organisation's claim, and its audit event is the one cited.
    with Session(stage.app().db) as s:
        events = {e.seq: e for e in audit.query(s, audit.AuditFilter(building=fias))}
        claims = [repo.period(p) for p in s.exec(select(PeriodRow).where(PeriodRow.building == fias))]
    tz = ZoneInfo(str(b["tz"]))
    for st in new_stints + old_stints:
        assert events[st["since_seq"]].action == "grant_admin" and events[st["since_seq"]].user_id == st["user_id"]
        day = datetime.fromisoformat(st["since"]).astimezone(tz).date()
        expected = {x for c in claims if c.org == st["org"] and c.covers(day) for x in c.source_ids}
        assert expected and set(st["documents"]) == expected, st
    # Members: the staff of both managers came and (the old one's) went, each with its seq.
    members = {s["user_id"]: s for s in doc["stints"] if s["role"] == "member"}
    assert stage.staff_of(new) <= set(members)
    assert all(events[m["since_seq"]].action == "add_members" for m in members.values())
    assert [m["seq"] for m in doc["management"]] == sorted(m["seq"] for m in doc["management"])
    # The table names the same events.
    table = _cli(stage, "history", "--building", fias, "--lang", "en")
    assert fias in table and "staff of the manager" in table
    assert all(f" {st['since_seq']} " in table for st in new_stints)


def test_history_of_an_unknown_building_is_an_error(stage: Stage) -> None:
    stage.sync()
    result = runner.invoke(cli, ["history", "--building", "00000000-0000-0000-0000-000000000000", "--config", str(stage.config)])
    assert result.exit_code == 1 and "unknown building" in result.stderr


def test_the_trail_reads_in_russian_and_still_verifies(stage: Stage) -> None:
    b = _handover(stage)
    fias = str(b["fias_guid"])
    lines = _cli(stage, "audit", "list", "--building", fias, "--action", "grant_admin", "--lang", "ru").splitlines()
    assert lines and all("выдача прав администратора" in ln and "выполнено" in ln for ln in lines)
    raw = [json.loads(ln) for ln in _cli(stage, "audit", "list", "--building", fias, "--json").splitlines()]
    assert {e["action"] for e in raw} >= {"grant_admin", "add_members", "chat.bind"}
    assert all(e["text_reason"] for e in raw)  # audit.lang defaults to ru
    assert all(e["text_action"] != e["action"] for e in raw)
    # Export with the same filters; the readings are added beside the stored fields, never hashed.
    out = _cli(stage, "audit", "export", "--building", fias, "--action", "revoke_admin", "--lang", "ru")
    exported = [json.loads(ln) for ln in out.splitlines()]
    assert exported and {e["action"] for e in exported} == {"revoke_admin"} and all(e["building"] == fias for e in exported)
    with Session(stage.app().db) as s:
        stored = {e.seq: e for e in audit.query(s)}
        assert audit.verify(audit.query(s)).ok
    for e in exported:
        assert "ОГРН" in e["text_reason"]
        row = stored[e["seq"]]
        assert audit.link_hash(e["prev_hash"], row) == e["hash"] == row.hash
        assert {k: v for k, v in e.items() if not k.startswith("text_")} == audit.as_dict(row)
    as_stored = _cli(stage, "audit", "export", "--building", fias, "--lang", "none", "--format", "csv")
    header = next(csv.reader(io.StringIO(as_stored)))
    assert header == list(audit.FIELDS)
    verify = runner.invoke(cli, ["audit", "verify", "--config", str(stage.config)])
    assert verify.exit_code == 0, verify.stderr


def test_a_bad_language_is_refused(stage: Stage) -> None:
    stage.sync()
    result = runner.invoke(cli, ["audit", "list", "--lang", "de", "--config", str(stage.config)])
    assert result.exit_code == 2 and "--lang" in result.stderr
