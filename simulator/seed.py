"""``--seed-demo``: tenants and a project in a Dezhou county, with participating companies, built
from the fake-data generator; the credentials come back as the JSON vendors feed their tools."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import Any

from fixtures.fake import dataset
from platform_client.credentials import CredentialsFile
from simulator.bulk import insert_organisations
from simulator.platform import Platform
from simulator.tenants import Tenant


def demo_secret(seed: int, appid: str, purpose: str = "appsecret") -> str:
    """A demo tenant's secret, derived from the seed: the same on every day and every fresh
    database, so a vendor configures its system once. Public knowledge — demo tenants only."""
    mac = hmac.new(b"jzgr demo tenants", f"{seed}:{appid}:{purpose}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]  # 32 lowercase hex characters, like national secrets


def seed_demo(platform: Platform, seed: int = 2018, today: date | None = None) -> list[Tenant]:
    """Two project-key tenants (the second for isolation checks) and one enterprise tenant, the
    same from day to day: the projects of ``seed`` on the demo world's day (``DEMO_DAY``), whose
    first project is the sample site's (hardware_sim/sites/dezhou-4-gates.yaml)."""
    site = dataset.generate(seed, 2, today=today or dataset.DEMO_DAY, project_count=2)
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
                    appsecret=demo_secret(seed, project.code),
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
                appsecret=demo_secret(seed, enterprise_id),
                mode="enterprise",
                corpCode=first.contractor["corpCode"],
                corpName=first.contractor["corpName"],
                corpKey=demo_secret(seed, enterprise_id, "corpKey"),
                require_corpsign=True,
                projects=[first.code],
            )
        )
    )
    return made


def credentials(url: str, tenants: list[Tenant]) -> dict[str, Any]:
    """The credentials file (``platform_client.credentials``) of ``tenants`` on ``url``."""
    return CredentialsFile.model_validate({"url": url, "tenants": [t.credentials() for t in tenants]}).to_json()
