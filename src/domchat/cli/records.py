"""Commands around what domchat keeps: its configuration, its database schema, its audit trail."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from domchat import app as app_mod
from domchat.cli.invocation import Invocation, command, instant
from domchat.errors import AuditBroken, ConfigError

config = typer.Typer(no_args_is_help=True, help="Configuration.")
db = typer.Typer(no_args_is_help=True, help="Database schema.")
audit = typer.Typer(no_args_is_help=True, help="The audit trail.")


@command(config, "config", name="check")
def config_check(run: Invocation) -> None:
    """Check the configuration and everything it names; exits non-zero naming the bad key."""
    s = app_mod.check_config(run.config)
    run.out.line(f"config ok: {s.source or 'built-in defaults'}")


@command(db, "config", name="upgrade")
def db_upgrade(run: Invocation) -> None:
    """Create or migrate the database schema."""
    run.out.line(f"database at revision {app_mod.upgrade_db(run.app())}")


BuildingOpt = Annotated[str | None, typer.Option("--building", help="FIAS GUID.")]
OrgOpt = Annotated[str | None, typer.Option("--org", help="OGRN.")]
SinceOpt = Annotated[str | None, typer.Option("--since", help="ISO 8601 instant (inclusive).")]
UntilOpt = Annotated[str | None, typer.Option("--until", help="ISO 8601 instant (exclusive).")]


def _filter(
    building: str | None,
    org: str | None,
    since: str | None,
    until: str | None,
    chat: int | None = None,
    user: int | None = None,
    actor: str | None = None,
    run_id: str | None = None,
) -> app_mod.AuditFilter:
    return app_mod.AuditFilter(
        building=building.lower() if building else None,
        org=org,
        chat_id=chat,
        user_id=user,
        actor=actor,
        run_id=run_id,
        since=instant("--since", since) if since else None,
        until=instant("--until", until) if until else None,
    )


@command(audit, "config", "json", name="list")
def audit_list(
    run: Invocation,
    building: BuildingOpt = None,
    org: OrgOpt = None,
    chat: Annotated[int | None, typer.Option("--chat")] = None,
    user: Annotated[int | None, typer.Option("--user")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    run_id: Annotated[str | None, typer.Option("--run")] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Audit events matching every filter given, oldest first."""
    flt = _filter(building, org, since, until, chat, user, actor, run_id)
    run.out.each(app_mod.audit_events(run.app(), flt), _event_line)


def _event_line(e: dict[str, Any]) -> str:
    target = " ".join(
        f"{k}={e[f]}" for k, f in (("building", "building"), ("org", "org"), ("chat", "chat_id"), ("user", "user_id")) if e[f] is not None
    )
    return f"{e['seq']:>7} {e['at']} {e['actor']:<10} {e['action']:<20} {e['outcome']:<9} {target}  {e['reason']}"


@command(audit, "config", name="export")
def audit_export(
    run: Invocation,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    building: BuildingOpt = None,
    org: OrgOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
) -> None:
    """Export the trail (whole, or filtered) as JSON lines or CSV, with every hash."""
    if fmt not in ("jsonl", "csv"):
        raise ConfigError("--format", "must be jsonl or csv")
    flt = _filter(building, org, since, until)
    a = run.app()
    with out.open("w", encoding="utf-8", newline="") if out else contextlib.nullcontext(sys.stdout) as f:
        n = app_mod.export_audit(a, flt, fmt, f)
    run.out.summary(f"{n} events exported")


@command(audit, "config", name="verify")
def audit_verify(run: Invocation) -> None:
    """Verify the hash chain; names the first broken link."""
    verdict = app_mod.audit_verify(run.app())
    if not verdict.ok:
        raise AuditBroken(f"audit chain broken at event {verdict.broken_at}: {verdict.why} ({verdict.events} events verified before it)")
    run.out.line(f"audit chain ok: {verdict.events} events")
