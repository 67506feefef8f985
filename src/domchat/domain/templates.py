"""The Russian texts residents and staff read, from templates an authority can override.

Built-in templates live in `domchat/templates/ru/`; a file of the same name in
`chats.templates_dir` replaces one. Placeholders use `string.Template` syntax (``$address``),
so a template can never run code. Loading is the only I/O here; rendering is pure.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from domchat.errors import ConfigError

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "title": frozenset({"address"}),
    "card": frozenset({"address", "org_name", "org_phone", "dispatch_phone", "authority_name"}),
    "card_no_manager": frozenset({"address", "authority_name"}),
    "binding_accepted": frozenset({"address"}),
    "binding_refused": frozenset({"reason"}),
    "enrolment_accepted": frozenset({"org_name"}),
    "enrolment_refused": frozenset({"reason"}),
    "invitation_accepted": frozenset({"address", "premises"}),
    "invitation_refused": frozenset({"reason"}),
    "join_link": frozenset({"address", "link"}),
    "invitation_for_staff": frozenset({"premises", "days", "link"}),
    "metering_opens": frozenset({"first", "last", "month"}),
    "metering_closes": frozenset({"last", "month"}),
    "payment_due": frozenset({"deadline", "month"}),
    "meeting_absentee": frozenset({"kind", "decisions_from", "decisions_until", "resolution_place", "agenda"}),
    "meeting_in_person": frozenset({"kind", "meeting_at", "place", "agenda"}),
    "meeting_mixed": frozenset({"kind", "meeting_at", "place", "decisions_from", "decisions_until", "resolution_place", "agenda"}),
    "meeting_reminder": frozenset({"decisions_until", "resolution_place"}),
    "meeting_reminder_in_person": frozenset({"meeting_at", "place"}),
    "meeting_outcome": frozenset({"protocol", "protocol_date", "quorum", "decisions"}),
    "handover": frozenset({"address", "org_name", "since", "org_phone", "dispatch_phone"}),
}
"""The values domchat passes to each template: an override may use these and no others."""
NAMES = tuple(PLACEHOLDERS)
REASONS = "reasons"


@dataclass(frozen=True)
class Templates:
    texts: Mapping[str, str]
    reasons: Mapping[str, str]

    def render(self, name: str, **values: str) -> str:
        try:
            return string.Template(self.texts[name]).substitute(values).strip()
        except KeyError as e:
            raise ConfigError(f"template {name}", f"unknown placeholder ${e.args[0]}") from None
        except ValueError as e:
            raise ConfigError(f"template {name}", str(e)) from None

    def reason(self, key: str) -> str:
        return self.reasons.get(key, key)

    def check(self) -> None:
        """Render every template with the values domchat passes to it; name the first that fails."""
        for name, keys in PLACEHOLDERS.items():
            try:
                self.render(name, **dict.fromkeys(keys, "x"))
            except ConfigError as e:
                raise ConfigError(f"chats.templates_dir: {name}.txt", e.problem) from None


def load(override_dir: Path | None = None) -> Templates:
    builtin = resources.files("domchat.templates").joinpath("ru")
    texts: dict[str, str] = {}
    for name in (*NAMES, REASONS):
        path = override_dir / f"{name}.txt" if override_dir is not None else None
        if path is not None and path.is_file():
            texts[name] = path.read_text(encoding="utf-8")
        else:
            texts[name] = builtin.joinpath(f"{name}.txt").read_text(encoding="utf-8")
    reasons = _parse_reasons(texts.pop(REASONS))
    loaded = Templates(texts=texts, reasons=reasons)
    loaded.check()
    return loaded


def _parse_reasons(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError("template reasons", f"line {n}: expected 'key = text'")
        out[key.strip()] = value.strip()
    return out
