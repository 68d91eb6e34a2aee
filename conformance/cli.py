"""``jzgr conform server|list`` and ``jzgr report verify``: certify a platform from the shell.

Every input is checked before the first request (credentials file, check selection, waivers, report
directory, signing key), then one preflight query tells an unreachable platform (exit 3) and
refused credentials (exit 2) apart from a platform that is not conformant (exit 1)."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from conformance import runner
from conformance.catalogue import all_checks
from conformance.preflight import preflight
from conformance.reports import bundle, evidence
from conformance.target import Target, load_credentials
from conformance.waivers import Waiver, WaiverError, active, load
from platform_client.credentials import CredentialsError
from platform_client.credentials import TenantCredentials as Tenant
from standard.envelope import now_beijing
from standard.profile import get_profile
from standard.requirements import Severity
from standard.terminal import EnvironmentProblem, UsageProblem, console

conform_app = typer.Typer(help="Run conformance plans against a platform implementation.", no_args_is_help=True)
report_app = typer.Typer(help="Work with conformance reports and evidence packages.", no_args_is_help=True)

Plan = Literal["full", "smoke"]
ProfileName = Literal["strict", "lenient"]
STYLES = {"passed": "green", "failed": "red", "error": "magenta", "waived": "yellow", "skipped": "dim"}
REASON_LINES = 6  # of a failure's reason on the terminal; report.html has all of it


def _tenants(
    credentials: Path | None,
    url: str | None,
    appid: str | None,
    secret: str | None,
    project_code: str | None,
    corp_code: str,
    corp_name: str,
) -> tuple[str, list[Tenant], str]:
    """(url, tenants, where the credentials came from) from the file or the options."""
    if credentials is not None:
        try:
            file_url, tenants = load_credentials(credentials)
        except CredentialsError as exc:
            raise UsageProblem(f"{exc} (--credentials)") from None
        if appid:
            if appid not in {t.appid for t in tenants}:
                raise UsageProblem(f"--appid {appid} is not a tenant in {credentials}")
            tenants = sorted(tenants, key=lambda t: t.appid != appid)
        url, source = url or file_url, str(credentials)
    elif appid and secret:
        tenants = [Tenant(appid, secret, "project", project_code or appid, corp_code, corp_name)]
        source = "--appid/--secret"
    else:
        raise UsageProblem("give --credentials FILE, or --url, --appid and --secret")
    if not url:
        raise UsageProblem(f'no platform URL: give --url (or a "url" in {source})')
    return url, tenants, source


def _report_dir(path: Path) -> None:
    """Fail now, not after the plan, when the reports cannot be written there."""
    if path.exists() and not path.is_dir():
        raise UsageProblem(f"--report-dir {path} is a file; give a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UsageProblem(
            f"cannot write reports to {path}: {exc.strerror or exc}; choose another --report-dir"
        ) from None


@contextmanager
def checks_progress(err: Console, total: int, id_width: int) -> Iterator[Callable[[runner.Result, int, int], None]]:
    """A progress bar over ``total`` checks, and the callback that prints each result as it comes
    (a failure's reason under it, cut to ``REASON_LINES``: report.html has all of it)."""
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, disable=not err.is_terminal
    ) as bar:
        task = bar.add_task("checks", total=total)
        indent = " " * (id_width + 1)

        def progress(result: runner.Result, i: int, n: int) -> None:
            line = Text(f"{result.status:7}", style=STYLES.get(result.status, ""))
            line.append(f" {result.check.id:{id_width}} {result.check.statement}")
            if result.status in ("failed", "error") and result.check.severity == "should":
                line.append("  (should)", style="yellow")
            bar.console.print(line)
            if result.status in ("failed", "error"):
                reason = result.message.splitlines() or ["(no reason given)"]
                if result.status == "error":  # the exception, not its traceback (that is in report.html)
                    reason = reason[:1]
                for text in reason[:REASON_LINES]:
                    bar.console.print(Text(f"{indent}{text}", style=STYLES[result.status]))
                if len(reason) > REASON_LINES:
                    bar.console.print(f"{indent}… {len(reason) - REASON_LINES} more lines in report.html")
            bar.update(task, completed=i, description=result.check.id)

        yield progress


