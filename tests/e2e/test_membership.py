"""Who may be in a house chat, end to end over both emulators: binding refusals, staff, residents
(invitations, privacy, revoked grants) and strangers joining by link."""

from __future__ import annotations

import csv
import dataclasses
import json
import socket
import stat
import threading
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from domchat import app as app_mod
from domchat.app import people
from domchat.cli import cli
from domchat.domain import reasons
from domchat.errors import ConfigError, DeliveryFailed
from domchat.gis_client.types import GuestGrantRecord
from domchat.storage import audit
from domchat.storage.db import transaction
from domchat.storage.tables import BindingCodeRow, BindingRow, ResidentRow
from domchat.sync import grants
from support.stage import BOT_RIGHTS, NOON, Stage

G1, G2, G3, G4 = (f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 5))


EN = reasons.load("en")  # the stored reasons, read in English


def _events(stage: Stage, **flt: object) -> list[audit.AuditRow]:
    with Session(stage.app().db) as s:
        return list(audit.query(s, audit.AuditFilter(**flt)))  # type: ignore[arg-type]


def _bot_texts(stage: Stage, chat_id: int) -> list[str]:
    bot = stage.world["bot"]["user_id"]
    return [m["text"] for m in stage.chat_state(chat_id)["messages"] if m["sender_id"] == bot]


def _ready(stage: Stage) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    stage.sync()


def _grant_file(tmp: Path, building: str, grant_id: str, valid_to: date | None, status: str = "active") -> Path:
    path = tmp / f"{grant_id}.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["grant_id", "fias_house_guid", "premises", "person_ref", "valid_from", "valid_to", "status"])
        w.writerow([grant_id, building, "12", "tenant-1", "2026-01-01", valid_to.isoformat() if valid_to else "", status])
    return path


def _invite(stage: Stage, user: int, privacy: bool = False) -> tuple[str, int]:
    """Register a resident in MAX, export invitations and let the resident follow theirs."""
    stage.act("POST", "/users", user_id=user, first_name="Жилец", privacy=privacy)
    (inv,) = app_mod.export_invitations(stage.app(), "tester")
    dialog = stage.act("POST", "/start", user_id=user, payload=inv["link"].split("start=", 1)[1])["chat_id"]
    return inv["building"], int(dialog)


# Binding


def test_code_in_a_chat_not_owned_by_the_authority_is_refused_and_stays_usable(stage: Stage) -> None:
    stage.sync()
    row = app_mod.issue_binding_codes(stage.app(), "tester")[0]
    outsider = next(iter(stage.staff_of(stage.world["organisations"][0]["ogrn"])))
    rogue = stage.new_chat(outsider)
    stage.act("POST", f"/chats/{rogue}/messages", as_user=outsider, text=row["code"])
    stage.sync()
    refused = [e for e in _events(stage, chat_id=rogue) if e.action == "chat.bind"]
    assert [(e.outcome, e.building) for e in refused] == [("refused", row["building"])]
    assert "not one of the authority's accounts" in EN.reason(refused[0].reason)
    assert any("Код не принят" in t for t in _bot_texts(stage, rogue))
    good = stage.new_chat(stage.authority)
    stage.act("POST", f"/chats/{good}/messages", as_user=stage.authority, text=row["code"])
    stage.sync()
    with Session(stage.app().db) as s:
        assert s.get(BindingRow, row["building"]).chat_id == good  # type: ignore[union-attr]


