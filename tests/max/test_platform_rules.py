"""The platform's rules, exercised through the client: each one refuses, and the client says so."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domchat.errors import MaxApiError
from domchat.max_client import SUCCESS_FALSE, MaxClient

from .support import AUTHORITY, BOT, BOT_RIGHTS, PRIVATE, RESIDENTS, STAFF, Control


def _denied(call: Callable[[], object]) -> MaxApiError:
    with pytest.raises(MaxApiError) as e:
        call()
    assert (e.value.status, e.value.code) == (403, "chat.denied"), e.value
    return e.value


def _refused(call: Callable[[], object], why: str) -> None:
    with pytest.raises(MaxApiError) as e:
        call()
    assert (e.value.status, e.value.code) == (200, SUCCESS_FALSE)
    assert why in str(e.value)


def _without(right: str) -> list[str]:
    rights = [r for r in BOT_RIGHTS if r != right]
    # Rights that need read_all_messages go with it.
    return [r for r in rights if r not in ("write", "pin_message")] if right == "read_all_messages" else rights


# The bot acts only where it is an admin holding the right the call needs


@pytest.mark.parametrize(
    ("right", "call"),
    [
        ("add_remove_members", lambda c, chat: c.add_members(chat, [RESIDENTS[0]])),
        ("add_remove_members", lambda c, chat: c.remove_member(chat, STAFF[0])),
        ("add_admins", lambda c, chat: c.grant_admin(chat, STAFF[0], ["add_remove_members"])),
        ("add_admins", lambda c, chat: c.revoke_admin(chat, STAFF[0])),
        ("change_chat_info", lambda c, chat: c.patch_chat(chat, title="Новое")),
        ("pin_message", lambda c, chat: c.pin_message(chat, c.send_message(chat_id=chat, text="x").mid)),
        ("read_all_messages", lambda c, chat: c.messages(chat)),
    ],
)
def test_each_call_needs_its_right(client: MaxClient, control: Control, right: str, call: Callable[[MaxClient, int], object]) -> None:
    chat_id = control.new_chat(rights=_without(right))
    control.post(f"/chats/{chat_id}/members", as_user=AUTHORITY, user_ids=[STAFF[0]])
    error = _denied(lambda: call(client, chat_id))
    assert right in str(error)


def test_a_bot_stripped_of_admin_rights_can_read_nothing(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    control.post(f"/chats/{chat_id}/admins", as_user=AUTHORITY, user_id=BOT, permissions=[])
    _denied(lambda: list(client.members(chat_id)))
    _denied(lambda: client.admins(chat_id))
    _denied(lambda: client.members_by_ids(chat_id, [AUTHORITY]))
    assert not client.membership(chat_id).is_admin


def test_a_removed_bot_sees_the_chat_as_removed_and_cannot_write(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    control.post(f"/chats/{chat_id}/remove", as_user=AUTHORITY, user_id=BOT)
    assert client.get_chat(chat_id).status == "removed"
    _denied(lambda: client.send_message(chat_id=chat_id, text="hello?"))
    _denied(lambda: client.add_members(chat_id, [RESIDENTS[0]]))


def test_deleting_someone_elses_message_needs_write(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat(rights=["read_all_messages", "add_remove_members"])
    mid = control.post(f"/chats/{chat_id}/messages", as_user=AUTHORITY, text="объявление")["message_id"]
    _denied(lambda: client.delete_message(mid))
    own = client.send_message(chat_id=chat_id, text="своё")
    client.delete_message(own.mid)  # its own messages the bot may always delete
    writer = control.new_chat()
    mid = control.post(f"/chats/{writer}/messages", as_user=AUTHORITY, text="спам")["message_id"]
    client.delete_message(mid)
    assert control.chat(writer)["messages"] == []


# Admin rules


def test_at_most_50_admins(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, RESIDENTS[:49])
    for uid in RESIDENTS[:48]:  # owner + bot + 48 = 50
        client.grant_admin(chat_id, uid, ["add_remove_members"])
    _refused(lambda: client.grant_admin(chat_id, RESIDENTS[48], ["add_remove_members"]), "at most 50 admins")
    assert len(client.admins(chat_id)) == 50
    # Changing the rights of an existing admin is no new admin.
    client.grant_admin(chat_id, RESIDENTS[0], ["change_chat_info"])


def test_only_members_can_be_admins(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    _refused(lambda: client.grant_admin(chat_id, STAFF[0], ["add_remove_members"]), "only members can be admins")
    assert {m.user_id for m in client.admins(chat_id)} == {AUTHORITY, BOT}


@pytest.mark.parametrize("right", ["write", "pin_message"])
def test_rights_that_need_read_all_messages(client: MaxClient, control: Control, right: str) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [STAFF[0]])
    _refused(lambda: client.grant_admin(chat_id, STAFF[0], [right]), "requires read_all_messages")
    client.grant_admin(chat_id, STAFF[0], [right, "read_all_messages"])
    assert right in control.member(chat_id, STAFF[0])["permissions"]


@pytest.mark.parametrize("right", ["edit", "delete", "view_stats"])
def test_channel_only_rights_are_refused_in_group_chats(client: MaxClient, control: Control, right: str) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [STAFF[0]])
    _refused(lambda: client.grant_admin(chat_id, STAFF[0], ["read_all_messages", right]), "not available in group chats")


def test_unknown_right_is_refused(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [STAFF[0]])
    _refused(lambda: client.grant_admin(chat_id, STAFF[0], ["rule_the_world"]), "unknown permission")


def test_a_refused_list_of_grants_changes_nothing(client: MaxClient, control: Control) -> None:
    from domchat.max_client.types import AdminGrant

    chat_id = control.new_chat()
    client.add_members(chat_id, [STAFF[0]])
    grants = [AdminGrant(STAFF[0], frozenset({"add_remove_members"})), AdminGrant(STAFF[1], frozenset({"add_remove_members"}))]
    _refused(lambda: client.grant_admins(chat_id, grants), "not a member")
    assert not control.member(chat_id, STAFF[0])["is_admin"]


def test_the_bot_cannot_change_its_own_rights(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    _refused(lambda: client.grant_admin(chat_id, BOT, ["read_all_messages"]), "own rights")


# The owner stays


def test_the_owner_cannot_be_removed_or_demoted(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    _refused(lambda: client.remove_member(chat_id, AUTHORITY), "owner cannot be removed")
    _refused(lambda: client.revoke_admin(chat_id, AUTHORITY), "owner's rights cannot be revoked")
    _refused(lambda: client.grant_admin(chat_id, AUTHORITY, ["read_all_messages"]), "owner's rights cannot be changed")
    owner = control.member(chat_id, AUTHORITY)
    assert owner["is_owner"] and owner["is_admin"]
    control.post(f"/chats/{chat_id}/leave", expect=409, user_id=AUTHORITY)


def test_removing_an_admin_needs_add_admins_too(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat(rights=["read_all_messages", "add_remove_members"])
    control.post(f"/chats/{chat_id}/members", as_user=AUTHORITY, user_ids=[STAFF[0]])
    control.post(f"/chats/{chat_id}/admins", as_user=AUTHORITY, user_id=STAFF[0], permissions=["change_chat_info"])
    _refused(lambda: client.remove_member(chat_id, STAFF[0]), "needs add_admins")


# Privacy


def test_privacy_refuses_additions_by_anyone_but_not_joining_by_link(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    by_bot = client.add_members(chat_id, [PRIVATE[0]])
    assert dict(by_bot.failed_user_details) == {"add.participant.privacy": (PRIVATE[0],)}
    by_owner = control.post(f"/chats/{chat_id}/members", as_user=AUTHORITY, user_ids=[PRIVATE[0]])
    assert by_owner["failed_user_details"] == [{"error_code": "add.participant.privacy", "user_ids": [PRIVATE[0]]}]
    control.post("/join", user_id=PRIVATE[0], link=control.chat(chat_id)["link"])
    assert [m.user_id for m in client.members_by_ids(chat_id, [PRIVATE[0]])] == [PRIVATE[0]]
