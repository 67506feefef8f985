"""Who may be in a house chat, end to end over both emulators: binding refusals, staff, residents
(invitations, privacy, revoked grants) and strangers joining by link."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from domchat import app as app_mod
from domchat.domain import reasons
from domchat.storage import audit
from domchat.storage.tables import BindingCodeRow, BindingRow, ResidentRow
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
    row = app_mod.pending_chats(stage.app(), "tester")[0]
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
    first, second = app_mod.pending_chats(stage.app(), "tester")[:2]
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
