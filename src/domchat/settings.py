"""Settings: dataclasses with a docstring per field, loaded from TOML and checked strictly.

Every section of the config file is one (pydantic) dataclass below; `config.example.toml`
documents the same fields for operators. pydantic turns the TOML into these types, strictly (a
string is not a number, `true` is not 1); a field's `check` and the checks of `_finish` add
what types cannot say. Loading names the first bad key and why (unknown key, wrong type, out of
range, missing file). Secrets are never read from the file itself: a setting names a
file holding the secret, or an environment variable supplies it, and the value is wrapped in
`Secret` so that it cannot reach a log line or a traceback by accident.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import ErrorDetails, PydanticCustomError
from sqlalchemy.engine import make_url

from domchat.errors import ConfigError
from domchat.permissions import Permission

DEFAULT_SCHEMAS_DIR = "../shared/reference/gis-zhkh/14.4.0.1"
GOSUSLUGI_DOM = "https://dom.gosuslugi.ru/"
"""GIS ZhKH's public portal, where residents give readings, pay, write to the manager and vote
(the Госуслуги.Дом app works on the same account); deeper addresses are not stable."""
"""Where the official GIS ZhKH package is looked for unless `gis.schemas_dir` says otherwise."""


class Secret:
    """A secret value that prints as ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def _check(check: Callable[[Any], str | None]) -> dict[str, Any]:
    return {"check": check}


def _positive(v: float) -> str | None:
    return None if v > 0 else "must be greater than 0"


def _share(v: float) -> str | None:
    return None if 0 <= v <= 1 else "must be between 0 and 1"


def _region_code(v: str) -> str | None:
    return None if len(v) == 2 and v.isdigit() else "must be a two-digit FIAS region code"


def _ogrns(v: list[str]) -> str | None:
    bad = [x for x in v if not (x.isdigit() and len(x) in (13, 15))]
    return f"not an OGRN/OGRNIP: {bad[0]!r}" if bad else None


_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,}$")


def _link(v: str) -> str | None:
    if not v or v.startswith(("https://", "http://", "tel:")) or _PHONE.match(v):
        return None
    return "must be an http(s) URL, a tel: link or a phone number (or empty: no button)"


def _zone(v: str) -> str | None:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {v!r}"
    return None


def _non_negative(v: float) -> str | None:
    return None if v >= 0 else "must not be negative"


def _backoff(v: list[float]) -> str | None:
    if len(v) != 2 or not 0 < v[0] <= v[1]:
        return "must be [first, largest] with 0 < first <= largest"
    return None


def _schedule(v: list[float]) -> str | None:
    if not v:
        return "must list at least one delay"
    return None if all(x > 0 for x in v) else "delays must be greater than 0"


def _permissions(v: list[str]) -> str | None:
    known = {p.value for p in Permission}
    bad = [x for x in v if x not in known]
    if bad:
        return f"unknown permission {bad[0]!r}"
    if ("write" in v or "pin_message" in v) and "read_all_messages" not in v:
        return "write and pin_message need read_all_messages"
    return None


def _no_password(where: str) -> Callable[[str], str | None]:
    """A URL must not carry a password: it would be printed in errors and stored in the audit."""

    def check(v: str) -> str | None:
        try:
            password = urlsplit(v).password
        except ValueError:
            return "not a URL"
        return None if password is None else f"carries a password: remove it and put it in {where}"

    return check


_STRICT = ConfigDict(extra="forbid")


class _Section:
    """What every section does besides its types: empty strings unset optional settings, relative
    paths are taken from the config's folder, and each field's `check` runs."""

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: Any, info: ValidationInfo) -> Any:
        assert info.field_name is not None
        annotation = cls.__pydantic_fields__[info.field_name].annotation  # type: ignore[attr-defined]
        return None if v == "" and type(None) in typing.get_args(annotation) else v

    @field_validator("*", mode="after")
    @classmethod
    def _from_config_folder(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, Path) and isinstance(info.context, dict) and "base" in info.context:
            p = v.expanduser()
            return p if p.is_absolute() else info.context["base"] / p
        return v

    @model_validator(mode="after")
    def _checks(self) -> Any:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            check = f.metadata.get("check")
            problem = check(getattr(self, f.name)) if check else None
            if problem:
                raise PydanticCustomError("check", "{problem}", {"key": f.name, "problem": problem})
        return self