def test_used_and_expired_codes_are_refused_and_guessing_is_stopped(stage: Stage) -> None:
    stage.sync()
    first, second = app_mod.issue_binding_codes(stage.app(), "tester")[:2]
    a = stage.new_chat(stage.authority)
    stage.act("POST", f"/chats/{a}/messages", as_user=stage.authority, text=first["code"])
    stage.sync()
    b = stage.new_chat(stage.authority)
    stage.act("POST", f"/chats/{b}/messages", as_user=stage.authority, text=first["code"])  # reused
    late = NOON + timedelta(days=31)
    stage.act("POST", f"/chats/{b}/messages", as_user=stage.authority, text=second["code"])  # expired by then
    stage.sync(now=late, pull=False)
    outcomes = [(e.outcome, EN.reason(e.reason).split(" at ")[0]) for e in _events(stage, chat_id=b) if e.action == "chat.bind"]
    assert outcomes == [("refused", "code unknown, used or superseded"), ("refused", "code expired")]
    for n in range(5):
        stage.act("POST", f"/chats/{b}/messages", as_user=stage.authority, text=f"AAAA-BBBB-CCCC-{n:04d}")
    stage.sync(now=late, pull=False)
    last = [e for e in _events(stage, chat_id=b) if e.action == "chat.bind"][-1]
    assert last.outcome == "refused" and "wrong codes in this chat" in EN.reason(last.reason)
    with Session(stage.app().db) as s:
        assert s.exec(select(BindingRow).where(BindingRow.chat_id == b)).first() is None
        assert {c.status for c in s.exec(select(BindingCodeRow).where(BindingCodeRow.building == second["building"]))} == {"expired"}


def test_losing_the_bot_is_an_alert_and_its_return_is_picked_up(stage: Stage) -> None:
    _ready(stage)
    building, chat = next(iter(stage.chats.items()))
    stage.act("POST", f"/chats/{chat}/remove", as_user=stage.authority, user_id=stage.world["bot"]["user_id"])
    report = stage.sync()
    alerts = [e for e in _events(stage, chat_id=chat) if e.action == "chat.bot_removed"]
    assert [(e.outcome, e.building) for e in alerts] == [("alert", building)]
    assert report.failed == 0
    # Meanwhile someone renamed the chat; the authority adds the bot back; domchat reads the chat
    # afresh and puts it right.
    stage.act("POST", f"/chats/{chat}/title", as_user=stage.authority, title="Без бота")
    stage.act("POST", f"/chats/{chat}/bot", as_user=stage.authority, permissions=BOT_RIGHTS)
    stage.sync()
    assert [e.action for e in _events(stage, chat_id=chat) if e.action == "chat.bot_added"] == ["chat.bot_added"]
    assert stage.chat_state(chat)["title"] != "Без бота"


# Staff


def test_enrolment_link_works_once_and_revoked_staff_lose_rights(stage: Stage) -> None:
    _ready(stage)
    org = stage.world["organisations"][0]["ogrn"]
    link = app_mod.org_invite(stage.app(), org, "tester")
    stage.act("POST", "/users", user_id=55555, first_name="Новый")
    stage.act("POST", "/start", user_id=55555, payload=link.split("start=", 1)[1])
    stage.act("POST", "/start", user_id=stage.authority, payload=link.split("start=", 1)[1])  # used again
    stage.sync()
    enrol = [(e.user_id, e.outcome) for e in _events(stage, action="staff.enrol") if e.user_id in (55555, stage.authority)]
    assert enrol == [(55555, "done"), (stage.authority, "refused")]
    managed = [b for b in stage.world["buildings"] if b["management"][0]["ogrn"] == org and len(b["management"]) == 1]
    chat = stage.chats[managed[0]["fias_guid"]]
    assert 55555 in stage.admins(chat)
    app_mod.staff_revoke(stage.app(), org, 55555, "tester")
    stage.sync()
    assert 55555 not in {m["user_id"] for m in stage.chat_state(chat)["members"]}


# Residents


def test_resident_follows_invitation_and_is_added(stage: Stage) -> None:
    _ready(stage)
    building = stage.world["buildings"][0]["fias_guid"]
    app_mod.import_grants(stage.app(), _grant_file(stage.tmp, building, G1, None), "tester")
    where, _ = _invite(stage, 70001)
    assert where == building
    stage.sync()
    chat = stage.chats[building]
    assert 70001 in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    assert 70001 not in stage.admins(chat)
    assert any("Право подтверждено" in m["text"] for m in stage.act("GET", "/dialogs/70001")["messages"])
    assert app_mod.export_invitations(stage.app(), "tester") == []  # nobody left to invite


