"""Load, soak and resource budget of the running service (`openrange run --hardware sim`, own process).

Three modes, each printing its figures and a one-line JSON summary last:

``load``  (issue 8.4) N tablets, each a WebSocket plus a 1 Hz ``GET /api/state`` poller, while a
          driver makes R events/s (flags, simulated laser hits, pedal presses) in back-to-back
          sessions; plus ``--slow`` tablets that connect and never read. Checked: every tablet that
          keeps up received every recorded event (none dropped), the slow ones were cut off
          (close 4408) instead of growing the service's memory; API p95 and RSS reported.
``soak``  (issue 8.5) an 8-hour duty cycle compressed: sessions back to back with branches,
          hits, pauses and flags, as fast as a tablet would click, for ``--minutes``. RSS growth
          from the end of warm-up (first 10 %) to the end must stay < 5 %, threads and open file
          descriptors must not grow, and the p95 of each quarter is printed (stable = no drift).
``idle``  (issue 8.6) RSS and CPU share of one core of the idle service (no session) over
          ``--seconds``, with the simulated player (the service alone; mpv's decode buffers are
          not in it) and, with ``--player mpv``, the whole process including libmpv.

    .venv/bin/python bench/service_load.py load --tablets 10 --rate 100 --minutes 10
    .venv/bin/python bench/service_load.py soak --minutes 15
    .venv/bin/python bench/service_load.py idle --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import httpx
from scenario_builders import write_scenario
from service_process import ServiceProcess
from service_runner import free_port
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

RSS_GROWTH_LIMIT = 0.05
RSS_BUDGET_MB = 150.0
IDLE_CPU_BUDGET = 0.03


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def proc_figures(pid: int) -> dict[str, float]:
    """RSS (MB), threads, open fds and CPU seconds of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = {line.split(":")[0]: line.split(":")[1].strip() for line in status if ":" in line}
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = 100.0  # os.sysconf("SC_CLK_TCK") is 100 on Linux
    return {
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "threads": int(fields["Threads"]),
        "fds": len(list(Path(f"/proc/{pid}/fd").iterdir())),
        "cpu_s": (int(stat[11]) + int(stat[12])) / ticks,
    }


@dataclass
class Tablet:
    """One simulated tablet: its WebSocket's received events and its polls' latencies."""

    name: str
    slow: bool = False
    seen: set[tuple[str, int]] = field(default_factory=set)
    poll_ms: list[float] = field(default_factory=list)
    closed_code: int | None = None
    reconnects: int = 0


async def run_tablet(tablet: Tablet, base: str, token: str, stop: asyncio.Event) -> None:
    url = base.replace("http", "ws", 1) + f"/api/ws?token={token}"
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}) as api:
        poller = asyncio.create_task(_poll(tablet, api, stop))
        while not stop.is_set():
            try:
                async with connect(url, max_size=None, max_queue=1 if tablet.slow else 64) as ws:
                    if tablet.slow:  # never reads: the server must cut it off, not buffer forever
                        await stop.wait()
                        return
                    while not stop.is_set():
                        try:
                            message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                        except TimeoutError:
                            continue
                        if message["type"] == "event":
                            event = message["event"]
                            tablet.seen.add((event["session_id"], event["seq"]))
                        elif message["type"] == "snapshot":
                            for event in message["state"].get("events", []):
                                tablet.seen.add((event["session_id"], event["seq"]))
            except ConnectionClosed as exc:
                tablet.closed_code = exc.rcvd.code if exc.rcvd else None
                tablet.reconnects += 1
        poller.cancel()


async def _poll(tablet: Tablet, api: httpx.AsyncClient, stop: asyncio.Event) -> None:
    """What the tablet page polls: /api/health each second, and (here) /api/state every 5 s."""
    n = 0
    while not stop.is_set():
        path = "/api/state" if n % 5 == 4 else "/api/health"
        started = time.perf_counter()
        answer = await api.get(path)
        if answer.status_code == 200:
            tablet.poll_ms.append((time.perf_counter() - started) * 1000)
        n += 1
        await asyncio.sleep(1.0)


