"""The OpenAPI document of the standard: each open.api method is an operation whose JSON body is
that method's ``data``, with the schema derived from the payload models (never written twice)."""

from __future__ import annotations

from typing import Any

from standard import methods

REF = "#/components/schemas/{model}"


def operation_path(method: str) -> str:
    return f"/methods/{method}"


def document(include_regional: bool = False) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {}
    for spec in methods.METHODS.values():
        if spec.regional and not include_regional:
            continue
        schema = spec.request.model_json_schema(ref_template=REF)
        components.update(schema.pop("$defs", {}))
        components[spec.request.__name__] = schema
        paths[operation_path(spec.name)] = {
            "post": {
                "operationId": spec.name,
                "summary": spec.purpose,
                "tags": [spec.name.split(".")[0]],
                "x-kind": spec.kind,
                "x-list-limit": spec.list_limit,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": REF.format(model=spec.request.__name__)}}},
                },
                "responses": {"200": {"description": "the platform envelope {code, message, data}"}},
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "全国建筑工人管理服务信息平台 open.api — data payloads",
            "version": "1.0",
            "description": (
                "Each operation is one open.api method; its request body is the plaintext `data`. On the wire the "
                "body is JSON-serialised into the `data` form field, marked fields are AES-encrypted and the form "
                "is signed (interface.md §2–4). Custom formats: gb11643, uscc, gb2260, past-date, past-datetime, "
                "past-month, jzgr-datetime, jpeg-base64, base64-blob, phone, website."
            ),
        },
        "paths": paths,
        "components": {"schemas": components},
    }
