"""``jzgr devices …``: run a fleet of virtual site devices and act on them.

``up`` starts every device of a site file and the control API; the other commands are clients of
that API (``--control``, or the JZGR_DEVICES_CONTROL environment variable, says where it is).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hardware_sim.control import DEFAULT_PORT
from standard import terminal
from standard.terminal import EnvironmentProblem, UsageProblem

app = typer.Typer(
    help=(
        "Virtual site devices (face gates, attendance terminals, ID-card readers) for testing a "
        "real-name system: run a fleet from a site.yaml with `up`, then act on the devices — present "
        "a face, cut the power, drop the network, run the morning rush — from another terminal."
    ),
    no_args_is_help=True,
)


def out() -> Console:
    """stdout, made when printing: markup off (ids and site names print as they are), piped output
    plain and unwrapped (standard.terminal)."""
    return terminal.console()


ControlUrl = Annotated[
    str,
    typer.Option(
        "--control",
        envvar="JZGR_DEVICES_CONTROL",
        help="URL of the control API printed by `jzgr devices up`",
        show_default=True,
    ),
]
DEFAULT_CONTROL = f"http://127.0.0.1:{DEFAULT_PORT}"


class ScenarioName(enum.StrEnum):
    """The scenarios of ``hardware_sim.scenarios`` (a test keeps the two lists equal)."""

    morning = "morning"
    lunch = "lunch"
    evening = "evening"
    day = "day"


class Stamp(enum.StrEnum):
    wall = "wall"
    scenario = "scenario"


Device = Annotated[str, typer.Argument(help="device id, as listed by `jzgr devices list`")]


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` (a site file's problems: one line each) and exit with ``code``."""
    errors = terminal.console(stderr=True)
    for line in message.splitlines() or [""]:
        errors.print(Text.assemble(("error:", "red"), " ", line), soft_wrap=True)
    return typer.Exit(code)


# -- running a fleet -----------------------------------------------------------------------------
@app.command("up")
def up(
    config: Annotated[Path, typer.Option("--config", "-c", help="the site file (site.yaml)")],
    control_port: Annotated[
        int, typer.Option(min=0, max=65535, help="port of the control API (0: any free port)")
    ] = DEFAULT_PORT,
    control_host: Annotated[str, typer.Option(help="address of the control API (keep it on 127.0.0.1)")] = "127.0.0.1",
    journal: Annotated[Path | None, typer.Option(help="also write the journal to this JSON Lines file")] = None,
    duration: Annotated[
        float | None, typer.Option(min=0, help="stop after this many seconds (default: run until Ctrl-C)")
    ] = None,
    preload_roster: Annotated[
        bool, typer.Option("--preload-roster", help="enrol the roster on every device yourself instead of the vendor")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="devices started at the same time")] = 64,
) -> None:
    """Start every device of a site file and the control API; print where each device listens.

    Configure your real-name system with each device's URL and credentials (and set your receiver's
    URL as `vendor.receiver` in the site file), then run scenarios or act on single devices.
    """
    from hardware_sim import site as site_mod
    from hardware_sim.control import BadAddress
    from hardware_sim.fleet import Fleet, FleetError

    try:
        site = site_mod.load(config)
    except site_mod.SiteError as exc:
        raise _fail(str(exc), 2) from None
    try:
        fleet = Fleet(site, journal_path=journal)
    except FleetError as exc:
        raise _fail(f"{config}: {exc}", 2) from None
    except OSError as exc:  # the journal file (opened for appending)
        raise UsageProblem(f"--journal {journal}: cannot write it ({exc.strerror})") from None
    try:
        asyncio.run(_up(fleet, control_host, control_port, duration, preload_roster, concurrency))
    except BadAddress as exc:
        raise UsageProblem(f"{exc} (--control-host)") from None
    except (FleetError, OSError) as exc:  # a port in use
        raise EnvironmentProblem(" ".join(str(exc).split())) from None


