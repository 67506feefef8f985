"""Commands around sync cycles: sync, daemon, updates, plan, status, conflicts, resync."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from types import FrameType
from typing import Annotated, Any

import typer

from domchat import app as app_mod
from domchat.cli.invocation import Invocation, command, day, instant
from domchat.errors import ConfigError, CycleFailed

commands = typer.Typer()

BuildingOpt = Annotated[str | None, typer.Option("--building", help="Only this building (FIAS GUID).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Go past the removal safety fuse (and, for sync, apply empty GIS answers).")]


@command(commands, "config", "now", "json")
def sync(
    run: Invocation,
    once: Annotated[bool, typer.Option("--once", help="Run one cycle and exit (for cron).")] = False,
    force: ForceOpt = False,
    operator: Annotated[str | None, typer.Option("--operator", help="Record this cycle as an operator's (default: the daemon's).")] = None,
) -> None:
    """Run one sync cycle: updates, GIS pull, plan, execute, audit."""
    if not once:
        raise ConfigError("sync", "use 'domchat sync --once' (one cycle) or 'domchat daemon' (keeps running)")
    actor, trigger = (operator, "cli:sync") if operator else ("daemon", "schedule")
    a = run.app()
    with run.out.progress() as progress:
        report = app_mod.sync_once(a, force=force, actor=actor, trigger=trigger, progress=progress)
    run.out.show(report.as_dict(), lambda _: [_report_line(report)])
    if report.status != "ok":
        # Everything that could go on did; cron still has to hear about the rest.
        raise CycleFailed(report.error, exit_code_of_run=report.exit_code)


def _report_line(report: app_mod.CycleReport) -> str:
    pull = report.pull
    return (
        f"cycle {report.run_id}: {report.updates} updates, "
        + (f"GIS {'ok' if pull.ok else 'FAILED: ' + pull.error}, " if pull else "")
        + f"{report.planned} actions planned, {report.done} done, {report.failed} failed, {report.reported} reported"
        + (f", {len(report.conflicts)} conflicts" if report.conflicts else "")
        + (f"; next boundary {report.next_change.isoformat()}" if report.next_change else "")
    )


@command(commands, "config")
def daemon(run: Invocation) -> None:
    """Keep running: pull on schedule, answer updates, act at building-local midnights."""
    a = run.app(log_stream=sys.stdout)  # the daemon has no other output: its log goes to the journal
    app_mod.daemon(a, _stop_on_signals())


@command(commands, "config")
def updates(
    run: Invocation,
    mode: Annotated[str, typer.Option("--mode", help="poll (long polling) or webhook (receiver + subscription).")] = "poll",
) -> None:
    """Receive MAX updates continuously and store them (each cycle handles what is stored)."""
    if mode not in ("poll", "webhook"):
        raise ConfigError("--mode", "must be poll or webhook")
    a = run.app()
    stop = _stop_on_signals()
    app_mod.receive_updates(a, mode, stop, ready=lambda where: run.out.summary(f"receiving updates: {where}"))


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: the work in hand finishes, nothing new starts."""
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


@command(commands, "config", "now", "json", name="plan")
def plan_cmd(
    run: Invocation,
    at: Annotated[str | None, typer.Option("--at", help="A date (building-local 00:05 that day) or an instant.")] = None,
    building: BuildingOpt = None,
) -> None:
    """Show what a cycle would do (now, or at a date), and why; changes nothing."""
    a = run.app()
    view = app_mod.plan_at(a, a.clock.now() if at is None else _at(at), building)
    actions = _action_docs(view.plan, app_mod.reason_reader(a))
    doc = {
        "at": view.at.isoformat(),
        "actions": actions,
        "managers": view.managers,
        "next_change": view.plan.next_change,
        "conflicts": [c.building for c in view.plan.conflicts],
        "notices": view.notices,
    }
    run.out.show(doc, lambda d: _plan_lines(d, with_managers=building is not None))
    if not run.json:
        run.out.summary(f"{len(actions)} actions would run; {len(view.notices)} notices due")


def _plan_lines(doc: dict[str, Any], *, with_managers: bool) -> Iterator[str]:
    yield f"plan at {doc['at']}: {len(doc['actions'])} actions"
    yield from _action_lines(doc["actions"])
    if with_managers:
        for b, m in doc["managers"].items():
            yield f"  manager of {b}: {m}"
    if doc["next_change"]:
        yield f"next change at {doc['next_change'].isoformat()}"
    for n in doc["notices"]:
        yield f"  notice {n['kind']:<16} chat {n['chat_id']} due {n['due_at']} ({n['state']})  {n['building']}"


def _at(value: str) -> datetime:
    """A bare date means 06:00 UTC that day: every Russian zone (UTC+2 to UTC+12) is then in it."""
    if len(value) != len("2026-01-01"):
        return instant("--at", value)
    return datetime.combine(day("--at", value), time(6, 0), tzinfo=UTC)


