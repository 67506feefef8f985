"""The `domchat` command: parse, call one use case in `app`, present. Nothing else lives here.

Command names and options are fixed: operators' scripts call them. Every error ends the
command with one line naming the cause and a non-zero exit code (2 configuration, 3 a
service unreachable, 4 a safety fuse or lock, 5 audit chain broken, 1 anything else).
"""

from __future__ import annotations

import csv
import json
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from functools import wraps
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TextIO, TypeVar

import typer
from sqlalchemy.exc import SQLAlchemyError

from domchat import app as app_mod
from domchat import logs
from domchat.domain.plan import Plan
from domchat.errors import (
    AuditBroken,
    ConfigError,
    DeliveryFailed,
    DomchatError,
    GisUnavailable,
    LockBusy,
    MaxUnavailable,
    SafetyFuse,
    StorageError,
    WorldError,
)
from domchat.storage import audit
from domchat.storage.files import atomic_private
from domchat.sync.engine import CycleReport

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Keeps a region's house chats in MAX in step with GIS ZhKH.")
world_cli = typer.Typer(no_args_is_help=True, help="Emulator worlds.")
config_cli = typer.Typer(no_args_is_help=True, help="Configuration.")
db_cli = typer.Typer(no_args_is_help=True, help="Database schema.")
chats_cli = typer.Typer(no_args_is_help=True, help="House chats.")
org_cli = typer.Typer(no_args_is_help=True, help="Managing organisations and their staff.")
audit_cli = typer.Typer(no_args_is_help=True, help="The audit trail.")
grants_cli = typer.Typer(no_args_is_help=True, help="Guest-access grants of residents.")
invitations_cli = typer.Typer(no_args_is_help=True, help="Residents' personal invitations.")
staff_cli = typer.Typer(no_args_is_help=True, help="Enrolled staff of managing organisations.")
for _name, _sub in (
    ("world", world_cli),
    ("config", config_cli),
    ("db", db_cli),
    ("chats", chats_cli),
    ("org", org_cli),
    ("audit", audit_cli),
    ("grants", grants_cli),
    ("invitations", invitations_cli),
):
    cli.add_typer(_sub, name=_name)
