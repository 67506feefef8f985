"""Fault injection for the GIS ZhKH emulator: what goes wrong, how often, drawn from a seed."""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass
from typing import Any

from domchat.errors import WorldError

# World file keys (section `faults`) for each field; the command line overrides them one by one.
WORLD_KEYS = {
    "processing_delay": "gis_processing_delay",
    "exp001000_share": "gis_exp001000_share",
    "http_5xx_share": "gis_5xx_share",
    "slow_get_state": "gis_slow_get_state",
    "slow_get_state_share": "gis_slow_get_state_share",
    "truncated_share": "gis_truncated_share",
    "schema_violation_share": "gis_schema_violation_share",
    "stuck_share": "gis_stuck_share",
    "trickle_share": "gis_trickle_share",
    "trickle_interval": "gis_trickle_interval",
    "seed": "gis_fault_seed",
}


@dataclass(frozen=True)
class GisFaults:
    """Shares are probabilities per draw (0 never, 1 always)."""

    processing_delay: float | None = None
    """Seconds from the ack until a message is processed; None keeps the emulator's own."""
    exp001000_share: float = 0.0
    """Processed messages that end in `EXP001000` (the client must re-send a new message)."""
    http_5xx_share: float = 0.0
    """POSTs answered ``503 Service Unavailable`` with an HTML body, as a gateway does."""
    slow_get_state: float = 0.0
    """Seconds a slow `getState` waits before answering."""
    slow_get_state_share: float = 0.0
    """`getState` calls that are slow."""
    truncated_share: float = 0.0
    """Answers whose body is cut short: full Content-Length announced, half the bytes sent."""
    schema_violation_share: float = 0.0
    """Processed answers that carry an element the XSD does not allow."""
    stuck_share: float = 0.0
    """Messages that never leave state 2 (the client must re-send after its deadline)."""
    trickle_share: float = 0.0
    """Answers sent one byte at a time, `trickle_interval` apart (the client's answer deadline must end them)."""
    trickle_interval: float = 2.0
    """Seconds between the bytes of a trickled answer."""
    seed: int = 0
    """Seed of the draws, so that a run is repeatable."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name.endswith("_share") and not 0 <= v <= 1:
                raise WorldError(f"fault {f.name} must be between 0 and 1, got {v}")
            if f.name in ("slow_get_state", "processing_delay", "trickle_interval") and v is not None and v < 0:
                raise WorldError(f"fault {f.name} must not be negative, got {v}")

    @classmethod
    def from_world(cls, world: dict[str, Any], **overrides: Any) -> GisFaults:
        """The world file's `faults` section, with keyword overrides (None means "keep")."""
        section = world.get("faults") or {}
        values = {name: section[key] for name, key in WORLD_KEYS.items() if key in section}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class Dice:
    """Thread-safe seeded draws: the same seed and request order give the same faults."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self, share: float) -> bool:
        if share <= 0:
            return False
        with self._lock:
            return self._rng.random() < share
