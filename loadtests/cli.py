"""``jzgr load …``: the morning clock-in peak on locust. ``platform`` uploads vendor systems'
batches to a platform under test; ``peak`` pushes the gates' events to the reference vendor
system, which uploads them to our simulator; ``worker`` is a locust worker for a master on another
host. Both scenarios share the morning model, the runner, the matching and the report.

Everything that can be refused is refused before locust is imported or any load is sent."""

from __future__ import annotations

import json
import math
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Annotated, Any

import typer

from loadtests import thresholds as marks
from loadtests.morning import CURVES, Morning
from standard import terminal
from standard.terminal import UsageProblem

app = typer.Typer(help="Load tests of the morning clock-in peak (locust).", no_args_is_help=True)


def _window_start(text: str) -> clock_time:
    try:
        return datetime.strptime(text, "%H:%M").time()
    except ValueError:
        raise UsageProblem(f"--window-start {text!r} is not a time; use HH:MM (Beijing)") from None


# The morning model's options, shared by both scenarios
Scale = Annotated[float, typer.Option(help="share of the city's projects taking part")]
Compress = Annotated[float, typer.Option(help="the morning replays this many times faster")]
Projects = Annotated[int, typer.Option(help="projects in the city (at scale 1)")]
WorkersPerProject = Annotated[int, typer.Option(help="workers clocking in at each project")]
WindowStart = Annotated[str, typer.Option(help="first arrivals, HH:MM Beijing")]
WindowMinutes = Annotated[float, typer.Option(help="minutes the arrivals spread over")]
Curve = Annotated[str, typer.Option(help=f"arrival curve: {', '.join(CURVES)}")]
PeakFactor = Annotated[float, typer.Option(help="busiest minute over the mean minute (normal curve)")]
Lanes = Annotated[int, typer.Option(help="lanes at each project's gate (25 people/min each)")]
Strangers = Annotated[float, typer.Option(help="unenrolled faces per worker")]
Retries = Annotated[float, typer.Option(help="share of workers recognised only at the second look")]
Seed = Annotated[int, typer.Option(help="same seed, same morning")]
# … and the run's
ThresholdsFile = Annotated[
    Path | None, typer.Option("--thresholds", help="pass marks (YAML/JSON): p95_ms, p99_ms, error_rate, …")
]
LocalWorkers = Annotated[
    int, typer.Option("--workers", help="locust worker processes to spawn here (0: run in this process)")
]
ExpectWorkers = Annotated[int, typer.Option(help="locust workers to wait for from other hosts")]
MasterBind = Annotated[str, typer.Option(help="address the master listens on for workers")]
MasterPort = Annotated[int, typer.Option(help="port the master listens on (0: a free one)")]
TimeLimit = Annotated[
    float | None,
    typer.Option(help="stop after this many seconds of load (default: the timetable, its retries and polls + 120 s)"),
]
Ui = Annotated[bool, typer.Option(help="serve locust's web UI on 127.0.0.1 while the run goes")]
UiPort = Annotated[int, typer.Option(help="port of the web UI")]
ReportDir = Annotated[Path, typer.Option(help="where the HTML report, summary.json and locust's CSV go")]


def _check_run(
    workers: int, expect_workers: int, in_flight: int, master_port: int, ui_port: int, time_limit: float | None
) -> None:
    for name, value, low, high in (
        ("--workers", workers, 0, 64),
        ("--expect-workers", expect_workers, 0, 1024),
        ("--in-flight", in_flight, 1, 100_000),
        ("--master-port", master_port, 0, 65535),
        ("--ui-port", ui_port, 1, 65535),
    ):
        if not low <= value <= high:
            raise UsageProblem(f"{name} must be {low}…{high}, not {value}")
    if time_limit is not None and not (math.isfinite(time_limit) and 0 < time_limit <= 86_400):
        raise UsageProblem(f"--time-limit must be > 0 and ≤ 86400 s, not {time_limit}")


