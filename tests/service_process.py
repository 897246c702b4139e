"""`openrange run --hardware sim` as its own process, for tests that kill or restart it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

PROCESS_PIN = "97531"


class ServiceProcess:
    """One run of the service; ``start`` waits for /api/health to say ok (or degraded)."""

    def __init__(self, data_dir: Path, port: int, *extra_args: str, pin: str = PROCESS_PIN) -> None:
        self.data_dir = data_dir
        self.port = port
        self.pin = pin
        self.extra_args = extra_args
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = data_dir.parent / f"service-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0, ready: tuple[str, ...] = ("ok",)) -> ServiceProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env["OPENRANGE_PIN"] = self.pin
        openrange = Path(sys.executable).with_name("openrange")
        cmd = [str(openrange), "run", "--hardware", "sim", "--data-dir", str(self.data_dir)]
        cmd += ["--port", str(self.port), *self.extra_args]
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"openrange exited {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.base_url + "/api/health", timeout=1).json()["status"] in ready:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("openrange did not become ready:\n" + self.log.read_text())

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs, as with a kicked power cord (minus the disk cache)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def pair(self) -> str:
        answer = httpx.post(self.base_url + "/api/auth/pair", json={"pin": self.pin}, timeout=10)
        return answer.raise_for_status().json()["token"]

    @contextlib.contextmanager
    def paired(self, token: str | None = None) -> Iterator[httpx.Client]:
        with httpx.Client(base_url=self.base_url, timeout=10) as client:
            client.headers["Authorization"] = f"Bearer {token or self.pair()}"
            yield client
