"""domchat's flow for one house chat, end to end through the client: an executable example.

Binding (the authority makes the chat, adds the bot, posts the code), staff enrolment by deep
link, residents (one refuses being added and joins by link), a change of managing
organisation, and drift (an admin nobody granted) repaired.
"""

from __future__ import annotations

from domchat.max_client import MaxClient, codes
from domchat.max_client.types import Update

from .support import AUTHORITY, BOT, BOT_RIGHTS, PRIVATE, RESIDENTS, STAFF, Control

STAFF_RIGHTS = ["read_all_messages", "add_remove_members", "change_chat_info", "pin_message", "write"]


class Inbox:
    """What domchat's update store would keep: updates in order, the marker after them."""

    def __init__(self, client: MaxClient) -> None:
        self.client = client
        self.marker: int | None = None

    def take(self) -> list[Update]:
        batch = self.client.get_updates(self.marker)
        self.marker = batch.marker
        return list(batch.updates)


def test_a_house_chat_from_binding_to_a_change_of_manager(client: MaxClient, control: Control) -> None:
    inbox = Inbox(client)

    # Binding: an authority account creates the chat, adds the bot, posts the one-time code.
    chat_id = control.post("/chats", as_user=AUTHORITY, title="Дом")["chat_id"]
    control.post(f"/chats/{chat_id}/bot", as_user=AUTHORITY, permissions=BOT_RIGHTS)
    control.post(f"/chats/{chat_id}/messages", as_user=AUTHORITY, text="4821-7730")
    added, code = inbox.take()
    assert (added.update_type, added.chat_id) == ("bot_added", chat_id)
    assert code.message is not None and code.message.text == "4821-7730"
    chat = client.get_chat(chat_id)
    assert chat.owner_id == AUTHORITY  # domchat binds only chats owned by an authority account
    assert client.membership(chat_id).permissions >= set(BOT_RIGHTS)

    # domchat takes over: title from the address, a pinned card.
    client.patch_chat(chat_id, title="г. Сургут, ул. Мира, д. 7")
    card = client.send_message(chat_id=chat_id, text="Управляет: ООО «УК Уют-1»", format="markdown")
    client.pin_message(chat_id, card.mid)

    # Staff enrol through personal deep links: bot_started tells domchat their user ids.
    for uid, token in zip(STAFF[:2], ("enrol-a", "enrol-b"), strict=True):
        control.post("/start", user_id=uid, payload=token)
    enrolled = {u.payload: u.user.user_id for u in inbox.take() if u.update_type == "bot_started" and u.user}
    assert enrolled == {"enrol-a": STAFF[0], "enrol-b": STAFF[1]}
    client.send_message(user_id=STAFF[0], text="Вы подключены как сотрудник УК")

    # The current manager's staff become admins (members first: admins must be members).
    assert client.add_members(chat_id, [STAFF[0]]).success
    client.grant_admin(chat_id, STAFF[0], STAFF_RIGHTS, alias="УК Уют-1")

    # Residents: one is added, one refuses by privacy and gets the join link instead.
    result = client.add_members(chat_id, [RESIDENTS[0], PRIVATE[0]])
    refused = dict(result.failed_user_details).get(codes.ADD_PRIVACY, ())
    assert refused == (PRIVATE[0],)
    link = client.get_chat(chat_id).link
    assert link is not None
    control.post("/join", user_id=PRIVATE[0], link=link)
    joined = [u for u in inbox.take() if u.update_type == "user_added"]
    assert [(u.user.user_id if u.user else None, u.inviter_id) for u in joined] == [
        (STAFF[0], BOT),
        (RESIDENTS[0], BOT),
        (PRIVATE[0], None),
    ]

    # Management changes: the new organisation's staff in, the old one's rights out.
    client.add_members(chat_id, [STAFF[1]])
    client.grant_admin(chat_id, STAFF[1], STAFF_RIGHTS, alias="УК Домострой-2")
    client.revoke_admin(chat_id, STAFF[0])
    client.edit_message(card.mid, text="Управляет: ООО «УК Домострой-2»")

    # Drift: someone made a resident admin by hand; domchat notices and revokes.
    control.post(f"/chats/{chat_id}/admins", as_user=AUTHORITY, user_id=RESIDENTS[0], permissions=["add_remove_members"])
    granted = {AUTHORITY, BOT, STAFF[1]}
    drift = [m.user_id for m in client.admins(chat_id) if m.user_id not in granted]
    assert drift == [RESIDENTS[0]]
    for uid in drift:
        client.revoke_admin(chat_id, uid)

    # The chat as people see it now.
    state = control.chat(chat_id)
    admins = {m["user_id"]: m for m in state["members"] if m["is_admin"]}
    assert set(admins) == granted and admins[STAFF[1]]["alias"] == "УК Домострой-2"
    assert {m["user_id"] for m in state["members"]} == {AUTHORITY, BOT, STAFF[0], STAFF[1], RESIDENTS[0], PRIVATE[0]}
    assert state["title"] == "г. Сургут, ул. Мира, д. 7" and state["pinned_message_id"] == card.mid
    pinned = client.get_chat(chat_id).pinned_message
    assert pinned is not None and pinned.text == "Управляет: ООО «УК Домострой-2»"
