"""Why something was done, as the audit trail stores it: stable keys with parameters, rendered in
Russian (or English) only when read.

A stored reason is one or more parts joined by ``"; "``; a part is a key, optionally followed by a
space and a JSON object of its parameters: ``ex_staff {"org":"1027700000000"}; manager {…}``.
Keys never change meaning, so an event hashed years ago still renders in today's words, and an
authority can word them its own way (`audit.txt` in `chats.templates_dir`). Events stored before
reasons had keys hold free English text; it does not parse, and is shown as stored.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from domchat.errors import ConfigError

PARAMS: dict[str, frozenset[str]] = {
    # Why the manager is who it is (appended to the reasons of changes that follow from it).
    "manager": frozenset({"org", "since", "bases", "documents"}),
    "conflict": frozenset({"day", "orgs"}),
    "no_manager": frozenset(),
    # The planner.
    "ex_staff": frozenset({"org"}),
    "manager_staff": frozenset({"org"}),
    "authority_account": frozenset(),
    "admin_drift": frozenset(),
    "admin_drift_reported": frozenset(),
    "member_drift": frozenset(),
    "member_drift_reported": frozenset(),
    "ex_resident": frozenset({"grant"}),
    "members_authority": frozenset(),
    "members_staff": frozenset(),
    "members_residents": frozenset(),
    "title_from_address": frozenset(),
    "building_card": frozenset(),
    # The executor.
    "gave_up": frozenset({"attempts", "detail"}),
    "late": frozenset({"delay", "due"}),
    "settled_done": frozenset(),
    "settled_obsolete": frozenset(),
    "not_a_member": frozenset(),
    "platform_refused": frozenset({"users"}),
    # Answers to updates and what they change.
    "answer_to_update": frozenset(),
    "code_attempts": frozenset({"failures"}),
    "code_unknown": frozenset(),
    "code_expired": frozenset({"at"}),
    "owner_unreadable": frozenset({"detail"}),
    "owner_not_authority": frozenset({"owner"}),
    "building_bound": frozenset(),
    "chat_bound": frozenset(),
    "code_posted": frozenset({"by"}),
    "guess_limit_user": frozenset({"failures", "user", "window", "what", "until"}),
    "guess_limit_all": frozenset({"failures", "window", "what", "until"}),
    "bot_removed": frozenset(),
    "bot_back": frozenset(),
    "enrol_link_unknown": frozenset(),
    "enrol_link_expired": frozenset({"at"}),
    "link_issued_by": frozenset({"by"}),
    "invitation_not_staff": frozenset(),
    "invitation_asked": frozenset(),
    "invitation_unknown": frozenset(),
    "invitation_expired": frozenset({"at"}),
    "grant_not_active": frozenset({"grant", "status"}),
    "join_link_sent": frozenset({"code"}),
    "resident_left": frozenset(),
    # GIS ZhKH.
    "gis_unavailable": frozenset({"detail"}),
    "pull_partial": frozenset({"detail"}),
    "record_skipped": frozenset({"what", "ident", "why"}),
    "tz_assumed": frozenset({"tz"}),
    "from_gis": frozenset(),
    "empty_answer_kept": frozenset({"basis", "org", "stored"}),
    "documents": frozenset({"basis", "documents"}),
    "grant_unknown_building": frozenset({"grant"}),
    "grant_unstorable": frozenset({"grant", "problem"}),
    "grant_from": frozenset({"grant", "source"}),
    # Notices to residents.
    "notice": frozenset({"kind"}),
    "notice_expired": frozenset({"notice", "until"}),
    "notices_building": frozenset({"kind", "building"}),
    "notices_region": frozenset({"kind"}),
    # Cycles and operators.
    "cycle_events": frozenset({"first", "last"}),
    "fuse": frozenset({"count", "total", "what", "share", "limit"}),
    "forced": frozenset(),
    "conflict_frozen": frozenset({"day", "orgs"}),
    "codes_issued": frozenset(),
    "enrol_link_issued": frozenset(),
    "invitations_issued": frozenset(),
}
"""Every reason key and the parameters it carries (the templates may use these and no others)."""

Param = str | int | list[str]
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_JSON = json.JSONDecoder()


def because(key: str, **params: Param) -> str:
    """One part of a stored reason."""
    if key not in PARAMS or set(params) != PARAMS[key]:
        raise ValueError(f"reason {key!r} takes {sorted(PARAMS.get(key, ()))}, not {sorted(params)}")
    return f"{key} {json.dumps(params, ensure_ascii=False, sort_keys=True, separators=(',', ':'))}" if params else key


def joined(*parts: str) -> str:
    """Parts (made by `because`) as one stored reason; empty parts are left out."""
    return "; ".join(p for p in parts if p)


def parse(stored: str) -> list[tuple[str, dict[str, Any]]] | None:
    """The parts of a stored reason, or None if it is free text (an event from before keys)."""
    parts: list[tuple[str, dict[str, Any]]] = []
    i = 0
    while True:
        m = _KEY.match(stored, i)
        if m is None or m.group() not in PARAMS:
            return None
        i, params = m.end(), dict[str, Any]()
        if stored.startswith(" {", i):
            try:
                params, i = _JSON.raw_decode(stored, i + 1)
            except ValueError:
                return None
        parts.append((m.group(), params))
        if i == len(stored):
            return parts
        if not stored.startswith("; ", i):
            return None
        i += 2


def _text(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


@dataclass(frozen=True)
class AuditTexts:
    """The words of one language for reasons, action names and outcomes."""

    lang: str
    reasons: Mapping[str, str]
    actions: Mapping[str, str]
    outcomes: Mapping[str, str]

    def reason(self, stored: str) -> str:
        """`stored` in this language; free text, or anything that will not render, as stored."""
        parts = parse(stored)
        if parts is None:
            return stored
        out = []
        for key, params in parts:
            try:
                out.append(string.Template(self.reasons[key]).substitute({k: _text(v) for k, v in params.items()}))
            except (KeyError, ValueError):
                return stored
        return "; ".join(out)

    def action(self, name: str) -> str:
        return self.actions.get(name, name)

    def outcome(self, name: str) -> str:
        return self.outcomes.get(name, name)

    def check(self, where: str) -> None:
        """Every key has a text, and each text uses only its key's parameters."""
        for key, params in PARAMS.items():
            if key not in self.reasons:
                raise ConfigError(where, f"no text for reason.{key}")
            try:
                string.Template(self.reasons[key]).substitute(dict.fromkeys(params, "x"))
            except KeyError as e:
                raise ConfigError(where, f"reason.{key}: unknown placeholder ${e.args[0]}") from None
            except ValueError as e:
                raise ConfigError(where, f"reason.{key}: {e}") from None


LANGS = ("ru", "en")
FILE = "audit.txt"


def load(lang: str, override_dir: Path | None = None) -> AuditTexts:
    """The built-in texts of `lang`; for Russian, `override_dir/audit.txt` replaces them if present."""
    if lang not in LANGS:
        raise ConfigError("--lang", f"must be one of {', '.join(LANGS)}")
    override = override_dir / FILE if override_dir is not None and lang == "ru" else None
    if override is not None and override.is_file():
        text, where = override.read_text(encoding="utf-8"), f"chats.templates_dir: {FILE}"
    else:
        text, where = resources.files("domchat.templates").joinpath(lang, FILE).read_text(encoding="utf-8"), f"template {lang}/{FILE}"
    groups: dict[str, dict[str, str]] = {"reason": {}, "action": {}, "outcome": {}}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        group, dot, key = name.strip().partition(".")
        if not sep or not dot or group not in groups or not key:
            raise ConfigError(where, f"line {n}: expected 'reason.KEY = text', 'action.NAME = text' or 'outcome.NAME = text'")
        groups[group][key] = value.strip()
    texts = AuditTexts(lang, groups["reason"], groups["action"], groups["outcome"])
    texts.check(where)
    return texts
