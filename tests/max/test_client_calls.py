"""Every Bot API call domchat makes, client against emulator over loopback HTTP."""

from __future__ import annotations

import pytest

from domchat.errors import MaxApiError
from domchat.max_client import SUCCESS_FALSE, MaxClient
from domchat.max_client.types import AdminGrant

from .support import AUTHORITY, BOT, BOT_RIGHTS, PRIVATE, RESIDENTS, STAFF, Control


def test_me_is_the_worlds_bot(client: MaxClient) -> None:
    me = client.me()
    assert (me.user_id, me.username, me.is_bot) == (BOT, "domchat_bot", True)


def test_get_chat_reports_owner_link_and_status(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat("г. Омск, ул. Ленина, д. 5")
    chat = client.get_chat(chat_id)
    assert chat.chat_id == chat_id < 0
    assert (chat.type, chat.status, chat.title, chat.owner_id) == ("chat", "active", "г. Омск, ул. Ленина, д. 5", AUTHORITY)
    assert chat.link is not None and chat.link.startswith("https://max.ru/join/")
    assert chat.participants_count == 2 and chat.pinned_message is None


def test_get_chat_the_bot_never_saw_is_not_found(client: MaxClient, control: Control) -> None:
    chat_id = control.post("/chats", as_user=AUTHORITY, title="без бота")["chat_id"]
    with pytest.raises(MaxApiError) as e:
        client.get_chat(chat_id)
    assert (e.value.status, e.value.code) == (404, "not.found")


def test_patch_chat_changes_title_and_pins(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    sent = client.send_message(chat_id=chat_id, text="Карточка дома")
    chat = client.patch_chat(chat_id, title="Новое название", pin=sent.mid)
    assert chat.title == "Новое название"
    assert chat.pinned_message is not None and chat.pinned_message.mid == sent.mid
    assert control.chat(chat_id)["title"] == "Новое название"


@pytest.mark.parametrize("title", ["", "д" * 201])
def test_patch_chat_title_must_be_1_to_200_characters(client: MaxClient, control: Control, title: str) -> None:
    chat_id = control.new_chat()
    with pytest.raises(MaxApiError) as e:
        client.patch_chat(chat_id, title=title)
    assert (e.value.status, e.value.code) == (400, "proto.payload")


def test_title_of_exactly_200_characters_is_accepted(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    assert client.patch_chat(chat_id, title="д" * 200).title == "д" * 200


def test_pin_message_then_get_chat_shows_it(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    first = client.send_message(chat_id=chat_id, text="one")
    second = client.send_message(chat_id=chat_id, text="two")
    client.pin_message(chat_id, first.mid)
    client.pin_message(chat_id, second.mid)
    pinned = client.get_chat(chat_id).pinned_message
    assert pinned is not None and (pinned.mid, pinned.text) == (second.mid, "two")


def test_pin_unknown_message_is_not_found(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    with pytest.raises(MaxApiError) as e:
        client.pin_message(chat_id, "mid.ffff")
    assert e.value.status == 404


def test_membership_shows_the_bots_rights(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    me = client.membership(chat_id)
    assert me.user_id == BOT and me.is_admin and not me.is_owner
    assert me.permissions >= set(BOT_RIGHTS)


def test_members_follows_markers_over_every_page(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    result = client.add_members(chat_id, RESIDENTS[:95])
    assert result.success
    seen = [m.user_id for m in client.members(chat_id, page_size=10)]
    assert seen == [AUTHORITY, BOT, *RESIDENTS[:95]]


def test_members_page_size_is_bounded_by_the_platform(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    with pytest.raises(MaxApiError) as e:
        list(client.members(chat_id, page_size=101))
    assert e.value.status == 400


def test_members_by_ids_returns_only_members_and_marks_admins(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [STAFF[0], RESIDENTS[0]])
    client.grant_admin(chat_id, STAFF[0], ["read_all_messages", "write"])
    found = {m.user_id: m for m in client.members_by_ids(chat_id, [STAFF[0], RESIDENTS[0], RESIDENTS[1], AUTHORITY])}
    assert set(found) == {STAFF[0], RESIDENTS[0], AUTHORITY}
    assert found[AUTHORITY].is_owner and found[AUTHORITY].is_admin
    assert found[STAFF[0]].is_admin and found[STAFF[0]].permissions >= {"read_all_messages", "write"}
    assert not found[RESIDENTS[0]].is_admin and found[RESIDENTS[0]].permissions == frozenset()


def test_members_by_ids_asks_in_chunks_of_100(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, RESIDENTS[:150])
    found = client.members_by_ids(chat_id, RESIDENTS[:150])
    assert [m.user_id for m in found] == list(RESIDENTS[:150])


def test_add_members_in_chunks_of_100(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    result = client.add_members(chat_id, RESIDENTS[:230])
    assert result.success and result.failed_user_ids == ()
    assert control.chat(chat_id)["members_count"] == 232


def test_add_members_surfaces_privacy_and_unknown_users(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    result = client.add_members(chat_id, [RESIDENTS[0], PRIVATE[0], 999_999, PRIVATE[1]])
    assert not result.success and result.message
    assert set(result.failed_user_ids) == {PRIVATE[0], PRIVATE[1], 999_999}
    assert dict(result.failed_user_details) == {
        "add.participant.privacy": (PRIVATE[0], PRIVATE[1]),
        "add.participant.not.found": (999_999,),
    }
    members = {m["user_id"] for m in control.chat(chat_id)["members"]}
    assert RESIDENTS[0] in members and PRIVATE[0] not in members


def test_privacy_failures_are_merged_across_chunks(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    result = client.add_members(chat_id, [PRIVATE[0], *RESIDENTS[:120], PRIVATE[1]])
    assert not result.success
    assert dict(result.failed_user_details) == {"add.participant.privacy": (PRIVATE[0], PRIVATE[1])}


def test_remove_member_and_block(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [RESIDENTS[0], RESIDENTS[1]])
    client.remove_member(chat_id, RESIDENTS[0])
    client.remove_member(chat_id, RESIDENTS[1], block=True)
    state = control.chat(chat_id)
    assert {m["user_id"] for m in state["members"]} == {AUTHORITY, BOT}
    assert state["blocked"] == [RESIDENTS[1]]
    link = state["link"]
    assert control.post("/join", user_id=RESIDENTS[0], link=link)["chat_id"] == chat_id
    control.post("/join", expect=403, user_id=RESIDENTS[1], link=link)


def test_remove_non_member_is_a_refusal_not_silence(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    with pytest.raises(MaxApiError) as e:
        client.remove_member(chat_id, RESIDENTS[0])
    assert (e.value.status, e.value.code) == (200, SUCCESS_FALSE)
    assert "not a member" in str(e.value)


def test_admins_lists_owner_bot_and_granted(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [STAFF[0]])
    client.grant_admin(chat_id, STAFF[0], ["read_all_messages", "pin_message"], alias="Управляющая организация")
    admins = {m.user_id: m for m in client.admins(chat_id)}
    assert set(admins) == {AUTHORITY, BOT, STAFF[0]}
    staff = admins[STAFF[0]]
    assert staff.alias == "Управляющая организация"
    # The platform adds can_call to every admin of a group chat; the client leaves it out.
    assert staff.permissions == {"read_all_messages", "pin_message"}


def test_grant_admin_again_replaces_rights(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [STAFF[0]])
    client.grant_admin(chat_id, STAFF[0], ["read_all_messages", "write", "pin_message"])
    client.grant_admin(chat_id, STAFF[0], ["change_chat_info"])
    assert set(control.member(chat_id, STAFF[0])["permissions"]) == {"change_chat_info", "can_call"}


def test_grant_admins_applies_a_list_at_once(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, STAFF)
    client.grant_admins(chat_id, [AdminGrant(u, frozenset({"add_remove_members"})) for u in STAFF])
    assert {m.user_id for m in client.admins(chat_id)} == {AUTHORITY, BOT, *STAFF}


def test_revoke_admin_keeps_membership(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [STAFF[0]])
    client.grant_admin(chat_id, STAFF[0], ["add_remove_members"])
    client.revoke_admin(chat_id, STAFF[0])
    member = control.member(chat_id, STAFF[0])
    assert member is not None and not member["is_admin"] and member["permissions"] == []


def test_revoke_non_admin_is_a_refusal(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [STAFF[0]])
    with pytest.raises(MaxApiError) as e:
        client.revoke_admin(chat_id, STAFF[0])
    assert e.value.code == SUCCESS_FALSE


def test_send_edit_delete_and_list_messages(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    sent = client.send_message(chat_id=chat_id, text="**Показания** до 25-го", format="markdown")
    assert (sent.chat_id, sent.sender_id, sent.text) == (chat_id, BOT, "**Показания** до 25-го")
    assert sent.mid.startswith("mid.")
    assert control.chat(chat_id)["messages"][0]["format"] == "markdown"
    client.edit_message(sent.mid, text="Показания до 20-го")
    later = client.send_message(chat_id=chat_id, text="second")
    listed = client.messages(chat_id)
    assert [(m.mid, m.text) for m in listed] == [(later.mid, "second"), (sent.mid, "Показания до 20-го")]
    client.delete_message(sent.mid)
    assert [m.mid for m in client.messages(chat_id)] == [later.mid]


def test_messages_from_and_to_bound_the_timestamps(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    sent = [client.send_message(chat_id=chat_id, text=str(i)) for i in range(5)]
    stamps = [m.timestamp for m in sent]
    newest_first = client.messages(chat_id, count=2)
    assert [m.text for m in newest_first] == ["4", "3"]
    window = client.messages(chat_id, from_=stamps[3], to=stamps[1])
    assert [m.text for m in window] == ["3", "2", "1"]


def test_message_text_is_at_most_4000_characters(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    assert client.send_message(chat_id=chat_id, text="я" * 4000).text == "я" * 4000
    with pytest.raises(MaxApiError) as e:
        client.send_message(chat_id=chat_id, text="я" * 4001)
    assert e.value.status == 400
    sent = client.send_message(chat_id=chat_id, text="коротко")
    with pytest.raises(MaxApiError) as e:
        client.edit_message(sent.mid, text="я" * 4001)
    assert e.value.status == 400


def test_send_to_a_person_needs_them_to_have_started_the_bot(client: MaxClient, control: Control) -> None:
    with pytest.raises(MaxApiError) as e:
        client.send_message(user_id=RESIDENTS[0], text="Здравствуйте")
    assert (e.value.status, e.value.code) == (403, "chat.denied")
    dialog = control.post("/start", user_id=RESIDENTS[0], payload="enrol-abc")["chat_id"]
    sent = client.send_message(user_id=RESIDENTS[0], text="Здравствуйте")
    assert (sent.chat_id, sent.user_id) == (dialog, RESIDENTS[0])


def test_send_message_needs_exactly_one_recipient(client: MaxClient) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        client.send_message(text="nowhere")


def test_edit_someone_elses_message_is_refused(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    mid = control.post(f"/chats/{chat_id}/messages", as_user=AUTHORITY, text="моё")["message_id"]
    with pytest.raises(MaxApiError) as e:
        client.edit_message(mid, text="чужое")
    assert e.value.code == SUCCESS_FALSE
    assert control.chat(chat_id)["messages"][0]["text"] == "моё"


def test_subscriptions_list_create_delete(client: MaxClient) -> None:
    from domchat.settings import Secret

    assert client.subscriptions() == []
    client.subscribe("https://domchat.example/max/webhook", update_types=["bot_added", "message_created"], secret=Secret("s3cret-value"))
    (sub,) = client.subscriptions()
    assert sub.url == "https://domchat.example/max/webhook"
    assert sub.update_types == ("bot_added", "message_created") and sub.time > 0
    client.unsubscribe("https://domchat.example/max/webhook")
    assert client.subscriptions() == []
