"""``jzgr client call``: send one method from the shell (plaintext JSON in, decrypted JSON out)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from platform_client import credentials as credentials_file
from platform_client.client import PlatformClient
from platform_client.errors import (
    AsyncFailed,
    ClientError,
    DeadlineExceeded,
    PlatformError,
    TransportFailed,
    ValidationFailed,
)
from platform_client.policy import PollPolicy, RetryPolicy
from platform_client.protocol import Answer
from standard import methods, terminal
from standard.envelope import Code
from standard.terminal import EnvironmentProblem, UsageProblem

app = typer.Typer(help="The reference client: call any open.api method.", no_args_is_help=True)


def _die(message: str) -> typer.Exit:
    """A verdict (the platform refused, the data breaks the standard): one line, exit 1."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _credentials(path: Path, tenant: str | None) -> tuple[str, str, str, str | None]:
    try:
        found = credentials_file.load(path)
    except credentials_file.CredentialsError as exc:
        if not exc.readable:
            raise UsageProblem(f"--credentials {path}: cannot read it ({exc.reason})") from None
        raise UsageProblem(
            f"--credentials {path}: not a credentials file ({exc.reason}); "
            "`jzgr sim serve --credentials-out FILE` writes one"
        ) from None
    chosen = found.tenant(tenant)
    if chosen is None:
        raise UsageProblem(f"--tenant {tenant}: no such appid in {path}")
    return found.url, chosen.appid, chosen.appsecret, chosen.corpKey


class _TellingClient(PlatformClient):
    """The reference client saying on stderr, before each wait, why it waits and for how long: a
    retry after no answer (the policy retries one call until its deadline), or the next poll of an
    async result."""

    def __init__(self, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(*args, sleep=self._wait, **kwargs)
        self._deadline = deadline
        self._last: Answer | None = None
        self._retrying = False  # the next send retries the call whose deadline started at _started
        self._started = time.monotonic()
        self._errors = terminal.console(stderr=True)

    def _send(self, form: dict[str, str]) -> Answer:
        if not self._retrying:
            self._started = time.monotonic()
        self._last = super()._send(form)
        return self._last

    def _wait(self, seconds: float) -> None:
        why = self._retry_reason(self._last)
        self._retrying = why is not None
        if why is not None:
            left = max(0.0, self._deadline - (time.monotonic() - self._started))
            self._errors.print(f"{why}; retrying in {seconds:.1f} s (giving up in about {left:.0f} s, --timeout)")
        elif seconds >= 1:
            self._errors.print(f"async result not final yet; asking again in {seconds:.1f} s")
        time.sleep(seconds)

    def _retry_reason(self, last: Answer | None) -> str | None:
        """Why the call is being retried, or None when the wait is a poll."""
        if last is None:
            return None
        if last.error is not None:
            return f"no answer from {self.url} ({type(last.error).__name__}: {last.error or 'no detail'})"
        if last.status >= 500:
            return f"HTTP {last.status} from {self.url}"
        try:
            rate_limited = json.loads(last.body).get("code") == Code.RATE_LIMITED
        except (ValueError, AttributeError):
            return None
        return "rate limited by the platform (code -5)" if rate_limited else None


def _read_data(data: str) -> Any:
    """--data: ``-`` reads stdin, text starting with ``{`` or ``[`` is the JSON itself, anything else a file."""
    inline = data.lstrip()[:1] in ("{", "[")
    shown = "(stdin)" if data == "-" else "(inline JSON)" if inline else data
    try:
        text = sys.stdin.read() if data == "-" else data if inline else Path(data).read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as exc:
        raise UsageProblem(f"--data {shown}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise UsageProblem(f"--data {shown}: not JSON ({exc})") from None


@app.command("call")
def call(
    method: Annotated[str, typer.Argument(help="e.g. WorkerAttendance.Add")],
    data: Annotated[
        str,
        typer.Option(
            metavar="FILE|JSON|-",
            help="plaintext JSON of data: a file, the JSON itself ('{\"teamName\": …}') or - for stdin "
            "(marked fields are encrypted for you)",
        ),
    ],
    url: Annotated[str | None, typer.Option(help="the open.api URL")] = None,
    appid: Annotated[str | None, typer.Option(help="the appid (project code or enterprise appid)")] = None,
    secret: Annotated[str | None, typer.Option(help="the appsecret")] = None,
    corp_key: Annotated[str | None, typer.Option(help="enterprise corpKey: sends corpsign")] = None,
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            metavar="FILE",
            help="credentials JSON {url, tenants:[…]} (`jzgr sim serve --credentials-out`) instead of url/appid/secret",
        ),
    ] = None,
    credentials_alias: Annotated[
        Path | None, typer.Option("--tenant-file", "--creds", hidden=True, help="old name of --credentials")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="appid of the tenant to use from --credentials")] = None,
    validate: Annotated[bool, typer.Option(help="validate against the data standard before sending")] = True,
    wait: Annotated[bool, typer.Option(help="wait for the async result of a write")] = True,
    split: Annotated[bool, typer.Option(help="split lists to the method's batch limit")] = True,
    timeout: Annotated[
        float, typer.Option(min=0, help="seconds each call may take, retries included (and as long for a result)")
    ] = 60.0,
) -> None:
    """Call one method; print the answer as JSON. A refusal is one line and exit 1; bad usage exit 2;
    a platform that cannot be reached exit 3."""
    credentials = credentials or credentials_alias
    if credentials is not None:
        file_url, appid, secret, file_corp_key = _credentials(credentials, tenant)
        url = url or file_url
        corp_key = corp_key or file_corp_key
    if not (url and appid and secret):
        raise UsageProblem("give --url, --appid and --secret, or --credentials FILE")
    if httpx.URL(url).scheme not in ("http", "https"):
        raise UsageProblem(f"--url {url!r} is not an http:// or https:// URL")
    spec = methods.get(method)
    if spec is None:
        raise UsageProblem(f"unknown method {method!r}; known: {', '.join(methods.METHODS)}")
    body = _read_data(data)
    client = _TellingClient(
        url,
        appid,
        secret,
        corp_key=corp_key,
        validate=validate,
        retry=RetryPolicy(deadline=timeout),
        poll=PollPolicy(deadline=timeout),
        deadline=timeout,
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
    except DeadlineExceeded as exc:
        if isinstance(exc.last, TransportFailed):
            raise EnvironmentProblem(
                f"{url} did not answer within {timeout:g} s: {exc.last} (--url, --timeout)"
            ) from None
        raise _die(str(exc)) from None
    except PlatformError as exc:
        raise _die(f"code {exc.code}: {exc.message}") from None
    except ClientError as exc:
        raise _die(str(exc)) from None
    typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
