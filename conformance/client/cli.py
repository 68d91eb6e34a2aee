"""``jzgr conform client``: certify a vendor's real-name system against the mock platform and the
virtual site, with the server plan's runner, reports, evidence and waivers."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import TypeAdapter

from conformance import runner
from conformance.cli import checks_progress, conform_app, run_inputs, write_reports
from conformance.client.target import ClientTarget, ServiceError
from conformance.reports import bundle
from conformance.target import Tenant
from standard.requirements import Severity
from standard.terminal import EnvironmentProblem, UsageProblem, console

ClientPlan = Literal["e2e", "passive"]


def client_target(platform: str, admin_token: str, tenant: str, devices: str, deadline: float) -> ClientTarget:
    """The target, with the tenant's credentials read from the admin API (exit 3 when the
    platform or the fleet cannot be reached, 2 when the token or the appid is wrong)."""
    base = platform.rstrip("/").removesuffix("/open.api")
    target = ClientTarget(
        base + "/open.api",
        Tenant(tenant, "?"),  # the secret is read from the admin API below
        admin_url=base + "/admin/api",
        admin_token=admin_token,
        devices_url=devices,
        deadline=deadline,
    )
    try:
        tenants = target.admin("GET", "/tenants")
    except ServiceError as exc:
        if "HTTP 401" in str(exc):
            raise UsageProblem("the platform refuses --admin-token (give the JZGR_ADMIN_TOKEN it runs with)") from None
        raise EnvironmentProblem(f"cannot reach the platform's admin API: {exc}") from None
    found = [t for t in tenants if t.get("appid") == tenant]
    if not found:
        raise UsageProblem(f"--tenant {tenant} is not a tenant of {base} (GET /admin/api/tenants lists them)")
    target.tenant = TypeAdapter(Tenant).validate_python(found[0])
    try:
        target.device("GET", "/devices")
    except ServiceError as exc:
        raise EnvironmentProblem(f"cannot reach the fleet's control API: {exc}") from None
    return target


def _restart(command: str) -> None:
    done = subprocess.run(command, shell=True, check=False, timeout=120)  # the user's own command
    if done.returncode != 0:
        raise RuntimeError(f"--restart-command exited with {done.returncode}")


@conform_app.command("client")
def client(
    platform: Annotated[str, typer.Option(help="the mock platform's URL (its open.api, or the server root)")],
    admin_token: Annotated[str, typer.Option(help="the platform's admin token (JZGR_ADMIN_TOKEN)")],
    tenant: Annotated[str, typer.Option(help="appid of the tenant the vendor's system uses")],
    devices: Annotated[str, typer.Option(help="the fleet's control API URL (`jzgr devices up` prints it)")],
    report_dir: Annotated[Path, typer.Option(help="directory for junit.xml, report.json, report.html, evidence.zip")],
    plan: Annotated[ClientPlan, typer.Option(help="e2e: the harness drives the site; passive: you do")] = "e2e",
    deadline: Annotated[float, typer.Option(min=1, help="seconds within which a clock-in must be uploaded")] = 60.0,
    fail_on: Annotated[Severity, typer.Option(help="fail on failed must checks only, or on should too")] = "must",
    waivers: Annotated[Path | None, typer.Option(help="YAML file of waived check ids")] = None,
    signing_key: Annotated[Path | None, typer.Option(help="Ed25519 PEM key that signs the evidence")] = None,
    duration: Annotated[
        float, typer.Option(min=1, help="passive: seconds during which you drive your system and the harness listens")
    ] = 300.0,
    restart_command: Annotated[
        str | None,
        typer.Option(help="shell command that kills and restarts your system (CL-DUR-01; skipped without it)"),
    ] = None,
) -> None:
    """Certify a vendor's real-name system. Exit 0: conformant; 1: not; 2: an input to change;
    3: the platform or the fleet cannot be reached."""
    active_waivers, signer = run_inputs(waivers, report_dir, signing_key)
    target = client_target(platform, admin_token, tenant, devices, deadline)
    target.plan, target.duration = plan, duration
    if restart_command:
        target.restart = lambda: _restart(restart_command)
    err, out = console(stderr=True), console()
    checks = runner.select(plan, "strict")
    if plan == "passive":
        err.print(f"listening for {duration:g} s: drive your system now (enrol, enter, clock in workers)…")
    else:
        err.print(f"driving the site ({len(checks)} checks, deadline {deadline:g} s per clock-in)…")
    with checks_progress(err, len(checks), id_width=12) as progress:
        run = runner.run(target, plan=plan, waivers=active_waivers, fail_on=fail_on, progress=progress)
    written = write_reports(run, report_dir, signer)
    for line in target.cache.get("checklist", []):
        out.print(line)
    headline = run.verdict()
    out.print(headline, style="green" if headline == "PASS" else "yellow" if run.ok else "red")
    out.print(f"reports: {written.html}  {written.junit}  {written.json}")
    out.print(f"evidence: {written.evidence} signed by {bundle.signing_note(signer)}")
    raise typer.Exit(0 if run.ok else 1)