@dataclass(frozen=True, config=_STRICT)
class RegionSettings(_Section):
    code: str = field(default="86", metadata=_check(_region_code))
    """Two-digit FIAS code of the region whose buildings domchat keeps."""
    name: str = ""
    """Human name of the region, shown in summaries."""
    authority_name: str = "орган жилищного надзора"
    """How chat cards name the authority that runs the chats (Russian, read by residents)."""
    licensees: list[str] = field(default_factory=list, metadata=_check(_ogrns))
    """OGRNs of the organisations whose licences and charters are pulled."""
    licensees_file: Path | None = None
    """A file with one OGRN per line, added to `licensees` (for long lists)."""
    hoas_file: Path | None = None
    """CSV `ogrn,fias_guid,address`: homeowners' associations and cooperatives of the region and
    the houses each manages under its charter (they hold no licence, so GIS lists them nowhere else)."""
    default_tz: str = field(default="Europe/Moscow", metadata=_check(_zone))
    """Zone used for a building when GIS ZhKH gives no OlsonTZ (audited as an assumption)."""


@dataclass(frozen=True, config=_STRICT)
class DatabaseSettings(_Section):
    url: str = field(default="sqlite:///domchat.db", metadata=_check(_no_password("database.password_file or DOMCHAT_DATABASE_PASSWORD")))
    """SQLAlchemy URL: ``sqlite:///path`` (embedded default) or ``postgresql+psycopg://…``."""
    password_file: Path | None = None
    """File holding the database password; or set DOMCHAT_DATABASE_PASSWORD."""


@dataclass(frozen=True, config=_STRICT)
class GisSettings(_Section):
    endpoint: str = field(
        default="https://api.dom.gosuslugi.ru", metadata=_check(_no_password("gis.password_file or DOMCHAT_GIS_PASSWORD"))
    )
    """Base URL of GIS ZhKH (production, SIT-01, SIT-02, a local stunnel, or the emulator)."""
    schemas_dir: Path = Path(DEFAULT_SCHEMAS_DIR)
    """The official integration package (the folder holding `lib/`, `house-management/`…)."""
    org_ppa_guid: str = ""
    """The authority's `orgPPAGUID`, sent in every `RequestHeader`."""
    username: str = ""
    """HTTP Basic user for the test stands (SIT-01/SIT-02); empty for none."""
    password_file: Path | None = None
    """File holding the HTTP Basic password; or set DOMCHAT_GIS_PASSWORD."""
    ca_bundle: Path | None = None
    """CA bundle to verify the server's certificate; system store when empty."""
    client_cert: Path | None = None
    """Client certificate (PEM) for TLS client authentication."""
    client_key: Path | None = None
    """Private key of `client_cert` when it is a separate file."""
    signer: str = field(
        default="none",
        metadata=_check(lambda v: None if v in ("none", "command") else "must be 'none' or 'command'"),
    )
    """How request bodies are signed: ``none`` or ``command`` (pipe through `signer_command`)."""
    signer_command: list[str] = field(default_factory=list)
    """Program and arguments that read an XML body on stdin and write it signed on stdout."""
    max_in_flight: int = field(default=16, metadata=_check(_positive))
    """Messages awaiting `getState` at once."""
    poll_schedule: list[float] = field(default_factory=lambda: [10.0, 60.0, 300.0, 900.0, 1800.0], metadata=_check(_schedule))
    """Seconds to wait before each `getState` poll; the last delay repeats."""
    message_deadline: float = field(default=7200.0, metadata=_check(_positive))
    """Seconds after which a message still not processed is re-sent as a new message."""
    timeout: float = field(default=120.0, metadata=_check(_positive))
    """Seconds one read of the socket may wait (connecting, or the next bytes of an answer)."""
    answer_deadline: float = field(default=900.0, metadata=_check(_positive))
    """Seconds one exchange may take from the request to the answer's last byte, however slowly it trickles in."""
    pull_budget: float = field(default=21600.0, metadata=_check(_positive))
    """Seconds a whole pull (every message, poll, re-send and retry) may take before it fails and the stored snapshot stays."""
    max_answer_bytes: int = field(default=512 * 1024 * 1024, metadata=_check(_positive))
    """Largest answer accepted; bigger ones fail as hostile."""
    pull_contracts: bool = True
    """Also pull management contracts (exportCAChData) of every licensed house, to date management from the contract."""
    pull_guest_grants: bool = False
    """Pull guest-access grants from domchat's provisional GIS-style service (not part of the official package)."""
    transport_attempts: int = field(default=5, metadata=_check(_positive))
    """HTTP attempts per exchange on connection errors, timeouts and 502/503/504 before giving up."""
    transport_backoff: list[float] = field(default_factory=lambda: [2.0, 120.0], metadata=_check(_backoff))
    """First and largest wait (seconds) between transport attempts: exponential, with full jitter."""
    max_resends: int = field(default=3, metadata=_check(_non_negative))
    """Times a message that failed with EXP001000 or got stuck is re-sent as a new message."""


