"""The admin page's view of the settings: what is in force, and changes written as overrides.

Changes from the tablet go into ``<data-dir>/settings.yaml`` (the overrides layer, replaced
atomically). A change is checked by building the whole settings tree with it, so a bad value is
refused with the field named and nothing is written. Settings are read once at start: a change
takes effect at the next start of the service (the answer says so). Secrets (the LRS password,
the fixed pairing PIN) are never sent back, only whether they are set.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from appliance.errors import ConfigError
from appliance.settings import OVERRIDES_NAME, Settings, merge_trees, read_overrides, write_overrides

SECRET_FIELDS: tuple[tuple[str, ...], ...] = (("xapi", "password"), ("web", "pin"))
"""Never shown: only ``"set"`` or ``None`` is."""
SYSTEM_ONLY: tuple[tuple[str, ...], ...] = (
    ("data_dir",),
    ("hardware",),
    ("update", "rauc"),
    ("update", "system_conf"),
    ("update", "reboot_command"),
    ("update", "usb_dirs"),
    ("update", "version_file"),
    ("player", "extra_options"),
    ("gpio",),
    ("camera", "source"),
)
"""Set only in /etc/openrange/settings.yaml, never from the tablet: where data lives, which
devices and pins are driven, and anything that names a program, a file or mpv options (an mpv
option can load a script): an admin PIN must not become a shell on the box."""
REDACTED = "set"


class SettingsRejected(ValueError):
    """A change the settings tree does not accept; ``problems`` names each field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _redact(tree: dict[str, Any]) -> dict[str, Any]:
    out = merge_trees({}, tree)
    for path in SECRET_FIELDS:
        node: Any = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = REDACTED if node[path[-1]] else None
    return out


def settings_view(settings: Settings) -> dict[str, Any]:
    """What the admin page shows: the settings in force, the overrides, and the field help."""
    return {
        "in_force": _redact(settings.model_dump(mode="json")),
        "overrides": _redact(read_overrides(settings.data_dir)),
        "file": str(settings.data_dir / OVERRIDES_NAME),
        "applies": "at the next start of the service",
    }


def _without_redacted(changes: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """A secret sent back as the placeholder keeps its stored value."""
    out: dict[str, Any] = {}
    for key, value in changes.items():
        if isinstance(value, dict):
            out[key] = _without_redacted(
                value, current.get(key, {}) if isinstance(current.get(key), dict) else {}
            )
        elif value == REDACTED and key in {p[-1] for p in SECRET_FIELDS}:
            if key in current:
                out[key] = current[key]
        else:
            out[key] = value
    return out


def _drop_nulls(tree: dict[str, Any]) -> dict[str, Any]:
    """``null`` in a change removes that override (back to the lower layers' value)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            inner = _drop_nulls(value)
            if inner:
                out[key] = inner
        elif value is not None:
            out[key] = value
    return out


def _touches(changes: dict[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = changes
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def change_settings(settings: Settings, changes: dict[str, Any]) -> dict[str, Any]:
    """Merge ``changes`` (a nested mapping; ``null`` removes an override) into the overrides file
    after checking the whole tree; raises ``SettingsRejected`` and writes nothing when it is wrong."""
    fixed = [".".join(path) for path in SYSTEM_ONLY if _touches(changes, path)]
    if fixed:
        raise SettingsRejected(
            [f"{name}: set in /etc/openrange/settings.yaml on the box, not from the tablet" for name in fixed]
        )
    current = read_overrides(settings.data_dir)
    merged = _drop_nulls(merge_trees(current, _without_redacted(changes, current)))
    try:
        Settings.model_validate(merge_trees(settings.model_dump(mode="python", exclude_unset=False), merged))
    except ValidationError as exc:
        raise SettingsRejected(
            [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        ) from None
    except ConfigError as exc:
        raise SettingsRejected([str(exc)]) from None
    write_overrides(settings.data_dir, merged)
    return {"overrides": _redact(merged), "applies": "at the next start of the service"}
