"""The card's link buttons: the configured services, then a call to the manager's dispatch."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from domchat.domain.actions import PinCard
from domchat.domain.desired import card_buttons, desired_chat
from domchat.domain.model import Manager, Organisation
from domchat.domain.plan import plan
from support.domain import CHAT, ORG_A, POLICY, TEMPLATES, domain, fresh_chat, period

SERVICES = (("Передать показания", "https://dom.gosuslugi.ru/"), ("Обращение в УК", "tel:+73462000000"))
NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def test_services_then_the_dispatch_phone_as_a_tel_link() -> None:
    policy = replace(POLICY, services=SERVICES, dispatch_button="Аварийная служба")
    d = domain((period(ORG_A, date(2020, 1, 1)),))
    d = replace(d, organisations={**d.organisations, ORG_A: Organisation(ORG_A, "УК", dispatch_phone="+7 (3462) 05-05-05")})
    manager = Manager(ORG_A, ())
    assert card_buttons(d, manager, policy) == (*SERVICES, ("Аварийная служба", "tel:+73462050505"))
    assert card_buttons(d, None, policy) == SERVICES  # nobody manages: no dispatch to call
    assert card_buttons(d, manager, replace(policy, dispatch_button="")) == SERVICES


def test_the_planned_card_carries_its_buttons() -> None:
    policy = replace(POLICY, services=SERVICES)
    d = domain((period(ORG_A, date(2020, 1, 1)),))
    (card,) = [a for a in plan(d, {CHAT: fresh_chat()}, NOW, policy, TEMPLATES).actions if isinstance(a, PinCard)]
    assert tuple(zip(card.button_texts, card.button_urls, strict=True)) == SERVICES
    building = next(iter(d.bindings))
    assert desired_chat(d, building, NOW, policy, TEMPLATES, owner=None).buttons == SERVICES
