"""The database tables (sqlmodel). The alembic migrations under `migrations/` create them.

Instants are stored timezone-aware in UTC (`UtcDateTime`), so SQLite and PostgreSQL return
the same values. Building-local dates are plain dates. MAX ids are 64-bit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Integer, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from domchat.domain.model import PERSON_REF_MAX, PREMISES_MAX


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(**kw: Any) -> Any:
    return Field(sa_column=Column(UtcDateTime(), **kw))


def _big(**kw: Any) -> Any:
    return Field(sa_column=Column(BigInteger(), **kw))


def _text(**kw: Any) -> Any:
    return Field(sa_column=Column(Text(), **kw))


class BuildingRow(SQLModel, table=True):
    __tablename__ = "building"
    fias_guid: str = Field(primary_key=True, max_length=36)
    address: str = _text(nullable=False)
    tz: str = Field(max_length=64)
    tz_assumed: bool = False
    """True when GIS gave no usable OlsonTZ and the region's default zone was used."""
    oktmo: str | None = Field(default=None, max_length=11)
    state: str = Field(default="active", max_length=16)
    updated_at: datetime = _utc(nullable=False)


class OrganisationRow(SQLModel, table=True):
    __tablename__ = "organisation"
    ogrn: str = Field(primary_key=True, max_length=15)
    name: str = _text(nullable=False)
    inn: str = Field(default="", max_length=12)
    kind: str = Field(default="uo", max_length=8)
    root_guid: str = Field(default="", max_length=36)
    ppa_guid: str = Field(default="", max_length=36)
    phone: str = Field(default="", max_length=64)
    dispatch_phone: str = Field(default="", max_length=64)
    updated_at: datetime = _utc(nullable=False)


class PeriodRow(SQLModel, table=True):
    """Management periods as of the last complete pull (replaced per building, in one transaction)."""

    __tablename__ = "management_period"
    id: int | None = Field(default=None, primary_key=True)
    building: str = Field(index=True, max_length=36)
    org: str = Field(index=True, max_length=15)
    start: date
    until: date | None = None
    basis: str = Field(max_length=16)
    source_ids: str = _text(nullable=False, default="")
    """Comma-separated GIS document identifiers."""


class BindingRow(SQLModel, table=True):
    __tablename__ = "chat_binding"
    building: str = Field(primary_key=True, max_length=36)
    chat_id: int = _big(nullable=False, unique=True)
    bound_at: datetime = _utc(nullable=False)
    bound_by: int = _big(nullable=False)


class BindingCodeRow(SQLModel, table=True):
    """One-time codes that bind a chat to a building; only their SHA-256 is kept."""

    __tablename__ = "binding_code"
    code_hash: str = Field(primary_key=True, max_length=64)
    building: str = Field(index=True, max_length=36)
    created_at: datetime = _utc(nullable=False)
    expires_at: datetime = _utc(nullable=False)
    status: str = Field(default="active", max_length=16)
    """active, used, superseded (a newer code was issued) or expired."""
    used_at: datetime | None = _utc(nullable=True)
    used_in_chat: int | None = _big(nullable=True)


class CodeAttemptRow(SQLModel, table=True):
    """Wrong codes posted per chat, to stop guessing."""

    __tablename__ = "binding_attempt"
    chat_id: int = _big(primary_key=True)
    failures: int = 0
    last_at: datetime = _utc(nullable=False)


class GuessCounterRow(SQLModel, table=True):
    """Wrong binding codes and unknown deep-link payloads in the current window: per user (`user:ID`) and in all (`all`)."""

    __tablename__ = "guess_counter"
    key: str = Field(primary_key=True, max_length=64)
    window_start: datetime = _utc(nullable=False)
    failures: int = 0
    alerted: bool = False
    """The crossing of the limit in this window is audited once."""


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff_account"
    org: str = Field(primary_key=True, max_length=15)
    user_id: int = _big(primary_key=True)
    dialog_id: int | None = _big(nullable=True)
    """Their dialog with the bot (where personal links they ask for are sent)."""
    enrolled_at: datetime = _utc(nullable=False)
    revoked_at: datetime | None = _utc(nullable=True)


