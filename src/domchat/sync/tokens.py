"""One-time codes (chat binding) and link tokens (enrolment): generated here, stored only hashed.

Binding codes are typed by people into a chat, so they use Crockford's base32 (no I, L, O, U)
in four groups of four: 80 random bits, far beyond guessing within the attempt limit.
Deep-link tokens travel inside a URL (`?start=`), so they are URL-safe base64.
"""

from __future__ import annotations

import hashlib
import re
import secrets

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_GROUP = f"[{_ALPHABET}]{{4}}"
CODE_RE = re.compile(rf"(?<![0-9A-Z]){_GROUP}-{_GROUP}-{_GROUP}-{_GROUP}(?![0-9A-Z])")

STAFF_PREFIX = "s-"
"""Deep-link payloads for staff enrolment start with this, so other payload kinds can coexist."""


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def find_code(text: str) -> str | None:
    """The first thing in `text` shaped like a binding code (case and O/I/L typos forgiven)."""
    cleaned = text.upper().translate(str.maketrans("OIL", "011"))
    m = CODE_RE.search(cleaned)
    return m.group(0) if m else None


def new_link_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(24)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