org_cli.add_typer(staff_cli, name="staff")

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Config file (else $DOMCHAT_CONFIG).", show_default=False)]
NowOpt = Annotated[str | None, typer.Option("--now", help="Plan as if it were this instant (ISO 8601; UTC unless it has an offset).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
OperatorOpt = Annotated[
    str | None, typer.Option("--operator", help="Who runs this (default: the login name); recorded in the audit trail.")
]

F = TypeVar("F", bound=Callable[..., Any])

_EXIT = (
    (ConfigError, 2),
    (WorldError, 2),
    (GisUnavailable, 3),
    (MaxUnavailable, 3),
    (StorageError, 3),
    (SafetyFuse, 4),
    (LockBusy, 4),
    (DeliveryFailed, 3),
    (AuditBroken, 5),
)


def _reports_errors(fn: F) -> F:
    """One line on stderr and a meaningful exit code for every error domchat raises on purpose."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DomchatError as e:
            code = next((c for cls, c in _EXIT if isinstance(e, cls)), 1)
            typer.echo(f"domchat: error: {e}", err=True)
            raise typer.Exit(code) from None
        except SQLAlchemyError as e:
            # The database went away mid-command: everything already committed stays, the rest is
            # resumed by the next cycle (intent is stored before effect).
            typer.echo(f"domchat: error: database: {type(e).__name__}: {str(e).splitlines()[0][:300]}", err=True)
            raise typer.Exit(3) from None

    return wrapper  # type: ignore[return-value]


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError("--now", f"not an ISO 8601 instant: {value!r}") from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _open(config: Path | None, now: str | None = None, stream: TextIO | None = None) -> app_mod.App:
    """Settings, clock and logging; logs go to stderr, keeping stdout for the command's output."""
    a = app_mod.open_app(config, _instant(now))
    logs.configure(a.settings.logging.level, json=a.settings.logging.json, stream=stream)
    return a


def _print_json(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


# Sync


@cli.command()
@_reports_errors
def sync(
    config: ConfigOpt = None,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit (for cron).")] = False,
    now: NowOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Go past the removal safety fuse and apply empty GIS answers.")] = False,
    json_out: JsonOpt = False,
    operator: Annotated[str | None, typer.Option("--operator", help="Record this cycle as an operator's (default: the daemon's).")] = None,
) -> None:
    """Run one sync cycle: updates, GIS pull, plan, execute, audit."""
    if not once:
        raise ConfigError("sync", "use 'domchat sync --once' (one cycle) or 'domchat daemon' (keeps running)")
    actor, trigger = (operator, "cli:sync") if operator else ("daemon", "schedule")
    report = app_mod.sync_once(_open(config, now), force=force, actor=actor, trigger=trigger)
    _show_report(report, json_out)
    if report.pull is not None and report.pull.failure is not None:
        # The rest of the cycle ran on the stored snapshot; cron still has to hear about it.
        raise report.pull.failure


def _show_report(report: CycleReport, json_out: bool) -> None:
    if json_out:
        _print_json(report.as_dict())
        return
    pull = report.pull
    typer.echo(
        f"cycle {report.run_id}: {report.updates} updates, "
        + (f"GIS {'ok' if pull.ok else 'FAILED: ' + pull.error}, " if pull else "")
        + f"{report.planned} actions planned, {report.done} done, {report.failed} failed, {report.reported} reported"
        + (f", {len(report.conflicts)} conflicts" if report.conflicts else "")
        + (f"; next boundary {report.next_change.isoformat()}" if report.next_change else "")
    )


@cli.command()
@_reports_errors
def daemon(config: ConfigOpt = None) -> None:
    """Keep running: pull on schedule, answer updates, act at building-local midnights."""
    a = _open(config, stream=sys.stdout)  # the daemon has no other output: its log goes to the journal
    app_mod.daemon(a, _stop_on_signals())


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the work in hand finishes, nothing new starts."""
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


@cli.command()
@_reports_errors
def resync(
    config: ConfigOpt = None,
    building: Annotated[str | None, typer.Option("--building", help="One building (FIAS GUID).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Every building an organisation (OGRN) manages or managed.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every building.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Go past the removal safety fuse.")] = False,
    operator: OperatorOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Re-read chats from MAX (and houses from GIS ZhKH) and put them right now."""
    if (building is not None) + (org is not None) + all_ != 1:
        raise ConfigError("resync", "give exactly one of --building, --org, --all")
    result = app_mod.resync(
        _open(config), operator=app_mod.operator_name(operator), building=building, org=org, dry_run=dry_run, force=force
    )
    if isinstance(result, Plan):
        _show_actions(result, json_out)
        return
    _show_report(result, json_out)


@cli.command()
@_reports_errors
def conflicts(config: ConfigOpt = None, now: NowOpt = None, json_out: JsonOpt = False) -> None:
    """Buildings two or more organisations claim on the same local day (admin rights frozen there)."""
    found = app_mod.conflicts(_open(config, now))
    if json_out:
        _print_json(found)
        return
    for c in found:
        claims = "; ".join(f"{p['org']} from {p['start']} ({p['basis']}: {', '.join(p['sources'])})" for p in c["claims"])
        typer.echo(f"{c['building']}  {c['address']}  on {c['day']}: {claims}")
    typer.echo(f"{len(found)} conflicts", err=True)


@cli.command()
@_reports_errors
def demo(
    workdir: Annotated[Path | None, typer.Option("--workdir", help="Keep the run here (default: a new temporary folder).")] = None,
) -> None:
    """Run the whole job against the built-in emulators and tell the story."""
    from domchat.demo import run_demo

    run_demo(workdir)


@cli.command("plan")
@_reports_errors
def plan_cmd(
    config: ConfigOpt = None,
    now: NowOpt = None,
    at: Annotated[str | None, typer.Option("--at", help="A date (building-local 00:05 that day) or an instant.")] = None,
    building: Annotated[str | None, typer.Option("--building", help="Only this building (FIAS GUID).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show what a cycle would do (now, or at a date), and why; changes nothing."""
    a = _open(config, now)
    when = a.clock.now()
    if at is not None:
        when = _at(at)
    view = app_mod.plan_at(a, when, building)
    actions = _action_docs(view.plan)
    if json_out:
        _print_json(
            {
                "at": view.at.isoformat(),
                "actions": actions,
                "managers": view.managers,
                "next_change": view.plan.next_change,
                "conflicts": [c.building for c in view.plan.conflicts],
            }
        )
        return
    typer.echo(f"plan at {view.at.isoformat()}: {len(actions)} actions")
    _show_actions(view.plan, False)
    if building is not None:
        for b, m in view.managers.items():
            typer.echo(f"  manager of {b}: {m}")
    if view.plan.next_change:
        typer.echo(f"next change at {view.plan.next_change.isoformat()}")


def _action_docs(p: Plan) -> list[dict[str, Any]]:
    return [{"kind": x.kind, "chat_id": x.chat_id, "building": x.building, **x.payload()} for x in p.actions]


def _show_actions(p: Plan, json_out: bool) -> None:
    actions = _action_docs(p)
    if json_out:
        _print_json(actions)
        return
    for x in actions:
        who = f" user {x['user_id']}" if "user_id" in x else ""
        typer.echo(f"  {x['kind']:<14} chat {x['chat_id']}{who}  — {x.get('reason', '')}")
    typer.echo(f"{len(actions)} actions would run", err=True)


def _at(value: str) -> datetime:
    """A bare date means 06:00 UTC that day: every Russian zone (UTC+2 to UTC+12) is then in it."""
    try:
        return datetime.combine(date.fromisoformat(value), time(6, 0), tzinfo=UTC)
    except ValueError:
        t = _instant(value)
        assert t is not None
        return t


@cli.command()
@_reports_errors
def status(config: ConfigOpt = None, now: NowOpt = None, json_out: JsonOpt = False) -> None:
    """Last cycle, pending actions, conflicts, next boundary."""
    doc = app_mod.status(_open(config, now))
    if json_out:
        _print_json(doc)
        return
    last = doc["last_successful_cycle"]
    typer.echo(f"last successful cycle: {last['finished_at'] if last else 'never'}")
    typer.echo(f"buildings: {doc['buildings']} ({doc['bound_chats']} with a chat, {doc['unbound_buildings']} without)")
    typer.echo(f"pending actions: {doc['pending_actions']}; conflicts: {len(doc['conflicts'])}; audit events: {doc['audit_events']}")
    typer.echo(f"next boundary: {doc['next_boundary'] or 'none scheduled'}")


# Emulators and worlds


@cli.command()
@_reports_errors
def emulate(
    world: Annotated[Path, typer.Option("--world", help="World file (see 'domchat world schema').")],
    gis_port: Annotated[int, typer.Option("--gis-port", help="GIS ZhKH emulator port (0: any free port).")] = 0,
    max_port: Annotated[int, typer.Option("--max-port", help="MAX emulator port (0: any free port).")] = 0,
    max_token: Annotated[str, typer.Option("--max-token", help="The bot token the MAX emulator accepts.")] = "",
    max_token_file: Annotated[Path | None, typer.Option("--max-token-file", help="Read the token from a file instead.")] = None,
    config: ConfigOpt = None,
    gis_processing_delay: Annotated[float | None, typer.Option(help="Seconds until a GIS message is processed.")] = None,
    gis_exp001000_share: Annotated[float | None, typer.Option(help="Share of GIS messages ending in EXP001000.")] = None,
    gis_5xx_share: Annotated[float | None, typer.Option("--gis-5xx-share", help="Share of GIS POSTs answered 503.")] = None,
    gis_slow_get_state: Annotated[float | None, typer.Option(help="Seconds a slow getState waits.")] = None,
    gis_slow_get_state_share: Annotated[float | None, typer.Option(help="Share of getState calls that are slow.")] = None,
    gis_truncated_share: Annotated[float | None, typer.Option(help="Share of GIS answers cut short.")] = None,
    gis_schema_violation_share: Annotated[float | None, typer.Option(help="Share of GIS answers violating the XSD.")] = None,
    gis_stuck_share: Annotated[float | None, typer.Option(help="Share of GIS messages never processed.")] = None,
    gis_fault_seed: Annotated[int | None, typer.Option(help="Seed of the GIS fault draws.")] = None,
    max_rate_limit: Annotated[float, typer.Option(help="Requests per second the MAX emulator allows per token.")] = 30.0,
) -> None:
    """Run both emulators in the foreground; prints one JSON line with their base URLs once ready.

    Fault options override the world file's `faults` section (see docs/emulators.md)."""
    from domchat.emulators.gis import GisFaults
    from domchat.emulators.run import run_emulators
    from domchat.emulators.world import load as load_world

    if max_token_file is not None:
        max_token = max_token_file.read_text(encoding="utf-8").strip()
    faults = GisFaults.from_world(
        load_world(world),
        processing_delay=gis_processing_delay,
        exp001000_share=gis_exp001000_share,
        http_5xx_share=gis_5xx_share,
        slow_get_state=gis_slow_get_state,
        slow_get_state_share=gis_slow_get_state_share,
        truncated_share=gis_truncated_share,
        schema_violation_share=gis_schema_violation_share,
        stuck_share=gis_stuck_share,
        seed=gis_fault_seed,
    )
    run_emulators(
        world,
        gis_port=gis_port,
        max_port=max_port,
        max_token=max_token,
        schemas_dir=app_mod.schemas_dir(config),
        gis_faults=faults,
        max_rate_limit=max_rate_limit,
    )


@world_cli.command("generate")
@_reports_errors
def world_generate(
    buildings: Annotated[int, typer.Option("--buildings", min=1)],
    seed: Annotated[int, typer.Option("--seed")],
    out: Annotated[Path, typer.Option("--out")],
    today: Annotated[str | None, typer.Option("--today", help="The day taken as today (default: the current UTC date).")] = None,
    charter_share: Annotated[float, typer.Option(help="Share of buildings managed by their own HOA under a charter.")] = 0.0,
) -> None:
    """Generate a world deterministically from a seed (streams: any size fits in memory)."""
    from domchat.emulators.world import GeneratorOptions, WorldGenerator

    day = date.fromisoformat(today) if today else datetime.now(UTC).date()
    with out.open("w", encoding="utf-8") as f:
        WorldGenerator(GeneratorOptions(buildings=buildings, seed=seed, today=day, charter_share=charter_share)).write(f)
    typer.echo(f"wrote {out}")


@world_cli.command("schema")
def world_schema() -> None:
    """Print the JSON Schema of world files."""
    from domchat.emulators.world import schema

    _print_json(schema())


# Config and database


@config_cli.command("check")
@_reports_errors
def config_check(config: ConfigOpt = None) -> None:
    """Check the configuration and everything it names; exits non-zero naming the bad key."""
    s = app_mod.check_config(config)
    typer.echo(f"config ok: {s.source or 'built-in defaults'}")


@db_cli.command("upgrade")
@_reports_errors
def db_upgrade(config: ConfigOpt = None) -> None:
    """Create or migrate the database schema."""
    typer.echo(f"database at revision {app_mod.upgrade_db(_open(config))}")


# Chats and organisations


@chats_cli.command("pending")
@_reports_errors
def chats_pending(config: ConfigOpt = None, as_csv: Annotated[bool, typer.Option("--csv")] = False, operator: OperatorOpt = None) -> None:
    """Buildings without a chat, each with a new one-time binding code."""
    rows = app_mod.pending_chats(_open(config), app_mod.operator_name(operator))
    if as_csv:
        w = csv.DictWriter(sys.stdout, fieldnames=["building", "address", "code", "expires_at"])
        w.writeheader()
        w.writerows(rows)
        return
    for r in rows:
        typer.echo(f"{r['code']}  {r['building']}  {r['address']}")
    typer.echo(f"{len(rows)} buildings without a chat", err=True)


@org_cli.command("invite")
@_reports_errors
def org_invite(ogrn: Annotated[str, typer.Option("--ogrn")], config: ConfigOpt = None, operator: OperatorOpt = None) -> None:
    """Issue a personal enrolment link for one staff member of an organisation."""
    typer.echo(app_mod.org_invite(_open(config), ogrn, app_mod.operator_name(operator)))


@staff_cli.command("list")
@_reports_errors
def staff_list(config: ConfigOpt = None, ogrn: Annotated[str | None, typer.Option("--ogrn")] = None, json_out: JsonOpt = False) -> None:
    """Enrolled staff (and revoked ones), by organisation."""
    rows = app_mod.staff_list(_open(config), ogrn)
    if json_out:
        _print_json(rows)
        return
    for r in rows:
        typer.echo(
            f"{r['org']}  {r['user_id']:>12}  enrolled {r['enrolled_at']}" + (f"  REVOKED {r['revoked_at']}" if r["revoked_at"] else "")
        )


@staff_cli.command("revoke")
@_reports_errors
def staff_revoke(
    ogrn: Annotated[str, typer.Option("--ogrn")],
    user: Annotated[int, typer.Option("--user")],
    config: ConfigOpt = None,
    operator: OperatorOpt = None,
) -> None:
    """A staff member leaves: the next cycle takes their admin rights and membership away."""
    app_mod.staff_revoke(_open(config), ogrn, user, app_mod.operator_name(operator))
    typer.echo(f"revoked {user} as staff of {ogrn}")


@grants_cli.command("import")
@_reports_errors
def grants_import(
    file: Annotated[Path, typer.Argument(help="CSV or JSON (see docs/membership.md).")],
    config: ConfigOpt = None,
    operator: OperatorOpt = None,
) -> None:
    """Store guest-access grants received outside GIS ZhKH; the whole file is checked first."""
    r = app_mod.import_grants(_open(config), file, app_mod.operator_name(operator))
    typer.echo(
        f"grants: {r.added} added, {r.changed} changed, {r.unchanged} unchanged, {len(r.unknown_building or [])} for unknown buildings"
    )


@invitations_cli.command("export")
@_reports_errors
def invitations_export(
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    everyone: Annotated[
        bool, typer.Option("--all", help="Re-issue links for every grant not yet joined (old links stop working).")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    operator: OperatorOpt = None,
) -> None:
    """Personal invitation links for residents, for delivery through the authority's channels."""
    a = _open(config)
    rows = app_mod.export_invitations(
        a, app_mod.operator_name(operator), everyone=everyone, fmt=fmt, out=out, stream=None if out else sys.stdout
    )
    typer.echo(f"{len(rows)} invitations", err=True)


@invitations_cli.command("issue")
@_reports_errors
def invitations_issue(
    building: Annotated[str, typer.Option("--building", help="FIAS GUID.")],
    premises: Annotated[str, typer.Option("--premises", help="Flat or premises number.")],
    days: Annotated[int, typer.Option("--days", help="Days the right lasts (building-local).")] = 30,
    config: ConfigOpt = None,
    operator: OperatorOpt = None,
) -> None:
    """A personal invitation for a tenant without guest access (asked for by the managing organisation)."""
    inv = app_mod.issue_invitation(_open(config), building, premises, days, app_mod.operator_name(operator))
    typer.echo(
        f"{inv['link']}  (grant {inv['grant_id']}, {inv['address']}, premises {inv['premises']}, link valid until {inv['expires_at']})"
    )


@cli.command()
@_reports_errors
def updates(
    config: ConfigOpt = None,
    mode: Annotated[str, typer.Option("--mode", help="poll (long polling) or webhook (receiver + subscription).")] = "poll",
) -> None:
    """Receive MAX updates continuously and store them (each cycle handles what is stored)."""
    if mode not in ("poll", "webhook"):
        raise ConfigError("--mode", "must be poll or webhook")
    a = _open(config)
    stop = _stop_on_signals()
    app_mod.receive_updates(a, mode, stop, ready=lambda where: typer.echo(f"receiving updates: {where}", err=True))


# Audit

BuildingOpt = Annotated[str | None, typer.Option("--building", help="FIAS GUID.")]


def _filter(
    building: str | None,
    org: str | None,
    chat: int | None,
    user: int | None,
    actor: str | None,
    run: str | None,
    since: str | None,
    until: str | None,
) -> audit.AuditFilter:
    return audit.AuditFilter(
        building=building.lower() if building else None,
        org=org,
        chat_id=chat,
        user_id=user,
        actor=actor,
        run_id=run,
        since=_instant(since),
        until=_instant(until),
    )


@audit_cli.command("list")
@_reports_errors
def audit_list(
    config: ConfigOpt = None,
    building: BuildingOpt = None,
    org: Annotated[str | None, typer.Option("--org", help="OGRN.")] = None,
    chat: Annotated[int | None, typer.Option("--chat")] = None,
    user: Annotated[int | None, typer.Option("--user")] = None,
    actor: Annotated[str | None, typer.Option("--actor")] = None,
    run: Annotated[str | None, typer.Option("--run")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO 8601 instant (inclusive).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO 8601 instant (exclusive).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Audit events matching every filter given, oldest first."""
    flt = _filter(building, org, chat, user, actor, run, since, until)
    for row in app_mod.audit_rows(_open(config), flt):
        if json_out:
            typer.echo(json.dumps(audit.as_dict(row), ensure_ascii=False, default=str))
        else:
            target = " ".join(
                f"{k}={v}"
                for k, v in (("building", row.building), ("org", row.org), ("chat", row.chat_id), ("user", row.user_id))
                if v is not None
            )
            typer.echo(f"{row.seq:>7} {row.at} {row.actor:<10} {row.action:<20} {row.outcome:<9} {target}  {row.reason}")


@audit_cli.command("export")
@_reports_errors
def audit_export(
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout).")] = None,
    building: BuildingOpt = None,
    org: Annotated[str | None, typer.Option("--org")] = None,
    since: Annotated[str | None, typer.Option("--since")] = None,
    until: Annotated[str | None, typer.Option("--until")] = None,
) -> None:
    """Export the trail (whole, or filtered) as JSON lines or CSV, with every hash."""
    if fmt not in ("jsonl", "csv"):
        raise ConfigError("--format", "must be jsonl or csv")
    a = _open(config)
    flt = _filter(building, org, None, None, None, None, since, until)
    writer = audit.export_jsonl if fmt == "jsonl" else audit.export_csv
    if out is None:
        n = writer(app_mod.audit_rows(a, flt), sys.stdout)
    else:
        with atomic_private(out) as f:
            n = writer(app_mod.audit_rows(a, flt), f)
    typer.echo(f"{n} events exported", err=True)


@audit_cli.command("verify")
@_reports_errors
def audit_verify(
    config: ConfigOpt = None,
    checkpoints: Annotated[
        Path | None, typer.Option("--checkpoints", help="Signed checkpoints to hold the chain to: a checkpoint file or domchat's log.")
    ] = None,
    public_key: Annotated[Path | None, typer.Option("--public-key", help="The public key that signed the checkpoints (PEM).")] = None,
) -> None:
    """Verify the hash chain (and, given checkpoints, that it still holds each); names the first broken link."""
    report = app_mod.audit_verify(_open(config), checkpoints, public_key)
    verdict = report.verdict
    typer.echo(f"audit head: event {report.head_seq}, hash {report.head_hash}")
    if not verdict.ok:
        raise AuditBroken(f"audit chain broken at event {verdict.broken_at}: {verdict.why} ({verdict.events} events verified before it)")
    held = f"; {report.checkpoints} signed checkpoints hold, the newest vouches for event {report.vouched}" if report.checkpoints else ""
    typer.echo(f"audit chain ok: {verdict.events} events{held}")


@audit_cli.command("keygen")
@_reports_errors
def audit_keygen(
    out: Annotated[Path, typer.Option("--out", help="Private key file to create (0600); the public key goes to FILE.pub.")],
) -> None:
    """Make the Ed25519 key pair that signs audit checkpoints (set audit.checkpoint_key_file to the private key)."""
    public, key_id = app_mod.audit_keygen(out)
    typer.echo(f"checkpoint key {key_id}: private key {out}, public key {public} (give the public key to auditors)")


def main() -> None:
    cli()
