"""Residents: personal invitations from grants, binding a MAX user to a grant, and privacy.

A grant (guest access from GIS ZhKH's provisional service, a grants file, or a manual
invitation staff asked for) gets a personal link. Following it binds the MAX user to the
grant; the planner then adds them to the building's chat while the grant is in force. When
the platform refuses to add them (privacy settings), the bot sends them the chat's join link
instead, and their joining by that link is accepted.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session, select

from domchat.domain.model import Building, Manager, manager_on
from domchat.domain.reasons import because
from domchat.storage import repo
from domchat.storage.tables import BindingRow, BuildingRow, GrantRow, PeriodRow, RefusalRow, ResidentInviteRow, ResidentRow, StaffRow
from domchat.sync import tokens
from domchat.sync.handling import Context, audit, guess_heard, guess_wrong, notice

PRIVACY = "add.participant.privacy"


def issue(s: Session, grant_id: str, now: datetime, ttl: timedelta, created_by: str, *, delivered: bool = False) -> str:
    """A fresh personal link token for a grant; earlier unused links of the grant stop working.

    `delivered`: the link is handed over in the same transaction (a queued message), not later.
    """
    for old in s.exec(select(ResidentInviteRow).where(ResidentInviteRow.grant_id == grant_id, ResidentInviteRow.status == "active")):
        old.status = "superseded"
        s.add(old)
    token = tokens.new_link_token(tokens.RESIDENT_PREFIX)
    s.add(
        ResidentInviteRow(
            token_hash=tokens.digest(token),
            grant_id=grant_id,
            created_at=now,
            expires_at=now + ttl,
            created_by=created_by,
            delivered_at=now if delivered else None,
        )
    )
    return token


INVITE_COMMAND = re.compile(r"^/(?:пригласить|invite)\s+(?P<premises>\S{1,16})(?:\s+(?P<days>\d{1,3}))?\s*$", re.IGNORECASE)
"""What staff post in a house chat to get a tenant's personal link: `/пригласить 12 30`."""
DEFAULT_DAYS = 30


def staff_invitation(ctx: Context, s: Session, chat_id: int, sender: int, text: str, update_id: int) -> None:
    """A staff member of the building's current manager asked for a tenant's invitation.

    The link goes to the staff member's dialog with the bot, never into the group chat.
    """
    m = INVITE_COMMAND.match(text.strip())
    bound = s.exec(select(BindingRow).where(BindingRow.chat_id == chat_id)).first()
    if m is None or bound is None:
        return
    building = s.get(BuildingRow, bound.building)
    assert building is not None
    day = Building(building.fias_guid, building.address, building.tz).local_date(ctx.clock.now())
    periods = tuple(repo.period(p) for p in s.exec(select(PeriodRow).where(PeriodRow.building == bound.building)))
    manager = manager_on(periods, day)
    staff = s.get(StaffRow, (manager.org, sender)) if isinstance(manager, Manager) else None
    if staff is None or staff.revoked_at is not None or staff.dialog_id is None:
        audit(
            ctx,
            s,
            "resident.invitation",
            "refused",
            building=bound.building,
            chat_id=chat_id,
            user_id=sender,
            reason=because("invitation_not_staff"),
        )
        return
    days = int(m.group("days") or DEFAULT_DAYS)
    grant = GrantRow(
        grant_id=f"manual-{tokens.digest(f'{update_id}:{chat_id}:{sender}')[:32]}",
        building=bound.building,
        premises=m.group("premises"),
        person_ref=f"asked by staff {sender}",
        valid_from=day,
        valid_to=day + timedelta(days=max(days, 1) - 1),
        status="active",
        source="manual",
        updated_at=ctx.clock.now(),
    )
    if s.get(GrantRow, grant.grant_id) is not None:
        return  # this very request was handled already
    s.add(grant)
    token = issue(s, grant.grant_id, ctx.clock.now(), timedelta(days=ctx.invite_ttl_days), f"staff:{sender}", delivered=True)
    audit(
        ctx,
        s,
        "resident.invitation",
        "done",
        building=bound.building,
        org=staff.org,
        chat_id=chat_id,
        user_id=sender,
        after={"grant_id": grant.grant_id, "premises": grant.premises, "valid_to": grant.valid_to.isoformat() if grant.valid_to else None},
        reason=because("invitation_asked"),
    )
    text = ctx.templates.render(
        "invitation_for_staff", premises=grant.premises, days=str(days), link=f"https://max.ru/{ctx.bot_username}?start={token}"
    )
    notice(ctx, s, staff.dialog_id, bound.building, text, update_id)


