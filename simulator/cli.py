"""``jzgr sim …``: serve the mock platform and manage its tenants."""

from __future__ import annotations

import enum
import errno
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from simulator.config import DEFECTS, KeyMatch, new_admin_token
from simulator.store import FileInUse, Store, claim_for_serving
from simulator.tenants import Tenant, TenantRegistry, new_secret
from standard.terminal import EnvironmentProblem, UsageProblem

app = typer.Typer(help="The mock national platform.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (appid + secret) of the mock platform.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
DEFAULT_DB = "sqlite:///jzgr-sim.db"
DB_HELP = "database URL: sqlite:///file.db or postgresql://user@host/dbname"


class ServerChoice(enum.StrEnum):
    granian = "granian"
    uvicorn = "uvicorn"


class ProfileChoice(enum.StrEnum):
    """The strictness profiles of ``standard.profile`` (a test keeps the two lists equal)."""

    strict = "strict"
    lenient = "lenient"


def _window(option: str) -> Callable[[str], str]:
    """A callback for ``option`` accepting seconds (a number ≥ 0) or ``off``."""

    def check(value: str) -> str:
        if value == "off":
            return value
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not seconds >= 0:  # also refuses nan
            raise typer.BadParameter(f"{value!r} is neither seconds (a number ≥ 0) nor off", param_hint=option)
        return value

    return check


def _env(
    db: str,
    profile: str,
    async_delay: float,
    timestamp_window: str,
    nonce_window: str,
    diagnostics: bool,
    defects: list[str],
    key_match: str = "",
) -> None:
    os.environ.update(
        {
            "JZGR_SIM_DB": db,
            "JZGR_SIM_PROFILE": profile,
            "JZGR_SIM_ASYNC_DELAY": str(async_delay),
            "JZGR_SIM_TIMESTAMP_WINDOW": timestamp_window,
            "JZGR_SIM_NONCE_WINDOW": nonce_window,
            "JZGR_SIM_DIAGNOSTICS": "on" if diagnostics else "off",
            "JZGR_SIM_DEFECTS": ",".join(defects),
            "JZGR_SIM_KEY_MATCH": key_match,
        }
    )


def check_database(db: str) -> None:
    """Refuse, before anything starts, a --db that cannot be served: not a URL or not a database
    kind we speak (exit 2), a SQLite file in a missing or read-only directory (exit 2), a database
    server that cannot be reached or a PostgreSQL database that does not exist (exit 3)."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    try:
        url = make_url(db)
    except ArgumentError:
        raise UsageProblem(f"--db {db!r} is not a database URL; use sqlite:///file.db or postgresql://…") from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UsageProblem(f"--db {db!r}: {backend!r} is not supported; use sqlite:///file.db or postgresql://…")
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            return
        folder = Path(url.database).parent
        if not folder.is_dir():
            raise UsageProblem(f"--db {db}: the directory {folder} does not exist; create it or choose another path")
        import sqlite3  # what the store will use; tried here, since permission bits say nothing for root

        try:
            sqlite3.connect(url.database).close()  # creates the file, as the store would
        except sqlite3.Error as exc:
            raise UsageProblem(f"--db {db}: cannot open the SQLite file ({exc}); choose another path") from None
        return
    from simulator.store import engine_for

    shown = url.render_as_string(hide_password=True)
    try:
        engine = engine_for(db)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise UsageProblem(f"--db {shown}: {exc}") from None
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        reason = " ".join(str(exc.orig).split()) if exc.orig is not None else type(exc).__name__
        if "does not exist" in reason:
            raise EnvironmentProblem(
                f"--db {shown}: {reason}; create it (createdb {url.database}) or name another database"
            ) from None
        raise EnvironmentProblem(f"--db {shown}: cannot connect ({reason})") from None
    finally:
        engine.dispose()


def check_port_free(host: str, port: int) -> None:
    """Refuse a port something already listens on. The servers bind with SO_REUSEPORT (granian)
    or SO_REUSEADDR, which would let a second server share the port with the first and split its
    requests; a probe bound without SO_REUSEPORT fails wherever anyone listens."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageProblem(f"--host {host!r} is not an address of this machine ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        if hasattr(socket, "SO_REUSEADDR") and os.name != "nt":
            # as the servers do: a port left in TIME_WAIT by a stopped server is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise EnvironmentProblem(
                    f"port {port} on {host} is already in use (another jzgr sim serve?); stop it or pass --port"
                ) from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UsageProblem(f"--host {host} is not an address of this machine") from None
            raise EnvironmentProblem(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _check_writable(path: Path, option: str) -> None:
    """Refuse, before the server starts, a file it could not write later."""
    folder = path.parent
    if path.is_dir():
        raise UsageProblem(f"{option} {path} is a directory; name a file")
    if not folder.is_dir():
        raise UsageProblem(f"{option} {path}: the directory {folder} does not exist")
    try:  # tried, not judged from permission bits (root passes those, and some filesystems refuse anyway)
        if path.exists():
            path.open("r+b").close()
        else:
            path.open("xb").close()
            path.unlink()
    except OSError as exc:
        raise UsageProblem(f"{option} {path} cannot be written ({exc.strerror}); choose another path") from None


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8700,
    db: Annotated[str, typer.Option(help=DB_HELP)] = DEFAULT_DB,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (use PostgreSQL for more than 1)")] = 1,
    seed_demo_data: Annotated[
        bool, typer.Option("--seed-demo", help="create demo tenants and a Dezhou project")
    ] = False,
    credentials_out: Annotated[
        Path | None,
        typer.Option(
            "--credentials-out",
            metavar="FILE",
            help="write the tenants' credentials JSON here (what other commands read with --credentials)",
        ),
    ] = None,
    profile: Annotated[
        ProfileChoice, typer.Option(help="strictness: the standard as written, or what the real platform accepts")
    ] = ProfileChoice.strict,
    async_delay: Annotated[float, typer.Option(min=0, help="seconds an async result stays at status 0")] = 1.0,
    timestamp_window: Annotated[
        str,
        typer.Option(
            callback=_window("--timestamp-window"),
            metavar="SECONDS|off",
            help="±seconds a request's timestamp may be off, or off",
        ),
    ] = "600",
    nonce_window: Annotated[
        str,
        typer.Option(
            callback=_window("--nonce-window"), metavar="SECONDS|off", help="seconds a nonce is remembered, or off"
        ),
    ] = "600",
    diagnostics: Annotated[bool, typer.Option(help="explain signature mismatches in -2 answers")] = True,
    key_match: Annotated[
        KeyMatch | None,
        typer.Option(
            help="how keys inside data are matched to the standard's names; default: the profile's "
            "(strict exact, lenient case-insensitive) — docs/strictness.md"
        ),
    ] = None,
    defect: Annotated[
        list[str] | None,
        typer.Option(help=f"switch on a known platform bug (tests only; repeatable): {', '.join(sorted(DEFECTS))}"),
    ] = None,
    server: Annotated[
        ServerChoice, typer.Option(help="HTTP server: granian (RSGI, the fast path) or uvicorn (ASGI)")
    ] = ServerChoice.granian,
) -> None:
    """Serve open.api (and every region slug's /{slug}/open.api) on host:port."""
    unknown = sorted(set(defect or []) - set(DEFECTS))
    if unknown:
        raise typer.BadParameter(
            f"unknown defect(s) {', '.join(unknown)}; known: {', '.join(sorted(DEFECTS))}", param_hint="--defect"
        )
    if workers > 1 and db.startswith("sqlite"):
        raise typer.BadParameter(
            "more than 1 needs --db postgresql://… (SQLite has a single writer)", param_hint="--workers"
        )
    if credentials_out is not None:
        _check_writable(credentials_out, "--credentials-out")
    check_database(db)
    check_port_free(host, port)
    try:
        claim = claim_for_serving(db)  # held open until this process ends
    except OSError as exc:
        raise UsageProblem(f"--db {db}: cannot create the lock file beside it ({exc.strerror})") from None
    except FileInUse:
        raise UsageProblem(
            f"{db} is already being served by another jzgr sim serve: one server per SQLite file "
            "(replays are decided in its memory); use another file, or PostgreSQL for several workers"
        ) from None
    _env(
        db,
        profile.value,
        async_delay,
        timestamp_window,
        nonce_window,
        diagnostics,
        defect or [],
        key_match.value if key_match else "",
    )
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
                try:
                    credentials_out.write_text(creds, encoding="utf-8")
                except OSError as exc:
                    raise UsageProblem(
                        f"--credentials-out {credentials_out}: cannot write it ({exc.strerror})"
                    ) from None
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
    db: Annotated[str, typer.Option(help=DB_HELP)] = DEFAULT_DB,
    secret: Annotated[str | None, typer.Option(help="the appsecret (default: a new 32-hex secret)")] = None,
    project: Annotated[list[str] | None, typer.Option(help="project codes this appid may reach (repeatable)")] = None,
    corp_code: Annotated[str, typer.Option(help="the tenant's unified social credit code (统一社会信用代码)")] = "",
    corp_name: Annotated[str, typer.Option(help="the tenant's company name")] = "",
    corp_key: Annotated[str | None, typer.Option(help="enterprise corpKey")] = None,
    require_corpsign: Annotated[bool, typer.Option(help="refuse requests from this appid without corpsign")] = False,
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
    store = _open(db)
    TenantRegistry(store).put(tenant)
    store.close()
    typer.echo(json.dumps(tenant.credentials(), ensure_ascii=False))


@tenant_app.command("list")
def tenant_list(db: Annotated[str, typer.Option(help=DB_HELP)] = DEFAULT_DB) -> None:
    """List the tenants of a simulator database."""
    store = _open(db)
    for t in TenantRegistry(store).all():
        typer.echo(f"{t.appid:24} {t.mode:10} projects={','.join(t.projects)} corp={t.corpCode}")
    store.close()


def _open(db: str) -> Store:
    """The store of ``--db``, refused in one line when it cannot be opened."""
    check_database(db)
    return Store.open(db)
