"""``jzgr load …``: the morning clock-in peak on locust. ``platform`` uploads vendor systems'
batches to a platform under test; ``worker`` is a locust worker for a master on another host.
``peak`` (gates → reference vendor → platform) will join when the reference vendor system lands:
it is another :class:`loadtests.runner.Scenario` on the same runner, matcher and report.

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


@app.command("platform")
def platform(
    url: Annotated[str, typer.Option(help="the platform's open.api URL")],
    report_dir: Annotated[Path, typer.Option(help="where the HTML report, summary.json and locust's CSV go")],
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
    scale: Annotated[float, typer.Option(help="share of the city's projects taking part")] = 1.0,
    compress: Annotated[float, typer.Option(help="the morning replays this many times faster")] = 60.0,
    projects: Annotated[int, typer.Option(help="projects in the city (at scale 1)")] = 1420,
    workers_per_project: Annotated[int, typer.Option(help="workers clocking in at each project")] = 87,
    window_start: Annotated[str, typer.Option(help="first arrivals, HH:MM Beijing")] = "06:30",
    window_minutes: Annotated[float, typer.Option(help="minutes the arrivals spread over")] = 60.0,
    curve: Annotated[str, typer.Option(help=f"arrival curve: {', '.join(CURVES)}")] = "normal",
    peak_factor: Annotated[float, typer.Option(help="busiest minute over the mean minute (normal curve)")] = 2.5,
    lanes: Annotated[int, typer.Option(help="lanes at each project's gate (25 people/min each)")] = 2,
    strangers: Annotated[float, typer.Option(help="unenrolled faces per worker")] = 0.02,
    retries: Annotated[float, typer.Option(help="share of workers recognised only at the second look")] = 0.05,
    batch_size: Annotated[int, typer.Option(help="clock-ins per upload (≤ 20)")] = 20,
    batch_wait: Annotated[float, typer.Option(help="morning seconds a vendor waits to fill a batch")] = 30.0,
    seed: Annotated[int, typer.Option(help="same seed, same morning")] = 2018,
    thresholds: Annotated[
        Path | None, typer.Option(help="pass marks (YAML/JSON): p95_ms, p99_ms, error_rate, …")
    ] = None,
    workers: Annotated[int, typer.Option(help="locust worker processes to spawn here (0: run in this process)")] = 0,
    expect_workers: Annotated[int, typer.Option(help="locust workers to wait for from other hosts")] = 0,
    master_bind: Annotated[str, typer.Option(help="address the master listens on for workers")] = "127.0.0.1",
    master_port: Annotated[int, typer.Option(help="port the master listens on (0: a free one)")] = 0,
    in_flight: Annotated[int, typer.Option(help="uploads at once per shard before a due one waits")] = 256,
    poll: Annotated[bool, typer.Option(help="poll AsyncHandleResult.Query for every upload")] = True,
    time_limit: Annotated[
        float | None,
        typer.Option(
            help="stop after this many seconds of load (default: the timetable, its retries and polls + 120 s)"
        ),
    ] = None,
    ui: Annotated[bool, typer.Option(help="serve locust's web UI on 127.0.0.1 while the run goes")] = False,
    ui_port: Annotated[int, typer.Option(help="port of the web UI")] = 8089,
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
    from loadtests import matcher, report, world
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
    breaches = pass_marks.breaches(summary)
    meta: dict[str, Any] = {
        "scenario": "platform",
        "target": url,
        "mode": mode,
        "started": started.isoformat(timespec="seconds"),
        "shards": where.shards,
        "cut_short": finished.cut_short,
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
    out.print(
        f"{summary['records']:,} clock-ins in {summary['uploads']:,} uploads: lost {summary['lost']}, "
        f"duplicated {summary['duplicated']}, failed uploads {summary['uploads_failed']}, "
        f"p95 {_ms(summary['p95_ms'])}, p99 {_ms(summary['p99_ms'])}, p99.9 {_ms(summary['p99_9_ms'])} (from due), "
        f"late {summary['late']} (> {pass_marks.deadline_s:g} s)"
    )
    for line in breaches:
        out.print(f"threshold breached: {line}", style="red")
    out.print(f"report: {report_dir / 'report.html'}")
    raise typer.Exit(terminal.NOT_CONFORMANT if breaches else terminal.OK)


def _ms(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.1f} ms"


@app.command("worker")
def worker(
    master_host: Annotated[str, typer.Option(help="host of the `jzgr load platform` master")] = "127.0.0.1",
    master_port: Annotated[int, typer.Option(help="port the master listens on for workers")] = 5557,
) -> None:
    """A locust worker for a master on this or another host: takes a shard, runs it, reports back."""
    from loadtests import runner  # isort: skip
    from loadtests.platform_users import VendorFleet

    runner.serve_worker(master_host, master_port, VendorFleet)
