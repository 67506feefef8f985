"""Fixtures: a running MAX emulator on loopback, a client pointed at it, the control API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domchat.emulators.max import MaxEmulator
from domchat.max_client import MaxClient, TokenBucket
from domchat.settings import Secret

from .support import TOKEN, Control, Ticker, make_world, settings_for


@pytest.fixture
def world() -> dict[str, Any]:
    return make_world()


@pytest.fixture
def emulator(world: dict[str, Any]) -> Iterator[MaxEmulator]:
    # Functional tests run far above 30 requests/s; the rate-limit tests start their own emulator.
    # Each reading of the platform's clock moves it on a second: timestamps are distinct and exact.
    emu = MaxEmulator(world, TOKEN, rate_limit=100_000, clock=Ticker(1_800_000_000.0))
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def control(emulator: MaxEmulator) -> Control:
    return Control(emulator.base_url)


@pytest.fixture
def client(emulator: MaxEmulator) -> Iterator[MaxClient]:
    c = MaxClient(settings_for(emulator.base_url), Secret(TOKEN), limiter=TokenBucket(100_000))
    yield c
    c.close()
