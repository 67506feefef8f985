"""The async pattern of GIS ZhKH: send, get an ack, poll `getState` until processed.

Many messages are in flight at once (at most `max_in_flight`), each polled on
`poll_schedule` counted from its ack (first delay, then the next, the last repeating). A
message that ends in `EXP001000`, or is still not processed after `message_deadline`, is sent
again as a *new* message (new MessageGUID, Date and signature; never the same packet), at most
`max_resends` times. Everything runs in the calling thread; `sleep` and `monotonic` are
injectable so that tests control time.

Inside `budget(seconds)` (a pull: `gis.pull_budget`) everything shares one deadline: every
exchange, retry and wait between polls ends by it, and then the run fails with `BudgetSpent`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from lxml import etree

from domchat import metrics
from domchat.errors import (
    GisAccessDenied,
    GisBadAnswer,
    GisError,
    GisFault,
    GisUnavailable,
)
from domchat.gis_client.envelopes import Envelopes
from domchat.gis_client.replies import RecordDecoder, Reply, Where, read
from domchat.gis_client.schemas import EnvelopeSchemas
from domchat.gis_client.services import Operation, get_state
from domchat.gis_client.signing import Signer
from domchat.gis_client.transport import BudgetSpent, Transport
from domchat.settings import GisSettings

T = TypeVar("T")
_log = structlog.get_logger("domchat.gis_client")

EMPTY = "INT002012"
"""No objects to export: an empty result, not an error."""
TRANSFER_ERROR = "EXP001000"
"""Transfer error: re-send as a new message."""
ACCESS_DENIED = "AUT011003"


@dataclass(frozen=True)
class Job(Generic[T]):
    """One request to make: its answer's records are decoded by `records`."""

    key: str
    operation: Operation
    body: Mapping[str, Any]
    """zeep keyword arguments of the request element (without `version`)."""
    records: Mapping[str, RecordDecoder[T]]
    subject: str
    """What the request is about, for error messages ("house 5f0c…", "licences of 1028600…")."""
    drop: frozenset[str] = frozenset()
    """Elements of the answer released unread (bulky parts domchat does not use)."""
    sink: Callable[[T], None] | None = None
    """Where the records go as they are decoded, instead of into the result (provisional
    until `run` returns: a later part of the answer, or another message, may still fail)."""


@dataclass(frozen=True)
class JobResult(Generic[T]):
    key: str
    records: list[T] = field(default_factory=list)
    fault: GisError | None = None
    """The business error this request ended in (the records are then empty)."""
    message_guid: str = ""
    """The MessageGUID whose answer gave the records (for naming the message in errors)."""


@dataclass
class _InFlight(Generic[T]):
    job: Job[T]
    guid: str
    sent_at: float
    next_poll: float
    resends: int
    polls: int = 0


