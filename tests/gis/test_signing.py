"""The signing hook: `command` pipes every outgoing body through an external program."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from domchat.emulators.gis import GisEmulator
from domchat.gis_client import CommandSigner, GisClient, GisSigningError

# A stand-in for a GOST signer: puts a schema-valid enveloped ds:Signature first in the element
# marked Id="signed-data-container" (the digest and value are placeholders).
FAKE_SIGNER = r"""
import sys
from lxml import etree
DS = "http://www.w3.org/2000/09/xmldsig#"
root = etree.fromstring(sys.stdin.buffer.read())
(target,) = root.xpath("//*[@Id='signed-data-container']")
sig = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS})
info = etree.SubElement(sig, f"{{{DS}}}SignedInfo")
etree.SubElement(info, f"{{{DS}}}CanonicalizationMethod", Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
etree.SubElement(info, f"{{{DS}}}SignatureMethod", Algorithm="urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256")
ref = etree.SubElement(info, f"{{{DS}}}Reference", URI="#signed-data-container")
etree.SubElement(ref, f"{{{DS}}}DigestMethod", Algorithm="urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256")
etree.SubElement(ref, f"{{{DS}}}DigestValue").text = "AAAA"
etree.SubElement(sig, f"{{{DS}}}SignatureValue").text = "AAAA"
target.insert(0, sig)
sys.stdout.buffer.write(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
"""


@pytest.fixture
def signer_script(tmp_path: Path) -> Path:
    path = tmp_path / "signer.py"
    path.write_text(FAKE_SIGNER)
    return path


def test_command_signer_signs_every_request(emulator: GisEmulator, make_settings: Any, world: dict[str, Any], signer_script: Path) -> None:
    settings = make_settings(emulator.base_url, signer="command", signer_command=[sys.executable, str(signer_script)])
    with GisClient(settings) as client:
        guid = world["buildings"][0]["fias_guid"]
        assert guid in client.house_data([guid])
    ds = "{http://www.w3.org/2000/09/xmldsig#}Signature"
    sent = [e for e in emulator.log if e.operation == "exportHouseData"]
    assert sent
    for e in sent:
        body = etree.fromstring(e.request).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
        assert body is not None
        element = body[0]
        assert element.get("Id") == "signed-data-container"
        assert element[0].tag == ds


def test_failing_signer_fails_clearly(emulator: GisEmulator, make_settings: Any, world: dict[str, Any], tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text("import sys\nsys.stderr.write('token not found\\n')\nsys.exit(3)\n")
    settings = make_settings(emulator.base_url, signer="command", signer_command=[sys.executable, str(script)])
    with GisClient(settings) as client, pytest.raises(GisSigningError, match=r"exited with 3: token not found"):
        client.house_data([world["buildings"][0]["fias_guid"]])
    assert emulator.log == []  # nothing unsigned went out


def test_missing_signer_program() -> None:
    with pytest.raises(GisSigningError, match="program not found: /nonexistent/signer"):
        CommandSigner(["/nonexistent/signer"]).sign(b"<a/>")


def test_signer_output_must_be_signed_xml(tmp_path: Path) -> None:
    cat = [sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read())"]
    with pytest.raises(GisSigningError, match="without a ds:Signature"):
        CommandSigner(cat).sign(b"<a/>")
    garbage = [sys.executable, "-c", "print('not xml')"]
    with pytest.raises(GisSigningError, match="did not write XML"):
        CommandSigner(garbage).sign(b"<a/>")


def test_signer_timeout(tmp_path: Path) -> None:
    slow = [sys.executable, "-c", "import time; time.sleep(5)"]
    with pytest.raises(GisSigningError, match=r"did not finish within 0\.2 s"):
        CommandSigner(slow, timeout=0.2).sign(b"<a/>")


def test_client_without_signing_sends_no_id(client: GisClient, emulator: GisEmulator, world: dict[str, Any]) -> None:
    client.house_data([world["buildings"][0]["fias_guid"]])
    assert all(b"signed-data-container" not in e.request for e in emulator.log)