async def _up(fleet: Any, host: str, port: int, duration: float | None, preload: bool, concurrency: int) -> None:
    from hardware_sim.control import ControlServer

    console = out()
    started = time.monotonic()
    with console.status(f"starting {len(fleet.members)} devices…"):
        await fleet.start(concurrency=concurrency)
    control = ControlServer(fleet, host, port)
    try:
        await control.start()
    except OSError:
        await fleet.stop()
        raise
    try:
        if preload:
            done = fleet.preload_roster()
            console.print(f"roster preloaded on {len(done)} device(s) — the vendor did not issue it")
        _show(fleet, control.url, time.monotonic() - started)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
        console.print("stopping…")
    finally:
        await control.stop()
        await fleet.stop()
        summary = fleet.summary()
        console.print(
            f"stopped: {summary['delivered']} events delivered, {summary['buffered']} still buffered, "
            f"{summary['dropped']} dropped"
        )


def _show(fleet: Any, control_url: str, seconds: float) -> None:
    console = out()
    site = fleet.site
    console.print(
        Text.assemble((site.site, "bold"), f"  project {site.project_code}  roster {len(fleet.roster)} workers")
    )
    rows = fleet.status()
    table = Table(title=f"{len(rows)} devices up in {seconds:.1f} s", show_lines=False)
    for column in ("device", "kind", "dir", "lane", "device URL", "login", "pushes to"):
        table.add_column(column, overflow="fold")
    shown = rows if len(rows) <= 50 else rows[:40]
    for row in shown:
        table.add_row(
            row["id"],
            row["kind"],
            row["direction"],
            "" if row["lane"] is None else str(row["lane"]),
            row["url"] or "(connects out)",
            f"{row['username']} / {row.get('password', '')}" if row.get("username") else "",
            row["vendor_url"] or "(set by the vendor)",
        )
    console.print(table)
    if len(rows) > len(shown):
        console.print(f"… and {len(rows) - len(shown)} more: `jzgr devices list --control {control_url}`")
    console.print(
        Text.assemble("control API: ", (control_url, "bold"), f"   (jzgr devices list --control {control_url})")
    )
    console.print("Ctrl-C stops the fleet.")


@app.command("check")
def check(config: Annotated[Path, typer.Option("--config", "-c", help="the site file (site.yaml)")]) -> None:
    """Validate a site file and show the devices it describes (nothing is started)."""
    from hardware_sim import site as site_mod

    try:
        site = site_mod.load(config)
    except site_mod.SiteError as exc:
        raise _fail(str(exc), 2) from None
    devices = site.expanded()
    console = out()
    console.print(f"{config}: OK — {site.site}, project {site.project_code}, {len(devices)} device(s)")
    for device in devices[:20]:
        console.print(f"  {device.id:<20} {device.kind:<8} {device.direction:<3} {device.url or '(connects out)'}")
    if len(devices) > 20:
        console.print(f"  … and {len(devices) - 20} more")


