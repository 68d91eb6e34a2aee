"""``jzgr demo``: the main job on the embedded default. Generates a Dezhou site dataset, sends
every upload through the full pipeline in-process — validate, split, encrypt, sign, then verify
the signature, decrypt and validate again as a platform would — shows that each negative twin is
refused with exactly its defect, then serves the mock platform, uploads the site through the
reference client over real sockets and certifies the platform with the full conformance plan."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from fixtures.fake import dataset, payloads, twins
from platform_client import protocol
from standard import errors, methods, payload, signature, terminal
from standard.envelope import today_beijing

SECRET = "d1e8a0c2b4f6e8a0c2b4f6e8a0c2b4f6"  # demo tenant only


def _writable(out: Path) -> None:
    """Refuse an output folder that cannot be written before any work is done."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".jzgr-write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise terminal.UsageProblem(
            f"--out {out}: cannot write there ({exc.strerror}); choose another folder"
        ) from None


def run(out: Path, seed: int = 2018, workers: int = 60, today: date | None = None, client: bool = True) -> bool:
    """The whole demo; ``today`` (Beijing) dates every generated record (default: the platform's
    day now). A later day than the real one is refused: the served part runs on the real clock."""
    console = terminal.console()
    real_today = today_beijing()
    today = today or real_today
    if today > real_today:
        raise terminal.UsageProblem(
            f"--today {today} is after today in Beijing ({real_today}): the served part of the demo runs on the "
            "real clock, so its uploads would be dated in the future; run it under libfaketime to try a later day"
        )
    _writable(out)
    now = twins.validation_now(today)
    started = time.perf_counter()
    data = dataset.generate(seed, workers, today=today, project_count=2)
    dataset.write(data, out / "dataset")
    console.print(
        Text.assemble(
            ("dataset", "bold"),
            f" seed {seed}, day {today}: {len(data.workers)} workers, "
            f"{sum(len(p.teams) for p in data.projects)} teams, {len(data.projects)} projects → {out / 'dataset'}",
        )
    )

    sent: Counter[str] = Counter()
    records: Counter[str] = Counter()
    problems: list[str] = []
    for method, body in payloads.every_write(data):
        spec = methods.METHODS[method]
        appid = str(body.get("projectCode") or data.projects[0].code)
        creds = protocol.Credentials(appid, SECRET)
        for batch in protocol.batches(method, body):
            text = protocol.seal(method, batch, SECRET, validate=True)
            form = protocol.form_for(creds, method, text)
            # … and what a platform does with it:
            if not signature.verify(form, SECRET):
                problems.append(f"{method}: signature does not verify")
            try:
                model = payload.parse(spec.request, form["data"], SECRET, now=now, normalise=spec.normalise)
            except errors.PayloadInvalid as exc:
                problems.append(f"{method}: {exc}")
                continue
            sent[method] += 1
            if spec.list_field:
                records[method] += len(getattr(model, spec.list_field))

    table = Table(title="uploads, as a platform receives them")
    table.add_column("method")
    table.add_column("requests", justify="right")
    table.add_column("records", justify="right")
    for method, count in sent.items():
        table.add_row(method, str(count), str(records.get(method, "")))
    console.print(table)

    caught = Counter[str]()
    missed = []
    for twin in twins.registry(seed, today):
        spec = methods.METHODS[twin.method]
        try:
            payload.validate(spec.request, twin.data, now=now)
            got: set[tuple[tuple[str | int, ...], str]] = set()
        except errors.PayloadInvalid as exc:
            got = {(e.path, e.kind) for e in exc.errors}
        if got == set(twin.expect):
            caught[twin.method] += 1
        else:
            missed.append(twin.name)
    console.print(
        Text.assemble(
            ("negative twins", "bold"),
            f": {sum(caught.values())} refused with exactly their defect",
            (f", {len(missed)} not: {missed}" if missed else "", "red"),
        )
    )
    summary = {
        "seed": seed,
        "today": today.isoformat(),
        "requests": sent,
        "records": records,
        "twins_caught": caught,
        "twins_missed": missed,
        "problems": problems,
    }
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    ok = not problems and not missed and certify(console, data, out)
    ok = certify_vendor(console, out) and ok if client else ok
    console.print(
        Text.assemble(
            ("OK" if ok else "PROBLEMS", "green" if ok else "red"),
            f" in {time.perf_counter() - started:.1f} s — summary in {out / 'summary.json'}",
        )
    )
    for problem in problems[:20]:
        console.print(f"  {problem}", style="red")
    return ok


