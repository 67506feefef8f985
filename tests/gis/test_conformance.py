"""Every request the client sends and every answer the emulator gives, checked against the XSDs.

The check here is independent of both sides: it compiles each service's official types XSD
with lxml and validates every SOAP header entry and body entry captured on the wire.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import domchat.gis_client
from domchat.emulators.gis import GisEmulator
from domchat.gis_client import GisClient

TYPES = {
    "/ext-bus-home-management-service/services/HomeManagementAsync": "house-management/hcs-house-management-types.xsd",
    "/ext-bus-licenses-service/services/LicensesAsync": "licenses/hcs-licenses-types.xsd",
    "/ext-bus-nsi-common-service/services/NsiCommonAsync": "nsi-common/hcs-nsi-common-types.xsd",
    "/ext-bus-org-registry-common-service/services/OrgRegistryCommonAsync": (
        "organizations-registry-common/hcs-organizations-registry-common-types.xsd"
    ),
}
ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"


PROVISIONAL_PATH = "/ext-bus-domchat-guest-access-provisional/services/GuestAccessAsync"
PROVISIONAL_XSD = Path(domchat.gis_client.__file__).parent / "provisional" / "hcs-guest-access-provisional-types.xsd"


class _Lib(etree.Resolver):
    """The provisional XSD imports `../lib/hcs-base.xsd`: take it from the official package."""

    def __init__(self, lib: Path) -> None:
        super().__init__()
        self.lib = lib

    def resolve(self, url: str, public_id: str, context: Any = None) -> Any:
        name = url.rsplit("/", 1)[1]
        if "/lib/" in url and not Path(url.removeprefix("file://")).exists():
            return self.resolve_filename(str(self.lib / name), context)  # type: ignore[attr-defined]
        return None


@pytest.fixture(scope="module")
def schemas(schemas_dir: Path) -> dict[str, etree.XMLSchema]:
    found = {path: etree.XMLSchema(etree.parse(str(schemas_dir / rel))) for path, rel in TYPES.items()}
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_Lib(schemas_dir / "lib"))
    found[PROVISIONAL_PATH] = etree.XMLSchema(etree.parse(str(PROVISIONAL_XSD), parser))
    return found


@pytest.fixture
def world(world_factory: Any) -> dict[str, Any]:
    """A world that takes the answers down their optional branches: charters (one managed under a
    contract), a region FIAS GUID."""
    made: dict[str, Any] = world_factory(buildings=24, charter_share=0.25)
    made["region"]["fias_guid"] = "d66e5325-3a25-4d29-ba86-4ca351d9704b"
    charter = next(e for b in made["buildings"] for e in b["management"] if e["document"]["kind"] == "charter")
    charter["document"]["managed_by_contract"] = True
    return made


def _entries(raw: bytes) -> list[etree._Element]:
    root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    assert root.tag == ENV + "Envelope"
    header = root.find(ENV + "Header")
    body = root.find(ENV + "Body")
    assert body is not None and len(body) == 1
    entries = list(header) if header is not None else []
    if body[0].tag == ENV + "Fault":
        entries += list(body[0].find("detail") or [])
    else:
        entries.append(body[0])
    return entries


def _exercise(client: GisClient, world: dict[str, Any]) -> None:
    guids = [b["fias_guid"] for b in world["buildings"]]
    ogrns = [o["ogrn"] for o in world["organisations"]]
    unknown = "00000000-0000-4000-8000-000000000000"
    client.house_data([*guids, unknown])
    client.brief_houses([world["buildings"][0]["hcs_guid"], unknown])
    client.basic_houses([*guids, unknown])
    client.actual_licenses(ogrns, world["region"]["code"])
    client.actual_licenses(ogrns[:1], "77")
    numbers = [o["licence"]["number"] for o in world["organisations"] if o["licence"]]
    client.licenses(numbers=[*numbers[:2], "000000000"], ogrns=ogrns, region=world["region"]["code"])
    client.licenses(ogrns=ogrns[:1], region="77")
    client.organisations([*ogrns, "1027700000000"])
    orgs = {o["ogrn"]: o for o in world["organisations"]}
    client.contracts_and_charters([(orgs[e["ogrn"]]["root_guid"], b["fias_guid"]) for b in world["buildings"] for e in b["management"]])
    docs = [e["document"]["guid"] for b in world["buildings"] for e in b["management"]]
    client.cach_documents(contract_guids=docs[:3], charter_guids=[unknown])
    client.cach_statuses(contract_guids=docs)
    client.guest_grants()
    client.guest_grants([unknown])
    client.nsi_items(32)
    client.nsi_items(9999)
    client.voting_messages(guids)
    client.voting_protocols(guids)


def test_every_request_and_answer_validates(
    client: GisClient, emulator: GisEmulator, world: dict[str, Any], schemas: dict[str, etree.XMLSchema]
) -> None:
    _exercise(client, world)
    log = emulator.log
    assert {e.operation for e in log} >= {
        "exportHouseData",
        "exportBriefApartmentHouse",
        "exportBriefBasicHouse",
        "exportActualLicenseState",
        "exportLicense",
        "exportOrgRegistry",
        "exportCAChData",
        "exportStatusCAChData",
        "exportGuestAccess",
        "exportNsiItem",
        "exportVotingMessage",
        "exportVotingProtocol",
        "getState",
    }
    assert {e.request_state for e in log if e.operation == "getState"} >= {1, 3}
    answers = b"".join(e.answer for e in log)
    for branch in (
        b"IsManagedByContract",
        b"RegionFIASGuid",
        b"<ns:Charter>",
        b"<ns:BasicHouseInfo>",
        b"<ns:Error>",
        b"<ns:Contract>",
        b"<ns:VotingMessage>",
        b"<ns:VotingProtocol>",
        b"<ns:MeetingAVoting>",
    ):
        assert branch in answers, branch  # the optional parts were validated too
    checked = 0
    for e in log:
        schema = schemas[e.path]
        for raw in (e.request, e.answer):
            for entry in _entries(raw):
                schema.assertValid(entry)
                checked += 1
    assert checked >= 4 * len(log)


def test_requests_carry_the_header_and_a_listed_version(client: GisClient, emulator: GisEmulator, world: dict[str, Any]) -> None:
    _exercise(client, world)
    base = "{http://dom.gosuslugi.ru/schema/integration/base/}"
    for e in emulator.log:
        header, body = _entries(e.request)
        if e.path.endswith(("OrgRegistryCommonAsync", "NsiCommonAsync")):  # ISRequestHeader services
            assert header.tag == base + "ISRequestHeader"
        else:
            assert header.tag == base + "RequestHeader"
            assert header.findtext(base + "orgPPAGUID") == world["authority"]["ppa_guid"]
        if e.operation != "getState":
            assert body.get(base + "version")


def test_client_versions_are_listed_by_the_xsd(schemas_dir: Path) -> None:
    """Each version the client sends is named by its request element's annotation, or fixed there."""
    from domchat.gis_client.services import OPERATIONS

    ns = {"w": "http://schemas.xmlsoap.org/wsdl/", "xs": "http://www.w3.org/2001/XMLSchema"}
    for op in OPERATIONS:
        wsdl = etree.parse(str(schemas_dir / op.service.wsdl))
        message = wsdl.xpath("//w:portType/w:operation[@name=$n]/w:input/@message", namespaces=ns, n=op.name)[0].split(":")[1]
        element = wsdl.xpath("//w:message[@name=$m]/w:part/@element", namespaces=ns, m=message)[0].split(":")[1]
        xsd = etree.parse(str(next((schemas_dir / op.service.wsdl).parent.glob("*-types.xsd"))))
        (decl,) = xsd.xpath("/xs:schema/xs:element[@name=$e]", namespaces=ns, e=element)
        doc = "".join(decl.xpath("xs:annotation/xs:documentation/text()", namespaces=ns))
        fixed = decl.xpath(".//xs:attribute[contains(@ref, 'version')]/@fixed", namespaces=ns)
        assert op.version in (fixed or doc.replace(",", " ").split()), (op.name, op.version, doc, fixed)
