"""systemd service notifications (sd_notify): READY, WATCHDOG and STOPPING over $NOTIFY_SOCKET.

Every function does nothing when the process was not started by systemd with `Type=notify`
(no $NOTIFY_SOCKET), so the same code runs under cron, in tests and on a terminal. A failed
send is ignored: a notification never stops domchat's work (systemd notices a missed READY or
WATCHDOG on its own and acts on it).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

_alive_hooks: list[Callable[[], None]] = []
_loop: list[int] = []
"""The threads inside `on_alive` blocks: the main loops whose waits count as progress."""

IDLE_SLICE = 30.0
"""Longest wait between two `alive()` calls inside `sleep` when there is no systemd watchdog."""


def _send(message: str, env: Mapping[str, str]) -> bool:
    address = env.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket: its name starts with a NUL byte
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(address)
            s.sendall(message.encode())
    except OSError:
        return False
    return True


def ready(status: str = "", env: Mapping[str, str] = os.environ) -> bool:
    """Start-up is over: systemd considers the unit started (and `After=` units may start)."""
    return _send("READY=1" + (f"\nSTATUS={status}" if status else ""), env)


def watchdog(env: Mapping[str, str] = os.environ) -> bool:
    """The main loop is alive; without one within `WatchdogSec=` systemd restarts the service."""
    if watchdog_interval(env) is None:
        return False
    return _send("WATCHDOG=1", env)


def stopping(env: Mapping[str, str] = os.environ) -> bool:
    """Shutting down: finishing the action in hand."""
    return _send("STOPPING=1", env)


def watchdog_interval(env: Mapping[str, str] = os.environ) -> float | None:
    """Seconds between two pings that keep the watchdog content (half of `WatchdogSec=`), or None
    when there is no watchdog for this process."""
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


@contextmanager
def on_alive(hook: Callable[[], None]) -> Iterator[None]:
    """Within the block, call `hook` whenever the process reports itself alive (the daemon's /healthz listens)."""
    _alive_hooks.append(hook)
    _loop.append(threading.get_ident())
    try:
        yield
    finally:
        _alive_hooks.remove(hook)
        _loop.remove(threading.get_ident())


def alive() -> None:
    """The main loop is making progress: ping the watchdog and every `on_alive` hook."""
    watchdog()
    for hook in _alive_hooks:
        hook()


def sleep(seconds: float) -> None:
    """`time.sleep` that reports progress while waiting: long waits inside a cycle (GIS
    `getState` polls, MAX Retry-After) are progress, not a hang. Only on the main loop's
    thread (or when there is none): the daemon's pull thread waiting on GIS must not keep the
    watchdog content while the loop itself hangs."""
    interval = watchdog_interval() or IDLE_SLICE
    deadline = time.monotonic() + seconds
    counts = not _loop or threading.get_ident() in _loop
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, interval))
        if counts:
            alive()
