"""Hostile answers, each served over loopback HTTP to the real transport and client: each is
refused with its own `GisBadAnswer`, and nothing of it is returned."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from domchat.errors import GisBadAnswer
from domchat.gis_client import GisClient, replies
from domchat.gis_client.replies import Where, read
from domchat.gis_client.schemas import EnvelopeSchemas
from domchat.gis_client.services import HOUSE_MANAGEMENT
from support.reference import GIS_SCHEMAS

HOUSE = "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
_ENV_OPEN = (
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:b="http://dom.gosuslugi.ru/schema/integration/base/"><s:Body>'
)
_ENV_CLOSE = b"</s:Body></s:Envelope>"
_ACK = (
    _ENV_OPEN
    + (
        b"<b:AckRequest><b:Ack><b:MessageGUID>&x;</b:MessageGUID>"
        b"<b:RequesterMessageGUID>5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b</b:RequesterMessageGUID></b:Ack></b:AckRequest>"
    )
    + _ENV_CLOSE
)
GOOD_ACK = _ACK.replace(b"&x;", HOUSE.encode())
_FAULT_OPEN = _ENV_OPEN + b"<s:Fault><faultcode>s:Server</faultcode><faultstring>x</faultstring><detail>"
_FAULT_CLOSE = b"</detail></s:Fault>" + _ENV_CLOSE
_LAUGHS = b'<!ENTITY a "aaaaaaaaaa">' + b"".join(b'<!ENTITY %c "%s">' % (ord("b") + i, (b"&%c;" % (ord("a") + i)) * 10) for i in range(8))

Serve = Callable[..., str]
HITS: list[str] = []
"""Every request any test server saw, as "METHOD path"."""


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a server that answers every POST with the given bytes; returns its base URL."""
    servers: list[ThreadingHTTPServer] = []
    HITS.clear()

    def start(body: bytes, *, chunked: bool = False, status: int = 200, content_type: str = "text/xml; charset=utf-8") -> str:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                HITS.append(f"GET {self.path}")
                self.send_error(404)

            def do_POST(self) -> None:
                HITS.append(f"POST {self.path}")
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(body), 65536):
                        part = body[i : i + 65536]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def _refused(client: GisClient) -> str:
    with pytest.raises(GisBadAnswer) as e:
        client.house_data([HOUSE])
    message = str(e.value)
    assert "house-management exportHouseData" in message
    assert "\n" not in message
    return message