@dataclass
class Driver:
    """Makes the events: sessions back to back, with flags, hits, pedal presses and branches.

    Each action is worth about one recorded event; actions are fired on a fixed schedule as
    concurrent requests (a tablet room does not wait for one answer before the next tap), and a
    session is ended after ``session_events`` actions, as real sessions are a few hundred events."""

    api: httpx.AsyncClient
    rng: random.Random
    session_events: int = 300
    sessions: list[str] = field(default_factory=list)
    post_ms: list[tuple[float, float]] = field(default_factory=list)  # (t since start, ms)
    actions: int = 0
    started: float = field(default_factory=time.perf_counter)
    _sid: str | None = None
    _choices: list[str] = field(default_factory=list)
    _in_session: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        t0 = time.perf_counter()
        answer = await self.api.request(method, path, **kwargs)
        self.post_ms.append((t0 - self.started, (time.perf_counter() - t0) * 1000))
        return answer

    async def session(self, refresh: bool = False) -> tuple[str, list[str]]:
        async with self._lock:
            if self._sid is None or refresh or self._in_session >= self.session_events:
                if self._sid is not None and self._in_session >= self.session_events:
                    await self.call("POST", f"/api/sessions/{self._sid}/end")
                state = (await self.call("GET", "/api/state")).raise_for_status().json()
                session = state["session"]
                if session is None or session["status"] == "ended":
                    body = {"scenario_id": "triage-desk", "trainees": ["T1"]}
                    answer = (await self.call("POST", "/api/sessions", json=body)).raise_for_status()
                    self.sessions.append(answer.json()["id"])
                    state = (await self.call("GET", "/api/state")).raise_for_status().json()
                self._sid = state["session"]["id"]
                self._choices = [c["id"] for c in (state.get("scene") or {}).get("choices") or []]
                self._in_session = 0
            self._in_session += 1
            return self._sid, list(self._choices)

    async def one_action(self, mix: str) -> None:
        sid, choices = await self.session()
        roll = self.rng.random()
        self.actions += 1
        if mix == "soak" and choices and roll < 0.1:
            answer = await self.call(
                "POST", f"/api/sessions/{sid}/branch", json={"choice": self.rng.choice(choices)}
            )
            await self.session(refresh=True)
        elif roll < 0.2:
            xy = {"x": self.rng.uniform(0.2, 0.8), "y": self.rng.uniform(0.2, 0.8)}
            answer = await self.call("POST", "/api/sim/hit", json=xy)
        elif roll < 0.23:
            answer = await self.call("POST", "/api/sim/input", json={"name": "pedal", "pressed": True})
            await self.call("POST", "/api/sim/input", json={"name": "pedal", "pressed": False})
        elif mix == "soak" and roll < 0.26:
            answer = await self.call("POST", f"/api/sessions/{sid}/end")
        else:
            answer = await self.call("POST", f"/api/sessions/{sid}/flag", json={"note": "load"})
        if answer.status_code == 409:  # the scenario reached an ending: start the next session
            await self.session(refresh=True)


async def drive(driver: Driver, rate: float, seconds: float, mix: str) -> None:
    interval = 1.0 / rate
    deadline = time.perf_counter() + seconds
    next_at = time.perf_counter()
    in_flight: set[asyncio.Task[None]] = set()
    while time.perf_counter() < deadline:
        if len(in_flight) < 16:
            task = asyncio.create_task(driver.one_action(mix))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        next_at += interval
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:
            next_at = time.perf_counter()  # fell behind: do not burst
    await asyncio.gather(*in_flight, return_exceptions=True)


def start_service(tmp: Path, player: str) -> ServiceProcess:
    data_dir = tmp / "data"
    write_scenario(data_dir / "scenarios" / "triage-desk", _long_scenario())
    return ServiceProcess(data_dir, free_port(), "--player", player, "--no-demo").start(
        ready=("ok", "degraded")
    )


def _long_scenario() -> dict[str, Any]:
    from scenario_builders import TEST_SCENARIO

    scenario = json.loads(json.dumps(TEST_SCENARIO))
    scenario["scenes"]["intro"]["timeout"]["after_s"] = 600  # the driver decides when scenes change
    return scenario


