"""GIS ZhKH client: SOAP over the official WSDLs, the async pattern, signing, typed errors.

It knows nothing of sync or storage; it returns the DTOs of `types`. The names below load
lazily, so that importing `domchat.gis_client.types` (as the pure mapping does) pulls in no
zeep, lxml or requests.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domchat.gis_client.client import GisClient, OnError
    from domchat.gis_client.signing import CommandSigner, GisSigningError, NoSigner, Signer

_WHERE = {
    "GisClient": "domchat.gis_client.client",
    "OnError": "domchat.gis_client.client",
    "CommandSigner": "domchat.gis_client.signing",
    "GisSigningError": "domchat.gis_client.signing",
    "NoSigner": "domchat.gis_client.signing",
    "Signer": "domchat.gis_client.signing",
}
__all__ = [
    "CommandSigner",
    "GisClient",
    "GisSigningError",
    "NoSigner",
    "OnError",
    "Signer",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
