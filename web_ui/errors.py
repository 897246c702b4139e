"""The one mapping from appliance exceptions to HTTP answers (JSON ``{"detail": ...}``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from appliance.errors import ConfigError, HardwareUnavailable, InvalidTransition, NotFound, ScenarioError
from appliance.pairing import TooManyAttempts, WrongPin

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    def answer(status: int, detail: object, **extra: object) -> JSONResponse:
        return JSONResponse({"detail": detail, **extra}, status_code=status)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return answer(404, str(exc).strip("'\""))

    @app.exception_handler(InvalidTransition)
    async def _conflict(request: Request, exc: InvalidTransition) -> JSONResponse:
        return answer(409, str(exc))

    @app.exception_handler(ScenarioError)
    async def _scenario(request: Request, exc: ScenarioError) -> JSONResponse:
        return answer(422, str(exc), problems=exc.problems)

    @app.exception_handler(ConfigError)
    async def _config(request: Request, exc: ConfigError) -> JSONResponse:
        return answer(422, str(exc))

    @app.exception_handler(WrongPin)
    async def _wrong_pin(request: Request, exc: WrongPin) -> JSONResponse:
        return answer(401, "Wrong PIN")

    @app.exception_handler(TooManyAttempts)
    async def _too_many(request: Request, exc: TooManyAttempts) -> JSONResponse:
        retry = int(exc.retry_after_s) + 1
        return JSONResponse(
            {"detail": str(exc), "retry_after_s": retry}, status_code=429, headers={"Retry-After": str(retry)}
        )

    @app.exception_handler(HardwareUnavailable)
    async def _hardware(request: Request, exc: HardwareUnavailable) -> JSONResponse:
        return answer(503, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return answer(500, "internal error: the event was logged; the session is unaffected")
