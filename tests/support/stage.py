"""End-to-end support: both emulators on loopback, a config pointing at them, a real database.

A `Stage` plays the people around domchat (the authority's operators, staff following links)
through the MAX emulator's control API, and runs domchat's own use cases, as the CLI would.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests

from domchat import app as app_mod
from domchat.emulators.gis import GisEmulator
from domchat.emulators.max import MaxEmulator
from domchat.emulators.world import GeneratorOptions, WorldGenerator
from domchat.sync.engine import CycleReport
from support.reference import GIS_SCHEMAS

SCHEMAS = GIS_SCHEMAS
TODAY = date(2026, 11, 21)
NOON = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
BOT_RIGHTS = ["read_all_messages", "add_remove_members", "add_admins", "change_chat_info", "pin_message", "write"]


def make_world(buildings: int, seed: int, charter_share: float = 0.0) -> dict[str, Any]:
    out = io.StringIO()
    opts = GeneratorOptions(buildings=buildings, seed=seed, today=TODAY, buildings_per_org=4, charter_share=charter_share)
    WorldGenerator(opts).write(out)
    world: dict[str, Any] = json.loads(out.getvalue())
    return world


@dataclass
class Stage:
    tmp: Path
    world: dict[str, Any]
    gis: GisEmulator
    max: MaxEmulator
    config: Path
    http: requests.Session = field(default_factory=requests.Session)
    chats: dict[str, int] = field(default_factory=dict)

    @property
    def authority(self) -> int:
        return int(self.world["authority"]["max_accounts"][0])

    def app(self, now: datetime = NOON) -> app_mod.App:
        return app_mod.open_app(self.config, now=now)

    def sync(self, now: datetime = NOON, **kw: Any) -> CycleReport:
        return app_mod.sync_once(self.app(now), **kw)

    def act(self, method: str, path: str, **body: Any) -> Any:
        r = self.http.request(method, f"{self.max.base_url}/_emulator{path}", json=body or None, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()

    def chat_state(self, chat_id: int) -> dict[str, Any]:
        state: dict[str, Any] = self.act("GET", f"/chats/{chat_id}")
        return state

    def admins(self, chat_id: int) -> set[int]:
        return {m["user_id"] for m in self.chat_state(chat_id)["members"] if m.get("is_admin")}

    def enrol_all_staff(self, now: datetime = NOON) -> None:
        for org in self.world["organisations"]:
            for user in org["staff"]:
                link = app_mod.org_invite(self.app(now), org["ogrn"], "tester")
                self.act("POST", "/start", user_id=user, payload=link.split("start=", 1)[1])

    def new_chat(self, owner: int) -> int:
        chat = self.act("POST", "/chats", as_user=owner, title="Чат")
        self.act("POST", f"/chats/{chat['chat_id']}/bot", as_user=owner, permissions=BOT_RIGHTS)
        return int(chat["chat_id"])

    def bind_all(self, now: datetime = NOON) -> None:
        for row in app_mod.issue_binding_codes(self.app(now), "tester"):
            chat_id = self.new_chat(self.authority)
            self.act("POST", f"/chats/{chat_id}/messages", as_user=self.authority, text=f"код {row['code']}")
            self.chats[row["building"]] = chat_id

    def running(self, now: datetime = NOON) -> None:
        """The region pulled, every organisation's staff enrolled, every chat bound and set up."""
        self.sync(now)
        self.enrol_all_staff(now)
        self.bind_all(now)
        self.sync(now)

    def next_handover(self) -> tuple[dict[str, Any], datetime]:
        """The building whose manager changes first after NOON, and its local midnight that day (UTC)."""
        changing = [
            b for b in self.world["buildings"] if len(b["management"]) > 1 and date.fromisoformat(b["management"][1]["start"]) > NOON.date()
        ]
        assert changing, "the test world must schedule a change"
        b = min(changing, key=lambda x: x["management"][1]["start"])
        switch = date.fromisoformat(b["management"][1]["start"])
        return b, datetime.combine(switch, time(0), tzinfo=ZoneInfo(b["tz"])).astimezone(UTC)

    def staff_of(self, ogrn: str) -> set[int]:
        return {u for o in self.world["organisations"] if o["ogrn"] == ogrn for u in o["staff"]}

    def sync_process(self, db_url: str, crash: str | None, at: datetime = NOON) -> subprocess.CompletedProcess[str]:
        """`domchat sync --once` in a child process, which dies as under `kill -9` at `crash`."""
        env = {**os.environ, "DOMCHAT_DATABASE_URL": db_url}
        env.pop("DOMCHAT_CRASH_AT", None)
        if crash:
            env["DOMCHAT_CRASH_AT"] = crash
        cmd = [sys.executable, "-m", "domchat", "sync", "--once", "--now", at.isoformat(), "--config", str(self.config)]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)


def write_config(tmp: Path, world: dict[str, Any], gis_url: str, max_url: str, db_url: str, token: str, **extra: str) -> Path:
    licensed = [o["ogrn"] for o in world["organisations"] if o["kind"] == "uo"]
    (tmp / "licensees.txt").write_text("".join(ogrn + "\n" for ogrn in licensed), encoding="utf-8")
    # The authority's HOA register, with addresses of its own (GIS's address register wins).
    hoas = [(m["ogrn"], b["fias_guid"]) for b in world["buildings"] for m in b["management"] if m["basis"] == "charter"]
    (tmp / "hoas.csv").write_text("ogrn,fias_guid,address\n" + "".join(f"{o},{f},по реестру ТСЖ\n" for o, f in hoas), encoding="utf-8")
    (tmp / "token").write_text(token, encoding="utf-8")
    sections = {
        "region": 'code = "86"\nlicensees_file = "licensees.txt"\nhoas_file = "hoas.csv"\ndefault_tz = "Asia/Yekaterinburg"',
        "database": f'url = "{db_url}"',
        "gis": (
            f'endpoint = "{gis_url}"\nschemas_dir = "{SCHEMAS}"\norg_ppa_guid = "{world["authority"]["ppa_guid"]}"\n'
            "poll_schedule = [0.02, 0.05]\ntransport_attempts = 2\ntransport_backoff = [0.05, 0.1]"
        ),
        "max": (
            f'base_url = "{max_url}"\ntoken_file = "token"\nauthority_accounts = {world["authority"]["max_accounts"]}\n'
            "retries = 1\nbackoff = 0.05"
        ),
        "logging": 'level = "warning"',
    }
    for key, value in extra.items():
        section, name = key.split("__")
        sections[section] = sections.get(section, "") + f"\n{name} = {value}"
    path = tmp / "domchat.toml"
    path.write_text("".join(f"[{name}]\n{body}\n\n" for name, body in sections.items()), encoding="utf-8")
    return path