def certify(console: Console, data: dataset.Dataset, out: Path) -> bool:
    """Serve the simulator, upload one project's site with the reference client, run the plan."""
    from datetime import timedelta

    from conformance import runner
    from conformance.reports import bundle
    from conformance.target import Target
    from conformance.target import Tenant as PlanTenant
    from platform_client import AsyncFailed, PlatformClient, PollPolicy
    from simulator import server
    from simulator.config import Settings
    from simulator.platform import Platform
    from simulator.seed import credentials, seed_demo
    from simulator.store import Store

    out.mkdir(parents=True, exist_ok=True)
    db = out / "simulator.db"
    db.unlink(missing_ok=True)
    store = Store.open(f"sqlite:///{db}")
    platform = Platform(store, Settings(async_delay=0.2))
    tenants = seed_demo(platform)
    running = server.start(platform)
    try:
        (out / "credentials.json").write_text(
            json.dumps(credentials(running.url, tenants), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        tenant = tenants[0]
        project = data.projects[0]
        project.code = tenant.projectCode
        uploaded = 0
        with (
            console.status("uploading one project's site through the reference client…"),
            PlatformClient(running.url, tenant.appid, tenant.appsecret, poll=PollPolicy(first_delay=0.2)) as api,
        ):
            for sub in project.subcontractors:
                try:
                    api.write("ProjectSubContractor.Add", {**sub, "projectCode": project.code})
                except AsyncFailed as exc:  # already a participant: treated as uploaded, as vendors do
                    if "参建单位已存在" not in exc.message:
                        raise
            for team in project.teams:
                sys_no = api.write("Team.Add", {**team.payload, "projectCode": project.code}).result["teamSysNo"]
                team.team_sys_no = sys_no
                for w in team.workers:
                    w.team_sys_no = sys_no
                uploaded += len(api.upload("ProjectWorker.Add", payloads.team_workers(team, project)))
                api.write("WorkerEntryExit.Add", payloads.entry(team, project, data.today - timedelta(days=30)))
                uploaded += len(
                    api.upload(
                        "WorkerAttendance.Add",
                        payloads.attendance(team, project, data.today - timedelta(days=1), data.seed),
                    )
                )
            rows = sum(1 for _ in api.query_all("ProjectWorker.Query", {"projectCode": project.code}))
        console.print(
            Text.assemble(
                ("simulator", "bold"),
                f" {running.url}: {uploaded} uploads by the reference client, "
                f"{rows} workers queried back; credentials in {out / 'credentials.json'}",
            )
        )

        def plan_tenant(i: int) -> PlanTenant:
            t = tenants[i]
            return PlanTenant(t.appid, t.appsecret, t.mode, t.projectCode, t.corpCode, t.corpName, t.corpKey)

        target = Target(running.url, plan_tenant(0), plan_tenant(1), poll_interval=0.1)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
        ) as bar:
            task = bar.add_task("conformance plan", total=None)

            def progress(result: runner.Result, i: int, n: int) -> None:
                bar.update(task, total=n, completed=i, description=f"conformance plan: {result.check.id}")

            run = runner.run(target, plan="full", seed=data.seed, progress=progress)
        written = bundle.write_all(run, out / "conformance")
        counts = run.counts()
        console.print(
            Text.assemble(
                ("conformance", "bold"),
                f" full plan against the simulator: {counts['passed']} passed, "
                f"{counts['failed']} failed, {counts['skipped']} skipped → {written.html} "
                f"(evidence {written.evidence.name}, {written.fingerprint})",
            )
        )
        return run.ok
    finally:
        running.stop()
        store.close()


def certify_vendor(console: Console, out: Path) -> bool:
    """The client plan: the simulator, the Dezhou site's fleet and the reference vendor, each its
    own process, and the e2e plan judging the vendor."""
    from conformance import runner
    from conformance.client.cli import client_target
    from conformance.reports import bundle
    from jzgr import stack

    folder = out / "client"
    console.print(
        Text.assemble(
            ("vendor", "bold"), " starting the simulator, the Dezhou site's four gates and the reference vendor…"
        )
    )
    with stack.running(folder) as site:
        console.print(
            Text.assemble(
                ("vendor", "bold"),
                f" reference vendor on 127.0.0.1:{site.vendor_port}, gates' control API {site.devices}, "
                f"platform {site.platform} (logs in {folder})",
            )
        )
        target = client_target(site.platform, site.admin_token, site.tenant, site.devices, 20.0)
        target.restart = site.restart_vendor
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
        ) as bar:
            task = bar.add_task("client plan: driving the site (faces, a stranger, a 503, a network drop…)", total=None)

            def progress(result: runner.Result, i: int, n: int) -> None:
                bar.update(task, total=n, completed=i, description=f"client plan: {result.check.id}")

            run = runner.run(target, plan="e2e", progress=progress)
    written = bundle.write_all(run, out / "client-conformance")
    counts = run.counts()
    console.print(
        Text.assemble(
            ("client conformance", "bold"),
            f" e2e plan against the reference vendor: {counts['passed']} passed, {counts['failed']} failed "
            f"→ {written.html} (evidence {written.evidence.name})",
        )
    )
    console.print(f"reports: {out / 'conformance' / 'report.html'}  {written.html}")
    return run.ok
