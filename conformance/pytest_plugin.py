"""The conformance plan as a pytest plugin: one pytest item per check, so a plan runs inside an
existing pytest/CI setup (``pytest --jzgr-tenant-file creds.json``; loaded through its entry point)
and reports through pytest's own JUnit XML as well."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance import runner
from conformance.catalogue import Check
from conformance.target import Target, Tenant, load_credentials
from standard.profile import get_profile

_TARGET = pytest.StashKey[Target]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("jzgr", "jzgr conformance plan")
    group.addoption("--jzgr-tenant-file", default=None, help="credentials JSON {url, tenants:[…]}")
    group.addoption("--jzgr-url", default=None, help="the platform's open.api URL (overrides the file's)")
    group.addoption("--jzgr-plan", default="full", choices=("full", "smoke"))
    group.addoption("--jzgr-profile", default="strict", choices=("strict", "lenient"))
    group.addoption("--jzgr-only", action="append", default=None, help="check ids or areas to run")
    group.addoption("--jzgr-seed", type=int, default=0)


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.user_properties.extend([("clause", check.clause), ("severity", check.severity)])

    def runtest(self) -> None:
        target = self.config.stash[_TARGET]
        result = runner.run_check(target, self.check)
        if result.status == "skipped":
            pytest.skip(result.message)
        if result.status in ("failed", "error"):
            evidence = "\n".join(f"{e.form.get('method')} → {e.status} {e.body[:300]}" for e in result.exchanges[-3:])
            raise CheckFailure(f"{self.check.id} ({self.check.clause}): {result.message}\n{evidence}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.check.id}: {self.check.statement}"


class CheckFailure(Exception):
    pass


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    tenant_file = config.getoption("--jzgr-tenant-file")
    url = config.getoption("--jzgr-url")
    if not tenant_file and not url:
        return  # plugin loaded but not asked to run a plan
    file_url, tenants = load_credentials(Path(tenant_file)) if tenant_file else ("", [])
    if not tenants:
        raise pytest.UsageError("--jzgr-tenant-file is required (it carries the appid and secret)")
    profile = get_profile(config.getoption("--jzgr-profile"))
    target = Target(url or file_url, tenants[0], tenants[1] if len(tenants) > 1 else None, profile)
    target.cache["seed"] = config.getoption("--jzgr-seed")
    config.stash[_TARGET] = target
    for check in runner.select(config.getoption("--jzgr-plan"), profile.name, config.getoption("--jzgr-only")):
        items.append(CheckItem.from_parent(session, name=check.id, check=check))


__all__ = ["CheckItem", "Tenant"]
