"""``jzgr vendor …``: run the reference vendor system (docs/vendor.md)."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from hardware_sim import site as site_mod
from standard.terminal import EnvironmentProblem, UsageProblem, console
from vendor import defects as defect_table
from vendor.service import Config, load_tenant

app = typer.Typer(help="The reference vendor system (a real-name system under test).", no_args_is_help=True)


def _listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageProblem(f"--listen {value!r}: give HOST:PORT, e.g. 127.0.0.1:9080")
    return host, int(port)


def _check_free(listen: tuple[str, int]) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(listen)
        except OSError as exc:
            raise EnvironmentProblem(f"--listen {listen[0]}:{listen[1]}: {exc.strerror or exc}") from None


def _credentials(path: Path | None) -> Path:
    if path is None:
        raise UsageProblem("--credentials FILE is required (the file jzgr sim serve --credentials-out writes)")
    return path


@app.command("serve")
def serve(
    platform: Annotated[str, typer.Option(help="the platform's open.api URL")],
    devices: Annotated[
        list[Path],
        typer.Option(help="a site file (site.yaml): project, gates, roster; repeat it for each site served"),
    ],
    credentials: Annotated[
        Path | None,
        typer.Option("--credentials", help="the credentials file of jzgr sim serve --credentials-out (required)"),
    ] = None,
    credentials_alias: Annotated[
        Path | None, typer.Option("--tenant-file", "--creds", hidden=True, help="old name of --credentials")
    ] = None,
    db: Annotated[
        str,
        typer.Option(help="sqlite:///vendor.db or postgresql://…; with several sites, {project} names each site's"),
    ] = "sqlite:///vendor.db",
    listen: Annotated[str, typer.Option(help="HOST:PORT of the vendor's listener")] = "127.0.0.1:9080",
    dataset: Annotated[
        Path | None, typer.Option(help="a jzgr fixtures generate folder (default: the site's roster)")
    ] = None,
    defect: Annotated[
        list[str] | None, typer.Option(help="switch on a named bug, for testing the harness only (repeatable)")
    ] = None,
    late_upload_s: Annotated[float, typer.Option(help="late-upload: how long uploads are held, seconds")] = 10800.0,
    refusal_retry_cap: Annotated[int, typer.Option(help="retry-refusals-forever: attempts before it stops")] = 20,
    no_provision: Annotated[bool, typer.Option("--no-provision", help="do not issue the roster to the gates")] = False,
) -> None:
    """Enrol the roster, issue it to the site's gates, receive clock-ins and upload them."""
    address = _listen(listen)
    try:
        chosen = defect_table.check(defect or [])
    except ValueError as exc:
        raise UsageProblem(f"--defect: {exc}") from None
    if len(devices) > 1 and "{project}" not in db:
        raise UsageProblem(
            f"--db {db}: with {len(devices)} sites, put {{project}} in it (e.g. sqlite:///vendor-{{project}}.db)"
        )
    credentials_file = _credentials(credentials or credentials_alias)
    configs: list[Config] = []
    for path in devices:
        try:
            site = site_mod.load(path)
        except site_mod.SiteError as exc:
            raise UsageProblem(str(exc).splitlines()[0]) from None
        try:
            tenant = load_tenant(credentials_file, site.project_code)
        except FileNotFoundError:
            raise UsageProblem(f"--credentials {credentials_file}: no such file") from None
        except (ValueError, KeyError) as exc:
            raise UsageProblem(f"--credentials: {exc}") from None
        if any(c.tenant.project_code == site.project_code for c in configs):
            raise UsageProblem(f"--devices {path}: project {site.project_code} is served twice")
        configs.append(
            Config(
                platform,
                tenant,
                site,
                db=db.replace("{project}", site.project_code),
                listen=address,
                dataset=dataset,
                defects=chosen,
                late_upload_s=late_upload_s,
                refusal_retry_cap=refusal_retry_cap,
                provision=not no_provision,
            )
        )
    config = configs[0]
    _check_free(config.listen)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is too many
    out = console(stderr=True)
    served = config.tenant.project_code if len(configs) == 1 else f"{len(configs)} projects"
    out.print(f"vendor: {config.base_url} → {platform} ({served}, db {db})")
    if chosen:
        out.print(f"defects on (tests only): {', '.join(sorted(chosen))}", style="red")
    from vendor.runner import serve as run

    try:
        asyncio.run(run(configs))
    except OSError as exc:
        raise EnvironmentProblem(f"vendor: {exc}") from None
    except ValueError as exc:  # two sites naming one device
        raise UsageProblem(f"--devices: {exc}") from None
    except KeyboardInterrupt:
        pass


@app.command("defects")
def list_defects() -> None:
    """The named bugs ``--defect`` can switch on."""
    out = console()
    for name, what in defect_table.DEFECTS.items():
        out.print(f"{name:24} {what}")
