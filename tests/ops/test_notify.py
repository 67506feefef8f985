"""sd_notify messages reach the socket systemd names, and nothing happens without one."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from domchat import notify


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(str(path))
        s.settimeout(5)
        yield s, {"NOTIFY_SOCKET": str(path)}


def test_ready_watchdog_stopping_are_sent(listener: tuple[socket.socket, dict[str, str]]) -> None:
    s, env = listener
    assert notify.ready("cycling", env)
    assert s.recv(256) == b"READY=1\nSTATUS=cycling"
    env_wd = {**env, "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}
    assert notify.watchdog(env_wd)
    assert s.recv(256) == b"WATCHDOG=1"
    assert notify.stopping(env)
    assert s.recv(256) == b"STOPPING=1"


def test_abstract_socket_names_are_understood() -> None:
    name = f"domchat-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        s.settimeout(5)
        assert notify.ready(env={"NOTIFY_SOCKET": "@" + name})
        assert s.recv(256) == b"READY=1"


def test_nothing_is_sent_outside_systemd_or_to_a_dead_socket(tmp_path: Path) -> None:
    assert not notify.ready(env={})
    assert not notify.ready(env={"NOTIFY_SOCKET": str(tmp_path / "gone")})


def test_watchdog_only_for_the_process_it_watches(listener: tuple[socket.socket, dict[str, str]]) -> None:
    _s, env = listener
    assert notify.watchdog_interval({**env, "WATCHDOG_USEC": "30000000"}) == 15.0
    assert notify.watchdog_interval({**env, "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert not notify.watchdog(env)  # no WATCHDOG_USEC: no watchdog configured


def test_sleep_pings_the_watchdog_while_waiting(listener: tuple[socket.socket, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    s, env = listener
    for k, v in {**env, "WATCHDOG_USEC": "40000", "WATCHDOG_PID": str(os.getpid())}.items():
        monkeypatch.setenv(k, v)
    notify.sleep(0.1)  # slices of 0.02 s, one ping after each
    s.settimeout(0)
    pings = []
    while True:
        try:
            pings.append(s.recv(256))
        except BlockingIOError:
            break
    # Five slices when the machine is idle; a loaded one may wake late, but never only once.
    assert len(pings) >= 2 and set(pings) == {b"WATCHDOG=1"}


def test_alive_hooks_hear_waits_inside_a_cycle() -> None:
    beats: list[int] = []
    with notify.on_alive(lambda: beats.append(1)):
        notify.alive()
        notify.sleep(0.01)
    notify.alive()  # after the block the hook is gone
    assert beats == [1, 1]


def test_waits_of_other_threads_are_not_the_loops_progress() -> None:
    beats: list[str] = []
    with notify.on_alive(lambda: beats.append(threading.current_thread().name)):
        pull = threading.Thread(target=notify.sleep, args=(0.01,), name="gis pull")  # the daemon's pull waiting on GIS
        pull.start()
        pull.join(30)
        notify.sleep(0.01)
    assert beats == [threading.current_thread().name]
