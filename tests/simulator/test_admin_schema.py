"""Schemathesis against the admin API's own OpenAPI document (served at
``/admin/api/openapi.json``): every operation, positive and negative examples, authorised, and not
one answer may be a server error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from simulator.server import RunningServer

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_admin_api_has_no_server_errors(served: RunningServer) -> None:
    base = served.url.removesuffix("/open.api") + "/admin/api"
    document = httpx.get(base + "/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    token = served.app.admin_token
    errors: list[str] = []
    operations = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

                @settings(
                    max_examples=25,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=operation.as_strategy(generation_mode=mode))
                def prop(case: Any) -> None:
                    kwargs = case.as_transport_kwargs(base_url=base)
                    kwargs.pop("headers", None)
                    if isinstance(kwargs.get("data"), (bytes, str)):  # raw bodies go as content
                        kwargs["content"] = kwargs.pop("data")
                    try:
                        response = http.request(
                            kwargs.pop("method"),
                            kwargs.pop("url"),
                            **{k: v for k, v in kwargs.items() if k in ("params", "json", "content", "data")},
                        )
                    except httpx.TransportError as exc:
                        errors.append(f"{case.method} {case.path} {kwargs}: {type(exc).__name__}")
                        return
                    if response.status_code >= 500:
                        errors.append(
                            f"{case.method} {case.path} {kwargs}: {response.status_code} {response.text[:200]}"
                        )

                prop()
    assert operations >= 10
    assert errors == [], "\n".join(errors)


def test_what_the_document_allows_is_accepted(served: RunningServer) -> None:
    # The document is generated from the models that validate the bodies: every positive example
    # schemathesis builds for these operations is accepted (2xx), not only "not a 5xx".
    base = served.url.removesuffix("/open.api") + "/admin/api"
    schema = schemathesis.openapi.from_dict(httpx.get(base + "/openapi.json").json())
    refused: list[str] = []
    checked = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {served.app.admin_token}"}, timeout=10) as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            if (operation.method.upper(), operation.path) not in {
                ("POST", "/faults"),
                ("POST", "/clock"),
                ("GET", "/traffic"),
            }:
                continue
            checked += 1

            @settings(
                max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
            )
            @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE))
            def prop(case: Any) -> None:
                kwargs = case.as_transport_kwargs(base_url=base)
                response = http.request(
                    kwargs["method"], kwargs["url"], params=kwargs.get("params"), json=kwargs.get("json")
                )
                if not 200 <= response.status_code < 300:
                    refused.append(
                        f"{case.method} {case.path} {kwargs.get('json') or kwargs.get('params')}: {response.text[:200]}"
                    )
                http.post("/clock", json={"reset": True})
                http.delete("/faults")

            prop()
    assert checked == 3
    assert not refused, refused[:5]
