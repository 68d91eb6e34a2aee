"""``jzgr client call``: send one method from the shell (plaintext JSON in, decrypted JSON out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from platform_client.client import PlatformClient
from platform_client.errors import AsyncFailed, ClientError, PlatformError, ValidationFailed
from platform_client.policy import PollPolicy, RetryPolicy
from standard import methods

app = typer.Typer(help="The reference client: call any open.api method.", no_args_is_help=True)


def _die(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _credentials(path: Path, tenant: str | None) -> tuple[str, str, str, str | None]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        tenants = obj["tenants"]
        chosen = next((t for t in tenants if tenant in (None, t["appid"])), None)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _die(f"cannot read credentials {path}: {exc}", 2) from None
    if chosen is None:
        raise _die(f"no tenant {tenant} in {path}", 2)
    return str(obj.get("url", "")), str(chosen["appid"]), str(chosen["appsecret"]), chosen.get("corpKey")


@app.command("call")
def call(
    method: Annotated[str, typer.Argument(help="e.g. WorkerAttendance.Add")],
    data: Annotated[Path, typer.Option(help="plaintext JSON of data (marked fields are encrypted for you)")],
    url: Annotated[str | None, typer.Option(help="the open.api URL")] = None,
    appid: Annotated[str | None, typer.Option()] = None,
    secret: Annotated[str | None, typer.Option()] = None,
    corp_key: Annotated[str | None, typer.Option(help="enterprise corpKey: sends corpsign")] = None,
    credentials: Annotated[
        Path | None, typer.Option(help="credentials JSON {url, tenants:[…]} instead of url/appid/secret")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="appid of the tenant to use from --credentials")] = None,
    validate: Annotated[bool, typer.Option(help="validate against the data standard before sending")] = True,
    wait: Annotated[bool, typer.Option(help="wait for the async result of a write")] = True,
    split: Annotated[bool, typer.Option(help="split lists to the method's batch limit")] = True,
    timeout: Annotated[float, typer.Option(help="overall deadline in seconds")] = 60.0,
) -> None:
    """Call one method; print the answer as JSON. Exit 1 with one line on any failure."""
    if credentials is not None:
        file_url, appid, secret, file_corp_key = _credentials(credentials, tenant)
        url = url or file_url
        corp_key = corp_key or file_corp_key
    if not (url and appid and secret):
        raise _die("give --url, --appid and --secret, or --credentials", 2)
    spec = methods.get(method)
    if spec is None:
        raise _die(f"unknown method {method!r}; known: {', '.join(methods.METHODS)}", 2)
    try:
        body: Any = json.loads(data.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _die(f"cannot read {data}: {exc}", 2) from None
    client = PlatformClient(
        url,
        appid,
        secret,
        corp_key=corp_key,
        validate=validate,
        retry=RetryPolicy(deadline=timeout),
        poll=PollPolicy(deadline=timeout),
    )
    try:
        with client:
            if spec.is_async and isinstance(body, dict):
                writes = (
                    client.upload(spec.name, body, wait=wait) if split else [client.write(spec.name, body, wait=wait)]
                )
                out: Any = [{"requestSerialCode": w.serial, "status": w.status, "result": w.result} for w in writes]
            elif spec.kind == "query" and isinstance(body, dict):
                out = client.query(spec.name, body)
            else:
                out = client.call(spec.name, body).to_json()
    except ValidationFailed as exc:
        raise _die(f"not sent, the data breaks the standard: {'; '.join(e.render() for e in exc.errors)}") from None
    except AsyncFailed as exc:
        raise _die(f"async status 10 for {exc.serial}: {exc.message}") from None
    except PlatformError as exc:
        raise _die(f"code {exc.code}: {exc.message}") from None
    except ClientError as exc:
        raise _die(str(exc)) from None
    typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
