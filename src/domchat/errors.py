"""The exceptions domchat raises, one flat hierarchy.

Adapters map third-party exceptions (zeep, requests, lxml, SQLAlchemy) to these at their
boundary, so callers never catch a library's exception type. Every message is one line an
operator can act on, and never carries a secret.
"""

from __future__ import annotations


class DomchatError(Exception):
    """Base class of every error domchat raises on purpose."""


class ConfigError(DomchatError):
    """The configuration is invalid: names the key and why."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config: {key}: {problem}")
        self.key = key
        self.problem = problem


class WorldError(DomchatError):
    """An emulator world file is invalid."""


class GisError(DomchatError):
    """Base of errors talking to GIS ZhKH."""


class GisUnavailable(GisError):
    """GIS ZhKH could not be reached or kept failing at the transport level."""


class GisFault(GisError):
    """GIS ZhKH answered with a business error or a SOAP fault, identified by its code."""

    def __init__(self, code: str, message: str, *, operation: str = "", message_guid: str = "") -> None:
        where = " ".join(x for x in (operation, message_guid and f"MessageGUID={message_guid}") if x)
        super().__init__(f"GIS {code}: {message}" + (f" ({where})" if where else ""))
        self.code = code
        self.operation = operation
        self.message_guid = message_guid


class GisAccessDenied(GisFault):
    """AUT011003: the requesting organisation has no rights to the object."""


class GisBadAnswer(GisError):
    """An answer from GIS ZhKH was malformed, schema-invalid, too large or hostile."""


class MaxError(DomchatError):
    """Base of errors talking to the MAX Bot API."""


class MaxUnavailable(MaxError):
    """The MAX Bot API could not be reached or kept failing (5xx, 429 beyond retries)."""


class MaxApiError(MaxError):
    """The MAX Bot API refused a call: carries the platform's error `code`."""

    def __init__(self, status: int, code: str, message: str, *, endpoint: str = "") -> None:
        super().__init__(f"MAX {status} {code}: {message}" + (f" ({endpoint})" if endpoint else ""))
        self.status = status
        self.code = code
        self.endpoint = endpoint


class StorageError(DomchatError):
    """The database is unreachable, not migrated, or refused a write."""


class LockBusy(DomchatError):
    """Another cycle holds the region's lock."""


class SafetyFuse(DomchatError):
    """A cycle would do something drastic and stopped; rerun with --force after checking."""


class AuditBroken(DomchatError):
    """The audit hash chain does not verify."""


class DeliveryFailed(DomchatError):
    """Something issued could not be handed over (an unreachable delivery webhook); it is kept for the next try."""