@app.command("platform")
def platform(
    url: Annotated[str, typer.Option(help="the platform's open.api URL")],
    report_dir: ReportDir,
    credentials: Annotated[
        Path | None,
        typer.Option(
            help="credentials JSON {url, tenants:[…]} of the tenants (with --dataset, for a platform not ours)"
        ),
    ] = None,
    tenant_file: Annotated[Path | None, typer.Option("--tenant-file", "--creds", hidden=True)] = None,
    admin_token: Annotated[
        str | None,
        typer.Option(
            envvar="JZGR_ADMIN_TOKEN", help="our simulator's admin token: seed the morning's sites through it"
        ),
    ] = None,
    dataset: Annotated[
        Path | None, typer.Option(help="a `jzgr fixtures generate` folder already enrolled on the platform")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="constant-rate mode: uploads per second (open loop), instead of the morning")
    ] = None,
    duration: Annotated[float | None, typer.Option(help="seconds of the constant-rate mode")] = None,
    scale: Scale = 1.0,
    compress: Compress = 60.0,
    projects: Projects = 1420,
    workers_per_project: WorkersPerProject = 87,
    window_start: WindowStart = "06:30",
    window_minutes: WindowMinutes = 60.0,
    curve: Curve = "normal",
    peak_factor: PeakFactor = 2.5,
    lanes: Lanes = 2,
    strangers: Strangers = 0.02,
    retries: Retries = 0.05,
    batch_size: Annotated[int, typer.Option(help="clock-ins per upload (≤ 20)")] = 20,
    batch_wait: Annotated[float, typer.Option(help="morning seconds a vendor waits to fill a batch")] = 30.0,
    seed: Seed = 2018,
    thresholds: ThresholdsFile = None,
    workers: LocalWorkers = 0,
    expect_workers: ExpectWorkers = 0,
    master_bind: MasterBind = "127.0.0.1",
    master_port: MasterPort = 0,
    in_flight: Annotated[int, typer.Option(help="uploads at once per shard before a due one waits")] = 256,
    poll: Annotated[bool, typer.Option(help="poll AsyncHandleResult.Query for every upload")] = True,
    time_limit: TimeLimit = None,
    ui: Ui = False,
    ui_port: UiPort = 8089,
) -> None:
    """Vendor systems uploading the morning's clock-ins to a platform: headless, open loop; exit 1
    when a threshold is breached, 3 when the platform does not answer."""
    morning = Morning(
        projects=projects,
        workers_per_project=workers_per_project,
        window_start=_window_start(window_start),
        window_minutes=window_minutes,
        curve=curve,  # type: ignore[arg-type]  # checked by Morning
        peak_factor=peak_factor,
        lanes_per_gate=lanes,
        stranger_rate=strangers,
        retry_rate=retries,
        batch_size=batch_size,
        batch_wait_s=batch_wait,
        scale=scale,
        compress=compress,
        seed=seed,
    )
    if (rate is None) != (duration is None):
        raise UsageProblem("give --rate and --duration together (the constant-rate mode), or neither (the morning)")
    if rate is not None and duration is not None:
        from loadtests.morning import constant_rate

        constant_rate(morning, rate, duration, [])  # refuses nonsense rates before any load
    pass_marks = marks.load(thresholds)
    credentials = credentials or tenant_file
    if admin_token is None and (credentials is None or dataset is None):
        raise UsageProblem("give --admin-token (our simulator: the sites are seeded), or --credentials and --dataset")
    _check_run(workers, expect_workers, in_flight, master_port, ui_port, time_limit)
    _run(
        url,
        report_dir,
        morning,
        rate,
        duration,
        pass_marks,
        credentials,
        admin_token,
        dataset,
        workers,
        expect_workers,
        master_bind,
        master_port,
        in_flight,
        poll,
        ui_port if ui else None,
        time_limit,
    )


