"""Fault injection for the GIS ZhKH emulator: what goes wrong, how often, drawn from a seed."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from domchat.errors import WorldError


@dataclass(frozen=True)
class Knob:
    """How one fault is set: its world file key (section `faults`), which is also its command-line
    flag (`gis_5xx_share` → `--gis-5xx-share`), what it means, and the values it takes."""

    key: str
    help: str
    kind: type[float] | type[int] = float
    minimum: float | None = 0.0
    maximum: float | None = None

    @property
    def flag(self) -> str:
        return "--" + self.key.replace("_", "-")


def _knob(
    default: Any, key: str, help: str, *, kind: type[float] | type[int] = float, minimum: float | None = 0.0, maximum: float | None = None
) -> Any:
    return dataclasses.field(default=default, metadata={"knob": Knob(key, help, kind, minimum, maximum)})


def _share(key: str, help: str) -> Any:
    return _knob(0.0, key, help, maximum=1.0)


@dataclass(frozen=True)
class GisFaults:
    """Each field is one knob, defined here only: the world schema's `faults` section, the flags
    of `domchat emulate` and the checks below are derived from it. Shares are probabilities per
    draw (0 never, 1 always)."""

    processing_delay: float | None = _knob(
        None, "gis_processing_delay", "Seconds from the ack until a message is processed (absent: the emulator's own)."
    )
    exp001000_share: float = _share("gis_exp001000_share", "Share of processed messages ending in EXP001000 (the client must re-send).")
    http_5xx_share: float = _share("gis_5xx_share", "Share of POSTs answered 503 with an HTML body, as a gateway does.")
    slow_get_state: float = _knob(0.0, "gis_slow_get_state", "Seconds a slow getState waits before answering.")
    slow_get_state_share: float = _share("gis_slow_get_state_share", "Share of getState calls that are slow.")
    truncated_share: float = _share(
        "gis_truncated_share", "Share of answers cut short: full Content-Length announced, half the bytes sent."
    )
    schema_violation_share: float = _share(
        "gis_schema_violation_share", "Share of processed answers carrying an element the XSD does not allow."
    )
    stuck_share: float = _share(
        "gis_stuck_share", "Share of messages that never leave state 2 (the client must re-send after its deadline)."
    )
    trickle_share: float = _share(
        "gis_trickle_share",
        "Share of answers sent one byte at a time, gis_trickle_interval apart (the client's answer deadline must end them).",
    )
    trickle_interval: float = _knob(2.0, "gis_trickle_interval", "Seconds between the bytes of a trickled answer.")
    seed: int = _knob(0, "gis_fault_seed", "Seed of the draws, so that a run is repeatable.", kind=int, minimum=None)

    def __post_init__(self) -> None:
        for name, knob in knobs():
            v = getattr(self, name)
            if v is None:
                continue
            if (knob.minimum is not None and v < knob.minimum) or (knob.maximum is not None and v > knob.maximum):
                raise WorldError(f"fault {name} ({knob.key}) must be {_range(knob)}, got {v}")

    @classmethod
    def from_world(cls, world: dict[str, Any], **overrides: Any) -> GisFaults:
        """The world file's `faults` section, with keyword overrides by field name (None means "keep")."""
        section = world.get("faults") or {}
        values = {name: section[knob.key] for name, knob in knobs() if knob.key in section}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def knobs() -> Iterator[tuple[str, Knob]]:
    """Every fault: its GisFaults field and its knob."""
    for f in dataclasses.fields(GisFaults):
        yield f.name, f.metadata["knob"]


def _range(knob: Knob) -> str:
    if knob.maximum is not None:
        return f"between {knob.minimum:g} and {knob.maximum:g}"
    return f"at least {knob.minimum:g}"


def schema_properties() -> dict[str, dict[str, Any]]:
    """The knobs' entries in the world schema's `faults` section."""
    out = {}
    for _, knob in knobs():
        prop: dict[str, Any] = {"type": "integer" if knob.kind is int else "number", "description": knob.help}
        if knob.minimum is not None:
            prop["minimum"] = knob.minimum
        if knob.maximum is not None:
            prop["maximum"] = knob.maximum
        out[knob.key] = prop
    return out


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
