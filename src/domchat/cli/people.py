"""Commands around people: chats' binding codes, organisations' staff, grants, residents' invitations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from domchat import app as app_mod
from domchat.cli.invocation import Invocation, command
from domchat.cli.present import table
from domchat.errors import ConfigError

chats = typer.Typer(no_args_is_help=True, help="House chats.")
org = typer.Typer(no_args_is_help=True, help="Managing organisations and their staff.")
staff = typer.Typer(no_args_is_help=True, help="Enrolled staff of managing organisations.")
grants = typer.Typer(no_args_is_help=True, help="Guest-access grants of residents.")
invitations = typer.Typer(no_args_is_help=True, help="Residents' personal invitations.")
codes = typer.Typer(no_args_is_help=True, help="One-time codes that bind a chat to a building.")
chats.add_typer(codes, name="codes")
org.add_typer(staff, name="staff")

OgrnOpt = Annotated[str, typer.Option("--ogrn")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")]


CsvOpt = Annotated[bool, typer.Option("--csv", help="CSV with a header row.")]


@command(chats, "config", "json", name="pending")
def chats_pending(run: Invocation, as_csv: CsvOpt = False) -> None:
    """Buildings without a chat, and until when their binding code is valid; changes nothing."""
    rows = app_mod.pending_chats(run.app())
    if as_csv:
        table(rows, ["building", "address", "code_expires_at"], "csv")
        return
    run.out.show(rows, lambda docs: (f"{r['building']}  {r['address']}  {_code_state(r)}" for r in docs))
    run.out.summary(f"{len(rows)} buildings without a chat")


def _code_state(r: dict[str, str]) -> str:
    return f"code valid until {r['code_expires_at']}" if r["code_expires_at"] else "no valid code (see 'chats codes issue')"


@command(codes, "config", "operator", name="issue")
def chats_codes_issue(
    run: Invocation,
    building: Annotated[str | None, typer.Option("--building", help="One building without a chat (FIAS GUID).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every building without a chat.")] = False,
    as_csv: CsvOpt = False,
) -> None:
    """New one-time binding codes (earlier codes of those buildings stop working); audited."""
    if (building is not None) == all_:
        raise ConfigError("chats codes issue", "give exactly one of --building, --all")
    rows = app_mod.issue_binding_codes(run.app(), run.operator_name(), building)
    if as_csv:
        table(rows, ["building", "address", "code", "expires_at"], "csv")
        return
    for r in rows:
        run.out.line(f"{r['code']}  {r['building']}  {r['address']}")
    run.out.summary(f"{len(rows)} codes issued")


@command(org, "config", "operator", name="invite")
def org_invite(run: Invocation, ogrn: OgrnOpt) -> None:
    """Issue a personal enrolment link for one staff member of an organisation."""
    run.out.line(app_mod.org_invite(run.app(), ogrn, run.operator_name()))


@command(staff, "config", "json", name="list")
def staff_list(run: Invocation, ogrn: Annotated[str | None, typer.Option("--ogrn")] = None) -> None:
    """Enrolled staff (and revoked ones), by organisation."""
    run.out.show(app_mod.staff_list(run.app(), ogrn), lambda rows: map(_staff_line, rows))


def _staff_line(r: dict[str, Any]) -> str:
    revoked = f"  REVOKED {r['revoked_at']}" if r["revoked_at"] else ""
    return f"{r['org']}  {r['user_id']:>12}  enrolled {r['enrolled_at']}{revoked}"


@command(staff, "config", "operator", name="revoke")
def staff_revoke(run: Invocation, ogrn: OgrnOpt, user: Annotated[int, typer.Option("--user")]) -> None:
    """A staff member leaves: the next cycle takes their admin rights and membership away."""
    app_mod.staff_revoke(run.app(), ogrn, user, run.operator_name())
    run.out.line(f"revoked {user} as staff of {ogrn}")


@command(grants, "config", "operator", name="import")
def grants_import(run: Invocation, file: Annotated[Path, typer.Argument(help="CSV or JSON (see docs/membership.md).")]) -> None:
    """Store guest-access grants received outside GIS ZhKH; the whole file is checked first."""
    r = app_mod.import_grants(run.app(), file, run.operator_name())
    unknown = len(r.unknown_building or [])
    run.out.line(f"grants: {r.added} added, {r.changed} changed, {r.unchanged} unchanged, {unknown} for unknown buildings")


@command(invitations, "config", "operator", name="export")
def invitations_export(
    run: Invocation,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    everyone: Annotated[
        bool, typer.Option("--all", help="Re-issue links for every grant not yet joined (old links stop working).")
    ] = False,
    out: OutOpt = None,
) -> None:
    """Personal invitation links for residents, for delivery through the authority's channels."""
    # A link counts as delivered only once written out: the use case writes, then marks.
    a = run.app()
    with run.out.progress() as progress:
        rows = app_mod.export_invitations(
            a, run.operator_name(), everyone=everyone, fmt=fmt, out=out, stream=None if out else sys.stdout, progress=progress
        )
    run.out.summary(f"{len(rows)} invitations")


@command(invitations, "config", "operator", name="issue")
def invitations_issue(
    run: Invocation,
    building: Annotated[str, typer.Option("--building", help="FIAS GUID.")],
    premises: Annotated[str, typer.Option("--premises", help="Flat or premises number.")],
    days: Annotated[int, typer.Option("--days", help="Days the right lasts (building-local).")] = 30,
) -> None:
    """A personal invitation for a tenant without guest access (asked for by the managing organisation)."""
    if not 1 <= days <= 3650:
        raise ConfigError("--days", f"must be between 1 and 3650, got {days}")
    inv = app_mod.issue_invitation(run.app(), building, premises, days, run.operator_name())
    run.out.line(
        f"{inv['link']}  (grant {inv['grant_id']}, {inv['address']}, premises {inv['premises']}, link valid until {inv['expires_at']})"
    )