class InviteRow(SQLModel, table=True):
    """Personal staff enrolment links; only the SHA-256 of the token is kept."""

    __tablename__ = "staff_invite"
    token_hash: str = Field(primary_key=True, max_length=64)
    org: str = Field(index=True, max_length=15)
    created_at: datetime = _utc(nullable=False)
    expires_at: datetime = _utc(nullable=False)
    created_by: str = Field(max_length=128)
    used_at: datetime | None = _utc(nullable=True)
    used_by: int | None = _big(nullable=True)


class GrantRow(SQLModel, table=True):
    """A resident's right to be in a building's chat: a guest-access grant, or a manual invitation."""

    __tablename__ = "guest_grant"
    grant_id: str = Field(primary_key=True, max_length=64)
    building: str = Field(index=True, max_length=36)
    premises: str = Field(default="", max_length=PREMISES_MAX)
    person_ref: str = Field(default="", max_length=PERSON_REF_MAX)
    valid_from: date
    valid_to: date | None = None
    """Last local day of validity (inclusive)."""
    status: str = Field(default="active", max_length=16)
    """active, revoked or expired."""
    source: str = Field(default="gis", max_length=16)
    """gis (the provisional service), file (grants import) or manual (an invitation issued by staff)."""
    updated_at: datetime = _utc(nullable=False)


class ResidentRow(SQLModel, table=True):
    """A MAX user bound to a grant by following its personal link."""

    __tablename__ = "resident_account"
    grant_id: str = Field(primary_key=True, max_length=64)
    user_id: int = _big(primary_key=True)
    dialog_id: int | None = _big(nullable=True)
    """The user's dialog with the bot, for messages to them (a join link when privacy refuses adds)."""
    bound_at: datetime = _utc(nullable=False)


class ResidentInviteRow(SQLModel, table=True):
    """Personal resident invitations; only the SHA-256 of the token is kept."""

    __tablename__ = "resident_invite"
    token_hash: str = Field(primary_key=True, max_length=64)
    grant_id: str = Field(index=True, max_length=64)
    created_at: datetime = _utc(nullable=False)
    expires_at: datetime = _utc(nullable=False)
    created_by: str = Field(max_length=128)
    status: str = Field(default="active", max_length=16)
    """active, used or superseded."""
    used_at: datetime | None = _utc(nullable=True)
    used_by: int | None = _big(nullable=True)
    delivered_at: datetime | None = _utc(nullable=True)
    """When the link was handed over (written out, accepted by the delivery webhook, or queued to staff); None: seen by nobody."""


class RefusalRow(SQLModel, table=True):
    """Someone the platform refused to add to a chat (privacy): not re-added, welcome to join by link."""

    __tablename__ = "member_refusal"
    chat_id: int = _big(primary_key=True)
    user_id: int = _big(primary_key=True)
    code: str = Field(max_length=64)
    at: datetime = _utc(nullable=False)


class ChatRow(SQLModel, table=True):
    """What domchat last saw of a chat (title, pinned card, status)."""

    __tablename__ = "chat_state"
    chat_id: int = _big(primary_key=True)
    title: str | None = _text(nullable=True)
    owner_id: int | None = _big(nullable=True)
    pinned_mid: str | None = Field(default=None, max_length=64)
    pinned_text: str | None = _text(nullable=True)
    status: str = Field(default="active", max_length=16)
    observed_at: datetime = _utc(nullable=False)


class MemberRow(SQLModel, table=True):
    """What domchat last saw of a chat's members and their rights."""

    __tablename__ = "chat_member"
    chat_id: int = _big(primary_key=True)
    user_id: int = _big(primary_key=True)
    is_owner: bool = False
    is_admin: bool = False
    permissions: str = _text(nullable=False, default="")
    """Comma-separated, sorted."""