@dataclass(frozen=True, config=_STRICT)
class MaxSettings(_Section):
    base_url: str = field(default="https://platform-api2.max.ru", metadata=_check(_no_password("max.token_file or DOMCHAT_MAX_TOKEN")))
    """MAX Bot API host."""
    token_file: Path | None = None
    """File holding the bot token; or set DOMCHAT_MAX_TOKEN."""
    ca_bundle: Path | None = None
    """CA bundle with the Ministry of Digital Development root; system store when empty."""
    rate_limit: float = field(default=30.0, metadata=_check(_positive))
    """The platform's limit in requests per second per bot token; the client keeps 10 % below it."""
    rate_share: float = field(default=1.0, metadata=_check(lambda v: None if 0 < v <= 1 else "must be greater than 0 and at most 1"))
    """Share of `rate_limit` this instance uses when several share one token without a shared limiter."""
    timeout: float = field(default=30.0, metadata=_check(_positive))
    """Seconds for one HTTP exchange."""
    retries: int = field(default=5, metadata=_check(lambda v: None if v >= 0 else "must be 0 or more"))
    """Retries of a call answered 429 or 5xx, or not answered, before it fails as unavailable."""
    backoff: float = field(default=0.5, metadata=_check(_positive))
    """Seconds before the first retry when the platform sends no Retry-After; doubles each retry."""
    backoff_max: float = field(default=30.0, metadata=_check(_positive))
    """Longest wait between two retries (a Retry-After above it is still honoured, up to 120 s)."""
    authority_accounts: list[int] = field(default_factory=list)
    """MAX user ids of the authority's accounts that create and own house chats."""
    update_types: list[str] = field(default_factory=list)
    """Update types asked for by long polling and the webhook subscription; all when empty."""
    poll_timeout: int = field(default=30, metadata=_check(lambda v: None if 0 <= v <= 90 else "must be between 0 and 90"))
    """Seconds one long poll (`GET /updates`) waits for updates; 0: no long polling, the daemon asks in each cycle."""
    webhook_url: str = ""
    """Public HTTPS URL (port 443) the platform posts updates to; `updates --mode webhook` subscribes it."""
    webhook_secret_file: Path | None = None
    """File holding the webhook secret ([A-Za-z0-9_-], 5-256 chars); or set DOMCHAT_MAX_WEBHOOK_SECRET."""
    webhook_host: str = "127.0.0.1"
    """Address the webhook receiver listens on (behind the TLS-terminating proxy)."""
    webhook_port: int = field(default=8443, metadata=_check(lambda v: None if 0 < v < 65536 else "must be a TCP port"))
    """Port the webhook receiver listens on."""
    webhook_path: str = field(default="/max/webhook", metadata=_check(lambda v: None if v.startswith("/") else "must start with /"))
    """Path the webhook receiver answers on; other paths get 404."""
    webhook_answer_within: float = field(default=25.0, metadata=_check(lambda v: None if 0 < v < 30 else "must be between 0 and 30"))
    """Seconds the receiver waits for updates to be stored before answering 503 (the platform waits 30)."""
    webhook_read_timeout: float = field(default=10.0, metadata=_check(_positive))
    """Seconds the webhook receiver waits for each read from a connection (an idle keep-alive connection is closed after it)."""
    webhook_request_deadline: float = field(default=30.0, metadata=_check(_positive))
    """Seconds a request may take to arrive whole at the webhook receiver (a slow drip is cut off)."""
    webhook_max_connections: int = field(default=64, metadata=_check(_positive))
    """Open connections the webhook receiver serves at once; more are answered 503 at once."""


