"""Use cases: what the CLI (and the demo) can ask domchat to do, one function each.

`cli.py` only parses arguments, calls one of these and presents the result.
"""

from domchat.app.cycles import PlanView, conflicts, daemon, plan_at, receive_updates, resync, status, sync_once
from domchat.app.people import (
    export_invitations,
    import_grants,
    issue_invitation,
    org_invite,
    pending_chats,
    staff_list,
    staff_revoke,
)
from domchat.app.trail import VerifyReport, audit_rows, audit_verify, checkpoint
from domchat.app.trail import keygen as audit_keygen
from domchat.app.wiring import App, check_config, clients, open_app, operator_name, schemas_dir, upgrade_db
from domchat.sync.engine import CycleReport

__all__ = [
    "App",
    "CycleReport",
    "PlanView",
    "VerifyReport",
    "audit_keygen",
    "audit_rows",
    "audit_verify",
    "check_config",
    "checkpoint",
    "clients",
    "conflicts",
    "daemon",
    "export_invitations",
    "import_grants",
    "issue_invitation",
    "open_app",
    "operator_name",
    "org_invite",
    "pending_chats",
    "plan_at",
    "receive_updates",
    "resync",
    "schemas_dir",
    "staff_list",
    "staff_revoke",
    "status",
    "sync_once",
    "upgrade_db",
]
