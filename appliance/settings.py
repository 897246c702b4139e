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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from appliance.errors import ConfigError
from hardware.gpio.inputs import InputPin
from hardware.gpio.outputs import OutputPin

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
    tls: Literal["auto", "off"] = "auto"
    """'auto' = serve HTTPS when the device certificate made at first boot exists
    (``<data-dir>/tls/cert.pem`` and ``key.pem``; its fingerprint is on the idle screen), plain
    HTTP otherwise (development); 'off' = always plain HTTP."""


class PlayerSettings(_Section):
    backend: Literal["mpv", "sim"] = "mpv"
    """'mpv' = real libmpv; 'sim' = the virtual-timeline simulator (no video at all)."""
    vo: str | None = None
    """mpv video output. None = 'null' when there is no display, 'gpu' otherwise ('gpu' + drm on the Pi)."""
    ao: str | None = None
    """mpv audio output. None = 'null' when there is no display, mpv's default otherwise."""
    extra_options: dict[str, str] = Field(default_factory=dict)
    """Further mpv options, e.g. {'gpu-context': 'drm', 'hwdec': 'v4l2m2m-copy'} on a Pi 4."""


InputAction = Literal[
    "none",
    "pause_toggle",
    "branch1",
    "branch2",
    "branch3",
    "branch4",
    "replay",
    "flag",
    "emergency_stop",
    "shot",
]
"""What pressing (or holding, or double-pressing) an input does. 'none': recorded only (scenes
may still branch on it with ``on_input``); 'pause_toggle': pause / resume the session;
'branchN': the scene's Nth choice; 'replay': play the current scene again; 'flag': flag the
moment for the debrief; 'emergency_stop': freeze the picture, every output safe, record it;
'shot': a shot from a training weapon's shot sensor, recorded (see docs/hardware.md)."""

DEFAULT_ACTIONS: dict[str, InputAction] = {
    "pedal": "pause_toggle",
    "trigger": "shot",
    "branch1": "branch1",
    "branch2": "branch2",
    "branch3": "branch3",
    "branch4": "branch4",
    "estop": "emergency_stop",
}
"""The press action of an input whose ``action`` is not set, by name (any other name: 'none')."""

_GPIO_NAME = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class CameraSettings(_Section):
    source: str = Field(default="auto", pattern=r"^(auto|picamera|none|v4l2(:/dev/video[0-9]+)?)$")
    """On the Pi: 'auto' (the Pi camera, else /dev/video0), 'picamera', 'v4l2:/dev/videoN' or
    'none' (hits scored by hand). The simulator always uses its simulated camera."""
    fps: float = Field(default=90.0, ge=15, le=240)
    """Frame rate of a real camera (high rates catch short laser pulses)."""
    sim_fps: float = Field(default=60.0, ge=5, le=240)
    """Frame rate of the simulated camera (real cameras for laser detection run 60-120 fps)."""
    display_latency_ms: float = Field(default=0.0, ge=0, le=500)
    """How far the projected picture lags the player's clock (measured per projector); hits are
    judged against the picture the trainee saw."""
    video_size: tuple[int, int] = (1280, 720)
    """Resolution the calibration pattern is rendered at (the projector's picture)."""


class InputSettings(_Section):
    name: str = Field(pattern=_GPIO_NAME)
    """What the system calls the input; scenes' ``on_input`` rules name it."""
    pin: int = Field(ge=0, le=27)
    """BCM pin number."""
    pull_up: bool = True
    """True: internal pull-up, the switch connects the pin to ground when pressed.
    False: internal pull-down, pressed = the pin driven to 3.3 V."""
    bounce_s: float = Field(default=0.02, ge=0, le=1)
    """Debounce window: edges this soon after an accepted edge are contact bounce."""
    action: InputAction | None = None
    """What a press does; None = the default for the name (``DEFAULT_ACTIONS``, else 'none')."""
    hold_s: float | None = Field(default=None, gt=0, le=10)
    """Held down this long = a "hold" gesture (reported besides the press); None = no hold."""
    hold_action: InputAction | None = None
    """What a hold does (needs ``hold_s``); None = a hold is only recorded."""
    double_press_s: float | None = Field(default=None, gt=0, le=2)
    """A second press within this many seconds of the first (press to press) = a "double"
    gesture (reported besides both presses); None = no double press."""
    double_action: InputAction | None = None
    """What a double press does (needs ``double_press_s``); None = only recorded."""

    @model_validator(mode="after")
    def _gestures(self) -> InputSettings:
        if self.hold_action is not None and self.hold_s is None:
            raise ValueError(f"input {self.name!r}: hold_action needs hold_s (how long is a hold?)")
        if self.double_action is not None and self.double_press_s is None:
            raise ValueError(f"input {self.name!r}: double_action needs double_press_s")
        for field in ("hold_s", "double_press_s"):
            value = getattr(self, field)
            if value is not None and value <= self.bounce_s:
                raise ValueError(
                    f"input {self.name!r}: {field} ({value:g} s) must be longer than bounce_s"
                    f" ({self.bounce_s:g} s)"
                )
        return self

    @property
    def press_action(self) -> InputAction:
        """``action``, or the default for the name."""
        return self.action if self.action is not None else DEFAULT_ACTIONS.get(self.name, "none")

    def to_pin(self) -> InputPin:
        return InputPin(
            self.name,
            self.pin,
            pull_up=self.pull_up,
            bounce_s=self.bounce_s,
            hold_s=self.hold_s,
            double_press_s=self.double_press_s,
        )