@dataclass(frozen=True, config=_STRICT)
class ChatSettings(_Section):
    staff_permissions: list[str] = field(
        default_factory=lambda: ["read_all_messages", "add_remove_members", "change_chat_info", "pin_message", "write"],
        metadata=_check(_permissions),
    )
    """Rights of the managing organisation's enrolled staff (never ``add_admins``)."""
    authority_permissions: list[str] = field(
        default_factory=lambda: [
            "read_all_messages",
            "add_remove_members",
            "add_admins",
            "change_chat_info",
            "pin_message",
            "write",
        ],
        metadata=_check(_permissions),
    )
    """Rights of the authority's accounts."""
    repair_admin_drift: bool = True
    """Revoke admin rights nobody granted; when false they are only reported."""
    repair_member_drift: bool = True
    """Remove members nobody entitled (someone joining by the chat's link); when false they are only reported."""
    templates_dir: Path | None = None
    """Folder overriding the built-in Russian message templates, file by file."""
    binding_code_ttl_days: int = field(default=30, metadata=_check(_positive))
    """Days a chat binding code stays valid."""
    binding_code_attempts: int = field(default=5, metadata=_check(_positive))
    """Wrong codes a chat may post before the bot stops accepting codes there."""
    invite_ttl_days: int = field(default=14, metadata=_check(_positive))
    """Days a staff enrolment link stays valid."""
    resident_invite_ttl_days: int = field(default=60, metadata=_check(_positive))
    """Days a resident's personal invitation link stays valid."""
    invitation_webhook_url: str = ""
    """URL each new resident invitation is POSTed to as JSON (the authority's delivery channel); none when empty."""
    notices: bool = True
    """Post deadline reminders, owners' meetings and handovers to the house chats (docs/notices.md)."""
    notice_hour: int = field(default=10, metadata=_check(lambda v: None if 0 <= v <= 23 else "must be an hour, 0 to 23"))
    """Building-local hour from which a day's notices fall due."""
    notice_window_minutes: int = field(default=120, metadata=_check(_positive))
    """Minutes after `notice_hour` over which a day's notices are spread, building by building."""
    quiet_from: int = field(default=21, metadata=_check(lambda v: None if 0 <= v <= 23 else "must be an hour, 0 to 23"))
    """Building-local hour from which nothing is posted…"""
    quiet_until: int = field(default=9, metadata=_check(lambda v: None if 0 <= v <= 23 else "must be an hour, 0 to 23"))
    """…until this hour."""
    metering_days_before_end: int = field(default=2, metadata=_check(_positive))
    """Days before the meter-reading window's last day that the second reminder comes."""
    payment_days_before: int = field(default=3, metadata=_check(_positive))
    """Days before the payment deadline that its reminder comes."""
    meeting_days_before_end: int = field(default=2, metadata=_check(_positive))
    """Days before an owners' meeting stops taking decisions that its reminder comes."""
    meter_readings_link: str = field(default=GOSUSLUGI_DOM, metadata=_check(_link))
    """Where the card's «Передать показания» button leads (a URL or a phone); no button when empty."""
    payment_link: str = field(default=GOSUSLUGI_DOM, metadata=_check(_link))
    """Where the card's «Оплатить ЖКУ» button leads; no button when empty."""
    requests_link: str = field(default=GOSUSLUGI_DOM, metadata=_check(_link))
    """Where the card's «Обращение в УК» button leads; no button when empty."""
    voting_link: str = field(default=GOSUSLUGI_DOM, metadata=_check(_link))
    """Where the card's «Общие собрания» button leads; no button when empty."""
    dispatch_button: bool = True
    """Give the card a button that calls the manager's emergency dispatch (when GIS gives its phone)."""
    notices_per_cycle: int = field(default=1500, metadata=_check(_positive))
    """Most notices a cycle sends, after everything else: the next cycle's rights changes wait no longer behind them."""
    guess_limit_per_user: int = field(default=10, metadata=_check(_positive))
    """Wrong binding codes and unknown deep links one MAX user may send in a guess window; beyond it the bot is silent to them."""
    guess_limit_global: int = field(default=100, metadata=_check(_positive))
    """Wrong binding codes and unknown deep links from everyone together in a guess window; beyond it none is accepted."""
    guess_window: float = field(default=86400.0, metadata=_check(_positive))
    """Seconds the guess limits count over; the counts start afresh after it."""