def _action_docs(p: app_mod.Plan, read: Callable[[str], str]) -> list[dict[str, Any]]:
    """Each action with its reason as stored and, in `text_reason`, in words."""
    docs = [{"kind": x.kind, "chat_id": x.chat_id, "building": x.building, **x.payload()} for x in p.actions]
    return [d | {"text_reason": read(d.get("reason", ""))} for d in docs]


def _action_lines(actions: list[dict[str, Any]]) -> Iterator[str]:
    for x in actions:
        who = f" user {x['user_id']}" if "user_id" in x else ""
        yield f"  {x['kind']:<14} chat {x['chat_id']}{who}  — {x['text_reason']}"


@command(commands, "config", "now", "json")
def status(
    run: Invocation,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Nagios/Icinga plugin: one line with perfdata; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN ([status] thresholds).",
        ),
    ] = False,
) -> None:
    """Last cycle and pulls, pending and failed actions, conflicts, next boundary, lease, version."""
    if check:
        verdict = app_mod.check(run.app)
        typer.echo(verdict.line)
        raise typer.Exit(verdict.code)
    run.out.show(app_mod.status(run.app()), _status_lines)


def _status_lines(doc: dict[str, Any]) -> Iterator[str]:
    yield f"domchat {doc['version']}"
    latest, last_ok = doc["last_cycle"], doc["last_successful_cycle"]
    if latest is None:
        yield "last cycle: none yet"
    elif latest["status"] == "ok":
        yield f"last cycle: ok, finished {latest['finished_at']}"
    else:
        phases = ", ".join(f"{p} {v}" for p, v in latest["phases"].items() if v not in ("ok", "skipped"))
        yield f"last cycle: {latest['status']}" + (f" ({phases})" if phases else "") + f": {latest['error'] or ''}"
    yield f"last successful cycle: {last_ok['finished_at'] if last_ok else 'never'}"
    pull = doc["last_successful_pull"]
    yield f"last successful GIS pull: {pull['at'] + ' (' + _age(pull['age_s']) + ' ago)' if pull else 'never'}"
    for source, when in doc["pulls"].items():
        yield f"  {source}: {when['at']} ({_age(when['age_s'])} ago)"
    for problem in doc["failures"]["pull"]:
        yield f"  pull problem: {problem}"
    yield f"buildings: {doc['buildings']} ({doc['bound_chats']} with a chat, {doc['unbound_buildings']} without)"
    oldest = f", oldest waiting {_age(doc['oldest_pending_age_s'])}" if doc["oldest_pending_age_s"] is not None else ""
    yield f"pending actions: {doc['pending_actions']}{oldest}; conflicts: {len(doc['conflicts'])}; audit events: {doc['audit_events']}"
    failures = doc["failures"]
    if failures["retrying"] or failures["given_up"]:
        yield f"actions being retried: {doc['retrying_actions']}; given up: {sum(failures['given_up'].values())}"
    for what in ("retrying", "given_up"):
        for kind, n in failures[what].items():
            yield f"  {what.replace('_', ' ')}: {n} {kind}"
    for a in doc["failed_actions"]:
        yield f"  failed {a['kind']} in chat {a['chat_id']}: {a['error']}"
    yield f"next boundary: {doc['next_boundary'] or 'none scheduled'}"
    lease = doc["lease"]
    held = lease is not None and lease["held"]
    yield f"lease: {'held by ' + lease['holder'] + ' until ' + lease['expires_at'] if held else 'free'}"


def _age(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


@command(commands, "config", "now", "json")
def conflicts(run: Invocation) -> None:
    """Buildings two or more organisations claim on the same local day (admin rights frozen there)."""
    found = app_mod.conflicts(run.app())
    run.out.show(found, lambda docs: map(_conflict_line, docs))
    run.out.summary(f"{len(found)} conflicts")


def _conflict_line(c: dict[str, Any]) -> str:
    claims = "; ".join(f"{p['org']} from {p['start']} ({p['basis']}: {', '.join(p['sources'])})" for p in c["claims"])
    return f"{c['building']}  {c['address']}  on {c['day']}: {claims}"


@command(commands, "config", "operator", "json")
def resync(
    run: Invocation,
    building: Annotated[str | None, typer.Option("--building", help="One building (FIAS GUID).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Every building an organisation (OGRN) manages or managed.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every building.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
    force: ForceOpt = False,
) -> None:
    """Re-read chats from MAX (and houses from GIS ZhKH) and put them right now."""
    if (building is not None) + (org is not None) + all_ != 1:
        raise ConfigError("resync", "give exactly one of --building, --org, --all")
    a = run.app()
    with run.out.progress() as progress:
        result = app_mod.resync(
            a, operator=run.operator_name(), building=building, org=org, dry_run=dry_run, force=force, progress=progress
        )
    if isinstance(result, app_mod.CycleReport):
        run.out.show(result.as_dict(), lambda _: [_report_line(result)])
        return
    actions = _action_docs(result, app_mod.reason_reader(a))
    run.out.show(actions, _action_lines)
    if not run.json:
        run.out.summary(f"{len(actions)} actions would run")
