"""Homeowners' associations: no licence, a charter, a register kept by the authority."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from domchat.storage.tables import BuildingRow, OrganisationRow
from support.stage import Stage

pytestmark = pytest.mark.world(buildings=10, charter_share=0.4)


def test_hoa_houses_are_managed_by_their_charter(stage: Stage) -> None:
    hoa_buildings = [b for b in stage.world["buildings"] if b["management"][0]["basis"] == "charter"]
    assert hoa_buildings, "the test world must have HOA houses"
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    report = stage.sync()
    assert report.failed == 0
    authority = set(stage.world["authority"]["max_accounts"])
    bot = stage.world["bot"]["user_id"]
    with Session(stage.app().db) as s:
        for b in hoa_buildings:
            hoa = b["management"][0]["ogrn"]
            assert stage.admins(stage.chats[b["fias_guid"]]) == authority | {bot} | stage.staff_of(hoa)
            row = s.get(BuildingRow, b["fias_guid"])
            assert row is not None and row.address == b["address"]  # from GIS, not the register's placeholder
            org = s.get(OrganisationRow, hoa)
            assert org is not None and org.kind == "tsj"