@dataclass(frozen=True, config=_STRICT)
class SyncSettings(_Section):
    pull_interval: float = field(default=3600.0, metadata=_check(_positive))
    """Seconds between scheduled pulls from GIS ZhKH in the daemon."""
    updates_interval: float = field(default=30.0, metadata=_check(_positive))
    """Seconds between the daemon's cycles when nothing wakes it sooner (a boundary, updates, a pull stored)."""
    updates_check_interval: float = field(default=2.0, metadata=_check(_positive))
    """Seconds between the daemon's looks for updates another process stored (`updates --mode webhook`)."""
    max_removal_share: float = field(default=0.2, metadata=_check(_share))
    """A cycle that would remove more than this share of admins or members stops (see --force)."""
    fuse_floor: int = field(default=10, metadata=_check(_positive))
    """Fewer removals than this never stop a cycle, whatever their share (small regions, tests)."""
    full_reconcile_interval: float = field(default=86400.0, metadata=_check(_positive))
    """Seconds in which every bound chat is re-read from MAX (a slice each cycle, after its other
    work) and the contracts and charters from GIS ZhKH are read again (once)."""
    full_plan_interval: float = field(default=21600.0, metadata=_check(_positive))
    """Seconds after which the daemon plans every bound building again, as a safety net: between
    those it plans only the buildings whose data or chat changed, or that reached a boundary."""
    reread_calls: int = field(default=200, metadata=_check(_positive))
    """Most MAX calls a cycle spends re-reading chats (two a chat; 200 is about 7 s of the bot's rate)."""
    house_reread_interval: float = field(default=604800.0, metadata=_check(_positive))
    """Seconds in which every house's data (time zone, state) is re-read from GIS ZhKH, a slice each pull."""
    house_reread_slice: int = field(default=160, metadata=_check(_positive))
    """Most houses a pull re-reads (one exportHouseData each; 160 is ten rounds of 16 in flight)."""
    action_attempts: int = field(default=6, metadata=_check(_positive))
    """Calls an action may fail before it is given up as failed (audited, logged, in `status`)."""
    action_backoff: float = field(default=60.0, metadata=_check(_positive))
    """Seconds before the first retry of a failed action; doubled each time, with jitter."""
    action_backoff_cap: float = field(default=3600.0, metadata=_check(_positive))
    """Longest wait before retrying a failed action (a longer `Retry-After` is honoured)."""
    lease_ttl: float = field(default=600.0, metadata=_check(_positive))
    """Seconds a region's lease lasts unless renewed (renewed every third of it while a cycle runs)."""


@dataclass(frozen=True, config=_STRICT)
class AuditSettings(_Section):
    checkpoint_key_file: Path | None = None
    """Ed25519 private key (PEM, made by 'domchat audit keygen') that signs checkpoints of the audit chain's head; none: no checkpoints."""
    checkpoint_file: Path | None = None
    """File each signed checkpoint is appended to as a JSON line (required with checkpoint_key_file)."""
    lang: str = field(default="ru", metadata=_check(lambda v: None if v in ("ru", "en") else "must be ru or en"))
    """Language `audit list`, `audit export` and `history` read reasons, actions and outcomes in (stored events keep their keys)."""


