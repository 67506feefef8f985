"""A large hostile GIS ZhKH answer, and a probe of the memory the real client spends refusing it.

The answer is a SOAP Fault whose `detail` entry (which the envelope schema lets through
laxly, unread) holds many small elements, followed by an element the schema refuses: it is
invalid only at its very end, so a reader that keeps what it has read grows with the answer.

    PYTHONPATH=tests:src python -m support.bloated_answer --mb 100

prints one JSON line: the answer's size, the client's peak RSS growth while refusing it, and
the error. The test suite and `bench/gis_decode.py` run it in a fresh process each.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"'
    b' xmlns:b="http://dom.gosuslugi.ru/schema/integration/base/"><s:Body><s:Fault><faultcode>s:Server</faultcode>'
    b"<faultstring>bloated</faultstring><detail><trace>"
)
ITEM = b"<item>" + b"x" * 10 + b"</item>"
TAIL = b"</trace></detail></s:Fault><b:NotInTheSchema/></s:Body></s:Envelope>"


def body(size: int) -> tuple[int, Iterator[bytes]]:
    """(length, chunks) of an answer of about `size` bytes, generated as it is sent."""
    count = max(0, (size - len(HEAD) - len(TAIL)) // len(ITEM))
    per_chunk = 4096

    def chunks() -> Iterator[bytes]:
        yield HEAD
        block = ITEM * per_chunk
        for _ in range(count // per_chunk):
            yield block
        yield ITEM * (count % per_chunk)
        yield TAIL

    return len(HEAD) + count * len(ITEM) + len(TAIL), chunks()


def serve(size: int) -> tuple[ThreadingHTTPServer, str]:
    """A loopback server answering every POST with the bloated Fault (HTTP 500, as faults are)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            length, chunks = body(size)
            self.send_response(500)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(length))
            self.end_headers()
            try:
                for chunk in chunks:
                    self.wfile.write(chunk)
            except ConnectionError:
                pass  # the client stopped reading

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def probe(size: int) -> dict[str, Any]:
    """Ask the real client for one house against the bloated answer; the peak RSS growth it cost."""
    from domchat.errors import GisBadAnswer
    from domchat.gis_client import GisClient
    from domchat.settings import GisSettings
    from support.reference import GIS_SCHEMAS

    warm, warm_url = serve(4096)
    big, url = serve(size)
    try:
        settings = GisSettings(endpoint=warm_url, schemas_dir=GIS_SCHEMAS, org_ppa_guid="6f8e4f6c-0c0a-4f1e-9d41-2f3b5e1c7a10")
        for endpoint in (warm_url, url):  # the first call loads the schemas: not counted
            before = peak_rss_mb()
            with GisClient(GisSettings(**{**settings.__dict__, "endpoint": endpoint})) as client:
                try:
                    client.house_data(["5f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"])
                    error = ""
                except GisBadAnswer as e:
                    error = str(e)
        return {"answer_mb": body(size)[0] / 1e6, "growth_mb": peak_rss_mb() - before, "error": error}
    finally:
        warm.shutdown()
        big.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="answer size in MB")
    args = parser.parse_args()
    print(json.dumps(probe(int(args.mb * 1e6))))


if __name__ == "__main__":
    main()