def _default_inputs() -> list[InputSettings]:
    return [
        InputSettings(name="pedal", pin=17),
        InputSettings(name="trigger", pin=27, bounce_s=0.005),
        InputSettings(name="branch1", pin=5),
        InputSettings(name="branch2", pin=6),
        InputSettings(name="branch3", pin=13),
        InputSettings(name="branch4", pin=19),
        InputSettings(name="estop", pin=26),
    ]


class OutputSettings(_Section):
    name: str = Field(pattern=_GPIO_NAME)
    """What the system calls the output; scenes' ``cues`` name it."""
    pin: int = Field(ge=0, le=27)
    """BCM pin number."""
    active_high: bool = True
    """True: on = pin high (3.3 V). False: on = pin low (many relay modules switch on low)."""

    def to_pin(self) -> OutputPin:
        return OutputPin(self.name, self.pin, active_high=self.active_high)


def _default_outputs() -> list[OutputSettings]:
    return [
        OutputSettings(name="threat_relay", pin=23),
        OutputSettings(name="lights", pin=24),
        OutputSettings(name="status_led", pin=25),
    ]


def _unique(items: list[Any], label: str) -> None:
    for attr in ("name", "pin"):
        seen: dict[object, int] = {}
        for i, item in enumerate(items):
            value = getattr(item, attr)
            if value in seen:
                raise ValueError(f"{label}[{i}] uses {attr} {value!r} already used by {label}[{seen[value]}]")
            seen[value] = i


