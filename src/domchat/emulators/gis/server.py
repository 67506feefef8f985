"""The GIS ZhKH emulator: the official async services over real HTTP on loopback.

It serves the reference WSDLs at their real paths, validates every request against the XSDs
(answering invalid ones with a SOAP Fault `FMT001300`, as the real service does), acknowledges
valid ones with a new MessageGUID and lets `getState` report states 1 → 2 → 3, the last only
after the processing delay. Faults can be injected (see `GisFaults`). Every exchange is kept in
`log` so that tests can check what went over the wire. The control API under `/_emulator/`
(`control.GisControl`) changes the world and the faults while it runs.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from domchat.emulators.gis import guest_access, house_management, licenses, nsi, org_registry
from domchat.emulators.gis.answers import Handler, Request
from domchat.emulators.gis.contract import (
    BASE,
    VERSION_ATTR,
    OperationContract,
    ServiceContract,
    load_service,
    safe_parser,
)
from domchat.emulators.gis.control import PREFIX, GisControl
from domchat.emulators.gis.faults import Dice, GisFaults
from domchat.emulators.gis.messages import Message, MessageStore
from domchat.emulators.gis.soap import SOAP_ENV, ack, fault, new_guid
from domchat.emulators.gis.world_index import WorldIndex

INVALID = "FMT001300"
ORG_NOT_FOUND = "AUT011002"
_MAX_REQUEST = 8 * 1024 * 1024
_ADDRESS = re.compile(r'location="https?://[^/"]+')
_XSD_NAME = re.compile(r"^[\w.-]+\.xsd$")

PROVISIONAL_WSDL = Path(__file__).resolve().parents[2] / "gis_client" / "provisional" / "hcs-guest-access-provisional-service-async.wsdl"
"""domchat's own guest-access contract: a data file shipped beside the client (read, never imported)."""

# The services played, by WSDL within the package, with the operations each one answers.
SERVICES: Mapping[str, Mapping[str, Handler]] = {
    "house-management/hcs-house-management-service-async.wsdl": house_management.HANDLERS,
    "licenses/hcs-licenses-service-async.wsdl": licenses.HANDLERS,
    "organizations-registry-common/hcs-organizations-registry-common-service-async.wsdl": org_registry.HANDLERS,
    "nsi-common/hcs-nsi-common-service-async.wsdl": nsi.HANDLERS,
}


@dataclass(frozen=True)
class LoggedExchange:
    """One HTTP exchange as it went over the wire."""

    method: str
    path: str
    operation: str
    """The SOAP operation, or "" when the request named none the service knows."""
    message_guid: str
    """The MessageGUID the emulator acknowledged or reported on, or ""."""
    request: bytes
    status: int
    answer: bytes
    request_state: int | None
    """RequestState reported by `getState`; None for other exchanges."""


