"""What the emulator knows of the services it plays, read from the WSDL and XSD files themselves.

Nothing about the official contract is written down twice: the service paths come from each
WSDL's `soap:address`, the operations and the header each one requires from the WSDL binding,
the versions a request may carry from the XSD annotations ("Доступны версии …") or the `fixed`
value of its `base:version` attribute, and validation from the compiled XSDs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from domchat.errors import WorldError

WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
XS = "http://www.w3.org/2001/XMLSchema"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
VERSION_ATTR = f"{{{BASE}}}version"

_VERSION = re.compile(r"\b\d+\.\d+\.\d+\.\d+\b")


def safe_parser(lib: Path | None = None) -> etree.XMLParser:
    """A parser that never loads a DTD, expands an entity or touches the network.

    With `lib`, an import of `../lib/<name>.xsd` that does not exist beside the importing file is
    read from `lib` instead: that is how domchat's provisional contract imports the official base.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    if lib is not None:
        parser.resolvers.add(_OfficialLib(lib))
    return parser


class _OfficialLib(etree.Resolver):
    def __init__(self, lib: Path) -> None:
        super().__init__()
        self.lib = lib

    def resolve(self, system_url: str, public_id: str, context: Any = None) -> Any:
        folder, _, name = system_url.rpartition("/")
        local = Path(system_url.removeprefix("file://"))
        if folder.endswith("/lib") and not local.is_file() and (self.lib / name).is_file():
            return self.resolve_string((self.lib / name).read_bytes(), context, base_url=(self.lib / name).as_uri())
        return None


@dataclass(frozen=True)
class OperationContract:
    name: str
    request: str
    """Clark name of the body element that calls this operation."""
    header: str
    """Clark name of the SOAP header element the binding requires (RequestHeader or ISRequestHeader)."""
    versions: frozenset[str]
    """Values of `base:version` the operation accepts; empty when the package names none."""


@dataclass
class ServiceContract:
    name: str
    path: str
    """HTTP path of the service (from `soap:address`)."""
    wsdl: Path
    schema: etree.XMLSchema
    state_result: str
    """Clark name of this service's `getStateResult` element."""
    state_version: str
    """The `base:version` of `getStateResult` answers (fixed by the XSD, else the XSD's own version)."""
    operations: dict[str, OperationContract] = field(default_factory=dict)
    """By the Clark name of the request element."""

    def operation(self, name: str) -> OperationContract:
        for op in self.operations.values():
            if op.name == name:
                return op
        raise KeyError(name)


def load_service(wsdl_path: Path, lib: Path) -> ServiceContract:
    """Read one async service from its WSDL and the types XSD it imports (`lib`: the official base library)."""
    try:
        doc = etree.parse(str(wsdl_path), safe_parser())
    except (OSError, etree.XMLSyntaxError) as e:
        raise WorldError(f"cannot read WSDL {wsdl_path}: {e}") from None
    root = doc.getroot()
    ns = {"w": WSDL, "s": WSDL_SOAP, "xs": XS}

    def qname(prefixed: str, context: etree._Element) -> str:
        prefix, _, local = prefixed.rpartition(":")
        return f"{{{context.nsmap[prefix or None]}}}{local}"

    parts = {m.get("name"): qname(p.get("element", ""), p) for m in root.iterfind("w:message", ns) for p in m.iterfind("w:part", ns)}
    types_xsd = _types_xsd(root, wsdl_path)
    xsd_doc = etree.parse(str(types_xsd), safe_parser(lib))
    schema = etree.XMLSchema(xsd_doc)
    address = root.find("w:service/w:port/s:address", ns)
    if address is None:
        raise WorldError(f"{wsdl_path}: no soap:address")
    path = urlsplit(address.get("location", "")).path

    inputs = {}
    outputs = {}
    for op in root.iterfind("w:portType/w:operation", ns):
        name = op.get("name", "")
        inputs[name] = parts[_local(op.find("w:input", ns).get("message", ""))]  # type: ignore[union-attr]
        outputs[name] = parts[_local(op.find("w:output", ns).get("message", ""))]  # type: ignore[union-attr]
    state_result = outputs["getState"]
    service = ServiceContract(
        name=root.find("w:service", ns).get("name", ""),  # type: ignore[union-attr]
        path=path,
        wsdl=wsdl_path,
        schema=schema,
        state_result=state_result,
        state_version=_state_version(xsd_doc, state_result),
    )
    for op in root.iterfind("w:binding/w:operation", ns):
        name = op.get("name", "")
        header = op.find("w:input/s:header", ns)
        header_el = parts[_local(header.get("message", ""))] if header is not None else ""
        request = inputs[name]
        service.operations[request] = OperationContract(name, request, header_el, _versions(xsd_doc, request))
    return service


def _local(prefixed: str) -> str:
    return prefixed.rpartition(":")[2]


def _types_xsd(wsdl_root: etree._Element, wsdl_path: Path) -> Path:
    """The service's own types XSD: the import in `wsdl:types` that is not the base library."""
    for imp in wsdl_root.iterfind(f"{{{WSDL}}}types/{{{XS}}}schema/{{{XS}}}import"):
        if imp.get("namespace") != BASE:
            return (wsdl_path.parent / imp.get("schemaLocation", "")).resolve()
    raise WorldError(f"{wsdl_path}: no types schema imported")


def _global_element(xsd: etree._ElementTree, clark: str) -> etree._Element | None:
    local = clark.rpartition("}")[2]
    found: list[etree._Element] = xsd.getroot().xpath("xs:element[@name=$n]", namespaces={"xs": XS}, n=local)  # type: ignore[assignment]
    return found[0] if found else None


def _version_attribute(el: etree._Element) -> etree._Element | None:
    found: list[etree._Element] = el.xpath(
        "xs:complexType/xs:complexContent/xs:extension/xs:attribute[substring-after(@ref, ':') = 'version']",
        namespaces={"xs": XS},
    )  # type: ignore[assignment]
    return found[0] if found else None


def _versions(xsd: etree._ElementTree, request: str) -> frozenset[str]:
    el = _global_element(xsd, request)
    if el is None:  # a request defined in the base library (getStateRequest) has no version
        return frozenset()
    attr = _version_attribute(el)
    if attr is not None and attr.get("fixed"):
        return frozenset({attr.get("fixed", "")})
    doc = el.findtext(f"{{{XS}}}annotation/{{{XS}}}documentation") or ""
    return frozenset(_VERSION.findall(doc)) if "верси" in doc.lower() else frozenset()


def _state_version(xsd: etree._ElementTree, state_result: str) -> str:
    el = _global_element(xsd, state_result)
    attr = _version_attribute(el) if el is not None else None
    if attr is not None and attr.get("fixed"):
        return attr.get("fixed", "")
    return xsd.getroot().get("version", "")