async def recorded_events(api: httpx.AsyncClient, sessions: list[str]) -> set[tuple[str, int]]:
    out: set[tuple[str, int]] = set()
    for sid in sessions:
        for event in (await api.get(f"/api/sessions/{sid}")).json()["events"]:
            out.add((sid, event["seq"]))
    return out


async def sample_rss(pid: int, stop: asyncio.Event, into: list[tuple[float, dict[str, float]]]) -> None:
    t0 = time.perf_counter()
    while not stop.is_set():
        into.append((time.perf_counter() - t0, proc_figures(pid)))
        await asyncio.sleep(2.0)


async def load_mode(args: argparse.Namespace, service: ServiceProcess, token: str) -> dict[str, Any]:
    assert service.proc is not None
    stop = asyncio.Event()
    tablets = [Tablet(f"tablet-{i}") for i in range(args.tablets)] + [
        Tablet(f"slow-{i}", slow=True) for i in range(args.slow)
    ]
    samples: list[tuple[float, dict[str, float]]] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=10) as api:
        driver = Driver(api, random.Random(8))
        tasks = [asyncio.create_task(run_tablet(t, service.base_url, token, stop)) for t in tablets]
        sampler = asyncio.create_task(sample_rss(service.proc.pid, stop, samples))
        await asyncio.sleep(1.0)
        await drive(driver, args.rate, args.minutes * 60, "load")
        await asyncio.sleep(1.5)  # the last events reach the tablets
        feeds_left = (await api.get("/api/health")).json()["clients"]
        stop.set()
        await asyncio.gather(*tasks, sampler, return_exceptions=True)
        recorded = await recorded_events(api, driver.sessions)
    keeping_up = [t for t in tablets if not t.slow]
    dropped = {t.name: len(recorded - t.seen) for t in keeping_up}
    polls = [ms for t in tablets for ms in t.poll_ms]
    posts = [ms for _, ms in driver.post_ms]
    rss = [s["rss_mb"] for _, s in samples]
    print(
        f"{args.minutes} min, {args.tablets} tablets + {args.slow} slow, {len(recorded)} events recorded "
        f"({len(recorded) / (args.minutes * 60):.1f}/s) in {len(driver.sessions)} sessions"
    )
    print(f"dropped per keeping-up tablet: {dropped}")
    cut_off = len(tablets) - feeds_left
    print(
        f"slow tablets cut off by the service: {cut_off} of {args.slow}; reconnects "
        f"{sum(t.reconnects for t in keeping_up)} among the keeping-up ones"
    )
    print(
        f"tablet polls (/api/health, /api/state) p95 {percentile(polls, 0.95):.1f} ms "
        f"(median {percentile(polls, 0.5):.1f}, n={len(polls)}); driver calls p95 "
        f"{percentile(posts, 0.95):.1f} ms (median {percentile(posts, 0.5):.1f}, n={len(posts)})"
    )
    print(f"service RSS MB: start {rss[0]:.1f}, max {max(rss):.1f}, end {rss[-1]:.1f}")
    return {
        "mode": "load",
        "minutes": args.minutes,
        "tablets": args.tablets,
        "events_per_s": round(len(recorded) / (args.minutes * 60), 1),
        "events_recorded": len(recorded),
        "dropped_events_max": max(dropped.values(), default=0),
        "slow_clients_cut_off": cut_off,
        "api_p95_ms": round(percentile(polls + posts, 0.95), 2),
        "state_poll_p95_ms": round(percentile(polls, 0.95), 2),
        "rss_start_mb": round(rss[0], 1),
        "rss_max_mb": round(max(rss), 1),
    }


