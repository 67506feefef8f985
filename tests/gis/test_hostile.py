"""Hostile answers: DTDs, entities, network references, oversize and malformed bodies."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from domchat.errors import GisBadAnswer
from domchat.gis_client import GisClient

HOUSE = "5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
_ENV_OPEN = (
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:b="http://dom.gosuslugi.ru/schema/integration/base/"><s:Body>'
)
_ACK = _ENV_OPEN + (
    b"<b:AckRequest><b:Ack><b:MessageGUID>&x;</b:MessageGUID>"
    b"<b:RequesterMessageGUID>5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b</b:RequesterMessageGUID></b:Ack></b:AckRequest></s:Body></s:Envelope>"
)

Serve = Callable[..., str]
HITS: list[str] = []
"""Every request any test server saw, as "METHOD path"."""


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start a server that answers every POST with the given bytes; returns its base URL."""
    servers: list[ThreadingHTTPServer] = []
    HITS.clear()

    def start(body: bytes, *, chunked: bool = False, status: int = 200) -> str:
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
                self.send_header("Content-Type", "text/xml")
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


def test_billion_laughs_is_refused(serve: Serve, make_client: Any) -> None:
    dtd = (
        b'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(b'<!ENTITY %c "%s">' % (ord("b") + i, (b"&%c;" % (ord("a") + i)) * 10) for i in range(8))
        + b'<!ENTITY x "&i;">]>'
    )
    assert "DTD" in _refused(make_client(serve(dtd + _ACK)))


def test_external_entity_is_neither_read_nor_echoed(serve: Serve, make_client: Any, tmp_path: Any) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    body = b'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "' + secret.as_uri().encode() + b'">]>' + _ACK
    message = _refused(make_client(serve(body)))
    assert "TOP-SECRET-VALUE" not in message


def test_network_dtd_is_not_fetched(serve: Serve, make_client: Any) -> None:
    trap = serve(b"")
    body = b'<?xml version="1.0"?><!DOCTYPE s:Envelope SYSTEM "' + trap.encode() + b'/evil.dtd">' + _ACK.replace(b"&x;", HOUSE.encode())
    _refused(make_client(serve(body)))
    assert [h for h in HITS if h.startswith("GET")] == []


def test_dtd_hidden_behind_a_long_prolog_is_refused(serve: Serve, make_client: Any) -> None:
    body = b'<?xml version="1.0"?><!--' + b"x" * 70_000 + b'--><!DOCTYPE s:Envelope [<!ENTITY x "y">]>' + _ACK
    assert "refused" in _refused(make_client(serve(body)))


def test_utf16_answer_is_refused(serve: Serve, make_client: Any) -> None:
    body = '<?xml version="1.0" encoding="UTF-16"?>'.encode("utf-16") + _ACK.decode().replace("&x;", HOUSE).encode("utf-16")[2:]
    assert "not UTF-8" in _refused(make_client(serve(body)))


def test_oversize_answer_is_refused_by_content_length(serve: Serve, make_client: Any) -> None:
    message = _refused(make_client(serve(b" " * 5000 + _ACK), max_answer_bytes=4096))
    assert "max_answer_bytes=4096" in message


def test_oversize_chunked_answer_is_refused_while_reading(serve: Serve, make_client: Any) -> None:
    message = _refused(make_client(serve(b" " * 300_000 + _ACK, chunked=True), max_answer_bytes=200_000))
    assert "exceeds gis.max_answer_bytes=200000" in message


def test_malformed_answer_is_refused(serve: Serve, make_client: Any) -> None:
    assert "malformed or schema-invalid" in _refused(make_client(serve(_ENV_OPEN + b"<b:AckRequest><b:Ack>")))


def test_non_xml_500_is_refused(serve: Serve, make_client: Any) -> None:
    assert "malformed" in _refused(make_client(serve(b"<html>Internal error</html", status=500)))
