"""`GisClient`: what domchat asks of GIS ZhKH, one method per question.

Each method turns its arguments into async messages (one per house where the service takes one
house, batches where it takes many), runs them through `Exchange`, and returns the DTOs of
`types`. A house or organisation GIS ZhKH does not know is simply absent from the result
(`INT002012` is an empty answer, not an error).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self, TypeVar

from domchat.errors import GisError
from domchat.gis_client import decoders as d
from domchat.gis_client.envelopes import Envelopes
from domchat.gis_client.exchange import Exchange, Job, JobResult
from domchat.gis_client.schemas import EnvelopeSchemas
from domchat.gis_client.services import (
    EXPORT_ACTUAL_LICENSE_STATE,
    EXPORT_BRIEF_APARTMENT_HOUSE,
    EXPORT_HOUSE_DATA,
    EXPORT_ORG_REGISTRY,
    HM_NS,
    LICENSES_NS,
    ORG_COMMON_NS,
)
from domchat.gis_client.signing import Signer, make_signer
from domchat.gis_client.transport import Transport
from domchat.gis_client.types import ActualLicense, BriefHouse, HouseData, OrgRecord
from domchat.settings import GisSettings, Secret

T = TypeVar("T")
OnError = Callable[[str, GisError], None]
"""Called with (key, error) for a request that ended in a business error, instead of raising."""

BATCH = 100
"""Criteria per message where the schema allows many (`SearchCriteria` maxOccurs=100)."""


class GisClient:
    def __init__(
        self,
        settings: GisSettings,
        *,
        password: Secret | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        signer: Signer | None = None,
    ) -> None:
        self.settings = settings
        self._transport = Transport(settings, password, sleep=sleep)
        self._exchange = Exchange(
            settings,
            self._transport,
            Envelopes(settings.schemas_dir, settings.org_ppa_guid),
            EnvelopeSchemas(settings.schemas_dir),
            signer or make_signer(settings),
            sleep=sleep,
            monotonic=monotonic,
        )

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # Licences

    def actual_licenses(self, ogrns: Sequence[str], region: str) -> list[ActualLicense]:
        """`exportActualLicenseState` by licensee: the licences with their included and excluded houses."""
        jobs = [
            Job(
                key=f"licences:{i}",
                operation=EXPORT_ACTUAL_LICENSE_STATE,
                body={"LicenseOrganization": [{"OGRN": o, "Region": region} for o in chunk]},
                records={f"{{{LICENSES_NS}}}exportActualLicenseStateResult": d.actual_license},
                subject=f"licences of {', '.join(chunk[:3])}{'…' if len(chunk) > 3 else ''}",
                drop=frozenset({f"{{{LICENSES_NS}}}LicenseRegistryEntries"}),
            )
            for i, chunk in enumerate(_chunks(_unique(ogrns), BATCH))
        ]
        return [lic for r in self._run(jobs, None) for lic in r.records]

    # Houses

    def house_data(self, fias_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, HouseData]:
        """`exportHouseData`, one message per house, many in flight; keyed by the GUID asked for."""
        jobs = [
            Job(
                key=g,
                operation=EXPORT_HOUSE_DATA,
                body={"FIASHouseGuid": g},
                records={f"{{{HM_NS}}}exportHouseResult": d.house_data},
                subject=f"house FIASHouseGuid={g}",
            )
            for g in _unique(fias_guids)
        ]
        return {r.key: r.records[0] for r in self._run(jobs, on_error) if r.records}

    def brief_houses(self, house_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, BriefHouse]:
        """`exportBriefApartmentHouse` by FIAS or GIS ZhKH house GUID, one message per house."""
        jobs = [
            Job(
                key=g,
                operation=EXPORT_BRIEF_APARTMENT_HOUSE,
                body={"HouseGuid": g},
                records={f"{{{HM_NS}}}ApartmentHouseInfo": d.brief_house},
                subject=f"house {g}",
            )
            for g in _unique(house_guids)
        ]
        return {r.key: r.records[0] for r in self._run(jobs, on_error) if r.records}

    # Organisations

    def organisations(self, ogrns: Sequence[str]) -> list[OrgRecord]:
        """`exportOrgRegistry` by OGRN (OGRNIP for 15 digits), in batches of 100 criteria."""
        jobs = [
            Job(
                key=f"orgs:{i}",
                operation=EXPORT_ORG_REGISTRY,
                body={"SearchCriteria": [{"OGRNIP": o} if len(o) == 15 else {"OGRN": o} for o in chunk]},
                records={f"{{{ORG_COMMON_NS}}}exportOrgRegistryResult": d.org_record},
                subject=f"organisations {', '.join(chunk[:3])}{'…' if len(chunk) > 3 else ''}",
            )
            for i, chunk in enumerate(_chunks(_unique(ogrns), BATCH))
        ]
        return [org for r in self._run(jobs, None) for org in r.records]

    # Plumbing

    def _run(self, jobs: Sequence[Job[T]], on_error: OnError | None) -> list[JobResult[T]]:
        results = self._exchange.run(jobs)
        for r in results:
            if r.fault is not None:
                if on_error is None:
                    raise r.fault
                on_error(r.key, r.fault)
        return results


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
