"""Admin settings over the API: view with secrets hidden, checked changes written atomically."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from service_runner import RunningService

ADMIN_PIN = "5551234"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    running = RunningService(tmp_path_factory.mktemp("settings") / "data").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(service: RunningService) -> httpx.Client:
    return service.admin_client(ADMIN_PIN)


def test_instructor_cannot_see_or_change_settings(service: RunningService) -> None:
    instructor = service.client()
    assert instructor.get("/api/admin/settings").status_code == 403
    assert (
        instructor.patch("/api/admin/settings", json={"changes": {"log_level": "DEBUG"}}).status_code == 403
    )


def test_view_hides_secrets(admin: httpx.Client) -> None:
    view = admin.get("/api/admin/settings").json()
    assert view["in_force"]["web"]["pin"] == "set", "the fixed pairing PIN is never sent back"
    assert view["in_force"]["xapi"]["password"] is None
    assert view["applies"] == "at the next start of the service"


def test_a_good_change_is_written_and_a_bad_one_writes_nothing(
    admin: httpx.Client, service: RunningService
) -> None:
    overrides = Path(service.settings.data_dir) / "settings.yaml"
    answer = admin.patch(
        "/api/admin/settings",
        json={"changes": {"camera": {"display_latency_ms": 75}, "xapi": {"password": "s3cret"}}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["overrides"]["xapi"]["password"] == "set"
    written = yaml.safe_load(overrides.read_text())
    assert written["camera"]["display_latency_ms"] == 75 and written["xapi"]["password"] == "s3cret"
    before = overrides.read_bytes()
    refused = admin.patch(
        "/api/admin/settings", json={"changes": {"web": {"port": 70000}, "log_level": "LOUD"}}
    )
    assert refused.status_code == 422
    assert "web.port" in refused.json()["detail"] and "log_level" in refused.json()["detail"]
    assert admin.patch("/api/admin/settings", json={"changes": {"data_dir": "/tmp/x"}}).status_code == 422
    for system_only in (
        {"update": {"reboot_command": ["/bin/sh", "-c", "id"]}},
        {"update": {"rauc": "/tmp/evil"}},
        {"player": {"extra_options": {"script": "/tmp/evil.lua"}}},
    ):
        refused = admin.patch("/api/admin/settings", json={"changes": system_only})
        assert refused.status_code == 422 and "not from the tablet" in refused.json()["detail"], system_only
    assert overrides.read_bytes() == before, "a refused change writes nothing"
    # the placeholder keeps the stored secret; null removes an override
    kept = admin.patch("/api/admin/settings", json={"changes": {"xapi": {"password": "set"}}})
    assert kept.status_code == 200 and yaml.safe_load(overrides.read_text())["xapi"]["password"] == "s3cret"
    admin.patch("/api/admin/settings", json={"changes": {"camera": {"display_latency_ms": None}}})
    assert "camera" not in yaml.safe_load(overrides.read_text())
