"""Answers from GIS ZhKH, decoded in one streaming pass that validates them as it reads.

The parser never loads a DTD, expands an entity or reaches the network, and a document with a
DOCTYPE is refused. Each record element (one licence, one house…) is handed to its decoder as
soon as it closes and then released, so memory follows the largest record, not the answer.
Records are returned only once the whole answer has parsed *and* validated: a malformed or
schema-invalid answer raises `GisBadAnswer` naming the service, operation and MessageGUID, and
nothing of it is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Generic, TypeVar

from lxml import etree

from domchat.errors import GisBadAnswer
from domchat.gis_client.services import BASE_NS, SOAP_ENV_NS

T = TypeVar("T")
RecordDecoder = Callable[[etree._Element], T]

_ACK = f"{{{BASE_NS}}}Ack"
_MESSAGE_GUID = f"{{{BASE_NS}}}MessageGUID"
_REQUEST_STATE = f"{{{BASE_NS}}}RequestState"
_ERROR_MESSAGE = f"{{{BASE_NS}}}ErrorMessage"
_FAULT = f"{{{SOAP_ENV_NS}}}Fault"
_BASE_FAULT = f"{{{BASE_NS}}}Fault"
_HEAD = 64 * 1024
"""Bytes looked at for a DTD before parsing (a DOCTYPE can only come before the root element)."""
_ROOT_START = re.compile(rb"<[A-Za-z_]")


@dataclass(frozen=True)
class Where:
    """Names an exchange in errors and logs."""

    service: str
    operation: str
    message_guid: str = ""

    def __str__(self) -> str:
        return f"{self.service} {self.operation}" + (f" MessageGUID={self.message_guid}" if self.message_guid else "")


@dataclass
class Reply(Generic[T]):
    ack_guid: str | None = None
    """`AckRequest/Ack/MessageGUID`: the GUID GIS ZhKH gave the message."""
    state: int | None = None
    state_guid: str | None = None
    error: tuple[str, str] | None = None
    """`getStateResult/ErrorMessage`: (ErrorCode, Description)."""
    fault: tuple[str, str] | None = None
    """A SOAP Fault: (ErrorCode, message)."""
    records: list[T] = field(default_factory=list)


def read(
    source: IO[bytes],
    schema: etree.XMLSchema,
    where: Where,
    *,
    state_result: str = "",
    records: Mapping[str, RecordDecoder[T]] | None = None,
    drop: frozenset[str] = frozenset(),
) -> Reply[T]:
    """Decode an answer. `state_result` is the Clark name of the service's `getStateResult`;
    `records` maps record element names to decoders; elements in `drop` are released unread."""
    decoders = records or {}
    reply: Reply[T] = Reply()
    _check_prolog(source, where)
    # Events only for what is read: the rest of the answer is validated by libxml2 without a
    # round trip through Python per element.
    tags = {*decoders, *drop, _REQUEST_STATE, _MESSAGE_GUID, _ERROR_MESSAGE, _ACK, _FAULT}
    parser = etree.iterparse(
        source,
        events=("end",),
        tag=tags,
        schema=schema,
        # Not resolve_entities=False: with a schema, lxml then misses a premature end of data.
        # No entity can be declared anyway: `_check_prolog` refused any DTD.
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    checked = False
    try:
        for _event, el in parser:
            if not checked:
                # Belt and braces for a DTD the byte check missed (another encoding, a huge prolog).
                info = el.getroottree().docinfo
                if info.internalDTD is not None:
                    raise GisBadAnswer(f"GIS {where}: answer carries a DTD; refused")
                checked = True
            tag = el.tag
            decode = decoders.get(tag)
            if decode is not None:
                reply.records.append(decode(el))
                _release(el)
            elif tag in drop:
                _release(el)
            elif tag == _REQUEST_STATE and _parent_is(el, state_result):
                reply.state = int(el.text or "0")
            elif tag == _MESSAGE_GUID and _parent_is(el, state_result):
                reply.state_guid = (el.text or "").strip()
            elif tag == _ERROR_MESSAGE and _parent_is(el, state_result):
                reply.error = (_text(el, "ErrorCode"), _text(el, "Description"))
            elif tag == _ACK:
                reply.ack_guid = (el.findtext(_MESSAGE_GUID) or "").strip()
            elif tag == _FAULT:
                reply.fault = _fault(el)
    except etree.XMLSyntaxError as e:
        raise GisBadAnswer(f"GIS {where}: malformed or schema-invalid answer: {_one_line(str(e))}") from None
    except (ValueError, TypeError, AttributeError) as e:
        raise GisBadAnswer(f"GIS {where}: answer not understood: {_one_line(str(e))}") from None
    return reply


def _check_prolog(source: IO[bytes], where: Where) -> None:
    """Refuse a DTD (and so any entity declaration) before the parser sees the bytes."""
    head = source.read(_HEAD)
    source.seek(0)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:4] in (b"\x00<\x00?", b"<\x00?\x00"):
        raise GisBadAnswer(f"GIS {where}: answer is not UTF-8; refused")
    root = _ROOT_START.search(head)
    if root is None:
        raise GisBadAnswer(f"GIS {where}: answer has no element in its first {_HEAD} bytes; refused")
    if b"<!DOCTYPE" in head[: root.start()]:
        raise GisBadAnswer(f"GIS {where}: answer carries a DTD; refused")


def _parent_is(el: etree._Element, tag: str) -> bool:
    parent = el.getparent()
    return parent is not None and parent.tag == tag


def _text(el: etree._Element, local: str) -> str:
    return (el.findtext(f"{{{BASE_NS}}}{local}") or "").strip()


def _fault(el: etree._Element) -> tuple[str, str]:
    faultstring = (el.findtext("faultstring") or "").strip()
    detail = el.find(f"detail/{_BASE_FAULT}")
    if detail is not None:
        code = _text(detail, "ErrorCode")
        return code, _text(detail, "ErrorMessage") or faultstring
    head, sep, rest = faultstring.partition(":")
    if sep and head.strip().isalnum():
        return head.strip(), rest.strip()
    return "SOAP-FAULT", faultstring or (el.findtext("faultcode") or "")


def _release(el: etree._Element) -> None:
    """Free a handled element: the parser no longer needs it once it has closed."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        parent.remove(el)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]
