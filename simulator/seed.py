"""``--seed-demo``: tenants and a project in a Dezhou county, with participating companies, built
from the fake-data generator; the credentials come back as the JSON vendors feed their tools."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from fixtures.fake import dataset
from simulator.bulk import insert_organisations
from simulator.platform import Platform
from simulator.tenants import Tenant, new_secret


def seed_demo(platform: Platform, seed: int = 2018, today: date | None = None) -> list[Tenant]:
    """Two project-key tenants (the second for isolation checks) and one enterprise tenant."""
    site = dataset.generate(seed, 2, today=today, project_count=2)
    made: list[Tenant] = []
    with platform.store.tx() as conn:
        insert_organisations(conn, site)
    for project in site.projects:
        existing = platform.tenants.get(project.code)
        made.append(
            existing
            or platform.tenants.put(
                Tenant(
                    appid=project.code,
                    appsecret=new_secret(),
                    mode="project",
                    corpCode=project.contractor["corpCode"],
                    corpName=project.contractor["corpName"],
                    projects=[project.code],
                )
            )
        )
    enterprise_id = f"qg-{seed:06d}{len(site.projects):06d}"
    first = site.projects[0]
    made.append(
        platform.tenants.get(enterprise_id)
        or platform.tenants.put(
            Tenant(
                appid=enterprise_id,
                appsecret=new_secret(),
                mode="enterprise",
                corpCode=first.contractor["corpCode"],
                corpName=first.contractor["corpName"],
                corpKey=secrets.token_hex(16),
                require_corpsign=True,
                projects=[first.code],
            )
        )
    )
    return made


def credentials(url: str, tenants: list[Tenant]) -> dict[str, Any]:
    return {"url": url, "tenants": [t.credentials() for t in tenants]}
