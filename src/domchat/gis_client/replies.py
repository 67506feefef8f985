"""Answers from GIS ZhKH, decoded in one streaming pass that validates them as it reads.

The bytes libxml2 sees start at the root element: the prolog (XML declaration, comments,
processing instructions) is read by `_skip_prolog`, which follows the XML grammar and refuses
a DOCTYPE or anything else before the root. So no DTD is ever parsed, no entity can be
declared, and the parser (no DTD loading, no network, no entity resolution, no huge trees) has
nothing to expand or fetch whatever the answer says. The answer is fed in chunks and validated
against the XSD as it goes: the first schema violation stops the read. Every element is
released once it has closed — a record (one licence, one house…) right after its decoder has
read it, anything else at once — so memory is a fixed budget plus the largest record, not the
answer. Records are returned only once the whole answer has parsed *and* validated: a hostile,
malformed, truncated or schema-invalid answer raises `GisBadAnswer` naming the service,
operation and MessageGUID, and nothing of it is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Generic, TypeVar

from lxml import etree

from domchat.errors import GisBadAnswer
from domchat.gis_client.services import BASE_NS, SOAP_ENV_NS

T = TypeVar("T")
RecordDecoder = Callable[[etree._Element], T]

_ACK = f"{{{BASE_NS}}}Ack"
_MESSAGE_GUID = f"{{{BASE_NS}}}MessageGUID"
_REQUEST_STATE = f"{{{BASE_NS}}}RequestState"
_ERROR_MESSAGE = f"{{{BASE_NS}}}ErrorMessage"
_ENVELOPE = f"{{{SOAP_ENV_NS}}}Envelope"
_PROCESSED = 3
"""RequestState of a processed message: only its records are final."""
_FAULT = f"{{{SOAP_ENV_NS}}}Fault"
_BASE_FAULT = f"{{{BASE_NS}}}Fault"
_FAULT_TEXTS = frozenset({"faultcode", "faultstring"})
_CHUNK = 64 * 1024
"""Bytes fed to the parser at a time: a schema violation is seen within one chunk of it."""
_PROLOG_LIMIT = 64 * 1024
"""Bytes allowed before the root element (GIS ZhKH sends an XML declaration at most)."""
_SPACE = b" \t\r\n"
_UTF8_BOM = b"\xef\xbb\xbf"
_DECLARATION = re.compile(rb"<\?xml[ \t\r\n][^?]*\?>", re.IGNORECASE)
_FEED_ERROR = re.compile(r"""line (\d+): b(['"])(.*)\2$""")
"""How lxml words an error met while feeding: `line 3: b'Extra content…'`."""
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")


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
    sink: Callable[[T], None] | None = None,
) -> Reply[T]:
    """Decode an answer. `state_result` is the Clark name of the service's `getStateResult`;
    `records` maps record element names to decoders; elements in `drop` are released unread.

    With `sink`, the records of a processed answer (RequestState 3) go to it one by one as they
    are decoded instead of into `Reply.records`: they are provisional until `read` returns, as
    the rest of the answer may still be refused."""
    reader = _Reader(state_result, records or {}, drop, sink)
    parser = etree.XMLPullParser(
        events=("start", "end"),
        tag=reader.tags,
        schema=schema,
        encoding="utf-8",  # whatever the (skipped) declaration says: `_skip_prolog` refused others
        # No DTD ever reaches the parser, so no entity is declared; never an external one anyway.
        # (False would hide libxml2's messages behind lxml's "no element found".)
        resolve_entities="internal",  # type: ignore[arg-type]  # lxml >= 5 takes "internal"
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
        remove_comments=True,
        remove_pis=True,
    )
    etree.clear_error_log()  # lxml's log of this thread may still hold an abandoned parse's errors
    try:
        chunk = _skip_prolog(source, where)
        while chunk:
            parser.feed(chunk)
            _stop_at_first_error(parser, where, source.tell())
            reader.take(parser.read_events())
            chunk = source.read(_CHUNK)
        try:
            parser.close()
        except etree.XMLSyntaxError as e:
            cause = _cause(e)
            if reader.closed or cause.startswith("schema-invalid"):
                raise GisBadAnswer(f"GIS {where}: {cause}") from None
            raise GisBadAnswer(f"GIS {where}: truncated answer: it ends before its root element closes") from None
        reader.take(parser.read_events())
    except etree.XMLSyntaxError as e:
        raise GisBadAnswer(f"GIS {where}: {_cause(e)}") from None
    except (ValueError, TypeError, AttributeError) as e:
        raise GisBadAnswer(f"GIS {where}: answer not understood: {_one_line(str(e))}") from None
    if not reader.closed:
        raise GisBadAnswer(f"GIS {where}: truncated answer: it ends before its root element closes")
    return reader.reply


class _Reader(Generic[T]):
    """Turns parser events into a `Reply`, releasing every element once it has closed.

    Events come only for the elements read (so the rest costs no Python per element); what
    closes among the others is swept after each chunk: the open elements are the chain of
    last children from the root, so every earlier child has closed and is dropped."""

    def __init__(
        self, state_result: str, decoders: Mapping[str, RecordDecoder[T]], drop: frozenset[str], sink: Callable[[T], None] | None
    ) -> None:
        self.reply: Reply[T] = Reply()
        self._sink = sink
        self.closed = False
        """Whether the root element closed (libxml2 does not always call a cut answer malformed)."""
        self._state_result = state_result
        self._decoders = decoders
        self._drop = drop
        # Elements read whole once they close; everything inside them waits for that.
        self._keep = frozenset({*decoders, _ACK, _BASE_FAULT, _ERROR_MESSAGE})
        self.tags = sorted({*self._keep, *drop, _ENVELOPE, _REQUEST_STATE, _MESSAGE_GUID, _FAULT, *_FAULT_TEXTS})
        """The elements the parser reports."""
        self._open: etree._Element | None = None
        """The kept element being read, if any."""
        self._root: etree._Element | None = None
        self._fault_parts: dict[str, str] = {}

    def take(self, events: Iterable[tuple[str, Any]]) -> None:
        for event, el in events:
            if event == "start":
                if self._root is None:
                    self._root = el.getroottree().getroot()
                if self._open is None and el.tag in self._keep:
                    self._open = el
                continue
            if el is self._root:
                self.closed = True
            if self._open is not None and el is not self._open:
                if el.tag in self._drop:
                    _release(el)
                continue
            self._open = None
            self._handle(el)
            _release(el)
        self._sweep()

    def _sweep(self) -> None:
        el = self._root
        while el is not None and el is not self._open:
            count = len(el)
            if count > 1:
                del el[:-1]
            el = el[-1] if count else None

    def _handle(self, el: etree._Element) -> None:
        tag = el.tag
        reply = self.reply
        decode = self._decoders.get(tag)
        if decode is not None:
            record = decode(el)
            if self._sink is not None and reply.state == _PROCESSED:
                self._sink(record)
            else:
                reply.records.append(record)
        elif tag == _ACK:
            reply.ack_guid = (el.findtext(_MESSAGE_GUID) or "").strip()
        elif tag == _ERROR_MESSAGE:
            if _parent_is(el, self._state_result):
                reply.error = (_text(el, "ErrorCode"), _text(el, "Description"))
        elif tag == _BASE_FAULT:
            if _parent_is(el, "detail"):
                self._fault_parts.update(code=_text(el, "ErrorCode"), message=_text(el, "ErrorMessage"))
        elif tag == _REQUEST_STATE:
            if _parent_is(el, self._state_result):
                reply.state = int(el.text or "0")
        elif tag == _MESSAGE_GUID:
            if _parent_is(el, self._state_result):
                reply.state_guid = (el.text or "").strip()
        elif tag in _FAULT_TEXTS:
            if _parent_is(el, _FAULT):
                self._fault_parts[str(tag)] = (el.text or "").strip()
        elif tag == _FAULT:
            reply.fault = _fault(self._fault_parts)


def _stop_at_first_error(parser: etree.XMLPullParser, where: Where, fed: int) -> None:
    """libxml2's validator notes a schema violation and lets the parse go on (lxml raises only
    at the end): look after each chunk, so that the rest of the answer is not read."""
    log: Iterable[Any] = parser.feed_error_log
    error = next((e for e in log if e.level >= etree.ErrorLevels.ERROR), None)
    if error is not None:
        kind = "schema-invalid" if error.domain == etree.ErrorDomains.SCHEMASV else "malformed"
        # The streaming validator knows no line: say how far the answer had been read.
        at = f"line {error.line}" if error.line else f"within its first {fed} bytes"
        raise GisBadAnswer(f"GIS {where}: {kind} answer: {_one_line(error.message)} ({at})")


def _cause(e: etree.XMLSyntaxError) -> str:
    """What libxml2 found, in one line."""
    log: Iterable[Any] = e.error_log  # type: ignore[assignment]  # the stubs leave the log's type empty
    entries = list(log)
    if entries:
        last = entries[-1]
        kind = "schema-invalid" if last.domain == etree.ErrorDomains.SCHEMASV else "malformed"
        return f"{kind} answer: {_one_line(last.message)} (line {last.line})"
    fed = _FEED_ERROR.match(e.msg or "")
    message = fed.group(3) if fed else e.msg or str(e)
    return f"malformed answer: {_one_line(message)} (line {fed.group(1) if fed else e.lineno})"


def _skip_prolog(source: IO[bytes], where: Where) -> bytes:
    """The answer's first bytes from its root element on, past a prolog checked by the grammar
    of XML (an optional declaration, then comments, processing instructions and white space).

    A DOCTYPE, or any other markup declaration, is refused wherever in the prolog it stands;
    the parser never sees the prolog, so it cannot be fooled into reading one."""
    head = source.read(_PROLOG_LIMIT)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:4] in (b"\x00<\x00?", b"<\x00?\x00", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise GisBadAnswer(f"GIS {where}: answer is not UTF-8; refused")
    pos = start = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    declaration = _DECLARATION.match(head, pos)
    encoding = _ENCODING.search(declaration.group()) if declaration else None
    if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
        raise GisBadAnswer(
            f"GIS {where}: answer declares encoding {_one_line(encoding.group(1).decode('ascii', 'replace'))}, not UTF-8; refused"
        )
    while pos < len(head):
        if head[pos] in _SPACE:
            pos += 1
        elif head.startswith(b"<?", pos):
            if pos != start and _DECLARATION.match(head, pos):
                raise GisBadAnswer(f"GIS {where}: malformed answer: an XML declaration not at the start (byte {pos})")
            pos = _past(head, b"?>", pos + 2, where)
        elif head.startswith(b"<!--", pos):
            pos = _past(head, b"-->", pos + 4, where)
        elif head.startswith(b"<!", pos):
            what = "a DTD" if head.startswith(b"<!DOCTYPE", pos) else "a markup declaration"
            raise GisBadAnswer(f"GIS {where}: answer carries {what} before its root element; refused")
        elif head.startswith(b"<", pos) and pos + 1 < len(head) and _name_start(head[pos + 1]):
            return head[pos:]
        else:
            raise GisBadAnswer(f"GIS {where}: malformed answer: text before its root element (byte {pos})")
    if len(head) < _PROLOG_LIMIT:
        raise GisBadAnswer(f"GIS {where}: malformed answer: no root element")
    raise GisBadAnswer(f"GIS {where}: answer has more than {_PROLOG_LIMIT} bytes before its root element; refused")


def _past(head: bytes, end: bytes, start: int, where: Where) -> int:
    found = head.find(end, start)
    if found < 0:
        raise GisBadAnswer(f"GIS {where}: answer has more than {_PROLOG_LIMIT} bytes before its root element; refused")
    return found + len(end)


def _name_start(byte: int) -> bool:
    return byte >= 0x80 or byte in b"_:" or chr(byte).isalpha()


def _parent_is(el: etree._Element, tag: str) -> bool:
    parent = el.getparent()
    return parent is not None and parent.tag == tag


def _text(el: etree._Element, local: str) -> str:
    return (el.findtext(f"{{{BASE_NS}}}{local}") or "").strip()


def _fault(parts: Mapping[str, str]) -> tuple[str, str]:
    """A SOAP Fault as (ErrorCode, message): the code from `detail/base:Fault` when it came,
    else from a "CODE: text" faultstring."""
    faultstring = parts.get("faultstring", "")
    if parts.get("code"):
        return parts["code"], parts.get("message") or faultstring
    head, sep, rest = faultstring.partition(":")
    if sep and head.strip().isalnum():
        return head.strip(), rest.strip()
    return "SOAP-FAULT", faultstring or parts.get("faultcode", "")


def _release(el: etree._Element) -> None:
    """Free a handled element: the parser no longer needs it once it has closed."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        parent.remove(el)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]
