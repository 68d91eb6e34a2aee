"""``jzgr conform server …`` and ``jzgr report verify …``: certify a platform from the shell."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from conformance import runner
from conformance.reports import bundle, evidence
from conformance.target import Target, Tenant, load_credentials
from conformance.waivers import WaiverError, active, load
from standard.envelope import now_beijing
from standard.profile import get_profile

conform_app = typer.Typer(help="Run conformance plans against a platform implementation.", no_args_is_help=True)
report_app = typer.Typer(help="Work with conformance reports and evidence packages.", no_args_is_help=True)
console = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


@conform_app.command("server")
def server(
    report_dir: Annotated[Path, typer.Option(help="where to write junit.xml, report.json, report.html, evidence.zip")],
    url: Annotated[str | None, typer.Option(help="the platform's open.api URL")] = None,
    appid: Annotated[str | None, typer.Option(help="appid of the tenant under test")] = None,
    secret: Annotated[str | None, typer.Option(help="its appsecret")] = None,
    project_code: Annotated[str | None, typer.Option(help="its project code (default: the appid)")] = None,
    corp_code: Annotated[str, typer.Option(help="the general contractor's credit code")] = "",
    corp_name: Annotated[str, typer.Option(help="the general contractor's name")] = "",
    tenant_file: Annotated[
        Path | None,
        typer.Option(help="credentials JSON {url, tenants:[…]}; the second tenant is used for isolation checks"),
    ] = None,
    plan: Annotated[str, typer.Option(help="full or smoke")] = "full",
    profile: Annotated[str, typer.Option(help="strict or lenient")] = "strict",
    waivers: Annotated[Path | None, typer.Option(help="YAML file of waived check ids")] = None,
    only: Annotated[list[str] | None, typer.Option(help="run only these check ids or areas (repeatable)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed for generated data (default: random, recorded)")] = None,
    signing_key: Annotated[
        Path | None, typer.Option(help="Ed25519 PEM key to sign the evidence (created if missing)")
    ] = None,
    rate_burst: Annotated[int, typer.Option(help="send a bounded burst of N requests to find the -5 answer")] = 0,
    poll_timeout: Annotated[float, typer.Option(help="seconds to wait for an async result")] = 30.0,
    fuzz_examples: Annotated[int, typer.Option(help="FUZZ-01: generated payloads per method and mode")] = 3,
) -> None:
    """Certify a platform: exit 0 only when every must check passes or is waived."""
    if plan not in ("full", "smoke"):
        raise _fail("--plan is full or smoke")
    try:
        prof = get_profile(profile)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    tenants: list[Tenant] = []
    if tenant_file is not None:
        try:
            file_url, tenants = load_credentials(tenant_file)
        except (OSError, ValueError, KeyError) as exc:
            raise _fail(f"cannot read {tenant_file}: {exc}") from None
        url = url or file_url
        if appid:
            tenants = sorted(tenants, key=lambda t: t.appid != appid)
    elif appid and secret:
        tenants = [Tenant(appid, secret, "project", project_code or appid, corp_code, corp_name)]
    if not url or not tenants:
        raise _fail("give --url, --appid and --secret, or --tenant-file")
    active_waivers = {}
    if waivers is not None:
        try:
            active_waivers = active(load(waivers), now_beijing().date())
        except WaiverError as exc:
            raise _fail(str(exc)) from None
    seed = seed if seed is not None else random.SystemRandom().randrange(10**9)
    target = Target(url, tenants[0], tenants[1] if len(tenants) > 1 else None, prof, poll_timeout=poll_timeout)
    target.cache["rate_burst"] = rate_burst
    target.cache["fuzz_examples"] = fuzz_examples
    checks = runner.select(plan, prof.name, only)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
        task = bar.add_task("checks", total=len(checks))

        def progress(result: runner.Result, i: int, n: int) -> None:
            colour = {"passed": "green", "failed": "red", "error": "magenta", "waived": "yellow"}.get(
                result.status, "white"
            )
            bar.console.print(f"[{colour}]{result.status:7}[/{colour}] {result.check.id:9} {result.check.statement}")
            bar.update(task, completed=i, description=result.check.id)

        run = runner.run(target, plan=plan, only=only, waivers=active_waivers, seed=seed, progress=progress)
    written = bundle.write_all(run, report_dir, signing_key=signing_key)
    counts = run.counts()
    console.print(
        f"{'[green]PASS' if run.ok else '[red]FAIL'}[/] {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['error']} errors, {counts['skipped']} skipped, {counts['waived']} waived  (seed {seed})"
    )
    console.print(f"reports: {written.html}  {written.junit}  evidence: {written.evidence} ({written.fingerprint})")
    raise typer.Exit(0 if run.ok else 1)


@conform_app.command("list")
def list_checks(plan: str = "full", profile: str = "strict") -> None:
    """List the checks of a plan with their clauses."""
    for c in runner.select(plan, profile):
        typer.echo(f"{c.id:9} {c.severity:6} {c.area:11} {c.statement}  [{c.clause}]")


@report_app.command("verify")
def verify(
    package: Path,
    key_fingerprint: Annotated[str | None, typer.Option(help="require this signer (SHA256:…)")] = None,
) -> None:
    """Verify an evidence package offline: signature over every byte, then every file hash."""
    try:
        result = evidence.verify(package.read_bytes(), key_fingerprint)
    except OSError as exc:
        raise _fail(str(exc)) from None
    except evidence.EvidenceError as exc:
        console.print(f"[red]INVALID[/red] {exc}")
        raise typer.Exit(1) from None
    m = result.manifest
    typer.echo(
        f"VALID signed by {result.fingerprint}: plan {m.get('plan')}/{m.get('profile')}, "
        f"{'PASS' if m.get('ok') else 'FAIL'}, {len(m.get('checks', []))} checks, target {m.get('target')}"
    )
