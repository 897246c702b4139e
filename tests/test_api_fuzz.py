"""API fuzzing with schemathesis against the running service's own OpenAPI (real uvicorn).

Every operation is called with generated data, paired (admin, so nothing is refused for its role)
and unpaired: no answer may be a 5xx, every answer must match the schema the API publishes, and
without a valid token every operation that changes anything is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from scenario_builders import write_scenario
from schemathesis import checks
from service_runner import PIN, RunningService

pytestmark = pytest.mark.e2e

ADMIN_PIN = "8642097"
OPEN_ENDPOINTS = {("POST", "/api/auth/pair"), ("POST", "/api/setup/admin-pin")}
"""The only mutating operations that work without a token (each needs a PIN)."""
SELF_LOCKING = r"^/api/(auth/unpair|admin/tokens/|admin/pairing-pin)"
"""Operations that would take the fuzzer's own access away; tested by their own tests."""
FUZZ_CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.content_type_conformance,
    checks.status_code_conformance,
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    write_scenario(data_dir / "scenarios" / "triage-desk")
    running = RunningService(data_dir).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def admin_headers(service: RunningService) -> dict[str, str]:
    """An admin token made by the first-run setup."""
    return {"Authorization": service.admin_client(ADMIN_PIN).headers["Authorization"]}


def test_cookie_without_csrf_header_is_refused(service: RunningService) -> None:
    with httpx.Client(base_url=service.base_url, timeout=10) as browser:
        assert browser.post("/api/auth/pair", json={"pin": PIN}).status_code == 200
        assert browser.get("/api/state").status_code == 200, "reads work on the cookie alone"
        refused = browser.post("/api/sim/input", json={"name": "pedal", "pressed": True})
        assert refused.status_code == 403, refused.text


@pytest.fixture(scope="module")
def api_schema(service: RunningService) -> Any:
    return schemathesis.openapi.from_url(service.base_url + "/openapi.json").exclude(path_regex=SELF_LOCKING)


def fuzz_every_operation(api_schema: Any, examples: int, call: Callable[[Any], None]) -> list[str]:
    """Run ``call`` on generated cases of every operation; the failures, one line each.

    (schemathesis' own pytest plugin does not work with this pytest, so hypothesis is driven
    here per operation.)"""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
        )
        def run(case: Any) -> None:
            call(case)

        try:
            run()
        except Exception as exc:  # collected so that one report lists every failing operation
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).strip()[:600]}")
    assert operations >= 15, f"only {operations} operations in the schema"
    return failures


def test_fuzz_paired(api_schema: Any, admin_headers: dict[str, str]) -> None:
    failures = fuzz_every_operation(
        api_schema, 25, lambda case: case.call_and_validate(headers=admin_headers, checks=FUZZ_CHECKS)
    )
    assert not failures, "\n".join(failures)


def test_fuzz_unpaired(api_schema: Any) -> None:
    def call(case: Any) -> None:
        response = case.call_and_validate(checks=FUZZ_CHECKS)
        key = (case.method.upper(), case.operation.path)
        if case.method.upper() not in ("GET", "HEAD", "OPTIONS") and key not in OPEN_ENDPOINTS:
            assert response.status_code in (401, 403, 404, 405, 422), (
                key,
                response.status_code,
                response.text,
            )

    failures = fuzz_every_operation(api_schema, 8, call)
    assert not failures, "\n".join(failures)


def test_every_mutating_operation_needs_a_token(service: RunningService) -> None:
    spec = httpx.get(service.base_url + "/openapi.json", timeout=10).json()
    bad_tokens: list[dict[str, str]] = [{}, {"Authorization": "Bearer not-a-token"}]
    checked = 0
    for path, operations in spec["paths"].items():
        concrete = path.replace("{", "").replace("}", "")  # any value: the token is checked first
        for method in operations:
            if method.upper() in ("GET", "HEAD", "OPTIONS") or (method.upper(), path) in OPEN_ENDPOINTS:
                continue
            for headers in bad_tokens:
                answer = httpx.request(
                    method, service.base_url + concrete, headers=headers, json={}, timeout=10
                )
                assert answer.status_code == 401, (method, path, headers, answer.status_code, answer.text)
                checked += 1
    assert checked >= 10, "the API has fewer mutating operations than expected: was the schema read?"