class GpioSettings(_Section):
    """The pin map, what each input does, and the outputs (wiring: docs/hardware.md)."""

    inputs: list[InputSettings] = Field(default_factory=_default_inputs)
    """Inputs (BCM pins): pedal 17, trigger 27, branch1-4 on 5, 6, 13, 19, estop 26; all with
    the internal pull-up (a switch to ground)."""
    outputs: list[OutputSettings] = Field(default_factory=_default_outputs)
    """Outputs (BCM pins), all off at start and whenever made safe: threat_relay 23 (the
    shoot-back relay, through a relay module), lights 24 (room lights relay), status_led 25."""
    status_output: str | None = "status_led"
    """The output that shows the box's status (slow blink idle, solid in a session, fast blink
    on a fault); None = none. Set explicitly, it must name an output; left at the default, it
    is simply unused when there is no 'status_led' output."""

    @field_validator("inputs")
    @classmethod
    def _unique_inputs(cls, inputs: list[InputSettings]) -> list[InputSettings]:
        _unique(inputs, "inputs")
        return inputs

    @field_validator("outputs")
    @classmethod
    def _unique_outputs(cls, outputs: list[OutputSettings]) -> list[OutputSettings]:
        _unique(outputs, "outputs")
        return outputs

    @model_validator(mode="after")
    def _inputs_vs_outputs(self) -> GpioSettings:
        problems: list[str] = []
        inputs = {i.name: n for n, i in enumerate(self.inputs)}
        pins = {i.pin: n for n, i in enumerate(self.inputs)}
        for n, out in enumerate(self.outputs):
            if out.name in inputs:
                problems.append(
                    f"outputs[{n}] uses name {out.name!r} already used by inputs[{inputs[out.name]}]"
                )
            if out.pin in pins:
                i = pins[out.pin]
                problems.append(
                    f"outputs[{n}] {out.name!r} uses pin {out.pin} already used by"
                    f" inputs[{i}] {self.inputs[i].name!r}: an input and an output on one pin"
                )
        if "status_output" in self.model_fields_set and self.status_output is not None:
            names = [o.name for o in self.outputs]
            if self.status_output not in names:
                known = ", ".join(repr(n) for n in names) or "none"
                problems.append(f"status_output {self.status_output!r} is not an output (outputs: {known})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def status_output_name(self) -> str | None:
        """``status_output`` when it names an output, else None."""
        return self.status_output if self.status_output in {o.name for o in self.outputs} else None

    def actions(self) -> dict[str, InputAction]:
        """Input → action, for every input that does something: key ``name`` for a press,
        ``name:hold`` and ``name:double`` for its gestures ('none' is left out)."""
        out: dict[str, InputAction] = {}
        for item in self.inputs:
            for key, action in (
                (item.name, item.press_action),
                (f"{item.name}:hold", item.hold_action),
                (f"{item.name}:double", item.double_action),
            ):
                if action is not None and action != "none":
                    out[key] = action
        return out

    def input_pins(self) -> list[InputPin]:
        return [i.to_pin() for i in self.inputs]

    def output_pins(self) -> list[OutputPin]:
        return [o.to_pin() for o in self.outputs]


class UpdateSettings(_Section):
    """Signed A/B updates with RAUC (docs/deployment.md)."""

    enabled: bool | None = None
    """None = on when the ``rauc`` program and /etc/rauc/system.conf are both there (the box)."""
    rauc: str = "rauc"
    """The rauc program (Debian's package)."""
    system_conf: Path | None = None
    """RAUC's system.conf for local checks (``rauc info``); None = RAUC's default, /etc/rauc/system.conf."""
    usb_dirs: list[Path] = Field(default_factory=lambda: [Path("/media/openrange-usb")])
    """Where USB sticks are mounted (read-only, by the udev rule); bundles found there are offered."""
    usb_poll_s: float = Field(default=2.0, ge=0.2, le=60)
    """How often the stick folders are looked at."""
    confirm_timeout_s: float = Field(default=300.0, ge=5, le=3600)
    """How long a freshly booted slot may take to become healthy before it is left unconfirmed
    (and the next boot falls back)."""
    reboot_command: list[str] = Field(
        default_factory=lambda: ["systemctl", "start", "--no-block", "openrange-reboot.service"]
    )
    """How the service asks for a restart of the box (a root unit allowed by the polkit rule)."""
    max_upload_mb: int = Field(default=2048, ge=1)
    """Largest bundle the admin page accepts."""
    version_file: Path = Path("/usr/lib/openrange/version")
    """The running system's version (written by the image build; the bundle hook reads it too)."""


class XapiSettings(_Section):
    """xAPI statements to a Learning Record Store, and the pass/fail rule of the records
    (docs/configuration.md, ``xapi``)."""

    enabled: bool = False
    """Queue one statement per trainee when a session ends and send them to the LRS."""
    endpoint: str = Field(default="", pattern=r"^(https?://\S+)?$")
    """The LRS's xAPI base URL (statements are POSTed to ``{endpoint}/statements``)."""
    username: str = ""
    """Basic-auth user (the LRS's key)."""
    password: str = ""
    """Basic-auth password (the LRS's secret)."""
    activity_base_iri: str = Field(default="http://openrange.local/xapi", pattern=r"^[a-z][a-z0-9+.-]*:\S+$")
    """Prefix of the activity ids (``{base}/scenarios/{id}``), trainee accounts and extension IRIs."""
    pass_threshold: float = Field(default=0.7, ge=0, le=1)
    """A scored session is ``passed`` when its rubric total reaches this fraction of the maximum."""
    failure_outcomes: list[str] = Field(
        default_factory=lambda: [
            *("assault", "hit", "shot", "killed", "dead", "death", "injured", "fail", "failed"),
        ]
    )
    """An ending's outcome containing one of these words (whole words, any case) is a failure."""
    retry_min_s: float = Field(default=2.0, gt=0, le=3600)
    """First wait after a failed send; doubled after each failure up to ``retry_max_s``."""
    retry_max_s: float = Field(default=300.0, gt=0, le=86400)
    """Longest wait between attempts while the LRS cannot be reached."""
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    """HTTP timeout of one send."""


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
    camera: CameraSettings = Field(default_factory=CameraSettings)
    update: UpdateSettings = Field(default_factory=UpdateSettings)
    xapi: XapiSettings = Field(default_factory=XapiSettings)

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


def read_overrides(data_dir: Path) -> dict[str, Any]:
    """The tablet-made overrides layer as written (empty when there is none)."""
    return _read_yaml(data_dir / OVERRIDES_NAME)


def merge_trees(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, mapping by mapping (lists and values are replaced whole)."""
    return _merge(base, top)
