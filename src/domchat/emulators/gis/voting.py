"""Owners' general meetings (house management): `exportVotingMessage` and `exportVotingProtocol`.

The world's `votings` of each building become `VotingMessage` (`exportVotingMessageResultType`)
and, once a meeting has one, `VotingProtocol` (`exportVotingProtocolResultType`), in schema
order; the server validates every answer against the XSD like any other.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from domchat.emulators.gis.answers import ORG_REGISTRY_BASE, Handler, Outcome, Request, denied, empty
from domchat.emulators.gis.contract import BASE
from domchat.emulators.gis.world_index import WorldIndex
from domchat.emulators.gis.xmlbuild import maker

HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
H = maker(HM, {"hm": HM, "base": BASE})
_ORG = maker(ORG_REGISTRY_BASE)
_B = maker(BASE)
_FORMS = {"absentee": "AVoting", "meeting": "Meeting", "mixed": "MeetingAVoting"}
_ATTACHMENT_GUID = "00000000-0000-4000-8000-0000000000a1"


def _house(req: Request, fias: str) -> dict[str, Any] | Outcome:
    """The house asked for by `FIASHouseGuid`, or the answer refusing it."""
    b = req.world.house(fias)
    if b is None:
        return empty(f"дом с FIASHouseGuid {fias} не найден")
    if not req.world.may_read(req.requester, b):
        return denied(b, req.requester)
    return b


def export_voting_message(req: Request) -> Outcome:
    fias = req.body.findtext(f"{{{HM}}}FIASHouseGuid")
    if fias is not None:
        b = _house(req, fias)
        if isinstance(b, Outcome):
            return b
        found = [(b, v) for v in b.get("votings", [])]
    else:
        wanted = {(x.text or "").strip().lower() for x in req.body.iterfind(f"{{{HM}}}MessageGUID")}
        found = [(b, v) for b, v in _votings(req) if v["message_guid"].lower() in wanted and req.world.may_read(req.requester, b)]
    if not found:
        return empty("сообщения о проведении ОСС")
    return Outcome([_message(req.world, b, v) for b, v in found])


def export_voting_protocol(req: Request) -> Outcome:
    fias = req.body.findtext(f"{{{HM}}}FIASHouseGuid")
    wanted = {(x.text or "").strip().lower() for x in req.body.iterfind(f"{{{HM}}}VotingProtocolGUID")}
    if fias is not None:
        b = _house(req, fias)
        if isinstance(b, Outcome):
            return b
        found = [(b, v) for v in b.get("votings", []) if v.get("protocol")]
    else:
        found = [(b, v) for b, v in _votings(req) if v.get("protocol") and v["protocol"]["guid"].lower() in wanted]
    if not found:
        return empty("протоколы ОСС")
    return Outcome([_protocol(b, v) for b, v in found])


def _votings(req: Request) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for b in req.world.world["buildings"]:
        for v in b.get("votings", []):
            yield b, v


def _initiator(world: WorldIndex, b: dict[str, Any]) -> Any:
    """The organisation managing the house last initiates its meetings in the emulator's world."""
    org = world.orgs_by_ogrn[b["management"][-1]["ogrn"]]
    return H.VoteInitiators(H.Org(_ORG.orgRootEntityGUID(org["root_guid"])))


def _attachment(name: str) -> Any:
    return H.Attachments(_B.Name(name), _B.Description(name), _B.Attachment(_B.AttachmentGUID(_ATTACHMENT_GUID)))


def _message(world: WorldIndex, b: dict[str, Any], v: dict[str, Any]) -> Any:
    msg = H.VotingMessage(H.FIASHouseGUID(b["fias_guid"]))
    if v.get("number"):
        msg.append(H.MessageNum(v["number"]))
    msg.append(H.MessageDate(v["message_date"]))
    msg.append(H.ExtraVoting("true") if v["kind"] == "extra" else H.AnnualVoting("true"))
    form = getattr(H, _FORMS[v["form"]])()
    if v["form"] in ("absentee", "mixed"):
        form.extend([H.AVotingStartDate(v["start"]), H.AVotingEndDate(v["end"]), H.ResolutionPlace(v["resolution_place"])])
    if v["form"] in ("meeting", "mixed"):
        form.extend([H.MeetingDate(v["meeting_at"]), H.VotingPlace(v["place"])])
    msg.append(form)
    msg.append(H.MeetingType("Owners"))
    msg.append(_initiator(world, b))
    for n, question in enumerate(v["agenda"], 1):
        msg.append(H.DecisionList(H.QuestionNumber(str(n)), H.QuestionName(question)))
    msg.extend([H.MessageGUID(v["message_guid"]), H.MessageStatus(v["status"]), H.PublishDate(v["message_date"])])
    return msg


def _protocol(b: dict[str, Any], v: dict[str, Any]) -> Any:
    p = v["protocol"]
    proto = H.VotingProtocol(H.FIASHouseGuid(b["fias_guid"]))
    if p.get("number"):
        proto.append(H.ProtocolNum(p["number"]))
    proto.append(H.ProtocolDate(p["date"]))
    scan = _attachment("Протокол общего собрания собственников")
    if v["form"] == "absentee":
        form = H.AVoting(H.AVotingStartDate(v["start"]), H.AVotingDate(v["end"]), H.ResolutionPlace(v["resolution_place"]), scan)
    elif v["form"] == "meeting":
        form = H.Meeting(H.VotingPlace(v["place"]), H.MeetingDate(v["meeting_at"]), scan)
    else:
        form = H.MeetingAVoting(
            H.MeetingDate(v["meeting_at"]),
            H.VotingPlace(v["place"]),
            H.AVotingStartDate(v["start"]),
            H.AVotingDate(v["end"]),
            H.ResolutionPlace(v["resolution_place"]),
            scan,
        )
    proto.extend([form, H.MeetingType("Owners"), H.ExtraVoting("true") if v["kind"] == "extra" else H.AnnualVoting("true")])
    proto.append(H.MeetingEligibility("C" if p["eligible"] else "N"))
    for n, (question, result) in enumerate(zip(v["agenda"], p["results"], strict=False), 1):
        decision = H.DecisionList(H.QuestionNumber(str(n)), H.QuestionName(question))
        for key, tag in (("agree", "Agree"), ("against", "Against"), ("abstain", "Abstent")):
            if key in result:
                decision.append(getattr(H, tag)(f"{result[key]:.2f}"))
        decision.append(H.votingResume("M" if result["made"] else "N"))
        proto.append(decision)
    proto.extend(
        [
            H.StatusProtocol("Posted"),
            H.VotingProtocolGUID(p["guid"]),
            H.StatusVersionProtocol("Posted"),
            H.VersionNumber("1"),
            H.VersionDatePlacement(p["date"]),
        ]
    )
    return proto


HANDLERS: dict[str, Handler] = {
    "exportVotingMessage": export_voting_message,
    "exportVotingProtocol": export_voting_protocol,
}