class ActionRow(SQLModel, table=True):
    """A planned action, stored before it runs; done in the same transaction as its audit event."""

    __tablename__ = "action"
    key: str = Field(primary_key=True, max_length=64)
    ordinal: int = _big(nullable=False, index=True, default=0)
    """Execution order: the plan's order (rights taken before given, members added before they are
    made admins). Instants cannot order them: a planning `--now` gives every action the same one."""
    run_id: str = Field(index=True, max_length=36)
    lane: int = Field(default=3, sa_column=Column(Integer(), nullable=False, server_default="3"))
    """The executor takes the lowest lane waiting first (`Action.lane`), then `ordinal`."""
    kind: str = Field(max_length=32)
    chat_id: int = _big(nullable=False, index=True)
    building: str = Field(max_length=36)
    user_id: int | None = _big(nullable=True)
    payload: str = _text(nullable=False, default="{}")
    reason: str = _text(nullable=False, default="")
    status: str = Field(default="pending", max_length=16, index=True)
    """pending, done, failed or obsolete."""
    created_at: datetime = _utc(nullable=False)
    attempted_at: datetime | None = _utc(nullable=True)
    """When a call to MAX was first attempted (wall clock): a pending action with it set may already have taken effect."""
    finished_at: datetime | None = _utc(nullable=True)
    error: str | None = _text(nullable=True)
    attempts: int = Field(default=0, sa_column=Column(Integer(), nullable=False, server_default="0"))
    """Calls that failed so far; at `sync.action_attempts` the action is given up as failed."""
    not_before: datetime | None = _utc(nullable=True)
    """After a failed call: not retried before this instant (wall clock, backoff with jitter)."""


class AuditRow(SQLModel, table=True):
    """The append-only, hash-chained audit trail (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_event"
    seq: int = _big(primary_key=True, autoincrement=False)
    at: str = Field(max_length=32, index=True)
    """UTC instant, ISO 8601 with microseconds and a Z; kept as text so the hash is stable."""
    run_id: str = Field(default="", max_length=36, index=True)
    actor: str = Field(max_length=128, index=True)
    trigger: str = Field(max_length=64)
    action: str = Field(max_length=64, index=True)
    building: str | None = Field(default=None, max_length=36, index=True)
    org: str | None = Field(default=None, max_length=15, index=True)
    chat_id: int | None = _big(nullable=True, index=True)
    user_id: int | None = _big(nullable=True, index=True)
    before: str = _text(nullable=False, default="null")
    after: str = _text(nullable=False, default="null")
    reason: str = _text(nullable=False, default="")
    outcome: str = Field(max_length=32)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHeadRow(SQLModel, table=True):
    """The chain's last link; locked while appending so that concurrent writers serialise."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = _big(nullable=False, default=0)
    hash: str = Field(max_length=64)


class RunRow(SQLModel, table=True):
    __tablename__ = "run"
    run_id: str = Field(primary_key=True, max_length=36)
    started_at: datetime = _utc(nullable=False)
    finished_at: datetime | None = _utc(nullable=True)
    actor: str = Field(max_length=128)
    trigger: str = Field(max_length=64)
    status: str = Field(default="running", max_length=16)
    """running, then ok, degraded, failed or stopped (the safety fuse): the worst of `phases`."""
    summary: str = _text(nullable=False, default="{}")
    phases: str = Field(default="{}", sa_column=Column(Text(), nullable=False, server_default="{}"))
    """JSON: each phase (updates, pull, plan, execute) → ok, degraded, failed or skipped."""
    error: str | None = _text(nullable=True)
    """The one line that says what went wrong, when the run is not ok."""
    version: str = Field(default="", max_length=64)
    """The version of domchat that ran the cycle (empty for runs from before it was recorded)."""


