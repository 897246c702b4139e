"""Run the whole service in-process (real uvicorn on 127.0.0.1, its own loop and thread)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from appliance.main import serve
from appliance.settings import Settings, load_settings

PIN = "246810"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningService:
    def __init__(self, data_dir: Path, **overrides: Any) -> None:
        cli = {
            "data_dir": data_dir,
            "hardware": "sim",
            "player.backend": "sim",
            "demo_library": False,
            "web.port": free_port(),
            "web.pin": PIN,
            **overrides,
        }
        self.settings: Settings = load_settings(cli, environ={}, system_file=data_dir / "none.yaml")
        self.base_url = f"http://127.0.0.1:{self.settings.web.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shutdown: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="service", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._shutdown = asyncio.Event()
            await serve(self.settings, self._shutdown)

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by start()
            self.error = exc

    def start(self, timeout: float = 20.0) -> RunningService:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.error is not None:
                raise RuntimeError(f"service failed to start: {self.error!r}") from self.error
            try:
                if httpx.get(self.base_url + "/api/health", timeout=1).json()["status"] != "starting":
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError("service did not start")

    def stop(self) -> None:
        if self._loop is not None and self._shutdown is not None:
            self._loop.call_soon_threadsafe(self._shutdown.set)
        self._thread.join(timeout=20)

    def client(self) -> httpx.Client:
        """An httpx client already paired (bearer token)."""
        client = httpx.Client(base_url=self.base_url, timeout=10)
        answer = client.post("/api/auth/pair", json={"pin": PIN})
        answer.raise_for_status()
        client.headers["Authorization"] = "Bearer " + answer.json()["token"]
        return client

    def admin_client(self, admin_pin: str, timeout: float = 10) -> httpx.Client:
        """An httpx client with the admin role, made by the first-run setup (sets ``admin_pin``)."""
        client = httpx.Client(base_url=self.base_url, timeout=timeout)
        answer = client.post("/api/setup/admin-pin", json={"pairing_pin": PIN, "admin_pin": admin_pin})
        answer.raise_for_status()
        client.headers["Authorization"] = "Bearer " + answer.json()["token"]
        return client


def wait_for(predicate, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    """The predicate's first truthy value, polled; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")
