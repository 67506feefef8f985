"""SOAP 1.1 envelopes as the GIS ZhKH services write them: answers, acks and faults."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from lxml import etree

from domchat.emulators.gis.contract import BASE
from domchat.emulators.gis.xmlbuild import maker

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_ENV = maker(SOAP_ENV, {"soap": SOAP_ENV, "base": BASE})
B = maker(BASE, {"base": BASE})
"""Builder of elements in the base namespace."""


def new_guid() -> str:
    return str(uuid.uuid4())


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def envelope(body: etree._Element, message_guid: str) -> bytes:
    """An answer: `ResultHeader` in the header, `body` in the body."""
    env = _ENV.Envelope(
        _ENV.Header(B.ResultHeader(B.Date(now_iso()), B.MessageGUID(message_guid))),
        _ENV.Body(body),
    )
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def ack(message_guid: str, requester_guid: str) -> bytes:
    return envelope(B.AckRequest(B.Ack(B.MessageGUID(message_guid), B.RequesterMessageGUID(requester_guid))), message_guid)


def fault(code: str, message: str, *, client: bool) -> bytes:
    """A SOAP Fault carrying `base:Fault`, like the real service's (faultstring "CODE: text")."""
    env = _ENV.Envelope(
        _ENV.Body(
            _ENV.Fault(
                etree.Element("faultcode"),
                etree.Element("faultstring"),
                etree.Element("detail"),
            )
        )
    )
    f = env[0][0]
    f[0].text = "soap:Client" if client else "soap:Server"
    f[1].text = f"{code}: {message}"
    f[2].append(B.Fault(B.ErrorCode(code), B.ErrorMessage(message)))
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")
