"""`domchat emulate`: both emulators in the foreground, until SIGTERM or Ctrl-C.

Once both listen, one JSON line on stdout gives their base URLs, so a script (or the demo)
can start this as a subprocess and read where to connect.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from domchat.emulators import world as worlds
from domchat.emulators.gis import GisEmulator, GisFaults
from domchat.emulators.max import MaxEmulator
from domchat.errors import ConfigError, WorldError


def run_emulators(
    world_path: Path,
    *,
    gis_port: int,
    max_port: int,
    max_token: str,
    schemas_dir: Path,
    gis_faults: GisFaults | None = None,
    max_rate_limit: float = 30.0,
    host: str = "127.0.0.1",
) -> None:
    if not max_token:
        raise WorldError("the MAX emulator needs a bot token (--max-token or --max-token-file)")
    world = worlds.load(world_path)
    gis = GisEmulator(world, schemas_dir, faults=gis_faults or GisFaults.from_world(world))
    bot = MaxEmulator(world, max_token, rate_limit=max_rate_limit)
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    gis_url = _listen("--gis-port", gis.start, host, gis_port)
    try:
        max_url = _listen("--max-port", bot.start, host, max_port)
        try:
            sys.stdout.write(json.dumps({"gis": gis_url, "max": max_url}) + "\n")
            sys.stdout.flush()
            stop.wait()
        finally:
            bot.stop()
    finally:
        gis.stop()


def _listen(option: str, start: Callable[[str, int], str], host: str, port: int) -> str:
    try:
        return start(host, port)
    except OSError as e:
        raise ConfigError(option, f"cannot listen on {host}:{port}: {e.strerror}") from None
