"""Use cases around notices to houses (docs/notices.md): which are due, coverage, turning a kind off."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlmodel import Session

from domchat.app.wiring import App
from domchat.domain.notices import NoticeKind
from domchat.errors import ConfigError, DomchatError
from domchat.storage import notices as store
from domchat.sync import notices as notifying


def _config(app: App) -> notifying.NoticeConfig:
    if not app.settings.chats.notices:
        raise ConfigError("chats.notices", "notices are turned off in the configuration")
    return app.notice_config()


def notices_due(app: App, at: datetime, building: str | None = None) -> list[dict[str, Any]]:
    """The notices due on each bound building's local day at `at` (kinds turned off left out),
    each with its state if it was stored before. Changes nothing."""
    cfg = _config(app)
    with Session(app.ready_db()) as s:
        inputs = notifying.load_inputs(s)
        found, _ = notifying.due(inputs, at, cfg)
        stored = store.states(s, [f.key for f in found])
    wanted = building.lower() if building else None
    return [
        {
            "key": f.key,
            "kind": f.kind.value,
            "building": f.building,
            "chat_id": f.chat_id,
            "due_at": f.due_at.isoformat(),
            "until": f.until.isoformat(),
            "state": stored.get(f.key, "new"),
        }
        for f in found
        if wanted is None or f.building == wanted
    ]


def notices_coverage(app: App) -> dict[str, Any]:
    """How many bound buildings get deadline reminders today, and why the others do not."""
    cfg = _config(app)
    with Session(app.ready_db()) as s:
        inputs = notifying.load_inputs(s)
    _, without = notifying.due(inputs, app.clock.now(), cfg)
    bound = len(inputs.domain.bindings)
    return {"bound": bound, "with_reminders": bound - len(without), "without": dict(Counter(without.values())), "buildings": without}


def notices_switch(app: App, kind: str, building: str | None, *, off: bool, operator: str) -> bool:
    """Turn a kind of notice off (or on) for the region or one building; audited. Whether it changed."""
    try:
        k = NoticeKind(kind)
    except ValueError:
        raise ConfigError("--kind", f"unknown kind {kind!r}; one of {', '.join(k.value for k in NoticeKind)}") from None
    where = ""
    if building is not None:
        where = building.lower()
        with Session(app.ready_db()) as s:
            if notifying.load_inputs(s).domain.buildings.get(where) is None:
                raise DomchatError(f"unknown building {where}: not in the stored GIS snapshot")
    return notifying.turn(app.ready_db(), k, where, off=off, actor=operator, at=app.clock.now())
