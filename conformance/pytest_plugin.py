"""The conformance plan as a pytest plugin: one pytest item per check, so a plan runs inside an
existing pytest/CI setup (``pytest --jzgr-credentials creds.json``; loaded through its entry point)
and reports through pytest's own JUnit XML as well. Unusable options, an unreachable platform and
refused credentials stop the session with one usage error before any check runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from conformance import runner
from conformance.catalogue import Check
from conformance.preflight import preflight
from conformance.target import Target, load_credentials
from platform_client.credentials import CredentialsError
from platform_client.credentials import TenantCredentials as Tenant
from standard.profile import get_profile

_TARGET = pytest.StashKey[Target]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jzgr", "jzgr conformance plan")
    group.addoption(
        "--jzgr-credentials",
        metavar="FILE",
        default=None,
        help="credentials JSON {url, tenants:[…]} (as `jzgr sim serve --credentials-out` writes); runs the plan",
    )
    group.addoption("--jzgr-tenant-file", dest="jzgr_tenant_file", default=None, help=argparse.SUPPRESS)  # old name
    group.addoption("--jzgr-url", default=None, help="the platform's open.api URL (overrides the file's)")
    group.addoption("--jzgr-plan", default="full", choices=("full", "smoke"), help="smoke or full (default)")
    group.addoption(
        "--jzgr-profile", default="strict", choices=("strict", "lenient"), help="strict (default) or lenient"
    )
    group.addoption("--jzgr-only", action="append", default=None, help="a check id or area to run (repeatable)")
    group.addoption("--jzgr-seed", type=int, default=0, help="seed for generated data (default 0)")


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.user_properties.extend(
            [("requirement", check.requirement.id), ("clause", check.clause), ("severity", check.severity)]
        )

    def runtest(self) -> None:
        target = self.config.stash[_TARGET]
        result = runner.run_check(target, self.check)
        if result.status == "skipped":
            pytest.skip(result.message)
        if result.status in ("failed", "error"):
            evidence = "\n".join(f"{e.form.get('method')} → {e.status} {e.body[:300]}" for e in result.exchanges[-3:])
            check = self.check
            raise CheckFailure(f"{check.id} ({check.requirement.id}, {check.clause}): {result.message}\n{evidence}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.check.id}: {self.check.statement}"


class CheckFailure(Exception):
    pass


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    credentials = config.getoption("--jzgr-credentials") or config.getoption("jzgr_tenant_file")
    url = config.getoption("--jzgr-url")
    if not credentials and not url:
        return  # plugin loaded but not asked to run a plan
    if not credentials:
        raise pytest.UsageError("--jzgr-credentials FILE is required (it carries the appid and secret)")
    try:
        file_url, tenants = load_credentials(Path(credentials))
        checks = runner.select(
            config.getoption("--jzgr-plan"), config.getoption("--jzgr-profile"), config.getoption("--jzgr-only")
        )
    except (CredentialsError, runner.SelectionError) as exc:
        raise pytest.UsageError(str(exc)) from None
    profile = get_profile(config.getoption("--jzgr-profile"))
    target = Target(url or file_url, tenants[0], tenants[1] if len(tenants) > 1 else None, profile)
    if not target.url:
        raise pytest.UsageError(f'no platform URL: give --jzgr-url (or a "url" in {credentials})')
    for tenant in tenants[:2]:
        first = preflight(target, tenant)
        if first.problem == "credentials":
            raise pytest.UsageError(
                f"the platform refuses these credentials: {first.detail} "
                f"(check appid/appsecret of {tenant.appid} in {credentials})"
            )
        if first.problem is not None:
            raise pytest.UsageError(f"cannot reach the platform at {target.url}: {first.detail}")
    target.cache["seed"] = config.getoption("--jzgr-seed")
    config.stash[_TARGET] = target
    for check in checks:
        items.append(CheckItem.from_parent(session, name=check.id, check=check))


__all__ = ["CheckItem", "Tenant"]
