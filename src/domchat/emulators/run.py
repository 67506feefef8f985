"""`domchat emulate`: both emulators (or, with `only`, one of them) in the foreground, until
SIGTERM or Ctrl-C.

Once they listen, one JSON line on stdout gives their base URLs (`{"gis": …, "max": …}`, only
the ones served), so a script (or the demo) can start this as a subprocess and read where to
connect. Serving each from its own process lets one be stopped or restarted alone.
"""

from __future__ import annotations

import contextlib
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
    only: str | None = None,
) -> None:
    if only not in (None, "gis", "max"):
        raise WorldError(f"--only must be 'gis' or 'max', got {only!r}")
    if only != "gis" and not max_token:
        raise WorldError("the MAX emulator needs a bot token (--max-token or --max-token-file)")
    world = worlds.load(world_path)
    stop = threading.Event()

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with contextlib.ExitStack() as running:
        urls: dict[str, str] = {}
        if only != "max":
            gis = GisEmulator(world, schemas_dir, faults=gis_faults or GisFaults.from_world(world))
            urls["gis"] = _listen("--gis-port", gis.start, host, gis_port)
            running.callback(gis.stop)
        if only != "gis":
            bot = MaxEmulator(world, max_token, rate_limit=max_rate_limit)
            urls["max"] = _listen("--max-port", bot.start, host, max_port)
            running.callback(bot.stop)
        sys.stdout.write(json.dumps(urls) + "\n")
        sys.stdout.flush()
        stop.wait()


def _listen(option: str, start: Callable[[str, int], str], host: str, port: int) -> str:
    try:
        return start(host, port)
    except OSError as e:
        raise ConfigError(option, f"cannot listen on {host}:{port}: {e.strerror}") from None