def test_privacy_refusal_sends_the_join_link_and_the_join_is_accepted(stage: Stage) -> None:
    _ready(stage)
    building = stage.world["buildings"][1]["fias_guid"]
    app_mod.import_grants(stage.app(), _grant_file(stage.tmp, building, G2, None), "tester")
    _invite(stage, 70002, privacy=True)
    stage.sync()
    chat = stage.chats[building]
    assert 70002 not in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    link = stage.chat_state(chat)["link"]
    assert any(link in m["text"] for m in stage.act("GET", "/dialogs/70002")["messages"])
    stage.act("POST", "/join", user_id=70002, link=link)
    stage.sync()
    stage.sync()
    assert 70002 in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    sent = [m for m in stage.act("GET", "/dialogs/70002")["messages"] if link in m["text"]]
    assert len(sent) == 1


def test_stranger_joining_by_link_is_removed(stage: Stage) -> None:
    _ready(stage)
    chat = next(iter(stage.chats.values()))
    stage.act("POST", "/users", user_id=66666, first_name="Чужой")
    stage.act("POST", "/join", user_id=66666, link=stage.chat_state(chat)["link"])
    stage.sync()
    assert 66666 not in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    removed = [e for e in _events(stage, chat_id=chat, user_id=66666) if e.action == "remove_member"]
    assert [e.outcome for e in removed] == ["done"] and "drift" in removed[0].reason


def test_expired_grant_removes_the_resident_at_local_midnight(stage: Stage) -> None:
    _ready(stage)
    b = stage.world["buildings"][2]
    last_day = NOON.date() + timedelta(days=3)
    app_mod.import_grants(stage.app(), _grant_file(stage.tmp, b["fias_guid"], G3, last_day), "tester")
    _invite(stage, 70003)
    stage.sync()
    chat = stage.chats[b["fias_guid"]]
    assert 70003 in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    midnight = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=ZoneInfo(b["tz"])).astimezone(UTC)
    stage.sync(now=midnight - timedelta(seconds=1), pull=False)
    assert 70003 in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    stage.sync(now=midnight + timedelta(seconds=1), pull=False)
    assert 70003 not in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    with Session(stage.app().db) as s:
        assert s.get(ResidentRow, (G3, 70003)) is not None  # the binding stays; the right ended


def test_revoked_grant_removes_the_resident(stage: Stage) -> None:
    _ready(stage)
    building = stage.world["buildings"][3]["fias_guid"]
    app_mod.import_grants(stage.app(), _grant_file(stage.tmp, building, G4, None), "tester")
    _invite(stage, 70004)
    stage.sync()
    app_mod.import_grants(stage.app(), _grant_file(stage.tmp, building, G4, None, status="revoked"), "tester")
    stage.sync()
    chat = stage.chats[building]
    assert 70004 not in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    removed = [e for e in _events(stage, chat_id=chat, user_id=70004) if e.action == "remove_member"]
    assert removed and f"grant {G4}" in EN.reason(removed[0].reason)


def test_staff_ask_the_bot_for_a_tenant_invitation_in_the_house_chat(stage: Stage) -> None:
    _ready(stage)
    b = next(x for x in stage.world["buildings"] if len(x["management"]) == 1)
    chat = stage.chats[b["fias_guid"]]
    staff = min(stage.staff_of(b["management"][0]["ogrn"]))
    stranger_staff = min(u for o in stage.world["organisations"] if o["ogrn"] != b["management"][0]["ogrn"] for u in o["staff"])
    stage.act("POST", f"/chats/{chat}/members", as_user=stage.authority, user_ids=[stranger_staff])
    stage.act("POST", f"/chats/{chat}/messages", as_user=stranger_staff, text="/пригласить 7 10")
    stage.act("POST", f"/chats/{chat}/messages", as_user=staff, text="/пригласить 7 10")
    stage.sync()
    events = _events(stage, action="resident.invitation")
    assert [(e.user_id, e.outcome) for e in events] == [(stranger_staff, "refused"), (staff, "done")]
    (sent,) = [m["text"] for m in stage.act("GET", f"/dialogs/{staff}")["messages"] if "помещения 7" in m["text"]]
    assert not any("start=r-" in (m["text"] or "") for m in stage.chat_state(chat)["messages"])  # never in the group
    payload = sent.split("start=", 1)[1]
    stage.act("POST", "/users", user_id=70010, first_name="Квартирант")
    stage.act("POST", "/start", user_id=70010, payload=payload)
    stage.sync()
    assert 70010 in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    last_day = NOON.date() + timedelta(days=9)
    midnight = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=ZoneInfo(b["tz"])).astimezone(UTC)
    stage.sync(now=midnight + timedelta(seconds=1), pull=False)
    assert 70010 not in {m["user_id"] for m in stage.chat_state(chat)["members"]}


