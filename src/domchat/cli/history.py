"""`domchat history`: one building's chat over time, for auditors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import typer

from domchat import app as app_mod
from domchat.cli.invocation import Invocation, command

commands = typer.Typer()


@command(commands, "config", "json", name="history")
def history(
    run: Invocation,
    building: Annotated[str, typer.Option("--building", help="FIAS GUID.")],
    lang: Annotated[str | None, typer.Option("--lang", help="Read reasons in ru or en (default: audit.lang), or none: as stored.")] = None,
) -> None:
    """Who was admin and member of a building's chat when, why, on which GIS document, with the
    audit sequence numbers (from the audit trail and the stored management periods)."""
    found = app_mod.building_history(run.app(), building, lang)
    run.out.show(found.as_dict(), lambda _: _lines(found))


def _lines(h: app_mod.History) -> Iterator[str]:
    yield f"{h.building}  {h.address}"
    for c in h.chats:
        yield f"  chat {c['chat_id']} bound {c['bound_at']}  #{c['seq']}"
    yield "management (GIS ZhKH):"
    for m in h.management:
        yield f"  #{m['seq']:<7} {m['at']}  {m['action']:<19} {m['org'] or '':<15} {m['why']}"
    yield "admins and members:"
    yield f"  {'user':>12} {'role':<6} {'org':<15} {'from':<27} {'#':>7} {'until':<27} {'#':>7}  why / documents"
    for s in h.stints:
        until = s.until or "now"
        end = f"{s.until_seq}" if s.until_seq is not None else ""
        docs = f"  [{', '.join(s.documents)}]" if s.documents else ""
        yield f"  {s.user_id:>12} {s.role:<6} {s.org or '':<15} {s.since:<27} {s.since_seq:>7} {until:<27} {end:>7}  {s.why}{docs}"
        if s.why_ended:
            yield f"  {'':>12} {'':<6} {'':<15} {'':<27} {'':>7} {'ended:':<27} {'':>7}  {s.why_ended}"
