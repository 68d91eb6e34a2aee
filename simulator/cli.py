"""``jzgr sim …``: serve the mock platform and manage its tenants."""

from __future__ import annotations

import enum
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from simulator.config import DEFECTS, new_admin_token
from simulator.store import FileInUse, Store, claim_for_serving
from simulator.tenants import Tenant, TenantRegistry, new_secret

app = typer.Typer(help="The mock national platform.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (appid + secret) of the mock platform.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
DEFAULT_DB = "sqlite:///jzgr-sim.db"


class ServerChoice(enum.StrEnum):
    granian = "granian"
    uvicorn = "uvicorn"


def _env(
    db: str,
    profile: str,
    async_delay: float,
    timestamp_window: str,
    nonce_window: str,
    diagnostics: bool,
    defects: list[str],
) -> None:
    unknown = sorted(set(defects) - set(DEFECTS))
    if unknown:
        raise typer.BadParameter(f"unknown defect(s) {unknown}; known: {', '.join(sorted(DEFECTS))}")
    os.environ.update(
        {
            "JZGR_SIM_DB": db,
            "JZGR_SIM_PROFILE": profile,
            "JZGR_SIM_ASYNC_DELAY": str(async_delay),
            "JZGR_SIM_TIMESTAMP_WINDOW": timestamp_window,
            "JZGR_SIM_NONCE_WINDOW": nonce_window,
            "JZGR_SIM_DIAGNOSTICS": "on" if diagnostics else "off",
            "JZGR_SIM_DEFECTS": ",".join(defects),
        }
    )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8700,
    db: Annotated[str, typer.Option(help="sqlite:///file.db (default) or postgresql://…")] = DEFAULT_DB,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (use PostgreSQL for more than 1)")] = 1,
    seed_demo_data: Annotated[
        bool, typer.Option("--seed-demo", help="create demo tenants and a Dezhou project")
    ] = False,
    credentials_out: Annotated[Path | None, typer.Option(help="write the tenants' credentials JSON here")] = None,
    profile: Annotated[str, typer.Option(help="strict or lenient")] = "strict",
    async_delay: Annotated[float, typer.Option(help="seconds an async result stays at status 0")] = 1.0,
    timestamp_window: Annotated[str, typer.Option(help="±seconds, or off")] = "600",
    nonce_window: Annotated[str, typer.Option(help="seconds a nonce is remembered, or off")] = "600",
    diagnostics: Annotated[bool, typer.Option(help="explain signature mismatches in -2 answers")] = True,
    defect: Annotated[list[str] | None, typer.Option(help="switch on a known platform bug (tests only)")] = None,
    server: Annotated[
        ServerChoice, typer.Option(help="HTTP server: granian (RSGI, the fast path) or uvicorn (ASGI)")
    ] = ServerChoice.granian,
) -> None:
    """Serve open.api (and every region slug's /{slug}/open.api) on host:port."""
    if workers > 1 and db.startswith("sqlite"):
        raise typer.BadParameter("--workers > 1 needs --db postgresql://… (SQLite has a single writer)")
    try:
        claim = claim_for_serving(db)  # held open until this process ends
    except FileInUse:
        typer.echo(
            f"{db} is already being served by another jzgr sim serve: one server per SQLite file "
            "(replays are decided in its memory); use another file, or PostgreSQL for several workers",
            err=True,
        )
        raise typer.Exit(2) from None
    _env(db, profile, async_delay, timestamp_window, nonce_window, diagnostics, defect or [])
    if not os.environ.get("JZGR_ADMIN_TOKEN"):  # one token for every worker process
        # not from simulator.admin: Starlette is not needed to serve open.api (cold start)
        os.environ["JZGR_ADMIN_TOKEN"] = new_admin_token()
        typer.echo(f"admin API: http://{host}:{port}/admin/api  token: {os.environ['JZGR_ADMIN_TOKEN']}", err=True)
    url = f"http://{host}:{port}/open.api"
    if workers > 1 or seed_demo_data or credentials_out:
        # Opening the store makes the schema, here once: workers creating it at once collide.
        store = Store.open(db)
        if seed_demo_data or credentials_out:
            # Imported here: the fake-data generator is not needed to serve (cold start).
            from simulator.platform import Platform
            from simulator.seed import credentials, seed_demo

            tenants = seed_demo(Platform(store)) if seed_demo_data else TenantRegistry(store).all()
            creds = json.dumps(credentials(url, tenants), ensure_ascii=False, indent=1)
            if credentials_out:
                credentials_out.write_text(creds, encoding="utf-8")
            typer.echo(creds, err=True)
        store.close()
    shown = make_url(db).render_as_string(hide_password=True)
    typer.echo(f"open.api: {url} ({server.value}, {workers} worker{'s' if workers > 1 else ''}, {shown})", err=True)
    if server is ServerChoice.granian:
        from simulator import rsgi

        rsgi.serve(host, port, workers)
    else:
        _serve_uvicorn(host, port, workers)
    if claim is not None:
        claim.close()


def _serve_uvicorn(host: str, port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "simulator.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        proxy_headers=False,  # the IP allow-list must see the peer, not a header a client can forge
        http="httptools" if _has_httptools() else "h11",
        loop="auto",  # uvloop (a dependency) where it is installed: fewer instructions per request
        ws="none",  # open.api has no WebSockets; importing a WebSocket library costs start time
    )


def _has_httptools() -> bool:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return False
    return True


@tenant_app.command("add")
def tenant_add(
    appid: Annotated[str, typer.Argument(help="project code (project key) or a non-numeric enterprise appid")],
    db: Annotated[str, typer.Option()] = DEFAULT_DB,
    secret: Annotated[str | None, typer.Option(help="default: a new 32-hex secret")] = None,
    project: Annotated[list[str] | None, typer.Option(help="project codes this appid may reach (repeatable)")] = None,
    corp_code: Annotated[str, typer.Option()] = "",
    corp_name: Annotated[str, typer.Option()] = "",
    corp_key: Annotated[str | None, typer.Option(help="enterprise corpKey")] = None,
    require_corpsign: Annotated[bool, typer.Option()] = False,
    rate_limit: Annotated[int | None, typer.Option(help="requests per minute")] = None,
    ip_allow: Annotated[list[str] | None, typer.Option(help="allowed client addresses (repeatable)")] = None,
) -> None:
    """Add or replace a tenant; prints its credentials entry as JSON."""
    mode = "project" if appid.isdigit() else "enterprise"
    projects = project or ([appid] if mode == "project" else [])
    tenant = Tenant(
        appid,
        secret or new_secret(),
        mode,
        corp_code,
        corp_name,
        corp_key,
        require_corpsign,
        projects,
        ip_allow or [],
        rate_limit,
    )
    store = Store.open(db)
    TenantRegistry(store).put(tenant)
    store.close()
    typer.echo(json.dumps(tenant.credentials(), ensure_ascii=False))


@tenant_app.command("list")
def tenant_list(db: Annotated[str, typer.Option()] = DEFAULT_DB) -> None:
    store = Store.open(db)
    for t in TenantRegistry(store).all():
        typer.echo(f"{t.appid:24} {t.mode:10} projects={','.join(t.projects)} corp={t.corpCode}")
    store.close()
