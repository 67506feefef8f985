"""Fixtures: a small generated world, the GIS emulator on a loopback port, clients pointed at it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from domchat.emulators.gis import GisEmulator, GisFaults
from domchat.emulators.world import GeneratorOptions, WorldGenerator
from domchat.gis_client import GisClient
from domchat.settings import GisSettings
from support.reference import GIS_SCHEMAS

SCHEMAS = GIS_SCHEMAS
TODAY = date(2025, 3, 1)
FAST_SCHEDULE = [0.01, 0.02]


def make_world(buildings: int = 20, seed: int = 7, **options: Any) -> dict[str, Any]:
    out = io.StringIO()
    WorldGenerator(GeneratorOptions(buildings=buildings, seed=seed, today=TODAY, **options)).write(out)
    world: dict[str, Any] = json.loads(out.getvalue())
    return world


@pytest.fixture
def world_factory() -> Callable[..., dict[str, Any]]:
    """`make_world(buildings=…, seed=…, **GeneratorOptions)`."""
    return make_world


@pytest.fixture(scope="session")
def schemas_dir() -> Path:
    return SCHEMAS


@pytest.fixture
def world() -> dict[str, Any]:
    return make_world()


EmulatorFactory = Callable[..., GisEmulator]


@pytest.fixture
def start_emulator(schemas_dir: Path) -> Iterator[EmulatorFactory]:
    started: list[GisEmulator] = []

    def start(world: dict[str, Any], *, processing_delay: float = 0.03, faults: GisFaults | None = None) -> GisEmulator:
        emu = GisEmulator(world, schemas_dir, processing_delay=processing_delay, faults=faults)
        emu.start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(start_emulator: EmulatorFactory, world: dict[str, Any]) -> GisEmulator:
    return start_emulator(world)


def settings_for(url: str, world: dict[str, Any], schemas_dir: Path, **overrides: Any) -> GisSettings:
    values: dict[str, Any] = {
        "endpoint": url,
        "schemas_dir": schemas_dir,
        "org_ppa_guid": world["authority"]["ppa_guid"],
        "poll_schedule": FAST_SCHEDULE,
        "timeout": 5.0,
        "transport_backoff": [0.001, 0.005],
        "message_deadline": 5.0,
    }
    values.update(overrides)
    return GisSettings(**values)


SettingsFactory = Callable[..., GisSettings]
ClientFactory = Callable[..., GisClient]


@pytest.fixture
def make_settings(schemas_dir: Path, world: dict[str, Any]) -> SettingsFactory:
    def make(url: str, **overrides: Any) -> GisSettings:
        return settings_for(url, world, schemas_dir, **overrides)

    return make


@pytest.fixture
def make_client(make_settings: SettingsFactory) -> Iterator[ClientFactory]:
    made: list[GisClient] = []

    def make(url: str, *, sleep: Callable[[float], None] | None = None, **overrides: Any) -> GisClient:
        client = GisClient(make_settings(url, **overrides), **({"sleep": sleep} if sleep else {}))
        made.append(client)
        return client

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(make_client: ClientFactory, emulator: GisEmulator) -> GisClient:
    return make_client(emulator.base_url)


def soap_children(raw: bytes) -> tuple[list[etree._Element], list[etree._Element]]:
    """(header entries, body entries) of a SOAP envelope."""
    env = "{http://schemas.xmlsoap.org/soap/envelope/}"
    root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    assert root.tag == env + "Envelope"
    header = root.find(env + "Header")
    body = root.find(env + "Body")
    assert body is not None
    return ([] if header is None else list(header)), list(body)
