"""Messages the emulator has acknowledged, and how each one progresses through states 1 → 2 → 3."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from lxml import etree

from domchat.emulators.gis.answers import Handler, Outcome, Request
from domchat.emulators.gis.contract import (
    BASE,
    VERSION_ATTR,
    OperationContract,
    ServiceContract,
)
from domchat.emulators.gis.soap import B, envelope

TRANSFER_ERROR = "EXP001000"
NOT_FOUND = "INT002013"


@dataclass
class Message:
    guid: str
    service: ServiceContract
    operation: OperationContract
    request: Request
    handler: Handler
    acked_at: float
    stuck: bool = False
    """Never processed: stays in state 2 whatever the delay."""
    transfer_error: bool = False
    """Processed into `EXP001000`."""
    schema_violation: bool = False
    """Processed into an answer the XSD rejects."""
    polls: int = 0
    answer: bytes | None = field(default=None, repr=False)
    """The processed answer, built once so that every later poll sees the same bytes."""


class MessageStore:
    def __init__(self, processing_delay: float) -> None:
        self.processing_delay = processing_delay
        self._messages: dict[str, Message] = {}
        self._lock = threading.Lock()

    def add(self, message: Message) -> None:
        with self._lock:
            self._messages[message.guid.lower()] = message

    def state_answer(self, service: ServiceContract, guid: str) -> tuple[int, bytes]:
        """`getState` for `guid`: the request state and the whole answer envelope."""
        with self._lock:
            m = self._messages.get(guid.lower())
            if m is None:
                return 3, _state(service, guid, 3, Outcome(error=(NOT_FOUND, f"Сообщение {guid} не найдено")))
            if m.stuck or time.monotonic() - m.acked_at < self.processing_delay:
                state = 1 if m.polls == 0 else 2
                m.polls += 1
                return state, _state(service, guid, state, None)
            m.polls += 1
            if m.answer is None:
                m.answer = _processed(m)
            return 3, m.answer


def _processed(m: Message) -> bytes:
    if m.transfer_error:
        outcome = Outcome(error=(TRANSFER_ERROR, "Произошла ошибка при передаче данных. Попробуйте осуществить передачу данных повторно"))
    else:
        outcome = m.handler(m.request)
    return _state(m.service, m.guid, 3, outcome, violate=m.schema_violation)


def _state(service: ServiceContract, guid: str, state: int, outcome: Outcome | None, *, violate: bool = False) -> bytes:
    ns = service.state_result[1:].partition("}")[0]
    result = etree.Element(service.state_result, {VERSION_ATTR: service.state_version}, nsmap={"ns": ns, "base": BASE})
    result.append(B.RequestState(str(state)))
    result.append(B.MessageGUID(guid))
    if outcome is not None and outcome.error is not None:
        code, text = outcome.error
        result.append(B.ErrorMessage(B.ErrorCode(code), B.Description(text)))
    elif outcome is not None:
        result.extend(outcome.payload)
    if violate:
        # An element no getStateResult allows: well-formed XML that the XSD rejects.
        etree.SubElement(result, f"{{{ns}}}UnexpectedElement").text = "schema violation injected by the emulator"
    return envelope(result, guid)
