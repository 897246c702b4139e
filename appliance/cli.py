"""``openrange``: the command line. Every command fails with a message, never a traceback."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from appliance.errors import ConfigError

log = logging.getLogger("openrange")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, not {text!r}") from None
    if not (64 <= w <= 3840 and 64 <= h <= 2160) or w % 2 or h % 2:
        raise argparse.ArgumentTypeError("size must be even, between 64x64 and 3840x2160")
    return w, h


def _bounds(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H in pixels, not {text!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise argparse.ArgumentTypeError("bounds need x, y >= 0 and a positive width and height")
    return x, y, w, h


def _rows(text: str) -> tuple[int, ...]:
    try:
        rows = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sector rows such as 0 or 0,2, not {text!r}") from None
    if any(r not in (0, 1, 2) for r in rows):
        raise argparse.ArgumentTypeError("sector rows are 0 (top), 1 and 2 (bottom)")
    return rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openrange", description="OpenRange range controller")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the range controller (player, hardware, instructor panel)")
    run.add_argument("--hardware", choices=["sim", "pi"], help="simulated devices or the Pi's real ones")
    run.add_argument("--data-dir", type=Path, help="where records, scenarios and settings live")
    run.add_argument("--host", help="address of the instructor panel (default 127.0.0.1)")
    run.add_argument("--port", type=int, help="port of the instructor panel (default 8080)")
    run.add_argument("--player", choices=["mpv", "sim"], help="real libmpv or the virtual-timeline simulator")
    run.add_argument("--vo", help="mpv video output (null, gpu, ...)")
    run.add_argument("--demo-size", type=_size, help="resolution of the generated demo library (1280x720)")
    run.add_argument("--no-demo", action="store_true", help="do not generate the demo library")
    run.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    scenario = sub.add_parser("scenario", help="scenario packages")
    scenario_sub = scenario.add_subparsers(dest="scenario_command", required=True)
    validate = scenario_sub.add_parser("validate", help="check a scenario package and list every problem")
    validate.add_argument("path", type=Path, help="package folder or .zip")
    validate.add_argument("--json", action="store_true", help="print the problems as JSON")

    pack = scenario_sub.add_parser("pack", help="turn a folder of scene clips into a playable package")
    pack.add_argument("source", type=Path, help="author's folder: manifest + one clip per scene")
    pack.add_argument("-o", "--output", type=Path, required=True, help="package folder or .zip to write")
    pack.add_argument(
        "--profile",
        default="h264-720p30",
        choices=["h264-720p30", "h264-1080p30", "hevc-1080p30"],
        help="video profile (hevc-1080p30 for the Pi 5, which has no H.264 decoder)",
    )
    pack.add_argument(
        "--hold-s", type=float, default=0.0, help="seconds of held last frame at decision points"
    )
    pack.add_argument("--force", action="store_true", help="replace an existing output")

    detect = sub.add_parser("detect", help="find laser shots in a video or image file, as a camera would")
    detect.add_argument("file", type=Path)
    detect.add_argument("--bounds", type=_bounds, help="only detect inside X,Y,W,H (pixels)")
    detect.add_argument(
        "--sectors-off", type=_rows, default=(), help="rows of the 3x3 sector grid to ignore, e.g. 0 or 0,2"
    )
    detect.add_argument("--json", action="store_true", help="one JSON object per shot per line")

    calibrate = sub.add_parser("calibrate", help="compute the camera→video mapping from a camera image")
    calibrate.add_argument("image", type=Path)
    calibrate.add_argument("--json", action="store_true")

    gpio = sub.add_parser("gpio", help="GPIO wiring checks")
    gpio_sub = gpio.add_subparsers(dest="gpio_command", required=True)
    gpio_test = gpio_sub.add_parser("test", help="walk through every configured input and output")
    gpio_test.add_argument("--hardware", choices=["sim", "pi"], help="'sim' drives mock pins by itself")
    gpio_test.add_argument("--data-dir", type=Path)
    gpio_test.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each press")

    update = sub.add_parser("update", help="install a signed update (.raucb), or show/confirm/roll back")
    update.add_argument("target", help="an update file, or status | mark-good | boot-previous")
    update.add_argument("--json", action="store_true", help="status as JSON")
    update.add_argument("--force", action="store_true", help="mark-good without checking the panel's health")

    demo = sub.add_parser("demo", help="generate the built-in demo scenario library")
    demo.add_argument("--data-dir", type=Path, help="data directory (scenarios go in <data-dir>/scenarios)")
    demo.add_argument("--size", type=_size, default=(1280, 720), help="resolution, e.g. 1280x720")
    return parser


def _run(args: argparse.Namespace) -> int:
    from appliance.logs import setup_logging
    from appliance.main import run
    from appliance.settings import load_settings

    cli = {
        "hardware": args.hardware,
        "data_dir": args.data_dir,
        "web.host": args.host,
        "web.port": args.port,
        "player.backend": args.player,
        "player.vo": args.vo,
        "demo_size": args.demo_size,
        "demo_library": False if args.no_demo else None,
        "log_level": args.log_level,
    }
    settings = load_settings(cli)
    setup_logging(settings.log_level, settings.data_dir)
    log.info("OpenRange starting: hardware=%s data=%s", settings.hardware, settings.data_dir.resolve())
    return run(settings)


def _demo(args: argparse.Namespace) -> int:
    from appliance.demo_library import ensure_demo_library
    from appliance.settings import load_settings

    settings = load_settings({"data_dir": args.data_dir})

    def progress(done: int, total: int, label: str) -> None:
        print(f"\r[{done}/{total}] {label:<60}", end="", file=sys.stderr, flush=True)

    paths = ensure_demo_library(settings.library_dir, size=args.size, progress=progress)
    print(file=sys.stderr)
    for path in paths:
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "scenario" and args.scenario_command == "validate":
            from appliance.scenario.commands import validate_command

            return validate_command(args.path, as_json=args.json)
        if args.command == "scenario" and args.scenario_command == "pack":
            from appliance.scenario.pack_commands import pack_command

            return pack_command(
                args.source, args.output, profile=args.profile, hold_s=args.hold_s, force=args.force
            )
        if args.command == "detect":
            from appliance.detection.commands import detect_command

            return detect_command(
                args.file, bounds=args.bounds, sectors_off=args.sectors_off, as_json=args.json
            )
        if args.command == "calibrate":
            from appliance.detection.calibration_commands import calibrate_command

            return calibrate_command(args.image, as_json=args.json)
        if args.command == "gpio":
            from appliance.gpio_test_command import gpio_test_command
            from appliance.settings import load_settings

            settings = load_settings({"hardware": args.hardware, "data_dir": args.data_dir})
            return gpio_test_command(settings, interactive=sys.stdin.isatty(), timeout_s=args.timeout)
        if args.command == "demo":
            return _demo(args)
        if args.command == "update":
            from appliance.settings import load_settings
            from appliance.update.commands import update_command

            return update_command(load_settings(), args.target, as_json=args.json, force=args.force)
    except ConfigError as exc:
        print(f"openrange: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"openrange: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
