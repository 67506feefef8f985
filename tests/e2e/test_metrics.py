"""Metrics after real cycles against the emulators: the daemon's endpoint (with systemd's
notifications) and the textfile `sync --once` leaves for node_exporter."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from domchat import app as app_mod
from domchat import metrics
from support.stage import Stage


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _total(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    """Sum over every series of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(cond: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_cycle_is_counted_in_every_area(stage: Stage) -> None:
    before = _samples(metrics.exposition().decode())
    stage.sync()  # pulls GIS
    stage.bind_all()
    report = stage.sync()  # binds the chats and acts in MAX
    after = _samples(metrics.exposition().decode())

    def grew(name: str, **labels: str) -> float:
        return _total(after, name, **labels) - _total(before, name, **labels)

    assert grew("domchat_cycles_total", outcome="ok") >= 2
    assert grew("domchat_gis_messages_total", outcome="ok") > 0
    assert grew("domchat_gis_get_state_polls_total") > 0
    assert grew("domchat_gis_message_turnaround_seconds_count") > 0
    assert grew("domchat_max_calls_total", method="GET /chats/{id}", status="200") > 0
    methods = [dict(ls)["method"] for n, ls in after if n == "domchat_max_calls_total"]
    assert methods and not any(ch.isdigit() for m in methods for ch in m)  # ids replaced: bounded label values
    assert _value(after, "domchat_last_successful_pull_timestamp_seconds") > 0
    # State gauges follow the database.
    bound = len(stage.chats)
    assert _value(after, "domchat_buildings", chat="bound") == bound
    assert _value(after, "domchat_buildings", chat="unbound") == len(stage.world["buildings"]) - bound
    assert _value(after, "domchat_conflicts") == len(report.conflicts)
    assert _value(after, "domchat_audit_chain_length") > 0
    assert _value(after, "domchat_actions_pending") == 0


def test_a_handover_at_local_midnight_is_measured_from_midnight(stage: Stage) -> None:
    stage.running()
    b, midnight = stage.next_handover()
    stage.sync(now=midnight - timedelta(seconds=1), pull=False)
    before = _samples(metrics.exposition().decode())
    stage.sync(now=midnight + timedelta(seconds=2), pull=False)
    after = _samples(metrics.exposition().decode())

    def grew(name: str, **labels: str) -> float:
        return _total(after, name, **labels) - _total(before, name, **labels)

    granted = grew("domchat_actions_total", kind="grant_admin", outcome="done")
    assert granted >= len(stage.staff_of(b["management"][1]["ogrn"]))
    handovers = grew("domchat_handover_lag_seconds_count")
    assert handovers >= granted
    assert grew("domchat_handover_lag_seconds_sum") == pytest.approx(2.0 * handovers)  # planned at midnight + 2 s
    assert grew("domchat_handover_lag_seconds_bucket", le="5.0") == handovers
    for phase in ("updates", "plan", "execute"):
        assert grew("domchat_cycle_phase_seconds_count", phase=phase) == 1


def test_sync_once_writes_the_textfile(stage: Stage, tmp_path: Path) -> None:
    textfile = tmp_path / "node-exporter" / "domchat.prom"
    textfile.parent.mkdir()
    with stage.config.open("a", encoding="utf-8") as f:
        f.write(f'[metrics]\ntextfile = "{textfile}"\n')
    env = {**os.environ, "DOMCHAT_CONFIG": str(stage.config)}
    done = subprocess.run(
        [sys.executable, "-m", "domchat", "sync", "--once"], env=env, umask=0o077, capture_output=True, text=True, check=False, timeout=300
    )  # the units' umask
    assert done.returncode == 0, done.stderr
    samples = _samples(textfile.read_text(encoding="utf-8"))
    # A fresh process: the file holds exactly this run's counts.
    assert _value(samples, "domchat_cycles_total", outcome="ok") == 1
    assert _total(samples, "domchat_gis_messages_total", outcome="ok") > 0
    assert _value(samples, "domchat_buildings", chat="unbound") == len(stage.world["buildings"])
    assert [p.name for p in textfile.parent.iterdir()] == ["domchat.prom"]  # written whole, then renamed into place
    assert textfile.stat().st_mode & 0o777 == 0o644  # the collector runs as another user

    verify = subprocess.run(
        [sys.executable, "-m", "domchat", "audit", "verify"], env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert verify.returncode == 0, verify.stderr
    samples = _samples(textfile.read_text(encoding="utf-8"))
    assert _value(samples, "domchat_audit_last_verify_ok") == 1
    assert time.time() - _value(samples, "domchat_audit_last_verify_timestamp_seconds") < 600


def test_daemon_serves_metrics_and_health_and_tells_systemd(stage: Stage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = _free_port()
    with stage.config.open("a", encoding="utf-8") as f:
        f.write(f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
    notify_path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    sock.settimeout(60)
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_path))
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    t = threading.Thread(target=app_mod.daemon, args=(stage.app(), stop))
    t.start()
    try:
        assert sock.recv(256).startswith(b"READY=1")
        _wait_for(lambda: requests.get(base + "/readyz", timeout=5).status_code == 200)
        assert requests.get(base + "/healthz", timeout=5).status_code == 200
        assert sock.recv(256) == b"WATCHDOG=1"  # pinged at least every second while waiting
        answer = requests.get(base + "/metrics", timeout=5)
        assert answer.headers["Content-Type"].startswith("text/plain")
        samples = _samples(answer.text)
        assert _value(samples, "domchat_cycles_total", outcome="ok") >= 1
        assert _value(samples, "domchat_ready") == 1
        assert requests.get(base + "/nothing", timeout=5).status_code == 404
    finally:
        stop.set()
        t.join(timeout=60)
    assert not t.is_alive()
    messages = []
    sock.settimeout(0)
    while True:
        try:
            messages.append(sock.recv(256))
        except BlockingIOError:
            break
    sock.close()
    assert messages[-1] == b"STOPPING=1"
    with pytest.raises(requests.ConnectionError):
        requests.get(base + "/metrics", timeout=5)


def test_healthz_fails_when_the_loop_stops_turning() -> None:
    now = [0.0]
    health = metrics.Health(stale_after=60, monotonic=lambda: now[0])
    assert health.live()[0]
    assert not health.ready()[0]  # not ready before the first cycle
    now[0] = 61
    ok, why = health.live()
    assert not ok and "61 s" in why
    health.beat()
    assert health.live()[0]


def test_a_busy_metrics_port_does_not_stop_the_daemon(stage: Stage) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with stage.config.open("a", encoding="utf-8") as f:
            f.write(f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
        cycles = _total(_samples(metrics.exposition().decode()), "domchat_cycles_total")
        stop = threading.Event()
        t = threading.Thread(target=app_mod.daemon, args=(stage.app(), stop))
        t.start()
        try:  # the daemon cycles all the same
            _wait_for(lambda: _total(_samples(metrics.exposition().decode()), "domchat_cycles_total") > cycles)
        finally:
            stop.set()
            t.join(timeout=60)
    assert not t.is_alive()


def test_the_updates_receiver_tells_systemd_once_it_receives(stage: Stage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage.config.write_text(stage.config.read_text().replace("backoff = 0.05", "backoff = 0.05\npoll_timeout = 1"), encoding="utf-8")
    stage.sync()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        sock.settimeout(60)
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        stop = threading.Event()
        t = threading.Thread(target=app_mod.receive_updates, args=(stage.app(), "poll", stop, lambda _where: None))
        t.start()
        try:
            message = sock.recv(256).decode()
        finally:
            stop.set()
            t.join(timeout=30)
    assert message.startswith("READY=1\nSTATUS=receiving updates: long polling http://127.0.0.1:")