class _Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class GisEmulator:
    def __init__(
        self,
        world: dict[str, Any],
        schemas_dir: Path,
        *,
        processing_delay: float = 0.5,
        faults: GisFaults | None = None,
    ) -> None:
        self.faults = faults or GisFaults()
        delay = self.faults.processing_delay if self.faults.processing_delay is not None else processing_delay
        self.world = WorldIndex(world)
        self.schemas_dir = schemas_dir
        self.services: dict[str, tuple[ServiceContract, Mapping[str, Handler]]] = {}
        for wsdl, handlers in [*((schemas_dir / rel, h) for rel, h in SERVICES.items()), (PROVISIONAL_WSDL, guest_access.HANDLERS)]:
            contract = load_service(wsdl, schemas_dir / "lib")
            self.services[contract.path] = (contract, handlers)
        self.messages = MessageStore(delay)
        self._dice = Dice(self.faults.seed)
        self.control = GisControl(lambda: self.world.world, self._reindex, self.set_faults, lambda: self.faults)
        self._world_lock = threading.RLock()
        self._log: list[LoggedExchange] = []
        self._log_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # Life cycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the base URL."""
        self._bind(host, port)
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="gis-emulator", daemon=True)
        self._thread.start()
        return self.base_url

    def serve_forever(self, host: str = "127.0.0.1", port: int = 0, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve in the calling thread until interrupted; `on_ready` gets the base URL."""
        self._bind(host, port)
        assert self._server is not None
        if on_ready is not None:
            on_ready(self.base_url)
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def _bind(self, host: str, port: int) -> None:
        emulator = self

        class Handler(_Handler):
            owner = emulator

        self._server = _Server((host, port), Handler)
        bound_host, bound_port = self._server.server_address[:2]
        self.base_url = f"http://{bound_host!s}:{bound_port}"

    # Changes while running (the control API)

    def set_faults(self, faults: GisFaults) -> None:
        """Inject (or, with `GisFaults()`, clear) faults from the next request on."""
        self.faults = faults
        self._dice = Dice(faults.seed)
        if faults.processing_delay is not None:
            self.messages.processing_delay = faults.processing_delay

    def _reindex(self) -> None:
        """After the world changed: messages acknowledged from now on see the new world."""
        with self._world_lock:
            self.world = WorldIndex(self.world.world)

    def handle_control(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        with self._world_lock:
            return self.control.handle(method, path, body)

    # What went over the wire

    @property
    def log(self) -> list[LoggedExchange]:
        with self._log_lock:
            return list(self._log)

    def _record(self, entry: LoggedExchange) -> None:
        with self._log_lock:
            self._log.append(entry)

    # SOAP

    def handle_post(self, path: str, soap_action: str | None, body: bytes) -> tuple[int, bytes, str, str, int | None]:
        """(status, answer, operation, MessageGUID, RequestState) for one POST."""
        found = self.services.get(path)
        if found is None:
            return 404, b"no such service", "", "", None
        service, handlers = found
        try:
            op, header, payload = self._validated(service, soap_action, body)
            if op.name == "getState":
                guid = payload.findtext(f"{{{BASE}}}MessageGUID") or ""
                if self._dice.roll(self.faults.slow_get_state_share):
                    time.sleep(self.faults.slow_get_state)
                state, answer = self.messages.state_answer(service, guid)
                return 200, answer, op.name, guid, state
            handler = handlers.get(op.name)
            if handler is None:
                raise _Invalid(INVALID, f"Операция {op.name} не поддерживается эмулятором")
            requester = self._requester(header)
            guid = new_guid()
            self.messages.add(
                Message(
                    guid=guid,
                    service=service,
                    operation=op,
                    request=Request(payload, requester, self.world),
                    handler=handler,
                    acked_at=time.monotonic(),
                    stuck=self._dice.roll(self.faults.stuck_share),
                    transfer_error=self._dice.roll(self.faults.exp001000_share),
                    schema_violation=self._dice.roll(self.faults.schema_violation_share),
                )
            )
            requester_guid = header.findtext(f"{{{BASE}}}MessageGUID") or ""
            return 200, ack(guid, requester_guid), op.name, guid, None
        except _Invalid as e:
            return 500, fault(e.code, str(e), client=e.code == INVALID), "", "", None

    def _validated(
        self, service: ServiceContract, soap_action: str | None, body: bytes
    ) -> tuple[OperationContract, etree._Element, etree._Element]:
        try:
            root = etree.fromstring(body, safe_parser())
        except etree.XMLSyntaxError as e:
            raise _Invalid(INVALID, f"Некорректный XML: {e}") from None
        info = root.getroottree().docinfo
        if info.internalDTD is not None:
            raise _Invalid(INVALID, "DTD в сообщении не допускается")
        if root.tag != f"{{{SOAP_ENV}}}Envelope":
            raise _Invalid(INVALID, f"Ожидался soap:Envelope, получен {root.tag}")
        header_el = root.find(f"{{{SOAP_ENV}}}Header")
        body_el = root.find(f"{{{SOAP_ENV}}}Body")
        headers = [] if header_el is None else [c for c in header_el if isinstance(c.tag, str)]
        payloads = [] if body_el is None else [c for c in body_el if isinstance(c.tag, str)]
        if len(payloads) != 1:
            raise _Invalid(INVALID, "soap:Body должен содержать ровно один элемент")
        payload = payloads[0]
        op = service.operations.get(payload.tag)
        if op is None:
            raise _Invalid(INVALID, f"Неизвестный элемент запроса {payload.tag}")
        if len(headers) != 1 or headers[0].tag != op.header:
            raise _Invalid(INVALID, f"Операция {op.name} требует заголовок {op.header}")
        for el in (headers[0], payload):
            try:
                service.schema.assertValid(el)
            except etree.DocumentInvalid as e:
                raise _Invalid(INVALID, f"Сообщение не соответствует схеме: {e}") from None
        version = payload.get(VERSION_ATTR)
        if op.versions and version not in op.versions:
            raise _Invalid(INVALID, f"Версия {version} не поддерживается операцией {op.name}: {', '.join(sorted(op.versions))}")
        if soap_action is not None and soap_action.strip('"') not in ("", f"urn:{op.name}"):
            raise _Invalid(INVALID, f"SOAPAction {soap_action} не соответствует операции {op.name}")
        return op, headers[0], payload

    def _requester(self, header: etree._Element) -> dict[str, Any] | None:
        if header.tag != f"{{{BASE}}}RequestHeader":
            return None
        ppa = header.findtext(f"{{{BASE}}}orgPPAGUID")
        requester = self.world.requester(ppa)
        if requester is None:
            raise _Invalid(ORG_NOT_FOUND, f"Организация orgPPAGUID={ppa} не зарегистрирована")
        return requester

    # WSDL and XSD files, with the address pointing here

    def handle_get(self, path: str, query: str) -> tuple[int, bytes, str]:
        found = self.services.get(path)
        if found is not None and query.lower() == "wsdl":
            text = _ADDRESS.sub(f'location="{self.base_url}', found[0].wsdl.read_text(encoding="utf-8"))
            return 200, text.encode("utf-8"), "text/xml; charset=utf-8"
        folder, _, name = path.rpartition("/")
        if _XSD_NAME.match(name):
            for service, _handlers in self.services.values():
                service_root = service.path.rsplit("/", 2)[0]
                if folder == f"{service_root}/services":
                    candidate = service.wsdl.parent / name
                elif folder == f"{service_root}/lib":
                    candidate = self.schemas_dir / "lib" / name
                else:
                    continue
                if candidate.is_file():
                    return 200, candidate.read_bytes(), "text/xml; charset=utf-8"
        return 404, b"not found", "text/plain"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout, a test) is not an emulator error; others are printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: GisEmulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the emulator's own log is `GisEmulator.log`."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path.startswith(PREFIX + "/"):
            self._control("GET", url.path, b"")
            return
        status, body, ctype = self.owner.handle_get(url.path, url.query)
        self._send(status, body, ctype, truncate=False)

    def do_PUT(self) -> None:
        self._control("PUT", urlsplit(self.path).path, self._body())

    def do_DELETE(self) -> None:
        self._control("DELETE", urlsplit(self.path).path, self._body())

    def _control(self, method: str, path: str, body: bytes) -> None:
        status, answer = self.owner.handle_control(method, path, body)
        self._send(status, answer, "application/json", truncate=False)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, _MAX_REQUEST))

    def do_POST(self) -> None:
        owner = self.owner
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_REQUEST:
            self._send(413, b"request too large", "text/plain", truncate=False)
            return
        body = self.rfile.read(length)
        if url.path.startswith(PREFIX + "/"):
            self._control("POST", url.path, body)
            return
        if owner._dice.roll(owner.faults.http_5xx_share):
            answer = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
            owner._record(LoggedExchange("POST", url.path, "", "", body, 503, answer, None))
            self._send(503, answer, "text/html", truncate=False)
            return
        status, answer, operation, guid, state = owner.handle_post(url.path, self.headers.get("SOAPAction"), body)
        owner._record(LoggedExchange("POST", url.path, operation, guid, body, status, answer, state))
        if owner._dice.roll(owner.faults.trickle_share):
            self._trickle(status, answer, owner.faults.trickle_interval)
            return
        self._send(status, answer, "text/xml; charset=utf-8", truncate=owner._dice.roll(owner.faults.truncated_share))

    def _trickle(self, status: int, body: bytes, interval: float) -> None:
        """The whole answer, one byte every `interval` seconds, until sent or the client hangs up."""
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        for i in range(len(body)):
            time.sleep(interval)
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()

    def _send(self, status: int, body: bytes, ctype: str, *, truncate: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if truncate:
            # Announce the whole body, send half, and hang up: a connection cut mid-answer.
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.end_headers()
        self.wfile.write(body)
