"""Metrics for Prometheus: what domchat counts, the HTTP endpoint of the daemon, the textfile of cron runs.

A leaf: every layer and both adapters record here through the small functions below, and it
imports nothing of domchat. Everything lives in one registry of domchat's own (`REGISTRY`), so
the textfile written by `sync --once` holds domchat's series only, not the process's.

Label values are bounded: MAX paths have their ids replaced (`/chats/{id}/members`), GIS
operations are the package's operation names, outcomes and kinds are domchat's own words.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest, write_to_textfile

REGISTRY = CollectorRegistry()

# Cycles

CYCLES = Counter("domchat_cycles", "Sync cycles by how they ended.", ["outcome"], registry=REGISTRY)
PHASE_SECONDS = Histogram(
    "domchat_cycle_phase_seconds",
    "Time spent in each phase of a cycle.",
    ["phase"],
    buckets=(0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600, 7200),
    registry=REGISTRY,
)
LAST_CYCLE = Gauge("domchat_last_cycle_timestamp_seconds", "When the last cycle with each outcome ended.", ["outcome"], registry=REGISTRY)
LAST_PULL_OK = Gauge("domchat_last_successful_pull_timestamp_seconds", "When a GIS ZhKH pull last succeeded.", registry=REGISTRY)
LEASE_LOST = Counter("domchat_lease_lost", "Cycles stopped because another instance took the region's lease.", registry=REGISTRY)

# GIS ZhKH

GIS_MESSAGES = Counter(
    "domchat_gis_messages", "GIS ZhKH messages by operation and how they ended.", ["operation", "outcome"], registry=REGISTRY
)
GIS_POLLS = Counter("domchat_gis_get_state_polls", "getState polls by the operation polled for.", ["operation"], registry=REGISTRY)
GIS_TURNAROUND = Histogram(
    "domchat_gis_message_turnaround_seconds",
    "From a message's acknowledgement to its processed answer.",
    ["operation"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200),
    registry=REGISTRY,
)

# MAX

MAX_CALLS = Counter(
    "domchat_max_calls", "MAX Bot API calls by method and HTTP status (0: no answer).", ["method", "status"], registry=REGISTRY
)
MAX_RATE_LIMITED = Counter("domchat_max_rate_limited", "MAX answers 429 (too many requests).", registry=REGISTRY)
MAX_LIMITER_WAIT = Counter(
    "domchat_max_rate_limiter_wait_seconds", "Time spent waiting for the rate limiter before MAX calls.", registry=REGISTRY
)

# Actions and state

ACTIONS = Counter("domchat_actions", "Chat actions carried out, by kind and outcome.", ["kind", "outcome"], registry=REGISTRY)
HANDOVER_LAG = Histogram(
    "domchat_handover_lag_seconds",
    "From the building-local midnight an action was due at to its effect in MAX.",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600),
    registry=REGISTRY,
)
PENDING = Gauge("domchat_actions_pending", "Actions stored and not yet carried out.", registry=REGISTRY)
OLDEST_PENDING = Gauge("domchat_actions_oldest_pending_age_seconds", "Age of the oldest pending action (0: none).", registry=REGISTRY)
CONFLICTS = Gauge("domchat_conflicts", "Buildings two or more organisations claim on today's local date.", registry=REGISTRY)
BUILDINGS = Gauge("domchat_buildings", "Buildings of the region, by whether a chat is bound.", ["chat"], registry=REGISTRY)
CODE_REJECTIONS = Counter(
    "domchat_binding_code_rejections",
    "Binding codes refused, by why (unknown_code, too_many…).",
    ["reason"],
    registry=REGISTRY,
)
AUDIT_EVENTS = Gauge("domchat_audit_chain_length", "Events in the audit hash chain.", registry=REGISTRY)
AUDIT_VERIFIED = Gauge("domchat_audit_last_verify_timestamp_seconds", "When the audit chain was last verified.", registry=REGISTRY)
AUDIT_OK = Gauge("domchat_audit_last_verify_ok", "1 if the last verify found the chain whole, 0 if broken.", registry=REGISTRY)

UP = Gauge("domchat_ready", "1 while the daemon can do its work (database current, last cycle not skipped).", registry=REGISTRY)

_IDS = re.compile(r"/-?\d+(?=/|$)")


def max_call(method: str, path: str, status: int) -> None:
    MAX_CALLS.labels(method=f"{method} {_IDS.sub('/{id}', path)}", status=str(status)).inc()
    if status == 429:
        MAX_RATE_LIMITED.inc()


def limiter_waited(seconds: float) -> None:
    MAX_LIMITER_WAIT.inc(max(seconds, 0.0))


def gis_message(operation: str, outcome: str, turnaround: float | None = None) -> None:
    """A message ended: `ok`, `empty`, `fault`, `resent` (EXP001000 or stuck) or `gave_up`."""
    GIS_MESSAGES.labels(operation=operation, outcome=outcome).inc()
    if turnaround is not None:
        GIS_TURNAROUND.labels(operation=operation).observe(turnaround)


def gis_poll(operation: str) -> None:
    GIS_POLLS.labels(operation=operation).inc()


def cycle_ended(outcome: str) -> None:
    """`outcome`: ok, degraded (a phase partly failed), pull_failed, failed, stopped (safety fuse),
    busy (lease held elsewhere), unavailable."""
    CYCLES.labels(outcome=outcome).inc()
    LAST_CYCLE.labels(outcome=outcome).set_to_current_time()


@contextmanager
def phase(name: str) -> Iterator[None]:
    """Time one phase of a cycle (updates, pull, read, plan, execute)."""
    started = time.monotonic()
    try:
        yield
    finally:
        PHASE_SECONDS.labels(phase=name).observe(time.monotonic() - started)


def action_done(kind: str, outcome: str, lag: float | None = None) -> None:
    """One action finished; `lag` is the delay past its due midnight for timeline actions."""
    ACTIONS.labels(kind=kind, outcome=outcome).inc()
    if lag is not None:
        HANDOVER_LAG.observe(max(lag, 0.0))


def lease_lost() -> None:
    LEASE_LOST.inc()


def code_rejected(reason: str) -> None:
    CODE_REJECTIONS.labels(reason=reason).inc()


@dataclass(frozen=True)
class State:
    """What the database says, set after each cycle."""

    pending: int
    oldest_pending_age: float
    conflicts: int | None
    """None: not known (no cycle planned): the gauge keeps its value."""
    bound: int
    unbound: int
    audit_events: int


def set_state(state: State) -> None:
    PENDING.set(state.pending)
    OLDEST_PENDING.set(state.oldest_pending_age)
    if state.conflicts is not None:
        CONFLICTS.set(state.conflicts)
    BUILDINGS.labels(chat="bound").set(state.bound)
    BUILDINGS.labels(chat="unbound").set(state.unbound)
    AUDIT_EVENTS.set(state.audit_events)


def audit_verified(ok: bool, at: float | None = None) -> None:
    AUDIT_VERIFIED.set(time.time() if at is None else at)
    AUDIT_OK.set(1 if ok else 0)


def exposition() -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(REGISTRY)


def write_textfile(path: Path) -> None:
    """For node_exporter's textfile collector: written whole to a temporary file, then renamed.

    Readable by everyone whatever the umask (the units set 0077): the file holds counts only,
    no personal data, and the collector runs as another user."""
    write_to_textfile(str(path), REGISTRY)
    path.chmod(0o644)


# The daemon's HTTP endpoint


class Health:
    """Liveness and readiness as the daemon's loop reports them; read by /healthz and /readyz."""

    def __init__(self, stale_after: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._stale_after = stale_after
        self._now = monotonic
        self._beat = monotonic()
        self._ready = False
        self._why = "starting"
        self._lock = threading.Lock()

    def beat(self) -> None:
        """The loop is turning (between cycles, and while it waits)."""
        with self._lock:
            self._beat = self._now()

    def set_ready(self, ready: bool, why: str = "") -> None:
        with self._lock:
            self._ready, self._why = ready, why
        UP.set(1 if ready else 0)

    def live(self) -> tuple[bool, str]:
        with self._lock:
            age = self._now() - self._beat
        if age > self._stale_after:
            return False, f"the loop has not turned for {age:.0f} s"
        return True, "ok"

    def ready(self) -> tuple[bool, str]:
        with self._lock:
            return self._ready, self._why or "ok"


class MetricsServer:
    """/metrics, /healthz (200 while the loop turns) and /readyz (200 while ready), in a thread."""

    def __init__(self, host: str, port: int, health: Health) -> None:
        handler = _handler(health)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, exposition(), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz"):
                ok, why = health.live() if path == "/healthz" else health.ready()
                self._answer(200 if ok else 503, (why + "\n").encode(), "text/plain; charset=utf-8")
            else:
                self._answer(404, b"not found\n", "text/plain; charset=utf-8")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes every few seconds are not worth a journal line each."""

    return Handler
