"""End-to-end fixtures (see support/stage.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from domchat import app as app_mod
from domchat.emulators.gis import GisEmulator
from domchat.emulators.max import MaxEmulator
from support.stage import SCHEMAS, Stage, make_world, write_config


@pytest.fixture
def stage(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Stage]:
    # DOMCHAT_DATABASE_URL overrides the config: point it at this test's own database too.
    monkeypatch.setenv("DOMCHAT_DATABASE_URL", db_url)
    marker = request.node.get_closest_marker("world")
    kw = marker.kwargs if marker else {}
    world = make_world(buildings=kw.get("buildings", 12), seed=11, charter_share=kw.get("charter_share", 0.0))
    if "edit" in kw:
        kw["edit"](world)  # a test's own arrangement of the generated world
    token = secrets.token_urlsafe(24)
    gis = GisEmulator(world, SCHEMAS, processing_delay=0.02)
    bot = MaxEmulator(world, token)
    gis_url = gis.start()
    max_url = bot.start()
    config = write_config(tmp_path, world, gis_url, max_url, db_url, token)
    st = Stage(tmp_path, world, gis, bot, config)
    app_mod.upgrade_db(st.app())
    try:
        yield st
    finally:
        st.http.close()
        bot.stop()
        gis.stop()