def test_a_resident_who_leaves_is_not_added_back_but_may_rejoin(stage: Stage) -> None:
    _ready(stage)
    building = stage.world["buildings"][4]["fias_guid"]
    app_mod.import_grants(stage.app(), _grant_file(stage.tmp, building, G1, None), "tester")
    _invite(stage, 70020)
    stage.sync()
    chat = stage.chats[building]
    stage.act("POST", f"/chats/{chat}/leave", user_id=70020)
    stage.sync()
    stage.sync()
    assert 70020 not in {m["user_id"] for m in stage.chat_state(chat)["members"]}
    assert [e.action for e in _events(stage, user_id=70020) if e.action == "resident.left"] == ["resident.left"]
    stage.act("POST", "/join", user_id=70020, link=stage.chat_state(chat)["link"])
    stage.sync()
    assert 70020 in {m["user_id"] for m in stage.chat_state(chat)["members"]}


# Invitations are delivered at least once: a failed export loses none


def _resident_joins(stage: Stage, user: int, link: str) -> None:
    stage.act("POST", "/users", user_id=user, first_name="Жилец")
    stage.act("POST", "/start", user_id=user, payload=link.split("start=", 1)[1])
    stage.sync()
    with Session(stage.app().db) as s:
        assert [r.user_id for r in s.exec(select(ResidentRow))] == [user]