class BookmarkRow(SQLModel, table=True):
    __tablename__ = "bookmark"
    name: str = Field(primary_key=True, max_length=128)
    value: str = _text(nullable=False)
    updated_at: datetime = _utc(nullable=False)


class LeaseRow(SQLModel, table=True):
    __tablename__ = "lease"
    name: str = Field(primary_key=True, max_length=128)
    holder: str = Field(max_length=128)
    expires_at: datetime = _utc(nullable=False)
    generation: int = Field(default=0, sa_column=Column(BigInteger(), nullable=False, server_default="0"))
    """Raised by every acquisition: the fencing token each effect's write is checked against."""


class RateRow(SQLModel, table=True):
    """A rate shared by several instances (GCRA): when the next request may go, in epoch seconds."""

    __tablename__ = "rate_limit"
    name: str = Field(primary_key=True, max_length=128)
    tat: float


class UpdateRow(SQLModel, table=True):
    """MAX updates stored before they are acknowledged, processed later in order."""

    __tablename__ = "max_update"
    id: int | None = Field(default=None, primary_key=True)
    update_key: str = Field(max_length=64, unique=True)
    """SHA-256 of the update's canonical JSON: a redelivered update is stored once."""
    received_at: datetime = _utc(nullable=False)
    update_type: str = Field(max_length=64)
    body: str = _text(nullable=False)
    processed_at: datetime | None = _utc(nullable=True, index=True)


class NoticeRow(SQLModel, table=True):
    """A notice to a house (docs/notices.md), stored when first due and never computed again:
    its key is what makes it go out once."""

    __tablename__ = "notice"
    key: str = Field(primary_key=True, max_length=160)
    """`<kind>:<building>:<ident>`."""
    building: str = Field(max_length=36, index=True)
    kind: str = Field(max_length=32)
    chat_id: int = _big(nullable=False)
    text: str = _text(nullable=False)
    due_at: datetime = _utc(nullable=False, index=True)
    """When it falls due (a local hour in the spread window)."""
    until: date = Field(nullable=False)
    """The last building-local day on which posting it still makes sense."""
    status: str = Field(default="scheduled", max_length=16, index=True)
    """scheduled (waiting for its hour), queued (its `post_notice` action is stored), expired."""
    created_at: datetime = _utc(nullable=False)
    queued_at: datetime | None = _utc(nullable=True)
    mid: str | None = Field(default=None, max_length=64)
    """The message it became in the chat, once posted (an owners' meeting announcement is pinned)."""


class NoticeOffRow(SQLModel, table=True):
    """A kind of notice an authority turned off, for the region (`building` empty) or one building."""

    __tablename__ = "notice_off"
    building: str = Field(primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=32)
    at: datetime = _utc(nullable=False)
    actor: str = _text(nullable=False)


class NoticeSourceRow(SQLModel, table=True):
    """What notices are computed from, as GIS last gave it: the deadlines of a contract or charter
    version, an owners' meeting, a meeting's protocol (JSON of the domain value)."""

    __tablename__ = "notice_source"
    key: str = Field(primary_key=True, max_length=80)
    """`deadlines:<document version GUID>`, `meeting:<MessageGUID>` or `outcome:<VotingProtocolGUID>`."""
    building: str = Field(max_length=36, index=True, default="")
    """The building of a meeting or protocol; empty for deadlines (claims cite their document)."""
    payload: str = _text(nullable=False)
    updated_at: datetime = _utc(nullable=False)


class TouchRow(SQLModel, table=True):
    """A building or chat whose rows changed since the daemon last planned; neither: everything.

    Written only by triggers (migration 0007_touches) on the tables that decide a chat's wanted
    or observed state, so every writer is caught; deleted by the planner that consumes them."""

    __tablename__ = "touch"
    seq: int | None = Field(default=None, primary_key=True)
    building: str | None = Field(default=None, max_length=36)
    chat_id: int | None = _big(nullable=True)
