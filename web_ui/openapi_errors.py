"""Error answers in the published OpenAPI document.

Every error this API sends is ``{"detail": ...}``: a sentence for the errors our handlers raise
(401 not paired, 403 wrong role or CSRF, 404, 409 wrong state, 413, 422 refused content, 429 too
many PIN attempts, 503 device unavailable), or FastAPI's list of field errors for a request body
or query of the wrong shape (422). FastAPI documents only the latter; this adds the sentence form
to every operation so that clients (and the schema fuzzer) can rely on the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {}}]},
        "problems": {"type": "array", "items": {"type": "string"}},
        "retry_after_s": {"type": "number"},
    },
}
ERROR_STATUSES = {
    "401": "Not paired (no token, a wrong or revoked one)",
    "403": "Paired, but not allowed (admin role needed, or the CSRF header is missing)",
    "404": "No such thing",
    "409": "Not now: the range is in the wrong state for this",
    "413": "Too large",
    "422": "Refused: a field of the wrong shape, or content that cannot be used",
    "429": "Too many wrong PINs: wait retry_after_s",
    "503": "A device is not available",
}


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` list the error answers of every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, text in ERROR_STATUSES.items():
                    responses[status] = {"description": text, **ref}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
