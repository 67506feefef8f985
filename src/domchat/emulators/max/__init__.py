"""A MAX Bot API emulator on loopback: the platform's paths, JSON shapes, errors and rules.

It shares no code with `domchat.max_client`: it is written from the same schema so that the
two check each other. `MaxEmulator` serves the Bot API and a control API (`/_emulator/`) that
acts as people; see docs/emulators.md.
"""

from domchat.emulators.max.faults import MaxFaults
from domchat.emulators.max.server import MaxEmulator
from domchat.emulators.max.webhook import WebhookPolicy

__all__ = ["MaxEmulator", "MaxFaults", "WebhookPolicy"]
