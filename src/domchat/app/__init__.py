"""Use cases: what the CLI (and the demo) can ask domchat to do, one function each.

The `domchat` command only parses arguments, calls one of these and presents the result; the
types it needs to name are re-exported here so that it imports nothing below this package.
"""

from sqlalchemy.exc import SQLAlchemyError as DatabaseFailure

from domchat.app.cycles import PlanView, conflicts, plan_at, receive_updates, resync, sync_once
from domchat.app.daemon import daemon
from domchat.app.history import History, building_history
from domchat.app.notices import notices_coverage, notices_due, notices_switch
from domchat.app.people import (
    export_invitations,
    import_grants,
    issue_binding_codes,
    issue_invitation,
    org_invite,
    pending_chats,
    staff_list,
    staff_revoke,
)
from domchat.app.progress import Progress
from domchat.app.status import Check, check, status
from domchat.app.trail import (
    VerifyReport,
    audit_events,
    audit_rows,
    audit_verify,
    checkpoint,
    export_audit,
    export_audit_to,
    reason_reader,
)
from domchat.app.trail import keygen as audit_keygen
from domchat.app.wiring import App, check_config, clients, open_app, operator_name, schemas_dir, start, upgrade_db
from domchat.domain.plan import Plan
from domchat.storage.audit import AuditFilter
from domchat.sync.engine import CycleReport

__all__ = [
    "App",
    "AuditFilter",
    "Check",
    "CycleReport",
    "DatabaseFailure",
    "History",
    "Plan",
    "PlanView",
    "Progress",
    "VerifyReport",
    "audit_events",
    "audit_keygen",
    "audit_rows",
    "audit_verify",
    "building_history",
    "check",
    "check_config",
    "checkpoint",
    "clients",
    "conflicts",
    "daemon",
    "export_audit",
    "export_audit_to",
    "export_invitations",
    "import_grants",
    "issue_binding_codes",
    "issue_invitation",
    "notices_coverage",
    "notices_due",
    "notices_switch",
    "open_app",
    "operator_name",
    "org_invite",
    "pending_chats",
    "plan_at",
    "reason_reader",
    "receive_updates",
    "resync",
    "schemas_dir",
    "staff_list",
    "staff_revoke",
    "start",
    "status",
    "sync_once",
    "upgrade_db",
]
