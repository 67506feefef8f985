"""`GisClient`: what domchat asks of GIS ZhKH, one method per question.

Each method turns its arguments into async messages (one per house where the service takes one
house, batches where it takes many), runs them through `Exchange`, and returns the DTOs of
`types`. A house or organisation GIS ZhKH does not know is simply absent from the result
(`INT002012` is an empty answer, not an error).
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from domchat.errors import GisAccessDenied, GisBadAnswer, GisError, GisFault
from domchat.gis_client import decoders as d
from domchat.gis_client.envelopes import Envelopes
from domchat.gis_client.exchange import ACCESS_DENIED, Exchange, Job, JobResult
from domchat.gis_client.replies import RecordDecoder
from domchat.gis_client.schemas import EnvelopeSchemas
from domchat.gis_client.services import (
    EXPORT_ACTUAL_LICENSE_STATE,
    EXPORT_BRIEF_APARTMENT_HOUSE,
    EXPORT_BRIEF_BASIC_HOUSE,
    EXPORT_CACH_DATA,
    EXPORT_GUEST_ACCESS,
    EXPORT_HOUSE_DATA,
    EXPORT_LICENSE,
    EXPORT_NSI_ITEM,
    EXPORT_ORG_REGISTRY,
    EXPORT_STATUS_CACH_DATA,
    EXPORT_VOTING_MESSAGE,
    EXPORT_VOTING_PROTOCOL,
    GUEST_ACCESS_NS,
    HM_NS,
    LICENSES_NS,
    NSI_COMMON_NS,
    ORG_COMMON_NS,
    Operation,
)
from domchat.gis_client.signing import Signer, make_signer
from domchat.gis_client.transport import Transport
from domchat.gis_client.types import (
    ActualLicense,
    BasicHouse,
    BriefHouse,
    CAChDocument,
    CAChStatus,
    GuestGrantRecord,
    HouseData,
    LicenseRecord,
    NsiItem,
    OrgRecord,
    VotingMessage,
    VotingProtocol,
)
from domchat.settings import GisSettings, Secret

T = TypeVar("T")
OnError = Callable[[str, GisError], None]
"""Called with (key, error) for a request that ended in a business error, instead of raising."""

BATCH = 100
"""Criteria per message where the schema allows many (`SearchCriteria` maxOccurs=100)."""
RECORD_BATCH = 50
"""Records per list handed to a `batches` consumer (a licence may hold thousands of houses)."""
_NOT_FOUND = frozenset({"INT002000", "INT002012"})
"""Per-house errors meaning GIS ZhKH has no such house: the house is absent from the result."""


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

    def budget(self, seconds: float | None = None) -> AbstractContextManager[None]:
        """Bound everything asked inside the `with` to `seconds` in all (default
        `gis.pull_budget`): past it, the question in progress fails with `BudgetSpent`
        (a `GisUnavailable`)."""
        return self._exchange.budget(self.settings.pull_budget if seconds is None else seconds)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # Licences

    def actual_licenses(
        self, ogrns: Sequence[str], region: str, *, batches: Callable[[list[ActualLicense]], None] | None = None
    ) -> list[ActualLicense]:
        """`exportActualLicenseState` by licensee: the licences with their included and excluded houses.

        With `batches`, the licences go to it in lists of up to `RECORD_BATCH` as they are
        decoded, and none is returned, so that a region's register is never held whole. They
        are provisional until this returns: if an answer is refused after some of its
        licences were handed over, this raises, and the caller drops what it got (a pull
        stores nothing of a failed pull)."""
        batcher = _Batcher(batches) if batches is not None else None
        jobs = [
            Job(
                key=f"licences:{i}",
                operation=EXPORT_ACTUAL_LICENSE_STATE,
                body={"LicenseOrganization": [{_ogrn_kind(o): o, "Region": region} for o in chunk]},
                records={f"{{{LICENSES_NS}}}exportActualLicenseStateResult": d.actual_license},
                subject=f"licences of {', '.join(chunk[:3])}{'…' if len(chunk) > 3 else ''}",
                drop=frozenset({f"{{{LICENSES_NS}}}LicenseRegistryEntries"}),
                sink=batcher.add if batcher is not None else None,
            )
            for i, chunk in enumerate(_chunks(_unique(ogrns), BATCH))
        ]
        found = [lic for r in self._run(jobs, None) for lic in r.records]
        if batcher is not None:
            batcher.flush()
        return found

    def licenses(self, *, numbers: Sequence[str] = (), ogrns: Sequence[str] = (), region: str | None = None) -> list[LicenseRecord]:
        """`exportLicense`: licences with their houses and, per house, the management contract GIS
        links to it (with the start of powers under it).

        By licence number (`LicenseNumber`, nine digits) and/or by licensee OGRN (OGRNIP for 15
        digits; with `region`, the two-digit region code, only that region's licences). The
        request is a choice of the two, so numbers and licensees go in separate messages, 100
        criteria each. The schema has no search by licence GUID here (`actual_licenses` gives
        each licence's number). Each licence appears once, however many criteria found it; an
        unknown licence or licensee is simply absent (`INT002012`)."""
        by_number = [{"LicenseNumber": chunk} for chunk in _chunks(_unique(numbers), BATCH)]
        orgs = [{_ogrn_kind(o): o, **({"Region": {"code": region}} if region else {})} for o in _unique(ogrns)]
        by_org = [{"LicenseOrganization": chunk} for chunk in _chunks(orgs, BATCH)]
        jobs = [
            Job(
                key=f"license:{i}",
                operation=EXPORT_LICENSE,
                body=body,
                records={f"{{{LICENSES_NS}}}License": d.license_record},
                subject=_license_subject(body),
            )
            for i, body in enumerate([*by_number, *by_org])
        ]
        found: dict[tuple[str, int], LicenseRecord] = {}
        for r in self._run(jobs, None):
            for lic in r.records:
                found.setdefault((lic.license_guid.lower(), lic.license_version), lic)
        return list(found.values())

    # Houses

    def house_data(self, fias_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, HouseData]:
        """`exportHouseData`, one message per house, many in flight; keyed by the GUID asked for."""
        return self._per_house(EXPORT_HOUSE_DATA, "FIASHouseGuid", "exportHouseResult", d.house_data, fias_guids, on_error)

    def brief_houses(self, house_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, BriefHouse]:
        """`exportBriefApartmentHouse` by FIAS or GIS ZhKH house GUID, one message per house."""
        return self._per_house(EXPORT_BRIEF_APARTMENT_HOUSE, "HouseGuid", "ApartmentHouseInfo", d.brief_house, house_guids, on_error)

    def _per_house(
        self, op: Operation, criterion: str, record: str, decode: RecordDecoder[T], guids: Sequence[str], on_error: OnError | None
    ) -> dict[str, T]:
        """One message per house (operations that take a single house), keyed by the GUID asked for."""
        jobs = [
            Job(key=g, operation=op, body={criterion: g}, records={f"{{{HM_NS}}}{record}": decode}, subject=f"house {criterion}={g}")
            for g in _unique(guids)
        ]
        return {r.key: r.records[0] for r in self._run(jobs, on_error) if r.records}

    def voting_messages(self, fias_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, list[VotingMessage]]:
        """`exportVotingMessage` by FIAS house GUID, one message per house: the owners' meetings
        announced for each house (none when GIS ZhKH has none); keyed by the GUID asked for."""
        return self._house_records(EXPORT_VOTING_MESSAGE, "VotingMessage", d.voting_message, fias_guids, on_error)

    def voting_protocols(self, fias_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, list[VotingProtocol]]:
        """`exportVotingProtocol` by FIAS house GUID, one message per house: the protocols of each
        house's owners' meetings; keyed by the GUID asked for."""
        return self._house_records(EXPORT_VOTING_PROTOCOL, "VotingProtocol", d.voting_protocol, fias_guids, on_error)

    def _house_records(
        self, op: Operation, record: str, decode: RecordDecoder[T], guids: Sequence[str], on_error: OnError | None
    ) -> dict[str, list[T]]:
        """Every record of a single-house operation asked by `FIASHouseGuid`, per house."""
        jobs = [
            Job(
                key=g, operation=op, body={"FIASHouseGuid": g}, records={f"{{{HM_NS}}}{record}": decode}, subject=f"house FIASHouseGuid={g}"
            )
            for g in _unique(guids)
        ]
        return {r.key: list(r.records) for r in self._run(jobs, on_error) if r.fault is None}

    def basic_houses(self, fias_guids: Sequence[str], *, on_error: OnError | None = None) -> dict[str, BasicHouse]:
        """`exportBriefBasicHouse` by FIAS house GUID, 100 houses per message: each house's
        free-text address (`LocationInfo/Address`) and basic characteristics; keyed by the GUID
        asked for.

        The answer has one `ResultItem` per house, matched by the `TransportGUID` domchat gave
        it. A house GIS ZhKH does not know (`INT002000`, `INT002012`) is absent; any other error
        of one house is a business error of that house (`on_error`, as in `house_data`)."""
        chunks = _chunks(_unique(fias_guids), BATCH)
        asked = [{str(uuid.uuid4()): g for g in chunk} for chunk in chunks]
        jobs = [
            Job(
                key=f"basic:{i}",
                operation=EXPORT_BRIEF_BASIC_HOUSE,
                body={"RequestItem": [{"TransportGUID": t, "Criteria": {"FIASHouseGuid": g}} for t, g in items.items()]},
                records={f"{{{HM_NS}}}ResultItem": d.basic_house_item},
                subject=f"basic data of {len(items)} houses",
            )
            for i, items in enumerate(asked)
        ]
        found: dict[str, BasicHouse] = {}
        failed: GisError | None = None
        for items, result in zip(asked, self._run(jobs, None), strict=True):
            for item in result.records:
                guid = items.get(item.transport_guid.lower())
                if guid is None:
                    raise GisBadAnswer(f"GIS {_where(EXPORT_BRIEF_BASIC_HOUSE, result)}: a ResultItem for a TransportGUID never sent")
                if item.house is not None:
                    found[guid] = item.house
                    continue
                error = self._item_error(EXPORT_BRIEF_BASIC_HOUSE, result, f"house FIASHouseGuid={guid}", item.error or ("", ""))
                if error is None:
                    continue
                if on_error is None:
                    failed = failed or error
                else:
                    on_error(guid, error)
        if failed is not None:
            raise failed
        return found

    def _item_error(self, op: Operation, result: JobResult[Any], subject: str, error: tuple[str, str]) -> GisFault | None:
        """The error of one item of a multi-item answer; None when it only says "no such object"."""
        code, message = error
        if code in _NOT_FOUND:
            return None
        kind = GisAccessDenied if code == ACCESS_DENIED else GisFault
        text = f"{subject} (orgPPAGUID={self.settings.org_ppa_guid or '-'}): {message}"
        return kind(code, text, operation=f"{op.service.name} {op.name}", message_guid=result.message_guid)

    # Contracts and charters

    def contracts_and_charters(self, houses: Sequence[tuple[str, str]], *, last_version_only: bool = True) -> list[CAChDocument]:
        """`exportCAChData` by (organisation root GUID, FIAS house GUID): the contracts and charters
        under which each organisation manages each house. Up to 100 criteria per message; each
        document carries `uo_guid`, the organisation it was asked for (the answer names none, so
        a message never asks about one house twice)."""
        chunks: list[dict[str, str]] = []  # per message: FIAS house GUID → organisation GUID
        for uo, fias in dict.fromkeys((uo.lower(), fias.lower()) for uo, fias in houses):
            chunk = next((c for c in chunks if len(c) < BATCH and fias not in c), None)
            if chunk is None:
                chunk = {}
                chunks.append(chunk)
            chunk[fias] = uo
        extra = {"LastVersionOnly": True} if last_version_only else {}
        jobs = [
            Job(
                key=f"cach:{i}",
                operation=EXPORT_CACH_DATA,
                body={"Criteria": [{"UOGUID": uo, "FIASHouseGuid": fias, **extra} for fias, uo in chunk.items()]},
                records={f"{{{HM_NS}}}exportCAChResult": d.cach_document},
                subject=f"contracts and charters of {len(chunk)} houses",
            )
            for i, chunk in enumerate(chunks)
        ]
        docs = []
        for chunk, result in zip(chunks, self._run(jobs, None), strict=True):
            for doc in result.records:
                uos = {chunk[o.fias_house_guid.lower()] for o in doc.objects if o.fias_house_guid.lower() in chunk}
                docs.append(dataclasses.replace(doc, uo_guid=uos.pop()) if len(uos) == 1 else doc)
        return docs

    def cach_documents(self, *, contract_guids: Sequence[str] = (), charter_guids: Sequence[str] = ()) -> list[CAChDocument]:
        """`exportCAChData` by contract and charter GUIDs."""
        return [
            doc
            for r in self._run(self._cach_jobs(EXPORT_CACH_DATA, contract_guids, charter_guids, d.cach_document, "exportCAChResult"), None)
            for doc in r.records
        ]

    def cach_statuses(self, *, contract_guids: Sequence[str] = (), charter_guids: Sequence[str] = ()) -> list[CAChStatus]:
        """`exportStatusCAChData`: status, State (Running, NotRunning, Expired) and objects of each document."""
        jobs = self._cach_jobs(EXPORT_STATUS_CACH_DATA, contract_guids, charter_guids, d.cach_status, "exportStatusCAChResult")
        return [s for r in self._run(jobs, None) for s in r.records]

    @staticmethod
    def _cach_jobs(op: Operation, contracts: Sequence[str], charters: Sequence[str], decode: RecordDecoder[T], record: str) -> list[Job[T]]:
        criteria = [{"ContractGUID": g} for g in _unique(contracts)] + [{"CharterGUID": g} for g in _unique(charters)]
        return [
            Job(
                key=f"{op.name}:{i}",
                operation=op,
                body={"Criteria": chunk},
                records={f"{{{HM_NS}}}{record}": decode},
                subject=f"{len(chunk)} contracts and charters",
            )
            for i, chunk in enumerate(_chunks(criteria, BATCH))
        ]

    # Guest access (PROVISIONAL: domchat's own service; see docs/gis.md)

    def guest_grants(self, fias_guids: Sequence[str] | None = None) -> list[GuestGrantRecord]:
        """Guest-access grants of the houses named (100 per message), or of every house the
        authority may read when `fias_guids` is None, from the provisional service."""
        chunks: list[list[str]] = [[]] if fias_guids is None else _chunks(_unique(fias_guids), BATCH)
        jobs = [
            Job(
                key=f"grants:{i}",
                operation=EXPORT_GUEST_ACCESS,
                body={"FIASHouseGuid": chunk} if chunk else {},
                records={f"{{{GUEST_ACCESS_NS}}}exportGuestAccessResult": d.guest_grant},
                subject=f"guest access grants of {len(chunk) or 'all'} houses",
            )
            for i, chunk in enumerate(chunks)
            if chunk or fias_guids is None
        ]
        return [g for r in self._run(jobs, None) for g in r.records]

    # NSI

    def nsi_items(self, registry: int, *, modified_after: datetime | None = None) -> list[NsiItem]:
        """`exportNsiItem` of a common directory (e.g. 32 OlsonTZ, 24 house states); children
        follow their parent. An unknown or empty directory gives []."""
        body: dict[str, Any] = {"RegistryNumber": registry, "ListGroup": "NSI"}
        if modified_after is not None:
            body["ModifiedAfter"] = modified_after
        job = Job(
            key=f"nsi:{registry}",
            operation=EXPORT_NSI_ITEM,
            body=body,
            records={f"{{{NSI_COMMON_NS}}}NsiItem": d.nsi_items},
            subject=f"NSI directory {registry}",
        )
        return [item for r in self._run([job], None) for items in r.records for item in items]

    # Organisations

    def organisations(self, ogrns: Sequence[str]) -> list[OrgRecord]:
        """`exportOrgRegistry` by OGRN (OGRNIP for 15 digits), in batches of 100 criteria."""
        jobs = [
            Job(
                key=f"orgs:{i}",
                operation=EXPORT_ORG_REGISTRY,
                body={"SearchCriteria": [{_ogrn_kind(o): o} for o in chunk]},
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


class _Batcher(Generic[T]):
    """Hands records over in lists of up to `RECORD_BATCH`."""

    def __init__(self, consumer: Callable[[list[T]], None]) -> None:
        self._consumer = consumer
        self._batch: list[T] = []

    def add(self, record: T) -> None:
        self._batch.append(record)
        if len(self._batch) >= RECORD_BATCH:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            batch, self._batch = self._batch, []
            self._consumer(batch)


def _where(op: Operation, result: JobResult[Any]) -> str:
    return f"{op.service.name} {op.name} MessageGUID={result.message_guid}"


def _license_subject(body: dict[str, Any]) -> str:
    if "LicenseNumber" in body:
        numbers: list[str] = body["LicenseNumber"]
        return f"licences № {', '.join(numbers[:3])}{'…' if len(numbers) > 3 else ''}"
    ogrns = [next(iter(c.values())) for c in body["LicenseOrganization"]]
    return f"licences of {', '.join(ogrns[:3])}{'…' if len(ogrns) > 3 else ''}"


def _ogrn_kind(ogrn: str) -> str:
    """OGRN of a legal entity (13 digits) or OGRNIP of an individual entrepreneur (15)."""
    return "OGRNIP" if len(ogrn) == 15 else "OGRN"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
