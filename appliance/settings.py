"""One typed settings tree, built from layers.

Order (later wins): defaults → ``/etc/openrange/settings.yaml`` → ``<data-dir>/settings.yaml``
(overrides written by the tablet, atomically) → ``OPENRANGE_*`` environment → command-line flags.
Settings are passed down explicitly; there is no global settings object.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appliance.errors import ConfigError

SYSTEM_SETTINGS = Path("/etc/openrange/settings.yaml")
OVERRIDES_NAME = "settings.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebSettings(_Section):
    host: str = "127.0.0.1"
    """Address the instructor panel listens on (0.0.0.0 on the box's Wi-Fi)."""
    port: int = Field(default=8080, ge=1, le=65535)
    """TCP port of the instructor panel."""
    pin: str | None = Field(default=None, pattern=r"^[0-9]{4,8}$")
    """Pairing PIN; None = a random 6-digit PIN chosen at first start and kept in the data directory."""
    token_ttl_h: float = Field(default=12.0, gt=0)
    """How long a paired tablet stays paired without pairing again."""


class PlayerSettings(_Section):
    backend: Literal["mpv", "sim"] = "mpv"
    """'mpv' = real libmpv; 'sim' = the virtual-timeline simulator (no video at all)."""
    vo: str | None = None
    """mpv video output. None = 'null' when there is no display, 'gpu' otherwise ('gpu' + drm on the Pi)."""
    ao: str | None = None
    """mpv audio output. None = 'null' when there is no display, mpv's default otherwise."""
    extra_options: dict[str, str] = Field(default_factory=dict)
    """Further mpv options, e.g. {'gpu-context': 'drm', 'hwdec': 'v4l2m2m-copy'} on a Pi 4."""


class InputSettings(_Section):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    pin: int = Field(ge=0, le=27)
    """BCM pin number."""
    pull_up: bool = True
    """True: internal pull-up, the switch connects the pin to ground when pressed."""
    bounce_s: float = Field(default=0.02, ge=0, le=1)


def _default_inputs() -> list[InputSettings]:
    return [
        InputSettings(name="pedal", pin=17),
        InputSettings(name="trigger", pin=27, bounce_s=0.005),
        InputSettings(name="branch1", pin=5),
        InputSettings(name="branch2", pin=6),
        InputSettings(name="branch3", pin=13),
        InputSettings(name="branch4", pin=19),
    ]


class GpioSettings(_Section):
    inputs: list[InputSettings] = Field(default_factory=_default_inputs)
    """The pin map (see docs/hardware.md for the wiring table)."""

    @field_validator("inputs")
    @classmethod
    def _unique(cls, inputs: list[InputSettings]) -> list[InputSettings]:
        for attr in ("name", "pin"):
            seen: dict[object, int] = {}
            for i, item in enumerate(inputs):
                value = getattr(item, attr)
                if value in seen:
                    raise ValueError(
                        f"inputs[{i}] uses {attr} {value!r} already used by inputs[{seen[value]}]"
                    )
                seen[value] = i
        return inputs


class Settings(_Section):
    hardware: Literal["sim", "pi"] = "sim"
    """'sim' = simulated camera and GPIO; 'pi' = the real devices."""
    data_dir: Path = Path(".openrange")
    """Where everything persistent lives: overrides, scenario library, records, logs."""
    demo_library: bool = True
    """Generate the built-in demo scenarios on first start when the library is empty of them."""
    demo_size: tuple[int, int] = (1280, 720)
    """Resolution of the generated demo scenarios."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    web: WebSettings = Field(default_factory=WebSettings)
    player: PlayerSettings = Field(default_factory=PlayerSettings)
    gpio: GpioSettings = Field(default_factory=GpioSettings)

    @property
    def library_dir(self) -> Path:
        return self.data_dir / "scenarios"

    @property
    def records_path(self) -> Path:
        return self.data_dir / "records.sqlite3"


ENV_KEYS: dict[str, tuple[str, ...]] = {
    "OPENRANGE_HARDWARE": ("hardware",),
    "OPENRANGE_DATA_DIR": ("data_dir",),
    "OPENRANGE_LOG_LEVEL": ("log_level",),
    "OPENRANGE_PIN": ("web", "pin"),
    "OPENRANGE_HOST": ("web", "host"),
    "OPENRANGE_PORT": ("web", "port"),
    "OPENRANGE_PLAYER": ("player", "backend"),
    "OPENRANGE_VO": ("player", "vo"),
    "OPENRANGE_DEMO_LIBRARY": ("demo_library",),
}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"settings file {path} must hold a mapping, not {type(data).__name__}")
    return data


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _set_path(tree: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def load_settings(
    cli: dict[str, Any] | None = None,
    *,
    environ: dict[str, str] | None = None,
    system_file: Path = SYSTEM_SETTINGS,
) -> Settings:
    """Build the settings from every layer; raises ConfigError with every problem named."""
    environ = dict(os.environ if environ is None else environ)
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    env_layer: dict[str, Any] = {}
    for name, keys in ENV_KEYS.items():
        if environ.get(name):
            _set_path(env_layer, keys, environ[name])
    cli_layer: dict[str, Any] = {}
    for dotted, value in cli.items():
        _set_path(cli_layer, tuple(dotted.split(".")), value)

    data_dir = Path(cli.get("data_dir") or environ.get("OPENRANGE_DATA_DIR") or ".openrange")
    if not cli.get("data_dir") and not environ.get("OPENRANGE_DATA_DIR"):
        data_dir = Path(_read_yaml(system_file).get("data_dir", data_dir))
    tree: dict[str, Any] = {}
    for layer in (_read_yaml(system_file), _read_yaml(data_dir / OVERRIDES_NAME), env_layer, cli_layer):
        tree = _merge(tree, layer)
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("invalid settings:\n  " + "\n  ".join(problems)) from None


def write_overrides(data_dir: Path, overrides: dict[str, Any]) -> None:
    """Replace the tablet-made overrides file atomically (never half-written)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / OVERRIDES_NAME
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".settings-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(overrides, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
