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
        if args.command == "scenario":
            from appliance.scenario.commands import validate_command

            return validate_command(args.path, as_json=args.json)
        if args.command == "demo":
            return _demo(args)
    except ConfigError as exc:
        print(f"openrange: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"openrange: {exc}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