class Exchange:
    def __init__(
        self,
        settings: GisSettings,
        transport: Transport,
        envelopes: Envelopes,
        schemas: EnvelopeSchemas,
        signer: Signer,
        *,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.envelopes = envelopes
        self.schemas = schemas
        self.signer = signer
        self._sleep = sleep
        self._now = monotonic
        self._budget_end: float | None = None

    @contextmanager
    def budget(self, seconds: float) -> Iterator[None]:
        """Everything run inside ends within `seconds` (or the budget around it, if shorter)."""
        outer = self._budget_end
        end = self._now() + seconds
        self._budget_end = end if outer is None else min(outer, end)
        try:
            yield
        finally:
            self._budget_end = outer

    def run(self, jobs: Sequence[Job[T]]) -> list[JobResult[T]]:
        """Run every job to its end; results in the order of `jobs`.

        Transport failures (`GisUnavailable`) and bad answers (`GisBadAnswer`) abort the run:
        a pull that cannot be trusted whole is not used at all.
        """
        queue = deque(enumerate(jobs))
        active: list[tuple[int, _InFlight[T]]] = []
        results: dict[int, JobResult[T]] = {}
        limit = self.settings.max_in_flight
        while queue or active:
            while queue and len(active) < limit:
                i, job = queue.popleft()
                started = self._send(job, resends=0)
                if isinstance(started, JobResult):
                    results[i] = started
                else:
                    active.append((i, started))
            if not active:
                continue
            wake = min(f.next_poll for _, f in active)
            if self._budget_end is not None and wake > self._budget_end:
                self._sleep(max(0.0, self._budget_end - self._now()))
                raise BudgetSpent(
                    f"GIS ZhKH at {self.transport.endpoint}: the pull's time budget (gis.pull_budget) ran out with "
                    f"{len(active) + len(queue)} messages unanswered, e.g. {active[0][1].job.subject}"
                )
            wait = wake - self._now()
            if wait > 0:
                self._sleep(wait)
            now = self._now()
            still: list[tuple[int, _InFlight[T]]] = []
            for i, flight in active:
                if flight.next_poll > now:
                    still.append((i, flight))
                    continue
                outcome = self._poll(flight)
                if isinstance(outcome, JobResult):
                    results[i] = outcome
                else:
                    still.append((i, outcome))
            active = still
        return [results[i] for i in range(len(jobs))]

    # One message

    def _send(self, job: Job[T], *, resends: int) -> _InFlight[T] | JobResult[T]:
        op = job.operation
        where = Where(op.service.name, op.name)
        reply: Reply[T] = self._exchange(op, dict(job.body), where, records={})
        if reply.fault is not None:
            code, message = reply.fault
            if code == TRANSFER_ERROR:
                return self._resend(job, resends, where, f"{code}: {message}")
            metrics.gis_message(op.name, "fault")
            return JobResult(job.key, fault=self._fault(code, message, job, where))
        if not reply.ack_guid:
            raise GisBadAnswer(f"GIS {where}: the answer carries no AckRequest")
        now = self._now()
        _log.debug("gis.acked", service=op.service.name, operation=op.name, message_guid=reply.ack_guid, subject=job.subject)
        return _InFlight(job, reply.ack_guid, now, now + self.settings.poll_schedule[0], resends)

    def _poll(self, flight: _InFlight[T]) -> _InFlight[T] | JobResult[T]:
        job = flight.job
        op = job.operation
        where = Where(op.service.name, op.name, flight.guid)
        reply = self._exchange(
            get_state(op.service), {"MessageGUID": flight.guid}, where, records=job.records, drop=job.drop, sink=job.sink
        )
        flight.polls += 1
        metrics.gis_poll(op.name)
        if reply.fault is not None:
            code, message = reply.fault
            if code == TRANSFER_ERROR:
                return self._resend(job, flight.resends, where, f"{code}: {message}")
            metrics.gis_message(op.name, "fault")
            return JobResult(job.key, fault=self._fault(code, message, job, where))
        if reply.state != 3:
            if self._now() - flight.sent_at > self.settings.message_deadline:
                return self._resend(job, flight.resends, where, f"still in state {reply.state} after {self.settings.message_deadline:g} s")
            schedule = self.settings.poll_schedule
            flight.next_poll = self._now() + schedule[min(flight.polls, len(schedule) - 1)]
            return flight
        if (reply.state_guid or "").lower() != flight.guid.lower():
            raise GisBadAnswer(f"GIS {where}: getState answered for MessageGUID={reply.state_guid}")
        turnaround = self._now() - flight.sent_at
        if reply.error is not None:
            code, message = reply.error
            if code == EMPTY:
                metrics.gis_message(op.name, "empty", turnaround)
                return JobResult(job.key)
            if code == TRANSFER_ERROR:
                return self._resend(job, flight.resends, where, f"{code}: {message}")
            metrics.gis_message(op.name, "fault", turnaround)
            return JobResult(job.key, fault=self._fault(code, message, job, where))
        metrics.gis_message(op.name, "ok", turnaround)
        return JobResult(job.key, reply.records, message_guid=flight.guid)

    def _resend(self, job: Job[T], resends: int, where: Where, why: str) -> _InFlight[T] | JobResult[T]:
        gave_up = resends >= self.settings.max_resends
        metrics.gis_message(where.operation, "gave_up" if gave_up else "resent")
        if gave_up:
            if why.startswith(TRANSFER_ERROR):
                fault: GisError = GisFault(
                    TRANSFER_ERROR,
                    f"{job.subject}: still failing after {resends} re-sends",
                    operation=f"{where.service} {where.operation}",
                    message_guid=where.message_guid,
                )
            else:
                fault = GisUnavailable(
                    f"GIS ZhKH at {self.transport.endpoint}: {where}: {job.subject} {why}; gave up after {resends} re-sends"
                )
            return JobResult(job.key, fault=fault)
        _log.warning(
            "gis.resend", service=where.service, operation=where.operation, message_guid=where.message_guid, why=why, subject=job.subject
        )
        return self._send(job, resends=resends + 1)

    def _exchange(
        self,
        op: Operation,
        body: dict[str, Any],
        where: Where,
        *,
        records: Mapping[str, RecordDecoder[T]],
        drop: frozenset[str] = frozenset(),
        sink: Callable[[T], None] | None = None,
    ) -> Reply[T]:
        service = op.service
        schema = self.schemas.for_service(service)
        _guid, envelope = self.envelopes.build(op, body, mark_signed=op.signed and self.signer.marks_body)
        self._check_request(envelope, schema, where)
        if op.signed:
            envelope = self.signer.sign(envelope)
            self._check_request(envelope, schema, where)
        within = None if self._budget_end is None else self._budget_end - self._now()
        answer = self.transport.post(self.envelopes.path(service), f"urn:{op.name}", envelope, what=str(where), within=within)
        try:
            state_result = f"{{{service.types_ns}}}getStateResult"
            return read(answer.body, schema, where, state_result=state_result, records=records, drop=drop, sink=sink)
        finally:
            answer.body.close()

    @staticmethod
    def _check_request(envelope: bytes, schema: etree.XMLSchema, where: Where) -> None:
        """Refuse to send what the service would reject as FMT001300 (a bug on our side)."""
        doc = etree.fromstring(envelope, etree.XMLParser(resolve_entities=False, no_network=True))
        try:
            schema.assertValid(doc)
        except etree.DocumentInvalid as e:
            raise GisError(f"GIS {where}: the request does not validate against the XSD: {e}") from None

    def _fault(self, code: str, message: str, job: Job[T], where: Where) -> GisFault:
        operation = f"{where.service} {where.operation}"
        if code == ACCESS_DENIED:
            return GisAccessDenied(
                code,
                f"access denied to {job.subject} for organisation orgPPAGUID={self.settings.org_ppa_guid or '-'}: {message}",
                operation=operation,
                message_guid=where.message_guid,
            )
        return GisFault(code, message, operation=operation, message_guid=where.message_guid)
