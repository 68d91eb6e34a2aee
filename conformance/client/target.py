"""The vendor's system under test as the client plan sees it: the mock platform's admin API
(faults, clock, inspection log, tenants), the site's gates through the fleet's control API, and
the platform's stored records through the reference client with the tenant's credentials."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.target import Exchange, Target
from platform_client.client import PlatformClient


class ServiceError(RuntimeError):
    """The admin or control API answered an error or could not be reached."""


@dataclass
class ClientTarget(Target):
    admin_url: str = ""  # …/admin/api
    admin_token: str = ""
    devices_url: str = ""  # the fleet's control API
    deadline: float = 60.0  # seconds within which a clock-in must reach the platform
    settle: float = 3.0  # seconds of quiet after which a phase is over
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))
    plan: str = "e2e"  # e2e: the harness drives the site; passive: the vendor does, for `duration` seconds
    duration: float = 300.0
    restart: Callable[[], None] | None = None  # kills and restarts the vendor's system (CL-DUR-01)

    # ---- the services ----------------------------------------------------------------------

    def _json(self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        try:
            response = self.http.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise ServiceError(f"{method} {url}: HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        return self._json(
            method, self.admin_url.rstrip("/") + path, body, {"Authorization": f"Bearer {self.admin_token}"}
        )

    def device(self, method: str, path: str, body: Any = None) -> Any:
        return self._json(method, self.devices_url.rstrip("/") + path, body)

    def traffic(self) -> list[dict[str, Any]]:
        """The tenant's entries of the inspection log, oldest first."""
        rows = self.admin("GET", f"/traffic?appid={self.tenant.appid}&limit=10000")
        return sorted(rows, key=lambda r: int(r["id"]))

    def platform(self) -> PlatformClient:
        return PlatformClient(self.url, self.tenant.appid, self.tenant.appsecret, timeout=15.0)

    def cite(self, entries: list[dict[str, Any]], note: str) -> None:
        """Keep inspection-log entries as the evidence of the running check."""
        for e in entries[:20]:
            form = dict(e.get("form") or {})
            self.exchanges.append(
                Exchange(
                    str(e.get("method", "?")),
                    form,
                    int(e.get("http_status") or 0),
                    json.dumps(
                        {k: e.get(k) for k in ("id", "at", "code", "message", "serial", "async_status", "fault")},
                        ensure_ascii=False,
                    ),
                    float(e.get("duration_ms") or 0.0),
                    note,
                )
            )