def write_reports(run: runner.Run, report_dir: Path, signer: evidence.Signer) -> bundle.Written:
    try:
        return bundle.write_all(run, report_dir, signer=signer)
    except OSError as exc:
        raise UsageProblem(f"cannot write reports to {report_dir}: {exc.strerror or exc}") from None


def run_inputs(
    waivers: Path | None, report_dir: Path, signing_key: Path | None
) -> tuple[dict[str, Waiver], evidence.Signer]:
    """What every plan's run needs checked before it starts (the server and the client plans):
    the waivers in force today (Beijing), a report directory that can be written, the signer."""
    active_waivers: dict[str, Waiver] = {}
    if waivers is not None:
        try:
            listed = load(waivers)
        except WaiverError as exc:
            raise UsageProblem(f"--waivers: {exc}") from None
        unknown = sorted({w.check for w in listed} - set(all_checks()))
        if unknown:
            raise UsageProblem(f"--waivers: {waivers} waives unknown check id {', '.join(unknown)}")
        active_waivers = active(listed, now_beijing().date())
    _report_dir(report_dir)
    try:
        return active_waivers, evidence.signer(signing_key)
    except evidence.KeyFileError as exc:
        raise UsageProblem(f"--signing-key: {exc}; give a key jzgr created, or a new path") from None


@conform_app.command("server")
def server(
    report_dir: Annotated[
        Path, typer.Option(help="directory for junit.xml, report.json, report.html and evidence.zip (created)")
    ],
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            metavar="FILE",
            help="credentials JSON {url, tenants:[…]} (as `jzgr sim serve --credentials-out` writes); "
            "the first tenant is under test, a second one is used for the isolation checks",
        ),
    ] = None,
    credentials_alias: Annotated[Path | None, typer.Option("--tenant-file", "--creds", hidden=True)] = None,
    url: Annotated[str | None, typer.Option(help="the platform's open.api URL (overrides the file's)")] = None,
    appid: Annotated[
        str | None, typer.Option(help="appid of the tenant under test (with --credentials: which of its tenants)")
    ] = None,
    secret: Annotated[str | None, typer.Option(help="its appsecret (without --credentials)")] = None,
    project_code: Annotated[str | None, typer.Option(help="its project code (default: the appid)")] = None,
    corp_code: Annotated[str, typer.Option(help="the general contractor's credit code")] = "",
    corp_name: Annotated[str, typer.Option(help="the general contractor's name")] = "",
    plan: Annotated[Plan, typer.Option(help="smoke (a first look) or full (every check)")] = "full",
    profile: Annotated[
        ProfileName, typer.Option(help="strict (the standard as written) or lenient (what the real platform accepts)")
    ] = "strict",
    fail_on: Annotated[
        Severity,
        typer.Option(help="fail the run on failed must checks only, or on failed should checks (recommendations) too"),
    ] = "must",
    waivers: Annotated[
        Path | None, typer.Option(help="YAML file of waived check ids, reasons and expiry dates")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="run only this check id or area (repeatable; see `jzgr conform list`)")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="seed for generated data (default: random, recorded)")] = None,
    signing_key: Annotated[
        Path | None,
        typer.Option(
            help="Ed25519 PEM key that signs the evidence (created, mode 0600, if missing; default: throwaway)"
        ),
    ] = None,
    rate_burst: Annotated[
        int, typer.Option(min=0, help="send a bounded burst of N requests to find the -5 answer")
    ] = 0,
    poll_timeout: Annotated[float, typer.Option(min=0.1, help="seconds to wait for an async result")] = 30.0,
    fuzz_examples: Annotated[int, typer.Option(min=1, help="FUZZ-01: generated payloads per method and mode")] = 3,
) -> None:
    """Certify a platform. Exit 0: conformant; 1: not conformant; 2: an input to change (options,
    files, refused credentials); 3: the platform cannot be reached."""
    url, tenants, source = _tenants(
        credentials or credentials_alias, url, appid, secret, project_code, corp_code, corp_name
    )
    try:
        checks = runner.select(plan, profile, only)
    except runner.SelectionError as exc:
        raise UsageProblem(f"--only: {exc}") from None
    active_waivers, signer = run_inputs(waivers, report_dir, signing_key)

    second = tenants[1] if len(tenants) > 1 else None
    target = Target(url, tenants[0], second, get_profile(profile), poll_timeout=poll_timeout)
    target.cache["rate_burst"] = rate_burst
    target.cache["fuzz_examples"] = fuzz_examples
    for tenant in tenants[:2]:  # the tenant under test, and the one the isolation checks use
        first = preflight(target, tenant)
        if first.problem == "unreachable":
            raise EnvironmentProblem(f"cannot reach the platform at {url}: {first.detail}")
        if first.problem == "address":
            raise EnvironmentProblem(f"the platform at {url} refuses this machine's address: {first.detail}")
        if first.problem == "credentials":
            raise UsageProblem(
                f"the platform refuses these credentials: {first.detail} "
                f"(check appid/appsecret of {tenant.appid} in {source})"
            )

    err, out = console(stderr=True), console()
    seed = seed if seed is not None else random.SystemRandom().randrange(10**9)
    with checks_progress(err, len(checks), id_width=9) as progress:
        run = runner.run(
            target, plan=plan, only=only, waivers=active_waivers, seed=seed, fail_on=fail_on, progress=progress
        )
    written = write_reports(run, report_dir, signer)
    counts = run.counts()
    headline = run.verdict()
    out.print(headline, style="green" if headline == "PASS" else "yellow" if run.ok else "red")
    out.print(
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors, "
        f"{counts['skipped']} skipped, {counts['waived']} waived of {len(run.results)} checks "
        f"({plan}/{profile}, fail on {fail_on}, seed {seed})"
    )
    out.print(f"reports: {written.html}  {written.junit}  {written.json}")
    out.print(f"evidence: {written.evidence} signed by {bundle.signing_note(signer)}")
    if signer.created:
        out.print(f"created signing key {signing_key} (mode 0600): publish its fingerprint {signer.fingerprint}")
    raise typer.Exit(0 if run.ok else 1)


