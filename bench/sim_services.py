"""Simulated MAX and GIS ZhKH behind the engine's ports (`sync.ports`), on a virtual clock.

The clock is charged with the process's CPU time as well as with every sleep: a cycle that
spends 7 s planning moves simulated time on by 7 s, as it would on a dedicated core, so a slow
engine shows as late handovers instead of hiding inside a frozen clock.

The services model what the real adapters and services do to time, not their wire formats:

* MAX: the client's token bucket (`max_client.ratelimit.TokenBucket` itself, at 90 % of the
  platform's rate), network latency, the platform's own 30/s bucket answering 429, a share of
  5xx answers, and the client's retry rules (429 always; 5xx only for idempotent calls, with
  exponential equal-jitter backoff; a failed `POST /messages` raises `MaxUnavailable`).
* GIS: the async exchange (send, ack, `getState` polls on `gis.poll_schedule`, at most
  `gis.max_in_flight` messages at once, one HTTP exchange at a time), message batching as the
  client does it (one house per `exportHouseData`, 100 items otherwise), processing delays,
  slow answers, 503s retried by the transport, and EXP001000 resent as a new message at most
  `gis.max_resends` times (then the call fails, as the client's does).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading
import time
import zlib
from array import array
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from domchat.clock import VirtualClock
from domchat.domain.model import ActualChat, Domain, MemberState
from domchat.emulators.max.ratelimit import SlidingWindow
from domchat.errors import GisError, GisFault, MaxApiError, MaxUnavailable
from domchat.gis_client.client import RECORD_BATCH
from domchat.gis_client.transport import BudgetSpent
from domchat.gis_client.types import (
    ActualLicense,
    BasicHouse,
    CAChDocument,
    GuestGrantRecord,
    HouseData,
    LicenseHouse,
    NsiRef,
    OrgRecord,
    VotingMessage,
    VotingProtocol,
)
from domchat.max_client import parse
from domchat.max_client.ratelimit import TokenBucket, client_rate
from domchat.max_client.types import AdminGrant, Chat, ChatMember, Message, ModifyMembersResult, UpdateBatch, User
from domchat.settings import GisSettings, MaxSettings

T = TypeVar("T")
PAGE = 100
"""Members per page and users per `POST /members`, as the client sends them."""
OnError = Callable[[str, GisError], None]
GIS_BATCH = 100
"""Items per GIS message where the client batches (licences, organisations, contracts)."""


class Overrun(BaseException):
    """The CPU budget is spent twice over inside one cycle: the simulation ends where it is.

    A BaseException, so that the engine's own error handling does not take it for a failure."""


