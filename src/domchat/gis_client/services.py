"""The GIS ZhKH services and operations the client calls, and the format version it sends.

The HTTP path of each service is read from its WSDL (`soap:address`); only the choice of
version is ours. Each version below is one the XSD annotation of the request lists as
available ("Доступны версии …"), or the value the schema fixes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BASE_NS = "http://dom.gosuslugi.ru/schema/integration/base/"
HM_NS = "http://dom.gosuslugi.ru/schema/integration/house-management/"
LICENSES_NS = "http://dom.gosuslugi.ru/schema/integration/licenses/"
ORG_COMMON_NS = "http://dom.gosuslugi.ru/schema/integration/organizations-registry-common/"
ORG_BASE_NS = "http://dom.gosuslugi.ru/schema/integration/organizations-base/"
ORG_REGISTRY_BASE_NS = "http://dom.gosuslugi.ru/schema/integration/organizations-registry-base/"
NSI_BASE_NS = "http://dom.gosuslugi.ru/schema/integration/nsi-base/"
NSI_COMMON_NS = "http://dom.gosuslugi.ru/schema/integration/nsi-common/"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
GUEST_ACCESS_NS = "urn:x-domchat:integration:guest-access-provisional:0.1"

PROVISIONAL_DIR = Path(__file__).resolve().parent / "provisional"
"""domchat's own, provisional contracts (WSDL + XSD), shaped like the official ones."""


@dataclass(frozen=True)
class Service:
    name: str
    """Short name used in messages and logs."""
    wsdl: str
    """The WSDL, relative to `GisSettings.schemas_dir`."""
    types_ns: str
    """Namespace of the service's own types (its `getStateResult` lives there)."""
    header: Literal["RequestHeader", "ISRequestHeader"]
    """The SOAP header the WSDL binding requires of every operation of this service."""
    provisional: bool = False
    """domchat's own contract: `wsdl` is under `PROVISIONAL_DIR`, not the official package."""

    def wsdl_path(self, schemas_dir: Path) -> Path:
        return (PROVISIONAL_DIR if self.provisional else schemas_dir) / self.wsdl


HOUSE_MANAGEMENT = Service("house-management", "house-management/hcs-house-management-service-async.wsdl", HM_NS, "RequestHeader")
LICENSES = Service("licenses", "licenses/hcs-licenses-service-async.wsdl", LICENSES_NS, "RequestHeader")
ORG_REGISTRY_COMMON = Service(
    "org-registry-common",
    "organizations-registry-common/hcs-organizations-registry-common-service-async.wsdl",
    ORG_COMMON_NS,
    "ISRequestHeader",
)
GUEST_ACCESS = Service(
    "guest-access-provisional",
    "hcs-guest-access-provisional-service-async.wsdl",
    GUEST_ACCESS_NS,
    "RequestHeader",
    provisional=True,
)
NSI_COMMON = Service("nsi-common", "nsi-common/hcs-nsi-common-service-async.wsdl", NSI_COMMON_NS, "ISRequestHeader")


@dataclass(frozen=True)
class Operation:
    name: str
    service: Service
    version: str | None
    """`base:version` sent on the request element; None for `getState`, which has none."""

    @property
    def signed(self) -> bool:
        """Whether the request element extends `base:BaseType` and so carries the signature.

        `getStateRequest` does not: the schema leaves it no place for a `ds:Signature`.
        """
        return self.version is not None


EXPORT_HOUSE_DATA = Operation("exportHouseData", HOUSE_MANAGEMENT, "13.2.3.2")
EXPORT_BRIEF_APARTMENT_HOUSE = Operation("exportBriefApartmentHouse", HOUSE_MANAGEMENT, "13.2.3.2")
EXPORT_BRIEF_BASIC_HOUSE = Operation("exportBriefBasicHouse", HOUSE_MANAGEMENT, "13.2.3.2")
EXPORT_CACH_DATA = Operation("exportCAChData", HOUSE_MANAGEMENT, "13.1.2.1")
EXPORT_STATUS_CACH_DATA = Operation("exportStatusCAChData", HOUSE_MANAGEMENT, "10.0.1.1")
EXPORT_ACTUAL_LICENSE_STATE = Operation("exportActualLicenseState", LICENSES, "14.4.0.1")
EXPORT_LICENSE = Operation("exportLicense", LICENSES, "14.3.0.2")
EXPORT_ORG_REGISTRY = Operation("exportOrgRegistry", ORG_REGISTRY_COMMON, "10.0.2.1")
EXPORT_NSI_ITEM = Operation("exportNsiItem", NSI_COMMON, "10.0.1.2")
EXPORT_GUEST_ACCESS = Operation("exportGuestAccess", GUEST_ACCESS, "0.1.0.1")
EXPORT_VOTING_MESSAGE = Operation("exportVotingMessage", HOUSE_MANAGEMENT, "13.1.8.1")
EXPORT_VOTING_PROTOCOL = Operation("exportVotingProtocol", HOUSE_MANAGEMENT, "13.1.8.1")

OPERATIONS = (
    EXPORT_HOUSE_DATA,
    EXPORT_BRIEF_APARTMENT_HOUSE,
    EXPORT_BRIEF_BASIC_HOUSE,
    EXPORT_CACH_DATA,
    EXPORT_STATUS_CACH_DATA,
    EXPORT_ACTUAL_LICENSE_STATE,
    EXPORT_LICENSE,
    EXPORT_ORG_REGISTRY,
    EXPORT_NSI_ITEM,
    EXPORT_VOTING_MESSAGE,
    EXPORT_VOTING_PROTOCOL,
)


def get_state(service: Service) -> Operation:
    return Operation("getState", service, None)
