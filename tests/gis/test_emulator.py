"""The emulator as the real service behaves toward any client: WSDLs, validation, faults."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
import zeep
from lxml import etree

from domchat.emulators.gis import GisEmulator, GisFaults
from domchat.errors import WorldError

HM_PATH = "/ext-bus-home-management-service/services/HomeManagementAsync"
BASE = "http://dom.gosuslugi.ru/schema/integration/base/"
HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"


def _house_request(world: dict[str, Any], *, version: str = "13.2.3.2", header: str = "RequestHeader", extra: str = "") -> bytes:
    ppa = f"<b:orgPPAGUID>{world['authority']['ppa_guid']}</b:orgPPAGUID>" if header == "RequestHeader" else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:b="{BASE}" xmlns:hm="{HM}">
 <s:Header><b:{header}><b:Date>2025-03-01T10:00:00+03:00</b:Date><b:MessageGUID>{uuid.uuid4()}</b:MessageGUID>{ppa}</b:{header}></s:Header>
 <s:Body><hm:exportHouseRequest b:version="{version}">{extra}
  <hm:FIASHouseGuid>{world["buildings"][0]["fias_guid"]}</hm:FIASHouseGuid>
 </hm:exportHouseRequest></s:Body>
</s:Envelope>""".encode()


def _post(emu: GisEmulator, body: bytes, action: str = "urn:exportHouseData") -> requests.Response:
    return requests.post(emu.base_url + HM_PATH, data=body, headers={"SOAPAction": action, "Content-Type": "text/xml"}, timeout=5)


def _fault(resp: requests.Response) -> tuple[str, str]:
    assert resp.status_code == 500
    root = etree.fromstring(resp.content)
    code = root.findtext(f".//{{{BASE}}}Fault/{{{BASE}}}ErrorCode")
    faultstring = root.findtext(".//faultstring")
    assert code and faultstring and faultstring.startswith(code + ":")
    return code, faultstring


def test_valid_request_is_acknowledged(emulator: GisEmulator, world: dict[str, Any]) -> None:
    resp = _post(emulator, _house_request(world))
    assert resp.status_code == 200
    ack = etree.fromstring(resp.content).find(f".//{{{BASE}}}Ack")
    assert ack is not None and ack.findtext(f"{{{BASE}}}MessageGUID")


@pytest.mark.parametrize(
    ("kwargs", "action", "why"),
    [
        ({"version": "1.0.0.0"}, "urn:exportHouseData", "Версия 1.0.0.0 не поддерживается"),
        ({"header": "ISRequestHeader"}, "urn:exportHouseData", "требует заголовок"),
        ({"extra": "<hm:Unknown/>"}, "urn:exportHouseData", "не соответствует схеме"),
        ({}, "urn:exportCAChData", "SOAPAction"),
    ],
)
def test_invalid_requests_are_fmt001300_faults(
    emulator: GisEmulator, world: dict[str, Any], kwargs: dict[str, str], action: str, why: str
) -> None:
    code, text = _fault(_post(emulator, _house_request(world, **kwargs), action))
    assert code == "FMT001300"
    assert why in text


def test_malformed_xml_and_dtd_are_refused(emulator: GisEmulator, world: dict[str, Any]) -> None:
    assert _fault(_post(emulator, b"<not-closed"))[0] == "FMT001300"
    evil = _house_request(world).replace(
        b'<?xml version="1.0" encoding="UTF-8"?>', b'<?xml version="1.0"?><!DOCTYPE s:Envelope [<!ENTITY x "y">]>'
    )
    code, text = _fault(_post(emulator, evil))
    assert code == "FMT001300" and "DTD" in text


def test_wsdl_served_at_the_real_path_pointing_here(emulator: GisEmulator) -> None:
    resp = requests.get(emulator.base_url + HM_PATH + "?wsdl", timeout=5)
    assert resp.status_code == 200
    assert f'location="{emulator.base_url}{HM_PATH}"' in resp.text
    client = zeep.Client(emulator.base_url + HM_PATH + "?wsdl")  # resolves the XSDs from the emulator too
    assert "exportHouseData" in dir(client.service)


def test_fault_world_section_and_overrides() -> None:
    world = {"faults": {"gis_exp001000_share": 0.25, "gis_5xx_share": 0.5, "gis_processing_delay": 2}}
    f = GisFaults.from_world(world, http_5xx_share=0.1)
    assert (f.exp001000_share, f.http_5xx_share, f.processing_delay) == (0.25, 0.1, 2)
    with pytest.raises(WorldError):
        GisFaults(truncated_share=1.5)


def test_unknown_message_guid_is_int002013(emulator: GisEmulator, world: dict[str, Any]) -> None:
    body = f"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:b="{BASE}">
 <s:Header><b:RequestHeader><b:Date>2025-03-01T10:00:00</b:Date><b:MessageGUID>{uuid.uuid4()}</b:MessageGUID><b:orgPPAGUID>{world["authority"]["ppa_guid"]}</b:orgPPAGUID></b:RequestHeader></s:Header>
 <s:Body><b:getStateRequest><b:MessageGUID>{uuid.uuid4()}</b:MessageGUID></b:getStateRequest></s:Body></s:Envelope>""".encode()
    resp = _post(emulator, body, "urn:getState")
    assert resp.status_code == 200
    root = etree.fromstring(resp.content)
    assert root.findtext(f".//{{{BASE}}}RequestState") == "3"
    assert root.findtext(f".//{{{BASE}}}ErrorCode") == "INT002013"