# -- client commands -----------------------------------------------------------------------------
def _call(control: str, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
    url = control.rstrip("/") + path
    query = {k: v for k, v in params.items() if v is not None}
    try:
        response = httpx.request(method, url, json=body, params=query, timeout=30)
    except httpx.HTTPError as exc:
        raise EnvironmentProblem(
            f"cannot reach the control API at {control} ({exc}): is `jzgr devices up` running there? (--control)"
        ) from None
    if response.status_code >= 400:
        try:
            message = response.json().get("error", response.text)
        except ValueError:
            message = response.text
        raise _fail(f"{message} (HTTP {response.status_code})")
    if "json" in response.headers.get("content-type", "") and "ndjson" not in response.headers.get("content-type", ""):
        return response.json()
    return response.text


def _print_event(answer: dict[str, Any]) -> None:
    event = answer.get("event")
    device = answer.get("device", {})
    if event:
        line = Text(
            f"{device.get('id')}: event #{event['serial_no']} {event['event']} ({event['direction']}) "
            f"employee {event['employee_no'] or '-'} at {event['at']}"
        )
        if not event["current"]:
            line.append("  (buffered: device offline)", style="yellow")
        out().print(line)
    _print_state(device)


def _print_state(device: dict[str, Any]) -> None:
    if device:
        out().print(
            f"{device.get('id')}: powered={device.get('powered')} online={device.get('online')} "
            f"buffered={device.get('buffered')} delivered={device.get('delivered')} clock={device.get('clock')}"
        )


@app.command("list")
def list_devices(
    control: ControlUrl = DEFAULT_CONTROL,
    as_json: Annotated[bool, typer.Option("--json", help="print the raw JSON")] = False,
) -> None:
    """List the devices of the running fleet with their state."""
    answer = _call(control, "GET", "/devices")
    console = out()
    if as_json:
        console.print_json(data=answer)
        return
    summary = answer["summary"]
    table = Table(title=f"{summary['site']} ({summary['project_code']}): {summary['devices']} devices")
    for column in (
        "device",
        "kind",
        "dir",
        "lane",
        "URL",
        "power",
        "net",
        "enrolled",
        "buffered",
        "delivered",
        "clock",
    ):
        table.add_column(column)
    for row in answer["devices"]:
        table.add_row(
            row["id"],
            row["kind"],
            row["direction"],
            "" if row["lane"] is None else str(row["lane"]),
            row["url"] or "-",
            "on" if row["powered"] else Text("off", style="red"),
            "up" if row["online"] else Text("down", style="red"),
            str(row["enrolled"]),
            str(row["buffered"]),
            str(row["delivered"]),
            row["clock"],
        )
    console.print(table)


@app.command("status")
def status(device: Device, control: ControlUrl = DEFAULT_CONTROL) -> None:
    """Show one device's state as JSON."""
    out().print_json(data=_call(control, "GET", f"/devices/{device}"))


@app.command("roster")
def roster(
    control: ControlUrl = DEFAULT_CONTROL,
    offset: Annotated[int, typer.Option(min=0, help="skip this many workers")] = 0,
    limit: Annotated[int, typer.Option(min=1, help="list at most this many workers")] = 50,
) -> None:
    """List the site's workers with their index (for `present-face --worker N`)."""
    answer = _call(control, "GET", "/roster", offset=offset, limit=limit)
    table = Table(title=f"roster: {answer['total']} workers")
    for column in ("#", "name", "ID number", "team"):
        table.add_column(column)
    for w in answer["workers"]:
        table.add_row(str(w["worker_index"]), w["name"], w["id_number"], w["team"])
    out().print(table)


@app.command("present-face")
def present_face(
    device: Device,
    worker: Annotated[
        int | None, typer.Option("--worker", "-w", help="roster index of the worker (see `roster`)")
    ] = None,
    id_number: Annotated[str | None, typer.Option(help="the worker's ID card number")] = None,
    employee_no: Annotated[str | None, typer.Option(help="employee number as enrolled on the device")] = None,
    stranger: Annotated[bool, typer.Option("--stranger", help="someone the site does not know")] = False,
    spoof: Annotated[bool, typer.Option("--spoof", help="a photo held up to the camera: fails liveness")] = False,
    control: ControlUrl = DEFAULT_CONTROL,
) -> None:
    """Someone stands in front of a face gate: a worker, a stranger, or a spoof.

    A worker the vendor has issued to the gate passes (face_pass); one it has not is a stranger.
    """
    body: dict[str, Any] = {"stranger": stranger, "spoof": spoof}
    if worker is not None:
        body["worker_index"] = worker
    if id_number is not None:
        body["id_number"] = id_number
    if employee_no is not None:
        body["employee_no"] = employee_no
    if not stranger and worker is None and id_number is None and employee_no is None:
        if not spoof:
            raise _fail("say who: --worker N, --id-number, --employee-no or --stranger", 2)
        body["stranger"] = True  # a spoof by nobody in particular
    _print_event(_call(control, "POST", f"/devices/{device}/present-face", body))


@app.command("swipe-card")
def swipe_card(
    device: Device,
    card: Annotated[str | None, typer.Option(help="IC card number")] = None,
    worker: Annotated[int | None, typer.Option("--worker", "-w", help="the card of this roster worker")] = None,
    control: ControlUrl = DEFAULT_CONTROL,
) -> None:
    """Swipe an IC card on a device."""
    if (card is None) == (worker is None):
        raise _fail("give --card or --worker", 2)
    body: dict[str, Any] = {"card_no": card} if card is not None else {"worker_index": worker}
    _print_event(_call(control, "POST", f"/devices/{device}/swipe-card", body))


@app.command("read-id-card")
def read_id_card(
    device: Device,
    worker: Annotated[int | None, typer.Option("--worker", "-w", help="roster index of the card's holder")] = None,
    id_number: Annotated[str | None, typer.Option(help="the holder's ID card number")] = None,
    control: ControlUrl = DEFAULT_CONTROL,
) -> None:
    """Lay a worker's ID card on a device's reader (a gate decides; an ID-card reader holds it for the next read)."""
    if (worker is None) == (id_number is None):
        raise _fail("give --worker or --id-number", 2)
    body: dict[str, Any] = {"worker_index": worker} if worker is not None else {"id_number": id_number}
    _print_event(_call(control, "POST", f"/devices/{device}/read-id-card", body))


@app.command("power-off")
def power_off(device: Device, control: ControlUrl = DEFAULT_CONTROL) -> None:
    """Cut a device's power: it records nothing and sends nothing until power-on (its buffer survives)."""
    _print_state(_call(control, "POST", f"/devices/{device}/power-off")["device"])


@app.command("power-on")
def power_on(
    device: Device,
    rtc_reset: Annotated[
        bool, typer.Option("--rtc-reset", help="flat RTC battery: the clock restarts at 2000-01-01")
    ] = False,
    control: ControlUrl = DEFAULT_CONTROL,
) -> None:
    """Power a device back on; it then replays what it buffered (currentEvent false)."""
    _print_state(_call(control, "POST", f"/devices/{device}/power-on", {"rtc_reset": rtc_reset})["device"])


@app.command("network-drop")
def network_drop(
    device: Device,
    minutes: Annotated[float | None, typer.Option(help="how long the network stays down")] = None,
    seconds: Annotated[float | None, typer.Option(help="the same in seconds")] = None,
    control: ControlUrl = DEFAULT_CONTROL,
) -> None:
    """Take a device's network down for a while: events are buffered, then replayed in serial order."""
    if (minutes is None) == (seconds is None):
        raise _fail("give --minutes or --seconds", 2)
    body = {"minutes": minutes} if minutes is not None else {"seconds": seconds}
    _print_state(_call(control, "POST", f"/devices/{device}/network-drop", body)["device"])


@app.command("network-restore")
def network_restore(device: Device, control: ControlUrl = DEFAULT_CONTROL) -> None:
    """Bring a device's network back now (ends a network-drop early)."""
    _print_state(_call(control, "POST", f"/devices/{device}/network-restore")["device"])


@app.command("clock")
def clock(
    device: Device,
    drift_ppm: Annotated[
        float | None, typer.Option(help="make the clock drift (parts per million; 11.6 ≈ 1 s/day)")
    ] = None,
    step: Annotated[float | None, typer.Option(help="jump the clock by this many seconds (negative: back)")] = None,
    set_to: Annotated[
        str | None, typer.Option("--set", help="set the clock, ISO 8601 (Beijing time if no offset)")
    ] = None,
    control: ControlUrl = DEFAULT_CONTROL,
) -> None:
    """Change a device's clock: drift, a step, or a new time."""
    body: dict[str, Any] = {}
    if drift_ppm is not None:
        body["drift_ppm"] = drift_ppm
    if step is not None:
        body["step_seconds"] = step
    if set_to is not None:
        body["set"] = set_to
    if not body:
        raise _fail("give --drift-ppm, --step or --set", 2)
    _print_state(_call(control, "POST", f"/devices/{device}/clock", body)["device"])


@app.command("duplicate")
def duplicate(device: Device, control: ControlUrl = DEFAULT_CONTROL) -> None:
    """Upload the device's last event again with the same serial number (a retry after a lost ack)."""
    _print_event(_call(control, "POST", f"/devices/{device}/duplicate"))


@app.command("scenario")
def scenario(
    name: Annotated[ScenarioName, typer.Argument(help="which part of the day")],
    time_scale: Annotated[
        float, typer.Option(min=0.001, help="scenario seconds per real second (60: an hour in a minute)")
    ] = 1.0,
    seed: Annotated[int | None, typer.Option(help="same seed, same crowd")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="only the first N workers")] = None,
    stranger_rate: Annotated[float, typer.Option(min=0, max=1, help="strangers per worker at the entry gates")] = 0.0,
    spoof_rate: Annotated[float, typer.Option(min=0, max=1, help="share of passes that first fail liveness")] = 0.0,
    duplicate_rate: Annotated[float, typer.Option(min=0, max=1, help="share of events uploaded twice")] = 0.0,
    stamp: Annotated[
        Stamp, typer.Option(help="event times: wall (the device clocks) or scenario (06:30…)")
    ] = Stamp.wall,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="follow progress until the scenario ends")] = True,
    control: ControlUrl = DEFAULT_CONTROL,
) -> None:
    """Run a scenario on the fleet (the morning rush, lunch, the evening exit, a whole day)."""
    body: dict[str, Any] = {
        "time_scale": time_scale,
        "stranger_rate": stranger_rate,
        "spoof_rate": spoof_rate,
        "duplicate_rate": duplicate_rate,
        "stamp": stamp.value,
    }
    if seed is not None:
        body["seed"] = seed
    if workers is not None:
        body["workers"] = workers
    run = _call(control, "POST", f"/scenarios/{name.value}", body)
    summary = run["summary"]
    console = out()
    console.print(
        f"{run['id']}: {run['total']} steps, {summary['present']} workers, scenario time "
        f"{summary['first']} → {summary['last']} at ×{time_scale:g}"
    )
    if not wait:
        return
    while run["status"] == "running":
        time.sleep(0.5)
        run = _call(control, "GET", f"/scenarios/{run['id']}")
        console.print(f"  {run['scenario_time']}  {run['done']}/{run['total']}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(run["counts"].items()))
    console.print(f"{run['id']}: {run['status']} — {counts}" + (f" — {run['error']}" if run["error"] else ""))
    if run["status"] != "done":
        raise typer.Exit(1)


@app.command("scenarios")
def scenarios_list(control: ControlUrl = DEFAULT_CONTROL) -> None:
    """List the scenarios available and those run so far."""
    answer = _call(control, "GET", "/scenarios")
    console = out()
    for item in answer["available"]:
        console.print(Text.assemble((item["name"], "bold"), f": {item['description']}"))
    for run in answer["runs"]:
        console.print(f"  {run['id']}: {run['status']} {run['done']}/{run['total']} at {run['scenario_time']}")


@app.command("journal")
def journal(
    device: Annotated[str | None, typer.Option(help="only this device")] = None,
    kind: Annotated[str | None, typer.Option(help="only this kind of entry (event, action, power_off, …)")] = None,
    since: Annotated[int, typer.Option(min=0, help="only entries after this sequence number")] = 0,
    limit: Annotated[int | None, typer.Option(min=1, help="at most this many entries")] = None,
    control: ControlUrl = DEFAULT_CONTROL,
) -> None:
    """Print the fleet's journal as JSON Lines (pipe it to a file or jq)."""
    text = _call(control, "GET", "/journal.jsonl", device=device, kind=kind, since=since, limit=limit)
    if isinstance(text, str):
        typer.echo(text, nl=False)
    else:
        typer.echo(json.dumps(text, ensure_ascii=False))
