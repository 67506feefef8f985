"""Wiring: settings → database, clients, templates and policy, for every use case."""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TextIO

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domchat import logs, notify
from domchat import settings as settings_mod
from domchat.clock import Clock, FixedClock, SystemClock
from domchat.domain import reasons
from domchat.domain import templates as templates_mod
from domchat.domain.model import Permission, Policy
from domchat.domain.notices import NoticeRules
from domchat.errors import ConfigError, DomchatError
from domchat.gis_client.client import GisClient
from domchat.max_client.client import MaxClient
from domchat.max_client.ratelimit import client_rate
from domchat.settings import Settings
from domchat.storage import db, repo
from domchat.storage.db import transaction
from domchat.storage.ratelimit import DatabaseRateLimiter
from domchat.sync.engine import EngineConfig
from domchat.sync.executor import RetryPolicy
from domchat.sync.guessing import GuessLimits
from domchat.sync.notices import NoticeConfig
from domchat.sync.pull import Hoa

log = structlog.get_logger("domchat")

BOT_BOOKMARK = "max.bot"


def operator_name(given: str | None) -> str:
    """Who runs an operator command: `--operator`, else the login name."""
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


@dataclass
class App:
    settings: Settings
    clock: Clock
    _db: Engine | None = field(default=None, repr=False)

    @property
    def db(self) -> Engine:
        if self._db is None:
            self._db = db.make_engine(self.settings.database_url())
        return self._db

    def ready_db(self) -> Engine:
        db.require_current(self.db)
        return self.db

    def templates(self) -> templates_mod.Templates:
        return templates_mod.load(self.settings.chats.templates_dir)

    def gis(self) -> GisClient:
        return GisClient(self.settings.gis, password=self.settings.gis_password(), sleep=notify.sleep)

    def max(self) -> MaxClient:
        token = self.settings.max_token()
        limiter = None
        if self.db.dialect.name == "postgresql":
            # Several instances may share the token: they share its rate through the database.
            name = "max:" + hashlib.sha256(token.reveal().encode()).hexdigest()[:16]
            limiter = DatabaseRateLimiter(self.ready_db(), name, client_rate(replace(self.settings.max, rate_share=1.0)))
        return MaxClient(self.settings.max, token, limiter=limiter, sleep=notify.sleep)

    def policy(self, bot_user_id: int) -> Policy:
        c = self.settings.chats
        return Policy(
            bot_user_id=bot_user_id,
            authority_accounts=frozenset(self.settings.max.authority_accounts),
            staff_permissions=frozenset(Permission(p) for p in c.staff_permissions),
            authority_permissions=frozenset(Permission(p) for p in c.authority_permissions),
            repair_admin_drift=c.repair_admin_drift,
            repair_member_drift=c.repair_member_drift,
            authority_name=self.settings.region.authority_name,
            services=self.services(),
            dispatch_button=self.templates().reason("button_dispatch") if c.dispatch_button else "",
        )

    def services(self) -> tuple[tuple[str, str], ...]:
        """(button text, URL) of the residents' services on the card; a phone becomes a tel: link."""
        c, t = self.settings.chats, self.templates()
        links = (
            ("button_meter_readings", c.meter_readings_link),
            ("button_payment", c.payment_link),
            ("button_requests", c.requests_link),
            ("button_voting", c.voting_link),
        )
        return tuple((t.reason(key), _target(link)) for key, link in links if link)

    def _known_bot(self) -> tuple[int | None, str]:
        with Session(self.ready_db()) as s:
            known = repo.get_bookmark(s, BOT_BOOKMARK)
        if not known:
            return None, ""
        uid, _, name = known.partition(":")
        return int(uid), name

    def bot_user_id(self, platform: MaxClient | None = None) -> int:
        """The bot's MAX user id: asked once with /me, then remembered in the database."""
        known, _ = self._known_bot()
        if known is not None:
            return known
        if platform is None:
            raise DomchatError("the bot's identity is not known yet: run 'domchat sync --once' first")
        me = platform.me()
        with transaction(self.db) as s:
            repo.set_bookmark(s, BOT_BOOKMARK, f"{me.user_id}:{me.username or ''}", self.clock.now())
        return me.user_id

    def bot_username(self, platform: MaxClient) -> str:
        self.bot_user_id(platform)
        name = self._known_bot()[1]
        if not name:
            raise DomchatError("the bot has no username on MAX: deep links cannot be made")
        return name

    def engine_config(self, bot_user_id: int) -> EngineConfig:
        s = self.settings
        return EngineConfig(
            region=s.region.code,
            default_tz=s.region.default_tz,
            licensees=s.all_licensees(),
            policy=self.policy(bot_user_id),
            templates=self.templates(),
            max_removal_share=s.sync.max_removal_share,
            fuse_floor=s.sync.fuse_floor,
            reconcile_interval=timedelta(seconds=s.sync.full_reconcile_interval),
            code_attempts=s.chats.binding_code_attempts,
            pull_grants=s.gis.pull_guest_grants,
            pull_contracts=s.gis.pull_contracts,
            hoas=tuple(Hoa(*row) for row in s.all_hoas()),
            poll_updates=not s.max.webhook_url,
            bot_username=self._known_bot()[1],
            resident_invite_ttl_days=s.chats.resident_invite_ttl_days,
            notices=self.notice_config() if s.chats.notices else None,
            retry=RetryPolicy(
                s.sync.action_attempts, timedelta(seconds=s.sync.action_backoff), timedelta(seconds=s.sync.action_backoff_cap)
            ),
            lease_ttl=timedelta(seconds=s.sync.lease_ttl),
            reread_calls=s.sync.reread_calls,
            house_interval=timedelta(seconds=s.sync.house_reread_interval),
            house_slice=s.sync.house_reread_slice,
            guess_limits=GuessLimits(s.chats.guess_limit_per_user, s.chats.guess_limit_global, timedelta(seconds=s.chats.guess_window)),
        )

    def notice_config(self) -> NoticeConfig:
        c = self.settings.chats
        rules = NoticeRules(
            window_start=time(c.notice_hour),
            window=timedelta(minutes=c.notice_window_minutes),
            quiet_start=time(c.quiet_from),
            quiet_end=time(c.quiet_until),
            metering_days_before_end=c.metering_days_before_end,
            payment_days_before=c.payment_days_before,
            meeting_days_before_end=c.meeting_days_before_end,
        )
        problems = rules.problems()
        if problems:
            raise ConfigError("chats.notice_hour", "; ".join(problems))
        return NoticeConfig(rules=rules, templates=self.templates(), batch=c.notices_per_cycle)


