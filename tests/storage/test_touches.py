"""The triggers of migration 0007_touches: every write that may change a plan leaves a touch."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domchat.domain.model import ActualChat, Building, GuestGrant, MemberState
from domchat.storage import db, repo
from domchat.storage.db import transaction
from domchat.storage.tables import (
    ActionRow,
    BindingRow,
    BuildingRow,
    ChatRow,
    GrantRow,
    NoticeRow,
    NoticeSourceRow,
    OrganisationRow,
    PeriodRow,
    RefusalRow,
    ResidentRow,
    StaffRow,
)

AT = datetime(2026, 11, 30, 12, tzinfo=UTC)
B1, B2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
CHAT = -70000000000001


def _seed(engine: Engine) -> None:
    with transaction(engine) as s:
        for b in (B1, B2):
            repo.save_building(s, Building(b, "ул. Мира, д. 1", "Europe/Moscow"), tz_assumed=False, at=AT)
        repo.save_grant(s, GuestGrant("g1", B2, "кв. 1", "", date(2026, 1, 1), None), source="gis", status="active", at=AT)
        repo.save_actual(s, ActualChat(CHAT, "Чат", None, 100, {100: MemberState(is_admin=True, is_owner=True)}), AT)
        s.add(OrganisationRow(ogrn="1028600000011", name="УК", updated_at=AT))
    with transaction(engine) as s:
        repo.take_touches(s)


def _touched(engine: Engine, write: Callable[[Session], None]) -> repo.Touches:
    with transaction(engine) as s:
        write(s)
    with transaction(engine) as s:
        return repo.take_touches(s)


def _set(row_type: type, key: object, **values: object) -> Callable[[Session], None]:
    def write(s: Session) -> None:
        row = s.get(row_type, key)
        assert row is not None
        for k, v in values.items():
            setattr(row, k, v)
        s.add(row)

    return write


WRITES: dict[str, tuple[Callable[[Session], None], set[str], set[int], bool]] = {
    "a building's zone": (_set(BuildingRow, B1, tz="Asia/Omsk"), {B1}, set(), False),
    "a claim": (
        lambda s: s.add(PeriodRow(building=B1, org="1028600000011", start=date(2026, 1, 1), basis="licence")),
        {B1},
        set(),
        False,
    ),
    "a binding": (lambda s: s.add(BindingRow(building=B1, chat_id=CHAT, bound_at=AT, bound_by=100)), {B1}, set(), False),
    "a grant revoked": (_set(GrantRow, "g1", status="revoked"), {B2}, set(), False),
    "a resident (by the grant's building)": (lambda s: s.add(ResidentRow(grant_id="g1", user_id=7, bound_at=AT)), {B2}, set(), False),
    "a resident of no known grant": (lambda s: s.add(ResidentRow(grant_id="nope", user_id=7, bound_at=AT)), set(), set(), False),
    "a member joining": (lambda s: repo.add_member(s, CHAT, 7), set(), {CHAT}, False),
    "a chat renamed": (_set(ChatRow, CHAT, title="Другой"), set(), {CHAT}, False),
    "a refusal": (lambda s: s.add(RefusalRow(chat_id=CHAT, user_id=8, code="privacy", at=AT)), set(), {CHAT}, False),
    "a meeting": (
        lambda s: s.add(NoticeSourceRow(key="meeting:m1", building=B1, payload="{}", updated_at=AT)),
        {B1},
        set(),
        False,
    ),
    "a notice": (
        lambda s: s.add(
            NoticeRow(
                key="meeting:" + B1 + ":m1", building=B1, kind="meeting", chat_id=CHAT, text="t", due_at=AT, until=AT.date(), created_at=AT
            )
        ),
        {B1},
        set(),
        False,
    ),
    "an action stored": (
        lambda s: s.add(ActionRow(key="k", run_id="r", kind="set_title", chat_id=CHAT, building=B1, created_at=AT)),
        {B1},
        set(),
        False,
    ),
    "staff enrolled": (lambda s: s.add(StaffRow(org="1028600000011", user_id=9, enrolled_at=AT)), set(), set(), True),
    "an organisation's phone": (_set(OrganisationRow, "1028600000011", phone="112"), set(), set(), True),
}


@pytest.mark.parametrize("what", list(WRITES))
def test_each_write_touches_its_building_or_chat(engine: Engine, what: str) -> None:
    _seed(engine)
    write, buildings, chats, everything = WRITES[what]
    got = _touched(engine, write)
    assert (got.buildings, got.chats, got.everything) == (buildings, chats, everything)


def test_deletes_touch_and_a_moved_key_touches_both(engine: Engine) -> None:
    _seed(engine)
    assert _touched(engine, lambda s: repo.set_member(s, CHAT, 100, None)).chats == {CHAT}
    assert _touched(engine, _set(GrantRow, "g1", building=B1)).buildings == {B1, B2}


def test_writes_that_change_nothing_that_matters_leave_no_touch(engine: Engine) -> None:
    _seed(engine)
    chat = ActualChat(CHAT, "Чат", None, 100, {100: MemberState(is_admin=True, is_owner=True)})
    assert _touched(engine, lambda s: repo.save_actual(s, chat, datetime(2026, 12, 1, tzinfo=UTC))).rows == 0  # a re-read
    assert _touched(engine, _set(BuildingRow, B1, updated_at=datetime(2026, 12, 1, tzinfo=UTC))).rows == 0
    assert _touched(engine, _set(GrantRow, "g1", status="active")).rows == 0


def test_the_migration_goes_down_and_up_again(engine: Engine) -> None:
    _seed(engine)
    cfg = db._alembic_config(engine)
    command.downgrade(cfg, "0006_notice_pins")
    assert "touch" not in inspect(engine).get_table_names()
    with transaction(engine) as s:  # no trigger is left behind writing into a missing table
        s.add(PeriodRow(building=B1, org="1028600000011", start=date(2026, 1, 1), basis="licence"))
        repo.add_member(s, CHAT, 7)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            assert (
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                        " WHERE p.proname = 'domchat_touch' AND n.nspname = current_schema()"
                    )
                ).scalar()
                == 0
            )
    command.upgrade(cfg, "head")
    assert _touched(engine, lambda s: repo.add_member(s, CHAT, 8)).chats == {CHAT}