@dataclass(frozen=True, config=_STRICT)
class LoggingSettings(_Section):
    level: str = field(
        default="info",
        metadata=_check(lambda v: None if v in ("debug", "info", "warning", "error") else "must be debug, info, warning or error"),
    )
    """Least severe level written."""
    json: bool = True
    """JSON lines (for journald) or a console format for people."""


def _listen(v: str) -> str | None:
    if v == "":
        return None
    host, sep, port = v.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        return "must be host:port (e.g. 127.0.0.1:9464), or empty for none"
    return None


@dataclass(frozen=True, config=_STRICT)
class MetricsSettings(_Section):
    listen: str = field(default="127.0.0.1:9464", metadata=_check(_listen))
    """Where the daemon serves /metrics, /healthz and /readyz (host:port; loopback by default); empty for none."""
    textfile: Path | None = None
    """File `sync --once` writes its metrics to, for node_exporter's textfile collector (a `*.prom` file in its folder)."""
    stale_after: float = field(default=900.0, metadata=_check(_positive))
    """Seconds without progress of the daemon's loop after which /healthz answers 503."""


@dataclass(frozen=True, config=_STRICT)
class StatusSettings(_Section):
    pull_age_warning: float = field(default=10800.0, metadata=_check(_positive))
    """Seconds since the last successful GIS pull after which `status --check` warns."""
    pull_age_critical: float = field(default=86400.0, metadata=_check(_positive))
    """Seconds since the last successful GIS pull (or never one) after which `status --check` is critical."""
    pending_warning: int = field(default=1000, metadata=_check(_positive))
    """Pending actions from which `status --check` warns."""
    pending_critical: int = field(default=10000, metadata=_check(_positive))
    """Pending actions from which `status --check` is critical."""
    oldest_pending_warning: float = field(default=3600.0, metadata=_check(_positive))
    """Age in seconds of the oldest pending action from which `status --check` warns."""
    oldest_pending_critical: float = field(default=21600.0, metadata=_check(_positive))
    """Age in seconds of the oldest pending action from which `status --check` is critical."""
    failed_actions_warning: int = field(default=1, metadata=_check(_positive))
    """Actions given up (failed for good) from which `status --check` warns."""
    failed_actions_critical: int = field(default=50, metadata=_check(_positive))
    """Actions given up from which `status --check` is critical."""