def _run(
    url: str,
    report_dir: Path,
    m: Morning,
    rate: float | None,
    duration: float | None,
    pass_marks: marks.Thresholds,
    credentials: Path | None,
    admin_token: str | None,
    dataset: Path | None,
    workers: int,
    expect_workers: int,
    master_bind: str,
    master_port: int,
    in_flight: int,
    poll: bool,
    ui_port: int | None,
    time_limit: float | None,
) -> None:
    # locust (gevent) patches the standard library when imported: only now, after every refusal
    from loadtests import runner  # isort: skip
    from loadtests import matcher, world
    from loadtests.platform_users import PlatformScenario
    from standard.envelope import BEIJING

    err = terminal.console(stderr=True)
    world.probe(url)
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageProblem(f"cannot write --report-dir {report_dir}: {exc.strerror or exc}") from None
    started = datetime.now(BEIJING)
    err.print(f"preparing {m.project_count:,} sites × {m.workers_per_project} workers on {url}")
    if admin_token is not None:
        day, sites = world.seed_simulator(url, admin_token, m, report_dir)
    else:
        assert credentials is not None and dataset is not None
        day, sites = world.from_files(credentials, dataset, m, started)
    world.check_fits(m, sites)
    by_index = dict(enumerate(sites))
    scenario = PlatformScenario(url, m, rate, duration, day.isoformat(), by_index, in_flight, poll)
    query = matcher.querier(url)
    before = matcher.stored(sites, day, query)
    mode = (
        f"constant rate {rate:g} uploads/s for {duration:g} s"
        if rate is not None
        else f"morning ×{m.compress:g} ({m.clock_ins:,} clock-ins, scale {m.scale:g})"
    )
    err.print(f"{mode}: {scenario.upload_count:,} uploads due over {scenario.expected_s:,.0f} s")
    where = runner.Distribution(workers, expect_workers, master_bind, master_port)
    finished = runner.run(scenario, where, report_dir, err, ui_port=ui_port, time_limit_s=time_limit)
    err.print("matching every clock-in against what the platform holds …")
    sent = scenario.sent(finished.outcomes, finished.start_at, where.shards)
    after = matcher.stored(sites, day, query)
    summary = matcher.summarise(m, sent, by_index, day, finished.start_at, before, after, pass_marks.deadline_s)
    meta: dict[str, Any] = {
        "scenario": "platform",
        "target": url,
        "mode": mode,
        "started": started.isoformat(timespec="seconds"),
        "shards": where.shards,
        "cut_short": finished.cut_short,
    }
    line = (
        f"{summary['records']:,} clock-ins in {summary['uploads']:,} uploads: lost {summary['lost']}, "
        f"duplicated {summary['duplicated']}, failed uploads {summary['uploads_failed']}, "
        f"p95 {_ms(summary['p95_ms'])}, p99 {_ms(summary['p99_ms'])}, p99.9 {_ms(summary['p99_9_ms'])} (from due), "
        f"late {summary['late']} (> {pass_marks.deadline_s:g} s)"
    )
    _finish(report_dir, m, summary, meta, finished, pass_marks, line)


