"""The signing hook: every outgoing body passes through a `Signer` before it is sent.

GIS ZhKH production wants an XAdES-BES enveloped signature with GOST algorithms on the element
marked `Id="signed-data-container"`. GOST cryptography is not in Python's standard stack, so a
deployment names an external program (CryptoPro tools, a signing service's CLI) that reads the
envelope on stdin and writes it signed on stdout. The test stands take unsigned bodies.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Protocol

from lxml import etree

from domchat.errors import GisError
from domchat.settings import GisSettings

SIGNED_ID = "signed-data-container"
"""The `Id` the signed element carries (the signature's reference points at it)."""


class GisSigningError(GisError):
    """The signer failed or returned something that is not a signed envelope."""


class Signer(Protocol):
    marks_body: bool
    """Whether the body element needs `Id="signed-data-container"` for this signer."""

    def sign(self, envelope: bytes) -> bytes:
        """The envelope, signed."""
        ...


class NoSigner:
    """Sends bodies as they are (test stands, the emulator, a signing proxy in front)."""

    marks_body = False

    def sign(self, envelope: bytes) -> bytes:
        return envelope


class CommandSigner:
    """Pipes each envelope through an external program: stdin in, stdout out, exit 0."""

    marks_body = True

    def __init__(self, argv: Sequence[str], *, timeout: float = 60.0) -> None:
        if not argv:
            raise GisSigningError("GIS signer: gis.signer_command is empty")
        self.argv = list(argv)
        self.timeout = timeout

    def sign(self, envelope: bytes) -> bytes:
        name = self.argv[0]
        try:
            done = subprocess.run(self.argv, input=envelope, capture_output=True, timeout=self.timeout, check=False)
        except FileNotFoundError:
            raise GisSigningError(f"GIS signer: program not found: {name}") from None
        except PermissionError:
            raise GisSigningError(f"GIS signer: not executable: {name}") from None
        except subprocess.TimeoutExpired:
            raise GisSigningError(f"GIS signer: {name} did not finish within {self.timeout:g} s") from None
        if done.returncode != 0:
            why = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GisSigningError(f"GIS signer: {name} exited with {done.returncode}: {why[-1] if why else 'no message'}")
        signed = done.stdout
        try:
            root = etree.fromstring(signed, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        except etree.XMLSyntaxError as e:
            raise GisSigningError(f"GIS signer: {name} did not write XML: {e}") from None
        if not root.xpath("//ds:Signature", namespaces={"ds": "http://www.w3.org/2000/09/xmldsig#"}):
            raise GisSigningError(f"GIS signer: {name} wrote XML without a ds:Signature")
        return signed


def make_signer(settings: GisSettings) -> Signer:
    if settings.signer == "command":
        return CommandSigner(settings.signer_command, timeout=settings.timeout)
    return NoSigner()
