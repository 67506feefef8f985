"""`domchat demo`: the real job against the built-in emulators, told as a story.

Everything domchat does here goes through the same use cases as the CLI (`app`), over real
HTTP to the emulators running in a separate process. The emulated authority and staff act
through the MAX emulator's control API, as people would in the messenger.
"""

from __future__ import annotations

import csv
import json
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import requests

from domchat import app as app_mod
from domchat import logs
from domchat.emulators.world import GeneratorOptions, WorldGenerator
from domchat.errors import DomchatError
from domchat.storage import audit
from domchat.sync.engine import CycleReport

BUILDINGS = 200
SEED = 2026
BOT_RIGHTS = ["read_all_messages", "add_remove_members", "add_admins", "change_chat_info", "pin_message", "write"]
WESTMOST = ZoneInfo("Europe/Kaliningrad")  # the last Russian zone to reach a given midnight


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass
class Emulators:
    gis: str
    max: str
    control: requests.Session

    def act(self, method: str, path: str, **body: Any) -> Any:
        r = self.control.request(method, f"{self.max}/_emulator{path}", json=body or None, timeout=30)
        if r.status_code != 200:
            raise DomchatError(f"MAX emulator refused {method} {path}: {r.status_code} {r.text[:200]}")
        return r.json()


@contextmanager
def emulators(workdir: Path, world: Path, token_file: Path, log: IO[str]) -> Iterator[Emulators]:
    """Both emulators in a child process; its first stdout line says where they listen."""
    cmd = [sys.executable, "-m", "domchat", "emulate", "--world", str(world), "--gis-port", "0", "--max-port", "0"]
    proc = subprocess.Popen([*cmd, "--max-token-file", str(token_file)], stdout=subprocess.PIPE, stderr=log, text=True, cwd=workdir)
    try:
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
        reader.start()
        reader.join(timeout=60)
        if not line or not line[0].strip():
            raise DomchatError(f"the emulators did not start (see {log.name})")
        urls = json.loads(line[0])
        with requests.Session() as control:
            yield Emulators(urls["gis"], urls["max"], control)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def write_config(workdir: Path, world: dict[str, Any], em: Emulators, schemas_dir: Path) -> Path:
    licensed = [o["ogrn"] for o in world["organisations"] if o["kind"] == "uo"]
    (workdir / "licensees.txt").write_text("".join(ogrn + "\n" for ogrn in licensed), encoding="utf-8")
    hoas = [(m["ogrn"], b["fias_guid"], b["address"]) for b in world["buildings"] for m in b["management"] if m["basis"] == "charter"]
    with (workdir / "hoas.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("ogrn", "fias_guid", "address"), *hoas])
    accounts = ", ".join(str(u) for u in world["authority"]["max_accounts"])
    config = workdir / "config.toml"
    config.write_text(
        f"""# Written by `domchat demo`: the embedded default (SQLite) against the emulators.
[region]
code = "{world["region"]["code"]}"
name = "{world["region"].get("name", "")}"
authority_name = "{world["authority"].get("name", "орган жилищного надзора")}"
licensees_file = "licensees.txt"
hoas_file = "hoas.csv"
default_tz = "Asia/Yekaterinburg"

[database]
url = "sqlite:///{workdir / "domchat.db"}"

[gis]
endpoint = "{em.gis}"
schemas_dir = "{schemas_dir}"
org_ppa_guid = "{world["authority"]["ppa_guid"]}"
poll_schedule = [0.1, 0.2, 0.5]
max_in_flight = 32
transport_backoff = [0.2, 2.0]

[max]
base_url = "{em.max}"
token_file = "max-token"
authority_accounts = [{accounts}]

[logging]
level = "info"
json = true
""",
        encoding="utf-8",
    )
    return config


def run_demo(workdir: Path | None) -> None:
    started = datetime.now(UTC)
    workdir = (workdir or Path(tempfile.mkdtemp(prefix="domchat-demo-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"domchat demo in {workdir}")
    today = started.date()
    world_path = workdir / "world.json"
    with world_path.open("w", encoding="utf-8") as f:
        WorldGenerator(GeneratorOptions(buildings=BUILDINGS, seed=SEED, today=today, charter_share=0.05)).write(f)
    world = json.loads(world_path.read_text(encoding="utf-8"))
    zones = sorted({b["tz"] for b in world["buildings"]})
    hoas = sum(o["kind"] != "uo" for o in world["organisations"])
    companies = len(world["organisations"]) - hoas
    say(f"[1/6] world: {len(world['buildings'])} buildings, {companies} managing companies and {hoas} HOAs, {len(zones)} time zones")
    token_file = workdir / "max-token"
    token_file.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    token_file.chmod(0o600)
    schemas_dir = app_mod.schemas_dir(None)

    with (workdir / "emulators.log").open("w", encoding="utf-8") as emu_log, emulators(workdir, world_path, token_file, emu_log) as em:
        say(f"[2/6] emulators: GIS ZhKH at {em.gis}, MAX at {em.max}")
        config = write_config(workdir, world, em, schemas_dir)
        with (workdir / "domchat.log").open("a", encoding="utf-8") as log_file:
            logs.configure("info", json=True, stream=log_file)
            _story(workdir, config, world, em, today)
    say(f"finished in {(datetime.now(UTC) - started).total_seconds():.0f} s")


def _story(workdir: Path, config: Path, world: dict[str, Any], em: Emulators, today: date) -> None:
    app = app_mod.open_app(config)
    app_mod.upgrade_db(app)
    first = app_mod.sync_once(app, actor="daemon")
    status = app_mod.status(app)
    say(f"[3/6] first sync: {status['buildings']} buildings and {status['organisations']} organisations from GIS ZhKH; {_counts(first)}")

    authority = world["authority"]["max_accounts"][0]
    staff = 0
    for org in world["organisations"]:
        for user in org["staff"]:
            link = app_mod.org_invite(app, org["ogrn"], "demo-operator")
            em.act("POST", "/start", user_id=user, payload=link.split("start=", 1)[1])
            staff += 1
    codes = app_mod.issue_binding_codes(app, "demo-operator")
    chats: dict[str, int] = {}
    for row in codes:
        chat = em.act("POST", "/chats", as_user=authority, title="Чат дома")
        em.act("POST", f"/chats/{chat['chat_id']}/bot", as_user=authority, permissions=BOT_RIGHTS)
        em.act("POST", f"/chats/{chat['chat_id']}/messages", as_user=authority, text=f"Код привязки: {row['code']}")
        chats[row["building"]] = chat["chat_id"]
    say(f"[4/6] people: {staff} staff followed their enrolment links; the authority made {len(chats)} chats and posted their codes")

    second = app_mod.sync_once(app, actor="daemon")
    status = app_mod.status(app)
    say(f"[5/6] second sync: {status['bound_chats']} chats bound; {_counts(second)}")

    story = _pick_story(world, today)
    if story is None:
        say("[6/6] no management change is scheduled after today in this world")
        return
    building, switch, old, new = story
    at = datetime.combine(switch, time(0, 1), tzinfo=WESTMOST).astimezone(UTC)
    chat_id = chats[building["fias_guid"]]
    before = _admins(em, chat_id)
    later = app_mod.open_app(config, now=at)
    third = app_mod.sync_once(later, actor="daemon")
    after = _admins(em, chat_id)
    say(f"[6/6] sync with the clock at {at.isoformat()} (00:01 on {switch} in Kaliningrad, past midnight everywhere): {_counts(third)}")

    names = {o["ogrn"]: o["name"] for o in world["organisations"]}
    local_midnight = datetime.combine(switch, time(0), tzinfo=ZoneInfo(building["tz"]))
    say()
    say(f"The story of {building['address']} ({building['tz']}), chat {chat_id}:")
    say(f"  until {switch - timedelta(days=1)} managed by {names[old]} ({old}); admins then: {_people(before, world)}")
    say(f"  from {local_midnight.isoformat()} (= {local_midnight.astimezone(UTC).isoformat()}) managed by {names[new]} ({new})")
    say(f"  admins now: {_people(after, world)}")
    kinds = ("grant_admin", "revoke_admin")
    events = [r for r in app_mod.audit_rows(later, audit.AuditFilter(building=building["fias_guid"])) if r.action in kinds]
    read = app_mod.reason_reader(later, "en")
    for r in events[-6:]:
        say(f"  audit #{r.seq} {r.action} user {r.user_id} at {r.at}: {read(r.reason)[:110]}")

    verdict = app_mod.audit_verify(later).verdict
    export = workdir / "audit.jsonl"
    with export.open("w", encoding="utf-8") as f:
        audit.export_jsonl(app_mod.audit_rows(later, audit.AuditFilter()), f)
    say()
    say(f"audit trail: {verdict.events} events, chain {'verified' if verdict.ok else 'BROKEN'}; exported to {export}")
    say(f"database: {workdir / 'domchat.db'}; config: {config}; logs: {workdir / 'domchat.log'}, {workdir / 'emulators.log'}")
    say(f"try: DOMCHAT_CONFIG={config} {Path(sys.executable).parent / 'domchat'} status")
    if not verdict.ok:
        raise DomchatError("the audit chain does not verify")


def _counts(r: CycleReport) -> str:
    pulled = "" if r.pull is None or r.pull.ok else f"GIS pull failed ({r.pull.error}); "
    return f"{pulled}{r.updates} updates handled, {r.planned} actions planned, {r.done} done, {r.failed} failed"


def _pick_story(world: dict[str, Any], today: date) -> tuple[dict[str, Any], date, str, str] | None:
    """The building whose manager changes first after today, and the day it does."""
    best: tuple[dict[str, Any], date, str, str] | None = None
    for b in world["buildings"]:
        m = b["management"]
        if len(m) < 2:
            continue
        switch = date.fromisoformat(m[1]["start"])
        if switch > today and (best is None or switch < best[1]):
            best = (b, switch, m[0]["ogrn"], m[1]["ogrn"])
    return best


def _admins(em: Emulators, chat_id: int) -> list[int]:
    state = em.act("GET", f"/chats/{chat_id}")
    return sorted(m["user_id"] for m in state["members"] if m.get("is_admin"))


def _people(users: list[int], world: dict[str, Any]) -> str:
    who = {world["bot"]["user_id"]: "bot"}
    who |= {u: "authority" for u in world["authority"]["max_accounts"]}
    for o in world["organisations"]:
        who |= {u: f"staff of {o['ogrn']}" for u in o["staff"]}
    return ", ".join(f"{u} ({who.get(u, '?')})" for u in users)
