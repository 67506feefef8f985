"""The platform's error codes domchat acts on (`MaxApiError.code`), named once.

The platform sends `{"code", "message"}` with an HTTP error, and per-user codes in
`ModifyMembersResult.failed_user_details`. `SUCCESS_FALSE` is the client's own: the platform
gives no code with an HTTP 200 `{"success": false}` refusal.
"""

AUTH_FAILED = "verify.token"
"""401: the token is wrong or missing."""
CHAT_DENIED = "chat.denied"
"""403: the bot is not (or no longer) an admin there, or lacks the right the call needs."""
NOT_FOUND = "not.found"
"""404: no such chat (for the bot), message or user."""
PROTO_PAYLOAD = "proto.payload"
"""400: a malformed body or parameter (e.g. a title over 200 characters)."""
TOO_MANY_REQUESTS = "too.many.requests"
"""429: over the rate limit (retried by the client, never seen by callers)."""
SUCCESS_FALSE = "success.false"
"""HTTP 200 with `success: false`: the platform refused; its message says why."""
ADD_PRIVACY = "add.participant.privacy"
"""The user's privacy settings refuse being added by others: send them a join link instead."""
ADD_NOT_FOUND = "add.participant.not.found"
"""No such user."""