@conform_app.command("list")
def list_checks(
    plan: Annotated[
        Literal["full", "smoke", "e2e", "passive"],
        typer.Option(help="smoke or full (server plans), e2e or passive (client plans)"),
    ] = "full",
    profile: Annotated[ProfileName, typer.Option(help="strict or lenient")] = "strict",
) -> None:
    """List the checks of a plan: id, severity, area, statement, the requirement it tests and the
    clause that comes from."""
    out = console()
    for c in runner.select(plan, profile):
        out.print(f"{c.id:9} {c.severity:6} {c.area:11} {c.statement}  [{c.requirement.id}: {c.clause}]")


@report_app.command("verify")
def verify(
    package: Annotated[Path, typer.Argument(help="the evidence.zip written by `jzgr conform server`")],
    key_fingerprint: Annotated[
        str | None, typer.Option(help="require this signer (SHA256:…, printed when the key was created)")
    ] = None,
) -> None:
    """Verify an evidence package offline: the signature over every byte, then every file hash.
    Exit 0: valid; 1: invalid; 2: the file cannot be read."""
    try:
        data = package.read_bytes()
    except OSError as exc:
        raise UsageProblem(f"cannot read {package}: {exc.strerror or exc}") from None
    try:
        result = evidence.verify(data, key_fingerprint)
    except evidence.EvidenceError as exc:
        console().print(Text("INVALID", style="red") + Text(f" {exc}"))
        raise typer.Exit(1) from None
    m = result.manifest
    verdict = m.get("verdict") or ("PASS" if m.get("ok") else "FAIL")
    console().print(
        f"VALID signed by {result.fingerprint}: plan {m.get('plan')}/{m.get('profile')}, {verdict}, "
        f"{len(m.get('checks', []))} checks, target {m.get('target')}"
    )
    if m.get("throwaway_key"):
        console().print(
            "note: signed with a throwaway key: the package is unchanged since signing, but anyone could have signed it"
        )


from conformance.client import cli as _client_cli  # noqa: E402, F401  (registers `jzgr conform client`)
