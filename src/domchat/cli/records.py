"""Commands around what domchat keeps: its configuration, its database schema, its audit trail."""

from __future__ import annotations

import contextlib
import inspect
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

# The filters `audit list` and `audit export` share: option name → (annotation, AuditFilter field).
_FILTERS: dict[str, Any] = {
    "building": BuildingOpt,
    "org": Annotated[str | None, typer.Option("--org", help="OGRN.")],
    "chat": Annotated[int | None, typer.Option("--chat", help="MAX chat id.")],
    "user": Annotated[int | None, typer.Option("--user", help="MAX user id.")],
    "actor": Annotated[str | None, typer.Option("--actor", help="daemon, or an operator's name.")],
    "run_id": Annotated[str | None, typer.Option("--run", help="Run id of one cycle.")],
    "action": Annotated[str | None, typer.Option("--action", help="Action name, e.g. grant_admin.")],
    "since": Annotated[str | None, typer.Option("--since", help="ISO 8601 instant (inclusive).")],
    "until": Annotated[str | None, typer.Option("--until", help="ISO 8601 instant (exclusive).")],
}
_FILTER_PARAMS = [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=a) for k, a in _FILTERS.items()]
LangOpt = Annotated[
    str | None,
    typer.Option("--lang", help="Read reasons, actions and outcomes in ru or en (default: audit.lang), or none: as stored."),
]


def _filter(given: dict[str, Any]) -> app_mod.AuditFilter:
    building, since, until = given["building"], given["since"], given["until"]
    return app_mod.AuditFilter(
        building=building.lower() if building else None,
        org=given["org"],
        chat_id=given["chat"],
        user_id=given["user"],
        actor=given["actor"],
        run_id=given["run_id"],
        action=given["action"],
        since=instant("--since", since) if since else None,
        until=instant("--until", until) if until else None,
    )


@command(audit, "config", "json", name="list", extra=_FILTER_PARAMS)
def audit_list(run: Invocation, lang: LangOpt = None, **filters: Any) -> None:
    """Audit events matching every filter given, oldest first."""
    run.out.each(app_mod.audit_events(run.app(), _filter(filters), lang), _event_line)


def _event_line(e: dict[str, Any]) -> str:
    target = " ".join(
        f"{k}={e[f]}" for k, f in (("building", "building"), ("org", "org"), ("chat", "chat_id"), ("user", "user_id")) if e[f] is not None
    )
    action, outcome, reason = (e.get(f"text_{f}", e[f]) for f in ("action", "outcome", "reason"))
    return f"{e['seq']:>7} {e['at']} {e['actor']:<10} {action:<20} {outcome:<9} {target}  {reason}"


@command(audit, "config", name="export", extra=_FILTER_PARAMS)
def audit_export(
    run: Invocation,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    lang: LangOpt = None,
    **filters: Any,
) -> None:
    """Export the trail (whole, or filtered as for 'audit list') as JSON lines or CSV, with every
    hash; the text_* readings in --lang are added, not hashed."""
    if fmt not in ("jsonl", "csv"):
        raise ConfigError("--format", "must be jsonl or csv")
    flt = _filter(filters)
    a = run.app()
    with out.open("w", encoding="utf-8", newline="") if out else contextlib.nullcontext(sys.stdout) as f, run.out.progress() as progress:
        n = app_mod.export_audit(a, flt, fmt, f, lang, progress)
    run.out.summary(f"{n} events exported")


@command(audit, "config", name="verify")
def audit_verify(run: Invocation) -> None:
    """Verify the hash chain; names the first broken link."""
    a = run.app()
    with run.out.progress() as progress:
        verdict = app_mod.audit_verify(a, progress)
    if not verdict.ok:
        raise AuditBroken(f"audit chain broken at event {verdict.broken_at}: {verdict.why} ({verdict.events} events verified before it)")
    run.out.line(f"audit chain ok: {verdict.events} events")
