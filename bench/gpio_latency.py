"""GPIO input edge → event handled on the appliance's event loop.

The real path, as in ``openrange run``: a gpiozero ``MockPin`` is driven from a thread standing
in for the GPIO library's callback thread; gpiozero calls ``GpioInputs`` (our debounce, edge
time from the pin's own ticks), which emits ``InputChanged`` into ``EventBus.publish_threadsafe``
(``loop.call_soon_threadsafe``); a handler registered on the bus, on the asyncio loop, takes
the time it runs. Measured per edge:

* latency: handling time − the event's ``t_mono`` (the edge time it carries), ms;
* stamp: whether ``t_mono`` lies between the clock read just before and just after the pin was
  driven (i.e. it is the edge time, not the time the event was built or handled), and its offset
  from the moment the drive began;
* baseline, in the same run: a bare ``call_soon_threadsafe`` of a timestamp from the same kind of
  thread (the hand-off alone, without gpiozero and our input code).

``--loop-busy-ms`` adds other work to the loop (a callback blocking it every 20 ms), since an
idle loop is the best case. Caveat: a busy loop holds the GIL, so the driver thread cannot make an
edge meanwhile either and the mock pin's edge time is taken late; on the Pi the edge time comes
from the kernel, and GIL-holding loop work shows up in the latency. Read that figure as a lower
bound. Edges alternate press/release on one input, spaced ``--interval-ms``
apart (± random jitter so they do not line up with the loop's own wake-ups), longer than the
input's debounce window, so every edge is reported. Target: p95 ≤ 10 ms.

    .venv/bin/python bench/gpio_latency.py                  # 2000 edges, ~45 s; JSON on the last line
    .venv/bin/python bench/gpio_latency.py --edges 1000 --interval-ms 8
    .venv/bin/python bench/gpio_latency.py --loop-busy-ms 2   # the loop also blocks 2 ms every 20 ms
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.events import EventBus
from hardware.events import InputChanged
from hardware.gpio.inputs import GpioInputs, InputPin
from hardware.gpio.sim import SimGpio

TARGET_P95_MS = 10.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def stats(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "p95": round(percentile(values, 0.95), 3),
        "p99": round(percentile(values, 0.99), 3),
        "max": round(max(values), 3),
        "min": round(min(values), 3),
    }


async def keep_busy(busy_s: float, every_s: float = 0.02) -> None:
    """Other work on the loop: block it for ``busy_s`` every ``every_s``."""
    while True:
        await asyncio.sleep(every_s)
        end = time.perf_counter() + busy_s
        while time.perf_counter() < end:
            pass


async def measure_gpio(edges: int, interval_s: float, bounce_s: float, busy_s: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    busy = asyncio.create_task(keep_busy(busy_s)) if busy_s > 0 else None
    bus = EventBus(loop)
    handled: list[tuple[InputChanged, float]] = []
    done = asyncio.Event()

    def on_input(event: InputChanged) -> None:
        handled.append((event, time.monotonic()))
        if len(handled) >= edges:
            done.set()

    bus.on(InputChanged, on_input)
    pin = InputPin("trigger", 27, bounce_s=bounce_s)
    sim = SimGpio([pin])
    inputs = GpioInputs([pin], bus.publish_threadsafe, sim.factory)
    inputs.open()
    brackets: list[tuple[float, float]] = []

    def drive() -> None:
        rng = random.Random(1)
        for i in range(edges):
            time.sleep(interval_s * rng.uniform(0.75, 1.25))
            before = time.monotonic()
            sim.drive("trigger", i % 2 == 0)
            brackets.append((before, time.monotonic()))

    driver = threading.Thread(target=drive, name="gpio-edge-driver", daemon=True)
    try:
        driver.start()
        await asyncio.wait_for(done.wait(), timeout=edges * interval_s * 2 + 10)
    finally:
        driver.join(timeout=5)
        inputs.close()
        if busy is not None:
            busy.cancel()

    latency_ms = [(t_handled - event.t_mono) * 1000 for event, t_handled in handled]
    in_bracket = sum(
        1 for (event, _), (b, a) in zip(handled, brackets, strict=True) if b <= event.t_mono <= a
    )
    offset_ms = [(event.t_mono - b) * 1000 for (event, _), (b, _a) in zip(handled, brackets, strict=True)]
    pressed_ok = all(event.pressed == (i % 2 == 0) for i, (event, _) in enumerate(handled))
    return {
        "latency_ms": stats(latency_ms),
        "n": len(handled),
        "stamp_in_drive_bracket": in_bracket,
        "stamp_offset_ms": stats(offset_ms),
        "order_ok": pressed_ok,
    }


async def measure_baseline(count: int, interval_s: float, busy_s: float) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    busy = asyncio.create_task(keep_busy(busy_s)) if busy_s > 0 else None
    latency_ms: list[float] = []
    done = asyncio.Event()

    def handle(t_sent: float) -> None:
        latency_ms.append((time.monotonic() - t_sent) * 1000)
        if len(latency_ms) >= count:
            done.set()

    def send() -> None:
        rng = random.Random(2)
        for _ in range(count):
            time.sleep(interval_s * rng.uniform(0.75, 1.25))
            loop.call_soon_threadsafe(handle, time.monotonic())

    sender = threading.Thread(target=send, name="baseline-sender", daemon=True)
    sender.start()
    await asyncio.wait_for(done.wait(), timeout=count * interval_s * 2 + 10)
    sender.join(timeout=5)
    if busy is not None:
        busy.cancel()
    return stats(latency_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edges", type=int, default=2000, help="edges to measure (>= 1000 for the figure)")
    parser.add_argument("--interval-ms", type=float, default=10.0, help="mean time between edges")
    parser.add_argument("--bounce-ms", type=float, default=5.0, help="the input's debounce window")
    parser.add_argument(
        "--loop-busy-ms",
        type=float,
        default=0.0,
        help="other loop work: block the loop this long every 20 ms",
    )
    args = parser.parse_args()
    if args.interval_ms * 0.75 <= args.bounce_ms:
        parser.error("--interval-ms * 0.75 must exceed --bounce-ms, or edges are (rightly) debounced away")

    t_start = time.monotonic()
    load_before = os.getloadavg()[0]
    interval_s = args.interval_ms / 1000
    busy_s = args.loop_busy_ms / 1000
    gpio = asyncio.run(measure_gpio(args.edges, interval_s, args.bounce_ms / 1000, busy_s))
    baseline = asyncio.run(measure_baseline(args.edges, interval_s, busy_s))
    lat = gpio["latency_ms"]

    print(f"GPIO edge -> InputChanged handled on the loop, {gpio['n']} edges, {args.interval_ms:g} ms apart")
    print(
        f"  latency (handled - event.t_mono): median {lat['median']} ms, p95 {lat['p95']} ms,"
        f" p99 {lat['p99']} ms, max {lat['max']} ms"
    )
    off = gpio["stamp_offset_ms"]
    print(
        f"  event.t_mono inside [before drive, after drive]: {gpio['stamp_in_drive_bracket']}/{gpio['n']};"
        f" offset from the drive's start: median {off['median']} ms, max {off['max']} ms"
    )
    print(
        f"  baseline (bare call_soon_threadsafe): median {baseline['median']} ms, p95 {baseline['p95']} ms,"
        f" max {baseline['max']} ms"
    )
    summary = {
        "p95_ms": lat["p95"],
        "median_ms": lat["median"],
        "p99_ms": lat["p99"],
        "max_ms": lat["max"],
        "n": gpio["n"],
        "t_mono_is_edge_time": gpio["stamp_in_drive_bracket"] == gpio["n"],
        "stamp_in_drive_bracket": gpio["stamp_in_drive_bracket"],
        "stamp_offset_max_ms": off["max"],
        "order_ok": gpio["order_ok"],
        "baseline_p95_ms": baseline["p95"],
        "baseline_median_ms": baseline["median"],
        "p95_over_baseline": round(lat["p95"] / baseline["p95"], 2) if baseline["p95"] > 0 else None,
        "interval_ms": args.interval_ms,
        "bounce_ms": args.bounce_ms,
        "loop_busy_ms_per_20ms": args.loop_busy_ms,
        "target_p95_ms": TARGET_P95_MS,
        "target_met": lat["p95"] <= TARGET_P95_MS and gpio["n"] >= 1000,
        "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "elapsed_s": round(time.monotonic() - t_start, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