class SimClock(VirtualClock):
    """Virtual time = the start + every sleep + the CPU this process spent since `start()`.

    The thread that calls `start()` drives time; other threads (the lease's heartbeat) wait for
    its time as on any `VirtualClock`.

    `stop` is set once the time passes `until` and `settled()`, or the CPU spent passes `cpu_budget`: the
    daemon's own wait loop then ends it (a cycle in progress finishes first, unless it runs on
    past twice the budget: then the next sleep raises `Overrun`)."""

    def __init__(
        self,
        at: datetime,
        until: datetime,
        cpu_budget: float = math.inf,
        *,
        charge_cpu: bool = True,
        settled: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(at)
        self.until = until
        self.settled = settled
        """Past `until`, the run goes on until this says the work it measures is done."""
        self._next_look = until
        self.cpu_budget = cpu_budget
        self.charge_cpu = charge_cpu
        """False: time moves only by sleeps (deterministic, for tests; the figures are then unfair to a slow engine)."""
        self.stop = threading.Event()
        self.stopped_by = ""
        self._cpu0: float | None = None

    def start(self) -> None:
        self._cpu0 = time.process_time()
        self.drive()

    def cpu(self) -> float:
        return 0.0 if self._cpu0 is None else time.process_time() - self._cpu0

    def _now(self) -> datetime:
        return self._at + timedelta(seconds=self.cpu()) if self.charge_cpu else self._at

    def _slept(self) -> None:
        if self.cpu() > 2 * self.cpu_budget:
            raise Overrun(f"stopped inside a cycle: CPU budget of {self.cpu_budget:.0f} s spent twice over")
        if self.stop.is_set():
            return
        now = self.now()
        if now >= self._next_look:
            self._next_look = now + timedelta(minutes=1)
            if self.settled():
                self.stopped_by = "end of the simulated window"
                self.stop.set()
        elif self.cpu() > self.cpu_budget:
            self.stopped_by = f"CPU budget of {self.cpu_budget:.0f} s spent"
            self.stop.set()


# MAX


@dataclass(frozen=True)
class MaxProfile:
    rate: float = 30.0
    """The platform's limit per token: requests in any one-second window (the emulator's `SlidingWindow`)."""
    latency: float = 0.04
    """Median round trip in seconds (log-normal, σ 0.5)."""
    faults: float = 0.05
    """Share of requests answered 5xx; half of those after the platform acted."""


class States:
    """The member states a region's chats share (a handful: plain, staff, authority, owner, bot),
    each named by one byte."""

    def __init__(self) -> None:
        self.all: list[MemberState] = []
        self._index: dict[MemberState, int] = {}

    def index(self, state: MemberState) -> int:
        k = self._index.get(state)
        if k is None:
            k = self._index[state] = len(self.all)
            self.all.append(state)
            assert k < 256, "more member states than one byte names"
        return k


class Members(MutableMapping[int, MemberState]):
    """A chat's members as MAX holds them, compactly (a region's chats hold millions): the members
    it started with as a sorted array of ids and a byte each naming a shared state, and what
    changed since in a dict (None: no longer a member)."""

    __slots__ = ("_changed", "_ids", "_kinds", "_states")

    def __init__(self, members: Mapping[int, MemberState], states: States) -> None:
        ids = sorted(members)
        self._ids = array("q", ids)
        self._kinds = bytes(states.index(members[u]) for u in ids)
        self._states = states.all
        self._changed: dict[int, MemberState | None] | None = None

    def _find(self, user: int) -> MemberState | None:
        if self._changed is not None and user in self._changed:
            return self._changed[user]
        k = bisect_left(self._ids, user)
        return self._states[self._kinds[k]] if k < len(self._ids) and self._ids[k] == user else None

    def __getitem__(self, user: int) -> MemberState:
        state = self._find(user)
        if state is None:
            raise KeyError(user)
        return state

    def __contains__(self, user: object) -> bool:
        return isinstance(user, int) and self._find(user) is not None

    def __setitem__(self, user: int, state: MemberState) -> None:
        self._change(user, state)

    def __delitem__(self, user: int) -> None:
        if user not in self:
            raise KeyError(user)
        self._change(user, None)

    def _change(self, user: int, state: MemberState | None) -> None:
        if self._changed is None:
            self._changed = {}
        self._changed[user] = state

    def __iter__(self) -> Iterator[int]:
        changed = self._changed or {}
        yield from (u for u in self._ids if u not in changed)
        yield from (u for u, state in changed.items() if state is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(slots=True)
class SimChat:
    title: str | None
    owner: int
    members: Members
    card: bytes | None
    """The card pinned when the simulation began (`Cards`), until something else is pinned."""
    pinned: Message | None = None
    messages: deque[Message] | None = None
    """The bot's messages, newest first (50 at most); None until it sends one."""


class Cards:
    """Pinned cards compressed against the first one seen: a region's cards differ in a few words."""

    def __init__(self) -> None:
        self._zdict: bytes | None = None

    def pack(self, text: str) -> bytes:
        raw = text.encode()
        if self._zdict is None:
            self._zdict = raw
        packer = zlib.compressobj(zdict=self._zdict)
        return packer.compress(raw) + packer.flush()

    def unpack(self, packed: bytes) -> str:
        assert self._zdict is not None
        unpacker = zlib.decompressobj(zdict=self._zdict)
        return (unpacker.decompress(packed) + unpacker.flush()).decode()


class SimMax:
    """The MAX Bot API and the domchat client in front of it, as one in-process `ChatPlatform`."""

    def __init__(
        self,
        clock: SimClock,
        settings: MaxSettings,
        chats: Iterable[ActualChat],
        bot: int,
        profile: MaxProfile = MaxProfile(),
        seed: int = 1,
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.profile = profile
        self.bot = bot
        self.rng = random.Random(seed)
        self.limiter = TokenBucket(client_rate(settings), clock=clock.monotonic, sleep=clock.sleep)
        self.window = SlidingWindow(profile.rate, clock=clock.monotonic)
        self._states = States()
        self._cards = Cards()
        self.chats: dict[int, SimChat] = {}
        for c in chats:
            self.add_chat(c)
        self._mid = itertools.count(1)
        self.calls: Counter[int] = Counter()
        """Requests per chat (0: none), retries included."""
        self.writes: list[tuple[float, int]] = []
        """(when, chat) of every write request that reached the platform."""
        self.statuses: Counter[str] = Counter()
        self.granted: dict[tuple[int, int], float] = {}
        """(chat, user) → when the user last became an admin there."""
        self.updates: list[tuple[float, dict[str, Any]]] = []
        self._next_update = 0

    def add_chat(self, c: ActualChat) -> None:
        card = None if c.pinned_text is None else self._cards.pack(c.pinned_text)
        self.chats[c.chat_id] = SimChat(c.title, c.owner_id or 0, Members(c.members, self._states), card)

    def close(self) -> None:
        """The engine closes its clients after each cycle; the simulated platform lives on."""

    # The transport: limiter, latency, 429, 5xx, retries

    def _call(self, chat_id: int, effect: Callable[[], T], *, write: bool = False, idempotent: bool = True) -> T:
        attempt = 1
        while True:
            self.limiter.acquire()
            self.calls[chat_id] += 1
            trip = self.profile.latency * math.exp(self.rng.gauss(0.0, 0.5))
            self.clock.sleep(trip / 2)
            if not self.window.admit("bot"):
                self.statuses["429"] += 1
                self.clock.sleep(trip / 2)
                delay = self._backoff(attempt)
                self.limiter.pause(delay)  # the platform sends no Retry-After
            elif self.rng.random() < self.profile.faults:
                self.statuses["5xx"] += 1
                if self.rng.random() < 0.5:
                    self._act(chat_id, effect, write)  # acted, then failed to answer
                self.clock.sleep(trip / 2)
                if not idempotent:
                    raise MaxUnavailable("MAX POST /messages: HTTP 503 (after 1 attempt(s)); it may have taken effect")
                delay = self._backoff(attempt)
            else:
                self.statuses["200"] += 1
                result = self._act(chat_id, effect, write)
                self.clock.sleep(trip / 2)
                return result
            if attempt > self.settings.retries:
                raise MaxUnavailable(f"MAX: gave up after {attempt} attempt(s)")
            attempt += 1
            self.clock.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """The client's wait before retrying: exponential with equal jitter."""
        ceiling = min(self.settings.backoff_max, self.settings.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def _act(self, chat_id: int, effect: Callable[[], T], write: bool) -> T:
        if write:
            self.writes.append((self.clock.monotonic(), chat_id))
        return effect()

    def _chat(self, chat_id: int) -> SimChat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise MaxApiError(404, "chat.not.found", f"chat {chat_id} not found")
        return chat

    # ChatPlatform

    def me(self) -> User:
        return self._call(0, lambda: User(self.bot, "domchat", username="domchat_bot", is_bot=True))

    def get_chat(self, chat_id: int) -> Chat:
        return self._call(chat_id, lambda: self._view(chat_id))

    def _view(self, chat_id: int) -> Chat:
        c = self._chat(chat_id)
        pinned = c.pinned
        if pinned is None and c.card is not None:
            pinned = Message(f"mid.{-chat_id}", chat_id, None, None, self._cards.unpack(c.card), 0)
        return Chat(chat_id, "chat", "active", c.title, c.owner, len(c.members), f"https://max.ru/join/{-chat_id}", pinned)

    def members(self, chat_id: int) -> Iterator[ChatMember]:
        users = sorted(self._chat(chat_id).members)
        for start in range(0, max(len(users), 1), PAGE):
            page = self._call(chat_id, lambda s=start: [self._member(chat_id, u) for u in users[s : s + PAGE]])  # type: ignore[misc]
            yield from page

    def _member(self, chat_id: int, user: int) -> ChatMember:
        m = self._chat(chat_id).members[user]
        return ChatMember(user, is_owner=m.is_owner, is_admin=m.is_admin, permissions=m.permissions)

    def add_members(self, chat_id: int, user_ids: Sequence[int]) -> ModifyMembersResult:
        ids = list(dict.fromkeys(user_ids))
        for start in range(0, len(ids), PAGE):
            self._call(chat_id, lambda s=start: self._add(chat_id, ids[s : s + PAGE]), write=True)  # type: ignore[misc]
        return ModifyMembersResult(True)

    def _add(self, chat_id: int, users: Sequence[int]) -> None:
        members = self._chat(chat_id).members
        for u in users:
            members.setdefault(u, MemberState())

    def remove_member(self, chat_id: int, user_id: int, block: bool = False) -> None:
        self._call(chat_id, lambda: self._chat(chat_id).members.pop(user_id, None), write=True)

    def grant_admin(self, chat_id: int, user_id: int, permissions: Sequence[str], alias: str | None = None) -> None:
        self.grant_admins(chat_id, [AdminGrant(user_id, frozenset(permissions), alias)])

    def grant_admins(self, chat_id: int, grants: Sequence[AdminGrant]) -> None:
        self._call(chat_id, lambda: self._grant(chat_id, grants), write=True)

    def _grant(self, chat_id: int, grants: Sequence[AdminGrant]) -> None:
        members = self._chat(chat_id).members
        missing = [g.user_id for g in grants if g.user_id not in members]
        if missing:
            raise MaxApiError(400, "user.not.member", f"users {missing} are not members of chat {chat_id}")
        for g in grants:
            before = members[g.user_id]
            members[g.user_id] = MemberState(is_admin=True, is_owner=before.is_owner, permissions=frozenset(g.permissions))
            self.granted[(chat_id, g.user_id)] = self.clock.monotonic()

    def revoke_admin(self, chat_id: int, user_id: int) -> None:
        self._call(chat_id, lambda: self._revoke(chat_id, user_id), write=True)

    def _revoke(self, chat_id: int, user_id: int) -> None:
        members = self._chat(chat_id).members
        if user_id in members:
            members[user_id] = MemberState()

    def patch_chat(self, chat_id: int, *, title: str | None = None, pin: str | None = None, notify: bool = False) -> Chat:
        return self._call(chat_id, lambda: self._patch(chat_id, title, pin), write=True)

    def _patch(self, chat_id: int, title: str | None, pin: str | None) -> Chat:
        c = self._chat(chat_id)
        if title is not None:
            c.title = title
        if pin is not None:
            c.pinned = next((m for m in c.messages or () if m.mid == pin), c.pinned)
        return self._view(chat_id)

    def send_message(
        self,
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
        text: str,
        notify: bool = True,
        buttons: Sequence[tuple[str, str]] = (),
    ) -> Message:
        return self._call(chat_id or 0, lambda: self._send(chat_id, user_id, text), write=True, idempotent=False)

    def _send(self, chat_id: int | None, user_id: int | None, text: str) -> Message:
        m = Message(f"mid.sim.{next(self._mid)}", chat_id, user_id, self.bot, text, int(self.clock.now().timestamp() * 1000))
        if chat_id is not None:
            c = self._chat(chat_id)
            if c.messages is None:
                c.messages = deque(maxlen=50)
            c.messages.appendleft(m)
        return m

    def messages(self, chat_id: int, *, count: int = 50) -> list[Message]:
        return self._call(chat_id, lambda: list(self._chat(chat_id).messages or ())[:count])

    def get_updates(self, marker: int | None = None, *, limit: int = 100, timeout: int = 0) -> UpdateBatch:
        return self._call(0, lambda: self._due_updates(limit))

    def _due_updates(self, limit: int) -> UpdateBatch:
        now = self.clock.monotonic()
        start = self._next_update
        end = start
        while end < len(self.updates) and end - start < limit and self.updates[end][0] <= now:
            end += 1
        self._next_update = end
        return UpdateBatch(tuple(parse.update(raw) for _, raw in self.updates[start:end]), end)

    def schedule_update(self, at: float, raw: dict[str, Any]) -> None:
        """An update the platform will deliver from `at` on (call in time order)."""
        self.updates.append((at, raw))


# GIS ZhKH


@dataclass(frozen=True)
class GisProfile:
    processing: tuple[float, float] = (1.0, 8.0)
    """Seconds GIS takes to process a message (uniform), when it is not slow."""
    slow: float = 0.03
    """Share of messages answered slowly: after 60–900 s."""
    exp001000: float = 0.02
    """Share of messages that end in EXP001000 (sent again as a new message)."""
    unavailable: float = 0.03
    """Share of HTTP exchanges answered 503 (retried by the transport)."""
    latency: float = 0.15
    """Seconds one HTTP exchange (send or getState) takes."""


class GisWorld:
    """What GIS says about a region: added slice by slice from the stored snapshot of yesterday
    (`add`), held as the licence registers' lines and the few fields houses differ in, each house's
    answer made when asked."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.houses: dict[str, tuple[int, str | None, str]] = {}
        """FIAS GUID → (its number in the region, OKTMO, time zone)."""
        self.licensed: dict[str, list[LicenseHouse]] = {}
        """OGRN → the houses its licence register lists."""
        self.orgs: dict[str, OrgRecord] = {}

    def add(self, domain: Domain, *, shared: bool = True) -> None:
        """Without `shared`, not its organisations: a slice of a region after the first holds the same ones."""
        for fias, periods in domain.periods.items():
            address = domain.buildings[fias].address
            for per in periods:
                status = "INCLUDED" if per.until is None else "EXCLUDED"
                house = LicenseHouse(fias, address, status, per.start, per.until, per.source_ids[0], None)
                self.licensed.setdefault(per.org, []).append(house)
        for fias, b in domain.buildings.items():
            self.houses[fias] = (len(self.houses), b.oktmo, b.tz)
        for o in domain.organisations.values() if shared else ():
            self.orgs[o.ogrn] = OrgRecord(
                f"root-{o.ogrn}", f"ver-{o.ogrn}", f"ppa-{o.ogrn}", o.ogrn, o.inn, None, o.name, o.name, True, None
            )

    def licence(self, ogrn: str) -> ActualLicense | None:
        houses = self.licensed.get(ogrn)
        if houses is None:
            return None
        return ActualLicense(f"lic-{ogrn}", f"0{ogrn[-8:]}", "A", ogrn, self.region, tuple(houses))

    def house(self, fias: str) -> HouseData | None:
        if fias not in self.houses:
            return None
        n, oktmo, tz = self.houses[fias]
        return HouseData(fias, f"U{n}", None, oktmo, NsiRef("32", f"tz-{tz}", tz), None, None)


class SimGis:
    """GIS ZhKH and the domchat client in front of it, as one in-process `GisSource`."""

    def __init__(self, clock: SimClock, settings: GisSettings, world: GisWorld, profile: GisProfile = GisProfile(), seed: int = 2) -> None:
        self.clock = clock
        self.settings = settings
        self.world = world
        self.profile = profile
        self.rng = random.Random(seed)
        self.messages = 0
        self.http = 0
        self.faults: Counter[str] = Counter()
        self._budget_end: float | None = None

    def close(self) -> None:
        """The engine closes its clients after each cycle; the simulated service lives on."""

    @contextmanager
    def budget(self, seconds: float | None = None) -> Iterator[None]:
        outer = self._budget_end
        end = self.clock.monotonic() + (self.settings.pull_budget if seconds is None else seconds)
        self._budget_end = end if outer is None else min(outer, end)
        try:
            yield
        finally:
            self._budget_end = outer

    def actual_licenses(
        self, ogrns: Sequence[str], region: str, *, batches: Callable[[list[ActualLicense]], None] | None = None
    ) -> list[ActualLicense]:
        """With `batches`, handed over in lists of `RECORD_BATCH` and none returned, as the client does."""
        self._exchange(math.ceil(len(ogrns) / GIS_BATCH), "exportActualLicenseState")
        found = [lic for o in ogrns if (lic := self.world.licence(o)) is not None]
        if batches is None:
            return found
        for start in range(0, len(found), RECORD_BATCH):
            batches(found[start : start + RECORD_BATCH])
        return []

    def house_data(self, fias_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, HouseData]:
        answered = self._per_house(fias_guids, "exportHouseData", on_error)
        return {g: house for g in answered if (house := self.world.house(g)) is not None}

    def voting_messages(self, fias_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, list[VotingMessage]]:
        """No owners' meeting is announced anywhere in the simulated region."""
        return {g: [] for g in self._per_house(fias_guids, "exportVotingMessage", on_error)}

    def voting_protocols(self, fias_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, list[VotingProtocol]]:
        return {g: [] for g in self._per_house(fias_guids, "exportVotingProtocol", on_error)}

    def _per_house(self, fias_guids: Sequence[str], operation: str, on_error: OnError | None) -> list[str]:
        """One message per house; a house whose message keeps failing is that house's error."""
        failed = self._exchange(len(fias_guids), operation, per_item=on_error is not None)
        for k in failed:
            assert on_error is not None
            on_error(fias_guids[k], GisFault("EXP001000", f"still failing after {self.settings.max_resends} resends"))
        return [g for k, g in enumerate(fias_guids) if k not in failed]

    def organisations(self, ogrns: Sequence[str]) -> list[OrgRecord]:
        self._exchange(math.ceil(len(ogrns) / GIS_BATCH), "exportOrgRegistry")
        return [self.world.orgs[o] for o in ogrns if o in self.world.orgs]

    def basic_houses(self, fias_guids: Sequence[str], *, on_error: Any = None) -> dict[str, BasicHouse]:
        self._exchange(math.ceil(len(fias_guids) / GIS_BATCH), "exportBriefBasicHouse")
        return {}

    def guest_grants(self, fias_guids: Sequence[str] | None = None) -> list[GuestGrantRecord]:
        self._exchange(math.ceil(len(fias_guids or ()) / GIS_BATCH), "exportGuestAccess")
        return []

    def contracts_and_charters(self, houses: Sequence[tuple[str, str]], *, last_version_only: bool = True) -> list[CAChDocument]:
        self._exchange(math.ceil(len(houses) / GIS_BATCH), "exportCAChData")
        return []

    def _exchange(self, n: int, operation: str, *, per_item: bool = False) -> set[int]:
        """Send `n` messages and wait for all their answers, as `gis_client.exchange.Exchange` does;
        the messages that failed for good (raised unless `per_item`). Past the budget: `BudgetSpent`."""
        s, p = self.settings, self.profile
        t = self.clock.monotonic()
        waiting: deque[tuple[int, int]] = deque((k, 0) for k in range(n))  # (message, resends so far)
        flying: list[tuple[float, int, float, int, int, int]] = []  # (next poll, seq, ready at, poll no., message, resends)
        seq = itertools.count()
        failed: set[int] = set()
        while waiting or flying:
            while waiting and len(flying) < s.max_in_flight:
                k, resends = waiting.popleft()
                t = self._http(t)
                self.messages += 1
                slow = self.rng.random() < p.slow
                ready = t + (self.rng.uniform(60, 900) if slow else self.rng.uniform(*p.processing))
                heapq.heappush(flying, (t + s.poll_schedule[0], next(seq), ready, 0, k, resends))
            due, _, ready, polls, k, resends = heapq.heappop(flying)
            t = self._http(max(t, due))
            if self._budget_end is not None and t > self._budget_end:
                self.clock.sleep(self._budget_end - self.clock.monotonic())
                raise BudgetSpent(f"GIS {operation}: the pull's time budget ran out")
            if t < ready:
                delay = s.poll_schedule[min(polls + 1, len(s.poll_schedule) - 1)]
                heapq.heappush(flying, (t + delay, next(seq), ready, polls + 1, k, resends))
                continue
            if self.rng.random() < p.exp001000:
                self.faults["EXP001000"] += 1
                if resends < s.max_resends:
                    waiting.append((k, resends + 1))
                else:
                    failed.add(k)
        self.clock.sleep(t - self.clock.monotonic())
        if failed and not per_item:
            raise GisFault("EXP001000", f"{operation}: still failing after {s.max_resends} resends", operation=operation)
        return failed

    def _http(self, t: float) -> float:
        """One HTTP exchange starting at `t`: when it ends, 503s and the transport's retries included."""
        backoff = self.settings.transport_backoff[0]
        while True:
            self.http += 1
            t += self.profile.latency
            if self.rng.random() >= self.profile.unavailable:
                return t
            self.faults["503"] += 1
            t += backoff
            backoff = min(backoff * 2, self.settings.transport_backoff[1])
