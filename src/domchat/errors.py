"""The exceptions domchat raises, one flat hierarchy.

Adapters map third-party exceptions (zeep, requests, lxml, SQLAlchemy) to these at their
boundary, so callers never catch a library's exception type. Every message is one line an
operator can act on, and never carries a secret. Each class names the exit code a command ends
with (README), and every instance survives `copy` and `pickle` with all its fields: exceptions
built from several arguments remember them (`_args`), since the default would rebuild them
from the message alone.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomchatError(Exception):
    """Base class of every error domchat raises on purpose."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, /, **fields: Any) -> None:
        super().__init__(message)
        self._fields = fields
        for name, value in fields.items():
            setattr(self, name, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), self._fields))


def _rebuild(cls: type[DomchatError], message: str, fields: dict[str, Any]) -> DomchatError:
    e = cls.__new__(cls)
    DomchatError.__init__(e, message, **fields)
    return e


class ConfigError(DomchatError):
    """The configuration is invalid: names the key and why."""

    exit_code = 2
    key: str
    problem: str

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config: {key}: {problem}", key=key, problem=problem)


class InputError(DomchatError):
    """A file or value given to a command is invalid: names the file, row and field."""

    exit_code = 2


class WorldError(DomchatError):
    """An emulator world file is invalid."""

    exit_code = 2


class GisError(DomchatError):
    """Base of errors talking to GIS ZhKH."""


class GisUnavailable(GisError):
    """GIS ZhKH could not be reached or kept failing at the transport level."""

    exit_code = 3


class GisFault(GisError):
    """GIS ZhKH answered with a business error or a SOAP fault, identified by its code."""

    code: str
    operation: str
    message_guid: str

    def __init__(self, code: str, message: str, *, operation: str = "", message_guid: str = "") -> None:
        where = " ".join(x for x in (operation, message_guid and f"MessageGUID={message_guid}") if x)
        text = f"GIS {code}: {message}" + (f" ({where})" if where else "")
        super().__init__(text, code=code, operation=operation, message_guid=message_guid)


class GisAccessDenied(GisFault):
    """AUT011003: the requesting organisation has no rights to the object."""


class GisBadAnswer(GisError):
    """An answer from GIS ZhKH was malformed, schema-invalid, too large or hostile."""


class MaxError(DomchatError):
    """Base of errors talking to the MAX Bot API."""


class MaxUnavailable(MaxError):
    """The MAX Bot API could not be reached or kept failing (5xx, 429 beyond retries)."""

    exit_code = 3
    retry_after: float | None

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)


class MaxApiError(MaxError):
    """The MAX Bot API refused a call: carries the platform's error `code`."""

    status: int
    code: str
    endpoint: str

    def __init__(self, status: int, code: str, message: str, *, endpoint: str = "") -> None:
        text = f"MAX {status} {code}: {message}" + (f" ({endpoint})" if endpoint else "")
        super().__init__(text, status=status, code=code, endpoint=endpoint)


class StorageError(DomchatError):
    """The database is unreachable, not migrated, or refused a write."""

    exit_code = 3


class LockBusy(DomchatError):
    """Another cycle holds the region's lock."""

    exit_code = 4


class LeaseLost(LockBusy):
    """This process no longer holds the region's lease: it stops before doing anything more."""


class SafetyFuse(DomchatError):
    """A cycle would do something drastic and stopped; rerun with --force after checking."""

    exit_code = 4


class AuditBroken(DomchatError):
    """The audit hash chain does not verify."""

    exit_code = 5


class CycleFailed(DomchatError):
    """A cycle ended with a failed or degraded phase; its report says which (after it was shown)."""

    exit_code_of_run: int

    def __init__(self, message: str, *, exit_code_of_run: int) -> None:
        super().__init__(message, exit_code_of_run=exit_code_of_run)


def exit_code(e: DomchatError) -> int:
    """The exit code a command ends with on `e` (README: 1 other, 2 input, 3 unreachable, 4 fuse or lock, 5 audit)."""
    return e.exit_code_of_run if isinstance(e, CycleFailed) else e.exit_code


class DeliveryFailed(DomchatError):
    """Something issued could not be handed over (an unreachable delivery webhook); it is kept for the next try."""

    exit_code = 3
