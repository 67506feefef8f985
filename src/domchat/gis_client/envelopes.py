"""Request envelopes, built by zeep from the official WSDLs (so a wrong element fails here).

zeep is used only to *build* requests: answers are decoded by `replies` in a single streaming
pass, which avoids zeep's per-object cost on large exports. The HTTP path of each service is
taken from its WSDL's `soap:address`.
"""

from __future__ import annotations

import functools
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import zeep
import zeep.exceptions
from lxml import etree

from domchat.errors import GisError
from domchat.gis_client.schemas import official_lib
from domchat.gis_client.services import Operation, Service
from domchat.gis_client.signing import SIGNED_ID

_ZEEP_SETTINGS = zeep.Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True)


class _LocalFiles(zeep.Transport):
    """Loads WSDL/XSD files only from disk, taking a provisional contract's `../lib` from the package."""

    def __init__(self, schemas_dir: Path) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._dir = schemas_dir

    def load(self, url: str) -> bytes:
        path = official_lib(url, self._dir) or Path(url.removeprefix("file://"))
        return path.read_bytes()


@functools.lru_cache(maxsize=16)
def _load(wsdl: Path, name: str, schemas_dir: Path) -> Any:
    """A zeep client for a WSDL file; cached per process, as the contract files do not change."""
    try:
        return zeep.Client(str(wsdl), settings=_ZEEP_SETTINGS, transport=_LocalFiles(schemas_dir))  # type: ignore[no-untyped-call]
    except (OSError, zeep.exceptions.Error, etree.LxmlError) as e:
        raise GisError(f"GIS {name}: cannot load WSDL {wsdl}: {e}") from None


class Envelopes:
    def __init__(self, schemas_dir: Path, org_ppa_guid: str) -> None:
        self._dir = schemas_dir
        self._org_ppa_guid = org_ppa_guid
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _client(self, service: Service) -> Any:
        with self._lock:
            client = self._clients.get(service.name)
            if client is None:
                wsdl = service.wsdl_path(self._dir).resolve()
                client = self._clients[service.name] = _load(wsdl, service.name, self._dir.resolve())
            return client

    def path(self, service: Service) -> str:
        """The service's HTTP path, from its WSDL."""
        client = self._client(service)
        for svc in client.wsdl.services.values():
            for port in svc.ports.values():
                return urlsplit(str(port.binding_options["address"])).path
        raise GisError(f"GIS {service.name}: the WSDL names no address")

    def build(self, op: Operation, body: dict[str, Any], *, mark_signed: bool) -> tuple[str, bytes]:
        """A new message for `op`: (its MessageGUID, the envelope). Each call is a new message."""
        guid = str(uuid.uuid4())
        header: dict[str, Any] = {"Date": datetime.now(UTC).replace(microsecond=0), "MessageGUID": guid}
        if op.service.header == "RequestHeader":
            if not self._org_ppa_guid:
                raise GisError(f"GIS {op.service.name} {op.name}: gis.org_ppa_guid is not set (RequestHeader needs it)")
            header["orgPPAGUID"] = self._org_ppa_guid
        kwargs = dict(body)
        if op.version is not None:
            kwargs["version"] = op.version
        if mark_signed:
            kwargs["Id"] = SIGNED_ID
        client = self._client(op.service)
        try:
            envelope = client.create_message(client.service, op.name, _soapheaders={"Header": header}, **kwargs)
        except (zeep.exceptions.Error, TypeError, ValueError) as e:
            raise GisError(f"GIS {op.service.name} {op.name}: cannot build the request: {e}") from None
        return guid, etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
