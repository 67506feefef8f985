"""Commands around what domchat keeps: its configuration, its database schema, its audit trail."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from domchat import app as app_mod
from domchat.cli.invocation import Invocation, command, instant, option
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


# The filters of `audit list` and `audit export`, declared once: every one is ANDed with the others.
FILTERS = [
    option("building", Annotated[str | None, typer.Option("--building", help="FIAS GUID.")]),
    option("org", Annotated[str | None, typer.Option("--org", help="OGRN.")]),
    option("chat_id", Annotated[int | None, typer.Option("--chat", help="MAX chat id.")]),
    option("user_id", Annotated[int | None, typer.Option("--user", help="MAX user id.")]),
    option("actor", Annotated[str | None, typer.Option("--actor", help="Who acted (an operator, daemon).")]),
    option("run_id", Annotated[str | None, typer.Option("--run", help="A cycle's run id.")]),
    option("action", Annotated[str | None, typer.Option("--action", help="What was done, e.g. grant_admin.")]),
    option("since", Annotated[str | None, typer.Option("--since", help="ISO 8601 instant (inclusive).")]),
    option("until", Annotated[str | None, typer.Option("--until", help="ISO 8601 instant (exclusive).")]),
]
LangOpt = Annotated[
    str | None,
    typer.Option("--lang", help="Read reasons, actions and outcomes in ru or en (default: audit.lang), or none: as stored."),
]


def _filter(building: str | None, since: str | None, until: str | None, **given: Any) -> app_mod.AuditFilter:
    return app_mod.AuditFilter(
        building=building.lower() if building else None,
        since=instant("--since", since) if since else None,
        until=instant("--until", until) if until else None,
        **given,
    )


@command(audit, "config", "json", name="list", extra=FILTERS)
def audit_list(run: Invocation, lang: LangOpt = None, **filters: Any) -> None:
    """Audit events matching every filter given, oldest first."""
    run.out.each(app_mod.audit_events(run.app(), _filter(**filters), lang), _event_line)


def _event_line(e: dict[str, Any]) -> str:
    target = " ".join(
        f"{k}={e[f]}" for k, f in (("building", "building"), ("org", "org"), ("chat", "chat_id"), ("user", "user_id")) if e[f] is not None
    )
    action, outcome, reason = (e.get(f"text_{f}", e[f]) for f in ("action", "outcome", "reason"))
    return f"{e['seq']:>7} {e['at']} {e['actor']:<10} {action:<20} {outcome:<9} {target}  {reason}"


@command(audit, "config", name="export", extra=FILTERS)
def audit_export(
    run: Invocation,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    lang: LangOpt = None,
    **filters: Any,
) -> None:
    """Export the trail (whole, or the events matching every filter given) as JSON lines or CSV,
    with every hash; the text_* readings in --lang are added beside them, not hashed."""
    if fmt not in ("jsonl", "csv"):
        raise ConfigError("--format", "must be jsonl or csv")
    flt = _filter(**filters)
    a = run.app()
    with run.out.progress() as progress:
        n = (
            app_mod.export_audit_to(a, flt, fmt, out, lang, progress)
            if out
            else app_mod.export_audit(a, flt, fmt, sys.stdout, lang, progress)
        )
    run.out.summary(f"{n} events exported")


@command(audit, "config", name="verify")
def audit_verify(
    run: Invocation,
    checkpoints: Annotated[
        Path | None, typer.Option("--checkpoints", help="Signed checkpoints to hold the chain to: a checkpoint file or domchat's log.")
    ] = None,
    public_key: Annotated[Path | None, typer.Option("--public-key", help="The public key that signed the checkpoints (PEM).")] = None,
) -> None:
    """Verify the hash chain (and, given checkpoints, that it still holds each); names the first broken link."""
    a = run.app()
    with run.out.progress() as progress:
        report = app_mod.audit_verify(a, checkpoints, public_key, progress)
    verdict = report.verdict
    run.out.line(f"audit head: event {report.head_seq}, hash {report.head_hash}")
    if not verdict.ok:
        raise AuditBroken(f"audit chain broken at event {verdict.broken_at}: {verdict.why} ({verdict.events} events verified before it)")
    held = f"; {report.checkpoints} signed checkpoints hold, the newest vouches for event {report.vouched}" if report.checkpoints else ""
    run.out.line(f"audit chain ok: {verdict.events} events{held}")


@command(audit, name="keygen")
def audit_keygen(
    run: Invocation,
    out: Annotated[Path, typer.Option("--out", help="Private key file to create (0600); the public key goes to FILE.pub.")],
) -> None:
    """Make the Ed25519 key pair that signs audit checkpoints (set audit.checkpoint_key_file to the private key)."""
    public, key_id = app_mod.audit_keygen(out)
    run.out.line(f"checkpoint key {key_id}: private key {out}, public key {public} (give the public key to auditors)")