def join(ctx: Context, s: Session, dialog_id: int, user_id: int, payload: str, update_id: int) -> None:
    now = ctx.clock.now()
    if not guess_heard(ctx, s, user_id):
        return
    invite = s.get(ResidentInviteRow, tokens.digest(payload))
    grant = s.get(GrantRow, invite.grant_id) if invite is not None else None
    refusal = ""
    if invite is None or invite.status != "active" or grant is None:
        refusal, why = "unknown_link", because("invitation_unknown")
    elif invite.expires_at <= now:
        refusal, why = "expired_link", because("invitation_expired", at=invite.expires_at.isoformat())
    elif grant.status != "active":
        refusal, why = "grant_ended", because("grant_not_active", grant=grant.grant_id, status=grant.status)
    if refusal == "unknown_link" and not guess_wrong(ctx, s, "an invitation link", user_id):
        return
    if refusal:
        building = grant.building if grant is not None else None
        audit(ctx, s, "resident.join", "refused", building=building, user_id=user_id, reason=why)
        text = ctx.templates.render("invitation_refused", reason=ctx.templates.reason(refusal))
        notice(ctx, s, dialog_id, building or "", text, update_id)
        return
    assert invite is not None and grant is not None
    invite.status, invite.used_at, invite.used_by = "used", now, user_id
    s.add(invite)
    if s.get(ResidentRow, (grant.grant_id, user_id)) is None:
        s.add(ResidentRow(grant_id=grant.grant_id, user_id=user_id, dialog_id=dialog_id, bound_at=now))
    address = s.get(BuildingRow, grant.building)
    audit(
        ctx,
        s,
        "resident.join",
        "done",
        building=grant.building,
        user_id=user_id,
        after={"grant_id": grant.grant_id, "premises": grant.premises},
        reason=because("link_issued_by", by=invite.created_by),
    )
    text = ctx.templates.render("invitation_accepted", address=address.address if address else grant.building, premises=grant.premises)
    notice(ctx, s, dialog_id, grant.building, text, update_id)


def refused(ctx: Context, s: Session, chat_id: int, building: str, user_id: int, code: str, link: str | None) -> None:
    """The platform would not add `user_id`: remember it, and send a resident the join link."""
    if s.get(RefusalRow, (chat_id, user_id)) is None:
        s.add(RefusalRow(chat_id=chat_id, user_id=user_id, code=code, at=ctx.clock.now()))
    if code != PRIVACY or not link:
        return
    for resident in s.exec(select(ResidentRow).where(ResidentRow.user_id == user_id)):
        grant = s.get(GrantRow, resident.grant_id)
        if grant is None or grant.building != building or resident.dialog_id is None:
            continue
        address = s.get(BuildingRow, building)
        text = ctx.templates.render("join_link", address=address.address if address else building, link=link)
        notice(ctx, s, resident.dialog_id, building, text, f"privacy:{chat_id}:{user_id}")
        audit(
            ctx,
            s,
            "resident.join_link",
            "done",
            building=building,
            chat_id=chat_id,
            user_id=user_id,
            reason=because("join_link_sent", code=code),
        )
        return


LEFT = "left"
"""The refusal code of a resident who left the chat on their own."""


def left(ctx: Context, s: Session, chat_id: int, user_id: int) -> None:
    """A resident left a bound chat by themselves: remember it, so the planner does not add them back."""
    bound = s.exec(select(BindingRow).where(BindingRow.chat_id == chat_id)).first()
    if bound is None:
        return
    grants = {g.grant_id for g in s.exec(select(GrantRow).where(GrantRow.building == bound.building))}
    if not any(r.grant_id in grants for r in s.exec(select(ResidentRow).where(ResidentRow.user_id == user_id))):
        return
    if s.get(RefusalRow, (chat_id, user_id)) is None:
        s.add(RefusalRow(chat_id=chat_id, user_id=user_id, code=LEFT, at=ctx.clock.now()))
    audit(ctx, s, "resident.left", "done", building=bound.building, chat_id=chat_id, user_id=user_id, reason=because("resident_left"))