CORPUS: dict[str, tuple[bytes, str]] = {
    "billion laughs": (b'<?xml version="1.0"?><!DOCTYPE s:Envelope [' + _LAUGHS + b'<!ENTITY x "&i;">]>' + _ACK, "carries a DTD"),
    "quadratic blow-up": (
        b'<!DOCTYPE s:Envelope [<!ENTITY x "' + b"y" * 50_000 + b'">]>' + _ACK.replace(b"&x;", b"&x;" * 50_000),
        "carries a DTD",
    ),
    "DTD after comments and PIs": (
        b'<?xml version="1.0"?><!-- <a --><?pi <b ?>\n<!-- x --><!DOCTYPE s:Envelope [' + _LAUGHS + b'<!ENTITY x "&i;">]>' + _ACK,
        "carries a DTD",
    ),
    "DTD after a UTF-8 BOM": (b'\xef\xbb\xbf<!DOCTYPE s:Envelope [<!ENTITY x "y">]>' + _ACK, "carries a DTD"),
    "DTD behind a long prolog": (b"<!--" + b"x" * 70_000 + b'--><!DOCTYPE s:Envelope [<!ENTITY x "y">]>' + _ACK, "bytes before its root"),
    "other markup declaration": (b'<!ENTITY x "y">' + _ACK, "markup declaration"),
    "entity never declared": (_ACK, "Entity 'x' not defined"),
    "deep nesting": (_FAULT_OPEN + b"<d>" * 5000 + b"</d>" * 5000 + _FAULT_CLOSE, "depth"),
    "huge attribute": (_FAULT_OPEN + b'<d a="' + b"x" * 10_000_001 + b'"/>' + _FAULT_CLOSE, "limit exceeded"),
    "many fault detail entries": (_FAULT_OPEN + b"<d/>" * 100_000 + _FAULT_CLOSE, "schema-invalid"),
    "invalid UTF-8": (
        GOOD_ACK.replace(b"<b:RequesterMessageGUID>", b"<b:RequesterMessageGUID>\xff\xfe"),
        "Invalid bytes in character encoding",
    ),
    "UTF-16": (GOOD_ACK.decode().encode("utf-16"), "not UTF-8"),
    "declared other encoding": (b'<?xml version="1.0" encoding="windows-1251"?>' + GOOD_ACK, "encoding windows-1251, not UTF-8"),
    "truncated": (GOOD_ACK[:-30], "truncated answer"),
    "trailing garbage": (GOOD_ACK + b"<more/>", "Extra content"),
    "text before the root": (b"HTTP/1.1 200 OK\r\n" + GOOD_ACK, "text before its root element"),
    "empty": (b"", "no root element"),
    "misplaced XML declaration": (b'<!-- x --><?xml version="1.0"?>' + GOOD_ACK, "XML declaration not at the start"),
    "not the schema": (_ENV_OPEN + b"<b:NotInTheSchema/>" + _ENV_CLOSE, "schema-invalid"),
    "two body entries": (GOOD_ACK.replace(b"</s:Body>", b"<b:AckRequest/></s:Body>"), "schema-invalid"),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_hostile_answer_is_refused_with_its_own_error(case: str, serve: Serve, make_client: Any, tmp_path: Path) -> None:
    body, expected = CORPUS[case]
    message = _refused(make_client(serve(body)))
    assert expected in message


def test_external_entity_is_neither_read_nor_echoed(serve: Serve, make_client: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    body = b'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "' + secret.as_uri().encode() + b'">]>' + _ACK
    message = _refused(make_client(serve(body)))
    assert "carries a DTD" in message and "TOP-SECRET-VALUE" not in message


def test_network_dtd_is_not_fetched(serve: Serve, make_client: Any) -> None:
    trap = serve(b"")
    body = b'<?xml version="1.0"?><!-- x --><!DOCTYPE s:Envelope SYSTEM "' + trap.encode() + b'/evil.dtd">' + GOOD_ACK
    assert "carries a DTD" in _refused(make_client(serve(body)))
    assert [h for h in HITS if h.startswith("GET")] == []


def test_a_utf8_bom_and_an_ordinary_prolog_are_accepted() -> None:
    """The prolog check refuses DTDs, not what a gateway may put before the root."""
    body = b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<!-- gateway --><?pi x?>' + GOOD_ACK
    assert read(io.BytesIO(body), _SCHEMA, Where("house-management", "exportHouseData")).ack_guid == HOUSE


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [("text/html", "Content-Type 'text/html', not XML"), ("", "Content-Type 'none'"), ("text/xml; charset=windows-1251", "charset")],
)
def test_wrong_content_type_is_refused_unread(content_type: str, expected: str, serve: Serve, make_client: Any) -> None:
    assert expected in _refused(make_client(serve(GOOD_ACK, content_type=content_type)))


def test_oversize_answer_is_refused_by_content_length(serve: Serve, make_client: Any) -> None:
    message = _refused(make_client(serve(b" " * 5000 + GOOD_ACK), max_answer_bytes=4096))
    assert "max_answer_bytes=4096" in message


def test_oversize_chunked_answer_is_refused_while_reading(serve: Serve, make_client: Any) -> None:
    message = _refused(make_client(serve(b" " * 300_000 + GOOD_ACK, chunked=True), max_answer_bytes=200_000))
    assert "exceeds gis.max_answer_bytes=200000" in message


def test_non_xml_500_is_refused(serve: Serve, make_client: Any) -> None:
    assert "schema-invalid" in _refused(make_client(serve(b"<html>Internal error</html>", status=500)))


def test_large_hostile_answer_costs_bounded_memory() -> None:
    """A 100 MB answer, invalid only at its end, read by the real client in a fresh process:
    its peak RSS grows by a small fixed budget, not with the answer (it grew by ~1 GB when
    elements outside records were kept)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]), str(Path(__file__).parents[2] / "src")])}
    done = subprocess.run(
        [sys.executable, "-m", "support.bloated_answer", "--mb", "100"], capture_output=True, text=True, env=env, check=True, timeout=300
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["answer_mb"] > 99
    assert "schema-invalid" in result["error"] and "NotInTheSchema" in result["error"]
    assert "within its first" in result["error"]
    assert result["growth_mb"] < 200


_SCHEMA = EnvelopeSchemas(GIS_SCHEMAS).for_service(HOUSE_MANAGEMENT)
_PROLOG_PARTS = [
    b"",
    b'<?xml version="1.0"?>',
    b"<!-- <a -->",
    b"<?pi <b?>",
    b"\xef\xbb\xbf",
    b" \n",
    b'<!DOCTYPE s:Envelope [<!ENTITY x "y">]>',
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prolog=st.lists(st.sampled_from(_PROLOG_PARTS), max_size=4),
    cut=st.integers(min_value=0, max_value=len(GOOD_ACK)),
    insert=st.binary(max_size=12) | st.sampled_from([b"&x;", b"<!DOCTYPE a>", b"<", b"]]>", b"\xff", b"<b:X/>", b"&#0;"]),
    drop=st.integers(min_value=0, max_value=8),
)
def test_fuzzed_answers_are_read_or_refused_never_otherwise(prolog: list[bytes], cut: int, insert: bytes, drop: int) -> None:
    """Whatever the bytes, the reader returns or raises `GisBadAnswer`; and it returns only
    for a document that carries no DTD and validates."""
    data = b"".join(prolog) + GOOD_ACK[:cut] + insert + GOOD_ACK[cut + drop :]
    try:
        reply = read(io.BytesIO(data), _SCHEMA, Where("house-management", "fuzz"))
    except GisBadAnswer:
        return
    assert b"<!DOCTYPE" not in data.split(b"<s:Envelope", 1)[0]
    safe = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    tree = etree.fromstring(data.removeprefix(b"\xef\xbb\xbf"), safe)
    assert tree.getroottree().docinfo.internalDTD is None
    assert _SCHEMA.validate(tree)
    assert reply.ack_guid is not None


def test_reading_in_tiny_chunks_gives_the_same_records(client: GisClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """What closes outside a record is swept after every chunk: records that span many chunks,
    among elements swept around them, still come out whole."""
    ogrns = [o["ogrn"] for o in world["organisations"]]
    whole = client.actual_licenses(ogrns, world["region"]["code"])
    monkeypatch.setattr(replies, "_CHUNK", 7)
    assert client.actual_licenses(ogrns, world["region"]["code"]) == whole
    assert sum(len(lic.houses) for lic in whole) > 0


def test_a_schema_violation_stops_the_read_at_once() -> None:
    """The rest of an answer is not read once a violation is seen (libxml2 would go on)."""
    read_so_far: list[int] = []

    class Counting(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            read_so_far.append(len(data))
            return data

    body = _ENV_OPEN + b"<b:NotInTheSchema>" + b"<x/>" * 1_000_000 + b"</b:NotInTheSchema>" + _ENV_CLOSE
    with pytest.raises(GisBadAnswer, match=r"schema-invalid answer: .*NotInTheSchema.* \(within its first \d+ bytes\)"):
        read(Counting(body), _SCHEMA, Where("house-management", "getState"))
    assert sum(read_so_far) < 200_000 < len(body)