def test_an_export_that_cannot_be_written_loses_no_invitation(stage: Stage) -> None:
    stage.sync()
    building = stage.world["buildings"][0]["fias_guid"]
    app_mod.import_grants(stage.app(), _grant_file(stage.tmp, building, G1, None), "tester")
    for unwritable in (stage.tmp / "no-such-folder" / "links.csv", stage.tmp):  # a missing folder; a folder in the way
        with pytest.raises(ConfigError, match="none of 1 invitations was delivered"):
            app_mod.export_invitations(stage.app(), "tester", out=unwritable)
    result = CliRunner().invoke(cli, ["invitations", "export", "--config", str(stage.config), "--out", str(stage.tmp / "x" / "y.csv")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.count("domchat: error:") == 1 and "the next export issues them" in result.stderr

    good = stage.tmp / "links.json"
    (inv,) = app_mod.export_invitations(stage.app(), "tester", fmt="json", out=good)
    assert json.loads(good.read_text(encoding="utf-8")) == [inv]
    assert stat.S_IMODE(good.stat().st_mode) == 0o600
    assert app_mod.export_invitations(stage.app(), "tester") == []  # delivered now: not issued again
    _resident_joins(stage, 70011, inv["link"])


def test_an_export_interrupted_midway_leaves_no_partial_file_and_loses_no_invitation(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    stage.sync()
    building = stage.world["buildings"][0]["fias_guid"]
    app_mod.import_grants(stage.app(), _grant_file(stage.tmp, building, G1, None), "tester")
    target = stage.tmp / "links.csv"

    def crash(f: Any, fmt: str, invitations: list[dict[str, str]]) -> None:
        f.write("grant_id,building\n" + invitations[0]["grant_id"])
        raise KeyboardInterrupt  # the operator's Ctrl-C, or a kill, mid-write

    with monkeypatch.context() as patched:
        patched.setattr(people, "_write_invitations", crash)
        with pytest.raises(KeyboardInterrupt):
            app_mod.export_invitations(stage.app(), "tester", out=target)
    assert not target.exists() and list(stage.tmp.glob(".links.csv.*")) == []
    (inv,) = app_mod.export_invitations(stage.app(), "tester", out=target)
    assert inv["link"] in target.read_text(encoding="utf-8")
    _resident_joins(stage, 70012, inv["link"])


class _Inbox(BaseHTTPRequestHandler):
    got: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        self.got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def test_a_delivery_webhook_that_is_down_loses_no_invitation(stage: Stage) -> None:
    stage.sync()
    buildings = [b["fias_guid"] for b in stage.world["buildings"][:2]]
    for grant, building in zip((G1, G2), buildings, strict=True):
        app_mod.import_grants(stage.app(), _grant_file(stage.tmp, building, grant, None), "tester")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{probe.getsockname()[1]}/invitations"
    app = stage.app()
    app.settings = dataclasses.replace(app.settings, chats=dataclasses.replace(app.settings.chats, invitation_webhook_url=down))
    with pytest.raises(DeliveryFailed, match="0 of 2 invitations delivered"):
        app_mod.export_invitations(app, "tester")

    inbox = ThreadingHTTPServer(("127.0.0.1", 0), _Inbox)
    threading.Thread(target=inbox.serve_forever, daemon=True).start()
    try:
        up = f"http://127.0.0.1:{inbox.server_address[1]}/invitations"
        app.settings = dataclasses.replace(app.settings, chats=dataclasses.replace(app.settings.chats, invitation_webhook_url=up))
        delivered = app_mod.export_invitations(app, "tester")
        assert sorted(i["grant_id"] for i in delivered) == sorted([G1, G2])
        assert _Inbox.got == delivered
        assert app_mod.export_invitations(app, "tester") == []
    finally:
        inbox.shutdown()
        inbox.server_close()
    _resident_joins(stage, 70013, delivered[0]["link"])


# Guessing limits across the bot


def _limits(stage: Stage, per_user: int, total: int) -> None:
    with stage.config.open("a", encoding="utf-8") as f:
        f.write(f"[chats]\nguess_limit_per_user = {per_user}\nguess_limit_global = {total}\n")


def _wrong_code(n: int) -> str:
    return f"ABCD-EFGH-JKMN-{n:04d}"


def test_one_user_guessing_across_many_chats_is_stopped_and_ignored(stage: Stage) -> None:
    _limits(stage, per_user=3, total=100)
    stage.sync()
    (row,) = app_mod.issue_binding_codes(stage.app(), "tester")[:1]
    guesser = next(iter(stage.staff_of(stage.world["organisations"][0]["ogrn"])))
    chats = [stage.new_chat(guesser) for _ in range(3)]  # 3 chats × 2 guesses: within the per-chat limit of 5
    for n, chat in enumerate(chats * 2):
        stage.act("POST", f"/chats/{chat}/messages", as_user=guesser, text=_wrong_code(n))
    stage.act("POST", f"/chats/{chats[0]}/messages", as_user=guesser, text=row["code"])  # right code, too late: not heard
    stage.sync()
    answers = [t for c in chats for t in _bot_texts(stage, c) if "Код не принят" in t]
    assert len(answers) == 3
    refused = [e for e in _events(stage, action="chat.bind") if e.user_id == guesser]
    assert [e.outcome for e in refused] == ["refused"] * 3
    (alert,) = _events(stage, action="guess.limit")
    assert (alert.outcome, alert.user_id) == ("alert", guesser) and "4 wrong binding codes or unknown links" in EN.reason(alert.reason)
    with Session(stage.app().db) as s:
        assert s.get(BindingRow, row["building"]) is None
    # Another user is still heard, and the same user again once the window has passed.
    stage.act("POST", f"/chats/{chats[1]}/messages", as_user=guesser, text=_wrong_code(99))
    stage.sync(now=NOON + timedelta(days=1, minutes=1), pull=False)
    assert sum("Код не принят" in t for t in _bot_texts(stage, chats[1])) == 2


def test_a_storm_of_unknown_links_silences_the_bot_but_valid_links_still_work(stage: Stage) -> None:
    _limits(stage, per_user=10, total=4)
    stage.sync()
    users = list(range(71000, 71006))
    for user in users:
        stage.act("POST", "/users", user_id=user, first_name="Некто")
    for i, user in enumerate(users):
        prefix = "s-" if i % 2 else "r-"  # enrolment and invitation payloads count together
        stage.act("POST", "/start", user_id=user, payload=f"{prefix}guess{i:020d}")
    org = stage.world["organisations"][0]
    staff = next(iter(stage.staff_of(org["ogrn"])))
    link = app_mod.org_invite(stage.app(), org["ogrn"], "tester")
    stage.act("POST", "/start", user_id=staff, payload=link.split("start=", 1)[1])
    stage.sync()
    answered = [u for u in users if stage.act("GET", f"/dialogs/{u}")["messages"]]
    assert answered == users[:4]
    assert [e.outcome for e in _events(stage) if e.action in ("staff.enrol", "resident.join")] == ["refused"] * 4 + ["done"]
    (alert,) = _events(stage, action="guess.limit")
    assert alert.outcome == "alert" and alert.user_id is None and "everyone together" in EN.reason(alert.reason)


# The trail is anchored as it grows


def test_every_cycle_and_command_that_records_events_is_checkpointed(stage: Stage) -> None:
    public, _ = app_mod.audit_keygen(stage.tmp / "checkpoint.key")
    cps = stage.tmp / "checkpoints.jsonl"
    with stage.config.open("a", encoding="utf-8") as f:
        f.write(f'[audit]\ncheckpoint_key_file = "{stage.tmp / "checkpoint.key"}"\ncheckpoint_file = "{cps}"\n')
    stage.sync()
    app_mod.issue_binding_codes(stage.app(), "tester")
    stage.sync()  # nothing new happened: no new checkpoint
    seqs = [json.loads(line)["seq"] for line in cps.read_text(encoding="utf-8").splitlines()]
    head = app_mod.audit_verify(stage.app(), cps, public)
    assert len(seqs) == 2 and seqs[0] < seqs[1] == head.head_seq == head.vouched
    assert head.verdict.ok and head.checkpoints == 2


@pytest.mark.parametrize(
    ("premises", "person_ref", "problem"),
    [
        ("1" * 65, "tenant", "premises is longer than 64 characters"),
        ("12", "ten\x00ant", "person_ref holds the control character U+0000"),
    ],
)
def test_a_grant_the_database_cannot_keep_is_refused_alike_on_both_databases(
    stage: Stage, premises: str, person_ref: str, problem: str
) -> None:
    """PostgreSQL would refuse these with an error naming no row, SQLite would keep them: both refuse them first."""
    stage.sync()
    building = stage.world["buildings"][0]["fias_guid"]
    path = stage.tmp / "bad.json"
    good = {"grant_id": G1, "fias_house_guid": building, "premises": "7", "person_ref": "t", "valid_from": "2026-01-01", "status": "active"}
    path.write_text(json.dumps([good, {**good, "grant_id": G2, "premises": premises, "person_ref": person_ref}]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["grants", "import", str(path), "-c", str(stage.config)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1] == f"domchat: error: {path}: grant #2 ({G2}): {problem}"
    assert not _events(stage, action="grant.added")  # the good grant of the same file is not stored either


def test_a_grant_from_gis_the_database_cannot_keep_is_refused_and_audited(stage: Stage) -> None:
    stage.sync()
    building = stage.world["buildings"][0]["fias_guid"]
    records = [
        GuestGrantRecord(G1, building, "7", "t", date(2026, 1, 1), None, "active"),
        GuestGrantRecord(G2, building, "x" * 65, "t", date(2026, 1, 1), None, "active"),
    ]
    with transaction(stage.app().ready_db()) as s:
        report = grants.apply(s, records, source="gis", actor="daemon", trigger="schedule", run_id="r", now=NOON)
    assert (report.added, report.unstorable) == (1, 1)
    (refused,) = _events(stage, action="grant.refused")
    assert EN.reason(refused.reason) == f"grant {G2}: premises is longer than 64 characters"
