"""Validation of whole SOAP envelopes against the official XSDs, while they stream in.

The GIS ZhKH package has no schema for the SOAP envelope itself, so one is composed here: the
SOAP 1.1 `Envelope`, `Header`, `Body` and `Fault` (as the W3C note defines them) whose
header and body entries are validated *strictly* against the service's official types XSD,
imported by file. Only the envelope is ours; everything GIS-specific is the package's.

Its wildcards are bounded (one body entry, a few header and fault detail entries) although
SOAP leaves them open: libxml2's streaming validator keeps every child it has seen of an
element whose content is open-ended until that element closes, so an open `detail` would let
an answer of millions of tiny elements grow memory with its size.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lxml import etree

from domchat.errors import GisError
from domchat.gis_client.services import SOAP_ENV_NS, Service

_ENVELOPE_XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="{env}"
           targetNamespace="{env}" elementFormDefault="unqualified">
  <xs:import namespace="{types_ns}" schemaLocation="{types_uri}"/>
  <xs:element name="Envelope">
    <xs:complexType>
      <xs:sequence>
        <xs:element ref="tns:Header" minOccurs="0"/>
        <xs:element ref="tns:Body"/>
      </xs:sequence>
      <xs:anyAttribute namespace="##other" processContents="lax"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="Header">
    <xs:complexType>
      <xs:sequence>
        <xs:any namespace="##other" processContents="strict" minOccurs="0" maxOccurs="{entries}"/>
      </xs:sequence>
      <xs:anyAttribute namespace="##other" processContents="lax"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="Body">
    <xs:complexType>
      <xs:sequence>
        <xs:any namespace="##any" processContents="strict" minOccurs="0" maxOccurs="1"/>
      </xs:sequence>
      <xs:anyAttribute namespace="##any" processContents="lax"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="Fault">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="faultcode" type="xs:QName"/>
        <xs:element name="faultstring" type="xs:string"/>
        <xs:element name="faultactor" type="xs:anyURI" minOccurs="0"/>
        <xs:element name="detail" minOccurs="0">
          <xs:complexType mixed="true">
            <xs:sequence>
              <xs:any namespace="##any" processContents="lax" minOccurs="0" maxOccurs="{entries}"/>
            </xs:sequence>
            <xs:anyAttribute namespace="##any" processContents="lax"/>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


_ENTRIES = 16
"""Most header entries, and most fault `detail` entries, an answer may carry (GIS ZhKH sends one)."""


def official_lib(url: str, schemas_dir: Path) -> Path | None:
    """Where a provisional contract's `../lib/*.xsd` import really is: the official package's lib."""
    folder, _, name = url.rpartition("/")
    if folder.endswith("/lib") and name.endswith(".xsd") and not Path(url.removeprefix("file://")).is_file():
        candidate = schemas_dir / "lib" / name
        if candidate.is_file():
            return candidate
    return None


class _LibResolver(etree.Resolver):
    def __init__(self, schemas_dir: Path) -> None:
        super().__init__()
        self._dir = schemas_dir

    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        found = official_lib(system_url, self._dir)
        if found is None:
            return None
        return self.resolve_string(found.read_bytes(), context, base_url=found.as_uri())


def types_xsd(schemas_dir: Path, service: Service) -> Path:
    """The service's types XSD: the sibling of its WSDL named `*-types.xsd`."""
    wsdl = service.wsdl_path(schemas_dir)
    found = sorted(wsdl.parent.glob("*-types.xsd"))
    if len(found) != 1:
        raise GisError(f"GIS {service.name}: expected one *-types.xsd beside {wsdl}, found {len(found)}")
    return found[0]


class EnvelopeSchemas:
    """One compiled envelope schema per service, built on first use."""

    def __init__(self, schemas_dir: Path) -> None:
        self._dir = schemas_dir
        self._cache: dict[str, etree.XMLSchema] = {}
        self._lock = threading.Lock()

    def for_service(self, service: Service) -> etree.XMLSchema:
        with self._lock:
            schema = self._cache.get(service.name)
            if schema is None:
                xsd = types_xsd(self._dir, service)
                text = _ENVELOPE_XSD.format(env=SOAP_ENV_NS, types_ns=service.types_ns, types_uri=xsd.resolve().as_uri(), entries=_ENTRIES)
                parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
                parser.resolvers.add(_LibResolver(self._dir))
                try:
                    schema = etree.XMLSchema(etree.fromstring(text.encode("utf-8"), parser))
                except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as e:
                    raise GisError(f"GIS {service.name}: cannot compile the schemas under {xsd.parent}: {e}") from None
                self._cache[service.name] = schema
            return schema
