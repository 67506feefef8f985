"""GIS ZhKH client: SOAP over the official WSDLs, the async pattern, signing, typed errors.

It knows nothing of sync or storage; it returns the DTOs of `types`.
"""

from domchat.gis_client.client import GisClient, OnError
from domchat.gis_client.signing import CommandSigner, GisSigningError, NoSigner, Signer

__all__ = ["CommandSigner", "GisClient", "GisSigningError", "NoSigner", "OnError", "Signer"]
