"""The instructor panel's targets (issue 6), measured on the real service in a subprocess.

``openrange run --hardware sim --player sim`` runs on 127.0.0.1 with a temporary data dir and a
bench scenario (two long scenes with a choice to each other). Measured:

(a) instructor action -> player command: from just before the bench sends ``POST .../branch``
    to the moment the service's player worker calls ``play_segment``. The service logs that
    moment (INFO ``player command play_segment token N t_mono T``, appliance/controller_review.py)
    on CLOCK_MONOTONIC, which this process shares (Linux), so the two clocks are one.
(b) API latency of ``GET /api/state``, ``POST flag`` and ``POST branch``, first with no WebSocket
    client and no event load (the baseline), then with 5 WebSocket clients connected and about
    50 events/s flowing to them (GPIO inputs pressed and released through ``/api/sim/input``,
    each edge recorded and broadcast as an ``input`` event). Each phase runs a fresh session, so
    the state's event list is about the same size in both.
(c) panel first load: ``GET /`` and every static asset it references (HTML, CSS ``url()``, JS
    ``import``s, followed recursively), in bytes as sent (no HTTP compression is configured).

    .venv/bin/python bench/panel_api.py               # 150 rounds per phase; JSON summary last
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from scenario_builders import write_scenario  # noqa: E402

PIN = "135790"
TARGET_ACTION_P95_MS = 20.0
TARGET_API_P95_MS = 20.0
TARGET_FIRST_LOAD_KB = 300.0
TABLETS = 5
EVENTS_PER_S = 50.0
PLAY_LINE = re.compile(r"play_segment token (\d+) t_mono ([0-9.]+)")

BENCH_SCENARIO: dict[str, Any] = {
    "format": "openrange-scenario/1",
    "id": "bench",
    "title": "Bench",
    "audience": ["security"],
    "start": "a",
    "scenes": {
        "a": {
            "title": "A",
            "media": "media/all.mp4",
            "start_s": 0,
            "end_s": 600,
            "choices": [
                {"id": "go", "label": "To B", "goto": "b"},
                {"id": "finish", "label": "Finish", "goto": "done"},
            ],
        },
        "b": {
            "title": "B",
            "media": "media/all.mp4",
            "start_s": 600,
            "end_s": 1200,
            "choices": [
                {"id": "go", "label": "To A", "goto": "a"},
                {"id": "finish", "label": "Finish", "goto": "done"},
            ],
        },
        "done": {"title": "Done", "media": "media/all.mp4", "start_s": 1200, "end_s": 1201, "outcome": "ok"},
    },
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def stats(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_ms": round(percentile(values, 0.5), 3),
        "p95_ms": round(percentile(values, 0.95), 3),
        "max_ms": round(max(values), 3),
    }


class Service:
    """``openrange run`` in a subprocess; its log lines about player commands go to a queue."""

    def __init__(self, data_dir: Path, port: int) -> None:
        env = {**os.environ, "OPENRANGE_PIN": PIN}
        command = [sys.executable, "-m", "appliance", "run", "--hardware", "sim", "--player", "sim"]
        command += ["--no-demo", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)]
        self.base_url = f"http://127.0.0.1:{port}"
        self.plays: queue.Queue[tuple[int, float]] = queue.Queue()
        self.tail: list[str] = []
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            match = PLAY_LINE.search(line)
            if match:
                self.plays.put((int(match[1]), float(match[2])))
            self.tail = [*self.tail[-30:], line.rstrip()]

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("service exited:\n" + "\n".join(self.tail))
            try:
                if httpx.get(self.base_url + "/api/health", timeout=1).json()["status"] != "starting":
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError("service did not start:\n" + "\n".join(self.tail))

    def pair(self) -> str:
        answer = httpx.post(self.base_url + "/api/auth/pair", json={"pin": PIN}, timeout=5)
        answer.raise_for_status()
        return answer.json()["token"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def drain(q: queue.Queue[Any]) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return


def run_phase(service: Service, api: httpx.Client, rounds: int) -> dict[str, list[float]]:
    """One fresh session; ``rounds`` x (GET state, POST flag, POST branch)."""
    answer = api.post("/api/sessions", json={"scenario_id": "bench", "trainees": ["bench"]})
    answer.raise_for_status()
    sid = answer.json()["id"]
    time.sleep(0.2)
    drain(service.plays)
    out: dict[str, list[float]] = {"state": [], "flag": [], "branch": [], "action_to_player": []}
    for i in range(rounds):
        t = time.perf_counter()
        api.get("/api/state").raise_for_status()
        out["state"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        api.post(f"/api/sessions/{sid}/flag", json={"note": f"bench {i}"}).raise_for_status()
        out["flag"].append((time.perf_counter() - t) * 1000)
        sent = time.monotonic()
        t = time.perf_counter()
        api.post(f"/api/sessions/{sid}/branch", json={"choice": "go"}).raise_for_status()
        out["branch"].append((time.perf_counter() - t) * 1000)
        _, t_play = service.plays.get(timeout=5)
        out["action_to_player"].append((t_play - sent) * 1000)
        time.sleep(0.02 + (i % 5) * 0.004)
    api.post(f"/api/sessions/{sid}/end").raise_for_status()
    out["events_in_session"] = [float(len(api.get(f"/api/sessions/{sid}").json()["events"]))]
    return out


class Tablets:
    """``TABLETS`` WebSocket clients reading the live feed, counting what they receive."""

    def __init__(self, service: Service, tokens: list[str]) -> None:
        ws_url = service.base_url.replace("http", "ws", 1) + "/api/ws?token="
        self.sockets = [connect(ws_url + token, max_size=None) for token in tokens]
        self.received = [0] * len(self.sockets)
        self.events = [0] * len(self.sockets)
        self.threads = [
            threading.Thread(target=self._read, args=(i,), daemon=True) for i in range(len(tokens))
        ]
        for thread in self.threads:
            thread.start()

    def _read(self, i: int) -> None:
        try:
            for message in self.sockets[i]:
                self.received[i] += 1
                if '"type":"event"' in message.replace(" ", ""):
                    self.events[i] += 1
        except Exception:  # closed at the end
            pass

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


class EventLoad:
    """About ``rate`` input edges per second (two GPIO inputs, alternately pressed and released)."""

    def __init__(self, service: Service, token: str, rate: float) -> None:
        self.client = httpx.Client(base_url=service.base_url, headers={"Authorization": f"Bearer {token}"})
        self.rate = rate
        self.sent = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        period = 1.0 / self.rate
        state = {"branch3": False, "branch4": False}
        due = time.monotonic()
        while not self._stop.is_set():
            name = "branch3" if self.sent % 2 == 0 else "branch4"
            state[name] = not state[name]
            self.client.post("/api/sim/input", json={"name": name, "pressed": state[name]})
            self.sent += 1
            due += period
            self._stop.wait(max(0.0, due - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=5)
        self.client.close()


def first_load(base_url: str) -> dict[str, Any]:
    """Bytes of ``/`` and every asset it references, followed recursively; external references."""
    seen: dict[str, int] = {}
    external: list[str] = []
    todo = [base_url + "/"]
    with httpx.Client() as client:
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            answer = client.get(url)
            seen[url] = len(answer.content) if answer.status_code == 200 else 0
            kind = answer.headers.get("content-type", "")
            if answer.status_code != 200 or not any(k in kind for k in ("html", "css", "javascript")):
                continue
            text = answer.text
            refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"'#]+)["']""", text)
            refs += re.findall(r"""url\(\s*["']?([^"')]+)["']?\s*\)""", text)
            refs += re.findall(r"""(?:import|from)\s*\(?\s*["']([^"']+\.(?:js|css|json))["']""", text)
            for ref in refs:
                if ref.startswith("data:"):
                    continue
                target = urljoin(url, ref)
                if urlparse(target).netloc != urlparse(base_url).netloc:
                    external.append(ref)
                elif target not in seen:
                    todo.append(target)
    return {
        "files": len(seen),
        "bytes": sum(seen.values()),
        "external": sorted(set(external)),
        "largest": sorted(((n, u.replace(base_url, "")) for u, n in seen.items()), reverse=True)[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=150, help="rounds of state+flag+branch per phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:  # on the data disk: fsyncs count
        data = Path(tmp)
        write_scenario(data / "scenarios" / "bench", BENCH_SCENARIO)
        service = Service(data, free_port())
        try:
            service.wait_ready()
            tokens = [service.pair() for _ in range(TABLETS + 2)]
            api = httpx.Client(base_url=service.base_url, headers={"Authorization": f"Bearer {tokens[0]}"})
            load_stats = first_load(service.base_url)
            baseline = run_phase(service, api, args.rounds)
            tablets = Tablets(service, tokens[2:])
            load = EventLoad(service, tokens[1], EVENTS_PER_S)
            time.sleep(1.0)
            started, events_before = time.monotonic(), sum(tablets.events) / TABLETS
            loaded = run_phase(service, api, args.rounds)
            elapsed = time.monotonic() - started
            events_rate = (sum(tablets.events) / TABLETS - events_before) / elapsed
            load.stop()
            tablets.close()
            api.close()
        finally:
            service.stop()
    api_base = baseline["state"] + baseline["flag"] + baseline["branch"]
    api_loaded = loaded["state"] + loaded["flag"] + loaded["branch"]
    for name, phase in (("baseline (no tablets, no load)", baseline), ("5 tablets + event load", loaded)):
        print(f"== {name}: session with {phase['events_in_session'][0]:.0f} events at the end")
        for key in ("state", "flag", "branch", "action_to_player"):
            s = stats(phase[key])
            print(
                f"  {key:17s} median {s['median_ms']:7.3f} ms  p95 {s['p95_ms']:7.3f} ms"
                f"  max {s['max_ms']:7.3f} ms"
            )
    print(f"events per second seen by each tablet during the loaded phase: {events_rate:.1f}")
    print(
        f"first load: {load_stats['bytes'] / 1024:.1f} KB in {load_stats['files']} files;"
        f" largest {load_stats['largest']}; external references: {load_stats['external'] or 'none'}"
    )
    summary = {
        "action_to_player_p95_ms": stats(loaded["action_to_player"])["p95_ms"],
        "action_to_player_median_ms": stats(loaded["action_to_player"])["median_ms"],
        "action_to_player_p95_ms_baseline": stats(baseline["action_to_player"])["p95_ms"],
        "api_p95_ms_5_tablets": stats(api_loaded)["p95_ms"],
        "api_median_ms_5_tablets": stats(api_loaded)["median_ms"],
        "api_p95_ms_baseline": stats(api_base)["p95_ms"],
        "api_median_ms_baseline": stats(api_base)["median_ms"],
        "api_p95_ratio": round(stats(api_loaded)["p95_ms"] / max(stats(api_base)["p95_ms"], 1e-9), 2),
        "events_per_s_per_tablet": round(events_rate, 1),
        "first_load_kb": round(load_stats["bytes"] / 1024, 1),
        "first_load_external": load_stats["external"],
        "rounds": args.rounds,
    }
    summary["targets_met"] = (
        summary["action_to_player_p95_ms"] <= TARGET_ACTION_P95_MS
        and summary["api_p95_ms_5_tablets"] <= TARGET_API_P95_MS
        and summary["first_load_kb"] <= TARGET_FIRST_LOAD_KB
        and not load_stats["external"]
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