async def soak_mode(args: argparse.Namespace, service: ServiceProcess, token: str) -> dict[str, Any]:
    assert service.proc is not None
    stop = asyncio.Event()
    samples: list[tuple[float, dict[str, float]]] = []
    seconds = args.minutes * 60
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers, timeout=10) as api:
        driver = Driver(api, random.Random(9))
        tablet = Tablet("watcher")
        watcher = asyncio.create_task(run_tablet(tablet, service.base_url, token, stop))
        sampler = asyncio.create_task(sample_rss(service.proc.pid, stop, samples))
        await drive(driver, args.rate, seconds, "soak")
        stop.set()
        await asyncio.gather(watcher, sampler, return_exceptions=True)
    warm = [s for t, s in samples if t >= seconds * 0.1]
    first, last = warm[0], warm[-1]
    growth = (last["rss_mb"] - first["rss_mb"]) / first["rss_mb"]
    quarters = []
    for q in range(4):
        lo, hi = seconds * q / 4, seconds * (q + 1) / 4
        quarters.append(round(percentile([ms for t, ms in driver.post_ms if lo <= t < hi], 0.95), 2))
    cpu_share = (samples[-1][1]["cpu_s"] - samples[0][1]["cpu_s"]) / max(1e-9, samples[-1][0] - samples[0][0])
    print(
        f"{args.minutes} min soak: {driver.actions} actions, {len(driver.sessions)} sessions "
        f"(an 8-hour training day has ~30-60)"
    )
    print(
        f"RSS after warm-up {first['rss_mb']:.1f} MB -> end {last['rss_mb']:.1f} MB ({growth * 100:+.2f} %)"
    )
    print(f"threads {first['threads']} -> {last['threads']}, fds {first['fds']} -> {last['fds']}")
    print(f"API p95 by quarter (ms): {quarters}; service CPU {cpu_share * 100:.1f} % of one core")
    return {
        "mode": "soak",
        "minutes": args.minutes,
        "actions": driver.actions,
        "sessions": len(driver.sessions),
        "rss_growth_pct": round(growth * 100, 2),
        "rss_growth_ok": growth < RSS_GROWTH_LIMIT,
        "threads_start": first["threads"],
        "threads_end": last["threads"],
        "fds_start": first["fds"],
        "fds_end": last["fds"],
        "p95_ms_by_quarter": quarters,
    }


async def idle_mode(args: argparse.Namespace, service: ServiceProcess, token: str) -> dict[str, Any]:
    assert service.proc is not None
    await asyncio.sleep(3.0)  # start-up work (calibration, first frames) is over
    before = proc_figures(service.proc.pid)
    t0 = time.perf_counter()
    await asyncio.sleep(args.seconds)
    after = proc_figures(service.proc.pid)
    share = (after["cpu_s"] - before["cpu_s"]) / (time.perf_counter() - t0)
    print(
        f"idle {args.seconds:.0f} s with --player {args.player}: RSS {after['rss_mb']:.1f} MB "
        f"(budget {RSS_BUDGET_MB:.0f}), CPU {share * 100:.2f} % of one core "
        f"(budget {IDLE_CPU_BUDGET * 100:.0f} %), "
        f"threads {after['threads']}, fds {after['fds']}"
    )
    return {
        "mode": "idle",
        "player": args.player,
        "rss_mb": round(after["rss_mb"], 1),
        "idle_cpu_pct": round(share * 100, 2),
        "rss_ok": after["rss_mb"] <= RSS_BUDGET_MB,
        "idle_cpu_ok": share <= IDLE_CPU_BUDGET,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["load", "soak", "idle"])
    parser.add_argument("--tablets", type=int, default=10)
    parser.add_argument("--slow", type=int, default=1, help="tablets that never read their WebSocket")
    parser.add_argument("--rate", type=float, default=None, help="events (actions) per second")
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--seconds", type=float, default=60.0, help="idle: how long to watch")
    parser.add_argument("--player", choices=["sim", "mpv"], default="sim")
    args = parser.parse_args()
    args.rate = args.rate or (100.0 if args.mode == "load" else 40.0)
    args.minutes = args.minutes or (10.0 if args.mode == "load" else 15.0)
    with tempfile.TemporaryDirectory(prefix="openrange-load-") as tmp:
        service = start_service(Path(tmp), args.player)
        try:
            token = service.pair()
            mode = {"load": load_mode, "soak": soak_mode, "idle": idle_mode}[args.mode]
            summary = asyncio.run(mode(args, service, token))
        finally:
            service.stop()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
