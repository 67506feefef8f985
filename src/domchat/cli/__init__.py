"""The `domchat` command: parse, call one use case in `domchat.app`, present. Nothing else lives here.

Command names and options are fixed: operators' scripts call them. Every error ends the
command with one line naming the cause and a non-zero exit code (2 bad configuration or input,
3 a service unreachable, 4 a safety fuse or lock, 5 audit chain broken, 1 anything else).

Contents: `invocation` (the options commands share, errors → exit codes), `present` (one output
style), then the commands: `cycles`, `people`, `records`, `history`, `notices` for operators, `developer` for the
emulators, their worlds and the demo (a help panel of their own).
"""

from __future__ import annotations

import typer

from domchat.cli import cycles, developer, history, notices, people, records
from domchat.cli.invocation import root_options

cli = typer.Typer(no_args_is_help=True, add_completion=False)
cli.callback()(root_options)

# Operators' commands.
cli.add_typer(cycles.commands)  # sync, daemon, updates, plan, status, conflicts, resync
cli.add_typer(records.config, name="config")  # check
cli.add_typer(records.db, name="db")  # upgrade
cli.add_typer(people.chats, name="chats")  # pending
cli.add_typer(people.org, name="org")  # invite, staff list | revoke
cli.add_typer(people.grants, name="grants")  # import
cli.add_typer(people.invitations, name="invitations")  # export, issue
cli.add_typer(records.audit, name="audit")  # list, export, verify
cli.add_typer(history.commands)  # history
cli.add_typer(notices.notices, name="notices")  # off, on, coverage

# Developers' commands.
cli.add_typer(developer.commands)  # emulate, demo
cli.add_typer(developer.world, name="world", rich_help_panel=developer.PANEL)  # generate, schema


def main() -> None:
    cli()
