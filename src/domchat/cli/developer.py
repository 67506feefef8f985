"""Developer commands: the emulators, their worlds, and the demo. Their modules are imported only
when one of these commands runs, keeping them off the operators' start-up path; only the GIS
fault knobs are read up front, since the flags of `emulate` are made from them."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from domchat import app as app_mod
from domchat.cli.invocation import Invocation, command, day, option
from domchat.cli.present import as_json, output
from domchat.emulators.gis.faults import Knob, knobs
from domchat.errors import ConfigError
from domchat.settings import read_text

PANEL = "Developer commands"

commands = typer.Typer()
world = typer.Typer(no_args_is_help=True, help="Emulator worlds.")


def _fault_flag(name: str, knob: Knob) -> inspect.Parameter:
    flag = typer.Option(knob.flag, help=knob.help, show_default=False)
    return option(name, Annotated[int | None, flag] if knob.kind is int else Annotated[float | None, flag])


@command(commands, "config", panel=PANEL, extra=[_fault_flag(name, knob) for name, knob in knobs()])
def emulate(
    run: Invocation,
    world: Annotated[Path, typer.Option("--world", help="World file (see 'domchat world schema').")],
    gis_port: Annotated[int, typer.Option("--gis-port", help="GIS ZhKH emulator port (0: any free port).")] = 0,
    max_port: Annotated[int, typer.Option("--max-port", help="MAX emulator port (0: any free port).")] = 0,
    max_token: Annotated[str, typer.Option("--max-token", help="The bot token the MAX emulator accepts.")] = "",
    max_token_file: Annotated[Path | None, typer.Option("--max-token-file", help="Read the token from a file instead.")] = None,
    max_rate_limit: Annotated[float, typer.Option(help="Requests per second the MAX emulator allows per token.")] = 30.0,
    only: Annotated[str | None, typer.Option("--only", help="Serve only 'gis' or 'max' (to run each in its own process).")] = None,
    **faults: float | None,
) -> None:
    """Run both emulators in the foreground; prints one JSON line with their base URLs once ready.

    The GIS fault options override the world file's `faults` section (see docs/emulators.md)."""
    from domchat.emulators.gis import GisFaults
    from domchat.emulators.run import run_emulators
    from domchat.emulators.world import load as load_world

    if max_token_file is not None:
        max_token = read_text("--max-token-file", max_token_file).strip()
    gis_faults = GisFaults.from_world(load_world(world), **faults)
    run_emulators(
        world,
        gis_port=gis_port,
        max_port=max_port,
        max_token=max_token,
        schemas_dir=app_mod.schemas_dir(run.config),
        gis_faults=gis_faults,
        max_rate_limit=max_rate_limit,
        only=only,
    )


@command(world, name="generate")
def world_generate(
    run: Invocation,
    buildings: Annotated[int, typer.Option("--buildings", min=1)],
    seed: Annotated[int, typer.Option("--seed")],
    out: Annotated[Path, typer.Option("--out")],
    today: Annotated[str | None, typer.Option("--today", help="The day taken as today (default: the current UTC date).")] = None,
    charter_share: Annotated[float, typer.Option(help="Share of buildings managed by their own HOA under a charter.")] = 0.0,
) -> None:
    """Generate a world deterministically from a seed (streams: any size fits in memory)."""
    from domchat.emulators.world import GeneratorOptions, WorldGenerator

    if not 0 <= charter_share <= 1:
        raise ConfigError("--charter-share", f"must be between 0 and 1, got {charter_share}")
    first = day("--today", today) if today else datetime.now(UTC).date()
    with output(out) as f:
        WorldGenerator(GeneratorOptions(buildings=buildings, seed=seed, today=first, charter_share=charter_share)).write(f)
    run.out.line(f"wrote {out}")


@command(world, name="schema")
def world_schema(run: Invocation) -> None:
    """Print the JSON Schema of world files."""
    from domchat.emulators.world import schema

    run.out.line(as_json(schema()))


@command(commands, panel=PANEL)
def demo(
    run: Invocation,
    workdir: Annotated[Path | None, typer.Option("--workdir", help="Keep the run here (default: a new temporary folder).")] = None,
) -> None:
    """Run the whole job against the built-in emulators and tell the story."""
    from domchat.demo import run_demo

    run_demo(workdir)
