"""Signed A/B updates with RAUC: install, status, confirm a new slot after a health check, roll back.

- :mod:`appliance.update.rauc`: the ``rauc`` command line (blocking; plain-language errors).
- :mod:`appliance.update.updater`: the loop-side orchestrator the web edge and CLI use.
- :mod:`appliance.update.usb`: bundles found on mounted USB sticks.
- :mod:`appliance.update.health_gate`: the health check that must pass before ``mark-good``.
"""

from appliance.update.rauc import Rauc, SystemStatus, UpdateError, explain
from appliance.update.updater import Updater

__all__ = ["Rauc", "SystemStatus", "UpdateError", "Updater", "explain"]
