"""Developer commands: the emulators, their worlds, and the demo. Their modules are imported only
when one of these commands runs, keeping them off the operators' start-up path."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from domchat import app as app_mod
from domchat.cli.invocation import Invocation, command
from domchat.cli.present import as_json

PANEL = "Developer commands"

commands = typer.Typer()
world = typer.Typer(no_args_is_help=True, help="Emulator worlds.")


@command(commands, "config", panel=PANEL)
def emulate(
    run: Invocation,
    world: Annotated[Path, typer.Option("--world", help="World file (see 'domchat world schema').")],
    gis_port: Annotated[int, typer.Option("--gis-port", help="GIS ZhKH emulator port (0: any free port).")] = 0,
    max_port: Annotated[int, typer.Option("--max-port", help="MAX emulator port (0: any free port).")] = 0,
    max_token: Annotated[str, typer.Option("--max-token", help="The bot token the MAX emulator accepts.")] = "",
    max_token_file: Annotated[Path | None, typer.Option("--max-token-file", help="Read the token from a file instead.")] = None,
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
        schemas_dir=app_mod.schemas_dir(run.config),
        gis_faults=faults,
        max_rate_limit=max_rate_limit,
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

    day = date.fromisoformat(today) if today else datetime.now(UTC).date()
    with out.open("w", encoding="utf-8") as f:
        WorldGenerator(GeneratorOptions(buildings=buildings, seed=seed, today=day, charter_share=charter_share)).write(f)
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