def _finish(
    report_dir: Path,
    m: Morning,
    summary: dict[str, Any],
    meta: dict[str, Any],
    finished: Any,
    pass_marks: marks.Thresholds,
    line: str,
) -> None:
    """The verdict against the thresholds, ``summary.json`` and ``report.html``, the closing lines
    and the exit code (0 passed, 1 a threshold breached)."""
    from loadtests import report

    breaches = pass_marks.breaches(summary)
    meta = {
        **meta,
        "passed": not breaches,
        "verdict": "passed" if not breaches else "failed",
        "breaches": breaches,
        "thresholds": pass_marks.model_dump(),
        "csv": finished.csv,
        "model": {k: str(v) for k, v in m.__dict__.items()},
    }
    (report_dir / "summary.json").write_text(
        json.dumps({**meta, "figures": summary, "locust": finished.locust_rows}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    report.write(report_dir / "report.html", summary, meta, finished.locust_rows)
    out = terminal.console()
    out.print(line)
    for breach in breaches:
        out.print(f"threshold breached: {breach}", style="red")
    out.print(f"report: {report_dir / 'report.html'}")
    raise typer.Exit(terminal.NOT_CONFORMANT if breaches else terminal.OK)


@app.command("peak")
def peak(
    platform: Annotated[str, typer.Option(help="our simulator's open.api URL (the vendor uploads there)")],
    report_dir: ReportDir,
    admin_token: Annotated[
        str,
        typer.Option(
            envvar="JZGR_ADMIN_TOKEN", help="the simulator's admin token: the morning's projects are made through it"
        ),
    ],
    scale: Scale = 1.0,
    compress: Compress = 60.0,
    projects: Projects = 1420,
    workers_per_project: WorkersPerProject = 87,
    window_start: WindowStart = "06:30",
    window_minutes: WindowMinutes = 60.0,
    curve: Curve = "normal",
    peak_factor: PeakFactor = 2.5,
    lanes: Lanes = 2,
    strangers: Strangers = 0.02,
    retries: Retries = 0.05,
    seed: Seed = 2018,
    thresholds: ThresholdsFile = None,
    workers: LocalWorkers = 0,
    expect_workers: ExpectWorkers = 0,
    master_bind: MasterBind = "127.0.0.1",
    master_port: MasterPort = 0,
    in_flight: Annotated[int, typer.Option(help="pushes at once per shard before a due one waits")] = 256,
    vendor_port: Annotated[
        int, typer.Option(help="port of the reference vendor system started here (0: a free one)")
    ] = 0,
    drain_timeout: Annotated[
        float, typer.Option(help="seconds to wait for the vendor's backlog after the load")
    ] = 300.0,
    time_limit: TimeLimit = None,
    ui: Ui = False,
    ui_port: UiPort = 8089,
) -> None:
    """Gates → reference vendor system → our simulator: the morning's face gates (locust users
    speaking ISAPI) push every clock-in to the vendor, which uploads them; each is matched to its
    arrival at the simulator. Exit 1 when a threshold is breached, 3 when a party does not answer."""
    morning = Morning(
        projects=projects,
        workers_per_project=workers_per_project,
        window_start=_window_start(window_start),
        window_minutes=window_minutes,
        curve=curve,  # type: ignore[arg-type]  # checked by Morning
        peak_factor=peak_factor,
        lanes_per_gate=lanes,
        stranger_rate=strangers,
        retry_rate=retries,
        scale=scale,
        compress=compress,
        seed=seed,
    )
    pass_marks = marks.load(thresholds)
    _check_run(workers, expect_workers, in_flight, master_port, ui_port, time_limit)
    if not 0 <= vendor_port <= 65535:
        raise UsageProblem(f"--vendor-port must be 0…65535, not {vendor_port}")
    if not (math.isfinite(drain_timeout) and 0 <= drain_timeout <= 86_400):
        raise UsageProblem(f"--drain-timeout must be 0…86400 s, not {drain_timeout}")
    where = (workers, expect_workers, master_bind, master_port)
    _run_peak(
        platform,
        report_dir,
        morning,
        pass_marks,
        admin_token,
        where,
        in_flight,
        vendor_port,
        drain_timeout,
        ui_port if ui else None,
        time_limit,
    )


def _run_peak(
    url: str,
    report_dir: Path,
    m: Morning,
    pass_marks: marks.Thresholds,
    token: str,
    distribution: tuple[int, int, str, int],
    in_flight: int,
    vendor_port: int,
    drain_timeout: float,
    ui_port: int | None,
    time_limit: float | None,
) -> None:
    from loadtests import runner  # isort: skip
    from collections import Counter

    from loadtests import matcher, world
    from loadtests import peak as peak_world
    from loadtests.gate_users import PeakScenario
    from standard.envelope import BEIJING

    err = terminal.console(stderr=True)
    world.probe(url)
    here = report_dir / "world"  # the vendor's home: kept, so that a second run finds its people enrolled
    try:
        here.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageProblem(f"cannot write --report-dir {report_dir}: {exc.strerror or exc}") from None
    started = datetime.now(BEIJING)
    err.print(f"preparing {m.project_count:,} projects × {m.workers_per_project} workers on {url} (no people yet)")
    day, sites = world.seed_simulator(url, token, m, here, people=False)
    world.check_fits(m, sites)
    files = peak_world.write_sites(sites[: m.project_count], here / "dataset", here)
    port = vendor_port or runner.free_port()
    sut = f"http://127.0.0.1:{port}"
    err.print(f"starting the reference vendor system on {sut} for {len(files):,} sites (log: {here / 'vendor'})")
    vendor = peak_world.start_vendor(url, here / "credentials.json", files, here, port)
    try:
        peak_world.wait_up(sut, vendor)
        peak_world.wait_enrolled(sut, vendor, lambda line: err.print(line, style="dim"))
        chosen = sites[: m.project_count]
        gates = peak_world.gates(sut, chosen)
        before = Counter(
            (r["projectCode"], r["idCardNumber"], r["date"]) for r in peak_world.arrivals(url, token, chosen, day)
        )
        # a gate's event serial numbers only grow: each run goes on from where the last one stopped
        serials = here / "serials.json"
        base = int(json.loads(serials.read_text())["next"]) if serials.exists() else 0
        scenario = PeakScenario(sut, m, day.isoformat(), gates, in_flight, base)
        serials.write_text(json.dumps({"next": base + len(scenario.timetable) + 1}))
        mode = f"morning ×{m.compress:g} ({m.clock_ins:,} clock-ins at {m.project_count:,} gates, scale {m.scale:g})"
        err.print(f"{mode}: {len(scenario.timetable):,} pushes over {scenario.expected_s:,.0f} s at most")
        where = runner.Distribution(*distribution)
        finished = runner.run(scenario, where, report_dir, err, ui_port=ui_port, time_limit_s=time_limit)
        left = peak_world.drain(sut, vendor, lambda line: err.print(line, style="dim"), drain_timeout)
        if left:
            err.print(f"the vendor still had {left:,} uploads open after {drain_timeout:g} s", style="red")
        err.print("matching every clock-in against what the simulator holds …")
        arrived = peak_world.arrivals(url, token, chosen, day)
    finally:
        peak_world.stop(vendor)
    by_index = dict(enumerate(chosen))
    pushed = scenario.pushed(finished.outcomes, finished.start_at, where.shards)
    summary = matcher.summarise_pushes(
        m, pushed, by_index, day, finished.start_at, before, arrived, pass_marks.deadline_s
    )
    taken = [o[3] for _, o in pushed if o[3] is not None]
    summary["load_s"] = round(max(taken) - finished.start_at, 2) if taken else None
    summary["vendor_backlog_left"] = left
    meta: dict[str, Any] = {
        "scenario": "peak",
        "target": f"{sut} → {url}",
        "mode": mode,
        "started": started.isoformat(timespec="seconds"),
        "shards": where.shards,
        "cut_short": finished.cut_short,
    }
    line = (
        f"{summary['records']:,} clock-ins and {summary['strangers']:,} strangers pushed by {m.project_count:,} gates "
        f"in {_s(summary['load_s'])}: lost {summary['lost']}, duplicated {summary['duplicated']}, "
        f"unexpected {summary['unexpected']}, failed pushes {summary['pushes_failed']}, "
        f"push p99 {_ms(summary['p99_ms'])}, gate → platform p50 {_s(summary['e2e_p50_s'])} "
        f"p99 {_s(summary['e2e_p99_s'])}, late {summary['late']} (> {pass_marks.deadline_s:g} s)"
    )
    _finish(report_dir, m, summary, meta, finished, pass_marks, line)


def _s(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.1f} s"


def _ms(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.1f} ms"


@app.command("worker")
def worker(
    master_host: Annotated[str, typer.Option(help="host of the `jzgr load platform` master")] = "127.0.0.1",
    master_port: Annotated[int, typer.Option(help="port the master listens on for workers")] = 5557,
) -> None:
    """A locust worker for a master on this or another host: takes a shard, runs it, reports back."""
    from loadtests import runner  # isort: skip

    runner.serve_worker(master_host, master_port)
