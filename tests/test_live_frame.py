"""The live frame: what the projector shows, small, rate-limited, never on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from media_fixtures import ffmpeg_available, make_test_clip
from scenario_builders import write_scenario
from service_runner import RunningService, wait_for

from appliance.frames import LIVE_INTERVAL_S, FrameStore, ProjectorView, draw_hit_marker, encode_jpeg

pytestmark = pytest.mark.skipif(not ffmpeg_available(), reason="needs ffmpeg to make test media")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_clip(tmp_path_factory.mktemp("media") / "all.mp4", 16.0, size=(1280, 720), label="L")


def jpeg(data: bytes) -> np.ndarray:
    picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None, "not a JPEG"
    return picture


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_live_decodes_at_most_twice_a_second(media: Path, tmp_path: Path) -> None:
    clock = FakeClock()
    store = FrameStore(tmp_path, clock=clock)

    async def scenario() -> None:
        first = await store.live(ProjectorView("media", media, 1.0))
        for t in (1.1, 1.2, 1.3):
            clock.now += 0.1
            assert await store.live(ProjectorView("media", media, t)) == first
        assert store.decodes == 1
        clock.now += LIVE_INTERVAL_S
        assert await store.live(ProjectorView("media", media, 3.0)) != first
        assert store.decodes == 2
        clock.now += LIVE_INTERVAL_S
        together = await asyncio.gather(*(store.live(ProjectorView("media", media, 5.0)) for _ in range(6)))
        assert store.decodes == 3 and len(set(together)) == 1  # concurrent callers share one decode
        renders = store.live_renders
        idle = [await store.live(ProjectorView("idle", text="PIN 1234")) for _ in range(3)]
        clock.now += 10 * LIVE_INTERVAL_S
        idle.append(await store.live(ProjectorView("idle", text="PIN 1234")))
        assert store.live_renders == renders + 1 and len(set(idle)) == 1  # a static card is drawn once

    try:
        asyncio.run(scenario())
    finally:
        store.close()


def test_frames_are_scaled_down_and_markers_drawn(media: Path, tmp_path: Path) -> None:
    store = FrameStore(tmp_path)
    try:
        frame = store.decode(media, 2.0)
        assert frame.shape == (720, 1280, 3)
        small = jpeg(encode_jpeg(frame))
        assert small.shape == (360, 640, 3)
        marked = draw_hit_marker(frame, 0.25, 0.75, "3")
        assert (marked != frame).any(axis=2)[540, 280:360].any()  # the ring left of centre
        assert not (marked != frame)[:100, 900:].any()  # nothing far away
        black = jpeg(store.view_sync(ProjectorView("black")))
        assert black.max() < 20
        with pytest.raises(LookupError):
            store.decode(tmp_path / "missing.mp4", 0.0)
    finally:
        store.close()


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, media: Path) -> Iterator[RunningService]:
    data = tmp_path_factory.mktemp("data")
    write_scenario(data / "scenarios" / "triage-desk", media=media.read_bytes())
    service = RunningService(data).start()
    yield service
    service.stop()


def test_live_frame_follows_the_projector(svc: RunningService, media: Path, tmp_path: Path) -> None:
    assert httpx.get(svc.base_url + "/api/live/frame.jpg").status_code == 401
    api = svc.client()
    try:
        idle = api.get("/api/live/frame.jpg")
        assert idle.status_code == 200 and idle.headers["content-type"] == "image/jpeg"
        card = jpeg(idle.content)
        assert card.shape[1] <= 640 and card.mean() < 40 and card.max() > 200  # white text on black
        sid = api.post("/api/sessions", json={"scenario_id": "triage-desk", "trainees": ["A"]}).json()["id"]
        api.post(f"/api/sessions/{sid}/pause")
        state = api.get("/api/state").json()
        assert state["media_time_s"] == pytest.approx(state["scene_time_s"], abs=0.01)  # intro starts at 0
        wait_for(lambda: jpeg(api.get("/api/live/frame.jpg").content).std() > 40, timeout=3)
        live = jpeg(api.get("/api/live/frame.jpg").content)
        assert live.shape == (360, 640, 3)
        store = FrameStore(tmp_path)
        try:
            expected = store.decode(media, state["media_time_s"])
        finally:
            store.close()
        expected = cv2.resize(expected, (640, 360), interpolation=cv2.INTER_AREA)
        assert np.abs(live.astype(int) - expected.astype(int)).mean() < 8
        api.post(f"/api/sessions/{sid}/resume")
        api.post(f"/api/sessions/{sid}/pause", json={"blank": True})
        wait_for(lambda: jpeg(api.get("/api/live/frame.jpg").content).max() < 20, timeout=3)
        api.post(f"/api/sessions/{sid}/end")
        wait_for(lambda: jpeg(api.get("/api/live/frame.jpg").content).max() > 200, timeout=3)
    finally:
        api.close()
