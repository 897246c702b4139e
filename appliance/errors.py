"""The appliance's exception families, each mixed with the built-in it refines.

The web edge maps them to HTTP status codes in one place (web_ui/errors.py).
"""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario package cannot be used; ``problems`` lists every reason found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFound(LookupError):
    """No such session, scenario, choice or record."""


class InvalidTransition(RuntimeError):
    """The request does not fit the session's current state (e.g. branch while ended)."""


class HardwareUnavailable(OSError):
    """A device is missing or failed; the session goes on without it."""


class ConfigError(ValueError):
    """Settings that cannot be used (bad pin map, bad port, unreadable file)."""