@dataclass(frozen=True, config=_STRICT)
class Settings:
    region: RegionSettings = field(default_factory=RegionSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    gis: GisSettings = field(default_factory=GisSettings)
    max: MaxSettings = field(default_factory=MaxSettings)
    chats: ChatSettings = field(default_factory=ChatSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    status: StatusSettings = field(default_factory=StatusSettings)
    source: Path | None = None
    """The file these settings came from (not a config key)."""

    # Secrets, resolved from files or the environment; never from the config file itself.

    def max_token(self, env: Mapping[str, str] = os.environ) -> Secret:
        return _secret("max.token_file", self.max.token_file, "DOMCHAT_MAX_TOKEN", env, required=True)

    def max_webhook_secret(self, env: Mapping[str, str] = os.environ) -> Secret:
        return _secret("max.webhook_secret_file", self.max.webhook_secret_file, "DOMCHAT_MAX_WEBHOOK_SECRET", env, required=False)

    def gis_password(self, env: Mapping[str, str] = os.environ) -> Secret:
        return _secret("gis.password_file", self.gis.password_file, "DOMCHAT_GIS_PASSWORD", env, required=bool(self.gis.username))

    def database_url(self, env: Mapping[str, str] = os.environ) -> str:
        """The database URL with its password filled in (keep it out of logs: see `redact_url`)."""
        override = env.get("DOMCHAT_DATABASE_URL")
        url = override or self.database.url
        pw = _secret("database.password_file", self.database.password_file, "DOMCHAT_DATABASE_PASSWORD", env, required=False)
        if pw:
            return make_url(url).set(password=pw.reveal()).render_as_string(hide_password=False)
        return url

    def all_hoas(self) -> list[tuple[str, str, str]]:
        """(OGRN, FIAS GUID, address) of each house an HOA manages, from `region.hoas_file`."""
        if self.region.hoas_file is None:
            return []
        rows = []
        text = read_text("region.hoas_file", self.region.hoas_file, encoding="utf-8-sig")
        for n, row in enumerate(csv.DictReader(text.splitlines()), start=2):
            ogrn, fias, address = (row.get(k, "") or "" for k in ("ogrn", "fias_guid", "address"))
            if _ogrns([ogrn.strip()]) or len(fias.strip()) != 36 or not address.strip():
                raise ConfigError("region.hoas_file", f"line {n}: expected ogrn,fias_guid,address with a valid OGRN and FIAS GUID")
            rows.append((ogrn.strip(), fias.strip().lower(), address.strip()))
        return rows

    def all_licensees(self) -> list[str]:
        extra: list[str] = []
        if self.region.licensees_file is not None:
            lines = read_text("region.licensees_file", self.region.licensees_file).splitlines()
            extra = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
            problem = _ogrns(extra)
            if problem:
                raise ConfigError("region.licensees_file", problem)
        return sorted(set(self.region.licensees) | set(extra))


def _secret(key: str, path: Path | None, var: str, env: Mapping[str, str], *, required: bool) -> Secret:
    if path is not None:
        return Secret(read_text(key, path).strip())
    if var in env:
        return Secret(env[var])
    if required:
        raise ConfigError(key, f"missing: set it to a file holding the secret, or set {var}")
    return Secret("")


def read_text(key: str, path: Path, encoding: str = "utf-8") -> str:
    """The text of a file a setting (or an option) names; an unreadable or non-UTF-8 one is named by its key."""
    try:
        return path.read_text(encoding=encoding)
    except OSError as e:
        raise ConfigError(key, f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(key, f"{path}: not UTF-8 text (byte {e.start})") from None


def redact_url(url: str) -> str:
    """`url` with any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown without anything after the scheme
        return url.split(":", 1)[0] + "://***"


# Loading


def load(path: Path | None, env: Mapping[str, str] = os.environ) -> Settings:
    """Read and check the config at `path` (or DOMCHAT_CONFIG); defaults when neither is given."""
    if path is None and env.get("DOMCHAT_CONFIG"):
        path = Path(env["DOMCHAT_CONFIG"])
    if path is None:
        return _finish(Settings(), base=Path.cwd())
    if not path.exists():
        raise ConfigError("--config", f"no such file: {path}")
    try:
        raw = tomllib.loads(read_text("--config", path))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError("--config", f"not valid TOML: {e}") from None
    settings = from_mapping(raw, base=path.parent.resolve())
    return _finish(dataclasses.replace(settings, source=path.resolve()), base=path.parent.resolve())


_SETTINGS = TypeAdapter(Settings)


def from_mapping(raw: Mapping[str, Any], base: Path) -> Settings:
    """Build `Settings` from parsed TOML; relative paths are taken from `base`."""
    if "source" in raw:
        raise ConfigError("source", "unknown section")
    # Strict validation of JSON input: TOML's strings, numbers, booleans, arrays and tables map
    # one to one, and a string is accepted for a path (as it is in JSON) but not for a number.
    # No setting takes a TOML date or time: they arrive as their text.
    try:
        return _SETTINGS.validate_json(json.dumps(raw, default=str), strict=True, context={"base": base})
    except ValidationError as e:
        raise _config_error(e.errors()[0]) from None


_EXPECTED = {
    "float": "must be a number",
    "int": "must be an integer",
    "bool": "must be true or false",
    "string": "must be a string",
    "list": "must be a list",
}


def _config_error(e: ErrorDetails) -> ConfigError:
    loc = list(e["loc"])
    if e["type"] == "check":
        loc.append(e.get("ctx", {})["key"])
    key = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in loc).lstrip(".")
    kind = e["type"].split("_")[0]
    if e["type"] == "check":
        return ConfigError(key, e["msg"])
    if e["type"] == "unexpected_keyword_argument":
        return ConfigError(key, "unknown section" if len(loc) == 1 else "unknown key")
    if e["type"] == "dataclass_type":
        return ConfigError(key, f"must be a table ([{key}])")
    if kind in _EXPECTED:
        return ConfigError(key, f"{_EXPECTED[kind]}, got {_kind(e['input'])}")
    return ConfigError(key, e["msg"][:1].lower() + e["msg"][1:])


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__
    )


def _finish(s: Settings, base: Path) -> Settings:
    """Checks that need the whole file: files that must exist, the default schema folder."""
    gis = s.gis
    if gis.schemas_dir == Path(DEFAULT_SCHEMAS_DIR):
        gis = dataclasses.replace(gis, schemas_dir=default_schemas_dir())
    for key, p in (
        ("region.licensees_file", s.region.licensees_file),
        ("region.hoas_file", s.region.hoas_file),
        ("database.password_file", s.database.password_file),
        ("gis.password_file", gis.password_file),
        ("gis.ca_bundle", gis.ca_bundle),
        ("gis.client_cert", gis.client_cert),
        ("gis.client_key", gis.client_key),
        ("max.token_file", s.max.token_file),
        ("max.ca_bundle", s.max.ca_bundle),
        ("max.webhook_secret_file", s.max.webhook_secret_file),
        ("audit.checkpoint_key_file", s.audit.checkpoint_key_file),
    ):
        if p is not None and not p.is_file():
            raise ConfigError(key, f"no such file: {p}")
    if s.metrics.textfile is not None and not s.metrics.textfile.parent.is_dir():
        raise ConfigError("metrics.textfile", f"no such folder: {s.metrics.textfile.parent}")
    if s.chats.templates_dir is not None and not s.chats.templates_dir.is_dir():
        raise ConfigError("chats.templates_dir", f"no such folder: {s.chats.templates_dir}")
    if not (gis.schemas_dir / "lib" / "hcs-base.xsd").is_file():
        if s.gis.schemas_dir == Path(DEFAULT_SCHEMAS_DIR) and not os.environ.get(SCHEMAS_ENV):
            raise ConfigError(
                "gis.schemas_dir",
                f"the GIS ZhKH integration package is not at the default {gis.schemas_dir}: "
                f"set gis.schemas_dir in the config, or {SCHEMAS_ENV}, to the unpacked folder (the one holding lib/)",
            )
        raise ConfigError("gis.schemas_dir", f"not a GIS ZhKH integration package (no lib/hcs-base.xsd): {gis.schemas_dir}")
    if gis.signer == "command" and not gis.signer_command:
        raise ConfigError("gis.signer_command", "required when gis.signer = 'command'")
    if s.audit.checkpoint_key_file is not None and s.audit.checkpoint_file is None:
        raise ConfigError("audit.checkpoint_file", "required with audit.checkpoint_key_file")
    if "add_admins" in s.chats.staff_permissions:
        raise ConfigError("chats.staff_permissions", "staff never get add_admins (least privilege)")
    return dataclasses.replace(s, gis=gis)


SCHEMAS_ENV = "DOMCHAT_GIS_SCHEMAS_DIR"


def default_schemas_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The package used when `gis.schemas_dir` is not set: $DOMCHAT_GIS_SCHEMAS_DIR, else
    `../shared/reference/gis-zhkh/14.4.0.1` from the working directory, else, when running from
    a source checkout, from the checkout. An installed wheel has no checkout: its files sit in
    the virtual environment, where no package is to be looked for."""
    if env.get(SCHEMAS_ENV):
        return Path(env[SCHEMAS_ENV]).resolve()
    here = Path(DEFAULT_SCHEMAS_DIR)
    if (here / "lib" / "hcs-base.xsd").is_file():
        return here.resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "src" / "domchat").is_dir():
        return (checkout / DEFAULT_SCHEMAS_DIR).resolve()
    return here.resolve()