def _target(link: str) -> str:
    if link.startswith(("https://", "http://", "tel:")):
        return link
    return "tel:" + "".join(ch for ch in link if ch.isdigit() or ch == "+")


def open_app(config: Path | None, now: datetime | None = None) -> App:
    s = settings_mod.load(config)
    return App(settings=s, clock=FixedClock(now) if now is not None else SystemClock())


def start(config: Path | None, now: datetime | None = None, log_stream: TextIO | None = None) -> App:
    """`open_app`, logging as the config says to `log_stream` (else stderr, keeping stdout for output)."""
    app = open_app(config, now)
    logs.configure(app.settings.logging.level, json=app.settings.logging.json, stream=log_stream)
    return app


@contextmanager
def clients(app: App, *, with_gis: bool = True) -> Iterator[tuple[GisClient | None, MaxClient]]:
    gis = app.gis() if with_gis else None
    platform = app.max()
    try:
        yield gis, platform
    finally:
        platform.close()
        if gis is not None:
            gis.close()


# Use cases


def upgrade_db(app: App) -> str:
    return db.upgrade(app.db)


def check_config(config: Path | None) -> Settings:
    """Load the config and everything it names; raise the first problem found."""
    s = settings_mod.load(config)
    s.max_token()
    s.gis_password()
    s.all_licensees()
    s.all_hoas()
    templates_mod.load(s.chats.templates_dir)  # checks every template it loads
    reasons.load("ru", s.chats.templates_dir)  # the auditors' words, as the authority may have overridden them
    db.make_engine(s.database_url())
    return s


def schemas_dir(config: Path | None) -> Path:
    """The GIS ZhKH package the emulator serves: the config's, else the default."""
    return settings_mod.load(config).gis.schemas_dir
