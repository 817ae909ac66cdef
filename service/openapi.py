"""The scenario-line schemas in the OpenAPI document, so clients and schemathesis see what
`/api/sessions/{id}/events` accepts (generated from the msgspec structs of `engine/events.py`)."""

from __future__ import annotations

from typing import Any

import msgspec
from fastapi import FastAPI

from service.engine.events import AnyLine

LINE_REF = "#/components/schemas/Line"
LINE_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": LINE_REF}}}}
}


def line_components() -> dict[str, Any]:
    (line,), components = msgspec.json.schema_components(
        [AnyLine], ref_template="#/components/schemas/{name}"
    )
    for schema in components.values():
        schema.get("properties", {}).pop("extras", None)  # filled by the parser, never sent
    return {"Line": line, **components}


def install(app: FastAPI) -> None:
    """Wrap `app.openapi` so the generated document carries the line schemas."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(line_components())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
