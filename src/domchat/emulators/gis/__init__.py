"""GIS ZhKH emulator: the official async services on loopback, built and validated with lxml.

It shares no code with `domchat.gis_client` on purpose: shared code would hide the client's bugs.
"""

from domchat.emulators.gis.faults import GisFaults
from domchat.emulators.gis.server import GisEmulator, LoggedExchange

__all__ = ["GisEmulator", "GisFaults", "LoggedExchange"]
