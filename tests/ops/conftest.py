"""A small world served by both emulators, for running domchat as a separate program."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from domchat.emulators.gis import GisEmulator
from domchat.emulators.max import MaxEmulator
from support.stage import SCHEMAS, make_world, write_config


@pytest.fixture
def emulated(tmp_path: Path, db_url: str) -> Iterator[Path]:
    world = make_world(buildings=6, seed=5)
    token = secrets.token_urlsafe(24)
    gis, bot = GisEmulator(world, SCHEMAS, processing_delay=0.02), MaxEmulator(world, token)
    config = write_config(tmp_path, world, gis.start(), bot.start(), db_url, token)
    # The program is told where the GIS package is by the environment, not the config.
    lines = config.read_text(encoding="utf-8").splitlines()
    config.write_text("\n".join(ln for ln in lines if not ln.startswith("schemas_dir")) + "\n", encoding="utf-8")
    try:
        yield config
    finally:
        bot.stop()
        gis.stop()
