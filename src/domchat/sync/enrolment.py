"""Staff enrolment: a personal deep link binds one MAX user to a managing organisation."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from domchat.domain.reasons import because
from domchat.storage.tables import InviteRow, OrganisationRow, StaffRow
from domchat.sync import tokens
from domchat.sync.handling import Context, audit, guess_heard, guess_wrong, notice


def enrol(ctx: Context, s: Session, dialog_id: int, user_id: int, payload: str, update_id: int) -> None:
    now = ctx.clock.now()
    if not guess_heard(ctx, s, user_id):
        return
    invite = s.get(InviteRow, tokens.digest(payload))
    if invite is None or invite.used_at is not None:
        if not guess_wrong(ctx, s, "an enrolment link", user_id):
            return
        audit(ctx, s, "staff.enrol", "refused", user_id=user_id, reason=because("enrol_link_unknown"))
        notice(ctx, s, dialog_id, "", ctx.templates.render("enrolment_refused", reason=ctx.templates.reason("unknown_link")), update_id)
        return
    if invite.expires_at <= now:
        audit(
            ctx,
            s,
            "staff.enrol",
            "refused",
            org=invite.org,
            user_id=user_id,
            reason=because("enrol_link_expired", at=invite.expires_at.isoformat()),
        )
        notice(ctx, s, dialog_id, "", ctx.templates.render("enrolment_refused", reason=ctx.templates.reason("expired_link")), update_id)
        return
    invite.used_at, invite.used_by = now, user_id
    s.add(invite)
    row = s.get(StaffRow, (invite.org, user_id))
    if row is None:
        s.add(StaffRow(org=invite.org, user_id=user_id, dialog_id=dialog_id, enrolled_at=now))
    else:
        row.revoked_at, row.dialog_id = None, dialog_id
        s.add(row)
    org = s.get(OrganisationRow, invite.org)
    audit(ctx, s, "staff.enrol", "done", org=invite.org, user_id=user_id, reason=because("link_issued_by", by=invite.created_by))
    notice(ctx, s, dialog_id, "", ctx.templates.render("enrolment_accepted", org_name=org.name if org else invite.org), update_id)


def issue_invite(s: Session, org: str, now: datetime, ttl: timedelta, created_by: str) -> str:
    token = tokens.new_link_token(tokens.STAFF_PREFIX)
    s.add(InviteRow(token_hash=tokens.digest(token), org=org, created_at=now, expires_at=now + ttl, created_by=created_by))
    return token
