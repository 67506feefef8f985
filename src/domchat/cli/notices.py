"""Commands around notices to houses: coverage, turning a kind off or on (docs/notices.md)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import typer

from domchat import app as app_mod
from domchat.cli.invocation import Invocation, command

notices = typer.Typer(no_args_is_help=True, help="Reminders and announcements to the houses.")

KindOpt = Annotated[
    str,
    typer.Option("--kind", help="metering_opens, metering_closes, payment_due, meeting, meeting_reminder, meeting_outcome or handover."),
]
BuildingOpt = Annotated[str | None, typer.Option("--building", help="One building (FIAS GUID); the whole region without it.")]


@command(notices, "config", "operator", "now", name="off")
def notices_off(run: Invocation, kind: KindOpt, building: BuildingOpt = None) -> None:
    """Stop one kind of notice, for the region or one building (audited)."""
    changed = app_mod.notices_switch(run.app(), kind, building, off=True, operator=run.operator_name())
    run.out.line(f"{kind} {'turned off' if changed else 'was already off'} for {building or 'the region'}")


@command(notices, "config", "operator", "now", name="on")
def notices_on(run: Invocation, kind: KindOpt, building: BuildingOpt = None) -> None:
    """Resume one kind of notice, for the region or one building (audited)."""
    changed = app_mod.notices_switch(run.app(), kind, building, off=False, operator=run.operator_name())
    run.out.line(f"{kind} {'turned on' if changed else 'was not off'} for {building or 'the region'}")


@command(notices, "config", "now", "json", name="coverage")
def notices_coverage(run: Invocation) -> None:
    """How many bound buildings get deadline reminders, and why the others do not."""
    run.out.show(app_mod.notices_coverage(run.app()), _coverage_lines)


def _coverage_lines(doc: dict[str, Any]) -> Iterator[str]:
    yield f"bound buildings: {doc['bound']}; with deadline reminders: {doc['with_reminders']}"
    for why, n in sorted(doc["without"].items()):
        yield f"  {why}: {n}"
