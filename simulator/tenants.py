"""Tenants of the mock platform: project-key (appid = projectCode) or enterprise-key accounts,
each with its own secret and options; stored in the database so every worker sees them."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select

from platform_client.credentials import TenantCredentials
from simulator.store import Store, tenant_projects, tenants


@dataclass
class Tenant:
    appid: str
    appsecret: str
    mode: str = "project"  # "project" (一项目一密钥) or "enterprise"
    corpCode: str = ""
    corpName: str = ""
    corpKey: str | None = None
    require_corpsign: bool = False
    projects: list[str] = field(default_factory=list)
    ip_allow: list[str] = field(default_factory=list)  # empty = any address
    rate_limit: int | None = None  # requests per minute; None = unlimited
    diagnostics: bool = True
    disabled: bool = False
    previous_secret: str | None = None  # for the explainer's "wrong secret" diagnosis

    @property
    def projectCode(self) -> str:
        return self.projects[0] if self.projects else ""

    def credentials(self) -> dict[str, Any]:
        """The entry of a credentials file (``platform_client.credentials``)."""
        entry = TenantCredentials(
            self.appid, self.appsecret, self.mode, self.projectCode, self.corpCode, self.corpName, self.corpKey
        )
        return entry.to_json()


def new_secret() -> str:
    return secrets.token_hex(16)  # 32 lowercase hex characters, like national secrets


class TenantRegistry:
    """Tenants by appid, cached for a few seconds (other workers may change them)."""

    def __init__(self, store: Store, ttl: float = 2.0) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Tenant | None]] = {}

    def get(self, appid: str) -> Tenant | None:
        hit = self._cache.get(appid)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        with self.store.read() as conn:
            row = conn.execute(select(tenants.c.body).where(tenants.c.appid == appid)).first()
        tenant = _load(row[0]) if row else None
        self._cache[appid] = (time.monotonic(), tenant)
        return tenant

    def put(self, tenant: Tenant) -> Tenant:
        body = asdict(tenant)
        with self.store.tx() as conn:
            conn.execute(delete(tenants).where(tenants.c.appid == tenant.appid))
            conn.execute(insert(tenants).values(appid=tenant.appid, body=body))
            conn.execute(delete(tenant_projects).where(tenant_projects.c.appid == tenant.appid))
            for code in tenant.projects:
                conn.execute(insert(tenant_projects).values(appid=tenant.appid, project_code=code))
        self._cache[tenant.appid] = (time.monotonic(), tenant)
        return tenant

    def all(self) -> list[Tenant]:
        with self.store.read() as conn:
            return [_load(r[0]) for r in conn.execute(select(tenants.c.body).order_by(tenants.c.appid))]

    def owner_of(self, project_code: str) -> list[str]:
        with self.store.read() as conn:
            return [
                r[0]
                for r in conn.execute(
                    select(tenant_projects.c.appid).where(tenant_projects.c.project_code == project_code)
                )
            ]


def _load(body: Any) -> Tenant:
    data = json.loads(body) if isinstance(body, str) else dict(body)
    return Tenant(**data)
